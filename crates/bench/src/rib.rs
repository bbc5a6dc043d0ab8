//! `savin bench rib`: the routing information base at full-table scale, with the FIB under it.
//!
//! The full Internet table (IPv4 and IPv6) from the shared data set, plus generated IPv4 /24s
//! up to `--routes`, each learnt over one of ten gateways (one interface each, a seeded
//! spread); the routes over the first gateway also have a backup over an eleventh, as an edge
//! router with two upstreams has. Reported: the time to insert everything and bring the FIB
//! up to date, the RIB's bytes per route (resident memory), the cost of one route change
//! (RIB update, selection, FIB write) and of the first gateway's interface going down and
//! coming back (its ~100k routes fail over to the backup and return), median and p99.

use std::process::ExitCode;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use savin_fib::Fib;
use savin_rib::{Hop, IpPrefix, NextHops, Prefix, Protocol, Rib, Route, Source};
use serde_json::json;

const GATEWAYS: u32 = 10;
/// The backup upstream's interface.
const BACKUP: u32 = GATEWAYS;

fn gateway(i: u32) -> NextHops {
    let gw = std::net::Ipv4Addr::new(10, 255, i as u8, 2);
    NextHops::one(Hop::Gateway(i, gw.into()))
}

fn bgp(hops: NextHops, metric: u32) -> Option<Route> {
    Some(Route {
        preference: 170,
        metric,
        hops,
    })
}

/// The FIB side, written in batches as the forwarding plane writes it.
struct Fibs {
    v4: Fib<u32>,
    v6: Fib<u128>,
    /// Seconds spent in the RIB's drain (selection) and in FIB writes, since the last reset.
    drain_s: f64,
    write_s: f64,
}

impl Fibs {
    fn apply(&mut self, rib: &mut Rib) -> usize {
        let t = Instant::now();
        let updates = rib.drain_fib_updates();
        let t2 = Instant::now();
        self.drain_s += (t2 - t).as_secs_f64();
        let (mut c4, mut c6) = (Vec::new(), Vec::new());
        for u in &updates {
            // Next-hop set ids become FIB indices as they are (0 is a miss).
            let nh = u.active.map(|a| a.nh.index() + 1);
            match u.prefix {
                IpPrefix::V4(p) => c4.push((p.addr(), p.length(), nh)),
                IpPrefix::V6(p) => c6.push((p.addr(), p.length(), nh)),
            }
        }
        self.v4.apply(c4).expect("next hops in range");
        self.v6.apply(c6).expect("next hops in range");
        self.write_s += t2.elapsed().as_secs_f64();
        updates.len()
    }
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

pub fn rib(table: &std::path::Path, routes: usize, rounds: usize) -> anyhow::Result<ExitCode> {
    let (v4, v6) = crate::read_table(table)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(16);
    let mut prefixes: Vec<IpPrefix> = v4
        .iter()
        .map(|(a, l)| IpPrefix::V4(Prefix::new(*a, *l)))
        .chain(v6.iter().map(|(a, l)| IpPrefix::V6(Prefix::new(*a, *l))))
        .collect();
    // More, to `routes`: /24s from 100.64.0.0/10 up (not in the Internet table).
    let mut extra = 0u32;
    while prefixes.len() < routes {
        prefixes.push(IpPrefix::V4(Prefix::new(0x6440_0000 + (extra << 8), 24)));
        extra += 1;
    }
    prefixes.sort();
    prefixes.dedup();
    let mut via: Vec<u32> = prefixes
        .iter()
        .map(|_| rng.gen_range(0..GATEWAYS))
        .collect();

    let rss0 = crate::self_rss_kib();
    let mut rib = Rib::new();
    let t = Instant::now();
    for i in 0..=GATEWAYS {
        rib.set_interface(i, true);
    }
    let primary = Source::new(Protocol::Bgp, 1);
    let backup = Source::new(Protocol::Bgp, 2);
    let mut candidates = 0usize;
    for (p, g) in prefixes.iter().zip(&via) {
        rib.update(*p, primary, bgp(gateway(*g), 0));
        candidates += 1;
        if *g == 0 {
            rib.update(*p, backup, bgp(gateway(BACKUP), 10));
            candidates += 1;
        }
    }
    let rib_insert = t.elapsed();
    let rss_rib = crate::self_rss_kib();
    let mut fibs = Fibs {
        v4: Fib::new(),
        v6: Fib::new(),
        drain_s: 0.0,
        write_s: 0.0,
    };
    let t = Instant::now();
    let installed = fibs.apply(&mut rib);
    let fib_apply = t.elapsed();
    let rss_fib = crate::self_rss_kib();
    let (s4, s6) = (fibs.v4.stats(), fibs.v6.stats());
    anyhow::ensure!(installed == prefixes.len(), "every prefix reaches the FIB");
    let bytes_per_route = (rss_rib.saturating_sub(rss0) * 1024) as f64 / candidates as f64;
    let on_first = via.iter().filter(|g| **g == 0).count();

    // One route change: a prefix moves to another gateway, and the FIB follows.
    let mut change_us = Vec::with_capacity(rounds * 1000);
    for _ in 0..rounds * 1000 {
        let i = rng.gen_range(0..prefixes.len());
        // Not the first gateway's routes: their backup stays as set up.
        let g = 1 + (via[i] % (GATEWAYS - 1) + 1) % (GATEWAYS - 1);
        if via[i] == 0 {
            continue;
        }
        let t = Instant::now();
        rib.update(prefixes[i], primary, bgp(gateway(g), 0));
        let n = fibs.apply(&mut rib);
        change_us.push(t.elapsed().as_secs_f64() * 1e6);
        anyhow::ensure!(n == 1, "one route change is one FIB update ({n})");
        via[i] = g;
    }

    // The first gateway's interface goes down (its routes fail over) and comes back.
    let (mut down_ms, mut up_ms) = (Vec::new(), Vec::new());
    let (mut rib_ms, mut fib_ms) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        (fibs.drain_s, fibs.write_s) = (0.0, 0.0);
        let t = Instant::now();
        rib.set_interface(0, false);
        let n = fibs.apply(&mut rib);
        down_ms.push(t.elapsed().as_secs_f64() * 1e3);
        // The RIB's part: the interface change and the drain.
        rib_ms.push((t.elapsed().as_secs_f64() - fibs.write_s) * 1e3);
        fib_ms.push(fibs.write_s * 1e3);
        anyhow::ensure!(n == on_first, "down: {n} updates for {on_first} routes");
        let t = Instant::now();
        rib.set_interface(0, true);
        let n = fibs.apply(&mut rib);
        up_ms.push(t.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(n == on_first, "up: {n} updates for {on_first} routes");
    }
    let stat =
        |v: &mut Vec<f64>| json!({ "median": percentile(v, 0.5), "p99": percentile(v, 0.99) });
    let out = json!({
        "routes": candidates,
        "prefixes": prefixes.len(),
        "ipv4": prefixes.iter().filter(|p| matches!(p, IpPrefix::V4(_))).count(),
        "ipv6": prefixes.iter().filter(|p| matches!(p, IpPrefix::V6(_))).count(),
        "rib_insert_s": rib_insert.as_secs_f64(),
        "fib_apply_s": fib_apply.as_secs_f64(),
        "rib_bytes_per_route": bytes_per_route.round(),
        // The FIB under it (resident growth while it was filled, and its own accounts).
        "fib_bytes_per_prefix": ((rss_fib.saturating_sub(rss_rib) * 1024) as f64
            / prefixes.len() as f64)
            .round(),
        "fib": {
            "ipv4": { "lookup_bytes": s4.bytes_allocated, "lookup_bytes_used": s4.bytes, "writer_trie_bytes": s4.writer_bytes },
            "ipv6": { "lookup_bytes": s6.bytes_allocated, "lookup_bytes_used": s6.bytes, "writer_trie_bytes": s6.writer_bytes },
        },
        "route_change_us": stat(&mut change_us),
        "next_hop_down": {
            "routes": on_first,
            "down_ms": stat(&mut down_ms),
            "up_ms": stat(&mut up_ms),
            "down_rib_ms": stat(&mut rib_ms),
            "down_fib_writes_ms": stat(&mut fib_ms),
        },
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}
