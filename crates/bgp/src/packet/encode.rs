//! Writing messages: what the speaker sends, packed into as few UPDATEs as fit.

use std::net::{Ipv4Addr, Ipv6Addr};

use savin_rib::IpPrefix;

use super::attrs::{
    PathAttrs, RawAttr, Segment, AGGREGATOR, AS4_AGGREGATOR, AS4_PATH, AS_PATH, AS_TRANS,
    ATOMIC_AGGREGATE, CLUSTER_LIST, COMMUNITIES, EXTENDED, LARGE_COMMUNITY, LOCAL_PREF, MED,
    MP_REACH, MP_UNREACH, NEXT_HOP, OPTIONAL, ORIGIN, ORIGINATOR_ID, PARTIAL, TRANSITIVE,
};
use super::nlri::{self, family_of};
use super::{
    open, Family, Message, MpNextHop, HEADER_LEN, MAX_LEN, MSG_KEEPALIVE, MSG_NOTIFICATION,
    MSG_OPEN, MSG_ROUTE_REFRESH, MSG_UPDATE,
};

/// What the peer negotiated, for writing.
#[derive(Debug, Clone, Default)]
pub struct EncodeCtx {
    /// Both sides sent the four-octet AS capability: otherwise ASNs past 65535 travel as
    /// AS_TRANS with AS4_PATH and AS4_AGGREGATOR (RFC 6793).
    pub four_octet_as: bool,
}

/// Starts a message of type `ty`; [`finish`] fills in its length.
fn begin(out: &mut Vec<u8>, ty: u8) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0xff; 16]);
    out.extend_from_slice(&[0, 0, ty]);
    start
}

fn finish(out: &mut [u8], start: usize) {
    let len = out.len() - start;
    debug_assert!(len <= MAX_LEN, "a message of {len} octets");
    let len = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
    if let Some(field) = out.get_mut(start + 16..start + 18) {
        field.copy_from_slice(&len);
    }
}

fn put_u16(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&u16::try_from(v).unwrap_or(u16::MAX).to_be_bytes());
}

/// Appends one message. OPEN carries its capabilities as one Capabilities parameter, as FRR
/// and BIRD send them. An UPDATE is written as it stands (for tests: the speaker uses
/// [`encode_announce`] and [`encode_withdraw`], which keep within [`MAX_LEN`]).
pub fn encode(msg: &Message, ctx: &EncodeCtx, out: &mut Vec<u8>) {
    match msg {
        Message::Open(o) => {
            let start = begin(out, MSG_OPEN);
            open::encode(o, out);
            finish(out, start);
        }
        Message::Update(u) => {
            let start = begin(out, MSG_UPDATE);
            let mut field = Vec::new();
            for p in u
                .withdrawn
                .iter()
                .filter(|p| family_of(p) == Family::Ipv4Unicast)
            {
                nlri::write(p, &mut field);
            }
            put_u16(out, field.len());
            out.extend_from_slice(&field);

            let mut attrs = Vec::new();
            let v6 = |p: &&IpPrefix| family_of(p) == Family::Ipv6Unicast;
            if u.withdrawn.iter().any(|p| v6(&p)) || u.end_of_rib == Some(Family::Ipv6Unicast) {
                let mut value = mp_head(Family::Ipv6Unicast);
                u.withdrawn
                    .iter()
                    .filter(v6)
                    .for_each(|p| nlri::write(p, &mut value));
                write_attr(&mut attrs, OPTIONAL, MP_UNREACH, &value);
            }
            if u.announced.iter().any(|p| v6(&p)) {
                let hop = u.attrs.as_ref().and_then(|a| a.mp_next_hop);
                let mut value = mp_reach_head(Family::Ipv6Unicast, hop);
                u.announced
                    .iter()
                    .filter(v6)
                    .for_each(|p| nlri::write(p, &mut value));
                write_attr(&mut attrs, OPTIONAL, MP_REACH, &value);
            }
            if let Some(a) = &u.attrs {
                write_path_attrs(a, a.next_hop, ctx, &mut attrs);
            }
            put_u16(out, attrs.len());
            out.extend_from_slice(&attrs);
            for p in u
                .announced
                .iter()
                .filter(|p| family_of(p) == Family::Ipv4Unicast)
            {
                nlri::write(p, out);
            }
            finish(out, start);
        }
        Message::Notification(n) => {
            let start = begin(out, MSG_NOTIFICATION);
            out.push(n.code);
            out.push(n.subcode);
            let room = MAX_LEN - HEADER_LEN - 2;
            out.extend_from_slice(n.data.get(..room).unwrap_or(&n.data));
            finish(out, start);
        }
        Message::Keepalive => {
            let start = begin(out, MSG_KEEPALIVE);
            finish(out, start);
        }
        Message::RouteRefresh(rr) => {
            let start = begin(out, MSG_ROUTE_REFRESH);
            out.extend_from_slice(&rr.afi.to_be_bytes());
            out.push(rr.subtype);
            out.push(rr.safi);
            finish(out, start);
        }
    }
}

/// AFI and SAFI, the head of both MP attributes.
fn mp_head(family: Family) -> Vec<u8> {
    let (afi, safi) = family.afi_safi();
    let mut v = Vec::with_capacity(64);
    v.extend_from_slice(&afi.to_be_bytes());
    v.push(safi);
    v
}

/// MP_REACH_NLRI up to its NLRI: AFI, SAFI, the next hop (RFC 2545: global, then link-local
/// when there is one) and the reserved octet. A missing next hop is written as unspecified:
/// the caller's mistake, which the peer will refuse rather than misroute.
fn mp_reach_head(family: Family, hop: Option<MpNextHop>) -> Vec<u8> {
    let mut v = mp_head(family);
    let hop_bytes: Vec<u8> = match (family, hop) {
        (Family::Ipv4Unicast, Some(MpNextHop::V4(a))) => a.octets().to_vec(),
        (Family::Ipv4Unicast, None) => Ipv4Addr::UNSPECIFIED.octets().to_vec(),
        (_, Some(MpNextHop::V6 { global, link_local })) => {
            let mut b = global.octets().to_vec();
            if let Some(ll) = link_local {
                b.extend_from_slice(&ll.octets());
            }
            b
        }
        (_, Some(MpNextHop::V4(a))) => a.to_ipv6_mapped().octets().to_vec(),
        (_, None) => Ipv6Addr::UNSPECIFIED.octets().to_vec(),
    };
    v.push(hop_bytes.len() as u8);
    v.extend_from_slice(&hop_bytes);
    v.push(0);
    v
}

/// Appends one attribute, with the Extended Length flag when the value passes 255 octets.
/// A value past 65535 octets cannot be written and is skipped (it would not fit a message).
fn write_attr(out: &mut Vec<u8>, flags: u8, code: u8, value: &[u8]) {
    let flags = flags & !EXTENDED;
    if let Ok(len) = u8::try_from(value.len()) {
        out.extend_from_slice(&[flags, code, len]);
    } else if let Ok(len) = u16::try_from(value.len()) {
        out.extend_from_slice(&[flags | EXTENDED, code]);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        return;
    }
    out.extend_from_slice(value);
}

/// Type codes the writer produces itself; a [`RawAttr`] with one of them is not written.
fn managed(code: u8) -> bool {
    matches!(
        code,
        1..=10 | MP_REACH | MP_UNREACH | AS4_PATH | AS4_AGGREGATOR | LARGE_COMMUNITY
    )
}

/// Writes `path` with `width`-octet ASNs (two: ASNs past 65535 become AS_TRANS). Segments are
/// cut at 255 ASNs, the most a segment holds; empty ones are left out.
fn write_segments<'a>(path: impl Iterator<Item = &'a Segment>, width: usize, v: &mut Vec<u8>) {
    for seg in path {
        for chunk in seg.asns.chunks(255) {
            v.push(seg.kind.to_u8());
            v.push(chunk.len() as u8);
            for &asn in chunk {
                if width == 4 {
                    v.extend_from_slice(&asn.to_be_bytes());
                } else {
                    let asn = u16::try_from(asn).unwrap_or(AS_TRANS as u16);
                    v.extend_from_slice(&asn.to_be_bytes());
                }
            }
        }
    }
}

/// Appends the path attributes other than the MP ones, in ascending type code order
/// (RFC 4271 §5), unknown transitive ones among them with the Partial bit set. NEXT_HOP is
/// written when `next_hop` is given.
fn write_path_attrs(a: &PathAttrs, next_hop: Option<Ipv4Addr>, ctx: &EncodeCtx, out: &mut Vec<u8>) {
    let mut unknown: Vec<&RawAttr> = a
        .unknown
        .iter()
        .filter(|u| u.flags & OPTIONAL != 0 && !managed(u.code))
        .collect();
    unknown.sort_by_key(|u| u.code);
    let mut unknown = unknown.into_iter().peekable();
    let mut v = Vec::new();
    let wide = ctx.four_octet_as;
    let as4_needed = !wide
        && a.as_path
            .iter()
            .any(|s| !s.kind.is_confed() && s.asns.iter().any(|&x| x > 0xffff));
    let wk = TRANSITIVE;
    let opt_t = OPTIONAL | TRANSITIVE;

    for code in [
        ORIGIN,
        AS_PATH,
        NEXT_HOP,
        MED,
        LOCAL_PREF,
        ATOMIC_AGGREGATE,
        AGGREGATOR,
        COMMUNITIES,
        ORIGINATOR_ID,
        CLUSTER_LIST,
        AS4_PATH,
        AS4_AGGREGATOR,
        LARGE_COMMUNITY,
    ] {
        while let Some(u) = unknown.next_if(|u| u.code < code) {
            write_unknown(u, out);
        }
        v.clear();
        let flags = match code {
            ORIGIN => {
                v.push(a.origin.to_u8());
                wk
            }
            AS_PATH => {
                write_segments(a.as_path.iter(), if wide { 4 } else { 2 }, &mut v);
                wk
            }
            NEXT_HOP => match next_hop {
                Some(hop) => {
                    v.extend_from_slice(&hop.octets());
                    wk
                }
                None => continue,
            },
            MED => match a.med {
                Some(m) => {
                    v.extend_from_slice(&m.to_be_bytes());
                    OPTIONAL
                }
                None => continue,
            },
            LOCAL_PREF => match a.local_pref {
                Some(l) => {
                    v.extend_from_slice(&l.to_be_bytes());
                    wk
                }
                None => continue,
            },
            ATOMIC_AGGREGATE if a.atomic_aggregate => wk,
            AGGREGATOR => match a.aggregator {
                Some((asn, ip)) => {
                    if wide {
                        v.extend_from_slice(&asn.to_be_bytes());
                    } else {
                        let asn = u16::try_from(asn).unwrap_or(AS_TRANS as u16);
                        v.extend_from_slice(&asn.to_be_bytes());
                    }
                    v.extend_from_slice(&ip.octets());
                    opt_t
                }
                None => continue,
            },
            COMMUNITIES if !a.communities.is_empty() => {
                a.communities
                    .iter()
                    .for_each(|c| v.extend_from_slice(&c.to_be_bytes()));
                opt_t
            }
            ORIGINATOR_ID => match a.originator_id {
                Some(id) => {
                    v.extend_from_slice(&id.octets());
                    OPTIONAL
                }
                None => continue,
            },
            CLUSTER_LIST if !a.cluster_list.is_empty() => {
                a.cluster_list
                    .iter()
                    .for_each(|c| v.extend_from_slice(&c.octets()));
                OPTIONAL
            }
            AS4_PATH if as4_needed => {
                write_segments(a.as_path.iter().filter(|s| !s.kind.is_confed()), 4, &mut v);
                opt_t
            }
            AS4_AGGREGATOR => match a.aggregator {
                Some((asn, ip)) if !wide && asn > 0xffff => {
                    v.extend_from_slice(&asn.to_be_bytes());
                    v.extend_from_slice(&ip.octets());
                    opt_t
                }
                _ => continue,
            },
            LARGE_COMMUNITY if !a.large_communities.is_empty() => {
                for c in &a.large_communities {
                    c.iter().for_each(|w| v.extend_from_slice(&w.to_be_bytes()));
                }
                opt_t
            }
            _ => continue,
        };
        write_attr(out, flags, code, &v);
    }
    for u in unknown {
        write_unknown(u, out);
    }
}

/// An unrecognised attribute passed on: RFC 4271 §5 sets Partial on transitive ones.
fn write_unknown(u: &RawAttr, out: &mut Vec<u8>) {
    let mut flags = u.flags & (OPTIONAL | TRANSITIVE | PARTIAL);
    if flags & TRANSITIVE != 0 {
        flags |= PARTIAL;
    }
    write_attr(out, flags, u.code, &u.data);
}

/// Fills `nlri` with the prefixes from `iter` that fit in `room` octets, stopping before the
/// first that does not. Returns how many were taken.
fn fill<'a>(
    iter: &mut std::iter::Peekable<impl Iterator<Item = &'a IpPrefix>>,
    room: usize,
    nlri: &mut Vec<u8>,
) -> usize {
    nlri.clear();
    let mut n = 0;
    while let Some(p) = iter.next_if(|p| nlri.len() + nlri::wire_len(p) <= room) {
        nlri::write(p, nlri);
        n += 1;
    }
    n
}

/// Appends UPDATEs announcing the `family` prefixes of `prefixes` with `attrs`, as few as fit
/// in [`MAX_LEN`] each: IPv4 in the NLRI field with NEXT_HOP (`attrs.next_hop`, else an IPv4
/// `mp_next_hop`), IPv6 in MP_REACH_NLRI (written first, RFC 7606 §5.1) with
/// `attrs.mp_next_hop`. Prefixes of the other family are skipped.
///
/// Returns how many prefixes were written: all of the family's, unless the attributes leave no
/// room for the next one (then it and those after it are not written).
pub fn encode_announce(
    family: Family,
    attrs: &PathAttrs,
    prefixes: &[IpPrefix],
    ctx: &EncodeCtx,
    out: &mut Vec<u8>,
) -> usize {
    let mut path = Vec::new();
    let next_hop = match family {
        Family::Ipv4Unicast => Some(attrs.next_hop.unwrap_or(match attrs.mp_next_hop {
            Some(MpNextHop::V4(a)) => a,
            _ => Ipv4Addr::UNSPECIFIED,
        })),
        Family::Ipv6Unicast => None,
    };
    write_path_attrs(attrs, next_hop, ctx, &mut path);
    let mp_head = family
        .is_v6()
        .then(|| mp_reach_head(family, attrs.mp_next_hop));
    // Header, the two length fields, the attributes, and MP_REACH_NLRI's header (extended,
    // the larger) and fixed fields.
    let overhead = HEADER_LEN + 4 + path.len() + mp_head.as_ref().map_or(0, |h| 4 + h.len());
    let Some(room) = MAX_LEN.checked_sub(overhead) else {
        return 0;
    };

    let mut iter = prefixes
        .iter()
        .filter(|p| family_of(p) == family)
        .peekable();
    let mut nlri_buf = Vec::with_capacity(room);
    let mut written = 0;
    loop {
        let n = fill(&mut iter, room, &mut nlri_buf);
        if n == 0 {
            return written;
        }
        written += n;
        let start = begin(out, MSG_UPDATE);
        put_u16(out, 0);
        match &mp_head {
            None => {
                put_u16(out, path.len());
                out.extend_from_slice(&path);
                out.extend_from_slice(&nlri_buf);
            }
            Some(head) => {
                let value_len = head.len() + nlri_buf.len();
                let attr_hdr = if value_len > 255 { 4 } else { 3 };
                put_u16(out, attr_hdr + value_len + path.len());
                if value_len > 255 {
                    out.extend_from_slice(&[OPTIONAL | EXTENDED, MP_REACH]);
                    put_u16(out, value_len);
                } else {
                    out.extend_from_slice(&[OPTIONAL, MP_REACH, value_len as u8]);
                }
                out.extend_from_slice(head);
                out.extend_from_slice(&nlri_buf);
                out.extend_from_slice(&path);
            }
        }
        finish(out, start);
    }
}

/// Appends UPDATEs withdrawing the `family` prefixes of `prefixes` (IPv4 in the Withdrawn
/// Routes field, IPv6 in MP_UNREACH_NLRI), as few as fit. Nothing for an empty list (an empty
/// withdrawal would read as End-of-RIB).
pub fn encode_withdraw(family: Family, prefixes: &[IpPrefix], out: &mut Vec<u8>) {
    let mut iter = prefixes
        .iter()
        .filter(|p| family_of(p) == family)
        .peekable();
    let head = mp_head(family);
    let room = match family {
        Family::Ipv4Unicast => MAX_LEN - HEADER_LEN - 4,
        Family::Ipv6Unicast => MAX_LEN - HEADER_LEN - 4 - 4 - head.len(),
    };
    let mut nlri_buf = Vec::with_capacity(room);
    while fill(&mut iter, room, &mut nlri_buf) > 0 {
        let start = begin(out, MSG_UPDATE);
        match family {
            Family::Ipv4Unicast => {
                put_u16(out, nlri_buf.len());
                out.extend_from_slice(&nlri_buf);
                put_u16(out, 0);
            }
            Family::Ipv6Unicast => {
                put_u16(out, 0);
                let value_len = head.len() + nlri_buf.len();
                let mut attr = Vec::with_capacity(value_len + 4);
                let mut value = head.clone();
                value.extend_from_slice(&nlri_buf);
                write_attr(&mut attr, OPTIONAL, MP_UNREACH, &value);
                put_u16(out, attr.len());
                out.extend_from_slice(&attr);
            }
        }
        finish(out, start);
    }
}

/// Appends the End-of-RIB marker of `family` (RFC 4724 §2): an empty UPDATE for IPv4 unicast,
/// an UPDATE holding only an empty MP_UNREACH_NLRI otherwise.
pub fn encode_end_of_rib(family: Family, out: &mut Vec<u8>) {
    let start = begin(out, MSG_UPDATE);
    put_u16(out, 0);
    match family {
        Family::Ipv4Unicast => put_u16(out, 0),
        Family::Ipv6Unicast => {
            let mut attr = Vec::new();
            write_attr(&mut attr, OPTIONAL, MP_UNREACH, &mp_head(family));
            put_u16(out, attr.len());
            out.extend_from_slice(&attr);
        }
    }
    finish(out, start);
}
