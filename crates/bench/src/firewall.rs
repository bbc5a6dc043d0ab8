//! `savin bench firewall`: a stateless filter of many terms on the pipeline's arcs.
//!
//! - In memory, one core, interleaved so each sees the same host: the pipeline with no
//!   filter, with a 10-term and with a 1,000-term input filter (every packet passes all the
//!   terms to the last, the worst case for a linear scan; the classifier keeps it flat).
//! - Through namespaces: Savin with the 1,000-term filter against Linux forwarding with the
//!   same rules in an nftables forward chain (stateless, as a filter is), 64-byte UDP.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use savin_dataplane::ipv4::test_frame;
use savin_dataplane::{Adjacency, NextHop, Pipeline, Tables};
use serde_json::json;

use crate::Rate;

/// The filter's terms: `terms` discards of TCP 22 from one /32 each, then an accept.
fn filter_config(terms: &[std::net::Ipv4Addr]) -> String {
    let mut s = String::from("firewall { family inet { filter bench {\n");
    for (i, a) in terms.iter().enumerate() {
        s += &format!(
            "term t{i} {{ from {{ source-address {a}/32; protocol tcp; destination-port 22; }} then discard; }}\n"
        );
    }
    s += "term rest { then { count passed; accept; } } } } }\n";
    s += "interfaces { eth1 { unit 0 { family inet { filter { input bench; } address 10.0.1.1/24; } } } }\n";
    s
}

fn denies(n: usize) -> Vec<std::net::Ipv4Addr> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(17);
    (0..n)
        .map(|_| std::net::Ipv4Addr::from(0xc612_0000u32 | rng.gen_range(0..0x1_0000u32)))
        .collect()
}

/// A filter stage with `terms` terms bound to port 0.
fn stage(terms: usize) -> anyhow::Result<savin_filter::FilterStage> {
    let cfg = savin_config::Configuration::parse(&filter_config(&denies(terms)), None)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .check()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let spec = Arc::new(savin_filter::compile(&cfg).map_err(|e| anyhow::anyhow!(e))?);
    let tables = savin_filter::FilterTables::bind(spec, 2, 1, &|n| (n == "eth1").then_some(0));
    let handle = Arc::new(arc_swap::ArcSwapOption::from_pointee(tables));
    Ok(savin_filter::FilterStage::new(handle))
}

pub fn firewall(secs: u32, lab_too: bool) -> anyhow::Result<ExitCode> {
    let fib = savin_fib::Fib::from_routes([(0u32, 0u8, 1u32)]).expect("one route");
    let adj = vec![
        NextHop::Unresolved,
        NextHop::Forward(Adjacency {
            port: 1,
            dst_mac: [2, 0, 0, 0, 0, 2],
            src_mac: [2, 0, 0, 1, 0, 1],
            mtu: 1500,
        }),
    ];
    let tables = Tables::routed(fib.reader(), adj);
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    // 64k flows: random sources in 10/8 to random destinations, UDP.
    let frames: Vec<Vec<u8>> = (0..1 << 16)
        .map(|_| {
            let src = (0x0a00_0000u32 | rng.gen_range(0..1 << 24)).to_be_bytes();
            let dst = rng.gen::<u32>().to_be_bytes();
            test_frame(src, dst, 64, 60)
        })
        .collect();
    let mut none = Pipeline::new(2, 256);
    let mut ten = Pipeline::with_feature(2, 256, stage(10)?);
    let mut thousand = Pipeline::with_feature(2, 256, stage(1000)?);
    fn unit<'a, F: savin_dataplane::Feature + 'a>(
        p: &'a mut Pipeline<F>,
        frames: &'a [Vec<u8>],
        tables: &'a Tables,
    ) -> Box<dyn FnMut() -> u64 + 'a> {
        let mut batch = savin_io::FrameBatch::with_capacity(256);
        let mut t = 0usize;
        Box::new(move || {
            for _ in 0..16 {
                batch.clear();
                for _ in 0..256 {
                    batch.push(&frames[t]);
                    t = (t + 1) & 0xffff;
                }
                p.process(&mut batch, tables, 0);
            }
            16 * 256
        })
    }
    let rounds = (secs as usize * 10 / 3).max(5);
    let rates = {
        let mut units = [
            unit(&mut none, &frames, &tables),
            unit(&mut ten, &frames, &tables),
            unit(&mut thousand, &frames, &tables),
        ];
        Rate::interleaved(rounds, &mut units)
    };
    for (name, c) in [
        ("none", &none.counters),
        ("10", &ten.counters),
        ("1000", &thousand.counters),
    ] {
        anyhow::ensure!(
            c.forwarded > 0 && c.drops.iter().sum::<u64>() == 0,
            "{name}: not everything passed: {c:?}"
        );
    }
    let [r0, r10, r1000] = [rates[0], rates[1], rates[2]];
    let mut out = json!({
        "bench": "firewall",
        "workload": "in memory, one core: 60-byte UDP frames (64k flows) through an input filter whose terms each discard TCP 22 from one /32, so every packet passes them all to the final accept; interleaved 100 ms slices",
        "pipeline_mpps": {
            "no_filter": r0.scaled(1e6),
            "filter_10_terms": r10.scaled(1e6),
            "filter_1000_terms": r1000.scaled(1e6),
        },
        "ratio_1000_terms_to_no_filter": {"best": r1000.best / r0.best, "median": r1000.median / r0.median},
        "ratio_1000_terms_to_10_terms": {"best": r1000.best / r10.best, "median": r1000.median / r10.median},
    });
    if lab_too {
        out["lab"] = lab(secs)?;
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

/// The same 1,000 terms as nftables rules in the forward chain (no conntrack).
fn nft_ruleset(terms: &[std::net::Ipv4Addr]) -> String {
    let mut s = String::from(
        "table ip bench {\n chain forward {\n  type filter hook forward priority 0; policy accept;\n",
    );
    for a in terms {
        s += &format!("  ip saddr {a} tcp dport 22 drop\n");
    }
    s += "  counter accept\n }\n}\n";
    s
}

/// 64-byte UDP through a router with the 1,000-term filter: Savin, then Linux with nftables.
fn lab(secs: u32) -> anyhow::Result<serde_json::Value> {
    use anyhow::Context;
    let terms = denies(1000);
    let mut results = serde_json::Map::new();
    let mut lab = savin_lab::Lab::new().context("the lab part builds namespaces: run as root")?;
    for router in ["linux-nftables", "savin"] {
        let savin = router == "savin";
        let mut config = Vec::new();
        if savin {
            let f = "set firewall family inet filter bench term";
            for (i, a) in terms.iter().enumerate() {
                config.push(format!("{f} t{i} from source-address {a}/32"));
                config.push(format!("{f} t{i} from protocol tcp"));
                config.push(format!("{f} t{i} from destination-port 22"));
                config.push(format!("{f} t{i} then discard"));
            }
            config.push(format!("{f} rest then accept"));
            config.push("set interfaces eth1 unit 0 family inet filter input bench".into());
        }
        let rl = crate::router_lab(&mut lab, savin, true, &config)?;
        if !savin {
            let rules = rl.state.path().join("bench.nft");
            std::fs::write(&rules, nft_ruleset(&terms))?;
            let o = lab.exec(
                &rl.r,
                &["nft", "-f", &rules.to_string_lossy()],
                Duration::from_secs(10),
            )?;
            anyhow::ensure!(
                o.status.success(),
                "nft: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let m = crate::measure(&mut lab, &rl.h1, &rl.h2, secs)?;
        results.insert(router.into(), m);
        if let Some(pid) = rl.daemon {
            lab.signal(pid, nix::sys::signal::Signal::SIGTERM);
            lab.wait(pid, Duration::from_secs(5));
        }
        drop(lab);
        lab = savin_lab::Lab::new()?;
    }
    let get = |r: &str| results[r]["udp64_forwarded_pps"].as_f64().unwrap_or(0.0);
    let (s, l) = (get("savin"), get("linux-nftables"));
    Ok(json!({
        "workload": format!("h1 - router - h2 in namespaces over veth, the same 1000 terms (Savin filter on eth1 input; nftables forward chain, stateless), iperf3 UDP with 18-byte payloads unlimited for {secs} s, then TCP"),
        "results": results,
        "ratio_savin_to_linux_udp64_pps": if l > 0.0 { s / l } else { 0.0 },
    }))
}
