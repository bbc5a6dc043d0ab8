//! `savin bench bgp`: a BIRD originator sends the full Internet table (every prefix of
//! `../shared/data/full-table/`, IPv4 and IPv6, over two eBGP sessions) to the receiver
//! under test in another namespace; measured is the time from the first session Established
//! until every route is in the receiver's table (for Savin: its RIB and FIB, which one commit
//! of the RIB's batch updates together), and the receiver's resident memory growth per route.
//!
//! Receivers, each in a fresh lab and the same run: Savin; BIRD keeping the routes in its
//! RIB only; BIRD exporting them to the kernel FIB too; GoBGP (RIB only).
//!
//! `--peers N`: N neighbours (N IPv4 sessions from N addresses of one BIRD) each send the
//! IPv4 table, the path through neighbour `i` prepended `i` times; converged when the
//! receiver holds all N paths of every prefix.

use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use savin_lab::{Lab, Ns};
use savin_mgmt::proto::{Client, Request};
use serde_json::{json, Value};

use crate::read_table;

/// How long a receiver may take before it is reported as not converged.
const TIMEOUT: Duration = Duration::from_secs(600);

/// The originator's configuration: every prefix as a static route, both sessions exporting.
fn originator_config(v4: &[(u32, u8)], v6: &[(u128, u8)], peers: usize) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(40 * (v4.len() + v6.len()));
    // Times with milliseconds: when the sessions came up is read from the originator. The
    // routes start disabled: the feed is turned on once every session is up, so that the
    // order and spread of the sessions' start-up are not in the time.
    s += "router id 10.0.2.2;\ntimeformat protocol iso long ms;\nprotocol device { }\nprotocol static s4 { disabled; ipv4;\n";
    for (a, l) in v4 {
        let _ = writeln!(s, "route {}/{l} blackhole;", std::net::Ipv4Addr::from(*a));
    }
    s += "}\nprotocol static s6 { disabled; ipv6;\n";
    for (a, l) in v6 {
        let _ = writeln!(s, "route {}/{l} blackhole;", std::net::Ipv6Addr::from(*a));
    }
    if peers == 1 {
        s += "}\n\
            protocol bgp dut4 { local 10.0.2.2 as 65002; neighbor 10.0.2.1 as 65001;\n\
              ipv4 { import none; export all; }; }\n\
            protocol bgp dut6 { local 2001:db8:2::2 as 65002; neighbor 2001:db8:2::1 as 65001;\n\
              ipv6 { import none; export all; }; }\n";
        return s;
    }
    s += "}\n";
    for i in 0..peers {
        let prepend = "bgp_path.prepend(65002); ".repeat(i);
        let _ = writeln!(
            s,
            "protocol bgp dut4_{i} {{ local {} as 65002; neighbor {} as 65001;\n\
               ipv4 {{ import none; export filter {{ {prepend}accept; }}; }}; }}",
            peer_address(i),
            receiver_address(i)
        );
    }
    s
}

/// Neighbour `i`'s address (the originator's side).
fn peer_address(i: usize) -> String {
    format!("10.0.2.{}", 2 + i)
}

/// The receiver's address for neighbour `i`: one each, because BIRD runs one session per
/// remote address at a time (a second waits for the first's lock forever).
fn receiver_address(i: usize) -> String {
    format!("10.0.2.{}", if i == 0 { 1 } else { 100 + i })
}

/// The originator's session names (BIRD protocols) for `peers` neighbours.
fn originator_sessions(peers: usize) -> Vec<String> {
    if peers == 1 {
        vec!["dut4".into(), "dut6".into()]
    } else {
        (0..peers).map(|i| format!("dut4_{i}")).collect()
    }
}

/// The receivers' side of the sessions, for BIRD.
fn bird_receiver(kernel: bool, peers: usize) -> String {
    if peers > 1 {
        use std::fmt::Write as _;
        let mut s = String::from("router id 10.0.2.1;\nprotocol device { }\n");
        for i in 0..peers {
            let _ = writeln!(
                s,
                "protocol bgp src4_{i} {{ local {} as 65001; neighbor {} as 65002;\n\
                   ipv4 {{ import all; export none; }}; }}",
                receiver_address(i),
                peer_address(i)
            );
        }
        if kernel {
            s += "protocol kernel k4 { ipv4 { export all; }; }\n";
        }
        return s;
    }
    let mut s = String::from(
        "router id 10.0.2.1;\nprotocol device { }\n\
         protocol bgp src4 { local 10.0.2.1 as 65001; neighbor 10.0.2.2 as 65002;\n\
           ipv4 { import all; export none; }; }\n\
         protocol bgp src6 { local 2001:db8:2::1 as 65001; neighbor 2001:db8:2::2 as 65002;\n\
           ipv6 { import all; export none; }; }\n",
    );
    if kernel {
        s += "protocol kernel k4 { ipv4 { export all; }; }\nprotocol kernel k6 { ipv6 { export all; }; }\n";
    }
    s
}

fn gobgp_receiver() -> String {
    "[global.config]\n  as = 65001\n  router-id = \"10.0.2.1\"\n\
     [[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"10.0.2.2\"\n    peer-as = 65002\n\
     \x20 [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"ipv4-unicast\"\n\
     [[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"2001:db8:2::2\"\n    peer-as = 65002\n\
     \x20 [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"ipv6-unicast\"\n"
        .to_string()
}

/// How long after convergence the receiver's memory is read.
const SETTLE: Duration = Duration::from_secs(5);

fn rss(pid: u32) -> u64 {
    crate::rss_kib(pid).unwrap_or(0)
}

/// CPU time a process has used, user and system, all its threads (seconds): the work a
/// receiver does for the table, less noisy than the wall-clock time on a shared machine.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces), from field 3: utime and stime
    // are fields 14 and 15.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // In clock ticks: USER_HZ, 100 on Linux whatever the kernel's own HZ.
    (f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)) as f64 / 100.0
}

fn run(lab: &Lab, ns: &Ns, args: &[&str]) -> String {
    lab.exec(ns, args, Duration::from_secs(30))
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default()
}

/// The first number after `key` in `text` (`Routes: 901899 imported`).
fn number_after(text: &str, key: &str) -> Option<u64> {
    let rest = &text[text.find(key)? + key.len()..];
    rest.split_whitespace()
        .next()?
        .trim_end_matches(',')
        .parse()
        .ok()
}

/// The receiver under test: how to ask it whether it is established and how many routes it
/// holds.
enum Receiver {
    Savin {
        sock: std::path::PathBuf,
        /// All the routes expected (IPv4 and IPv6).
        want: u64,
        sessions: usize,
    },
    Bird {
        sock: String,
        kernel: bool,
        peers: usize,
    },
    Gobgp,
}

impl Receiver {
    fn want(&self) -> u64 {
        match self {
            Receiver::Savin { want, .. } => *want,
            _ => 0,
        }
    }

    fn established(&self, lab: &Lab, ns: &Ns) -> bool {
        match self {
            Receiver::Savin { sock, sessions, .. } => {
                savin_json(sock, "show bgp summary | display json")
                    .and_then(|v| {
                        let peers = v["bgp-information"]["bgp-peer"].as_array()?.clone();
                        Some(
                            peers.len() == *sessions
                                && peers.iter().all(|p| p["peer-state"] == "Established"),
                        )
                    })
                    .unwrap_or(false)
            }
            Receiver::Bird { sock, peers, .. } => {
                run(lab, ns, &["birdc", "-s", sock, "show", "protocols"])
                    .matches("Established")
                    .count()
                    == sessions(*peers)
            }
            Receiver::Gobgp => {
                run(lab, ns, &["gobgp", "neighbor"])
                    .matches("Establ")
                    .count()
                    == 2
            }
        }
    }

    /// (IPv4, IPv6) routes held (for BIRD with kernel export: exported to the kernel).
    fn routes(&self, lab: &Lab, ns: &Ns) -> (u64, u64) {
        match self {
            Receiver::Savin { sock, .. } => {
                // BGP's own count first (cheap); the RIB's summary (a walk of the table,
                // under its lock) only once BGP has everything.
                let Some(b) = savin_json(sock, "show bgp neighbor | display json") else {
                    return (0, 0);
                };
                let accepted: u64 = b["bgp-information"]["bgp-peer"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|p| p["bgp-rib"].as_array().cloned().unwrap_or_default())
                    .filter_map(|r| r["accepted-prefix-count"].as_u64())
                    .sum();
                if accepted < self.want() {
                    return (0, 0);
                }
                let Some(v) = savin_json(sock, "show route summary | display json") else {
                    return (0, 0);
                };
                let count = |table: &str| {
                    v["route-summary-information"]["route-table"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|t| t["table-name"] == table)
                        .flat_map(|t| t["protocols"].as_array().cloned().unwrap_or_default())
                        .filter(|p| p["protocol-name"] == "BGP")
                        // Every path of every prefix (one per neighbour), active or not.
                        .filter_map(|p| p["protocol-route-count"].as_u64())
                        .sum::<u64>()
                };
                // In the RIB is not yet in the FIB: a batch's FIB write may wait for the
                // batches queued behind it (the statistics are answered after those).
                let waiting = savin_json(sock, "show system statistics | display json")
                    .and_then(|s| s["statistics"]["route"]["protocol-routes-waiting-fib"].as_u64());
                if waiting != Some(0) {
                    return (0, 0);
                }
                (count("inet.0"), count("inet6.0"))
            }
            Receiver::Bird { sock, peers, .. } if *peers > 1 => {
                let total = (0..*peers)
                    .map(|i| {
                        let p = format!("src4_{i}");
                        let out = run(
                            lab,
                            ns,
                            &["birdc", "-s", sock, "show", "protocols", "all", &p],
                        );
                        number_after(&out, "Routes:").unwrap_or(0)
                    })
                    .sum();
                (total, 0)
            }
            Receiver::Bird { sock, kernel, .. } => {
                let (p4, p6, key) = if *kernel {
                    ("k4", "k6", "Routes:")
                } else {
                    ("src4", "src6", "Routes:")
                };
                let get = |p: &str| {
                    let out = run(
                        lab,
                        ns,
                        &["birdc", "-s", sock, "show", "protocols", "all", p],
                    );
                    if *kernel {
                        // `Routes: 0 imported, N exported, ...`
                        out.find(key)
                            .and_then(|i| number_after(&out[i..], "imported,"))
                            .unwrap_or(0)
                    } else {
                        number_after(&out, key).unwrap_or(0)
                    }
                };
                (get(p4), get(p6))
            }
            Receiver::Gobgp => {
                let get = |fam: &str| {
                    let out = run(lab, ns, &["gobgp", "global", "rib", "summary", "-a", fam]);
                    number_after(&out, "Destination:").unwrap_or(0)
                };
                (get("ipv4"), get("ipv6"))
            }
        }
    }
}

fn savin_json(sock: &Path, cmd: &str) -> Option<Value> {
    let mut c = Client::connect(sock).ok()?;
    let r = c
        .request(&Request::Exec {
            line: cmd.into(),
            data: None,
        })
        .ok()?;
    serde_json::from_str(&r.output).ok()
}

/// When the first and the last of the originator's sessions came up, once all are
/// Established, from BIRD's `show protocols` (`dut4 BGP --- up 2026-12-03 14:46:01.123
/// Established`).
fn originator_up(
    lab: &Lab,
    src: &Ns,
    sock: &str,
    peers: usize,
) -> Option<(std::time::SystemTime, std::time::SystemTime)> {
    let out = run(lab, src, &["birdc", "-s", sock, "show", "protocols"]);
    let mut latest: Option<(std::time::SystemTime, std::time::SystemTime)> = None;
    for name in originator_sessions(peers) {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name.as_str()))?;
        if !line.contains("Established") {
            return None;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        let i = w.iter().position(|x| *x == "up")?;
        let t = chrono::NaiveDateTime::parse_from_str(
            &format!("{} {}", w.get(i + 1)?, w.get(i + 2)?),
            "%Y-%m-%d %H:%M:%S%.3f",
        )
        .ok()?;
        // BIRD prints local time; the lab runs in UTC unless TZ says otherwise.
        let local = t.and_local_timezone(chrono::Local).single()?;
        let st = std::time::SystemTime::from(local);
        latest = Some(latest.map_or((st, st), |(a, b)| (a.min(st), b.max(st))));
    }
    latest
}

/// The receiver's addresses on its side of the link (Savin configures its own).
fn receiver_addresses(lab: &Lab, dut: &Ns) -> anyhow::Result<()> {
    lab.addr(dut, "eth2", "10.0.2.1/24")?;
    let v6 = [
        "ip",
        "-6",
        "addr",
        "add",
        "2001:db8:2::1/64",
        "dev",
        "eth2",
        "nodad",
    ];
    run(lab, dut, &v6);
    Ok(())
}

/// Sessions per receiver: IPv4 and IPv6 from one neighbour, or IPv4 from each of `peers`.
fn sessions(peers: usize) -> usize {
    if peers == 1 {
        2
    } else {
        peers
    }
}

/// One receiver's run: a fresh lab, the receiver started and ready, then the originator, its
/// routes enabled once every session is up; returns its measurements.
fn measure(
    kind: &str,
    origin_conf: &Path,
    want: (u64, u64),
    peers: usize,
) -> anyhow::Result<Value> {
    let mut lab = Lab::new().context("bench bgp builds network namespaces: run it as root")?;
    let dut = lab.netns("dut")?;
    let src = lab.netns("src")?;
    lab.veth(&dut, "eth2", &src, "eth0")?;
    lab.addr(&src, "eth0", "10.0.2.2/24")?;
    run(
        &lab,
        &src,
        &[
            "ip",
            "-6",
            "addr",
            "add",
            "2001:db8:2::2/64",
            "dev",
            "eth0",
            "nodad",
        ],
    );
    for i in 1..peers {
        lab.addr(&src, "eth0", &format!("{}/24", peer_address(i)))?;
    }
    let dir = tempfile::tempdir()?;
    let d = dir.path().to_string_lossy().to_string();
    let (pid, receiver) = match kind {
        "savin" => {
            let exe = std::env::current_exe()?.to_string_lossy().to_string();
            let sock = dir.path().join("savin.sock");
            let pid = lab.spawn(&dut, &[&exe, "daemon", "--state-dir", &d], None, None)?;
            anyhow::ensure!(
                savin_lab::wait_until(Duration::from_secs(10), || sock.exists()),
                "the daemon did not start"
            );
            let mut c = Client::connect(&sock)?;
            let mut lines: Vec<String> = [
                "configure",
                "set interfaces eth2 unit 0 family inet address 10.0.2.1/24",
                "set interfaces eth2 unit 0 family inet6 address 2001:db8:2::1/64",
                "set routing-options router-id 10.0.2.1",
                "set routing-options autonomous-system 65001",
                "set protocols bgp group src type external",
                "set protocols bgp group src peer-as 65002",
            ]
            .map(String::from)
            .to_vec();
            if peers == 1 {
                lines.push(
                    "set protocols bgp group src neighbor 10.0.2.2 family inet unicast".into(),
                );
                lines.push(
                    "set protocols bgp group src neighbor 2001:db8:2::2 family inet6 unicast"
                        .into(),
                );
            } else {
                for i in 0..peers {
                    let n = format!("set protocols bgp group src neighbor {}", peer_address(i));
                    lines.push(format!("{n} family inet unicast"));
                    if i > 0 {
                        lines.push(format!(
                            "set interfaces eth2 unit 0 family inet address {}/24",
                            receiver_address(i)
                        ));
                        lines.push(format!("{n} local-address {}", receiver_address(i)));
                    }
                }
            }
            lines.push("commit".into());
            for line in &lines {
                let r = c.request(&Request::Exec {
                    line: line.clone(),
                    data: None,
                })?;
                anyhow::ensure!(r.ok, "{line}: {}", r.output);
            }
            (
                pid,
                Receiver::Savin {
                    sock,
                    want: want.0 + want.1,
                    sessions: sessions(peers),
                },
            )
        }
        "bird" | "bird-kernel" => {
            receiver_addresses(&lab, &dut)?;
            for i in 1..peers {
                lab.addr(&dut, "eth2", &format!("{}/24", receiver_address(i)))?;
            }
            let kernel = kind == "bird-kernel";
            let conf = dir.path().join("bird.conf");
            anyhow::ensure!(
                !(kernel && peers > 1),
                "bird-kernel takes one neighbour (its kernel table holds prefixes, not paths)"
            );
            std::fs::write(&conf, bird_receiver(kernel, peers))?;
            let sock = format!("{d}/bird.ctl");
            let c = conf.to_string_lossy().to_string();
            let pid = lab.spawn(&dut, &["bird", "-f", "-c", &c, "-s", &sock], None, None)?;
            anyhow::ensure!(
                savin_lab::wait_until(Duration::from_secs(10), || Path::new(&sock).exists()),
                "BIRD did not start"
            );
            (
                pid,
                Receiver::Bird {
                    sock,
                    kernel,
                    peers,
                },
            )
        }
        "gobgp" => {
            anyhow::ensure!(peers == 1, "gobgp is measured with one neighbour");
            receiver_addresses(&lab, &dut)?;
            let conf = dir.path().join("gobgpd.toml");
            std::fs::write(&conf, gobgp_receiver())?;
            let c = conf.to_string_lossy().to_string();
            let pid = lab.spawn(&dut, &["gobgpd", "-f", &c, "-p"], None, None)?;
            anyhow::ensure!(
                savin_lab::wait_until(Duration::from_secs(10), || {
                    lab.exec(&dut, &["gobgp", "global"], Duration::from_secs(5))
                        .is_ok_and(|o| o.status.success())
                }),
                "gobgpd did not start"
            );
            (pid, Receiver::Gobgp)
        }
        other => anyhow::bail!("unknown receiver {other}"),
    };
    let oconf = origin_conf.to_string_lossy().to_string();
    let osock = format!("{d}/origin.ctl");
    let started = Instant::now();
    lab.spawn(
        &src,
        &["bird", "-f", "-c", &oconf, "-s", &osock],
        None,
        None,
    )?;
    // Every session up (no routes yet: the originator's statics are disabled).
    while !receiver.established(&lab, &dut) {
        anyhow::ensure!(started.elapsed() < TIMEOUT, "the sessions did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    // When they came up, as the originator logged it: a diagnostic only (None: its times did
    // not read, or it has not yet seen every session up).
    let up = originator_up(&lab, &src, &osock, peers);
    // Settled (keepalives, empty End-of-RIB) before the feed starts.
    std::thread::sleep(Duration::from_secs(1));
    let rss_before = rss(pid);
    let cpu_before = cpu_seconds(pid);
    let slab_before = crate::slab_kib().unwrap_or(0);
    let fed = std::time::SystemTime::now();
    let feed: &[&str] = if peers == 1 { &["s4", "s6"] } else { &["s4"] };
    for p in feed {
        let out = run(&lab, &src, &["birdc", "-s", &osock, "enable", p]);
        anyhow::ensure!(out.contains("enabled"), "birdc enable {p}: {out}");
    }
    let mut converged = None;
    let mut last = (0, 0);
    while started.elapsed() < TIMEOUT {
        last = receiver.routes(&lab, &dut);
        if last.0 >= want.0 && last.1 >= want.1 {
            converged = Some(std::time::SystemTime::now());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let rss_converged = rss(pid);
    let cpu = cpu_seconds(pid) - cpu_before;
    // Resident memory a few seconds on, when the receiver is idle: what it holds for the
    // table, not the buffers it freed while loading it (an allocator returns those to the
    // system after a moment). The same wait for every receiver.
    std::thread::sleep(SETTLE);
    let rss_after = rss(pid);
    let slab_after = crate::slab_kib().unwrap_or(0);
    let routes = want.0 + want.1;
    let growth = rss_after.saturating_sub(rss_before);
    // The kernel's memory too: BIRD's FIB is the kernel's, Savin's is in its own RSS.
    let slab_growth = slab_after.saturating_sub(slab_before);
    Ok(json!({
        "converged": converged.is_some(),
        "routes": {"ipv4": last.0, "ipv6": last.1},
        // From the moment the originator's routes were enabled, every session already up:
        // neither the sessions' start-up nor its spread is in the time. (Timed from the first
        // session Established, with routes flowing as sessions came up, one binary measured
        // 2.0 s in one run and 5.2 s in another.)
        "seconds_from_feed": converged.map(|c| c.duration_since(fed).unwrap_or_default().as_secs_f64()),
        "sessions_up_spread_s": up.map(|(first, last)| last.duration_since(first).unwrap_or_default().as_secs_f64()),
        // The receiver's CPU time from the feed to convergence (a machine with more cores than
        // this one's two runs a multi-threaded receiver in less wall-clock time than this).
        "cpu_seconds_to_converge": cpu,
        "rss_before_mib": rss_before as f64 / 1024.0,
        "rss_at_convergence_mib": rss_converged as f64 / 1024.0,
        "rss_after_mib": rss_after as f64 / 1024.0,
        // Per path: with one neighbour a path is a route.
        "bytes_per_route": (growth as f64 * 1024.0) / routes.max(1) as f64,
        "kernel_slab_growth_mib": slab_growth as f64 / 1024.0,
        // RSS and the kernel's slab growth: with a FIB, where each keeps it.
        "bytes_per_route_with_kernel": ((growth + slab_growth) as f64 * 1024.0) / routes.max(1) as f64,
    }))
}

pub fn bgp(
    table: &Path,
    receivers: &[String],
    limit: Option<usize>,
    peers: usize,
) -> anyhow::Result<ExitCode> {
    anyhow::ensure!((1..=200).contains(&peers), "--peers: 1 to 200");
    let (mut v4, mut v6) = read_table(table)?;
    // Unique prefixes (the file may repeat one); in the file's order.
    let mut seen4 = HashSet::new();
    v4.retain(|p| seen4.insert(*p));
    let mut seen6 = HashSet::new();
    v6.retain(|p| seen6.insert(*p));
    if let Some(n) = limit {
        v4.truncate(n);
        v6.truncate(n / 6);
    }
    let dir = tempfile::tempdir()?;
    let conf = dir.path().join("origin.conf");
    if peers > 1 {
        v6.clear();
    }
    std::fs::write(&conf, originator_config(&v4, &v6, peers))?;
    // Paths: one per prefix and neighbour.
    let want = (v4.len() as u64 * peers as u64, v6.len() as u64);
    let mut results = serde_json::Map::new();
    for r in receivers {
        let v = measure(r, &conf, want, peers).unwrap_or_else(|e| json!({"error": e.to_string()}));
        eprintln!("bgp bench: {r}: {v}");
        results.insert(r.clone(), v);
    }
    let secs = |k: &str| results.get(k).and_then(|v| v["seconds_from_feed"].as_f64());
    let bytes = |k: &str| results.get(k).and_then(|v| v["bytes_per_route"].as_f64());
    let with_kernel = |k: &str| {
        results
            .get(k)
            .and_then(|v| v["bytes_per_route_with_kernel"].as_f64())
    };
    let out = json!({
        "bench": "bgp",
        "workload": if peers == 1 {
            format!("a BIRD originator sends {} IPv4 and {} IPv6 prefixes (the full table) over two eBGP sessions (IPv4, IPv6) to the receiver in another namespace; both sessions up first, then the originator's routes enabled: time from then (the originator loading and sending them is in it, alike for every receiver) until all routes are held (Savin: RIB and FIB), polled every 100 ms; memory: the receiver's RSS growth from just before the routes are enabled to 5 s after convergence (with_kernel: plus the kernel's slab growth over the same time)", want.0, want.1)
        } else {
            format!("one BIRD originator, {peers} eBGP sessions from {peers} addresses, each sends the {} IPv4 prefixes (path through neighbour i prepended i times) to the receiver in another namespace; every session up first, then the originator's routes enabled: time from then (the originator loading and sending them is in it, alike for every receiver) until all {} paths are held (Savin: in its RIB, the best of each in the FIB), polled every 100 ms; memory: the receiver's RSS growth per path, from just before the routes are enabled to 5 s after convergence", v4.len(), want.0)
        },
        "peers": peers,
        "results": results,
        "ratio_savin_to_bird_rib_only_seconds": match (secs("savin"), secs("bird")) {
            (Some(s), Some(b)) if b > 0.0 => json!(s / b),
            _ => Value::Null,
        },
        "ratio_savin_to_bird_bytes_per_route": match (bytes("savin"), bytes("bird")) {
            (Some(s), Some(b)) if b > 0.0 => json!(s / b),
            _ => Value::Null,
        },
        // The goals, as this run measured them (null: a side was not measured).
        "goals": {
            "savin_with_fib_seconds_below_bird_rib_only": secs("savin").zip(secs("bird")).map(|(s, b)| s < b),
            "savin_bytes_per_route_at_most_bird": bytes("savin").zip(bytes("bird")).map(|(s, b)| s <= b),
        },
        // Not the goal, beside it: each with its FIB, wherever it keeps it (Savin's RSS
        // against BIRD's RSS plus the kernel's slab growth from its kernel export).
        "ratio_savin_to_bird_kernel_bytes_per_route_with_fib": match (with_kernel("savin"), with_kernel("bird-kernel")) {
            (Some(s), Some(b)) if b > 0.0 => json!(s / b),
            _ => Value::Null,
        },
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}
