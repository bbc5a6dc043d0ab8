//! `savin demo`: builds a lab of namespaces (two hosts and a router), starts the Savin daemon in
//! the router namespace with a built-in configuration, and walks through a commit,
//! `show | compare`, a rollback and the commit history, printing each command and its output.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use savin_lab::{wait_until, Lab, Ns};
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

fn which(tool: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(tool))
            .find(|f| f.is_file())
    })
}

/// Echo requests from `ns` with Savin's own probes (no `ping` here), printed as ping prints
/// them; true if every one was answered.
fn own_ping(lab: &Lab, ns: &Ns, who: &str, dst: &str, count: u16) -> anyhow::Result<bool> {
    use crate::probe::{probe, Answer};
    println!("{who}$ ping -c {count} {dst}   (ping is not installed: Savin's own ICMP probes)");
    let ip: std::net::Ipv4Addr = dst.parse()?;
    let id = std::process::id() as u16;
    let answers = lab.run_in(ns, move || {
        (1..=count)
            .map(|seq| probe(ip, 64, id, seq, Duration::from_secs(1)))
            .collect::<std::io::Result<Vec<Answer>>>()
    })?;
    let mut all = true;
    for (seq, a) in (1..).zip(&answers) {
        match a {
            Answer::Echo { from, rtt_ms } => {
                println!("reply from {from}: icmp_seq={seq} time={rtt_ms:.2} ms")
            }
            Answer::Unreachable { from, code } => {
                all = false;
                println!("From {from} icmp_seq={seq} Destination Unreachable (code {code})")
            }
            Answer::TimeExceeded { from, .. } => {
                all = false;
                println!("From {from} icmp_seq={seq} Time to live exceeded")
            }
            Answer::Nothing => {
                all = false;
                println!("icmp_seq={seq}: no answer within 1 s")
            }
        }
    }
    Ok(all)
}

/// A traceroute by ICMP echo with rising TTL (no `traceroute` here); true if `dst` answered.
fn own_traceroute(lab: &Lab, ns: &Ns, who: &str, dst: &str) -> anyhow::Result<bool> {
    use crate::probe::{probe, Answer};
    println!("{who}$ traceroute {dst}   (traceroute is not installed: Savin's own ICMP probes)");
    let ip: std::net::Ipv4Addr = dst.parse()?;
    let id = std::process::id() as u16 ^ 0x5a5a;
    for ttl in 1..=3u32 {
        let a = lab.run_in(ns, move || {
            probe(ip, ttl, id, ttl as u16, Duration::from_secs(2))
        })?;
        match a {
            Answer::Echo { from, rtt_ms } => {
                println!(" {ttl}  {from}  {rtt_ms:.3} ms");
                return Ok(true);
            }
            Answer::TimeExceeded { from, rtt_ms } => println!(" {ttl}  {from}  {rtt_ms:.3} ms"),
            Answer::Unreachable { from, code } => {
                println!(" {ttl}  {from}  !unreachable (code {code})");
                return Ok(false);
            }
            Answer::Nothing => println!(" {ttl}  *"),
        }
    }
    Ok(false)
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
    ok &= t.run("exit")?;
    println!("\n== Real traffic: h1 pings Savin's address, then h2 through Savin, and a");
    println!("   traceroute shows Savin's hop; the reject route answers unreachable");
    let traffic: [(&str, &[&str], bool); 4] = [
        (
            "10.0.1.1",
            &["ping", "-c", "3", "-i", "0.2", "-W", "1"],
            true,
        ),
        (
            "10.0.2.2",
            &["ping", "-c", "3", "-i", "0.2", "-W", "1"],
            true,
        ),
        (
            "10.0.2.2",
            &["traceroute", "-n", "-q", "1", "-w", "2", "-m", "3"],
            true,
        ),
        ("198.51.100.7", &["ping", "-c", "1", "-W", "2"], false),
    ];
    for (dst, cmd, must_succeed) in traffic {
        let answered = if which(cmd[0]).is_some() {
            println!("h1$ {} {dst}", cmd.join(" "));
            let mut args = cmd.to_vec();
            args.push(dst);
            let out = lab.exec(&h1, &args, Duration::from_secs(20))?;
            print!("{}", String::from_utf8_lossy(&out.stdout));
            out.status.success()
        } else if cmd[0] == "traceroute" {
            own_traceroute(&lab, &h1, "h1", dst)?
        } else {
            own_ping(&lab, &h1, "h1", dst, if must_succeed { 3 } else { 1 })?
        };
        ok &= answered == must_succeed;
    }
    println!("\n== What Savin saw");
    for cmd in [
        "show route",
        "show arp",
        "show interfaces terse",
        "show system statistics | except \" 0 \"",
    ] {
        ok &= t.run(cmd)?;
    }
    ok &= t.run("configure")?;
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
    println!(
        "\n== Security: trust and untrust zones, a logged policy out, source NAT to eth2's address"
    );
    for line in [
        "set security zones security-zone trust interfaces eth1.0 host-inbound-traffic system-services ping",
        "set security zones security-zone untrust interfaces eth2.0",
        "set security policies from-zone trust to-zone untrust policy out match source-address any",
        "set security policies from-zone trust to-zone untrust policy out match destination-address any",
        "set security policies from-zone trust to-zone untrust policy out match application any",
        "set security policies from-zone trust to-zone untrust policy out then permit",
        "set security policies from-zone trust to-zone untrust policy out then log session-init",
        "set security nat source rule-set out from zone trust",
        "set security nat source rule-set out to zone untrust",
        "set security nat source rule-set out rule all match source-address 0.0.0.0/0",
        "set security nat source rule-set out rule all then source-nat interface",
        "commit comment \"demo: zones, policy, NAT\"",
    ] {
        ok &= t.run(line)?;
    }
    ok &= t.run("exit")?;
    println!("\n== h1 (trust) reaches h2 through NAT; h2 (untrust) cannot start anything inward");
    for (ns, dst, must_succeed) in [(&h1, "10.0.2.2", true), (&h2, "10.0.1.2", false)] {
        let who = if must_succeed { "h1" } else { "h2" };
        let answered = if which("ping").is_some() {
            println!("{who}$ ping -c 2 -i 0.2 -W 1 {dst}");
            let out = lab.exec(
                ns,
                &["ping", "-c", "2", "-i", "0.2", "-W", "1", dst],
                Duration::from_secs(20),
            )?;
            print!("{}", String::from_utf8_lossy(&out.stdout));
            out.status.success()
        } else {
            own_ping(&lab, ns, who, dst, 2)?
        };
        ok &= answered == must_succeed;
    }
    for cmd in [
        "show security flow session",
        "show security nat source rule all",
        "show security policies hit-count",
    ] {
        ok &= t.run(cmd)?;
    }
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
