//! `savin bench`: measurements printed as JSON, kept out of the production binary's own code
//! (the binary's `bench` subcommand only calls [`run`]). Whole-system runs (config, forwarding,
//! security-lab) start the daemon and lab namespaces; the in-process ones (fib, rib, pipeline,
//! bridge, classifier, sessions, security) measure one crate's kernel against a peer in the
//! same run. A harness at the binary's edge: errors are `anyhow`, as the binary's are.

mod bgp;
mod bgp_churn;
mod firewall;
mod monitor;
mod netconf;
mod relay;
mod rib;
mod security;

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
    /// Forwarding-table build, memory, lookups and updates on the full Internet table,
    /// against the prefix-trie crate in the same run.
    Fib {
        #[arg(long, default_value = "../shared/data/full-table/prefixes.txt.gz")]
        table: std::path::PathBuf,
    },
    /// The routing information base on the full table plus generated routes (1M or more),
    /// with the FIB under it: insert time, bytes per route, one route change and one next
    /// hop carrying ~100k routes going down and up (median and p99, FIB writes included).
    Rib {
        #[arg(long, default_value = "../shared/data/full-table/prefixes.txt.gz")]
        table: std::path::PathBuf,
        /// Prefixes at least (the full table's 1.06M, or generated /24s up to this).
        #[arg(long, default_value_t = 1_100_000)]
        routes: usize,
        /// Link-down rounds (and thousands of single route changes).
        #[arg(long, default_value_t = 20)]
        rounds: usize,
    },
    /// The in-memory forwarding pipeline on one core: 64-byte IPv4 packets to random
    /// destinations inside the full table, in batches of 256.
    Pipeline {
        #[arg(long, default_value = "../shared/data/full-table/prefixes.txt.gz")]
        table: std::path::PathBuf,
    },
    /// The in-memory bridge on one core: 64-byte frames between 10k learnt MAC addresses in
    /// one VLAN across an access and a trunk port (tags added and removed).
    Bridge {
        #[arg(long, default_value_t = 10_000)]
        macs: usize,
    },
    /// The security-policy classifier on the ClassBench rule sets (1k, 10k, 100k acl1 and 10k
    /// fw1): build time, memory and lookups per second, against a linear first-match scan.
    Classifier {
        #[arg(long, default_value = "../shared/data/classbench")]
        dir: std::path::PathBuf,
    },
    /// The session table on one core: 1 million sessions created, then packets of established
    /// sessions looked up and tracked, against std's HashMap doing the same lookups.
    Sessions {
        #[arg(long, default_value_t = 1 << 20)]
        sessions: usize,
    },
    /// The pipeline with the service monitor's stage on and thousands of RTP streams active,
    /// against the pipeline with it off, one core, in memory (goal: at least 0.9 of the
    /// rate).
    Monitor {
        #[arg(long, default_value_t = 10_000)]
        streams: usize,
        /// Packets of each stream.
        #[arg(long, default_value_t = 40)]
        rounds: usize,
    },
    /// The pipeline with the security stage on, one core, in memory: new sessions per second
    /// through policy, source NAT and session insert, then established TCP packets with a
    /// million sessions held, against the pipeline with security off.
    Security {
        #[arg(long, default_value_t = 1_000_000)]
        sessions: usize,
        /// Deny policies ahead of the permit (the classifier's work).
        #[arg(long, default_value_t = 1000)]
        rules: usize,
        /// Without source NAT.
        #[arg(long)]
        no_nat: bool,
    },
    /// Through namespaces with a policy set: TCP throughput, 64-byte UDP packet rate and new
    /// TCP connections per second between two lab hosts, Savin (zones, policies, sessions)
    /// against the Linux kernel with the same rules in nftables and conntrack. Needs root.
    SecurityLab {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 5)]
        secs: u32,
        /// Deny rules ahead of the permits.
        #[arg(long, default_value_t = 100)]
        rules: usize,
        /// Threads of the relay (more than one: a PACKET_FANOUT group per interface).
        #[arg(long, default_value_t = 1)]
        relay_threads: usize,
    },
    /// A stateless filter of 1,000 terms on the pipeline against none and against 10 terms
    /// (in memory, one core), and through namespaces against Linux forwarding with the same
    /// rules in nftables (`--lab`, needs root).
    Firewall {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 5)]
        secs: u32,
        /// Also measure through namespaces against nftables.
        #[arg(long)]
        lab: bool,
    },
    /// Through namespaces: a paced eBGP speaker sends 10,000 UPDATEs a second over the full
    /// table while UDP traffic crosses Savin: RIB-to-FIB lag percentiles, packet loss and the
    /// fewest packets in any 100 ms (a stall). Needs root.
    BgpChurn {
        #[arg(long, default_value = "../shared/data/full-table/prefixes.txt.gz")]
        table: std::path::PathBuf,
        /// Only the first N IPv4 prefixes of the table.
        #[arg(long)]
        limit: Option<usize>,
        /// UPDATEs per second.
        #[arg(long, default_value_t = 10_000)]
        rate: u64,
        /// Seconds of churn.
        #[arg(long, default_value_t = 10)]
        secs: u64,
    },
    /// NETCONF: a large configuration loaded and committed with PyEZ (beside the CLI in the
    /// same run), and concurrent sessions' replies per second and latency while commits run.
    /// Needs root, python3 with junos-eznc and ncclient.
    Netconf {
        #[arg(long, default_value_t = 100_000)]
        lines: usize,
        #[arg(long, default_value_t = 20)]
        sessions: usize,
        #[arg(long, default_value_t = 10)]
        secs: u64,
    },
    /// Through namespaces: a BIRD originator sends the full table (IPv4 and IPv6) to Savin,
    /// and in the same run to BIRD (RIB only, and with its kernel FIB export) and GoBGP: time
    /// from the originator's routes being enabled (every session already up) until every
    /// route is held, and memory per route (`--peers N`: N
    /// neighbours each sending the IPv4 table). Needs root.
    Bgp {
        #[arg(long, default_value = "../shared/data/full-table/prefixes.txt.gz")]
        table: std::path::PathBuf,
        /// Receivers to measure, in order.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "savin,bird,bird-kernel,gobgp"
        )]
        receivers: Vec<String>,
        /// Only the first N IPv4 prefixes (and N/6 IPv6), for a quick run.
        #[arg(long)]
        limit: Option<usize>,
        /// Neighbours each sending the whole table (more than one: IPv4 sessions only, each
        /// path one AS longer than the one before).
        #[arg(long, default_value_t = 1)]
        peers: usize,
    },
    /// Through namespaces: 64-byte UDP packet rate and TCP throughput between two lab hosts
    /// (iperf3), Savin (AF_PACKET, one worker) against Linux kernel forwarding in the same
    /// run. Needs root.
    Forwarding {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 5)]
        secs: u32,
    },
}

pub fn run(what: BenchCmd) -> anyhow::Result<ExitCode> {
    match what {
        BenchCmd::Config { lines } => config(lines),
        BenchCmd::Fib { table } => fib(&table),
        BenchCmd::Rib {
            table,
            routes,
            rounds,
        } => crate::rib::rib(&table, routes, rounds),
        BenchCmd::Pipeline { table } => pipeline(&table),
        BenchCmd::Bridge { macs } => bridge(macs),
        BenchCmd::Forwarding { secs } => forwarding(secs),
        BenchCmd::BgpChurn {
            table,
            limit,
            rate,
            secs,
        } => crate::bgp_churn::bgp_churn(&table, limit, rate, secs),
        BenchCmd::Netconf {
            lines,
            sessions,
            secs,
        } => crate::netconf::netconf(lines, sessions, secs),
        BenchCmd::Bgp {
            table,
            receivers,
            limit,
            peers,
        } => crate::bgp::bgp(&table, &receivers, limit, peers),
        BenchCmd::Firewall { secs, lab } => crate::firewall::firewall(secs, lab),
        BenchCmd::SecurityLab {
            secs,
            rules,
            relay_threads,
        } => crate::security::lab(secs, rules, relay_threads),
        BenchCmd::Classifier { dir } => classifier(&dir),
        BenchCmd::Sessions { sessions } => sessions_bench(sessions),
        BenchCmd::Monitor { streams, rounds } => crate::monitor::monitor(streams, rounds),
        BenchCmd::Security {
            sessions,
            rules,
            no_nat,
        } => crate::security::security(sessions, rules, !no_nat),
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

pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The kernel's slab memory (all caches), KiB: where its FIB lives (IPv4 trie nodes and
/// aliases, IPv6 `fib6_info`s). Machine-wide, so read it around one receiver at a time.
pub(crate) fn slab_kib() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("Slab:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

pub(crate) fn timed(
    c: &mut Client,
    line: &str,
    data: Option<Attachment>,
) -> anyhow::Result<(f64, String)> {
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
        .args(["daemon", "--dataplane", "none", "--state-dir"])
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

/// IPv4 and IPv6 prefixes as (network, length).
type Prefixes = (Vec<(u32, u8)>, Vec<(u128, u8)>);

/// Reads the full-table prefix list (one CIDR prefix a line, gzip).
pub(crate) fn read_table(path: &std::path::Path) -> anyhow::Result<Prefixes> {
    use std::io::Read;
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(f).read_to_string(&mut text)?;
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    for l in text.lines() {
        if let Ok(n) = l.parse::<ipnet::Ipv4Net>() {
            v4.push((u32::from(n.network()), n.prefix_len()));
        } else if let Ok(n) = l.parse::<ipnet::Ipv6Net>() {
            v6.push((u128::from(n.network()), n.prefix_len()));
        }
    }
    Ok((v4, v6))
}

pub(crate) fn self_rss_kib() -> u64 {
    rss_kib(std::process::id()).unwrap_or(0)
}

/// A rate measured on a noisy machine: the work runs in slices of 100 ms and both the best
/// and the median slice are kept. The best slice is what the code does when the neighbours on
/// this shared host are quiet; the median is what it did this time. Goals are judged on the best.
#[derive(Clone, Copy)]
struct Rate {
    best: f64,
    median: f64,
}

impl Rate {
    /// Runs `unit` (which returns how many items it handled) for `total`.
    fn sample(total: Duration, mut unit: impl FnMut() -> u64) -> Rate {
        let slice = Duration::from_millis(100);
        let start = Instant::now();
        let mut rates = Vec::new();
        while start.elapsed() < total {
            let t = Instant::now();
            let mut n = 0u64;
            while t.elapsed() < slice {
                n += unit();
            }
            rates.push(n as f64 / t.elapsed().as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        Rate {
            best: rates[rates.len() - 1],
            median: rates[rates.len() / 2],
        }
    }

    /// Runs each of `units` for one 100 ms slice in turn, `rounds` times over. Every unit sees
    /// the same quiet and busy spells of the host, so their rates compare, and a quiet spell
    /// that comes while one of them runs is not that one's luck alone.
    fn interleaved(rounds: usize, units: &mut [Box<dyn FnMut() -> u64 + '_>]) -> Vec<Rate> {
        let slice = Duration::from_millis(100);
        let mut rates = vec![Vec::with_capacity(rounds); units.len()];
        for _ in 0..rounds {
            for (unit, r) in units.iter_mut().zip(&mut rates) {
                let t = Instant::now();
                let mut n = 0u64;
                while t.elapsed() < slice {
                    n += unit();
                }
                r.push(n as f64 / t.elapsed().as_secs_f64());
            }
        }
        rates
            .into_iter()
            .map(|mut r| {
                r.sort_by(f64::total_cmp);
                Rate {
                    best: r[r.len() - 1],
                    median: r[r.len() / 2],
                }
            })
            .collect()
    }

    fn scaled(self, by: f64) -> serde_json::Value {
        json!({ "best": self.best / by, "median": self.median / by })
    }
}

fn fib_family<K: savin_fib::Key, P>(
    name: &str,
    prefixes: &[(K, u8)],
    random: impl Fn(&mut rand::rngs::StdRng) -> K,
    host_bits: impl Fn(K, u8, &mut rand::rngs::StdRng) -> K,
    peer_build: impl Fn(&[(K, u8)]) -> P,
    peer_lookup: impl Fn(&P, K) -> u32,
) -> serde_json::Value {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5a71);
    let nh = |i: usize| 1 + (i as u32 % 4000);
    let rss0 = self_rss_kib();
    let t = Instant::now();
    let mut fib = savin_fib::Fib::from_routes(
        prefixes
            .iter()
            .enumerate()
            .map(|(i, (a, l))| (*a, *l, nh(i))),
    )
    .expect("next hops in range");
    let build_ms = t.elapsed().as_secs_f64() * 1e3;
    let rss_fib = self_rss_kib().saturating_sub(rss0);
    let stats = fib.stats();
    let t = Instant::now();
    let peer = peer_build(prefixes);
    let peer_build_ms = t.elapsed().as_secs_f64() * 1e3;
    let rss_peer = self_rss_kib().saturating_sub(rss0 + rss_fib);
    let hits: Vec<K> = (0..1 << 20)
        .map(|_| {
            let (a, l) = prefixes[rng.gen_range(0..prefixes.len())];
            host_bits(a, l, &mut rng)
        })
        .collect();
    // The Poptrie and DXR papers' "random" pattern: uniformly random addresses (here the
    // ones the table covers). Weighted by address space, short prefixes dominate, and many
    // keys end in the direct array; the per-prefix keys above mostly end a level deeper.
    let addresses: Vec<K> = std::iter::repeat_with(|| random(&mut rng))
        .filter(|k| fib.lookup(*k) != savin_fib::MISS)
        .take(1 << 20)
        .collect();
    let misses: Vec<K> = std::iter::repeat_with(|| random(&mut rng))
        .filter(|k| fib.lookup(*k) == savin_fib::MISS)
        .take(1 << 18)
        .collect();
    // Both must agree before their speed means anything.
    for k in hits
        .iter()
        .take(20_000)
        .chain(addresses.iter().take(20_000))
        .chain(misses.iter().take(5_000))
    {
        assert_eq!(
            fib.lookup(*k),
            peer_lookup(&peer, *k),
            "{name}: disagreement at {k:?}"
        );
    }
    let reader = fib.reader();
    // The first 256 per-prefix keys over and over: the same lookups with the table's lines all
    // in L1, so what the code costs without waiting on memory. Measured in the same slices as
    // the rest, it shows what state the host was in: on a quiet core it runs 200-210 M/s for
    // IPv4, in a busy spell the same code runs 120.
    let resident: Vec<K> = hits[..256].iter().cycle().take(1 << 16).copied().collect();
    let sets = [&hits[..], &addresses[..], &misses[..], &resident[..]];
    // For each key set: the batch lookup (256 keys at a time, as the data plane does), one by
    // one, and the peer - all interleaved slice by slice.
    let mut units: Vec<Box<dyn FnMut() -> u64 + '_>> = Vec::new();
    for keys in sets {
        let reader = &reader;
        let mut out = vec![0u32; 256];
        units.push(Box::new(move || {
            let t = reader.load();
            let mut acc = 0u32;
            for chunk in keys.chunks(256) {
                t.lookup_batch(chunk, &mut out[..chunk.len()]);
                acc = acc.wrapping_add(out[0]);
            }
            std::hint::black_box(acc);
            keys.len() as u64
        }));
        units.push(Box::new(move || {
            let t = reader.load();
            let acc = keys.iter().fold(0u32, |a, k| a.wrapping_add(t.lookup(*k)));
            std::hint::black_box(acc);
            keys.len() as u64
        }));
        let (peer, peer_lookup) = (&peer, &peer_lookup);
        let mut at = 0;
        units.push(Box::new(move || {
            // The peer is slow: 16k keys at a time, the next 16k each call, keeps the slices
            // near 100 ms and still walks through all the keys.
            let part = &keys[at..keys.len().min(at + (1 << 14))];
            at = (at + part.len()) % keys.len();
            let acc = part
                .iter()
                .fold(0u32, |a, k| a.wrapping_add(peer_lookup(peer, *k)));
            std::hint::black_box(acc);
            part.len() as u64
        }));
    }
    let rates = Rate::interleaved(12, &mut units);
    let result = |set: usize| {
        let [ours, one_by_one, theirs] = [rates[3 * set], rates[3 * set + 1], rates[3 * set + 2]];
        json!({
            "savin_mlookups_per_s": ours.scaled(1e6),
            "savin_one_by_one_mlookups_per_s": one_by_one.scaled(1e6),
            "prefix_trie_mlookups_per_s": theirs.scaled(1e6),
            "ratio": { "best": ours.best / theirs.best, "median": ours.median / theirs.median },
        })
    };
    let (hit, address, miss, l1) = (result(0), result(1), result(2), result(3));
    // Incremental updates: remove and re-add existing prefixes, one at a time.
    let mut times = Vec::with_capacity(20_000);
    for _ in 0..10_000 {
        let i = rng.gen_range(0..prefixes.len());
        let (a, l) = prefixes[i];
        let t = Instant::now();
        fib.remove(a, l);
        times.push(t.elapsed().as_nanos() as f64 / 1e3);
        let t = Instant::now();
        fib.insert(a, l, nh(i)).expect("next hop in range");
        times.push(t.elapsed().as_nanos() as f64 / 1e3);
    }
    times.sort_by(f64::total_cmp);
    let after = fib.stats();
    json!({
        "family": name,
        "prefixes": stats.prefixes,
        "build_ms": build_ms,
        "bytes": stats.bytes,
        "nodes": stats.nodes,
        "leaves": stats.leaves,
        "mib": stats.bytes as f64 / (1 << 20) as f64,
        "bytes_allocated": stats.bytes_allocated,
        "rss_delta_kib": { "savin": rss_fib, "prefix_trie": rss_peer },
        "prefix_trie_build_ms": peer_build_ms,
        "lookup_hit_random_in_table": hit,
        "lookup_hit_random_address": address,
        "lookup_miss": miss,
        "lookup_l1_resident": l1,
        "update_us": { "median": times[times.len() / 2], "p99": times[times.len() * 99 / 100], "max": times[times.len() - 1], "ops": times.len() },
        "garbage_nodes_after_updates": after.garbage_nodes,
    })
}

pub fn fib(table: &std::path::Path) -> anyhow::Result<ExitCode> {
    use rand::Rng;
    let (v4, v6) = read_table(table)?;
    let r4 = fib_family(
        "ipv4",
        &v4,
        |r| r.gen::<u32>(),
        |a, l, r| a | (r.gen::<u32>() & u32::MAX.checked_shr(u32::from(l)).unwrap_or(0)),
        |p| {
            let mut m = prefix_trie::PrefixMap::<ipnet::Ipv4Net, u32>::new();
            for (i, (a, l)) in p.iter().enumerate() {
                m.insert(
                    ipnet::Ipv4Net::new((*a).into(), *l).expect("valid"),
                    1 + (i as u32 % 4000),
                );
            }
            m
        },
        |m, k| {
            let net = ipnet::Ipv4Net::new(k.into(), 32).expect("valid");
            m.get_lpm(&net).map_or(savin_fib::MISS, |(_, v)| *v)
        },
    );
    let r6 = fib_family(
        "ipv6",
        &v6,
        |r| (0x2000u128 << 112) | (r.gen::<u128>() >> 4),
        |a, l, r| a | (r.gen::<u128>() & u128::MAX.checked_shr(u32::from(l)).unwrap_or(0)),
        |p| {
            let mut m = prefix_trie::PrefixMap::<ipnet::Ipv6Net, u32>::new();
            for (i, (a, l)) in p.iter().enumerate() {
                m.insert(
                    ipnet::Ipv6Net::new((*a).into(), *l).expect("valid"),
                    1 + (i as u32 % 4000),
                );
            }
            m
        },
        |m, k| {
            let net = ipnet::Ipv6Net::new(k.into(), 128).expect("valid");
            m.get_lpm(&net).map_or(savin_fib::MISS, |(_, v)| *v)
        },
    );
    let out = json!({
        "bench": "fib",
        "table": table.display().to_string(),
        "results": [r4, r6],
        "goals": { "ipv4_mlookups_per_s": 150, "ipv6_mlookups_per_s": 50, "ipv4_mib": 16, "build_ms": 1000, "update_us_median": 10 },
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

pub fn pipeline(table: &std::path::Path) -> anyhow::Result<ExitCode> {
    use rand::{Rng, SeedableRng};
    use savin_dataplane::ipv4::test_frame;
    use savin_dataplane::{Adjacency, NextHop, Pipeline, Tables};
    let (v4, _) = read_table(table)?;
    let next_hops = 4000u32;
    let fib = savin_fib::Fib::from_routes(
        v4.iter()
            .enumerate()
            .map(|(i, (a, l))| (*a, *l, 1 + (i as u32 % next_hops))),
    )
    .expect("next hops in range");
    let adj: Vec<NextHop> = (0..=next_hops)
        .map(|i| match i {
            0 => NextHop::Unresolved,
            i => NextHop::Forward(Adjacency {
                port: (i % 2) as u16,
                dst_mac: [2, 0, 0, 0, (i >> 8) as u8, i as u8],
                src_mac: [2, 0, 0, 1, 0, 1],
                mtu: 1500,
            }),
        })
        .collect();
    let tables = Tables::routed(fib.reader(), adj);
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    // 64k distinct destinations, each with its header checksum, kept compact (1 MiB) so the
    // stand-in for the receive ring does not push the FIB out of the cache.
    let template = test_frame([192, 0, 2, 1], [0, 0, 0, 0], 64, 60);
    let dsts: Vec<([u8; 4], [u8; 2])> = (0..1 << 16)
        .map(|_| {
            let (a, l) = v4[rng.gen_range(0..v4.len())];
            let dst = a | (rng.gen::<u32>() & u32::MAX.checked_shr(u32::from(l)).unwrap_or(0));
            let f = test_frame([192, 0, 2, 1], dst.to_be_bytes(), 64, 60);
            (dst.to_be_bytes(), [f[24], f[25]])
        })
        .collect();
    let mut batch = savin_io::FrameBatch::with_capacity(256);
    let mut p = Pipeline::new(2, 256);
    let mut packets = 0u64;
    let mut t = 0usize;
    let rate = Rate::sample(Duration::from_secs(3), || {
        for _ in 0..16 {
            // Stands in for the receive copy from a ring: one 60-byte copy per packet.
            batch.clear();
            for _ in 0..256 {
                let (dst, check) = dsts[t];
                batch.push_with(|buf| {
                    buf[..60].copy_from_slice(&template);
                    buf[24..26].copy_from_slice(&check);
                    buf[30..34].copy_from_slice(&dst);
                    60
                });
                t = (t + 1) & 0xffff;
            }
            p.process(&mut batch, &tables, 0);
        }
        packets += 16 * 256;
        16 * 256
    });
    let c = &p.counters;
    anyhow::ensure!(
        c.forwarded == packets,
        "not everything was forwarded: {c:?}"
    );
    let out = json!({
        "bench": "pipeline",
        "workload": "IPv4, 60-byte frames (64 on the wire with FCS), random destinations inside the full table, batches of 256, one core",
        "packets": packets,
        "mpps": rate.scaled(1e6),
        "ns_per_packet": { "best": 1e9 / rate.best, "median": 1e9 / rate.median },
        "goal_mpps": 20,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

pub fn bridge(macs: usize) -> anyhow::Result<ExitCode> {
    use rand::{Rng, SeedableRng};
    use savin_dataplane::bridge::{L2Tables, PortMode, VlanInfo};
    use savin_dataplane::Pipeline;
    use savin_dataplane::Tables;
    let mut l2 = L2Tables {
        ports: vec![
            PortMode::Access { vlan: 100 },
            PortMode::Trunk { native: None },
        ],
        ..L2Tables::default()
    };
    l2.vlans[100] = Some(VlanInfo {
        members: vec![(0, false), (1, true)],
        irb: None,
        mac_limit: 1 << 20,
    });
    let tables = Tables {
        fib4: savin_fib::Fib::<u32>::new().reader(),
        fib6: savin_fib::Fib::<u128>::new().reader(),
        adjacencies: Default::default(),
        l2: std::sync::Arc::new(arc_swap::ArcSwap::from_pointee(l2)),
        security: Default::default(),
    };
    let mac = |i: usize| [0x02, 0, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8];
    let mut p = Pipeline::new(2, 256);
    // Half the hosts behind the access port, half behind the trunk: learn them all.
    let mut batch = savin_io::FrameBatch::with_capacity(256);
    let frame = |dst: [u8; 6], src: [u8; 6], tagged: bool| {
        let mut f = savin_dataplane::ipv4::test_frame([10, 0, 0, 1], [10, 0, 0, 2], 64, 60);
        f[..6].copy_from_slice(&dst);
        f[6..12].copy_from_slice(&src);
        if tagged {
            f.splice(12..12, [0x81, 0x00, 0, 100]);
            f.truncate(64);
        }
        f
    };
    for chunk in (0..macs).collect::<Vec<_>>().chunks(256) {
        for port in [0u16, 1] {
            batch.clear();
            for &i in chunk.iter().filter(|i| (**i % 2) as u16 == port) {
                batch.push(&frame([0xff; 6], mac(i), port == 1));
            }
            p.process(&mut batch, &tables, port);
        }
    }
    anyhow::ensure!(p.fdb.len() == macs, "learnt {} of {macs}", p.fdb.len());
    // Traffic: random pairs, each frame from its source's port to a destination on the other.
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let flows: Vec<(usize, usize)> = (0..1 << 16)
        .map(|_| {
            let a = rng.gen_range(0..macs / 2) * 2; // behind the access port
            let b = rng.gen_range(0..macs / 2) * 2 + 1; // behind the trunk
            (a, b)
        })
        .collect();
    // Two templates and the compact flow list (512 KiB) stand in for the receive ring, so the
    // input does not push the MAC table out of the cache (a ring's frames arrive by DMA or one
    // copy, and are gone after the batch).
    let untagged = frame([0; 6], [0; 6], false);
    let tagged = frame([0; 6], [0; 6], true);
    let before = p.counters.bridged;
    let mut packets = 0u64;
    let mut t = 0usize;
    let rate = Rate::sample(Duration::from_secs(3), || {
        for round in 0..16 {
            let (port, template) = if round % 2 == 0 {
                (0u16, &untagged)
            } else {
                (1, &tagged)
            };
            batch.clear();
            for _ in 0..256 {
                let (a, b) = flows[t];
                // From a to b on the access port, b to a on the trunk.
                let (src, dst) = if port == 0 { (a, b) } else { (b, a) };
                batch.push_with(|buf| {
                    buf[..template.len()].copy_from_slice(template);
                    buf[..6].copy_from_slice(&mac(dst));
                    buf[6..12].copy_from_slice(&mac(src));
                    template.len()
                });
                t = (t + 1) & 0xffff;
            }
            p.process(&mut batch, &tables, port);
        }
        packets += 16 * 256;
        16 * 256
    });
    let bridged = p.counters.bridged - before;
    anyhow::ensure!(
        bridged == packets,
        "not everything was switched: {:?}",
        p.counters
    );
    let out = json!({
        "bench": "bridge",
        "workload": format!("L2, 60/64-byte frames between {macs} learnt MACs in one VLAN, access <-> trunk (tag pushed and popped), batches of 256, one core"),
        "packets": packets,
        "mpps": rate.scaled(1e6),
        "ns_per_packet": { "best": 1e9 / rate.best, "median": 1e9 / rate.median },
        "goal_mpps": 25,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

/// One iperf3 run from h1 to h2 (10.0.2.2): (packets or bits) per second as the receiver saw.
pub(crate) fn iperf3(
    lab: &mut savin_lab::Lab,
    h1: &savin_lab::Ns,
    h2: &savin_lab::Ns,
    args: &[&str],
    secs: u32,
) -> anyhow::Result<serde_json::Value> {
    let server = lab.iperf3_server(h2, "10.0.2.2")?;
    let t = secs.to_string();
    let mut a = vec!["iperf3", "-c", "10.0.2.2", "-J", "-t", &t];
    a.extend_from_slice(args);
    let out = lab.exec(h1, &a, Duration::from_secs(u64::from(secs) + 30))?;
    lab.wait(server, Duration::from_secs(10));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("iperf3 {args:?}: {}", String::from_utf8_lossy(&out.stderr)))?;
    Ok(v)
}

fn rx_packets(lab: &savin_lab::Lab, ns: &savin_lab::Ns) -> anyhow::Result<f64> {
    let o = lab.exec(
        ns,
        &["cat", "/sys/class/net/eth0/statistics/rx_packets"],
        Duration::from_secs(5),
    )?;
    Ok(String::from_utf8_lossy(&o.stdout).trim().parse::<f64>()?)
}

/// Packet rate (64-byte frames: 18 bytes of UDP payload) and TCP throughput through one router.
/// The router's rate is what reached h2's interface: the iperf3 server's own count also loses
/// what its socket buffer could not hold, which measures the receiving host, not the router.
pub(crate) fn measure(
    lab: &mut savin_lab::Lab,
    h1: &savin_lab::Ns,
    h2: &savin_lab::Ns,
    secs: u32,
) -> anyhow::Result<serde_json::Value> {
    let before = rx_packets(lab, h2)?;
    let udp = iperf3(lab, h1, h2, &["-u", "-b", "0", "-l", "18"], secs)?;
    let after = rx_packets(lab, h2)?;
    let sum = &udp["end"]["sum"];
    let packets = sum["packets"].as_f64().unwrap_or(0.0);
    let lost = sum["lost_packets"].as_f64().unwrap_or(0.0);
    let seconds = sum["seconds"]
        .as_f64()
        .unwrap_or(f64::from(secs))
        .max(0.001);
    let tcp = iperf3(lab, h1, h2, &[], secs)?;
    let bps = tcp["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .unwrap_or(0.0);
    Ok(json!({
        "udp64_sent_pps": packets / seconds,
        "udp64_forwarded_pps": (after - before).max(0.0) / seconds,
        "udp64_delivered_to_socket_pps": (packets - lost) / seconds,
        "tcp_mbit_s": bps / 1e6,
    }))
}

/// h1 (10.0.1.2) - eth1 [router] eth2 - h2 (10.0.2.2) in namespaces; the router is a Savin
/// daemon (interfaces configured, then `config` lines, committed) or Linux with forwarding on.
pub(crate) struct RouterLab {
    pub r: savin_lab::Ns,
    pub h1: savin_lab::Ns,
    pub h2: savin_lab::Ns,
    /// The Savin daemon's PID.
    pub daemon: Option<u32>,
    pub state: tempfile::TempDir,
}

pub(crate) fn router_lab(
    lab: &mut savin_lab::Lab,
    savin: bool,
    offload: bool,
    config: &[String],
) -> anyhow::Result<RouterLab> {
    let r = lab.netns(if savin { "r-savin" } else { "r-linux" })?;
    let h1 = lab.netns("h1")?;
    let h2 = lab.netns("h2")?;
    lab.veth(&r, "eth1", &h1, "eth0")?;
    lab.veth(&r, "eth2", &h2, "eth0")?;
    for (h, n) in [(&h1, 1), (&h2, 2)] {
        if !offload {
            lab.exec(
                h,
                &["ethtool", "-K", "eth0", "tso", "off", "gso", "off"],
                Duration::from_secs(5),
            )?;
        }
        lab.addr(h, "eth0", &format!("10.0.{n}.2/24"))?;
        lab.route(h, &["default", "via", &format!("10.0.{n}.1")])?;
    }
    let state = tempfile::tempdir()?;
    let mut daemon = None;
    if savin {
        let exe = std::env::current_exe()?.to_string_lossy().to_string();
        let sock = state.path().join("savin.sock");
        let dir = state.path().to_string_lossy().to_string();
        daemon = Some(lab.spawn(&r, &[&exe, "daemon", "--state-dir", &dir], None, None)?);
        anyhow::ensure!(
            savin_lab::wait_until(Duration::from_secs(10), || sock.exists()),
            "the daemon did not start"
        );
        let mut c = Client::connect(&sock)?;
        let mut lines: Vec<String> = [
            "configure",
            "set interfaces eth1 unit 0 family inet address 10.0.1.1/24",
            "set interfaces eth2 unit 0 family inet address 10.0.2.1/24",
        ]
        .iter()
        .map(|l| l.to_string())
        .collect();
        lines.extend_from_slice(config);
        lines.push("commit".into());
        for line in lines {
            let r = c.request(&Request::Exec {
                line: line.clone(),
                data: None,
            })?;
            anyhow::ensure!(r.ok, "{line}: {}", r.output);
        }
    } else {
        lab.addr(&r, "eth1", "10.0.1.1/24")?;
        lab.addr(&r, "eth2", "10.0.2.1/24")?;
        lab.exec(
            &r,
            &["sysctl", "-qw", "net.ipv4.ip_forward=1"],
            Duration::from_secs(5),
        )?;
    }
    Ok(RouterLab {
        r,
        h1,
        h2,
        daemon,
        state,
    })
}

pub fn forwarding(secs: u32) -> anyhow::Result<ExitCode> {
    use savin_lab::Lab;
    let mut lab =
        Lab::new().context("bench forwarding builds network namespaces: run it as root")?;
    let mut results = serde_json::Map::new();
    // The same hosts and tools for both routers, with the hosts' TSO/GSO off (every segment
    // crosses the router as a frame) and on (64 KB super-frames cross veth whole: Savin takes
    // and sends them with virtio headers, PACKET_VNET_HDR).
    for (name, savin, offload) in [
        ("linux", false, false),
        ("savin", true, false),
        ("linux-offloads-on", false, true),
        ("savin-offloads-on", true, true),
    ] {
        let rl = router_lab(&mut lab, savin, offload, &[])?;
        let (h1, h2) = (rl.h1.clone(), rl.h2.clone());
        anyhow::ensure!(lab.ping(&h1, "10.0.2.2"), "{name}: no path from h1 to h2");
        results.insert(name.into(), measure(&mut lab, &h1, &h2, secs)?);
        if let Some(pid) = rl.daemon {
            lab.signal(pid, nix::sys::signal::Signal::SIGTERM);
            lab.wait(pid, Duration::from_secs(5));
        }
        // A fresh lab per router, so names can repeat.
        drop(lab);
        lab = Lab::new()?;
    }
    let ratio = |k: &str, savin: &str, linux: &str| {
        let s = results[savin][k].as_f64().unwrap_or(0.0);
        let l = results[linux][k].as_f64().unwrap_or(0.0);
        if l > 0.0 {
            s / l
        } else {
            0.0
        }
    };
    let out = json!({
        "bench": "forwarding",
        "workload": format!("two hosts in namespaces through one router over veth, iperf3 for {secs} s each: UDP with 18-byte payloads (64-byte frames) unlimited rate (forwarded = what reached h2's interface), then TCP; Savin on AF_PACKET with one worker"),
        "results": results,
        "ratio_savin_to_linux": {
            "udp64_forwarded_pps": ratio("udp64_forwarded_pps", "savin", "linux"),
            "tcp_mbit_s": ratio("tcp_mbit_s", "savin", "linux"),
            "offloads_on_udp64_forwarded_pps": ratio("udp64_forwarded_pps", "savin-offloads-on", "linux-offloads-on"),
            "offloads_on_tcp_mbit_s": ratio("tcp_mbit_s", "savin-offloads-on", "linux-offloads-on"),
        },
        "goals": {"udp64_forwarded_pps_ratio": 1.0, "tcp_ratio": 0.5},
        "note": "the generator (iperf3, one core) limits the offered rate; both routers are measured with the same generator on the same two cores",
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

pub fn classifier(dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    use rand::{Rng, SeedableRng};
    use savin_classify::{parse_classbench, Classifier, Header, Linear, Rule};
    use std::io::Read;
    let mut results = Vec::new();
    for name in ["acl1_1000", "acl1_10000", "acl1_100000", "fw1_10000"] {
        let path = dir.join(format!("{name}.rules.gz"));
        let mut text = String::new();
        flate2::read::GzDecoder::new(
            std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?,
        )
        .read_to_string(&mut text)?;
        let rules = parse_classbench(&text).with_context(|| path.display().to_string())?;
        let rss0 = self_rss_kib();
        let t = Instant::now();
        let c = Classifier::new(&rules);
        let build_ms = t.elapsed().as_secs_f64() * 1e3;
        let rss = self_rss_kib().saturating_sub(rss0);
        let linear = Linear::new(&rules);
        // Three headers in four fall inside a random rule (ClassBench's own trace generator
        // does the same), one in four anywhere.
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let headers: Vec<Header> = (0..1 << 16)
            .map(|n| {
                let r = if n % 4 == 3 {
                    Rule::ANY
                } else {
                    rules[rng.gen_range(0..rules.len())]
                };
                r.sample(&mut || rng.gen())
            })
            .collect();
        for h in headers.iter().take(2_000) {
            anyhow::ensure!(
                c.classify(h) == linear.classify(h),
                "{name}: the classifier and the linear scan disagree on {h:?}"
            );
        }
        let ours = Rate::sample(Duration::from_secs(2), || {
            let mut acc = 0u32;
            for h in &headers[..4096] {
                acc = acc.wrapping_add(c.classify(h).unwrap_or(0));
            }
            std::hint::black_box(acc);
            4096
        });
        let mut next = 0usize;
        let theirs = Rate::sample(Duration::from_secs(1), || {
            let mut acc = 0u32;
            for _ in 0..16 {
                acc = acc.wrapping_add(linear.classify(&headers[next]).unwrap_or(0));
                next = (next + 1) & 0xffff;
            }
            std::hint::black_box(acc);
            16
        });
        let s = c.stats();
        let work = headers.iter().fold((0, 0, 0), |a, h| {
            let w = c.work(h);
            (a.0 + w.0, a.1 + w.1, a.2 + w.2)
        });
        let per = |n: usize| n as f64 / headers.len() as f64;
        results.push(json!({
            "rules": name,
            "count": rules.len(),
            "build_ms": build_ms,
            "bytes": s.bytes,
            "rss_delta_kib": rss,
            "tables": s.tables,
            "largest_bucket": s.largest_bucket,
            "per_lookup": { "tables_visited": per(work.0), "slots_read": per(work.1), "rules_checked": per(work.2) },
            "savin_mlookups_per_s": ours.scaled(1e6),
            "ns_per_lookup": { "best": 1e9 / ours.best, "median": 1e9 / ours.median },
            "linear_scan_mlookups_per_s": theirs.scaled(1e6),
            "ratio": { "best": ours.best / theirs.best, "median": ours.median / theirs.median },
        }));
    }
    let out = json!({
        "bench": "classifier",
        "workload": "first-match 5-tuple classification, one core; headers: 3 in 4 inside a random rule, 1 in 4 random",
        "results": results,
        "goals": { "mlookups_per_s_10k": 10, "mlookups_per_s_100k": 5, "build_ms": 1000 },
        "reference": "TupleMerge (one thread): about 60 ns per lookup at 1k rules, 84 ns at 10k, 191 ns at 100k",
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

pub fn sessions_bench(n: usize) -> anyhow::Result<ExitCode> {
    use rand::{Rng, SeedableRng};
    use savin_session::{FlowKey, SessionConfig, SessionTable, TcpSeg};
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let keys: Vec<FlowKey> = (0..n)
        .map(|i| FlowKey {
            src: 0x0a00_0000 | (rng.gen::<u32>() & 0x00ff_ffff),
            dst: 0xc633_6400 | (i as u32 & 0xff),
            sport: rng.gen_range(1024..65535),
            dport: [80, 443, 53, 22][i % 4],
            proto: if i % 2 == 0 { 6 } else { 17 },
        })
        .collect();
    let rss0 = self_rss_kib();
    let mut t = SessionTable::new(
        SessionConfig {
            capacity: n,
            ..SessionConfig::default()
        },
        0,
    );
    let syn = TcpSeg {
        flags: 0x02,
        seq: 1,
        win: 64240,
        ..TcpSeg::default()
    };
    let start = Instant::now();
    let mut created = 0usize;
    for k in &keys {
        let tcp = (k.proto == 6).then_some(&syn);
        if t.create(*k, k.reversed(), 1, None, tcp, 64, 0).is_ok() {
            created += 1;
        }
    }
    let create_s = start.elapsed().as_secs_f64();
    let rss = self_rss_kib().saturating_sub(rss0);
    anyhow::ensure!(
        created >= n * 99 / 100,
        "only {created} of {n} sessions created"
    );
    // Established path: random sessions, either direction, looked up and counted (UDP:
    // no TCP state in the way of what is measured here, the table).
    let order: Vec<(FlowKey, bool)> = (0..1 << 16)
        .map(|_| {
            let k = keys[rng.gen_range(0..n / 2) * 2 + 1];
            let rev: bool = rng.gen();
            (if rev { k.reversed() } else { k }, rev)
        })
        .collect();
    let mut now = 1000u64;
    let ours = Rate::sample(Duration::from_secs(2), || {
        let mut hits = 0u64;
        for (k, _) in &order[..4096] {
            if let Some((id, dir)) = t.lookup(k) {
                let _ = t.track(id, dir, None, 64, now);
                hits += 1;
            }
        }
        now += 1;
        std::hint::black_box(hits);
        4096
    });
    let hit = order.iter().filter(|(k, _)| t.lookup(k).is_some()).count();
    // The peer: std's HashMap (SipHash) from both keys to the session number.
    let mut peer: std::collections::HashMap<FlowKey, u32> =
        std::collections::HashMap::with_capacity(2 * n);
    for (i, k) in keys.iter().enumerate() {
        peer.insert(*k, i as u32);
        peer.insert(k.reversed(), i as u32);
    }
    let theirs = Rate::sample(Duration::from_secs(2), || {
        let mut acc = 0u32;
        for (k, _) in &order[..4096] {
            acc = acc.wrapping_add(peer.get(k).copied().unwrap_or(0));
        }
        std::hint::black_box(acc);
        4096
    });
    // Everything falls due at once: expired in bounded steps of 16k sessions.
    let mut expired = 0;
    let mut longest = 0f64;
    let expire = Instant::now();
    while !t.is_empty() {
        let step = Instant::now();
        expired += t.tick_bounded(10_000_000, 16 * 1024);
        longest = longest.max(step.elapsed().as_secs_f64());
    }
    let expire_s = expire.elapsed().as_secs_f64();
    let out = json!({
        "bench": "sessions",
        "sessions": n,
        "created": created,
        "new_sessions_per_s": created as f64 / create_s,
        "bytes_per_session": t.bytes_per_session(),
        "rss_delta_kib": rss,
        "established_lookup_and_track_mpps": ours.scaled(1e6),
        "lookups_that_hit": hit as f64 / order.len() as f64,
        "std_hashmap_lookup_mpps": theirs.scaled(1e6),
        "ratio": { "best": ours.best / theirs.best, "median": ours.median / theirs.median },
        "expire_all_ms": expire_s * 1e3,
        "longest_expiry_step_ms": longest * 1e3,
        "expired": expired,
        "goals": { "established_mpps": 10, "new_sessions_per_s": 1_000_000, "bytes_per_session": 256 },
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}
