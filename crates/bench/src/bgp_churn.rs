//! `savin bench bgp-churn`: route churn while traffic flows. Savin holds the full IPv4 table
//! from a BIRD neighbour (10.0.2.2); a second neighbour (10.0.2.3, this benchmark's own
//! paced BGP speaker: BIRD and GoBGP cannot send at a set rate) sends UPDATEs at `--rate`
//! per second for `--secs` seconds, one prefix each, cycling 10,000 /24s through announce
//! via 10.0.2.3, announce via 10.0.2.4 (a next-hop change) and withdraw: every UPDATE is a
//! FIB change. Meanwhile iperf3 sends UDP from h1 through Savin to an address behind the BIRD
//! neighbour's stable route.
//!
//! Reported: the updates sent and their rate; RIB-to-FIB lag (from BGP handing a batch to
//! the RIB until the FIB holds it, weighted by routes; Savin's own histogram over the churn
//! window, `show system statistics`) at the median, 99th percentile and maximum; the
//! traffic's loss and the fewest packets any 100 ms received (a stall shows as zero).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use savin_lab::{Lab, Ns};
use savin_mgmt::proto::{Client, Request};
use serde_json::{json, Value};

use crate::read_table;

const CHURN_PREFIXES: u32 = 10_000;
const STABLE: &str = "198.18.0.0/24";
const STABLE_HOST: &str = "198.18.0.1";

/// Runs `lines` (separated by `;`) in one CLI session; returns the last one's output.
fn savin(sock: &Path, lines: &str) -> anyhow::Result<String> {
    let mut c = Client::connect(sock)?;
    let mut out = String::new();
    for line in lines.split(';').map(str::trim).filter(|l| !l.is_empty()) {
        let r = c.request(&Request::Exec {
            line: line.into(),
            data: None,
        })?;
        anyhow::ensure!(r.ok, "{line}: {}", r.output);
        out = r.output;
    }
    Ok(out)
}

fn savin_json(sock: &Path, line: &str) -> anyhow::Result<Value> {
    Ok(serde_json::from_str(&savin(sock, line)?)?)
}

/// A BGP message: marker, length, type, body.
fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    m.push(kind);
    m.extend_from_slice(body);
    m
}

fn open(asn: u32, id: Ipv4Addr) -> Vec<u8> {
    let mut b = vec![4];
    b.extend_from_slice(&(asn as u16).to_be_bytes());
    b.extend_from_slice(&90u16.to_be_bytes());
    b.extend_from_slice(&id.octets());
    // Capabilities: IPv4 unicast (RFC 4760), four-octet AS (RFC 6793).
    let caps = [
        &[1u8, 4, 0, 1, 0, 1][..],
        &[&[65u8, 4][..], &asn.to_be_bytes()].concat(),
    ]
    .concat();
    b.push(caps.len() as u8 + 2);
    b.push(2);
    b.push(caps.len() as u8);
    b.extend_from_slice(&caps);
    message(1, &b)
}

fn keepalive() -> Vec<u8> {
    message(4, &[])
}

/// Update number `n`: prefix `n % 10000` of 100.64.0.0/10 as a /24; rounds cycle through
/// announce via .3, announce via .4, withdraw.
fn update(n: u64, asn: u32) -> Vec<u8> {
    let i = (n % u64::from(CHURN_PREFIXES)) as u32;
    let prefix = (u32::from(Ipv4Addr::new(100, 64, 0, 0)) + (i << 8)).to_be_bytes();
    let nlri = [24, prefix[0], prefix[1], prefix[2]];
    let mut b = Vec::with_capacity(48);
    match (n / u64::from(CHURN_PREFIXES)) % 3 {
        2 => {
            b.extend_from_slice(&4u16.to_be_bytes());
            b.extend_from_slice(&nlri);
            b.extend_from_slice(&0u16.to_be_bytes());
        }
        round => {
            let nh = if round == 0 { 3 } else { 4 };
            b.extend_from_slice(&0u16.to_be_bytes());
            let mut attrs = vec![0x40, 1, 1, 0]; // ORIGIN IGP
            attrs.extend_from_slice(&[0x40, 2, 6, 2, 1]); // AS_PATH: one AS_SEQUENCE of one
            attrs.extend_from_slice(&asn.to_be_bytes());
            attrs.extend_from_slice(&[0x40, 3, 4, 10, 0, 2, nh]); // NEXT_HOP
            b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
            b.extend_from_slice(&attrs);
            b.extend_from_slice(&nlri);
        }
    }
    message(2, &b)
}

/// Reads one message (None at end of stream or on error).
fn read_message(s: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut h = [0u8; 19];
    s.read_exact(&mut h).ok()?;
    let len = u16::from_be_bytes([h[16], h[17]]) as usize;
    let mut body = vec![0u8; len.checked_sub(19)?];
    s.read_exact(&mut body).ok()?;
    Some((h[18], body))
}

/// The paced speaker: connects from 10.0.2.3 (inside `src`), opens the session, drains what
/// Savin sends on another thread, and sends `rate` updates a second for `secs` seconds.
/// Returns (updates sent, seconds taken).
fn churn(lab: &Lab, src: &Ns, rate: u64, secs: u64) -> anyhow::Result<(u64, f64)> {
    let asn = 65003;
    let mut s = lab.run_in(src, || -> std::io::Result<TcpStream> {
        let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
        sock.bind(&SocketAddr::from(([10, 0, 2, 3], 0)).into())?;
        sock.connect_timeout(
            &SocketAddr::from(([10, 0, 2, 1], 179)).into(),
            Duration::from_secs(5),
        )?;
        Ok(sock.into())
    })?;
    s.set_nodelay(true)?;
    s.write_all(&open(asn, Ipv4Addr::new(10, 0, 2, 3)))?;
    let (kind, _) = read_message(&mut s).context("no OPEN from Savin")?;
    anyhow::ensure!(kind == 1, "Savin answered with message type {kind}");
    s.write_all(&keepalive())?;
    loop {
        let (kind, body) = read_message(&mut s).context("session closed while opening")?;
        match kind {
            4 => break,
            3 => anyhow::bail!("NOTIFICATION from Savin: {body:?}"),
            _ => {}
        }
    }
    // Savin sends its table (the full one it learnt from BIRD): read and drop it.
    let mut reader = s.try_clone()?;
    std::thread::spawn(move || while read_message(&mut reader).is_some() {});
    // Ticks of 10 ms: each writes the updates due by then, in one write.
    let start = Instant::now();
    let mut sent = 0u64;
    let mut last_keepalive = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
        let mut buf = Vec::with_capacity(((due - sent) * 48) as usize);
        while sent < due {
            buf.extend_from_slice(&update(sent, asn));
            sent += 1;
        }
        if last_keepalive.elapsed() > Duration::from_secs(5) {
            buf.extend_from_slice(&keepalive());
            last_keepalive = Instant::now();
        }
        s.write_all(&buf)?;
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = start.elapsed().as_secs_f64();
    // The session stays up until the measurement is read (dropped with the lab).
    std::mem::forget(s);
    Ok((sent, took))
}

/// The lag histogram as (upper bound µs, routes).
fn lag_histogram(v: &Value) -> Vec<(u64, u64)> {
    v["statistics"]["route"]["rib-to-fib-lag-histogram"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| Some((b["below-us"].as_u64()?, b["routes"].as_u64()?)))
        .collect()
}

/// The quantile `q` of the routes in `after` less `before` (upper bucket bounds, µs).
fn window_quantile(before: &[(u64, u64)], after: &[(u64, u64)], q: f64) -> Option<u64> {
    let diff: Vec<(u64, u64)> = after
        .iter()
        .map(|(us, n)| {
            let b = before.iter().find(|(u, _)| u == us).map_or(0, |x| x.1);
            (*us, n.saturating_sub(b))
        })
        .collect();
    let total: u64 = diff.iter().map(|d| d.1).sum();
    if total == 0 {
        return None;
    }
    let want = ((total as f64) * q).ceil() as u64;
    let mut seen = 0;
    diff.iter().find_map(|(us, n)| {
        seen += n;
        (seen >= want).then_some(*us)
    })
}

pub fn bgp_churn(
    table: &Path,
    limit: Option<usize>,
    rate: u64,
    secs: u64,
) -> anyhow::Result<ExitCode> {
    anyhow::ensure!((1..=1_000_000).contains(&rate), "--rate: 1 to 1000000");
    anyhow::ensure!((1..=120).contains(&secs), "--secs: 1 to 120");
    let (mut v4, _) = read_table(table)?;
    let mut seen = std::collections::HashSet::new();
    v4.retain(|p| seen.insert(*p));
    if let Some(n) = limit {
        v4.truncate(n);
    }
    let mut lab =
        Lab::new().context("bench bgp-churn builds network namespaces: run it as root")?;
    let dut = lab.netns("dut")?;
    let src = lab.netns("src")?;
    let h1 = lab.netns("h1")?;
    lab.veth(&dut, "eth1", &h1, "eth0")?;
    lab.veth(&dut, "eth2", &src, "eth0")?;
    lab.addr(&h1, "eth0", "10.0.1.2/24")?;
    lab.route(&h1, &["default", "via", "10.0.1.1"])?;
    for a in ["10.0.2.2/24", "10.0.2.3/24", "10.0.2.4/24"] {
        lab.addr(&src, "eth0", a)?;
    }
    lab.addr(&src, "lo", &format!("{STABLE_HOST}/32"))?;
    lab.route(&src, &["default", "via", "10.0.2.1"])?;

    let dir = tempfile::tempdir()?;
    let d = dir.path().to_string_lossy().to_string();
    let exe = std::env::current_exe()?.to_string_lossy().to_string();
    let sock = dir.path().join("savin.sock");
    lab.spawn(&dut, &[&exe, "daemon", "--state-dir", &d], None, None)?;
    anyhow::ensure!(
        savin_lab::wait_until(Duration::from_secs(10), || sock.exists()),
        "the daemon did not start"
    );
    savin(
        &sock,
        "configure; \
         set interfaces eth1 unit 0 family inet address 10.0.1.1/24; \
         set interfaces eth2 unit 0 family inet address 10.0.2.1/24; \
         set routing-options router-id 10.0.2.1; \
         set routing-options autonomous-system 65001; \
         set protocols bgp group table type external; \
         set protocols bgp group table peer-as 65002; \
         set protocols bgp group table neighbor 10.0.2.2; \
         set protocols bgp group churn type external; \
         set protocols bgp group churn peer-as 65003; \
         set protocols bgp group churn neighbor 10.0.2.3; \
         commit",
    )?;

    // The table, and the stable route the traffic takes, from BIRD.
    use std::fmt::Write as _;
    let mut conf =
        String::from("router id 10.0.2.2;\nprotocol device { }\nprotocol static s4 { ipv4;\n");
    let _ = writeln!(conf, "route {STABLE} blackhole;");
    for (a, l) in &v4 {
        let _ = writeln!(conf, "route {}/{l} blackhole;", Ipv4Addr::from(*a));
    }
    conf += "}\nprotocol bgp dut { local 10.0.2.2 as 65002; neighbor 10.0.2.1 as 65001;\n\
             ipv4 { import none; export all; }; }\n";
    let origin = dir.path().join("origin.conf");
    std::fs::write(&origin, conf)?;
    let o = origin.to_string_lossy().to_string();
    let osock = format!("{d}/origin.ctl");
    lab.spawn(&src, &["bird", "-f", "-c", &o, "-s", &osock], None, None)?;
    let want = v4.len() as u64 + 1;
    let bgp_routes = |sock: &Path| -> u64 {
        savin_json(sock, "show route summary | display json")
            .ok()
            .and_then(|v| {
                let tables = v["route-summary-information"]["route-table"]
                    .as_array()?
                    .clone();
                Some(
                    tables
                        .iter()
                        .filter(|t| t["table-name"] == "inet.0")
                        .flat_map(|t| t["protocols"].as_array().cloned().unwrap_or_default())
                        .filter(|p| p["protocol-name"] == "BGP")
                        .filter_map(|p| p["active-route-count"].as_u64())
                        .sum(),
                )
            })
            .unwrap_or(0)
    };
    let loaded = Instant::now();
    anyhow::ensure!(
        savin_lab::wait_until(Duration::from_secs(300), || {
            std::thread::sleep(Duration::from_millis(500));
            bgp_routes(&sock) >= want
        }),
        "the table did not load: {} of {want} routes",
        bgp_routes(&sock)
    );
    let load_s = loaded.elapsed().as_secs_f64();
    anyhow::ensure!(
        savin_lab::wait_until(Duration::from_secs(10), || lab.ping(&h1, STABLE_HOST)),
        "no traffic through the stable route"
    );

    // Traffic for the churn's length and a little more, then the churn.
    // The server reports every 100 ms (the client hands its text back).
    let server = lab.spawn(
        &src,
        &["iperf3", "-s", "-1", "-B", STABLE_HOST, "-i", "0.1"],
        None,
        None,
    )?;
    std::thread::sleep(Duration::from_millis(500));
    let t = (secs + 2).to_string();
    let client = std::process::Command::new("ip")
        .args(["netns", "exec", &h1.name, "iperf3", "-c", STABLE_HOST, "-u"])
        .args(["-b", "40M", "-l", "1000", "-t", &t, "-i", "0.1", "-J"])
        .arg("--get-server-output")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    std::thread::sleep(Duration::from_millis(500));
    let before = lag_histogram(&savin_json(&sock, "show system statistics | display json")?);
    let churned = churn(&lab, &src, rate, secs);
    // Let the last updates reach the FIB before reading the histogram.
    std::thread::sleep(Duration::from_secs(1));
    let stats = savin_json(&sock, "show system statistics | display json")?;
    let after = lag_histogram(&stats);
    let out = client.wait_with_output()?;
    lab.wait(server, Duration::from_secs(10));
    let (sent, took) = churned?;
    let iperf: Value = serde_json::from_slice(&out.stdout).context("iperf3 output")?;
    let sum = &iperf["end"]["sum"];
    // The fewest datagrams the server received in any 100 ms (the first and last are
    // partial): its lines end `lost/total (n%)`.
    let server_intervals: Vec<u64> = iperf["server_output_text"]
        .as_str()
        .unwrap_or("")
        .lines()
        .filter(|l| l.contains(" sec ") && !l.contains("sender") && !l.contains("receiver"))
        .filter_map(|l| {
            let w = l
                .split_whitespace()
                .find(|w| w.contains('/') && !w.contains("sec"))?;
            let (lost, total) = w.split_once('/')?;
            Some(
                total
                    .parse::<u64>()
                    .ok()?
                    .saturating_sub(lost.parse().ok()?),
            )
        })
        .collect();
    let inner = if server_intervals.len() > 2 {
        &server_intervals[1..server_intervals.len() - 1]
    } else {
        &server_intervals[..]
    };
    let p99 = window_quantile(&before, &after, 0.99);
    let result = json!({
        "bench": "bgp-churn",
        "workload": format!("Savin holds {} IPv4 routes from a BIRD neighbour; a second eBGP neighbour sends {rate} UPDATEs/s for {secs} s (one /24 each, {CHURN_PREFIXES} prefixes cycling through announce, next-hop change, withdraw); iperf3 UDP 40 Mbit/s of 1000-byte datagrams from h1 through Savin to {STABLE_HOST} meanwhile", v4.len() + 1),
        "table_load_seconds": load_s,
        "updates_sent": sent,
        "updates_per_second": sent as f64 / took.max(0.001),
        "rib_to_fib_lag_us": {
            "p50": window_quantile(&before, &after, 0.5),
            "p99": p99,
            "note": "upper bounds of power-of-two buckets, weighted by routes, over the churn window; max is since the daemon started",
            "max_since_start": stats["statistics"]["route"]["rib-to-fib-lag-max-us"],
        },
        "traffic": {
            "packets": sum["packets"],
            "lost_packets": sum["lost_packets"],
            "lost_percent": sum["lost_percent"],
            "fewest_packets_in_100ms": inner.iter().min(),
            "intervals": server_intervals.len(),
        },
        "goals": {"rib_to_fib_lag_p99_below_100ms": p99.map(|p| p < 100_000), "no_stall": inner.iter().min().map(|m| *m > 0)},
    });
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(ExitCode::SUCCESS)
}
