//! Crash safety: SIGKILL the daemon at arbitrary moments during repeated commits of a large
//! configuration; the store must never hold a torn configuration, and the restarted daemon
//! must come back with the last acknowledged commit (or the one in flight).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Daemon;
use savin_mgmt::proto::{Attachment, Client, Request};

const ROUTES: usize = 20_000;

fn routes() -> String {
    (0..ROUTES)
        .map(|i| {
            format!(
                "set routing-options static route 10.{}.{}.0/24 discard\n",
                i >> 8,
                i & 255
            )
        })
        .collect()
}

#[test]
fn sigkill_during_repeated_commits_never_tears_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(&tmp.path().join("state"));
    {
        let mut c = d.client();
        assert!(c.exec("configure").unwrap().ok);
        let r = c
            .request(&Request::Exec {
                line: "load set terminal".into(),
                data: Some(Attachment {
                    name: "routes".into(),
                    text: routes(),
                }),
            })
            .unwrap();
        assert!(r.ok, "{}", r.output);
        assert!(c.exec("set system host-name h0-0").unwrap().ok);
        assert!(c.exec("commit").unwrap().ok);
    }
    let mut acked = "h0-0".to_string();
    let mut commits_made = 0;
    let mut killed_mid_commit = 0;
    for round in 1..=12u64 {
        // The commit in flight when the kill lands may or may not have reached the disk.
        let state = Arc::new(Mutex::new((acked.clone(), None::<String>)));
        let sock = d.sock.clone();
        let st = state.clone();
        let committer = std::thread::spawn(move || {
            let Ok(mut c) = Client::connect(&sock) else {
                return 0;
            };
            if !c.exec("configure").is_ok_and(|r| r.ok) {
                return 0;
            }
            for i in 0.. {
                let name = format!("h{round}-{i}");
                if !c
                    .exec(&format!("set system host-name {name}"))
                    .is_ok_and(|r| r.ok)
                {
                    return i;
                }
                st.lock().unwrap().1 = Some(name.clone());
                match c.exec("commit") {
                    Ok(r) if r.ok => *st.lock().unwrap() = (name, None),
                    _ => return i,
                }
            }
            unreachable!()
        });
        std::thread::sleep(Duration::from_millis(40 + (round * 53) % 250));
        d.kill9();
        commits_made += committer.join().unwrap();
        // Every stored configuration is complete: it parses and has all its routes.
        for e in std::fs::read_dir(d.dir.join("commits")).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with(".tmp") {
                continue; // never renamed into place: not part of the store
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let c = savin_config::Configuration::parse(&text, Some(&name))
                .unwrap_or_else(|e| panic!("round {round}: torn commit file: {e}"));
            let typed = c.typed().unwrap();
            assert_eq!(
                typed.routing_options.static_routes.route.len(),
                ROUTES,
                "round {round}: {name}"
            );
        }
        d.start_again();
        let (last_acked, in_flight) = state.lock().unwrap().clone();
        killed_mid_commit += usize::from(in_flight.is_some());
        let host = d.ok("show configuration system host-name");
        let ok = host == format!("host-name {last_acked};\n")
            || in_flight
                .as_ref()
                .is_some_and(|f| host == format!("host-name {f};\n"));
        assert!(
            ok,
            "round {round}: came back with {host:?}, acked {last_acked}, in flight {in_flight:?}"
        );
        assert!(
            !std::fs::read_dir(d.dir.join("commits")).unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".tmp")),
            "temporary files are removed at start"
        );
        acked = host
            .trim_start_matches("host-name ")
            .trim_end_matches(";\n")
            .to_string();
    }
    eprintln!("{commits_made} commits, {killed_mid_commit} of 12 kills during a commit");
    assert!(
        // On a slow machine fewer commits complete per round; what matters is that kills
        // land while a commit is being written.
        killed_mid_commit >= 3,
        "the kills must land among commits: {commits_made} commits, {killed_mid_commit} kills during a commit"
    );
}
