//! IPv4 forwarding through in-memory ports, and every drop reason.

use std::sync::Arc;

use arc_swap::ArcSwap;
use savin_dataplane::checksum;
use savin_dataplane::ipv4::test_frame;
use savin_dataplane::ipv6;
use savin_dataplane::{
    Adjacency, DropReason, NextHop, PuntReason, Punted, Tables, ToWorker, Worker, ERROR_QUOTE,
};
use savin_fib::Fib;
use savin_io::memory::{pair, MemoryPort};
use savin_io::{FrameBatch, PacketIo};

const OUT_MAC: [u8; 6] = [0x02, 0, 0, 0, 1, 1];
const V6_SRC: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
/// In 2001:db8:2::/48, routed to next hop 1.
const V6_DST: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const NEIGH_MAC: [u8; 6] = [0x02, 0, 0, 0, 2, 2];

struct Rig {
    worker: Worker,
    tables: Tables,
    host_a: MemoryPort,
    host_b: MemoryPort,
    _fib: Fib<u32>,
    _fib6: Fib<u128>,
}

fn rig() -> Rig {
    let (a_router, host_a) = pair(1024);
    let (b_router, host_b) = pair(1024);
    let mut fib: Fib<u32> = Fib::new();
    fib.insert(0x0a00_0000, 8, 1).expect("next hop in range"); // 10/8 -> next hop 1 (resolved, port 1)
    fib.insert(0x0b00_0000, 8, 2).expect("next hop in range"); // 11/8 -> next hop 2 (unresolved)
    fib.insert(0x0d00_0000, 8, 3).expect("next hop in range"); // 13/8 -> discard
    fib.insert(0x0e00_0000, 8, 4).expect("next hop in range"); // 14/8 -> reject
    let adj = vec![
        NextHop::Unresolved,
        NextHop::Forward(Adjacency {
            port: 1,
            dst_mac: NEIGH_MAC,
            src_mac: OUT_MAC,
            mtu: 1500,
        }),
        NextHop::Unresolved,
        NextHop::Discard,
        NextHop::Reject,
    ];
    let mut fib6: Fib<u128> = Fib::new();
    fib6.insert(u128::from_be_bytes(V6_DST) & (u128::MAX << 80), 48, 1)
        .expect("next hop in range");
    let tables = Tables {
        fib4: fib.reader(),
        fib6: fib6.reader(),
        adjacencies: Arc::new(ArcSwap::from_pointee(adj)),
        l2: Default::default(),
        security: Default::default(),
    };
    Rig {
        worker: Worker::new(vec![Box::new(a_router), Box::new(b_router)], 64),
        tables,
        host_a,
        host_b,
        _fib: fib,
        _fib6: fib6,
    }
}

fn send(port: &mut MemoryPort, frames: &[Vec<u8>]) {
    let mut b = FrameBatch::with_capacity(frames.len());
    for f in frames {
        b.push(f);
    }
    let all: Vec<u16> = (0..frames.len() as u16).collect();
    assert_eq!(port.tx(&b, &all).unwrap(), frames.len());
}

fn fix_checksum(f: &mut [u8]) {
    let ihl = usize::from(f[14] & 0x0f) * 4;
    f[24..26].copy_from_slice(&[0, 0]);
    let c = checksum::checksum(&f[14..14 + ihl]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
}

fn set_df(f: &mut [u8]) {
    f[14 + 6] |= 0x40;
    fix_checksum(f);
}

/// `f` with `opts` (a multiple of 4 bytes) inserted as IPv4 options.
fn with_options(f: &[u8], opts: &[u8]) -> Vec<u8> {
    let mut f = f.to_vec();
    f.splice(34..34, opts.iter().copied());
    f[14] = 0x45 + (opts.len() / 4) as u8;
    let total = (f.len() - 14) as u16;
    f[16..18].copy_from_slice(&total.to_be_bytes());
    fix_checksum(&mut f);
    f
}

#[test]
fn a_packet_is_forwarded_with_ttl_checksum_and_macs_rewritten() {
    let mut r = rig();
    send(
        &mut r.host_a,
        &[test_frame([192, 0, 2, 1], [10, 1, 2, 3], 64, 64)],
    );
    r.worker.poll(&r.tables).unwrap();
    let mut got = FrameBatch::with_capacity(4);
    assert_eq!(r.host_b.rx(&mut got).unwrap(), 1);
    let f = got.frame(0);
    assert_eq!(f[..6], NEIGH_MAC);
    assert_eq!(f[6..12], OUT_MAC);
    assert_eq!(f[14 + 8], 63, "TTL decremented");
    assert_eq!(
        checksum::sum(&f[14..34]),
        0xffff,
        "header checksum still valid"
    );
    assert_eq!(r.worker.counters().forwarded, 1);
    assert_eq!(r.worker.counters().tx, 1);
}

#[test]
fn an_ipv6_packet_is_forwarded_with_the_hop_limit_decremented() {
    let mut r = rig();
    let sent = ipv6::test_frame(V6_SRC, V6_DST, 64, 100);
    send(&mut r.host_a, std::slice::from_ref(&sent));
    r.worker.poll(&r.tables).unwrap();
    let mut got = FrameBatch::with_capacity(4);
    assert_eq!(r.host_b.rx(&mut got).unwrap(), 1);
    let f = got.frame(0);
    assert_eq!(f[..6], NEIGH_MAC);
    assert_eq!(f[6..12], OUT_MAC);
    assert_eq!(f[14 + 7], 63, "hop limit decremented");
    assert_eq!(f[14..14 + 7], sent[14..14 + 7]);
    assert_eq!(f[14 + 8..], sent[14 + 8..], "nothing else changes");
    // Link-scoped destinations (ND) are for the box, never forwarded.
    let mut ns = sent.clone();
    ns[14 + 24..14 + 40].copy_from_slice(&[0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 2]);
    send(&mut r.host_a, &[ns]);
    r.worker.poll(&r.tables).unwrap();
    assert_eq!(r.host_b.rx(&mut got).unwrap(), 0);
    assert_eq!(r.worker.counters().punted, 1);
}

#[test]
fn every_drop_reason_is_counted_and_nothing_malformed_is_forwarded() {
    let mut r = rig();
    let good = test_frame([192, 0, 2, 1], [10, 1, 2, 3], 64, 64);
    let mut cases: Vec<(DropReason, Vec<u8>)> = Vec::new();
    cases.push((DropReason::Truncated, good[..10].to_vec()));
    cases.push((DropReason::Truncated, good[..30].to_vec()));
    let mut f = good.clone();
    f[14] = 0x65;
    cases.push((DropReason::BadVersion, f));
    let mut f = good.clone();
    f[14] = 0x44;
    cases.push((DropReason::BadHeaderLength, f));
    let mut f = good.clone();
    f[14] = 0x4f;
    cases.push((DropReason::BadHeaderLength, f[..40].to_vec()));
    let mut f = good.clone();
    f[24] ^= 0xff;
    cases.push((DropReason::BadChecksum, f));
    let mut f = good.clone();
    f[16..18].copy_from_slice(&1500u16.to_be_bytes());
    cases.push((DropReason::BadTotalLength, f));
    cases.push((
        DropReason::TtlExpired,
        test_frame([192, 0, 2, 1], [10, 1, 2, 3], 1, 64),
    ));
    cases.push((
        DropReason::TtlExpired,
        test_frame([192, 0, 2, 1], [10, 1, 2, 3], 0, 64),
    ));
    cases.push((
        DropReason::NoRoute,
        test_frame([192, 0, 2, 1], [12, 0, 0, 1], 64, 64),
    ));
    cases.push((
        DropReason::Unresolved,
        test_frame([192, 0, 2, 1], [11, 0, 0, 1], 64, 64),
    ));
    let mut f = good.clone();
    f[12..14].copy_from_slice(&0x88ccu16.to_be_bytes()); // LLDP
    cases.push((DropReason::UnsupportedProtocol, f));
    // IPv6: an IPv4 packet behind the IPv6 ethertype, a short header, a payload length
    // beyond the frame, hop limit 1 towards a routed prefix, and no route.
    let mut f = good.clone();
    f[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
    cases.push((DropReason::BadVersion, f));
    let v6 = ipv6::test_frame(V6_SRC, V6_DST, 64, 100);
    cases.push((DropReason::Truncated, v6[..50].to_vec()));
    let mut f = v6.clone();
    f[18..20].copy_from_slice(&1000u16.to_be_bytes());
    cases.push((DropReason::BadTotalLength, f));
    cases.push((
        DropReason::TtlExpired,
        ipv6::test_frame(V6_SRC, V6_DST, 1, 100),
    ));
    let mut other = V6_DST;
    other[0] = 0x30;
    cases.push((
        DropReason::NoRoute,
        ipv6::test_frame(V6_SRC, other, 64, 100),
    ));
    let mut big = ipv6::test_frame(V6_SRC, V6_DST, 64, 14 + 1501);
    big[18..20].copy_from_slice(&(1501u16 - 40).to_be_bytes());
    cases.push((DropReason::FragmentationNeeded, big));
    cases.push((
        DropReason::Discarded,
        test_frame([192, 0, 2, 1], [13, 0, 0, 1], 64, 64),
    ));
    cases.push((
        DropReason::Rejected,
        test_frame([192, 0, 2, 1], [14, 0, 0, 1], 64, 64),
    ));
    let mut f = test_frame([192, 0, 2, 1], [10, 1, 2, 3], 64, 14 + 1501);
    set_df(&mut f);
    cases.push((DropReason::FragmentationNeeded, f));
    cases.push((DropReason::BadOptions, with_options(&good, &[7, 9, 4, 0])));
    let frames: Vec<Vec<u8>> = cases.iter().map(|(_, f)| f.clone()).collect();
    send(&mut r.host_a, &frames);
    r.worker.poll(&r.tables).unwrap();
    let c = r.worker.counters();
    for reason in DropReason::ALL {
        let expected = cases.iter().filter(|(r, _)| *r == reason).count() as u64;
        assert_eq!(c.dropped(reason), expected, "{}", reason.name());
    }
    assert_eq!(c.total_drops(), cases.len() as u64);
    assert_eq!(c.forwarded, 0);
    let mut got = FrameBatch::with_capacity(64);
    assert_eq!(r.host_b.rx(&mut got).unwrap(), 0);
}

#[test]
fn a_full_output_ring_counts_tx_drops() {
    let (a_router, mut host_a) = pair(1024);
    let (b_router, _host_b) = pair(3); // room for three
    let mut fib: Fib<u32> = Fib::new();
    fib.insert(0, 0, 1).expect("next hop in range");
    let tables = Tables::routed(
        fib.reader(),
        vec![
            NextHop::Unresolved,
            NextHop::Forward(Adjacency {
                port: 1,
                dst_mac: NEIGH_MAC,
                src_mac: OUT_MAC,
                mtu: 1500,
            }),
        ],
    );
    let mut w = Worker::new(vec![Box::new(a_router), Box::new(b_router)], 64);
    let frames: Vec<Vec<u8>> = (0..10)
        .map(|i| test_frame([192, 0, 2, 1], [10, 0, 0, i], 64, 64))
        .collect();
    send(&mut host_a, &frames);
    w.poll(&tables).unwrap();
    assert_eq!(w.counters().tx, 3);
    assert_eq!(w.counters().dropped(DropReason::TxFull), 7);
}

#[test]
fn exceptions_go_to_the_control_plane_with_their_reason_and_injected_frames_go_out() {
    let (a_router, mut host_a) = pair(1024);
    let (b_router, mut host_b) = pair(1024);
    let mut fib: Fib<u32> = Fib::new();
    fib.insert(0x0a00_0000, 8, 1).expect("next hop in range"); // a connected subnet still to resolve
    fib.insert(0x0b00_0000, 8, 2).expect("next hop in range"); // discard
    fib.insert(0x0c00_0001, 32, 3).expect("next hop in range"); // the box itself
    fib.insert(0x0d00_0000, 8, 4).expect("next hop in range"); // resolved, MTU 576
    let tables = Tables::routed(
        fib.reader(),
        vec![
            NextHop::Unresolved,
            NextHop::Resolve { port: 1 },
            NextHop::Discard,
            NextHop::Local,
            NextHop::Forward(Adjacency {
                port: 1,
                dst_mac: NEIGH_MAC,
                src_mac: OUT_MAC,
                mtu: 576,
            }),
        ],
    );
    // Five places for ARP and the rest, one for the box's sockets.
    let (punt_tx, punt_rx) = savin_dataplane::punt_queue(5, 1);
    let (control_tx, control_rx) = std::sync::mpsc::channel();
    let mut w = Worker::new(vec![Box::new(a_router), Box::new(b_router)], 64)
        .with_control(punt_tx, control_rx);
    let mut arp = vec![0xffu8; 6];
    arp.extend_from_slice(&[2, 0, 0, 0, 0, 9, 0x08, 0x06]);
    arp.resize(60, 0);
    let big = test_frame([192, 0, 2, 1], [13, 0, 0, 7], 64, 14 + 1000);
    let mut big_df = big.clone();
    set_df(&mut big_df);
    let frames = vec![
        arp.clone(),
        test_frame([192, 0, 2, 1], [10, 0, 0, 5], 64, 64),
        test_frame([192, 0, 2, 1], [12, 0, 0, 1], 64, 64),
        test_frame([192, 0, 2, 1], [10, 0, 0, 6], 1, 64),
        big.clone(),
        big_df.clone(),
        test_frame([192, 0, 2, 1], [10, 0, 0, 7], 64, 64), // the sixth of the rest: dropped
        test_frame([192, 0, 2, 1], [11, 0, 0, 1], 64, 64),
    ];
    send(&mut host_a, &frames);
    control_tx
        .send(ToWorker::Send {
            port: 1,
            frame: vec![7u8; 60],
        })
        .unwrap();
    w.poll(&tables).unwrap();
    let punted: Vec<Punted> = punt_rx.try_iter().collect();
    let reasons: Vec<PuntReason> = punted.iter().map(|p| p.reason).collect();
    assert_eq!(
        reasons,
        vec![
            PuntReason::Host,
            PuntReason::Resolve { nh: 1 },
            PuntReason::Host,
            PuntReason::TtlExpired,
            PuntReason::Fragment { mtu: 576, nh: 4 },
            PuntReason::FragmentationNeeded { mtu: 576 },
        ]
    );
    assert!(punted.iter().all(|p| p.port == 0));
    assert_eq!(punted[0].frame, arp);
    assert_eq!(punted[1].frame[14 + 8], 63, "routed: TTL decremented");
    assert_eq!(
        punted[3].frame, frames[3],
        "an error quotes the packet as it came"
    );
    assert_eq!(
        punted[4].frame.len(),
        big.len(),
        "to fragment: the whole packet"
    );
    assert_eq!(punted[4].frame[14 + 8], 63);
    assert_eq!(
        punted[5].frame,
        big_df[..ERROR_QUOTE],
        "an error copy is bounded"
    );
    let c = w.counters();
    assert_eq!(
        c.punted, 5,
        "ARP, resolve, local, fragment, and the one that did not fit"
    );
    assert_eq!(c.dropped(DropReason::PuntQueueFull), 1);
    assert_eq!(c.dropped(DropReason::Discarded), 1);
    assert_eq!(c.dropped(DropReason::TtlExpired), 1);
    assert_eq!(c.dropped(DropReason::FragmentationNeeded), 1);
    let mut got = FrameBatch::with_capacity(4);
    assert_eq!(
        host_b.rx(&mut got).unwrap(),
        1,
        "the injected frame went out of port 1"
    );
    assert_eq!(got.frame(0), &[7u8; 60][..]);
    assert_eq!(w.port_counters()[0].rx_packets, frames.len() as u64);
    assert_eq!(w.port_counters()[1].tx_packets, 1);
}

#[test]
fn a_flood_of_either_kind_of_punt_fills_its_own_share_of_the_queue_and_not_the_others() {
    let (a_router, mut host_a) = pair(1024);
    let (b_router, _host_b) = pair(16);
    let mut fib: Fib<u32> = Fib::new();
    fib.insert(0x0c00_0001, 32, 1).expect("next hop in range"); // the box itself
    let tables = Tables::routed(fib.reader(), vec![NextHop::Unresolved, NextHop::Local]);
    // Six places for ARP and the rest, two beside them for the box's sockets.
    let (punt_tx, punt_rx) = savin_dataplane::punt_queue(6, 2);
    let (_control_tx, control_rx) = std::sync::mpsc::channel();
    let mut w = Worker::new(vec![Box::new(a_router), Box::new(b_router)], 64)
        .with_control(punt_tx, control_rx);
    let arp = |sender: u8| {
        let mut f = vec![0xffu8; 6];
        f.extend_from_slice(&[2, 0, 0, 0, 0, sender, 0x08, 0x06]);
        f.resize(60, 0);
        f
    };
    let for_the_box = test_frame([192, 0, 2, 1], [12, 0, 0, 1], 64, 64);
    // An ARP flood, then the box's frames.
    let mut frames: Vec<Vec<u8>> = (0..10).map(arp).collect();
    frames.extend(std::iter::repeat_n(for_the_box.clone(), 3));
    send(&mut host_a, &frames);
    w.poll(&tables).unwrap();
    let dropped = |w: &Worker| {
        let c = w.counters();
        (
            c.dropped(DropReason::PuntQueueFull),
            c.dropped(DropReason::HostQueueFull),
        )
    };
    assert_eq!(
        dropped(&w),
        (4, 1),
        "ARP takes its six places and no more; the box's frames their two"
    );
    let punted: Vec<Punted> = punt_rx.try_iter().collect();
    assert_eq!(punted.len(), 8);
    assert!(punted[..6].iter().all(|p| !p.for_sockets()));
    assert!(punted[6..].iter().all(|p| p.frame == for_the_box));
    // Taken off the queue, each kind has its places again. A flood of frames for the box,
    // then ARP: ARP still gets its six.
    let mut frames = vec![for_the_box.clone(); 5];
    frames.extend((20..27).map(arp));
    send(&mut host_a, &frames);
    w.poll(&tables).unwrap();
    assert_eq!(dropped(&w), (4 + 1, 1 + 3));
    let punted: Vec<Punted> = punt_rx.try_iter().collect();
    assert_eq!(punted.iter().filter(|p| p.for_sockets()).count(), 2);
    assert_eq!(punted.iter().filter(|p| !p.for_sockets()).count(), 6);
}

#[test]
fn icmp_error_requests_are_bounded_per_worker() {
    let (a_router, mut host_a) = pair(4096);
    let (b_router, _host_b) = pair(16);
    let fib: Fib<u32> = Fib::new(); // no routes: every packet wants a net unreachable
    let tables = Tables::routed(fib.reader(), vec![NextHop::Unresolved]);
    let (punt_tx, punt_rx) = savin_dataplane::punt_queue(10_000, 0);
    let (_control_tx, control_rx) = std::sync::mpsc::channel();
    let mut w = Worker::new(vec![Box::new(a_router), Box::new(b_router)], 256)
        .with_control(punt_tx, control_rx);
    let frames: Vec<Vec<u8>> = (0..1000)
        .map(|i| test_frame([192, 0, 2, 1], [12, 0, (i / 256) as u8, i as u8], 64, 64))
        .collect();
    for chunk in frames.chunks(250) {
        send(&mut host_a, chunk);
    }
    let started = std::time::Instant::now();
    while w.poll(&tables).unwrap() > 0 {}
    // The budget refills at 1000/s: allow what the elapsed time could have added.
    let refill = started.elapsed().as_millis() as u64 + 1;
    let asked = punt_rx.try_iter().count() as u64;
    let c = w.counters();
    assert_eq!(c.dropped(DropReason::NoRoute), 1000);
    assert!(
        asked <= 200 + refill,
        "at most the burst and what refilled in {refill} ms: {asked}"
    );
    assert!(asked >= 200, "the burst is used: {asked}");
    assert_eq!(asked + c.errors_suppressed, 1000);
}

#[test]
fn equal_cost_groups_spread_flows_and_keep_each_flow_on_one_path() {
    let (a_router, mut host_a) = pair(4096);
    let (b_router, mut host_b) = pair(4096);
    let (c_router, mut host_c) = pair(4096);
    let mut fib: Fib<u32> = Fib::new();
    fib.insert(0x0a00_0000, 8, 1).expect("next hop in range"); // 10/8 -> group at 1: members 2 (port 1) and 3 (port 2)
    let fwd = |port: u16| {
        NextHop::Forward(Adjacency {
            port,
            dst_mac: NEIGH_MAC,
            src_mac: OUT_MAC,
            mtu: 1500,
        })
    };
    let tables = Tables::routed(
        fib.reader(),
        vec![
            NextHop::Unresolved,
            NextHop::Group { base: 2, n: 2 },
            fwd(1),
            fwd(2),
        ],
    );
    let mut w = Worker::new(
        vec![Box::new(a_router), Box::new(b_router), Box::new(c_router)],
        256,
    );
    // 200 flows (UDP source ports), each sent twice.
    let flow = |i: u16| {
        let mut f = test_frame([192, 0, 2, 1], [10, 1, 2, 3], 64, 64);
        f[34..36].copy_from_slice(&(1000 + i).to_be_bytes());
        let c = savin_dataplane::checksum::checksum(&{
            let mut h = f[14..34].to_vec();
            h[10] = 0;
            h[11] = 0;
            h
        });
        f[24..26].copy_from_slice(&c.to_be_bytes());
        f
    };
    let frames: Vec<Vec<u8>> = (0..200).map(flow).collect();
    let mut first_paths: Option<Vec<[u8; 2]>> = None;
    for round in 0..2 {
        send(&mut host_a, &frames);
        w.poll(&tables).unwrap();
        let (mut b, mut c) = (
            FrameBatch::with_capacity(256),
            FrameBatch::with_capacity(256),
        );
        host_b.rx(&mut b).unwrap();
        host_c.rx(&mut c).unwrap();
        assert_eq!(
            b.len() + c.len(),
            200,
            "round {round}: every packet forwarded once"
        );
        assert!(
            b.len() > 60 && c.len() > 60,
            "spread: {} and {}",
            b.len(),
            c.len()
        );
        // The same flows take the same paths every time.
        let ports = |x: &FrameBatch| -> Vec<[u8; 2]> { x.iter().map(|f| [f[34], f[35]]).collect() };
        match &first_paths {
            None => first_paths = Some(ports(&b)),
            Some(p) => assert_eq!(*p, ports(&b), "flows keep their path"),
        }
    }
}

/// A frame the control plane originates (`ToWorker::Route`: an ICMP error, an echo reply, a
/// RST) takes the worker's lookup and equal-cost choice: for every flow it leaves by the same
/// member as the flow's forwarded packets, or comes back naming that member when its
/// neighbour is still to be resolved; its TTL is left alone. Before, the control plane
/// repeated the choice with its own copy of the groups.
#[test]
fn frames_the_control_plane_sends_take_the_workers_route_and_equal_cost_choice() {
    let (a_router, mut host_a) = pair(4096);
    let (b_router, mut host_b) = pair(4096);
    let (c_router, _host_c) = pair(4096);
    let mut fib: Fib<u32> = Fib::new();
    fib.insert(0x0a00_0000, 8, 1).expect("next hop in range"); // 10/8 -> group: 2 (port 1), 3 (port 2, unresolved)
    let tables = Tables::routed(
        fib.reader(),
        vec![
            NextHop::Unresolved,
            NextHop::Group { base: 2, n: 2 },
            NextHop::Forward(Adjacency {
                port: 1,
                dst_mac: NEIGH_MAC,
                src_mac: OUT_MAC,
                mtu: 1500,
            }),
            NextHop::Resolve { port: 2 },
        ],
    );
    let (punt_tx, punt_rx) = savin_dataplane::punt_queue(1024, 16);
    let (control_tx, control_rx) = std::sync::mpsc::channel();
    let mut w = Worker::new(
        vec![Box::new(a_router), Box::new(b_router), Box::new(c_router)],
        256,
    )
    .with_control(punt_tx, control_rx);
    let flow = |i: u16| {
        let mut f = test_frame([192, 0, 2, 1], [10, 1, 2, 3], 64, 64);
        f[34..36].copy_from_slice(&(2000 + i).to_be_bytes());
        f
    };
    let frames: Vec<Vec<u8>> = (0..60).map(flow).collect();
    // Where each flow's forwarded packets go: out of port 1, or to the control plane for
    // member 3's neighbour.
    send(&mut host_a, &frames);
    w.poll(&tables).unwrap();
    let mut out = FrameBatch::with_capacity(256);
    host_b.rx(&mut out).unwrap();
    let sport = |f: &[u8]| u16::from_be_bytes([f[34], f[35]]);
    let mut forwarded_out: Vec<u16> = out.iter().map(sport).collect();
    let mut forwarded_resolve: Vec<u16> = punt_rx
        .try_iter()
        .map(|p| {
            assert_eq!(p.reason, PuntReason::Resolve { nh: 3 });
            sport(&p.frame)
        })
        .collect();
    assert!(forwarded_out.len() > 10 && forwarded_resolve.len() > 10);
    // The same flows, sent by the control plane.
    for f in &frames {
        control_tx
            .send(ToWorker::Route { frame: f.clone() })
            .unwrap();
    }
    // One to nowhere: dropped as no route, not punted back.
    control_tx
        .send(ToWorker::Route {
            frame: test_frame([192, 0, 2, 1], [12, 0, 0, 1], 64, 64),
        })
        .unwrap();
    w.poll(&tables).unwrap();
    let mut out = FrameBatch::with_capacity(256);
    host_b.rx(&mut out).unwrap();
    for f in out.iter() {
        assert_eq!(f[..6], NEIGH_MAC, "the next hop's MACs");
        assert_eq!(f[6..12], OUT_MAC);
        assert_eq!(
            f[14 + 8],
            64,
            "the box's own frame: its TTL as it was built"
        );
    }
    let mut sent_out: Vec<u16> = out.iter().map(sport).collect();
    let mut sent_resolve: Vec<u16> = punt_rx
        .try_iter()
        .map(|p| {
            assert_eq!(p.reason, PuntReason::Resolve { nh: 3 });
            assert_eq!(p.port, 2, "the port whose neighbour is to be resolved");
            sport(&p.frame)
        })
        .collect();
    for v in [
        &mut forwarded_out,
        &mut forwarded_resolve,
        &mut sent_out,
        &mut sent_resolve,
    ] {
        v.sort_unstable();
    }
    assert_eq!(sent_out, forwarded_out, "the same member for every flow");
    assert_eq!(sent_resolve, forwarded_resolve);
    assert_eq!(
        w.counters().originated_dropped,
        1,
        "counted apart from forwarding drops"
    );
    assert_eq!(w.counters().dropped(DropReason::NoRoute), 0);
    assert_eq!(w.counters().originated, forwarded_out.len() as u64);
}

/// A frame for the box's own sockets goes from the worker straight to its port's host
/// interface (TAP), not through the control thread and back; what the control plane answers
/// itself (ARP, echo requests) still goes to it. Link-local multicast (an OSPF hello to
/// 224.0.0.5) reaches the TAP too, where before it fell into a route miss.
#[test]
fn frames_for_the_boxs_sockets_go_straight_to_the_host_interface() {
    use savin_dataplane::bridge::{L2Tables, PortMode};
    let (a_router, mut host_a) = pair(1024);
    let (b_router, _host_b) = pair(16);
    let (tap_router, mut kernel) = pair(16);
    let mut fib: Fib<u32> = Fib::new();
    fib.insert(0x0c00_0001, 32, 1).expect("next hop in range"); // the box itself
    let mut tables = Tables::routed(fib.reader(), vec![NextHop::Unresolved, NextHop::Local]);
    tables.l2 = Arc::new(ArcSwap::from_pointee(L2Tables {
        ports: vec![
            PortMode::Routed,
            PortMode::Routed,
            PortMode::Host { phy: 0 },
        ],
        host_tap: vec![Some(2), None, None],
        ..L2Tables::default()
    }));
    let (punt_tx, punt_rx) = savin_dataplane::punt_queue(16, 16);
    let (_control_tx, control_rx) = std::sync::mpsc::channel();
    let mut w = Worker::new(
        vec![Box::new(a_router), Box::new(b_router), Box::new(tap_router)],
        64,
    )
    .with_control(punt_tx, control_rx);
    let udp = test_frame([192, 0, 2, 1], [12, 0, 0, 1], 64, 64);
    let mut echo = udp.clone();
    echo[14 + 9] = 1; // ICMP
    echo[34] = 8; // echo request
    fix_checksum(&mut echo);
    let mut hello = test_frame([10, 0, 1, 2], [224, 0, 0, 5], 1, 64);
    hello[..6].copy_from_slice(&[0x01, 0x00, 0x5e, 0, 0, 5]);
    hello[14 + 9] = 89; // OSPF
    fix_checksum(&mut hello);
    let mut arp = vec![0xffu8; 6];
    arp.extend_from_slice(&[2, 0, 0, 0, 0, 9, 0x08, 0x06]);
    arp.resize(60, 0);
    send(&mut host_a, &[udp.clone(), echo, hello.clone(), arp]);
    w.poll(&tables).unwrap();
    let mut got = FrameBatch::with_capacity(8);
    assert_eq!(
        kernel.rx(&mut got).unwrap(),
        2,
        "the UDP datagram and the OSPF hello"
    );
    let to_kernel: Vec<&[u8]> = (0..2).map(|i| got.frame(i)).collect();
    // The hello is punted at the header checks, the datagram after its route lookup.
    assert_eq!(to_kernel, vec![&hello[..], &udp[..]]);
    let punted: Vec<PuntReason> = punt_rx.try_iter().map(|p| p.reason).collect();
    assert_eq!(
        punted,
        vec![PuntReason::Host, PuntReason::Host],
        "the echo request and the ARP request go to the control plane"
    );
    assert_eq!(w.counters().to_host, 2);
    assert_eq!(w.counters().dropped(DropReason::NoRoute), 0);
}
