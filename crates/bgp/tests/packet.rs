//! The BGP message codec: framing, real speakers' messages, every RFC 7606 outcome, and
//! encode → decode round trips.

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};

use common::capture::*;
use common::*;
use proptest::collection::vec;
use proptest::prelude::*;
use savin_bgp::packet::*;
use savin_rib::IpPrefix;

// Framing (RFC 4271 §4.1, §6.1).

#[test]
fn frame_waits_for_whole_messages() {
    let ka = hex(KEEPALIVE);
    assert_eq!(frame(&[]), Ok(None));
    assert_eq!(frame(&ka[..10]), Ok(None));
    assert_eq!(frame(&ka[..18]), Ok(None));
    assert_eq!(frame(&ka), Ok(Some(19)));
    let upd = hex(BIRD_UPDATE_V4);
    assert_eq!(frame(&upd[..40]), Ok(None));
    let mut two = upd.clone();
    two.extend_from_slice(&ka);
    assert_eq!(frame(&two), Ok(Some(upd.len())));
}

#[test]
fn frame_errors() {
    let mut bad = hex(KEEPALIVE);
    bad[3] = 0;
    assert_eq!(frame(&bad), Err(Notification::new(1, 1, vec![])));
    // Refused before the header is complete.
    assert_eq!(frame(&bad[..5]).unwrap_err().subcode, 1);

    let with_len = |len: u16, ty: u8| {
        let mut m = vec![0xff; 16];
        m.extend_from_slice(&len.to_be_bytes());
        m.push(ty);
        m
    };
    for (len, ty) in [
        (18, 4),
        (4097, 2),
        (20, 4),
        (28, 1),
        (22, 2),
        (20, 3),
        (22, 5),
        (0, 1),
    ] {
        let n = frame(&with_len(len, ty)).unwrap_err();
        assert_eq!(
            (n.code, n.subcode, n.data),
            (1, 2, len.to_be_bytes().to_vec())
        );
    }
    assert_eq!(
        frame(&with_len(19, 6)),
        Err(Notification::new(1, 3, vec![6]))
    );
    assert_eq!(
        frame(&with_len(19, 0)),
        Err(Notification::new(1, 3, vec![0]))
    );
}

#[test]
fn decode_checks_the_header_too() {
    let mut m = hex(KEEPALIVE);
    m.push(0);
    assert_eq!(reset(&m), (1, 2));
    assert_eq!(reset(&m[..18]), (1, 2));
    m.truncate(19);
    m[0] = 0;
    assert_eq!(reset(&m), (1, 1));
}

// OPEN: real speakers.

#[test]
fn bird_open() {
    let Ok(Message::Open(o)) = decode(&hex(BIRD_OPEN), &DecodeCtx::default()) else {
        panic!()
    };
    assert_eq!((o.version, o.my_as, o.hold_time), (4, 65001, 240));
    assert_eq!(o.bgp_id, Ipv4Addr::new(10, 255, 0, 1));
    assert_eq!(o.asn(), 65001);
    assert!(o.four_octet_as() && o.route_refresh() && o.enhanced_route_refresh());
    assert_eq!(o.families(), vec![Family::Ipv4Unicast, Family::Ipv6Unicast]);
    assert_eq!(
        o.graceful_restart(),
        Some(&Capability::GracefulRestart {
            restarting: false,
            time: 120,
            families: vec![(1, 1, false), (2, 1, false)],
        })
    );
    assert!(o.capabilities.contains(&Capability::Unknown {
        code: 71,
        data: vec![]
    }));
}

#[test]
fn frr_open() {
    let Ok(Message::Open(o)) = decode(&hex(FRR_OPEN), &DecodeCtx::default()) else {
        panic!()
    };
    assert_eq!((o.my_as, o.hold_time, o.asn()), (65002, 180, 65002));
    assert_eq!(o.families(), vec![Family::Ipv4Unicast, Family::Ipv6Unicast]);
    assert!(o.route_refresh() && o.enhanced_route_refresh());
    // Both the Cisco code and the standard one.
    let rr = o
        .capabilities
        .iter()
        .filter(|c| **c == Capability::RouteRefresh)
        .count();
    assert_eq!(rr, 2);
    assert!(o.capabilities.contains(&Capability::Unknown {
        code: 69,
        data: vec![0, 1, 1, 3, 0, 2, 1, 3]
    }));
    assert!(o.capabilities.contains(&Capability::Unknown {
        code: 73,
        data: b"\x06frrcap\x00".to_vec()
    }));
    assert_eq!(
        o.graceful_restart(),
        Some(&Capability::GracefulRestart {
            restarting: true,
            time: 120,
            families: vec![],
        })
    );
}

#[test]
fn gobgp_open_four_octet_as() {
    let Ok(Message::Open(o)) = decode(&hex(GOBGP_OPEN), &DecodeCtx::default()) else {
        panic!()
    };
    assert_eq!(o.my_as, 23456);
    assert_eq!(o.asn(), 4_200_000_003);
    assert!(o.four_octet_as() && o.route_refresh() && !o.enhanced_route_refresh());
    assert!(o.graceful_restart().is_none());
    assert!(o
        .capabilities
        .iter()
        .any(|c| matches!(c, Capability::Unknown { code: 5, .. })));
}

#[test]
fn open_round_trip() {
    let open = Open {
        version: 4,
        my_as: 23456,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(192, 0, 2, 9),
        capabilities: vec![
            Capability::Multiprotocol { afi: 1, safi: 1 },
            Capability::Multiprotocol { afi: 2, safi: 1 },
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::FourOctetAs(4_200_000_000),
            Capability::GracefulRestart {
                restarting: true,
                time: 300,
                families: vec![(1, 1, true), (2, 1, false)],
            },
            Capability::Unknown {
                code: 73,
                data: b"\x02r1\x00".to_vec(),
            },
        ],
    };
    let mut out = Vec::new();
    encode(
        &Message::Open(open.clone()),
        &EncodeCtx::default(),
        &mut out,
    );
    // One Capabilities parameter holding them all.
    assert_eq!(out[29], 2);
    assert_eq!(out[28] as usize, out.len() - 29);
    assert_eq!(
        decode(&out, &DecodeCtx::default()),
        Ok(Message::Open(open.clone()))
    );

    let plain = Open {
        capabilities: vec![],
        my_as: 65001,
        ..open
    };
    assert_eq!(plain.families(), vec![Family::Ipv4Unicast]);
    out.clear();
    encode(
        &Message::Open(plain.clone()),
        &EncodeCtx::default(),
        &mut out,
    );
    assert_eq!(out.len(), 29);
    assert_eq!(
        decode(&out, &DecodeCtx::default()),
        Ok(Message::Open(plain))
    );
}

fn open_body(version: u8, asn: u16, hold: u16, id: [u8; 4], params: &[u8]) -> Vec<u8> {
    let mut b = vec![version];
    b.extend_from_slice(&asn.to_be_bytes());
    b.extend_from_slice(&hold.to_be_bytes());
    b.extend_from_slice(&id);
    b.push(params.len() as u8);
    b.extend_from_slice(params);
    message(1, &b)
}

#[test]
fn open_errors() {
    let id = [10, 0, 0, 1];
    let err = |m: Vec<u8>| decode(&m, &DecodeCtx::default()).unwrap_err();
    let n = err(open_body(3, 65001, 90, id, &[]));
    assert_eq!((n.code, n.subcode, n.data), (2, 1, vec![0, 4]));
    for hold in [1, 2] {
        let n = err(open_body(4, 65001, hold, id, &[]));
        assert_eq!((n.code, n.subcode), (2, 6));
        assert_eq!(n.to_string(), "OPEN Message Error: Unacceptable Hold Time");
    }
    assert!(decode(&open_body(4, 65001, 0, id, &[]), &DecodeCtx::default()).is_ok());
    assert!(decode(&open_body(4, 65001, 3, id, &[]), &DecodeCtx::default()).is_ok());
    assert_eq!(err(open_body(4, 65001, 90, [0; 4], &[])).subcode, 3);
    assert_eq!(err(open_body(4, 0, 90, id, &[])).subcode, 2);
    // Four-octet AS 0 (RFC 7607).
    assert_eq!(
        err(open_body(4, 23456, 90, id, &[2, 6, 65, 4, 0, 0, 0, 0])).subcode,
        2
    );
    // Authentication (type 1) is not supported.
    assert_eq!(err(open_body(4, 65001, 90, id, &[1, 1, 0])).subcode, 4);
    // A capability running past its parameter; a parameter past the message.
    assert_eq!(err(open_body(4, 65001, 90, id, &[2, 2, 65, 4])).subcode, 0);
    assert_eq!(err(open_body(4, 65001, 90, id, &[2, 9, 65, 4])).subcode, 0);
    // Multiprotocol and 4-octet AS of the wrong length.
    assert_eq!(
        err(open_body(4, 65001, 90, id, &[2, 5, 1, 3, 0, 1, 0])).subcode,
        0
    );
    assert_eq!(
        err(open_body(4, 65001, 90, id, &[2, 5, 65, 3, 0, 1, 0])).subcode,
        0
    );
    // The Optional Parameters Length disagreeing with the message.
    let mut m = open_body(4, 65001, 90, id, &[2, 2, 2, 0]);
    m[28] = 3;
    assert_eq!(err(m).subcode, 0);
}

#[test]
fn open_extended_parameters() {
    // RFC 9072: 255, 255, a two-octet length, and two-octet parameter lengths.
    let caps = [65u8, 4, 0, 0, 0xfd, 0xe9, 2, 0];
    let mut params = vec![255, 0, (caps.len() + 3) as u8, 2, 0, caps.len() as u8];
    params.extend_from_slice(&caps);
    let mut b = vec![4, 0xfd, 0xe9, 0, 90, 10, 0, 0, 1, 255];
    b.extend_from_slice(&params);
    let Ok(Message::Open(o)) = decode(&message(1, &b), &DecodeCtx::default()) else {
        panic!()
    };
    assert_eq!(o.asn(), 65001);
    assert!(o.route_refresh());
}

// Other messages.

#[test]
fn notification_keepalive_route_refresh() {
    assert_eq!(decode(&hex(KEEPALIVE), &ctx()), Ok(Message::Keepalive));
    let Ok(Message::Notification(n)) = decode(&hex(BIRD_CEASE), &ctx()) else {
        panic!()
    };
    assert_eq!(n.to_string(), "Cease: Administrative Shutdown");
    let Ok(Message::Notification(n)) = decode(&hex(GOBGP_CEASE), &ctx()) else {
        panic!()
    };
    assert_eq!(n.to_string(), "Cease: Peer De-configured");

    for msg in [
        Message::Keepalive,
        Message::Notification(Notification::new(3, 11, vec![1, 2, 3])),
        Message::RouteRefresh(RouteRefresh {
            afi: 2,
            safi: 1,
            subtype: 1,
        }),
        Message::RouteRefresh(RouteRefresh {
            afi: 1,
            safi: 1,
            subtype: 0,
        }),
    ] {
        let mut out = Vec::new();
        encode(&msg, &EncodeCtx::default(), &mut out);
        assert_eq!(frame(&out), Ok(Some(out.len())));
        assert_eq!(decode(&out, &ctx()), Ok(msg));
    }
    // RFC 7313 §5: BoRR/EoRR of another length: 7/1 with the whole message.
    let m = message(5, &[0, 1, 2, 1, 0]);
    assert_eq!(decode(&m, &ctx()), Err(Notification::new(7, 1, m.clone())));
    // A normal request may carry ORF entries (RFC 5291): skipped.
    let m = message(5, &[0, 1, 0, 1, 9, 9]);
    assert!(
        matches!(decode(&m, &ctx()), Ok(Message::RouteRefresh(r)) if r.family() == Some(Family::Ipv4Unicast))
    );
}

// UPDATE: real speakers.

#[test]
fn bird_updates() {
    let u = dec(&hex(BIRD_UPDATE_V4));
    assert_eq!(
        u.announced,
        vec![p("198.51.100.0", 25), p("192.0.2.0", 24), p("10.0.0.0", 8)]
    );
    assert!(u.withdrawn.is_empty() && u.treat_as_withdraw.is_none() && u.discarded.is_empty());
    let a = u.attrs.unwrap();
    assert_eq!(a.origin, Origin::Igp);
    assert_eq!(a.as_path, vec![seq(&[65001])]);
    assert_eq!(a.next_hop, Some(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(a.med, Some(50));
    assert_eq!(a.communities, vec![(65001 << 16) | 100]);
    assert_eq!(a.large_communities, vec![[65001, 1, 2]]);
    assert_eq!(a.first_as(), Some(65001));
    assert_eq!(u.attr_key.len(), hex(BIRD_UPDATE_V4).len() - 23 - 11);

    let eor = dec(&hex(BIRD_EOR_V4));
    assert_eq!(eor.end_of_rib, Some(Family::Ipv4Unicast));
    assert!(eor.attrs.is_none());

    let u = dec(&hex(BIRD_UPDATE_V6));
    assert_eq!(
        u.announced,
        vec![p("2001:db8:1::", 48), p("2001:db8:2::", 64)]
    );
    let a = u.attrs.unwrap();
    assert_eq!(
        a.mp_next_hop,
        Some(MpNextHop::V6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: Some("fe80::a0ef:ff:fe1b:d824".parse().unwrap()),
        })
    );
    assert_eq!(a.next_hop, None);
    assert!(u.treat_as_withdraw.is_none());
    assert_eq!(u.end_of_rib, None);

    let eor = dec(&hex(BIRD_EOR_V6));
    assert_eq!(eor.end_of_rib, Some(Family::Ipv6Unicast));
    assert!(eor.attrs.is_none() && eor.withdrawn.is_empty());
}

#[test]
fn frr_updates() {
    let u = dec(&hex(FRR_UPDATE_V4));
    assert_eq!(u.announced, vec![p("198.18.0.0", 15), p("203.0.113.0", 24)]);
    let a = u.attrs.unwrap();
    assert_eq!(a.as_path, vec![seq(&[65002])]);
    assert_eq!(a.med, Some(0));
    assert!(u.treat_as_withdraw.is_none());

    let u = dec(&hex(FRR_UPDATE_V6));
    assert_eq!(u.announced, vec![p("2001:db8:3::", 48)]);
    assert_eq!(
        u.attrs.unwrap().mp_next_hop,
        Some(MpNextHop::V6 {
            global: "::ffff:192.0.2.1".parse().unwrap(),
            link_local: None,
        })
    );
    assert!(u.treat_as_withdraw.is_none());
}

#[test]
fn gobgp_updates_two_octet_session() {
    let ctx = two_octet();
    let u = dec_with(&hex(GOBGP_UPDATE_AGG), &ctx);
    assert_eq!(u.announced, vec![p("100.64.0.0", 10)]);
    assert!(
        u.treat_as_withdraw.is_none() && u.discarded.is_empty(),
        "{u:?}"
    );
    let a = u.attrs.unwrap();
    assert_eq!(a.origin, Origin::Incomplete);
    assert_eq!(a.as_path, vec![seq(&[4_200_000_003])]);
    assert_eq!(
        a.aggregator,
        Some((4_200_000_003, Ipv4Addr::new(10, 0, 0, 1)))
    );
    assert_eq!(a.communities, vec![(65000 << 16) | 1]);
    assert_eq!(a.large_communities, vec![[4_200_000_003, 1, 2]]);
    assert_eq!(a.med, Some(10));

    let u = dec_with(&hex(GOBGP_UPDATE_SET), &ctx);
    assert_eq!(u.announced, vec![p("100.65.1.0", 24)]);
    let a = u.attrs.unwrap();
    assert_eq!(
        a.as_path,
        vec![
            seq(&[4_200_000_003, 4_200_000_009, 65010]),
            set(&[65011, 4_200_000_012])
        ]
    );
    assert_eq!(a.as_path_len(), 4);
    assert_eq!(
        a.as_path_flat(),
        vec![4_200_000_003, 4_200_000_009, 65010, 65011, 4_200_000_012]
    );

    let u = dec_with(&hex(GOBGP_UPDATE_V6), &ctx);
    assert_eq!(u.announced, vec![p("2001:db8:4::", 48)]);
    assert_eq!(u.attrs.unwrap().as_path, vec![seq(&[4_200_000_003])]);
}

// RFC 7606 outcomes, one attribute at a time.

fn with(extra: Vec<u8>) -> Vec<u8> {
    let mut attrs = base();
    attrs.push(extra);
    update(&[], &attrs, NLRI)
}

fn replacing(i: usize, a: Vec<u8>) -> Vec<u8> {
    let mut attrs = base();
    attrs[i] = a;
    update(&[], &attrs, NLRI)
}

#[test]
fn well_formed_baseline() {
    let u = dec(&update(&[], &base(), NLRI));
    assert_eq!(u.announced, vec![p("198.51.100.0", 24)]);
    assert!(u.treat_as_withdraw.is_none() && u.discarded.is_empty());
}

#[test]
fn origin_malformed_withdraws() {
    assert_eq!(taw(&dec(&replacing(0, attr(0x40, 1, &[0, 0])))), 1);
    assert_eq!(taw(&dec(&replacing(0, attr(0x40, 1, &[3])))), 1);
    assert_eq!(taw(&dec(&replacing(0, attr(0xc0, 1, &[0])))), 1);
    // The Partial bit is not checked; the Extended Length bit is an encoding choice.
    assert!(dec(&replacing(0, attr(0x60, 1, &[2])))
        .treat_as_withdraw
        .is_none());
    let u = dec(&replacing(0, attr(0x50, 1, &[2])));
    assert_eq!(u.attrs.unwrap().origin, Origin::Incomplete);
    // The routes are still reported, to be handled as withdrawn.
    let u = dec(&replacing(0, attr(0x40, 1, &[7])));
    assert_eq!(u.announced, vec![p("198.51.100.0", 24)]);
    assert!(u.withdraws_all());
    assert!(u
        .treat_as_withdraw
        .unwrap()
        .to_string()
        .starts_with("ORIGIN attribute"));
}

#[test]
fn as_path_malformed_withdraws() {
    let path = |v: &[u8]| replacing(1, attr(0x40, 2, v));
    // Overrun, zero-length segment, bad type, a lone trailing octet, AS 0.
    assert_eq!(taw(&dec(&path(&[2, 2, 0, 0, 0xfd, 0xe9]))), 2);
    assert_eq!(taw(&dec(&path(&[2, 0]))), 2);
    assert_eq!(taw(&dec(&path(&[5, 1, 0, 0, 0xfd, 0xe9]))), 2);
    assert_eq!(taw(&dec(&path(&[2, 1, 0, 0, 0xfd, 0xe9, 2]))), 2);
    assert_eq!(taw(&dec(&path(&[2, 1, 0, 0, 0, 0]))), 2);
    assert_eq!(taw(&dec(&replacing(1, attr(0x80, 2, &[])))), 2);
    // An empty AS_PATH is well-formed (an iBGP-originated route).
    let u = dec_with(&path(&[]), &ibgp());
    assert!(u.treat_as_withdraw.is_none());
    // Confederation segments: an error from an external peer only (RFC 7606 §7.2).
    let confed = path(&[3, 1, 0, 0, 0xfd, 0xe9, 2, 1, 0, 0, 0xfd, 0xea]);
    assert_eq!(taw(&dec(&confed)), 2);
    let u = dec_with(&confed, &ibgp());
    assert!(u.treat_as_withdraw.is_none());
    let a = u.attrs.unwrap();
    assert_eq!(a.as_path_len(), 1);
    assert_eq!(a.first_as(), Some(65002));
}

#[test]
fn as_path_two_octet_peer() {
    let m = replacing(1, attr(0x40, 2, &[2, 2, 0xfd, 0xe9, 0x5b, 0xa0]));
    let u = dec_with(&m, &two_octet());
    assert_eq!(u.attrs.unwrap().as_path, vec![seq(&[65001, 23456])]);
    // Read as four-octet, the same bytes overrun.
    assert_eq!(taw(&dec(&m)), 2);
}

#[test]
fn next_hop_malformed() {
    assert_eq!(taw(&dec(&replacing(2, attr(0x40, 3, &[1, 2, 3, 4, 5])))), 3);
    for bad in [
        [0, 0, 0, 0],
        [224, 0, 0, 1],
        [239, 1, 2, 3],
        [255, 255, 255, 255],
    ] {
        assert_eq!(taw(&dec(&replacing(2, attr(0x40, 3, &bad)))), 3, "{bad:?}");
    }
    assert_eq!(taw(&dec(&replacing(2, attr(0xc0, 3, &[192, 0, 2, 1])))), 3);
    // Missing with an NLRI field.
    assert_eq!(taw(&dec(&update(&[], &base()[..2], NLRI))), 3);
    // An UPDATE with only MP_REACH_NLRI needs no NEXT_HOP; a bad one is ignored (discarded).
    let mut attrs = vec![mp_reach_v6(&v6_hop(), NLRI6)];
    attrs.extend(base()[..2].iter().cloned());
    let u = dec(&update(&[], &attrs, &[]));
    assert!(u.treat_as_withdraw.is_none() && u.discarded.is_empty());
    assert_eq!(u.announced, vec![p("2001:db8:1::", 48)]);
    attrs.push(attr(0x40, 3, &[0, 0, 0, 0]));
    let u = dec(&update(&[], &attrs, &[]));
    assert!(u.treat_as_withdraw.is_none());
    assert_eq!(discarded(&u), vec![3]);
    assert_eq!(u.attrs.unwrap().next_hop, None);
}

#[test]
fn med_malformed_withdraws() {
    assert_eq!(taw(&dec(&with(attr(0x80, 4, &[0, 0, 1])))), 4);
    assert_eq!(taw(&dec(&with(attr(0x40, 4, &[0, 0, 0, 1])))), 4);
    assert_eq!(
        dec(&with(attr(0x80, 4, &[0, 0, 0, 9]))).attrs.unwrap().med,
        Some(9)
    );
}

#[test]
fn local_pref() {
    let good = attr(0x40, 5, &[0, 0, 0, 200]);
    // From an external peer: discarded, the rest stands.
    let u = dec(&with(good.clone()));
    assert!(u.treat_as_withdraw.is_none());
    assert_eq!(discarded(&u), vec![5]);
    let a = u.attrs.unwrap();
    assert_eq!(
        (a.local_pref, a.next_hop),
        (None, Some(Ipv4Addr::new(192, 0, 2, 1)))
    );
    // From an external peer even malformed it is only discarded.
    let u = dec(&with(attr(0x40, 5, &[0, 0, 1])));
    assert!(u.treat_as_withdraw.is_none());
    assert_eq!(discarded(&u), vec![5]);
    // Internal: kept; malformed withdraws.
    assert_eq!(
        dec_with(&with(good), &ibgp()).attrs.unwrap().local_pref,
        Some(200)
    );
    assert_eq!(taw(&dec_with(&with(attr(0x40, 5, &[0, 0, 1])), &ibgp())), 5);
    assert_eq!(
        taw(&dec_with(&with(attr(0x80, 5, &[0, 0, 0, 1])), &ibgp())),
        5
    );
}

#[test]
fn atomic_aggregate_and_aggregator_discarded() {
    let med = attr(0x80, 4, &[0, 0, 0, 7]);
    let mut attrs = base();
    attrs.push(med.clone());
    attrs.push(attr(0x40, 6, &[1]));
    let u = dec(&update(&[], &attrs, NLRI));
    assert!(u.treat_as_withdraw.is_none());
    assert_eq!(discarded(&u), vec![6]);
    let a = u.attrs.unwrap();
    assert!(!a.atomic_aggregate);
    // The other attributes of the UPDATE survive.
    assert_eq!(a.med, Some(7));
    assert_eq!(a.as_path, vec![seq(&[65001])]);

    assert!(
        dec(&with(attr(0x40, 6, &[])))
            .attrs
            .unwrap()
            .atomic_aggregate
    );
    assert_eq!(discarded(&dec(&with(attr(0x80, 6, &[])))), vec![6]);

    let agg4 = [0, 0, 0xfd, 0xe9, 10, 0, 0, 1];
    let u = dec(&with(attr(0xc0, 7, &agg4)));
    assert_eq!(
        u.attrs.unwrap().aggregator,
        Some((65001, Ipv4Addr::new(10, 0, 0, 1)))
    );
    for bad in [&agg4[..7], &agg4[2..]] {
        let u = dec(&with(attr(0xc0, 7, bad)));
        assert!(u.treat_as_withdraw.is_none());
        assert_eq!(discarded(&u), vec![7]);
        assert_eq!(u.attrs.unwrap().aggregator, None);
    }
    // Wrong flags and AS 0: discarded too.
    assert_eq!(discarded(&dec(&with(attr(0x40, 7, &agg4)))), vec![7]);
    assert_eq!(
        discarded(&dec(&with(attr(0xc0, 7, &[0, 0, 0, 0, 10, 0, 0, 1])))),
        vec![7]
    );
    // A two-octet peer's AGGREGATOR is six octets.
    let u = dec_with(&with_two_octet(attr(0xc0, 7, &agg4[2..])), &two_octet());
    assert_eq!(
        u.attrs.unwrap().aggregator,
        Some((65001, Ipv4Addr::new(10, 0, 0, 1)))
    );
}

/// base() with a two-octet AS_PATH, plus `extra`.
fn with_two_octet(extra: Vec<u8>) -> Vec<u8> {
    let mut attrs = base();
    attrs[1] = attr(0x40, 2, &[2, 1, 0xfd, 0xe9]);
    attrs.push(extra);
    update(&[], &attrs, NLRI)
}

#[test]
fn communities_malformed_withdraw() {
    assert_eq!(taw(&dec(&with(attr(0xc0, 8, &[0, 0, 0, 1, 2])))), 8);
    assert_eq!(taw(&dec(&with(attr(0xc0, 8, &[])))), 8);
    assert_eq!(taw(&dec(&with(attr(0x80, 8, &[0, 0, 0, 1])))), 8);
    let u = dec(&with(attr(0xd0, 8, &[0xff, 0xff, 0xff, 0x01, 0, 1, 0, 2])));
    assert_eq!(u.attrs.unwrap().communities, vec![0xffff_ff01, 0x0001_0002]);
}

#[test]
fn large_communities_malformed_withdraw() {
    assert_eq!(taw(&dec(&with(attr(0xc0, 32, &[0; 13])))), 32);
    assert_eq!(taw(&dec(&with(attr(0xc0, 32, &[])))), 32);
    // Duplicates are not malformed (RFC 8092 §6).
    let u = dec(&with(attr(0xc0, 32, &[1; 24])));
    assert_eq!(
        u.attrs.unwrap().large_communities,
        vec![[0x0101_0101; 3]; 2]
    );
}

#[test]
fn route_reflection_malformed_withdraw() {
    assert_eq!(taw(&dec_with(&with(attr(0x80, 9, &[1, 2, 3])), &ibgp())), 9);
    assert_eq!(
        taw(&dec_with(&with(attr(0xc0, 9, &[1, 2, 3, 4])), &ibgp())),
        9
    );
    assert_eq!(
        taw(&dec_with(
            &with(attr(0x80, 10, &[1, 2, 3, 4, 5, 6])),
            &ibgp()
        )),
        10
    );
    assert_eq!(taw(&dec_with(&with(attr(0x80, 10, &[])), &ibgp())), 10);
    let mut attrs = base();
    attrs.push(attr(0x80, 9, &[10, 0, 0, 9]));
    attrs.push(attr(0x80, 10, &[10, 0, 0, 1, 10, 0, 0, 2]));
    let a = dec_with(&update(&[], &attrs, NLRI), &ibgp()).attrs.unwrap();
    assert_eq!(a.originator_id, Some(Ipv4Addr::new(10, 0, 0, 9)));
    assert_eq!(
        a.cluster_list,
        vec![Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)]
    );
}

#[test]
fn mp_attributes_malformed_reset() {
    let mp_only = |mp: Vec<u8>| {
        let mut attrs = vec![mp];
        attrs.extend(base()[..2].iter().cloned());
        update(&[], &attrs, &[])
    };
    // Next hop length wrong for IPv6 (RFC 7606 §7.11): 3/9 with the attribute as data.
    let bad_hop = mp_reach_v6(&[0; 8], NLRI6);
    let m = mp_only(bad_hop.clone());
    assert_eq!(decode(&m, &ctx()), Err(Notification::new(3, 9, bad_hop)));
    // NLRI that does not parse; an attribute too short for its fixed fields.
    assert_eq!(reset(&mp_only(mp_reach_v6(&v6_hop(), &[129, 0]))), (3, 9));
    assert_eq!(reset(&mp_only(mp_reach_v6(&v6_hop(), &[64, 0x20]))), (3, 9));
    assert_eq!(reset(&mp_only(attr(0x80, 14, &[0, 2]))), (3, 9));
    assert_eq!(reset(&mp_only(attr(0x80, 14, &[0, 2, 1, 16, 0]))), (3, 9));
    assert_eq!(reset(&mp_only(mp_unreach_v6(&[48, 0x20]))), (3, 9));
    assert_eq!(reset(&mp_only(attr(0x80, 15, &[0, 2]))), (3, 9));
    // Flags: Attribute Flags Error.
    let mut bad_flags = mp_reach_v6(&v6_hop(), NLRI6);
    bad_flags[0] = 0xc0;
    assert_eq!(reset(&mp_only(bad_flags)), (3, 4));
    // An IPv6 next hop that no route can use withdraws.
    let mut mc = v6_hop();
    mc[0] = 0xff;
    assert_eq!(taw(&dec(&mp_only(mp_reach_v6(&mc, NLRI6)))), 14);
    assert_eq!(taw(&dec(&mp_only(mp_reach_v6(&[0; 16], NLRI6)))), 14);
    let mut ll = vec![0; 16];
    ll.extend_from_slice(&"fe80::1".parse::<Ipv6Addr>().unwrap().octets());
    assert!(dec(&mp_only(mp_reach_v6(&ll, NLRI6)))
        .treat_as_withdraw
        .is_none());
}

#[test]
fn mp_family_not_negotiated_is_skipped() {
    let v4_only = DecodeCtx {
        families: vec![Family::Ipv4Unicast],
        ..ctx()
    };
    let mut attrs = vec![mp_reach_v6(&v6_hop(), NLRI6)];
    attrs.extend(base());
    let u = dec_with(&update(&[], &attrs, NLRI), &v4_only);
    assert_eq!(u.announced, vec![p("198.51.100.0", 24)]);
    assert_eq!(discarded(&u), vec![14]);
    assert!(u.treat_as_withdraw.is_none());
    // VPNv4 (AFI 1 SAFI 128) is never parsed.
    let vpn = attr(
        0x80,
        14,
        &[
            0, 1, 128, 12, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1, 0, 88, 1, 2,
        ],
    );
    let u = dec(&update(&[], &[vpn, origin(), as_path(&[65001])], &[]));
    assert!(u.announced.is_empty() && u.treat_as_withdraw.is_none());
    assert_eq!(discarded(&u), vec![14]);
    // Its End-of-RIB is not ours.
    let eor = dec(&update(&[], &[attr(0x80, 15, &[0, 1, 128])], &[]));
    assert_eq!(eor.end_of_rib, None);
}

#[test]
fn duplicates() {
    // Any attribute but the MP ones: the first stands, the rest are discarded.
    let mut attrs = base();
    attrs.push(attr(0x40, 1, &[2]));
    let u = dec(&update(&[], &attrs, NLRI));
    assert!(u.treat_as_withdraw.is_none());
    assert_eq!(discarded(&u), vec![1]);
    assert_eq!(u.attrs.unwrap().origin, Origin::Igp);
    // Even a malformed duplicate.
    let mut attrs = base();
    attrs.push(attr(0x40, 1, &[2, 2, 2]));
    assert!(dec(&update(&[], &attrs, NLRI)).treat_as_withdraw.is_none());
    // MP_REACH_NLRI or MP_UNREACH_NLRI twice: Malformed Attribute List.
    let mut attrs = base();
    attrs.push(mp_reach_v6(&v6_hop(), NLRI6));
    attrs.push(mp_reach_v6(&v6_hop(), NLRI6));
    assert_eq!(reset(&update(&[], &attrs, NLRI)), (3, 1));
    let twice = update(&[], &[mp_unreach_v6(NLRI6), mp_unreach_v6(&[])], &[]);
    assert_eq!(reset(&twice), (3, 1));
}

#[test]
fn unparseable_attributes_withdraw() {
    // The last attribute claims more than the section holds: the NLRI is still found.
    let mut attrs = base();
    attrs.push(vec![0xc0, 8, 10, 0, 0, 0, 1]);
    let u = dec(&update(&[], &attrs, NLRI));
    assert_eq!(taw(&u), 8);
    assert_eq!(u.announced, vec![p("198.51.100.0", 24)]);
    // Fewer octets left than an attribute header.
    let mut attrs = base();
    attrs.push(vec![0x40, 1]);
    assert_eq!(taw(&dec(&update(&[], &attrs, NLRI))), 1);
    let mut attrs = base();
    attrs.push(vec![0x50, 1, 0]);
    assert_eq!(taw(&dec(&update(&[], &attrs, NLRI))), 1);
    let mut attrs = base();
    attrs.push(vec![0x40]);
    assert_eq!(taw(&dec(&update(&[], &attrs, NLRI))), 0);
    // An MP_UNREACH_NLRI parsed before the break still withdraws.
    let attrs = vec![mp_unreach_v6(NLRI6), vec![0x40, 1, 9, 0]];
    let u = dec(&update(&[], &attrs, &[]));
    assert_eq!(u.withdrawn, vec![p("2001:db8:1::", 48)]);
    assert_eq!(taw(&u), 1);
}

#[test]
fn inconsistent_lengths_reset() {
    // Withdrawn Routes Length past the message.
    let mut m = update(&[], &base(), NLRI);
    m[19..21].copy_from_slice(&500u16.to_be_bytes());
    assert_eq!(reset(&m), (3, 1));
    // Total Path Attribute Length past the message.
    let mut m = update(&[], &base(), NLRI);
    m[21..23].copy_from_slice(&500u16.to_be_bytes());
    assert_eq!(reset(&m), (3, 1));
    let mut m = update(&[24, 10, 0, 0], &[], &[]);
    m[19..21].copy_from_slice(&5u16.to_be_bytes());
    assert_eq!(reset(&m), (3, 1));
}

#[test]
fn bad_nlri_resets() {
    assert_eq!(reset(&update(&[], &base(), &[33, 1, 2, 3, 4, 5])), (3, 10));
    assert_eq!(reset(&update(&[], &base(), &[24, 10, 0])), (3, 10));
    assert_eq!(reset(&update(&[24, 10, 0], &[], &[])), (3, 10));
    assert_eq!(reset(&update(&[40, 10, 0, 0, 0, 0], &[], &[])), (3, 10));
}

#[test]
fn unknown_attributes() {
    // Optional transitive: kept, flags as received.
    let u = dec(&with(attr(0xc0, 99, &[1, 2, 3])));
    assert_eq!(
        u.attrs.unwrap().unknown,
        vec![RawAttr {
            flags: 0xc0,
            code: 99,
            data: vec![1, 2, 3]
        }]
    );
    // Optional non-transitive: dropped silently, but part of the key.
    let m = with(attr(0x80, 98, &[1]));
    let u = dec(&m);
    assert!(u.attrs.as_ref().unwrap().unknown.is_empty() && u.discarded.is_empty());
    assert!(u.attr_key.ends_with(&[0x80, 98, 1, 1]));
    // Well-known but unrecognised: 3/2 with the attribute (RFC 4271 §6.3).
    let bad = attr(0x40, 99, &[1]);
    assert_eq!(
        decode(&with(bad.clone()), &ctx()),
        Err(Notification::new(3, 2, bad))
    );
}

#[test]
fn missing_well_known_withdraw() {
    let u = dec(&update(&[], &[as_path(&[1]), next_hop()], NLRI));
    assert_eq!(taw(&u), 1);
    assert_eq!(taw(&dec(&update(&[], &[origin(), next_hop()], NLRI))), 2);
    // NLRI and no attributes at all.
    let u = dec(&update(&[], &[], NLRI));
    assert_eq!(taw(&u), 1);
    assert!(u.attrs.is_none());
    // MP_REACH_NLRI without ORIGIN.
    let u = dec(&update(
        &[],
        &[mp_reach_v6(&v6_hop(), NLRI6), as_path(&[1])],
        &[],
    ));
    assert_eq!(taw(&u), 1);
    // No NLRI at all: nothing to withdraw, nothing missing (RFC 7606 §5.2).
    let u = dec(&update(&[24, 10, 0, 0], &[origin()], &[]));
    assert!(u.treat_as_withdraw.is_none());
    assert_eq!(u.withdrawn, vec![p("10.0.0.0", 24)]);
}

#[test]
fn as4_attributes() {
    let two = two_octet();
    let t = [0x5b, 0xa0];
    // AS_PATH 65001 T, AS4_PATH 4200000003.
    let mut path = vec![2, 2, 0xfd, 0xe9];
    path.extend_from_slice(&t);
    let as4 = attr(0xc0, 17, &[2, 1, 0xfa, 0x56, 0xea, 0x03]);
    let mut attrs = base();
    attrs[1] = attr(0x40, 2, &path);
    attrs.push(as4.clone());
    let u = dec_with(&update(&[], &attrs, NLRI), &two);
    assert_eq!(u.attrs.unwrap().as_path, vec![seq(&[65001, 4_200_000_003])]);

    // A malformed AS4_PATH is discarded: AS_PATH stands.
    let mut bad = attrs.clone();
    bad[3] = attr(0xc0, 17, &[2, 2, 0xfa, 0x56, 0xea, 0x03]);
    let u = dec_with(&update(&[], &bad, NLRI), &two);
    assert!(u.treat_as_withdraw.is_none());
    assert_eq!(discarded(&u), vec![17]);
    assert_eq!(u.attrs.unwrap().as_path, vec![seq(&[65001, 23456])]);
    // AS 0 in AS4_PATH, wrong flags: discarded.
    bad[3] = attr(0xc0, 17, &[2, 1, 0, 0, 0, 0]);
    assert_eq!(
        discarded(&dec_with(&update(&[], &bad, NLRI), &two)),
        vec![17]
    );
    bad[3] = attr(0x80, 17, &[2, 1, 0xfa, 0x56, 0xea, 0x03]);
    assert_eq!(
        discarded(&dec_with(&update(&[], &bad, NLRI), &two)),
        vec![17]
    );
    // Confederation segments in AS4_PATH are dropped, the rest is used.
    bad[3] = attr(0xc0, 17, &[3, 1, 0, 0, 0, 9, 2, 1, 0xfa, 0x56, 0xea, 0x03]);
    let u = dec_with(&update(&[], &bad, NLRI), &two);
    assert_eq!(discarded(&u), vec![17]);
    assert_eq!(u.attrs.unwrap().as_path, vec![seq(&[65001, 4_200_000_003])]);

    // From a four-octet peer AS4_PATH and AS4_AGGREGATOR are discarded.
    let mut attrs4 = base();
    attrs4.push(as4);
    attrs4.push(attr(0xc0, 18, &[0xfa, 0x56, 0xea, 0x03, 10, 0, 0, 1]));
    let u = dec(&update(&[], &attrs4, NLRI));
    assert_eq!(discarded(&u), vec![17, 18]);
    assert_eq!(u.attrs.unwrap().as_path, vec![seq(&[65001])]);

    // AS4_AGGREGATOR of the wrong length: discarded.
    let u = dec_with(
        &with_two_octet(attr(0xc0, 18, &[0, 0, 0, 1, 10, 0, 0])),
        &two,
    );
    assert_eq!(discarded(&u), vec![18]);
    // AGGREGATOR other than AS_TRANS: AS4_AGGREGATOR and AS4_PATH are both stale.
    let mut attrs = vec![
        origin(),
        attr(0x40, 2, &[2, 2, 0x5b, 0xa0, 0xfd, 0xe9]),
        next_hop(),
        attr(0xc0, 7, &[0xfd, 0xe9, 10, 0, 0, 1]),
        attr(0xc0, 17, &[2, 2, 0xfa, 0x56, 0xea, 0x03, 0, 0, 0xfd, 0xe9]),
        attr(0xc0, 18, &[0xfa, 0x56, 0xea, 0x03, 10, 0, 0, 1]),
    ];
    let a = dec_with(&update(&[], &attrs, NLRI), &two).attrs.unwrap();
    assert_eq!(a.aggregator, Some((65001, Ipv4Addr::new(10, 0, 0, 1))));
    assert_eq!(a.as_path, vec![seq(&[23456, 65001])]);
    attrs[3] = attr(0xc0, 7, &[0x5b, 0xa0, 10, 0, 0, 1]);
    let a = dec_with(&update(&[], &attrs, NLRI), &two).attrs.unwrap();
    assert_eq!(
        a.aggregator,
        Some((4_200_000_003, Ipv4Addr::new(10, 0, 0, 1)))
    );
    assert_eq!(a.as_path, vec![seq(&[4_200_000_003, 65001])]);
}

#[test]
fn strongest_action_wins() {
    // treat-as-withdraw then a session reset: reset.
    let mut attrs = base();
    attrs[0] = attr(0x40, 1, &[9]);
    attrs.push(attr(0x40, 99, &[]));
    assert_eq!(reset(&update(&[], &attrs, NLRI)), (3, 2));
    // discard and treat-as-withdraw: both reported.
    let mut attrs = base();
    attrs.push(attr(0x40, 6, &[1]));
    attrs.push(attr(0x80, 4, &[1]));
    let u = dec(&update(&[], &attrs, NLRI));
    assert_eq!(taw(&u), 4);
    assert_eq!(discarded(&u), vec![6]);
}

#[test]
fn end_of_rib() {
    assert_eq!(
        dec(&update(&[], &[], &[])).end_of_rib,
        Some(Family::Ipv4Unicast)
    );
    let u = dec(&update(&[], &[mp_unreach_v6(&[])], &[]));
    assert_eq!(u.end_of_rib, Some(Family::Ipv6Unicast));
    assert!(u.attrs.is_none() && u.attr_key.is_empty());
    // Not an End-of-RIB: withdrawals, or another attribute beside MP_UNREACH_NLRI.
    assert_eq!(
        dec(&update(&[], &[mp_unreach_v6(NLRI6)], &[])).end_of_rib,
        None
    );
    assert_eq!(
        dec(&update(&[], &[mp_unreach_v6(&[]), origin()], &[])).end_of_rib,
        None
    );
    assert_eq!(dec(&update(&[24, 10, 0, 0], &[], &[])).end_of_rib, None);
    for family in [Family::Ipv4Unicast, Family::Ipv6Unicast] {
        let mut out = Vec::new();
        encode_end_of_rib(family, &mut out);
        assert_eq!(dec(&out).end_of_rib, Some(family));
    }
    let mut out = Vec::new();
    encode_end_of_rib(Family::Ipv6Unicast, &mut out);
    assert_eq!(out, hex(BIRD_EOR_V6));
}

#[test]
fn attr_key_ignores_the_mp_attributes() {
    let mk = |nlri: &[u8], withdrawn: &[u8]| {
        let mut attrs = vec![mp_unreach_v6(withdrawn), mp_reach_v6(&v6_hop(), nlri)];
        attrs.extend(base()[..2].iter().cloned());
        dec(&update(&[], &attrs, &[]))
    };
    let a = mk(NLRI6, &[]);
    let b = mk(&[64, 0x20, 1, 0xd, 0xb8, 0, 9, 0, 1], NLRI6);
    assert_eq!(a.attr_key, b.attr_key);
    assert_eq!(a.attr_key, [origin(), as_path(&[65001])].concat());
    assert_eq!(a.attrs, b.attrs);
}

// Encoding.

fn ipv4_attrs() -> PathAttrs {
    PathAttrs {
        as_path: vec![seq(&[65001, 4_200_000_000])],
        next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
        med: Some(5),
        communities: vec![1, 2],
        aggregator: Some((4_200_000_000, Ipv4Addr::new(10, 0, 0, 1))),
        unknown: vec![RawAttr {
            flags: 0xc0,
            code: 16,
            data: vec![0, 2, 0, 1, 0, 0, 0, 1],
        }],
        ..PathAttrs::default()
    }
}

/// The (flags, code) of each attribute of a single UPDATE, in order.
fn attr_codes(msg: &[u8]) -> Vec<(u8, u8)> {
    let wlen = u16::from_be_bytes([msg[19], msg[20]]) as usize;
    let at = 21 + wlen;
    let alen = u16::from_be_bytes([msg[at], msg[at + 1]]) as usize;
    let mut a = &msg[at + 2..at + 2 + alen];
    let mut out = Vec::new();
    while !a.is_empty() {
        let (flags, code) = (a[0], a[1]);
        let (len, hdr) = if flags & 0x10 != 0 {
            (u16::from_be_bytes([a[2], a[3]]) as usize, 4)
        } else {
            (a[2] as usize, 3)
        };
        out.push((flags, code));
        a = &a[hdr + len..];
    }
    out
}

#[test]
fn announce_layout() {
    let prefixes = [p("198.51.100.0", 24), p("2001:db8::", 32)];
    let mut out = Vec::new();
    let wide = EncodeCtx {
        four_octet_as: true,
    };
    assert_eq!(
        encode_announce(
            Family::Ipv4Unicast,
            &ipv4_attrs(),
            &prefixes,
            &wide,
            &mut out
        ),
        1
    );
    // Ascending type codes; the unknown transitive attribute with Partial set.
    assert_eq!(
        attr_codes(&out),
        vec![
            (0x40, 1),
            (0x40, 2),
            (0x40, 3),
            (0x80, 4),
            (0xc0, 7),
            (0xc0, 8),
            (0xe0, 16)
        ]
    );
    let u = dec(&out);
    assert_eq!(u.announced, vec![p("198.51.100.0", 24)]);
    assert_eq!(u.attrs.unwrap().unknown[0].flags, 0xe0);

    // A two-octet peer: AS_TRANS in AS_PATH and AGGREGATOR, the truth in AS4_*.
    out.clear();
    let narrow = EncodeCtx::default();
    encode_announce(
        Family::Ipv4Unicast,
        &ipv4_attrs(),
        &prefixes,
        &narrow,
        &mut out,
    );
    assert_eq!(
        attr_codes(&out),
        vec![
            (0x40, 1),
            (0x40, 2),
            (0x40, 3),
            (0x80, 4),
            (0xc0, 7),
            (0xc0, 8),
            (0xe0, 16),
            (0xc0, 17),
            (0xc0, 18)
        ]
    );
    assert!(out
        .windows(9)
        .any(|w| w == [0x40, 2, 6, 2, 2, 0xfd, 0xe9, 0x5b, 0xa0]));
    let a = dec_with(&out, &two_octet()).attrs.unwrap();
    assert_eq!(a.as_path, ipv4_attrs().as_path);
    assert_eq!(a.aggregator, ipv4_attrs().aggregator);
    // All ASNs fit two octets: no AS4 attributes.
    let small = PathAttrs {
        as_path: vec![seq(&[65001])],
        aggregator: Some((65001, Ipv4Addr::new(10, 0, 0, 1))),
        ..ipv4_attrs()
    };
    out.clear();
    encode_announce(Family::Ipv4Unicast, &small, &prefixes, &narrow, &mut out);
    assert!(!attr_codes(&out).iter().any(|&(_, c)| c == 17 || c == 18));

    // IPv6: MP_REACH_NLRI first (RFC 7606 §5.1), no NEXT_HOP.
    out.clear();
    let v6 = PathAttrs {
        mp_next_hop: Some(MpNextHop::V6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: Some("fe80::1".parse().unwrap()),
        }),
        ..ipv4_attrs()
    };
    encode_announce(Family::Ipv6Unicast, &v6, &prefixes, &wide, &mut out);
    let codes = attr_codes(&out);
    assert_eq!(codes[0], (0x80, 14));
    assert!(!codes.iter().any(|&(_, c)| c == 3));
    let u = dec(&out);
    assert_eq!(u.announced, vec![p("2001:db8::", 32)]);
    assert_eq!(u.attrs.unwrap().mp_next_hop, v6.mp_next_hop);
}

#[test]
fn announce_extended_length() {
    let attrs = PathAttrs {
        communities: (0..100).collect(),
        ..ipv4_attrs()
    };
    let mut out = Vec::new();
    encode_announce(
        Family::Ipv4Unicast,
        &attrs,
        &[p("10.0.0.0", 8)],
        &EncodeCtx {
            four_octet_as: true,
        },
        &mut out,
    );
    assert!(attr_codes(&out).contains(&(0xd0, 8)));
    assert_eq!(dec(&out).attrs.unwrap().communities, attrs.communities);
    // Many IPv6 prefixes: MP_REACH_NLRI passes 255 octets.
    let v6: Vec<IpPrefix> = (0..100u16)
        .map(|i| p(&format!("2001:db8:{i:x}::"), 48))
        .collect();
    out.clear();
    let attrs = PathAttrs {
        mp_next_hop: Some(MpNextHop::V6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: None,
        }),
        ..PathAttrs::default()
    };
    encode_announce(
        Family::Ipv6Unicast,
        &attrs,
        &v6,
        &EncodeCtx::default(),
        &mut out,
    );
    assert_eq!(attr_codes(&out)[0], (0x90, 14));
    assert_eq!(dec(&out).announced, v6);
}

#[test]
fn announce_packs_full_messages() {
    // 2000 /24s at 4 octets each, 23 + 20 octets of overhead: 1013 per message.
    let prefixes: Vec<IpPrefix> = (0..2000u32)
        .map(|i| IpPrefix::V4(savin_rib::Prefix::new(0x0a00_0000 | (i << 8), 24)))
        .collect();
    let attrs = PathAttrs {
        as_path: vec![seq(&[65001])],
        next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
        ..PathAttrs::default()
    };
    let mut out = Vec::new();
    let n = encode_announce(
        Family::Ipv4Unicast,
        &attrs,
        &prefixes,
        &EncodeCtx {
            four_octet_as: true,
        },
        &mut out,
    );
    assert_eq!(n, 2000);
    let msgs = split(&out);
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].len(), 23 + 20 + 4 * 1013);
    let got: Vec<IpPrefix> = msgs.iter().flat_map(|m| dec(m).announced).collect();
    assert_eq!(got, prefixes);

    out.clear();
    encode_withdraw(Family::Ipv4Unicast, &prefixes, &mut out);
    let msgs = split(&out);
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].len(), 23 + 4 * 1018);
    let got: Vec<IpPrefix> = msgs.iter().flat_map(|m| dec(m).withdrawn).collect();
    assert_eq!(got, prefixes);
}

#[test]
fn announce_attributes_too_large() {
    let attrs = PathAttrs {
        communities: (0..1100).collect(),
        ..ipv4_attrs()
    };
    let mut out = Vec::new();
    let n = encode_announce(
        Family::Ipv4Unicast,
        &attrs,
        &[p("10.0.0.0", 8)],
        &EncodeCtx::default(),
        &mut out,
    );
    assert_eq!((n, out.len()), (0, 0));
}

#[test]
fn withdraw_and_other_family() {
    let mut out = Vec::new();
    encode_withdraw(Family::Ipv6Unicast, &[], &mut out);
    encode_withdraw(Family::Ipv6Unicast, &[p("10.0.0.0", 8)], &mut out);
    assert!(
        out.is_empty(),
        "an empty withdrawal would read as End-of-RIB"
    );
    encode_withdraw(
        Family::Ipv6Unicast,
        &[p("10.0.0.0", 8), p("2001:db8::", 32)],
        &mut out,
    );
    let u = dec(&out);
    assert_eq!(u.withdrawn, vec![p("2001:db8::", 32)]);
    assert_eq!(u.end_of_rib, None);
}

#[test]
fn update_message_round_trip() {
    let u = Update {
        withdrawn: vec![p("10.0.0.0", 8), p("2001:db8:9::", 48)],
        announced: vec![p("198.51.100.0", 24), p("2001:db8:1::", 48)],
        attrs: Some(PathAttrs {
            mp_next_hop: Some(MpNextHop::V6 {
                global: "2001:db8::1".parse().unwrap(),
                link_local: None,
            }),
            ..ipv4_attrs()
        }),
        attr_key: vec![],
        ..Update::default()
    };
    let mut out = Vec::new();
    encode(
        &Message::Update(u.clone()),
        &EncodeCtx {
            four_octet_as: true,
        },
        &mut out,
    );
    let got = dec(&out);
    assert_eq!(got.withdrawn, u.withdrawn);
    assert_eq!(got.announced, u.announced);
    // Passed on with the Partial bit.
    let mut want = u.attrs.unwrap();
    want.unknown[0].flags |= 0x20;
    assert_eq!(got.attrs, Some(want));
}

// Round trips over arbitrary attributes and prefixes.

fn both() -> DecodeCtx {
    DecodeCtx {
        four_octet_as: true,
        ebgp: false,
        families: vec![Family::Ipv4Unicast, Family::Ipv6Unicast],
    }
}

fn family_of(p: &IpPrefix) -> Family {
    match p {
        IpPrefix::V4(_) => Family::Ipv4Unicast,
        IpPrefix::V6(_) => Family::Ipv6Unicast,
    }
}

fn wire_len(p: &IpPrefix) -> usize {
    1 + (p.length() as usize).div_ceil(8)
}

fn check_announce(
    family: Family,
    attrs: &PathAttrs,
    prefixes: &[IpPrefix],
    four: bool,
) -> Result<(), TestCaseError> {
    let mut out = Vec::new();
    let ectx = EncodeCtx {
        four_octet_as: four,
    };
    let n = encode_announce(family, attrs, prefixes, &ectx, &mut out);
    let expect: Vec<IpPrefix> = prefixes
        .iter()
        .filter(|p| family_of(p) == family)
        .copied()
        .collect();
    prop_assert_eq!(n, expect.len());
    let mut want = attrs.clone();
    match family {
        Family::Ipv4Unicast => want.mp_next_hop = None,
        Family::Ipv6Unicast => want.next_hop = None,
    }
    let dctx = DecodeCtx {
        four_octet_as: four,
        ..both()
    };
    let msgs = split(&out);
    let mut got = Vec::new();
    let mut key = None;
    for (i, m) in msgs.iter().enumerate() {
        let u = dec_with(m, &dctx);
        prop_assert_eq!(&u.treat_as_withdraw, &None);
        prop_assert!(u.discarded.is_empty(), "{:?}", u.discarded);
        prop_assert!(u.withdrawn.is_empty());
        prop_assert_eq!(u.attrs.as_ref(), Some(&want));
        // Every message of one announcement interns to the same attribute set.
        prop_assert_eq!(key.get_or_insert_with(|| u.attr_key.clone()), &u.attr_key);
        got.extend_from_slice(&u.announced);
        // As few messages as fit: the next prefix would not have fit in this one.
        if i + 1 < msgs.len() {
            prop_assert!(m.len() + wire_len(&expect[got.len()]) > MAX_LEN);
        }
    }
    prop_assert_eq!(got, expect);
    Ok(())
}

fn check_withdraw(family: Family, prefixes: &[IpPrefix]) -> Result<(), TestCaseError> {
    let mut out = Vec::new();
    encode_withdraw(family, prefixes, &mut out);
    let expect: Vec<IpPrefix> = prefixes
        .iter()
        .filter(|p| family_of(p) == family)
        .copied()
        .collect();
    let mut got = Vec::new();
    for m in split(&out) {
        let u = dec_with(m, &both());
        prop_assert!(u.announced.is_empty() && u.treat_as_withdraw.is_none());
        prop_assert_eq!(u.end_of_rib, None);
        got.extend(u.withdrawn);
    }
    prop_assert_eq!(got, expect);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn announce_round_trip_v4(
        attrs in arb_attrs(Family::Ipv4Unicast),
        prefixes in vec(arb_prefix(), 0..1500),
        four in any::<bool>(),
    ) {
        check_announce(Family::Ipv4Unicast, &attrs, &prefixes, four)?;
    }

    #[test]
    fn announce_round_trip_v6(
        attrs in arb_attrs(Family::Ipv6Unicast),
        prefixes in vec(arb_prefix(), 0..800),
        four in any::<bool>(),
    ) {
        check_announce(Family::Ipv6Unicast, &attrs, &prefixes, four)?;
    }

    #[test]
    fn withdraw_round_trip(prefixes in vec(arb_prefix(), 0..2000)) {
        check_withdraw(Family::Ipv4Unicast, &prefixes)?;
        check_withdraw(Family::Ipv6Unicast, &prefixes)?;
    }

    /// Whatever the bytes, framing and decoding return a value.
    #[test]
    fn hostile_bytes_never_panic(body in vec(any::<u8>(), 0..200), ty in 1u8..=5) {
        let m = message(ty, &body);
        let ctxs = [ctx(), two_octet(), ibgp(), DecodeCtx::default()];
        let _ = frame(&m);
        for c in &ctxs {
            let _ = decode(&m, c);
        }
    }

    /// Hostile attribute sections: never a panic, and a reset only for what RFC 7606 resets.
    #[test]
    fn hostile_attributes(attrs in vec(any::<u8>(), 0..300), nlri in vec(0u8..=32, 0..4)) {
        let mut nlri_bytes = Vec::new();
        let n_nlri = nlri.len();
        for len in nlri {
            nlri_bytes.push(len);
            nlri_bytes.extend(std::iter::repeat_n(10u8, (len as usize).div_ceil(8)));
        }
        let mut b = vec![0, 0];
        b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        b.extend_from_slice(&attrs);
        b.extend_from_slice(&nlri_bytes);
        let m = message(2, &b);
        for c in [ctx(), two_octet(), ibgp()] {
            match decode(&m, &c) {
                Ok(Message::Update(u)) => prop_assert!(u.announced.len() >= n_nlri),
                Ok(other) => prop_assert!(false, "{:?}", other),
                Err(n) => prop_assert!(
                    matches!((n.code, n.subcode), (3, 1) | (3, 2) | (3, 4) | (3, 9)),
                    "{:?}", n
                ),
            }
        }
    }
}
