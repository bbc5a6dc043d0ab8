//! `savin bench netconf`: the management plane under its automation clients. A 100k-line
//! configuration loaded and committed with PyEZ over NETCONF, beside the same through the
//! CLI's socket in the same run (the clients' RPC timeout is 30 s: the goal is well within
//! it); then 20 NETCONF sessions asking `get-interface-information` and `get-configuration`
//! while another commits in a loop: replies per second and latency percentiles. Needs root
//! (the daemon runs in its own network namespace, its ports its own) and python3 with
//! junos-eznc and ncclient.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use savin_lab::{wait_until, Lab};
use savin_mgmt::proto::{Attachment, Client};
use serde_json::{json, Value};

const SCRIPT: &str = include_str!("netconf_bench.py");
const PASSWORD: &str = "bench-pass";

/// One command line through the CLI's socket; seconds it took.
fn exec(c: &mut Client, line: &str, data: Option<Attachment>) -> anyhow::Result<f64> {
    crate::timed(c, line, data).map(|(ms, _)| ms / 1e3)
}

pub fn netconf(lines: usize, sessions: usize, secs: u64) -> anyhow::Result<ExitCode> {
    let mut lab = Lab::new().map_err(|e| anyhow::anyhow!("bench netconf needs root: {e}"))?;
    let ns = lab.netns("nc")?;
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state)?;
    let sock = state.join("savin.sock");
    let exe = std::env::current_exe()?.to_string_lossy().to_string();
    let st = state.to_string_lossy().to_string();
    // The interfaces of the concurrency phase: a veth pair inside the namespace.
    let peer = lab.netns("peer")?;
    lab.veth(&ns, "eth1", &peer, "eth1")?;
    lab.spawn(
        &ns,
        &[&exe, "daemon", "--state-dir", &st],
        None,
        Some(std::fs::File::create(dir.path().join("daemon.log"))?),
    )?;
    anyhow::ensure!(
        wait_until(Duration::from_secs(10), || sock.exists()),
        "the daemon did not start"
    );
    let mut c = Client::connect(&sock).context("connecting to the daemon")?;
    let hash = {
        let out = std::process::Command::new("openssl")
            .args(["passwd", "-6", PASSWORD])
            .output()
            .context("openssl passwd")?;
        String::from_utf8(out.stdout)?.trim().to_string()
    };
    exec(&mut c, "configure", None)?;
    for l in [
        "set system host-name bench".to_string(),
        "set system services netconf ssh".to_string(),
        format!(
            "set system login user bench class super-user authentication encrypted-password \"{hash}\""
        ),
        "set interfaces eth1 unit 0 family inet address 192.0.2.1/24".to_string(),
    ] {
        exec(&mut c, &l, None)?;
    }
    exec(&mut c, "commit", None)?;
    exec(&mut c, "exit", None).ok();
    let text = crate::generate(lines);
    let file = dir.path().join("config.set");
    std::fs::write(&file, &text)?;
    let script = dir.path().join("bench.py");
    std::fs::write(&script, SCRIPT)?;
    let py = |args: &[&str], timeout: u64| -> anyhow::Result<Value> {
        let sp = script.to_string_lossy().to_string();
        let mut all = vec!["python3", sp.as_str(), "127.0.0.1", "830", PASSWORD];
        all.extend_from_slice(args);
        let out = lab.exec(&ns, &all, Duration::from_secs(timeout))?;
        anyhow::ensure!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(serde_json::from_slice(&out.stdout)?)
    };
    // Concurrency first, on the small configuration.
    let concurrent = py(
        &["concurrent", &sessions.to_string(), &secs.to_string()],
        secs + 120,
    )?;
    // PyEZ: the 100k lines loaded and committed.
    let f = file.to_string_lossy().to_string();
    let pyez = py(&["load", &f], 600)?;
    // Back to where it started, then the same through the CLI's socket.
    let mut c = Client::connect(&sock)?;
    exec(&mut c, "configure", None)?;
    exec(&mut c, "rollback 1", None)?;
    exec(&mut c, "commit", None)?;
    let cli_load = exec(
        &mut c,
        "load set terminal",
        Some(Attachment {
            name: "bench".into(),
            text: text.clone(),
        }),
    )?;
    let cli_commit = exec(&mut c, "commit", None)?;
    let total = pyez["load_and_commit_s"].as_f64().unwrap_or(f64::NAN);
    let result = json!({
        "bench": "netconf",
        "workload": format!("{lines} lines of `set` configuration ({} bytes) loaded and committed with PyEZ (lock, load format=set, commit) over NETCONF on SSH, and through the CLI's socket (load set terminal, commit) in the same run, from the same starting configuration; then {sessions} ncclient sessions each alternating get-interface-information and get-configuration (text) for {secs} s while another session loads and commits a one-line change in a loop", text.len()),
        "pyez": pyez,
        "cli": { "load_s": cli_load, "commit_s": cli_commit, "load_and_commit_s": cli_load + cli_commit },
        "ratio_pyez_to_cli": total / (cli_load + cli_commit),
        "concurrent": concurrent,
        "goals": {
            "pyez_load_and_commit_within_30s_rpc_timeout": total < 30.0,
        },
    });
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(ExitCode::SUCCESS)
}
