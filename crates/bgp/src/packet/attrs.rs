//! Path attributes (RFC 4271 §5 and the RFCs that add them) and their parsing under RFC 7606.

use std::net::{Ipv4Addr, Ipv6Addr};

/// AS_TRANS (RFC 6793): stands in for a four-octet AS towards a two-octet speaker.
pub const AS_TRANS: u32 = 23456;

pub(crate) const ORIGIN: u8 = 1;
pub(crate) const AS_PATH: u8 = 2;
pub(crate) const NEXT_HOP: u8 = 3;
pub(crate) const MED: u8 = 4;
pub(crate) const LOCAL_PREF: u8 = 5;
pub(crate) const ATOMIC_AGGREGATE: u8 = 6;
pub(crate) const AGGREGATOR: u8 = 7;
pub(crate) const COMMUNITIES: u8 = 8;
pub(crate) const ORIGINATOR_ID: u8 = 9;
pub(crate) const CLUSTER_LIST: u8 = 10;
pub(crate) const MP_REACH: u8 = 14;
pub(crate) const MP_UNREACH: u8 = 15;
pub(crate) const AS4_PATH: u8 = 17;
pub(crate) const AS4_AGGREGATOR: u8 = 18;
pub(crate) const LARGE_COMMUNITY: u8 = 32;

/// Attribute flag bits (RFC 4271 §4.3).
pub(crate) const OPTIONAL: u8 = 0x80;
pub(crate) const TRANSITIVE: u8 = 0x40;
pub(crate) const PARTIAL: u8 = 0x20;
pub(crate) const EXTENDED: u8 = 0x10;

/// ORIGIN (RFC 4271 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Origin {
    #[default]
    Igp,
    Egp,
    Incomplete,
}

impl Origin {
    pub fn from_u8(v: u8) -> Option<Origin> {
        match v {
            0 => Some(Origin::Igp),
            1 => Some(Origin::Egp),
            2 => Some(Origin::Incomplete),
            _ => None,
        }
    }

    pub fn to_u8(self) -> u8 {
        match self {
            Origin::Igp => 0,
            Origin::Egp => 1,
            Origin::Incomplete => 2,
        }
    }

    /// The letter `show route` prints: I, E, ?.
    pub fn letter(self) -> char {
        match self {
            Origin::Igp => 'I',
            Origin::Egp => 'E',
            Origin::Incomplete => '?',
        }
    }
}

/// AS_PATH segment types (RFC 4271 §4.3, RFC 5065 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SegmentKind {
    Set,
    Sequence,
    ConfedSequence,
    ConfedSet,
}

impl SegmentKind {
    pub(crate) fn from_u8(v: u8) -> Option<SegmentKind> {
        match v {
            1 => Some(SegmentKind::Set),
            2 => Some(SegmentKind::Sequence),
            3 => Some(SegmentKind::ConfedSequence),
            4 => Some(SegmentKind::ConfedSet),
            _ => None,
        }
    }

    pub(crate) fn to_u8(self) -> u8 {
        match self {
            SegmentKind::Set => 1,
            SegmentKind::Sequence => 2,
            SegmentKind::ConfedSequence => 3,
            SegmentKind::ConfedSet => 4,
        }
    }

    pub fn is_confed(self) -> bool {
        matches!(self, SegmentKind::ConfedSequence | SegmentKind::ConfedSet)
    }

    /// What the segment adds to the path length (RFC 4271 §9.1.2.2, RFC 5065 §5.3).
    fn path_len(self, asns: usize) -> usize {
        match self {
            SegmentKind::Sequence => asns,
            SegmentKind::Set => 1,
            SegmentKind::ConfedSequence | SegmentKind::ConfedSet => 0,
        }
    }
}

/// One AS_PATH segment, nearest AS first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Segment {
    pub kind: SegmentKind,
    pub asns: Vec<u32>,
}

/// The next hop MP_REACH_NLRI carries (RFC 4760; RFC 2545 for IPv6, with an optional
/// link-local address second).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MpNextHop {
    V4(Ipv4Addr),
    V6 {
        global: Ipv6Addr,
        link_local: Option<Ipv6Addr>,
    },
}

/// An attribute the speaker does not interpret, kept to be passed on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawAttr {
    /// Optional, Transitive and Partial bits as received (the Extended Length bit is an
    /// encoding detail and is cleared).
    pub flags: u8,
    pub code: u8,
    pub data: Vec<u8>,
}

/// Why an attribute was discarded or an UPDATE treated as withdraw: for the log and for
/// `show bgp neighbor`'s last error.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{} attribute: {why}", attr_name(*.code))]
pub struct AttrError {
    /// The attribute's type code.
    pub code: u8,
    pub why: String,
}

impl AttrError {
    pub(crate) fn new(code: u8, why: impl Into<String>) -> Self {
        AttrError {
            code,
            why: why.into(),
        }
    }
}

/// The name of an attribute type code, as RFCs and FRR's logs spell it.
pub fn attr_name(code: u8) -> String {
    let name = match code {
        ORIGIN => "ORIGIN",
        AS_PATH => "AS_PATH",
        NEXT_HOP => "NEXT_HOP",
        MED => "MULTI_EXIT_DISC",
        LOCAL_PREF => "LOCAL_PREF",
        ATOMIC_AGGREGATE => "ATOMIC_AGGREGATE",
        AGGREGATOR => "AGGREGATOR",
        COMMUNITIES => "COMMUNITIES",
        ORIGINATOR_ID => "ORIGINATOR_ID",
        CLUSTER_LIST => "CLUSTER_LIST",
        MP_REACH => "MP_REACH_NLRI",
        MP_UNREACH => "MP_UNREACH_NLRI",
        16 => "EXTENDED_COMMUNITIES",
        AS4_PATH => "AS4_PATH",
        AS4_AGGREGATOR => "AS4_AGGREGATOR",
        LARGE_COMMUNITY => "LARGE_COMMUNITY",
        _ => return format!("type {code}"),
    };
    name.to_string()
}

/// The path attributes of a route, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PathAttrs {
    pub origin: Origin,
    /// With AS4_PATH already merged in when the peer speaks two-octet ASNs (RFC 6793 §4.2.3).
    pub as_path: Vec<Segment>,
    /// The NEXT_HOP attribute (`None` when absent, malformed, or ignored for want of an NLRI
    /// field).
    pub next_hop: Option<Ipv4Addr>,
    /// The next hop of MP_REACH_NLRI: part of the attribute set's identity along with
    /// [`Update::attr_key`](super::Update::attr_key).
    pub mp_next_hop: Option<MpNextHop>,
    pub med: Option<u32>,
    pub local_pref: Option<u32>,
    pub atomic_aggregate: bool,
    pub aggregator: Option<(u32, Ipv4Addr)>,
    pub communities: Vec<u32>,
    pub large_communities: Vec<[u32; 3]>,
    pub originator_id: Option<Ipv4Addr>,
    pub cluster_list: Vec<Ipv4Addr>,
    /// Unrecognised optional transitive attributes, passed on (with the Partial bit set when
    /// re-advertised); unrecognised optional non-transitive ones are dropped silently
    /// (RFC 4271 §5).
    pub unknown: Vec<RawAttr>,
}

impl PathAttrs {
    /// The length the decision process compares (RFC 4271 §9.1.2.2): a SET counts 1,
    /// confederation segments 0.
    pub fn as_path_len(&self) -> u32 {
        let n: usize = self
            .as_path
            .iter()
            .map(|s| s.kind.path_len(s.asns.len()))
            .sum();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Every ASN of the path, nearest first, confederation members included: what policy
    /// regexes match against.
    pub fn as_path_flat(&self) -> Vec<u32> {
        self.as_path
            .iter()
            .flat_map(|s| s.asns.iter().copied())
            .collect()
    }

    /// Whether `asn` is anywhere in the AS path (loop detection, export to a neighbour AS):
    /// asked once per prefix per neighbour, so it walks the segments without collecting.
    pub fn as_path_contains(&self, asn: u32) -> bool {
        self.as_path.iter().any(|s| s.asns.contains(&asn))
    }

    /// The neighbouring AS (RFC 4271 §9.1.2.2 c): the first ASN of the first non-confederation
    /// segment, when that segment is an AS_SEQUENCE.
    pub fn first_as(&self) -> Option<u32> {
        let seg = self.as_path.iter().find(|s| !s.kind.is_confed())?;
        match seg.kind {
            SegmentKind::Sequence => seg.asns.first().copied(),
            _ => None,
        }
    }
}

/// Reads AS_PATH or AS4_PATH segments with `width`-octet ASNs. RFC 7606 §7.2: a bad segment
/// type, a zero-length segment, an overrun, or a lone trailing octet make it malformed; so does
/// AS 0 (RFC 7607).
pub(crate) fn read_segments(buf: &[u8], width: usize) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    let mut rest = buf;
    while !rest.is_empty() {
        let Some((&[ty, count], tail)) = rest.split_first_chunk::<2>() else {
            return Err("a segment header is cut short".into());
        };
        let kind = SegmentKind::from_u8(ty).ok_or_else(|| format!("segment type {ty}"))?;
        if count == 0 {
            return Err("a segment of length 0".into());
        }
        let (body, tail) = tail
            .split_at_checked(usize::from(count) * width)
            .ok_or("a segment runs past the attribute")?;
        rest = tail;
        let asns: Vec<u32> = if width == 4 {
            body.chunks_exact(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        } else {
            body.chunks_exact(2)
                .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
                .collect()
        };
        if asns.contains(&0) {
            return Err("AS 0 in the path (RFC 7607)".into());
        }
        out.push(Segment { kind, asns });
    }
    Ok(out)
}

/// RFC 6793 §4.2.3: the path of a two-octet peer rebuilt from AS_PATH and AS4_PATH. When
/// AS_PATH counts fewer ASNs than AS4_PATH, AS4_PATH is ignored; otherwise the leading ASNs of
/// AS_PATH that AS4_PATH lacks are put in front of it. Confederation segments (never in
/// AS4_PATH) are kept from AS_PATH.
pub(crate) fn merge_as4_path(as_path: &[Segment], as4_path: Vec<Segment>) -> Vec<Segment> {
    let count = |p: &[Segment]| -> usize { p.iter().map(|s| s.kind.path_len(s.asns.len())).sum() };
    let (n, n4) = (count(as_path), count(&as4_path));
    if n < n4 {
        return as_path.to_vec();
    }
    let mut needed = n - n4;
    let mut cut = false;
    let mut out = Vec::with_capacity(as_path.len() + as4_path.len());
    for seg in as_path {
        if seg.kind.is_confed() {
            out.push(seg.clone());
            continue;
        }
        if needed == 0 {
            break;
        }
        match seg.kind {
            SegmentKind::Sequence => {
                let take = needed.min(seg.asns.len());
                cut = take < seg.asns.len();
                out.push(Segment {
                    kind: SegmentKind::Sequence,
                    asns: seg.asns.get(..take).unwrap_or_default().to_vec(),
                });
                needed -= take;
            }
            _ => {
                out.push(seg.clone());
                needed -= 1;
            }
        }
    }
    // A sequence cut short from AS_PATH continues in AS4_PATH's leading sequence.
    let mut tail = as4_path.into_iter();
    if let Some(first) = tail.next() {
        match out.last_mut() {
            Some(last)
                if cut
                    && last.kind == SegmentKind::Sequence
                    && first.kind == SegmentKind::Sequence
                    && last.asns.len() + first.asns.len() <= 255 =>
            {
                last.asns.extend(first.asns)
            }
            _ => out.push(first),
        }
    }
    out.extend(tail);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(asns: &[u32]) -> Segment {
        Segment {
            kind: SegmentKind::Sequence,
            asns: asns.to_vec(),
        }
    }

    fn set(asns: &[u32]) -> Segment {
        Segment {
            kind: SegmentKind::Set,
            asns: asns.to_vec(),
        }
    }

    #[test]
    fn path_len_and_first_as() {
        let a = PathAttrs {
            as_path: vec![
                Segment {
                    kind: SegmentKind::ConfedSequence,
                    asns: vec![65001, 65002],
                },
                seq(&[1, 2, 3]),
                set(&[4, 5, 6]),
            ],
            ..PathAttrs::default()
        };
        assert_eq!(a.as_path_len(), 4);
        assert_eq!(a.first_as(), Some(1));
        assert_eq!(a.as_path_flat(), vec![65001, 65002, 1, 2, 3, 4, 5, 6]);
        assert_eq!(PathAttrs::default().first_as(), None);
    }

    #[test]
    fn segments() {
        assert_eq!(
            read_segments(&[2, 2, 0, 1, 0, 2], 2),
            Ok(vec![seq(&[1, 2])])
        );
        assert!(read_segments(&[2, 0], 2).is_err());
        assert!(read_segments(&[5, 1, 0, 1], 2).is_err());
        assert!(read_segments(&[2, 2, 0, 1], 2).is_err());
        assert!(read_segments(&[2, 1, 0, 1, 2], 2).is_err());
        assert!(read_segments(&[2, 1, 0, 0], 2).is_err());
        assert_eq!(read_segments(&[], 4), Ok(vec![]));
    }

    #[test]
    fn as4_merge() {
        let t = AS_TRANS;
        // RFC 6793: AS_PATH 1 T T 2, AS4_PATH 70000 80000 2 -> 1 70000 80000 2.
        let merged = merge_as4_path(&[seq(&[1, t, t, 2])], vec![seq(&[70000, 80000, 2])]);
        assert_eq!(merged, vec![seq(&[1, 70000, 80000, 2])]);
        // An old speaker prepended more: its ASNs stay in front.
        let merged = merge_as4_path(
            &[seq(&[1, 2]), seq(&[t]), set(&[t, 3])],
            vec![seq(&[70000]), set(&[80000, 3])],
        );
        assert_eq!(merged, vec![seq(&[1, 2]), seq(&[70000]), set(&[80000, 3])]);
        // AS4_PATH longer than AS_PATH is ignored.
        let merged = merge_as4_path(&[seq(&[t])], vec![seq(&[70000, 80000])]);
        assert_eq!(merged, vec![seq(&[t])]);
    }
}
