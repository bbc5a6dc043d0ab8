//! ARP under a virtual clock: resolution with a held queue, retransmission and giving up,
//! answering for our addresses only, aging, and hostile input.

use std::net::Ipv4Addr;

use savin_dataplane::arp::{Arp, ArpAction, ArpConfig, ArpInterface};
use savin_wire::arp::frame as arp_frame;

const OUR: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
const PEER: [u8; 6] = [0x02, 0, 0, 0, 0, 2];

fn ifc() -> ArpInterface {
    ArpInterface {
        port: 3,
        mac: OUR,
        addrs: vec![(Ipv4Addr::new(10, 0, 0, 1), 24)],
        proxy: Vec::new(),
    }
}

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, last)
}

fn sends(actions: &[ArpAction]) -> Vec<&Vec<u8>> {
    actions
        .iter()
        .filter_map(|a| match a {
            ArpAction::Send { frame, .. } => Some(frame),
            _ => None,
        })
        .collect()
}

#[test]
fn a_held_packet_leaves_addressed_when_the_reply_arrives() {
    let mut arp = Arp::new(ArpConfig::default());
    let pkt = vec![0u8; 60];
    let a = arp.resolve(&ifc(), ip(2), pkt.clone(), 0);
    assert_eq!(
        a,
        vec![ArpAction::Send {
            port: 3,
            frame: arp_frame(1, [0xff; 6], OUR, ip(1), [0; 6], ip(2))
        }]
    );
    assert!(
        arp.resolve(&ifc(), ip(2), pkt.clone(), 10).is_empty(),
        "one request per neighbour"
    );
    let reply = arp_frame(2, OUR, PEER, ip(2), OUR, ip(1));
    let a = arp.receive(&ifc(), &reply, 20);
    assert_eq!(
        a[0],
        ArpAction::Resolved {
            port: 3,
            ip: ip(2),
            mac: PEER
        }
    );
    let released = sends(&a);
    assert_eq!(released.len(), 2, "both held packets go out");
    assert_eq!(released[0][..6], PEER);
    assert_eq!(released[0][6..12], OUR);
    assert_eq!(arp.lookup(3, ip(2)), Some(PEER));
}

#[test]
fn a_silent_neighbour_gets_three_requests_then_is_unreachable() {
    let mut arp = Arp::new(ArpConfig::default());
    arp.resolve(&ifc(), ip(9), vec![0; 60], 0);
    assert!(arp.tick(&[ifc()], 500).is_empty(), "not before a second");
    assert_eq!(sends(&arp.tick(&[ifc()], 1000)).len(), 1);
    assert_eq!(sends(&arp.tick(&[ifc()], 2000)).len(), 1);
    assert_eq!(
        arp.tick(&[ifc()], 3000),
        vec![ArpAction::Unreachable {
            port: 3,
            ip: ip(9),
            dropped: vec![vec![0; 60]]
        }]
    );
    assert_eq!(arp.stats.requests_sent, 3);
    assert_eq!(arp.next_wakeup(), None);
}

#[test]
fn requests_for_our_address_are_answered_and_others_are_not() {
    let mut arp = Arp::new(ArpConfig::default());
    let req = arp_frame(1, [0xff; 6], PEER, ip(2), [0; 6], ip(1));
    let a = arp.receive(&ifc(), &req, 0);
    assert!(a.contains(&ArpAction::Send {
        port: 3,
        frame: arp_frame(2, PEER, OUR, ip(1), PEER, ip(2))
    }));
    assert_eq!(
        arp.lookup(3, ip(2)),
        Some(PEER),
        "the asker is learned (RFC 826 merge)"
    );
    let other = arp_frame(1, [0xff; 6], PEER, ip(5), [0; 6], ip(7));
    assert!(
        arp.receive(&ifc(), &other, 0).is_empty(),
        "not ours: no reply, nothing learned"
    );
    assert_eq!(arp.lookup(3, ip(5)), None);
    // A DAD probe (sender 0.0.0.0) for our address is answered but never learned.
    let dad = arp_frame(1, [0xff; 6], PEER, Ipv4Addr::UNSPECIFIED, [0; 6], ip(1));
    assert_eq!(sends(&arp.receive(&ifc(), &dad, 0)).len(), 1);
    assert_eq!(arp.neighbors().len(), 1);
}

#[test]
fn aged_entries_are_probed_and_removed_if_silent() {
    let cfg = ArpConfig {
        aging_ms: 10_000,
        ..ArpConfig::default()
    };
    let mut arp = Arp::new(cfg);
    arp.receive(
        &ifc(),
        &arp_frame(1, [0xff; 6], PEER, ip(2), [0; 6], ip(1)),
        0,
    );
    assert_eq!(arp.next_wakeup(), Some(10_000));
    let a = arp.tick(&[ifc()], 10_000);
    assert_eq!(
        sends(&a)[0][..6],
        PEER,
        "a unicast probe to the known address"
    );
    arp.tick(&[ifc()], 11_000);
    arp.tick(&[ifc()], 12_000);
    assert_eq!(
        arp.tick(&[ifc()], 13_000),
        vec![ArpAction::Unreachable {
            port: 3,
            ip: ip(2),
            dropped: vec![]
        }]
    );
    assert_eq!(arp.lookup(3, ip(2)), None);
}

#[test]
fn queues_and_the_table_are_bounded_and_junk_is_counted() {
    let cfg = ArpConfig {
        queue_per_neighbor: 2,
        max_entries: 2,
        ..ArpConfig::default()
    };
    let mut arp = Arp::new(cfg);
    for _ in 0..5 {
        arp.resolve(&ifc(), ip(2), vec![0; 60], 0);
    }
    assert_eq!(arp.stats.queue_drops, 3);
    arp.resolve(&ifc(), ip(3), vec![0; 60], 0);
    let a = arp.resolve(&ifc(), ip(4), vec![0; 60], 0);
    assert_eq!(
        a,
        vec![ArpAction::Unreachable {
            port: 3,
            ip: ip(4),
            dropped: vec![vec![0; 60]]
        }]
    );
    assert_eq!(arp.stats.table_full, 1);
    // Off-link destinations are not ARPed for.
    let mut arp = Arp::new(ArpConfig::default());
    let a = arp.resolve(&ifc(), Ipv4Addr::new(192, 0, 2, 1), vec![0; 60], 0);
    assert!(matches!(a[0], ArpAction::Unreachable { .. }));
    for junk in [
        vec![],
        vec![0u8; 20],
        arp_frame(1, [0xff; 6], [0xff; 6], ip(2), [0; 6], ip(1)),
    ] {
        assert!(arp.receive(&ifc(), &junk, 0).is_empty());
    }
    assert_eq!(arp.stats.malformed, 3);
}
