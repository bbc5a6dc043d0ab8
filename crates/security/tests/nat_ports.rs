//! Source NAT port allocation through the pipeline: with a pool of one address and 100 ports,
//! a hundred flows to one server get a hundred distinct ports in the range, the next flow is
//! refused and counted (never given a port a live session holds), and flows to another
//! server may reuse the ports (mappings are endpoint-dependent). Fragments: a datagram's
//! later fragments (no ports) follow the session of its first, in or across batches and in
//! any order within one; without their first they are dropped, and TCP fragments at offset
//! 8 bytes always are.

mod common;

use std::collections::HashSet;

use common::Pipeline;
use savin_dataplane::{checksum, DropReason, Tables};
use savin_fib::Fib;
use savin_io::FrameBatch;

const CONFIG: &str = "\
set interfaces eth1 unit 0 family inet address 10.0.1.1/24
set interfaces eth2 unit 0 family inet address 203.0.113.1/24
set security zones security-zone trust interfaces eth1.0
set security zones security-zone untrust interfaces eth2.0
set security policies global policy any match source-address any
set security policies global policy any match destination-address any
set security policies global policy any match application any
set security policies global policy any then permit
set security nat source pool p address 203.0.113.10/32
set security nat source pool p port range 2000 to 2099
set security nat source rule-set s from zone trust
set security nat source rule-set s to zone untrust
set security nat source rule-set s rule a match source-address 10.0.0.0/8
set security nat source rule-set s rule a then source-nat pool p
";

fn tables() -> (Fib<u32>, Tables) {
    common::tables(common::security(CONFIG, false))
}

/// A UDP frame from 10.0.1.2:`sport` to `dst`:53 with valid checksums.
fn udp(sport: u16, dst: u32) -> Vec<u8> {
    let mut f = savin_dataplane::ipv4::test_frame([10, 0, 1, 2], dst.to_be_bytes(), 64, 60);
    f[34..36].copy_from_slice(&sport.to_be_bytes());
    f[36..38].copy_from_slice(&53u16.to_be_bytes());
    f
}

/// Sends `frames` in from port 0; returns the (source address, source port) of each frame
/// that left, and the pipeline.
fn send(p: &mut Pipeline, t: &Tables, frames: &[Vec<u8>]) -> Vec<(u32, u16)> {
    let mut out = Vec::new();
    for chunk in frames.chunks(32) {
        let mut batch = FrameBatch::with_capacity(32);
        for f in chunk {
            assert!(batch.push(f));
        }
        p.process(&mut batch, t, 0);
        for &i in &p.tx[1] {
            let f = batch.frame(usize::from(i));
            assert_eq!(checksum::sum(&f[14..34]), 0xffff);
            out.push((
                u32::from_be_bytes([f[26], f[27], f[28], f[29]]),
                u16::from_be_bytes([f[34], f[35]]),
            ));
        }
    }
    out
}

#[test]
fn a_pool_never_gives_out_a_port_a_live_session_holds() {
    let (_fib, t) = tables();
    let mut p = common::pipeline(2, 32);
    p.now_ms = 1000;
    let server = 0xc633_6407; // 198.51.100.7
    let flows: Vec<Vec<u8>> = (0..100).map(|i| udp(40_000 + i, server)).collect();
    let out = send(&mut p, &t, &flows);
    assert_eq!(out.len(), 100);
    let ports: HashSet<u16> = out.iter().map(|(_, port)| *port).collect();
    assert_eq!(ports.len(), 100, "distinct ports");
    assert!(out
        .iter()
        .all(|(a, port)| *a == 0xcb00_710a && (2000..=2099).contains(port)));
    // The 101st flow to the same server finds every port held: refused and counted.
    let out = send(&mut p, &t, &[udp(50_000, server)]);
    assert!(out.is_empty());
    assert_eq!(p.counters.dropped(DropReason::NatExhausted), 1);
    // The same flows again are their sessions' packets: the same ports, nothing new.
    let again = send(&mut p, &t, &flows[..10]);
    assert_eq!(again.len(), 10);
    assert!(again.iter().all(|(_, port)| ports.contains(port)));
    // Another server: the same address and ports serve new sessions (endpoint-dependent).
    let other: Vec<Vec<u8>> = (0..100).map(|i| udp(41_000 + i, server + 1)).collect();
    let out = send(&mut p, &t, &other);
    assert_eq!(out.len(), 100);
    let sessions = p.feature.sessions.as_ref().unwrap().sessions(p.now_ms);
    let replies: HashSet<_> = sessions.iter().map(|s| s.reply).collect();
    assert_eq!(replies.len(), 200, "every live reply key is distinct");
}

/// A 3000-byte UDP datagram from 10.0.1.2:`sport` to `dst`:53 (valid checksums, IP
/// identification `id`), as the frames of its fragments for a 1500-byte MTU.
fn fragmented(sport: u16, dst: u32, id: u16) -> Vec<Vec<u8>> {
    let mut f = savin_dataplane::ipv4::test_frame([10, 0, 1, 2], dst.to_be_bytes(), 64, 3014);
    f[34..36].copy_from_slice(&sport.to_be_bytes());
    f[36..38].copy_from_slice(&53u16.to_be_bytes());
    f[18..20].copy_from_slice(&id.to_be_bytes());
    f[24..26].copy_from_slice(&[0, 0]);
    let c = checksum::checksum(&f[14..34]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
    savin_wire::ipv4::fragment(&f, 1500)
}

/// Sends `frames` in one batch; returns what left: (source address, IP identification,
/// fragment offset) of each.
fn send_one_batch(p: &mut Pipeline, t: &Tables, frames: &[Vec<u8>]) -> Vec<(u32, u16, u16)> {
    let mut batch = FrameBatch::with_capacity(32);
    for f in frames {
        assert!(batch.push(f));
    }
    p.process(&mut batch, t, 0);
    p.tx[1]
        .iter()
        .map(|&i| {
            let f = batch.frame(usize::from(i));
            assert_eq!(checksum::sum(&f[14..34]), 0xffff, "IP header checksum");
            (
                u32::from_be_bytes([f[26], f[27], f[28], f[29]]),
                u16::from_be_bytes([f[18], f[19]]),
                u16::from_be_bytes([f[20], f[21]]) & 0x1fff,
            )
        })
        .collect()
}

#[test]
fn later_fragments_follow_the_session_of_their_first() {
    let (_fib, t) = tables();
    let mut p = common::pipeline(2, 32);
    p.now_ms = 1000;
    let server = 0xc633_6407;
    let pool = 0xcb00_710a;
    // A new flow's first datagram, its fragments in one batch, the first in the middle: the
    // later ones wait for the session it starts and leave translated with it.
    let d1 = fragmented(40_000, server, 7);
    assert_eq!(d1.len(), 3);
    let out = send_one_batch(&mut p, &t, &[d1[1].clone(), d1[0].clone(), d1[2].clone()]);
    assert_eq!(out.len(), 3, "{out:?}");
    assert!(
        out.iter().all(|&(src, id, _)| src == pool && id == 7),
        "{out:?}"
    );
    // The next datagram of the session: the first fragment in one batch, the rest in the next.
    let d2 = fragmented(40_000, server, 8);
    assert_eq!(send_one_batch(&mut p, &t, &d2[..1]), [(pool, 8, 0)]);
    let out = send_one_batch(&mut p, &t, &d2[1..]);
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|&(src, _, off)| src == pool && off > 0));
    // Later fragments whose first never came: no session to join, dropped and counted.
    let d3 = fragmented(40_001, server, 9);
    assert!(send_one_batch(&mut p, &t, &d3[1..]).is_empty());
    assert_eq!(p.counters.dropped(DropReason::FragmentNoSession), 2);
    assert_eq!(
        p.feature
            .sessions
            .as_ref()
            .unwrap()
            .sessions(p.now_ms)
            .len(),
        1,
        "fragments start no session"
    );
    // A TCP fragment at offset 8 bytes could rewrite the header its first was checked by
    // (RFC 1858): dropped whatever it claims to belong to.
    let mut f = d2[1].clone();
    f[23] = 6;
    f[20..22].copy_from_slice(&1u16.to_be_bytes());
    f[24..26].copy_from_slice(&[0, 0]);
    let c = checksum::checksum(&f[14..34]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
    assert!(send_one_batch(&mut p, &t, &[f]).is_empty());
    assert_eq!(p.counters.dropped(DropReason::FragmentOverlap), 1);
}
