//! `savin bench`: whole-system measurements, printed as JSON.

use std::fmt::Write as _;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Subcommand;
use savin_mgmt::proto::{Attachment, Client, Request};
use serde_json::json;

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Load and commit a large generated `set` configuration; time `show | compare`.
    Config {
        /// Lines of `set` configuration to generate.
        #[arg(long, default_value_t = 100_000)]
        lines: usize,
    },
}

pub fn run(what: BenchCmd) -> anyhow::Result<ExitCode> {
    match what {
        BenchCmd::Config { lines } => config(lines),
    }
}

/// A deterministic `set` configuration of `lines` lines: one interface per 100 lines (a
/// description and an address each), static routes for the rest.
pub fn generate(lines: usize) -> String {
    let ifaces = (lines / 100).clamp(1, 65_000);
    let mut s = String::with_capacity(lines * 64);
    let mut n = 0;
    for i in 0..ifaces {
        if n + 2 > lines {
            break;
        }
        let _ = writeln!(s, "set interfaces eth{i} description \"bench port {i}\"");
        let _ = writeln!(
            s,
            "set interfaces eth{i} unit 0 family inet address 10.{}.{}.1/24",
            i >> 8,
            i & 255
        );
        n += 2;
    }
    let mut r: u32 = 0;
    while n < lines {
        let net = 0x6400_0000u32 + (r << 8); // 100.0.0.0 upwards, one /24 each
        let gw = r as usize % ifaces;
        let _ = writeln!(
            s,
            "set routing-options static route {}.{}.{}.0/24 next-hop 10.{}.{}.2",
            net >> 24,
            (net >> 16) & 255,
            (net >> 8) & 255,
            gw >> 8,
            gw & 255
        );
        r += 1;
        n += 1;
    }
    s
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.0.wait();
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn timed(c: &mut Client, line: &str, data: Option<Attachment>) -> anyhow::Result<(f64, String)> {
    let t = Instant::now();
    let r = c.request(&Request::Exec {
        line: line.into(),
        data,
    })?;
    let ms = t.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(r.ok, "{line}: {}", r.output);
    Ok((ms, r.output))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn config(lines: usize) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir()?;
    let sock = dir.path().join("savin.sock");
    let text = generate(lines);
    let child = Command::new(std::env::current_exe()?)
        .args(["daemon", "--state-dir"])
        .arg(dir.path())
        .env("SAVIN_LOG", "warn")
        .stdin(Stdio::null())
        .spawn()
        .context("starting the daemon")?;
    let daemon = Daemon(child);
    let pid = daemon.0.id();
    let start = Instant::now();
    let mut c = loop {
        match Client::connect(&sock) {
            Ok(c) => break c,
            Err(_) if start.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => return Err(e).context("connecting to the daemon"),
        }
    };
    let rss_idle = rss_kib(pid);
    timed(&mut c, "configure", None)?;
    let (load_ms, _) = timed(
        &mut c,
        "load set terminal",
        Some(Attachment {
            name: "bench".into(),
            text: text.clone(),
        }),
    )?;
    let (commit_ms, _) = timed(&mut c, "commit", None)?;
    let rss_committed = rss_kib(pid);
    timed(
        &mut c,
        "set routing-options static route 203.0.113.0/24 discard",
        None,
    )?;
    let mut compares = Vec::new();
    let mut diff = String::new();
    for _ in 0..7 {
        let (ms, out) = timed(&mut c, "show | compare", None)?;
        compares.push(ms);
        diff = out;
    }
    anyhow::ensure!(
        diff.contains("+   route 203.0.113.0/24 discard;"),
        "unexpected compare output: {diff}"
    );
    let (small_commit_ms, _) = timed(&mut c, "commit", None)?;
    let (show_ms, curly) = timed(&mut c, "show", None)?;
    let (load_curly_ms, _) = timed(
        &mut c,
        "load override terminal",
        Some(Attachment {
            name: "bench".into(),
            text: curly,
        }),
    )?;
    let rss_end = rss_kib(pid);
    let result = json!({
        "bench": "config",
        "lines": lines,
        "set_text_bytes": text.len(),
        "load_set_ms": load_ms,
        "commit_ms": commit_ms,
        "compare_one_line_change_ms": median(compares),
        "commit_one_line_change_ms": small_commit_ms,
        "show_ms": show_ms,
        "load_override_curly_ms": load_curly_ms,
        "daemon_rss_kib": { "idle": rss_idle, "after_commit": rss_committed, "end": rss_end },
        "goals": { "load_set_ms": 1000, "commit_ms": 1000, "compare_one_line_change_ms": 50 },
        "peer": "none: no Junos or other Junos-syntax implementation is available on this machine",
    });
    println!("{}", serde_json::to_string_pretty(&result)?);
    drop(daemon);
    Ok(ExitCode::SUCCESS)
}
