//! Layer 2 through in-memory ports: access and trunk ports, learning, flooding within the
//! VLAN only, tags added and removed, MAC moves, the per-VLAN limit, aging, and IRB routing
//! in and out of a VLAN.

use std::sync::Arc;

use arc_swap::ArcSwap;
use savin_dataplane::bridge::{L2Tables, PortMode, VlanInfo};
use savin_dataplane::ipv4::test_frame;
use savin_dataplane::{Adjacency, DropReason, NextHop, PuntReason, Tables, Worker};
use savin_fib::Fib;
use savin_io::memory::{pair, MemoryPort};
use savin_io::{FrameBatch, PacketIo};

const A: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa];
const B: [u8; 6] = [0x02, 0, 0, 0, 0, 0xb];
const C: [u8; 6] = [0x02, 0, 0, 0, 0, 0xc];
const IRB_MAC: [u8; 6] = [0x02, 0x5a, 0, 0, 0, 100];
const ROUTER_MAC: [u8; 6] = [0x02, 0, 0, 0, 4, 4];
const NEXT_MAC: [u8; 6] = [0x02, 0, 0, 0, 4, 5];

/// Port 0: access VLAN 100. Port 1: trunk (100, 200). Port 2: access VLAN 200. Port 3: the
/// IRB of VLAN 100. Port 4: routed.
struct Rig {
    worker: Worker,
    tables: Tables,
    hosts: Vec<MemoryPort>,
    l2: L2Tables,
    _fib: Fib<u32>,
}

fn rig(mac_limit: u32) -> Rig {
    let mut ports: Vec<Box<dyn PacketIo>> = Vec::new();
    let mut hosts = Vec::new();
    for _ in 0..5 {
        let (r, h) = pair(1024);
        ports.push(Box::new(r));
        hosts.push(h);
    }
    let mut l2 = L2Tables {
        ports: vec![
            PortMode::Access { vlan: 100 },
            PortMode::Trunk { native: None },
            PortMode::Access { vlan: 200 },
            PortMode::Irb { vlan: 100 },
            PortMode::Routed,
        ],
        ..L2Tables::default()
    };
    l2.vlans[100] = Some(VlanInfo {
        members: vec![(0, false), (1, true)],
        irb: Some((3, IRB_MAC)),
        mac_limit,
    });
    l2.vlans[200] = Some(VlanInfo {
        members: vec![(1, true), (2, false)],
        irb: None,
        mac_limit,
    });
    let mut fib: Fib<u32> = Fib::new();
    fib.insert(0x0a09_0000, 16, 1).expect("next hop in range"); // 10.9/16 out of the routed port
    fib.insert(0x0a64_0000, 16, 2).expect("next hop in range"); // 10.100/16 into VLAN 100 through the IRB, to A
    let adj = vec![
        NextHop::Unresolved,
        NextHop::Forward(Adjacency {
            port: 4,
            dst_mac: NEXT_MAC,
            src_mac: ROUTER_MAC,
            mtu: 1500,
        }),
        NextHop::Forward(Adjacency {
            port: 3,
            dst_mac: A,
            src_mac: IRB_MAC,
            mtu: 1500,
        }),
    ];
    let tables = Tables {
        fib4: fib.reader(),
        fib6: Fib::<u128>::new().reader(),
        adjacencies: Arc::new(ArcSwap::from_pointee(adj)),
        l2: Arc::new(ArcSwap::from_pointee(l2.clone())),
        security: Default::default(),
    };
    Rig {
        worker: Worker::new(ports, 64),
        tables,
        hosts,
        l2,
        _fib: fib,
    }
}

/// An Ethernet frame from `src` to `dst`, tagged with `vid` if given.
fn eth(dst: [u8; 6], src: [u8; 6], vid: Option<u16>) -> Vec<u8> {
    let mut f = test_frame([192, 0, 2, 1], [198, 51, 100, 1], 64, 64);
    f[..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    if let Some(v) = vid {
        f.splice(12..12, [0x81, 0x00, (v >> 8) as u8, v as u8]);
    }
    f
}

fn send(r: &mut Rig, port: usize, frames: &[Vec<u8>]) {
    let mut b = FrameBatch::with_capacity(frames.len());
    for f in frames {
        b.push(f);
    }
    let all: Vec<u16> = (0..frames.len() as u16).collect();
    assert_eq!(r.hosts[port].tx(&b, &all).unwrap(), frames.len());
    r.worker.poll(&r.tables).unwrap();
}

fn received(r: &mut Rig, port: usize) -> Vec<Vec<u8>> {
    let mut b = FrameBatch::with_capacity(64);
    r.hosts[port].rx(&mut b).unwrap();
    b.iter().map(<[u8]>::to_vec).collect()
}

fn all_received(r: &mut Rig) -> Vec<Vec<Vec<u8>>> {
    (0..5).map(|p| received(r, p)).collect()
}

#[test]
fn unknown_unicast_floods_within_the_vlan_and_learnt_addresses_are_switched() {
    let mut r = rig(1000);
    send(&mut r, 0, &[eth(B, A, None)]);
    let got = all_received(&mut r);
    assert_eq!(got[1], vec![eth(B, A, Some(100))], "tagged onto the trunk");
    assert!(
        got[2].is_empty() && got[4].is_empty(),
        "never into VLAN 200 or the routed port"
    );
    // B answers from the trunk: A was learnt on port 0, so only port 0 gets it, untagged.
    send(&mut r, 1, &[eth(A, B, Some(100))]);
    let got = all_received(&mut r);
    assert_eq!(got[0], vec![eth(A, B, None)]);
    assert!(got[1].is_empty() && got[2].is_empty());
    assert_eq!(r.worker.counters().bridged, 1);
    assert_eq!(r.worker.counters().flooded, 1);
    // And A to B is now switched, not flooded.
    send(&mut r, 0, &[eth(B, A, None)]);
    assert_eq!(received(&mut r, 1), vec![eth(B, A, Some(100))]);
    assert_eq!(r.worker.counters().bridged, 2);
}

#[test]
fn broadcasts_stay_in_their_vlan_and_reach_the_irb() {
    let mut r = rig(1000);
    let bcast = [0xff; 6];
    send(&mut r, 2, &[eth(bcast, C, None)]);
    let got = all_received(&mut r);
    assert_eq!(got[1], vec![eth(bcast, C, Some(200))]);
    assert!(
        got[0].is_empty(),
        "VLAN 200's broadcast never reaches VLAN 100"
    );
    send(&mut r, 1, &[eth(bcast, B, Some(100))]);
    let got = all_received(&mut r);
    assert_eq!(
        got[0],
        vec![eth(bcast, B, None)],
        "untagged on the access port"
    );
    assert!(got[2].is_empty());
    let p = &r.worker.pipeline;
    assert_eq!(p.punt, vec![(0, PuntReason::Host)], "a copy for the IRB");
    assert_eq!(p.meta.in_port[0], 3, "as received on the IRB");
}

#[test]
fn frames_outside_the_ports_vlans_are_dropped_and_counted() {
    let mut r = rig(1000);
    send(&mut r, 0, &[eth(B, A, Some(100))]); // tagged on an access port
    send(&mut r, 1, &[eth(B, A, Some(300))]); // a VLAN the trunk does not carry
    send(&mut r, 1, &[eth(B, A, None)]); // untagged on a trunk without a native VLAN
    assert!(all_received(&mut r).iter().all(Vec::is_empty));
    assert_eq!(r.worker.counters().dropped(DropReason::VlanNotAllowed), 3);
    // A frame for a host on the port it came from is filtered.
    send(&mut r, 0, &[eth(B, A, None)]);
    send(&mut r, 0, &[eth(A, B, None)]); // B now on port 0 too
    assert_eq!(r.worker.counters().dropped(DropReason::SamePort), 1);
}

#[test]
fn moves_limits_and_aging() {
    let mut r = rig(2);
    send(&mut r, 0, &[eth(C, A, None)]);
    send(&mut r, 1, &[eth(C, A, Some(100))]); // A moves to the trunk
    let fdb = &r.worker.pipeline.fdb;
    assert_eq!(fdb.stats.moves, 1);
    assert_eq!(fdb.lookup(100, &A), Some(1));
    send(&mut r, 0, &[eth(C, B, None), eth(C, C, None)]);
    let fdb = &r.worker.pipeline.fdb;
    assert_eq!(fdb.len(), 2, "VLAN 100 holds two addresses at most");
    assert_eq!(fdb.stats.limit_hits, 1);
    assert_eq!(fdb.lookup(100, &C), None);
    let now = r.worker.pipeline.now_ms;
    r.worker.pipeline.fdb.age(now + 300_001, |_, _| true);
    assert!(r.worker.pipeline.fdb.is_empty(), "aged out after 300 s");
}

#[test]
fn the_irb_routes_out_of_and_into_the_vlan() {
    let mut r = rig(1000);
    // A (access port 0) sends to its gateway, the IRB MAC, for 10.9.0.1: routed out of port 4.
    let mut f = test_frame([10, 100, 0, 2], [10, 9, 0, 1], 64, 64);
    f[..6].copy_from_slice(&IRB_MAC);
    f[6..12].copy_from_slice(&A);
    send(&mut r, 0, &[f]);
    let out = received(&mut r, 4);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0][..6], NEXT_MAC);
    assert_eq!(out[0][14 + 8], 63, "routed: TTL decremented");
    // From the trunk, tagged: the tag goes, the packet is routed the same way.
    let mut f = test_frame([10, 100, 0, 3], [10, 9, 0, 1], 64, 64);
    f[..6].copy_from_slice(&IRB_MAC);
    f[6..12].copy_from_slice(&B);
    f.splice(12..12, [0x81, 0x00, 0, 100]);
    send(&mut r, 1, &[f]);
    let out = received(&mut r, 4);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0][12..14], [0x08, 0x00], "untagged on the routed port");
    // From the routed port into VLAN 100, to A (learnt on port 0): out of port 0, untagged,
    // from the IRB's MAC.
    let f = test_frame([10, 9, 0, 1], [10, 100, 0, 2], 64, 64);
    send(&mut r, 4, &[f]);
    let got = all_received(&mut r);
    assert_eq!(got[0].len(), 1);
    assert_eq!(got[0][0][..6], A);
    assert_eq!(got[0][0][6..12], IRB_MAC);
    assert!(got[1].is_empty(), "not flooded: A is known");
    let _ = &r.l2;
}
