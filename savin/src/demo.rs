//! `savin demo`: builds a lab of namespaces (two hosts and a router), starts the Savin daemon in
//! the router namespace with a built-in configuration, and walks through a commit,
//! `show | compare`, a rollback and the commit history, printing each command and its output.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use savin_lab::{wait_until, Lab};
use savin_mgmt::proto::{Attachment, Client, Request};

/// The built-in configuration the demo loads (`load merge terminal`).
pub const DEMO_CONFIG: &str = r#"system {
    host-name savin-demo;
}
interfaces {
    eth1 {
        description "to h1";
        unit 0 {
            family inet {
                address 10.0.1.1/24;
            }
        }
    }
    eth2 {
        description "to h2";
        unit 0 {
            family inet {
                address 10.0.2.1/24;
            }
            family inet6 {
                address 2001:db8:2::1/64;
            }
        }
    }
}
routing-options {
    router-id 10.0.1.1;
    static {
        route 192.0.2.0/24 next-hop 10.0.2.2;
        route 198.51.100.0/24 reject;
    }
}
"#;

struct Transcript {
    client: Client,
    prompt: String,
}

impl Transcript {
    fn run(&mut self, line: &str) -> anyhow::Result<bool> {
        self.send(line, None)
    }

    fn send(&mut self, line: &str, data: Option<Attachment>) -> anyhow::Result<bool> {
        println!("{}{line}", self.prompt);
        let r = self.client.request(&Request::Exec {
            line: line.into(),
            data,
        })?;
        print!("{}", r.output);
        if !r.banner.is_empty() {
            println!("\n{}", r.banner);
        }
        self.prompt = r.prompt;
        Ok(r.ok)
    }
}

pub fn run() -> anyhow::Result<ExitCode> {
    let state = tempfile::tempdir()?;
    let mut lab = Lab::new().context("the demo builds network namespaces: run it as root")?;
    let router = lab.netns("router")?;
    let h1 = lab.netns("h1")?;
    let h2 = lab.netns("h2")?;
    lab.veth(&router, "eth1", &h1, "eth0")?;
    lab.veth(&router, "eth2", &h2, "eth0")?;
    lab.addr(&h1, "eth0", "10.0.1.2/24")?;
    lab.addr(&h2, "eth0", "10.0.2.2/24")?;
    lab.route(&h1, &["default", "via", "10.0.1.1"])?;
    lab.route(&h2, &["default", "via", "10.0.2.1"])?;
    println!("== Lab: h1 (10.0.1.2) --eth1-- router --eth2-- h2 (10.0.2.2), namespaces:");
    for ns in lab.namespaces() {
        println!("   {}", ns.name);
    }
    let sock = state.path().join("savin.sock");
    let exe = std::env::current_exe()?;
    let exe = exe.to_string_lossy().to_string();
    let dir = state.path().to_string_lossy().to_string();
    let log = std::fs::File::create(state.path().join("daemon.log"))?;
    let pid = lab.spawn(
        &router,
        &[&exe, "daemon", "--state-dir", &dir],
        None,
        Some(log),
    )?;
    println!(
        "== savin daemon started in namespace {} (pid {pid})\n",
        router.name
    );
    if !wait_until(Duration::from_secs(10), || Client::connect(&sock).is_ok()) {
        let log = std::fs::read_to_string(state.path().join("daemon.log")).unwrap_or_default();
        anyhow::bail!("the daemon did not open its socket within 10 s:\n{log}");
    }
    let mut t = Transcript {
        client: Client::connect(&sock)?,
        prompt: "root> ".into(),
    };
    let mut ok = true;
    ok &= t.run("show version")?;
    ok &= t.run("configure")?;
    ok &= t.send(
        "load merge terminal",
        Some(Attachment {
            name: "terminal".into(),
            text: DEMO_CONFIG.into(),
        }),
    )?;
    ok &= t.run("show | compare")?;
    ok &= t.run("commit comment \"demo: initial configuration\"")?;
    println!("\n== Real traffic: h1 pings Savin's address, then h2 through Savin");
    for (ns, dst) in [(&h1, "10.0.1.1"), (&h1, "10.0.2.2")] {
        println!("h1$ ping -c 3 {dst}");
        let out = lab.exec(
            ns,
            &["ping", "-c", "3", "-i", "0.2", "-W", "1", dst],
            Duration::from_secs(15),
        )?;
        print!("{}", String::from_utf8_lossy(&out.stdout));
        ok &= out.status.success();
    }
    println!("\n== A change: a new static route and a typo caught before commit");
    ok &= t.run("set routing-options static route 203.0.113.0/24 next-hop 10.0.2.2")?;
    ok &= t.run("set interfaces eth2 unit 0 family inet address 10.0.1.1/24")?;
    let failed_as_expected = !t.run("commit check")?;
    ok &= failed_as_expected;
    ok &= t.run("delete interfaces eth2 unit 0 family inet address 10.0.1.1/24")?;
    ok &= t.run("show | compare")?;
    ok &= t.run("commit comment \"demo: add 203.0.113.0/24\"")?;
    println!("\n== Rollback to the previous commit");
    ok &= t.run("rollback 1")?;
    ok &= t.run("show | compare")?;
    ok &= t.run("commit comment \"demo: rollback 1\"")?;
    ok &= t.run("exit")?;
    ok &= t.run("show configuration routing-options | display set")?;
    ok &= t.run("show system commit")?;
    println!("\n== Stopping the daemon (SIGTERM)");
    lab.signal(pid, nix::sys::signal::Signal::SIGTERM);
    let stopped = lab
        .wait(pid, Duration::from_secs(5))
        .is_some_and(|s| s.success());
    println!("   stopped cleanly: {stopped}");
    ok &= stopped;
    drop(lab);
    println!("== Lab removed");
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
