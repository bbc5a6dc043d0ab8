//! Shared by the codec's tests: real captures, message builders, strategies.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::prelude::*;
use savin_bgp::packet::{
    decode, frame, DecodeCtx, Family, Message, MpNextHop, Origin, PathAttrs, RawAttr, Segment,
    SegmentKind, Update,
};
use savin_rib::{IpPrefix, Prefix};

/// Messages as real speakers sent them, captured from BIRD 2.0.12, FRR 8.4.4 and GoBGP 3.10
/// over a veth pair (peer AS 65100, listener 192.0.2.100, speaker 192.0.2.1).
pub mod capture {
    /// BIRD: OPEN with MP IPv4+IPv6, route refresh, graceful restart, 4-octet AS 65001,
    /// enhanced route refresh, long-lived GR (71).
    pub const BIRD_OPEN: &str = "ffffffffffffffffffffffffffffffff00430104fde900f00aff00012602240104000100010104000200010200400a0078000101000002010041040000fde946004700";
    /// BIRD: IPv4 routes with MED 50, a community and a large community.
    pub const BIRD_UPDATE_V4: &str = "ffffffffffffffffffffffffffffffff005302000000314001010040020602010000fde9400304c000020180040400000032c00804fde90064c0200c0000fde9000000010000000219c633640018c00002080a";
    pub const BIRD_EOR_V4: &str = "ffffffffffffffffffffffffffffffff00170200000000";
    /// BIRD: IPv6 routes, MP_REACH_NLRI first with a global and a link-local next hop.
    pub const BIRD_UPDATE_V6: &str = "ffffffffffffffffffffffffffffffff005d0200000046900e00350002012020010db8000000000000000000000001fe80000000000000a0ef00fffe1bd824003020010db800014020010db8000200004001010040020602010000fde9";
    pub const BIRD_EOR_V6: &str = "ffffffffffffffffffffffffffffffff001d0200000006800f03000201";
    /// BIRD on shutdown: Cease, Administrative Shutdown.
    pub const BIRD_CEASE: &str = "ffffffffffffffffffffffffffffffff0015030602";
    pub const KEEPALIVE: &str = "ffffffffffffffffffffffffffffffff001304";

    /// FRR: one capability per parameter, Cisco route refresh (128), ADD-PATH (69), FQDN (73)
    /// "frrcap", GR with the restart bit, LLGR (71).
    pub const FRR_OPEN: &str = "ffffffffffffffffffffffffffffffff00750104fdea00b40aff00025802060104000100010206010400020001020280000202020002024600020641040000fdea02020600020a45080001010300020103020a4908066672726361700002044002c0780210470e0001018000000000020180000000";
    /// FRR: AS_PATH with the Extended Length flag, MED 0.
    pub const FRR_UPDATE_V4: &str = "ffffffffffffffffffffffffffffffff003a020000001c400101005002000602010000fdea400304c0000201800404000000000fc61218cb0071";
    /// FRR: IPv6 over an IPv4 session: the next hop is IPv4-mapped.
    pub const FRR_UPDATE_V6: &str = "ffffffffffffffffffffffffffffffff004c0200000035900e001c0002011000000000000000000000ffffc0000201003020010db80003400101005002000602010000fdea80040400000000";

    /// GoBGP, AS 4200000003, towards a 2-octet peer: my AS is AS_TRANS; FQDN "vm", extended
    /// next hop (5).
    pub const GOBGP_OPEN: &str = "ffffffffffffffffffffffffffffffff004101045ba0005a0aff00032402220200490402766d000104000100010104000200014104fa56ea030506000100010002";
    /// GoBGP: AS_PATH [AS_TRANS] with AS4_PATH [4200000003], AGGREGATOR AS_TRANS with
    /// AS4_AGGREGATOR, a community, a large community, MED 10.
    pub const GOBGP_UPDATE_AGG: &str = "ffffffffffffffffffffffffffffffff0066020000004c4001010240020402015ba0400304c00002018004040000000ac007065ba00a000001c00804fde80001c0200cfa56ea030000000100000002c011060201fa56ea03c01208fa56ea030a0000010a6440";
    /// GoBGP: AS_PATH with a SET, 4-octet ASNs in both.
    pub const GOBGP_UPDATE_SET: &str = "ffffffffffffffffffffffffffffffff005202000000374001010240020e02035ba05ba0fdf20102fdf35ba0400304c0000201c011180203fa56ea03fa56ea090000fdf201020000fdf3fa56ea0c18644101";
    pub const GOBGP_UPDATE_V6: &str = "ffffffffffffffffffffffffffffffff004a02000000334001010240020402015ba0800e1c0002011020010db8000000000000000000000003003020010db80004c011060201fa56ea03";
    /// GoBGP on shutdown: Cease, Peer De-configured.
    pub const GOBGP_CEASE: &str = "ffffffffffffffffffffffffffffffff0015030603";
}

pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub fn p(s: &str, len: u8) -> IpPrefix {
    IpPrefix::new(s.parse::<IpAddr>().unwrap(), len)
}

pub fn message(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    m.push(ty);
    m.extend_from_slice(body);
    m
}

pub fn update(withdrawn: &[u8], attrs: &[Vec<u8>], nlri: &[u8]) -> Vec<u8> {
    let a = attrs.concat();
    let mut b = Vec::new();
    b.extend_from_slice(&(withdrawn.len() as u16).to_be_bytes());
    b.extend_from_slice(withdrawn);
    b.extend_from_slice(&(a.len() as u16).to_be_bytes());
    b.extend_from_slice(&a);
    b.extend_from_slice(nlri);
    message(2, &b)
}

/// One attribute TLV; the Extended Length flag in `flags` picks the two-octet length.
pub fn attr(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let mut a = vec![flags, code];
    if flags & 0x10 != 0 {
        a.extend_from_slice(&(value.len() as u16).to_be_bytes());
    } else {
        a.push(value.len() as u8);
    }
    a.extend_from_slice(value);
    a
}

pub fn origin() -> Vec<u8> {
    attr(0x40, 1, &[0])
}

/// AS_PATH, one AS_SEQUENCE of four-octet ASNs.
pub fn as_path(asns: &[u32]) -> Vec<u8> {
    let mut v = vec![2, asns.len() as u8];
    asns.iter()
        .for_each(|a| v.extend_from_slice(&a.to_be_bytes()));
    attr(0x40, 2, &v)
}

pub fn next_hop() -> Vec<u8> {
    attr(0x40, 3, &[192, 0, 2, 1])
}

/// ORIGIN, AS_PATH 65001, NEXT_HOP 192.0.2.1.
pub fn base() -> Vec<Vec<u8>> {
    vec![origin(), as_path(&[65001]), next_hop()]
}

/// 198.51.100.0/24.
pub const NLRI: &[u8] = &[24, 198, 51, 100];

/// MP_REACH_NLRI for IPv6 unicast.
pub fn mp_reach_v6(nh: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 2, 1, nh.len() as u8];
    v.extend_from_slice(nh);
    v.push(0);
    v.extend_from_slice(nlri);
    attr(0x80, 14, &v)
}

pub fn mp_unreach_v6(nlri: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 2, 1];
    v.extend_from_slice(nlri);
    attr(0x80, 15, &v)
}

pub fn v6_hop() -> Vec<u8> {
    "2001:db8::1".parse::<Ipv6Addr>().unwrap().octets().to_vec()
}

/// 2001:db8:1::/48.
pub const NLRI6: &[u8] = &[48, 0x20, 0x01, 0x0d, 0xb8, 0, 1];

/// A four-octet eBGP peer with both families.
pub fn ctx() -> DecodeCtx {
    DecodeCtx {
        four_octet_as: true,
        ebgp: true,
        families: vec![Family::Ipv4Unicast, Family::Ipv6Unicast],
    }
}

pub fn ibgp() -> DecodeCtx {
    DecodeCtx {
        ebgp: false,
        ..ctx()
    }
}

pub fn two_octet() -> DecodeCtx {
    DecodeCtx {
        four_octet_as: false,
        ..ctx()
    }
}

pub fn dec_with(m: &[u8], ctx: &DecodeCtx) -> Update {
    assert_eq!(frame(m), Ok(Some(m.len())), "the test message frames");
    match decode(m, ctx) {
        Ok(Message::Update(u)) => u,
        other => panic!("not an update: {other:?}"),
    }
}

pub fn dec(m: &[u8]) -> Update {
    dec_with(m, &ctx())
}

/// The attribute an UPDATE was treated as withdrawn for.
pub fn taw(u: &Update) -> u8 {
    u.treat_as_withdraw
        .as_ref()
        .unwrap_or_else(|| panic!("not treat-as-withdraw: {u:?}"))
        .code
}

pub fn discarded(u: &Update) -> Vec<u8> {
    u.discarded.iter().map(|e| e.code).collect()
}

/// The (code, subcode) of a decode that must reset the session.
pub fn reset_with(m: &[u8], ctx: &DecodeCtx) -> (u8, u8) {
    match decode(m, ctx) {
        Err(n) => (n.code, n.subcode),
        Ok(other) => panic!("decoded: {other:?}"),
    }
}

pub fn reset(m: &[u8]) -> (u8, u8) {
    reset_with(m, &ctx())
}

pub fn seq(asns: &[u32]) -> Segment {
    Segment {
        kind: SegmentKind::Sequence,
        asns: asns.to_vec(),
    }
}

pub fn set(asns: &[u32]) -> Segment {
    Segment {
        kind: SegmentKind::Set,
        asns: asns.to_vec(),
    }
}

// Strategies.

pub fn arb_prefix() -> impl Strategy<Value = IpPrefix> {
    prop_oneof![
        (any::<u32>(), 0..=32u8).prop_map(|(a, l)| IpPrefix::V4(Prefix::new(a, l))),
        (any::<u128>(), 0..=128u8).prop_map(|(a, l)| IpPrefix::V6(Prefix::new(a, l))),
    ]
}

fn arb_asn() -> impl Strategy<Value = u32> {
    prop_oneof![1u32..=65535, 65536u32..=u32::MAX]
}

/// A well-formed path: confederation segments (two-octet members) only in front, as RFC 5065
/// builds them.
fn arb_path() -> impl Strategy<Value = Vec<Segment>> {
    let confed = proptest::option::of((
        prop_oneof![
            Just(SegmentKind::ConfedSequence),
            Just(SegmentKind::ConfedSet)
        ],
        vec(1u32..=65535, 1..4),
    ));
    let segs = vec(
        (
            prop_oneof![Just(SegmentKind::Sequence), Just(SegmentKind::Set)],
            vec(arb_asn(), 1..8),
        ),
        0..4,
    );
    (confed, segs).prop_map(|(confed, segs)| {
        confed
            .into_iter()
            .chain(segs)
            .map(|(kind, asns)| Segment { kind, asns })
            .collect()
    })
}

/// A unicast IPv4 next hop.
fn arb_hop4() -> impl Strategy<Value = Ipv4Addr> {
    (1u8..224, any::<[u8; 3]>()).prop_map(|(a, [b, c, d])| Ipv4Addr::new(a, b, c, d))
}

fn arb_hop6() -> impl Strategy<Value = MpNextHop> {
    (
        (1u128 << 125)..(0xff00u128 << 112),
        proptest::option::of(any::<u128>()),
    )
        .prop_map(|(g, ll)| MpNextHop::V6 {
            global: Ipv6Addr::from(g),
            link_local: ll.map(Ipv6Addr::from),
        })
}

/// Unknown optional transitive attributes, ascending by code (the order they are written in),
/// Partial set (as they come back).
fn arb_unknown() -> impl Strategy<Value = Vec<RawAttr>> {
    proptest::sample::subsequence(vec![16u8, 20, 26, 35, 40, 128, 200, 255], 0..3).prop_flat_map(
        |codes| {
            let n = codes.len();
            vec(vec(any::<u8>(), 0..300), n).prop_map(move |datas| {
                codes
                    .iter()
                    .zip(datas)
                    .map(|(&code, data)| RawAttr {
                        flags: 0xe0,
                        code,
                        data,
                    })
                    .collect()
            })
        },
    )
}

/// Well-formed attributes for `family` (NEXT_HOP for IPv4, an MP next hop for IPv6).
pub fn arb_attrs(family: Family) -> impl Strategy<Value = PathAttrs> {
    let head = (
        prop_oneof![
            Just(Origin::Igp),
            Just(Origin::Egp),
            Just(Origin::Incomplete)
        ],
        arb_path(),
        arb_hop4(),
        arb_hop6(),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        any::<bool>(),
    );
    let tail = (
        proptest::option::of((1u32..=u32::MAX, any::<[u8; 4]>())),
        vec(any::<u32>(), 0..80),
        vec(any::<[u32; 3]>(), 0..8),
        proptest::option::of(any::<[u8; 4]>()),
        vec(any::<[u8; 4]>(), 0..5),
        arb_unknown(),
    );
    (head, tail).prop_map(
        move |(
            (origin, as_path, hop4, hop6, med, local_pref, atomic_aggregate),
            (aggregator, communities, large_communities, originator_id, cluster_list, unknown),
        )| {
            let v6 = family == Family::Ipv6Unicast;
            PathAttrs {
                origin,
                as_path,
                next_hop: (!v6).then_some(hop4),
                mp_next_hop: v6.then_some(hop6),
                med,
                local_pref,
                atomic_aggregate,
                aggregator: aggregator.map(|(a, ip)| (a, Ipv4Addr::from(ip))),
                communities,
                large_communities,
                originator_id: originator_id.map(Ipv4Addr::from),
                cluster_list: cluster_list.into_iter().map(Ipv4Addr::from).collect(),
                unknown,
            }
        },
    )
}

/// Splits a stream of messages, checking each frames and is at most 4096 octets.
pub fn split(mut buf: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let len = frame(buf).expect("frames").expect("a whole message");
        assert!(len <= savin_bgp::packet::MAX_LEN);
        out.push(&buf[..len]);
        buf = &buf[len..];
    }
    out
}
