//! Neighbor Discovery and ICMPv6 under a virtual clock: solicitations to the solicited-node
//! group, answers for our addresses only, DAD probes answered and never learned, conflicts,
//! hostile input, and the ICMPv6 builders.

use std::net::Ipv6Addr;

use savin_dataplane::ipv6::test_frame;
use savin_dataplane::nd::{Nd, NdAction, NdInterface};
use savin_dataplane::neighbor::NeighborConfig;
use savin_wire::icmp6;
use savin_wire::nd::{link_local, multicast_mac, solicited_node};

const OUR: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
const PEER: [u8; 6] = [0x02, 0, 0, 0, 0, 2];

fn ours() -> Ipv6Addr {
    "2001:db8:1::1".parse().unwrap()
}

fn peer() -> Ipv6Addr {
    "2001:db8:1::2".parse().unwrap()
}

fn ifc() -> NdInterface {
    NdInterface {
        port: 2,
        mac: OUR,
        addrs: vec![(ours(), 64), (link_local(OUR), 64)],
    }
}

/// An NS from `src` (at `mac`) for `target`, with a source link-layer option unless `src`
/// is unspecified.
fn ns(src: Ipv6Addr, mac: [u8; 6], target: Ipv6Addr) -> Vec<u8> {
    let mut body = vec![135, 0, 0, 0, 0, 0, 0, 0];
    body.extend_from_slice(&target.octets());
    if !src.is_unspecified() {
        body.extend_from_slice(&[1, 1]);
        body.extend_from_slice(&mac);
    }
    let group = solicited_node(target);
    icmp6::build(multicast_mac(group), mac, src, group, 255, &body)
}

fn na(src: Ipv6Addr, mac: [u8; 6], target: Ipv6Addr, to: Ipv6Addr) -> Vec<u8> {
    let mut body = vec![136, 0, 0, 0, 0x60, 0, 0, 0];
    body.extend_from_slice(&target.octets());
    body.extend_from_slice(&[2, 1]);
    body.extend_from_slice(&mac);
    icmp6::build(OUR, mac, src, to, 255, &body)
}

fn sends(a: &[NdAction]) -> Vec<&Vec<u8>> {
    a.iter()
        .filter_map(|a| match a {
            NdAction::Send { frame, .. } => Some(frame),
            _ => None,
        })
        .collect()
}

#[test]
fn the_link_local_address_and_groups_are_derived_as_the_rfcs_say() {
    assert_eq!(
        link_local([0x52, 0x54, 0, 0x12, 0x34, 0x56]),
        "fe80::5054:ff:fe12:3456".parse::<Ipv6Addr>().unwrap()
    );
    assert_eq!(
        solicited_node("2001:db8::aa:bbcc:ddee".parse().unwrap()),
        "ff02::1:ffcc:ddee".parse::<Ipv6Addr>().unwrap()
    );
    assert_eq!(
        multicast_mac("ff02::1:ffcc:ddee".parse().unwrap()),
        [0x33, 0x33, 0xff, 0xcc, 0xdd, 0xee]
    );
}

#[test]
fn resolution_solicits_the_solicited_node_group_and_releases_held_packets() {
    let mut nd = Nd::new(NeighborConfig::default());
    let pkt = test_frame(ours().octets(), peer().octets(), 64, 100);
    let a = nd.resolve(&ifc(), peer(), pkt.clone(), 0);
    let s = sends(&a);
    assert_eq!(s.len(), 1);
    let f = s[0];
    assert_eq!(f[..6], [0x33, 0x33, 0xff, 0, 0, 2]);
    assert_eq!(f[14 + 7], 255, "hop limit 255");
    assert_eq!(f[14 + 24..14 + 40], solicited_node(peer()).octets());
    assert_eq!(icmp6::checksum(f), 0, "valid checksum");
    assert_eq!(f[54], 135);
    assert_eq!(f[62..78], peer().octets(), "target");
    assert_eq!(
        f[78..86],
        [1, 1, 2, 0, 0, 0, 0, 1],
        "source link-layer option"
    );
    let a = nd.receive(&ifc(), &na(peer(), PEER, peer(), ours()), 5);
    assert_eq!(
        a[0],
        NdAction::Resolved {
            port: 2,
            ip: peer(),
            mac: PEER
        }
    );
    let released = sends(&a);
    assert_eq!(released.len(), 1);
    assert_eq!(released[0][..6], PEER);
    assert_eq!(nd.lookup(2, peer()), Some(PEER));
}

#[test]
fn solicitations_for_our_address_are_answered_and_teach_the_sender() {
    let mut nd = Nd::new(NeighborConfig::default());
    let a = nd.receive(&ifc(), &ns(peer(), PEER, ours()), 0);
    assert!(matches!(a[0], NdAction::Resolved { mac: PEER, .. }));
    let s = sends(&a);
    assert_eq!(s.len(), 1);
    let f = s[0];
    assert_eq!(f[..6], PEER, "unicast to the solicitor");
    assert_eq!(
        f[14 + 8..14 + 24],
        ours().octets(),
        "from the target address"
    );
    assert_eq!(f[54], 136);
    assert_eq!(f[58], 0xe0, "router, solicited, override");
    assert_eq!(
        f[78..86],
        [2, 1, 2, 0, 0, 0, 0, 1],
        "target link-layer option"
    );
    assert_eq!(icmp6::checksum(f), 0);
    // Not ours: silence.
    let other: Ipv6Addr = "2001:db8:1::9".parse().unwrap();
    assert!(nd.receive(&ifc(), &ns(peer(), PEER, other), 1).is_empty());
}

#[test]
fn dad_probes_are_answered_to_all_nodes_and_never_learned_and_conflicts_are_reported() {
    let mut nd = Nd::new(NeighborConfig::default());
    let a = nd.receive(&ifc(), &ns(Ipv6Addr::UNSPECIFIED, PEER, ours()), 0);
    let s = sends(&a);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0][..6], [0x33, 0x33, 0, 0, 0, 1], "to all nodes");
    assert_eq!(
        s[0][14 + 24..14 + 40],
        "ff02::1".parse::<Ipv6Addr>().unwrap().octets()
    );
    assert!(nd.neighbors().is_empty(), "nothing learnt from ::");
    // Another node advertises our address: a duplicate.
    let a = nd.receive(
        &ifc(),
        &na(ours(), PEER, ours(), "ff02::1".parse().unwrap()),
        1,
    );
    assert_eq!(
        a,
        vec![NdAction::Conflict {
            port: 2,
            ip: ours(),
            mac: PEER
        }]
    );
    assert_eq!(nd.stats.conflicts, 1);
    // Our own DAD probe is well formed.
    let probe = Nd::dad_probe(&ifc(), ours());
    assert_eq!(probe[14 + 8..14 + 24], [0; 16], "from ::");
    assert_eq!(probe.len(), 14 + 40 + 24, "no link-layer option");
    assert_eq!(icmp6::checksum(&probe), 0);
    let un = Nd::unsolicited_na(&ifc(), ours());
    assert_eq!(un[58], 0xa0, "router and override, not solicited");
}

#[test]
fn hostile_neighbour_messages_are_counted_and_ignored() {
    let mut nd = Nd::new(NeighborConfig::default());
    let good = ns(peer(), PEER, ours());
    let mut hop = good.clone();
    hop[14 + 7] = 64; // came through a router
    let mut sum = good.clone();
    sum[60] ^= 1;
    let mut zero_opt = good.clone();
    zero_opt[79] = 0;
    let mut mcast_target = good.clone();
    mcast_target[62] = 0xff;
    for (i, f) in [hop, sum, zero_opt, mcast_target, good[..60].to_vec()]
        .into_iter()
        .enumerate()
    {
        assert!(nd.receive(&ifc(), &f, 0).is_empty(), "case {i}");
    }
    assert_eq!(nd.stats.malformed, 5);
    for n in 0..good.len() {
        nd.receive(&ifc(), &good[..n], 0); // never panics
    }
}

#[test]
fn icmpv6_echo_replies_and_errors_are_valid_and_bounded() {
    let mut body = vec![128, 0, 0, 0, 0, 7, 0, 1];
    body.extend_from_slice(b"ping");
    let mut req = icmp6::build(OUR, PEER, peer(), ours(), 64, &body);
    assert!(icmp6::echo_reply_in_place(&mut req));
    assert_eq!(req[54], 129);
    assert_eq!(req[14 + 8..14 + 24], ours().octets());
    assert_eq!(icmp6::checksum(&req), 0);
    assert!(
        !icmp6::echo_reply_in_place(&mut req),
        "a reply is not a request"
    );
    let big = test_frame(
        peer().octets(),
        "2001:db8:9::1".parse::<Ipv6Addr>().unwrap().octets(),
        1,
        14 + 1500,
    );
    assert!(icmp6::may_send_error_about(&big));
    let e = icmp6::error(&big, icmp6::TIME_EXCEEDED, 0, ours(), 0);
    assert_eq!(e.len() - 14, 1280, "an error fits the minimum MTU");
    assert_eq!(icmp6::checksum(&e), 0);
    assert_eq!(e[14 + 24..14 + 40], peer().octets(), "back to the source");
    assert!(
        !icmp6::may_send_error_about(&e),
        "never an error about an error"
    );
    let ptb = icmp6::error(&big, icmp6::PACKET_TOO_BIG, 0, ours(), 1280);
    assert_eq!(ptb[58..62], 1280u32.to_be_bytes());
}
