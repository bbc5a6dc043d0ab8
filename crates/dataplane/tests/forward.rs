//! IPv4 forwarding through in-memory ports, and every drop reason.

use std::sync::Arc;

use arc_swap::ArcSwap;
use savin_dataplane::checksum;
use savin_dataplane::ipv4::test_frame;
use savin_dataplane::{Adjacency, DropReason, NextHop, Tables, Worker};
use savin_fib::Fib;
use savin_io::memory::{pair, MemoryPort};
use savin_io::{FrameBatch, PacketIo};

const OUT_MAC: [u8; 6] = [0x02, 0, 0, 0, 1, 1];
const NEIGH_MAC: [u8; 6] = [0x02, 0, 0, 0, 2, 2];

struct Rig {
    worker: Worker,
    tables: Tables,
    host_a: MemoryPort,
    host_b: MemoryPort,
    _fib: Fib<u32>,
}

fn rig() -> Rig {
    let (a_router, host_a) = pair(1024);
    let (b_router, host_b) = pair(1024);
    let mut fib: Fib<u32> = Fib::new();
    fib.insert(0x0a00_0000, 8, 1); // 10/8 -> next hop 1 (resolved, port 1)
    fib.insert(0x0b00_0000, 8, 2); // 11/8 -> next hop 2 (unresolved)
    let adj = vec![
        NextHop::Unresolved,
        NextHop::Forward(Adjacency {
            port: 1,
            dst_mac: NEIGH_MAC,
            src_mac: OUT_MAC,
        }),
        NextHop::Unresolved,
    ];
    let tables = Tables {
        fib4: fib.reader(),
        adjacencies: Arc::new(ArcSwap::from_pointee(adj)),
    };
    Rig {
        worker: Worker::new(vec![Box::new(a_router), Box::new(b_router)], 64),
        tables,
        host_a,
        host_b,
        _fib: fib,
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
    f[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
    cases.push((DropReason::UnsupportedProtocol, f));
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
    fib.insert(0, 0, 1);
    let tables = Tables {
        fib4: fib.reader(),
        adjacencies: Arc::new(ArcSwap::from_pointee(vec![
            NextHop::Unresolved,
            NextHop::Forward(Adjacency {
                port: 1,
                dst_mac: NEIGH_MAC,
                src_mac: OUT_MAC,
            }),
        ])),
    };
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
fn arp_and_punt_routes_go_to_the_control_plane_and_injected_frames_go_out() {
    let (a_router, mut host_a) = pair(1024);
    let (b_router, mut host_b) = pair(1024);
    let mut fib: Fib<u32> = Fib::new();
    fib.insert(0x0a00_0000, 8, 1); // punt (e.g. a connected subnet still to resolve)
    fib.insert(0x0b00_0000, 8, 2); // discard
    let tables = Tables {
        fib4: fib.reader(),
        adjacencies: Arc::new(ArcSwap::from_pointee(vec![
            NextHop::Unresolved,
            NextHop::Punt,
            NextHop::Discard,
        ])),
    };
    let (punt_tx, punt_rx) = std::sync::mpsc::sync_channel(2);
    let (inject_tx, inject_rx) = std::sync::mpsc::channel();
    let mut w = Worker::new(vec![Box::new(a_router), Box::new(b_router)], 64)
        .with_control(punt_tx, inject_rx);
    let mut arp = vec![0xffu8; 6];
    arp.extend_from_slice(&[2, 0, 0, 0, 0, 9, 0x08, 0x06]);
    arp.resize(60, 0);
    let frames = vec![
        arp.clone(),
        test_frame([192, 0, 2, 1], [10, 0, 0, 5], 64, 64),
        test_frame([192, 0, 2, 1], [10, 0, 0, 6], 64, 64), // the queue holds two: dropped
        test_frame([192, 0, 2, 1], [11, 0, 0, 1], 64, 64),
    ];
    send(&mut host_a, &frames);
    inject_tx.send((1, vec![7u8; 60])).unwrap();
    w.poll(&tables).unwrap();
    let punted: Vec<_> = punt_rx.try_iter().collect();
    assert_eq!(punted.len(), 2);
    assert_eq!(punted[0], (0, arp));
    assert_eq!(punted[1].1[30..34], [10, 0, 0, 5]);
    let c = w.counters();
    assert_eq!(c.punted, 3);
    assert_eq!(c.dropped(DropReason::PuntQueueFull), 1);
    assert_eq!(c.dropped(DropReason::Discarded), 1);
    let mut got = FrameBatch::with_capacity(4);
    assert_eq!(
        host_b.rx(&mut got).unwrap(),
        1,
        "the injected frame went out of port 1"
    );
    assert_eq!(got.frame(0), &[7u8; 60][..]);
}
