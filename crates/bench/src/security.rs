//! `savin bench security`: the forwarding pipeline with the security stage on, one core, in
//! memory: first packets through policy (a compiled rule set), source NAT to a pool and
//! session insert; then packets of established TCP sessions with a million held; against
//! the same pipeline with security off, in the same run.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use savin_config::Configuration;
use savin_dataplane::{Adjacency, NextHop, Tables};
use savin_security::{HostInbound, SecurityStage, SecurityTables};

/// The pipeline with the security stage on its arcs, as the daemon runs it.
type Pipeline = savin_dataplane::Pipeline<SecurityStage>;

fn pipeline() -> Pipeline {
    Pipeline::with_feature(2, BATCH, SecurityStage::new(BATCH))
}
use serde_json::json;

use crate::relay::Relay;

const BATCH: usize = 256;

/// The policy: `rules` deny policies for other destinations (so the classifier has work),
/// then web and everything-else permits; source NAT to a 16-address pool.
fn config(rules: usize, nat: bool) -> anyhow::Result<savin_config::model::Config> {
    let mut set = String::from(
        "set interfaces eth1 unit 0 family inet address 10.0.0.1/8\n\
         set interfaces eth2 unit 0 family inet address 203.0.113.1/24\n\
         set security zones security-zone trust interfaces eth1.0\n\
         set security zones security-zone untrust interfaces eth2.0\n",
    );
    if nat {
        set += "set security nat source pool public address 203.0.113.16/28\n\
         set security nat source rule-set out from zone trust\n\
         set security nat source rule-set out to zone untrust\n\
         set security nat source rule-set out rule all match source-address 10.0.0.0/8\n\
         set security nat source rule-set out rule all then source-nat pool public\n";
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let p = "set security policies from-zone trust to-zone untrust policy";
    for i in 0..rules {
        let a = 0xc612_0000u32 | rng.gen_range(0..0x1_0000u32); // 198.18.0.0/16
        let a = std::net::Ipv4Addr::from(a);
        set += &format!(
            "set security address-book global address d{i} {a}/32\n\
             {p} d{i} match source-address any\n{p} d{i} match destination-address d{i}\n\
             {p} d{i} match application junos-ssh\n{p} d{i} then deny\n"
        );
    }
    set += &format!(
        "{p} web match source-address any\n{p} web match destination-address any\n\
         {p} web match application junos-http\n{p} web then permit\n"
    );
    let c = Configuration::parse_set(&set, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    c.check().map_err(|e| {
        anyhow::anyhow!(
            "{}",
            e.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

/// A flow of the workload: client address and port, server address.
#[derive(Clone, Copy)]
struct Flow {
    src: u32,
    sport: u16,
    dst: u32,
}

/// What differs between two established-session packets of the workload: addresses, header
/// checksum, source port, sequence and acknowledgement numbers (20 bytes instead of 60).
struct Ack {
    addrs: [u8; 8],
    check: [u8; 2],
    sport: [u8; 2],
    seq_ack: [u8; 8],
}

impl Ack {
    /// The frame: `template` (a 60-byte frame of the workload) patched with this packet's
    /// fields, as a receive copy would land it.
    #[inline(always)]
    fn write(&self, template: &[u8; 60], buf: &mut [u8]) -> usize {
        buf[..60].copy_from_slice(template);
        buf[24..26].copy_from_slice(&self.check);
        buf[26..34].copy_from_slice(&self.addrs);
        buf[34..36].copy_from_slice(&self.sport);
        buf[38..46].copy_from_slice(&self.seq_ack);
        60
    }
}

/// Writes a 60-byte Ethernet + IPv4 + TCP frame (TCP checksum left zero: nothing checks it).
#[inline(always)]
fn tcp_frame(buf: &mut [u8], k: (u32, u32, u16, u16), flags: u8, seq: u32, ack: u32) -> usize {
    let (src, dst, sport, dport) = k;
    buf[..60].fill(0);
    buf[..6].copy_from_slice(&[2, 0, 0, 0, 0, 0xaa]);
    buf[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 0xbb]);
    buf[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip = &mut buf[14..34];
    ip.copy_from_slice(&[
        0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    ip[12..16].copy_from_slice(&src.to_be_bytes());
    ip[16..20].copy_from_slice(&dst.to_be_bytes());
    // The header checksum from the template's constant words plus the addresses (what a
    // NIC's receive copy would cost, not a full sum per packet).
    let mut sum = 0x4500u32 + 40 + 0x4000 + 0x4006;
    sum += (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    let t = &mut buf[34..54];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[8..12].copy_from_slice(&ack.to_be_bytes());
    t[12] = 0x50;
    t[13] = flags;
    t[14..16].copy_from_slice(&65535u16.to_be_bytes());
    60
}

pub(crate) fn tables(security: Option<SecurityTables>) -> Tables {
    // Everything routes out of port 1 (untrust) except 10/8, back out of port 0 (trust).
    let mut fib = savin_fib::Fib::<u32>::new();
    fib.insert(0, 0, 1).expect("next hop in range");
    fib.insert(0x0a00_0000, 8, 2).expect("next hop in range");
    let adj = vec![
        NextHop::Unresolved,
        NextHop::Forward(Adjacency {
            port: 1,
            dst_mac: [2, 0, 0, 0, 0, 1],
            src_mac: [2, 0, 0, 1, 0, 1],
            mtu: 1500,
        }),
        NextHop::Forward(Adjacency {
            port: 0,
            dst_mac: [2, 0, 0, 0, 0, 2],
            src_mac: [2, 0, 0, 1, 0, 0],
            mtu: 1500,
        }),
    ];
    let t = Tables::routed(fib.reader(), adj);
    t.security.store(security.map(Arc::new));
    std::mem::forget(fib); // the reader keeps what it needs; the writer is not needed
    t
}

/// Runs `frames` (built by `fill` for flow `i`) through `p` in batches; returns the packets
/// per second of each batch group of `slice` packets.
fn run(
    p: &mut Pipeline,
    t: &Tables,
    n: usize,
    in_port: u16,
    slice: usize,
    mut fill: impl FnMut(usize, &mut [u8]) -> usize,
) -> Vec<f64> {
    let mut batch = savin_io::FrameBatch::with_capacity(BATCH);
    let mut rates = Vec::new();
    let mut i = 0;
    while i < n {
        let start = Instant::now();
        let end = (i + slice).min(n);
        while i < end {
            batch.clear();
            let upto = (i + BATCH).min(end);
            for j in i..upto {
                batch.push_with(|buf| fill(j, buf));
            }
            p.process(&mut batch, t, in_port);
            i = upto;
        }
        rates.push(slice as f64 / start.elapsed().as_secs_f64());
    }
    rates
}

/// Security as the daemon runs it between two ports, port 0 in zone trust and port 1 in
/// untrust (addresses `port_addr`), with `cfg`'s policies and NAT compiled and room for
/// `sessions`.
pub(crate) fn security_tables(
    cfg: &savin_config::model::Config,
    sessions: usize,
    port_addr: Vec<u32>,
) -> anyhow::Result<SecurityTables> {
    let policy = Arc::new(savin_security::compile_policy(cfg).map_err(anyhow::Error::msg)?);
    let nat =
        savin_security::compile_nat(cfg, &|z| policy.zone_id(z)).map_err(anyhow::Error::msg)?;
    Ok(SecurityTables {
        policy: policy.clone(),
        zone_of_port: vec![policy.zone_id("trust"), policy.zone_id("untrust")],
        host_inbound: vec![HostInbound::default(); 2],
        sessions: savin_session::SessionConfig {
            capacity: sessions.next_power_of_two(),
            ..Default::default()
        },
        nat: Arc::new(nat),
        port_addr,
        screens: Vec::new(),
        screen_of_zone: vec![None, None],
        tcp_rst: vec![false, false],
        ipv6_packet_based: false,
    })
}

fn best_median(mut v: Vec<f64>) -> serde_json::Value {
    v.sort_by(f64::total_cmp);
    json!({ "best": v[v.len() - 1] / 1e6, "median": v[v.len() / 2] / 1e6 })
}

pub fn security(sessions: usize, rules: usize, with_nat: bool) -> anyhow::Result<ExitCode> {
    let cfg = config(rules, with_nat)?;
    let build = Instant::now();
    let sec = security_tables(&cfg, sessions, vec![0x0a00_0001, 0xcb00_7101])?;
    let compile_ms = build.elapsed().as_secs_f64() * 1e3;
    let policies = sec.policy.policies.len();
    let t = tables(Some(sec));
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let flows: Vec<Flow> = (0..sessions)
        .map(|_| Flow {
            src: 0x0a00_0000 | rng.gen_range(0..0x00ff_ffffu32),
            sport: rng.gen_range(1024..65535),
            dst: 0x6440_0000 | rng.gen_range(0..0x003f_ffffu32), // 100.64.0.0/10
        })
        .collect();
    let mut p = pipeline();
    p.now_ms = 1000;
    let isn = |i: usize| (i as u32).wrapping_mul(2_654_435_761);
    // 1. First packets: SYNs of new flows, through policy, source NAT and session insert.
    let new = run(&mut p, &t, sessions, 0, 1 << 16, |i, buf| {
        let f = flows[i];
        tcp_frame(buf, (f.src, f.dst, f.sport, 80), 0x02, isn(i), 0)
    });
    let created = p.feature.sessions.as_ref().map_or(0, |s| s.len());
    let c = p
        .feature
        .sessions
        .as_ref()
        .map(|s| s.counters())
        .unwrap_or_default();
    anyhow::ensure!(
        created + (c.full as usize) >= sessions * 99 / 100,
        "sessions were not created: {created} of {sessions} ({c:?}, {:?})",
        p.counters
    );
    // 2. The servers answer (SYN-ACK to the pool address and port), the clients ACK: every
    // session is established, as the table says.
    let replies: Vec<savin_session::Info> = p
        .feature
        .sessions
        .as_ref()
        .map(|s| s.sessions(p.now_ms))
        .unwrap_or_default();
    let index: std::collections::HashMap<(u32, u16), usize> = flows
        .iter()
        .enumerate()
        .map(|(i, f)| ((f.src, f.sport), i))
        .collect();
    let srv = |i: usize| isn(i) ^ 0x5555_5555;
    let order: Vec<(savin_session::Info, usize)> = replies
        .iter()
        .filter_map(|r| index.get(&(r.key.src, r.key.sport)).map(|i| (*r, *i)))
        .collect();
    run(&mut p, &t, order.len(), 1, 1 << 16, |j, buf| {
        let (r, i) = order[j];
        let k = r.reply;
        tcp_frame(
            buf,
            (k.src, k.dst, k.sport, k.dport),
            0x12,
            srv(i),
            isn(i).wrapping_add(1),
        )
    });
    run(&mut p, &t, order.len(), 0, 1 << 16, |j, buf| {
        let (_, i) = order[j];
        let f = flows[i];
        tcp_frame(
            buf,
            (f.src, f.dst, f.sport, 80),
            0x10,
            isn(i).wrapping_add(1),
            srv(i).wrapping_add(1),
        )
    });
    let established = p
        .feature
        .sessions
        .as_ref()
        .map(|s| {
            s.sessions(p.now_ms)
                .iter()
                .filter(|i| i.state == savin_session::State::Established)
                .count()
        })
        .unwrap_or(0);
    anyhow::ensure!(
        established == order.len(),
        "{established} of {} sessions established",
        order.len()
    );
    let bytes_per_session = p
        .feature
        .sessions
        .as_ref()
        .map_or(0, |s| s.bytes_per_session());
    // 3. Established packets (client ACKs), flows visited at random, with all of them held.
    let held = order.len();
    let mut visit: Vec<usize> = (0..1 << 20).map(|_| rng.gen_range(0..held)).collect();
    let drops_before = p.counters.total_drops();
    // The packets are prepared before the clock starts, as compact records patched into a
    // template (the stand-in for a NIC's receive copy, as in the forwarding pipeline bench):
    // building each frame from the flow tables in the timed loop cost a third of the time
    // and, over a million flows, two cache misses per packet that were the bench's own.
    let template = {
        let mut b = [0u8; 60];
        tcp_frame(&mut b, (0, 0, 0, 80), 0x10, 0, 0);
        b
    };
    let records = |visit: &[usize]| -> Vec<Ack> {
        visit
            .iter()
            .map(|&j| {
                let (_, i) = order[j];
                let f = flows[i];
                let mut b = [0u8; 60];
                tcp_frame(
                    &mut b,
                    (f.src, f.dst, f.sport, 80),
                    0x10,
                    isn(i).wrapping_add(1),
                    srv(i).wrapping_add(1),
                );
                Ack {
                    addrs: b[26..34].try_into().expect("8 bytes"),
                    check: [b[24], b[25]],
                    sport: [b[34], b[35]],
                    seq_ack: b[38..46].try_into().expect("8 bytes"),
                }
            })
            .collect()
    };
    let est = |p: &mut Pipeline, visit: &[usize]| {
        let acks = records(visit);
        let mut rates = Vec::new();
        for _ in 0..4 {
            rates.extend(run(p, &t, acks.len(), 0, 1 << 16, |j, buf| {
                acks[j].write(&template, buf)
            }));
        }
        rates
    };
    let est_full = est(&mut p, &visit);
    anyhow::ensure!(
        p.counters.total_drops() == drops_before,
        "established packets were dropped: {:?}",
        p.counters
    );
    // The same with only a thousand of the sessions visited (hot in the cache): what a
    // million held costs the established path.
    for v in visit.iter_mut() {
        *v %= 1000.min(held);
    }
    let est_few = est(&mut p, &visit);
    // 4. The peer: the same pipeline with security off, the same packets.
    let plain = tables(None);
    let mut q = pipeline();
    let mut off = Vec::new();
    let acks = records(&visit);
    for _ in 0..4 {
        off.extend(run(&mut q, &plain, acks.len(), 0, 1 << 16, |j, buf| {
            acks[j].write(&template, buf)
        }));
    }
    let sort = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v
    };
    let (new_s, est_full_s, est_few_s, off_s) = (
        sort(new.clone()),
        sort(est_full.clone()),
        sort(est_few.clone()),
        sort(off.clone()),
    );
    let top = |v: &Vec<f64>| v[v.len() - 1];
    let out = json!({
        "bench": "security",
        "workload": format!("one core, in memory, 60-byte TCP frames in batches of {BATCH}; {} policies (trust->untrust, {rules} deny + web permit), {}", policies, if with_nat { "source NAT to a 16-address pool with port translation" } else { "no NAT" }),
        "policy_compile_ms": compile_ms,
        "new_sessions_per_s_millions": best_median(new_s),
        "sessions_held": established,
        "bytes_per_session": bytes_per_session,
        "established_mpps_1m_held_random": best_median(est_full_s.clone()),
        "established_mpps_hot_1k": best_median(est_few_s.clone()),
        "security_off_mpps": best_median(off_s.clone()),
        "ratio_established_vs_security_off": top(&est_full_s) / top(&off_s),
        "ratio_1m_held_vs_1k_hot": top(&est_full_s) / top(&est_few_s),
        "goals": {"new_sessions_per_s_millions": 1, "established_mpps": 10, "bytes_per_session": 256, "sessions_held": 1_000_000},
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

/// Opens and resets TCP connections to `dst` one after another for `secs`; how many
/// completed their handshake, and how many did not (timed out: a lost SYN costs the thread
/// the whole second). (Reset, not closed: no TIME_WAIT on either side, so neither router's
/// state table fills with closed connections; the client reuses ports of reset connections
/// at once, which a router must take as new connections.)
fn connect_loop(dst: std::net::SocketAddr, secs: u32) -> (u64, u64) {
    use std::time::Duration;
    let end = Instant::now() + Duration::from_secs(u64::from(secs));
    let (mut n, mut failed) = (0, 0);
    while Instant::now() < end {
        match std::net::TcpStream::connect_timeout(&dst, Duration::from_secs(1)) {
            Ok(s) => {
                let _ = nix::sys::socket::setsockopt(
                    &s,
                    nix::sys::socket::sockopt::Linger,
                    &nix::libc::linger {
                        l_onoff: 1,
                        l_linger: 0,
                    },
                );
                n += 1;
            }
            Err(_) => failed += 1,
        }
    }
    (n, failed)
}

/// Accepts and drops connections on `addr` in two threads of the calling thread's
/// namespace, until the process ends. The listen queue is as long as the kernel allows
/// (std's 128 overflowed at the kernel's rate: the SYNs it dropped cost the connecting
/// thread a second each, and measured the server instead of the router).
fn accept_forever(addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    s.bind(&addr.into())?;
    s.listen(65535)?;
    let l: std::net::TcpListener = s.into();
    for _ in 0..2 {
        let l = l.try_clone()?;
        std::thread::spawn(move || {
            for c in l.incoming() {
                drop(c);
            }
        });
    }
    Ok(())
}

/// The nftables ruleset equivalent to the Savin policy below: default drop in forward,
/// established and related accepted (conntrack), invalid dropped, the deny rules, then the
/// permits for new connections.
fn nft_ruleset(denies: &[std::net::Ipv4Addr]) -> String {
    let mut s = String::from(
        "table inet bench {\n chain forward {\n  type filter hook forward priority 0; policy drop;\n  ct state established,related accept\n  ct state invalid drop\n",
    );
    for a in denies {
        s += &format!("  ip saddr 10.0.1.0/24 ip daddr {a} tcp dport 22 drop\n");
    }
    s += "  ip saddr 10.0.1.0/24 tcp dport { 5201, 8080 } ct state new accept\n  ip saddr 10.0.1.0/24 udp dport 5201 ct state new accept\n  ip saddr 10.0.1.0/24 icmp type echo-request ct state new accept\n }\n}\n";
    s
}

pub fn lab(secs: u32, rules: usize, relay_threads: usize) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    use savin_lab::Lab;
    use std::time::Duration;
    let mut lab =
        Lab::new().context("bench security-lab builds network namespaces: run it as root")?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let denies: Vec<std::net::Ipv4Addr> = (0..rules)
        .map(|_| std::net::Ipv4Addr::from(0xc612_0000u32 | rng.gen_range(0..0x1_0000u32)))
        .collect();
    let mut results = serde_json::Map::new();
    // The relay: the smallest router over Savin's own I/O (no policy, no sessions, no table
    // lookup), to tell the I/O's share of any gap from Savin's.
    for (name, router) in [
        ("linux-nftables", "linux"),
        ("savin", "savin"),
        ("af-packet-relay", "relay"),
    ] {
        let savin = router == "savin";
        let mut config = Vec::new();
        if savin {
            let p = "set security policies from-zone trust to-zone untrust policy";
            config.extend(
                [
                    "set security zones security-zone trust interfaces eth1.0",
                    "set security zones security-zone untrust interfaces eth2.0",
                    "set security zones security-zone trust host-inbound-traffic system-services ping",
                    "set applications application echo protocol icmp",
                    "set applications application echo icmp-type 8",
                    "set applications application iperf-tcp protocol tcp",
                    "set applications application iperf-tcp destination-port 5201",
                    "set applications application iperf-udp protocol udp",
                    "set applications application iperf-udp destination-port 5201",
                    "set applications application web-alt protocol tcp",
                    "set applications application web-alt destination-port 8080",
                ]
                .iter()
                .map(|s| s.to_string()),
            );
            for (i, a) in denies.iter().enumerate() {
                config.push(format!(
                    "set security address-book global address d{i} {a}/32"
                ));
                for m in [
                    "match source-address any".to_string(),
                    format!("match destination-address d{i}"),
                    "match application junos-ssh".to_string(),
                    "then deny".to_string(),
                ] {
                    config.push(format!("{p} d{i} {m}"));
                }
            }
            for m in [
                "match source-address any",
                "match destination-address any",
                "match application [ iperf-tcp iperf-udp web-alt echo ]",
                "then permit",
            ] {
                config.push(format!("{p} allow {m}"));
            }
        }
        let mut relay = Vec::new();
        let rl = if router == "relay" {
            let (rl, r) = crate::relay::relay_lab(&mut lab, relay_threads.max(1))?;
            relay = r;
            rl
        } else {
            crate::router_lab(&mut lab, savin, true, &config)?
        };
        let (r, h1, h2) = (rl.r.clone(), rl.h1.clone(), rl.h2.clone());
        lab.exec(
            &h1,
            &["sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65000"],
            Duration::from_secs(5),
        )?;
        if router == "linux" {
            let rules_file = rl.state.path().join("bench.nft");
            std::fs::write(&rules_file, nft_ruleset(&denies))?;
            let o = lab.exec(
                &r,
                &["nft", "-f", &rules_file.to_string_lossy()],
                Duration::from_secs(10),
            )?;
            anyhow::ensure!(
                o.status.success(),
                "nft: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        lab.run_in(&h2, || accept_forever("10.0.2.2:8080".parse().unwrap()))?;
        // The path works, and the policy holds: 8080 connects, 9090 does not.
        let dst: std::net::SocketAddr = "10.0.2.2:8080".parse()?;
        anyhow::ensure!(
            savin_lab::wait_until(Duration::from_secs(10), || lab
                .run_in(&h1, move || connect_loop(dst, 1))
                .0
                > 0),
            "{name}: no TCP path from h1 to h2:8080"
        );
        let closed: std::net::SocketAddr = "10.0.2.2:9090".parse()?;
        let leaked = lab.run_in(&h1, move || {
            std::net::TcpStream::connect_timeout(&closed, Duration::from_millis(500)).is_ok()
                || std::io::ErrorKind::ConnectionRefused
                    == std::net::TcpStream::connect_timeout(&closed, Duration::from_millis(500))
                        .err()
                        .map_or(std::io::ErrorKind::Other, |e| e.kind())
        });
        // (The relay has no policy: it is there for its speed.)
        anyhow::ensure!(
            !leaked || router == "relay",
            "{name}: the policy let port 9090 through"
        );
        let mut m = crate::measure(&mut lab, &h1, &h2, secs)?;
        // Round trips one at a time: what a lone packet waits in the router.
        let o = lab.exec(
            &h1,
            &["ping", "-q", "-c", "200", "-i", "0.005", "10.0.2.2"],
            Duration::from_secs(20),
        )?;
        let text = String::from_utf8_lossy(&o.stdout);
        let avg = text
            .lines()
            .find(|l| l.contains("rtt"))
            .and_then(|l| l.split('=').nth(1))
            .and_then(|v| v.trim().split('/').nth(1))
            .and_then(|v| v.parse::<f64>().ok());
        m["ping_rtt_avg_us"] = json!(avg.map(|ms| ms * 1000.0));
        // Four connecting threads: the router's rate, not one connection's round trip.
        let (conns, failed) = lab.run_in(&h1, move || {
            let t: Vec<_> = (0..4)
                .map(|_| std::thread::spawn(move || connect_loop(dst, secs)))
                .collect();
            t.into_iter()
                .map(|t| t.join().unwrap_or((0, 0)))
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
        });
        m["new_connections_per_s"] = json!(conns as f64 / f64::from(secs));
        m["connections_failed"] = json!(failed);
        if !relay.is_empty() {
            m["frames_relayed"] = json!(relay.into_iter().map(Relay::finish).sum::<u64>());
        }
        results.insert(name.into(), m);
        if let Some(pid) = rl.daemon {
            lab.signal(pid, nix::sys::signal::Signal::SIGTERM);
            lab.wait(pid, Duration::from_secs(5));
        }
        drop(lab);
        lab = Lab::new()?;
    }
    let ratio_of = |a: &str, b: &str, k: &str| {
        let s = results[a][k].as_f64().unwrap_or(0.0);
        let l = results[b][k].as_f64().unwrap_or(0.0);
        if l > 0.0 {
            s / l
        } else {
            0.0
        }
    };
    let ratio = |k: &str| ratio_of("savin", "linux-nftables", k);
    let ratios = |a: &str, b: &str| {
        json!({
            "udp64_forwarded_pps": ratio_of(a, b, "udp64_forwarded_pps"),
            "tcp_mbit_s": ratio_of(a, b, "tcp_mbit_s"),
            "new_connections_per_s": ratio_of(a, b, "new_connections_per_s"),
        })
    };
    let out = json!({
        "bench": "security-lab",
        "workload": format!("two hosts in namespaces through one router over veth (hosts' offloads on), a policy of {rules} deny rules then permits for TCP 5201/8080 and UDP 5201, default deny; iperf3 for {secs} s each (UDP with 18-byte payloads, unlimited; then TCP), then TCP connections opened and reset by four threads for {secs} s; Savin with one worker against Linux forwarding with the same rules in nftables (conntrack), and against af-packet-relay: {relay_threads} thread(s) that only move frames between the two AF_PACKET ports as Savin opens them (MACs and TTL rewritten, no policy, no sessions), the ceiling of any data plane on this I/O"),
        "results": results,
        "ratio_savin_to_linux": {
            "udp64_forwarded_pps": ratio("udp64_forwarded_pps"),
            "tcp_mbit_s": ratio("tcp_mbit_s"),
            "new_connections_per_s": ratio("new_connections_per_s"),
        },
        "ratio_relay_to_linux": ratios("af-packet-relay", "linux-nftables"),
        "ratio_savin_to_relay": ratios("savin", "af-packet-relay"),
        "goal": "each ratio at least 1",
        "note": "the generators (iperf3, four connecting threads) share the two cores with the router",
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_frames_carry_a_valid_header_checksum() {
        let mut buf = [0u8; 64];
        super::tcp_frame(&mut buf, (0x0a01_0203, 0xc633_6401, 1234, 80), 0x02, 7, 0);
        assert_eq!(savin_dataplane::checksum::sum(&buf[14..34]), 0xffff);
    }
}
