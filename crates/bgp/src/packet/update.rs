//! UPDATE (RFC 4271 §4.3) decoding, with the error handling of RFC 7606.
//!
//! Outcomes, weakest first: attribute-discard (the attribute is dropped, the routes stand),
//! treat-as-withdraw (the UPDATE's routes are to be handled as withdrawn), session reset
//! (`Err` with the NOTIFICATION). When several errors meet, the strongest wins (RFC 7606 §3 f).
//!
//! Choices where the RFCs leave room:
//! - A recognised attribute whose Optional/Transitive flags are wrong is malformed, handled as
//!   that attribute's malformation is (discard for ATOMIC_AGGREGATE, AGGREGATOR, AS4_*; reset
//!   for MP_REACH/MP_UNREACH with 3/4 Attribute Flags Error; treat-as-withdraw otherwise), as
//!   FRR does. The Partial bit is not checked.
//! - An unrecognised attribute with the Optional bit clear resets the session with 3/2
//!   Unrecognized Well-known Attribute (RFC 4271 §6.3; RFC 7606 does not revise it; FRR does
//!   the same).
//! - A malformed MP_REACH_NLRI/MP_UNREACH_NLRI (next hop length wrong for the family, NLRI
//!   that does not parse) resets with 3/9 Optional Attribute Error (RFC 4760 §7, RFC 7606
//!   §7.11; we do not implement AFI/SAFI disable). A bad prefix in the Withdrawn Routes or NLRI
//!   field resets with 3/10 Invalid Network Field (RFC 4271 §6.3, RFC 7606 §5.3).
//! - An attribute section whose TLVs cannot be walked is treat-as-withdraw (RFC 7606 §4); the
//!   NLRI field is still found through the Total Path Attribute Length. MP_REACH_NLRI past the
//!   break cannot be found: senders put it first for this reason (RFC 7606 §5.1).
//! - NEXT_HOP: syntax plus 0.0.0.0, multicast and 255.255.255.255 make it malformed; when the
//!   UPDATE has no NLRI field the attribute is ignored (RFC 4760 §3), so a bad one is only
//!   discarded. Whether it is the peer's own address or ours is the speaker's check.
//! - MP_REACH_NLRI/MP_UNREACH_NLRI for a family not negotiated are skipped and noted in
//!   `discarded`; the NLRI field is always read (it is IPv4 unicast by definition).

use std::net::{Ipv4Addr, Ipv6Addr};

use savin_rib::IpPrefix;

use super::attrs::{
    merge_as4_path, read_segments, AttrError, MpNextHop, PathAttrs, RawAttr, Segment, AGGREGATOR,
    AS4_AGGREGATOR, AS4_PATH, AS_PATH, AS_TRANS, ATOMIC_AGGREGATE, CLUSTER_LIST, COMMUNITIES,
    EXTENDED, LARGE_COMMUNITY, LOCAL_PREF, MED, MP_REACH, MP_UNREACH, NEXT_HOP, OPTIONAL, ORIGIN,
    ORIGINATOR_ID, PARTIAL, TRANSITIVE,
};
use super::{nlri, Family, Notification, Reader};

/// How the peer's messages are to be read: what the OPENs negotiated.
#[derive(Debug, Clone, Default)]
pub struct DecodeCtx {
    /// Both sides sent the four-octet AS capability (RFC 6793).
    pub four_octet_as: bool,
    /// The peer is external and not a member of our confederation: LOCAL_PREF is discarded
    /// and confederation segments in AS_PATH are errors (RFC 7606 §7.2, §7.5).
    pub ebgp: bool,
    /// The negotiated families; MP_REACH_NLRI/MP_UNREACH_NLRI of others are skipped.
    pub families: Vec<Family>,
}

/// An UPDATE, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Update {
    /// The Withdrawn Routes field and MP_UNREACH_NLRI.
    pub withdrawn: Vec<IpPrefix>,
    /// The NLRI field and MP_REACH_NLRI.
    pub announced: Vec<IpPrefix>,
    /// `None` when the UPDATE carries no path attribute other than MP_UNREACH_NLRI.
    pub attrs: Option<PathAttrs>,
    /// Set when RFC 7606 says treat-as-withdraw: the receiver must handle `announced` as
    /// withdrawn. The error says which attribute and why.
    pub treat_as_withdraw: Option<AttrError>,
    /// Attributes dropped under attribute-discard (RFC 7606), each with why.
    pub discarded: Vec<AttrError>,
    /// This UPDATE is an End-of-RIB marker (RFC 4724 §2) for this family.
    pub end_of_rib: Option<Family>,
    /// The raw path attributes other than MP_REACH_NLRI and MP_UNREACH_NLRI, in the order
    /// received: the speaker interns attribute sets by these bytes plus
    /// `attrs.mp_next_hop`, so a full table with few distinct sets stores each once. The
    /// parse is a function of these bytes and the [`DecodeCtx`] alone.
    pub attr_key: Vec<u8>,
}

impl Update {
    /// Whether the UPDATE's routes are to be treated as withdrawn (RFC 7606).
    pub fn withdraws_all(&self) -> bool {
        self.treat_as_withdraw.is_some()
    }
}

fn malformed_list() -> Notification {
    Notification::new(3, 1, Vec::new())
}

fn invalid_network() -> Notification {
    Notification::new(3, 10, Vec::new())
}

/// Decodes the body of an UPDATE (after the header).
pub(crate) fn decode(body: &[u8], ctx: &DecodeCtx) -> Result<Update, Notification> {
    let mut r = Reader::new(body);
    // RFC 4271 §6.3: lengths inconsistent with the message are Malformed Attribute List.
    let wlen = r.u16().ok_or_else(malformed_list)?;
    let withdrawn = r.take(usize::from(wlen)).ok_or_else(malformed_list)?;
    let alen = r.u16().ok_or_else(malformed_list)?;
    let attr_bytes = r.take(usize::from(alen)).ok_or_else(malformed_list)?;
    let nlri_bytes = r.rest();

    let mut upd = Update::default();
    nlri::read(withdrawn, Family::Ipv4Unicast, &mut upd.withdrawn)
        .map_err(|_| invalid_network())?;
    // Most of an UPDATE is NLRI; a prefix takes 4 octets on average in a full table.
    upd.announced.reserve(nlri_bytes.len() / 4);
    nlri::read(nlri_bytes, Family::Ipv4Unicast, &mut upd.announced)
        .map_err(|_| invalid_network())?;
    let nlri_field = !upd.announced.is_empty();

    if attr_bytes.is_empty() {
        if upd.withdrawn.is_empty() && !nlri_field {
            upd.end_of_rib = Some(Family::Ipv4Unicast);
        } else if nlri_field {
            upd.treat_as_withdraw = Some(AttrError::new(ORIGIN, "missing"));
        }
        return Ok(upd);
    }

    let mut p = AttrParser {
        ctx,
        nlri_field,
        attrs: PathAttrs::default(),
        seen: [0; 4],
        count: 0,
        any_but_unreach: false,
        as4_path: None,
        as4_aggregator: None,
        unreach_eor: None,
        withdraw: None,
        discarded: Vec::new(),
    };
    p.walk(attr_bytes, &mut upd)?;
    p.finish(&mut upd);
    Ok(upd)
}

/// What RFC 7606 makes of a malformed attribute.
enum Action {
    Discard,
    Withdraw,
    Reset(Notification),
}

type Handled = Result<(), (Action, String)>;

struct AttrParser<'a> {
    ctx: &'a DecodeCtx,
    /// The NLRI field holds prefixes: NEXT_HOP is mandatory and its errors withdraw.
    nlri_field: bool,
    attrs: PathAttrs,
    /// Type codes seen, as a 256-bit set.
    seen: [u64; 4],
    count: usize,
    any_but_unreach: bool,
    as4_path: Option<Vec<Segment>>,
    as4_aggregator: Option<(u32, Ipv4Addr)>,
    /// The family of an MP_UNREACH_NLRI with no prefixes (an End-of-RIB if alone).
    unreach_eor: Option<Family>,
    withdraw: Option<AttrError>,
    discarded: Vec<AttrError>,
}

/// `flags` carry the Optional and Transitive bits `want`.
fn flags_ok(flags: u8, want: u8) -> bool {
    flags & (OPTIONAL | TRANSITIVE) == want
}

fn flags_err(flags: u8) -> String {
    format!("flags {flags:#04x} conflict with the type")
}

fn len_err(len: usize) -> String {
    format!("length {len} is wrong")
}

fn ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    <[u8; 4]>::try_from(b).ok().map(Ipv4Addr::from)
}

fn ipv6(b: &[u8]) -> Option<Ipv6Addr> {
    <[u8; 16]>::try_from(b).ok().map(Ipv6Addr::from)
}

/// Addresses no route can point at (RFC 4271 §6.3 leaves the rest to the speaker).
fn bad_v4_hop(a: Ipv4Addr) -> bool {
    a.is_unspecified() || a.is_multicast() || a.is_broadcast()
}

impl AttrParser<'_> {
    fn seen(&mut self, code: u8) -> bool {
        let (word, bit) = (usize::from(code / 64), code % 64);
        let Some(w) = self.seen.get_mut(word) else {
            return false;
        };
        let was = *w & (1 << bit) != 0;
        *w |= 1 << bit;
        was
    }

    fn present(&self, code: u8) -> bool {
        let (word, bit) = (usize::from(code / 64), code % 64);
        self.seen.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    fn withdraw(&mut self, err: AttrError) {
        self.withdraw.get_or_insert(err);
    }

    /// Walks the attribute TLVs; stops at the first that cannot be delimited (RFC 7606 §4).
    fn walk(&mut self, buf: &[u8], upd: &mut Update) -> Result<(), Notification> {
        let mut r = Reader::new(buf);
        upd.attr_key.reserve(buf.len());
        while !r.is_empty() {
            let start = r.rest();
            let (Some(flags), Some(code)) = (r.u8(), r.u8()) else {
                self.withdraw(AttrError::new(0, "path attributes end inside a header"));
                break;
            };
            let len = if flags & EXTENDED != 0 {
                r.u16()
            } else {
                r.u8().map(u16::from)
            };
            let Some(len) = len else {
                self.withdraw(AttrError::new(code, "path attributes end inside a header"));
                break;
            };
            let Some(value) = r.take(usize::from(len)) else {
                self.withdraw(AttrError::new(
                    code,
                    format!("length {len} runs past the path attributes"),
                ));
                break;
            };
            let whole = start.get(..start.len() - r.len()).unwrap_or_default();
            self.count += 1;
            if code != MP_REACH && code != MP_UNREACH {
                upd.attr_key.extend_from_slice(whole);
            }
            if code != MP_UNREACH {
                self.any_but_unreach = true;
            }
            // RFC 7606 §3 g.
            if self.seen(code) {
                if code == MP_REACH || code == MP_UNREACH {
                    return Err(malformed_list());
                }
                self.discarded.push(AttrError::new(
                    code,
                    "appears more than once: all but the first discarded",
                ));
                continue;
            }
            match self.attribute(flags, code, value, whole, upd) {
                Ok(()) => {}
                Err((Action::Discard, why)) => self.discarded.push(AttrError::new(code, why)),
                Err((Action::Withdraw, why)) => self.withdraw(AttrError::new(code, why)),
                Err((Action::Reset(n), _)) => return Err(n),
            }
        }
        Ok(())
    }

    fn attribute(
        &mut self,
        flags: u8,
        code: u8,
        value: &[u8],
        whole: &[u8],
        upd: &mut Update,
    ) -> Handled {
        use Action::{Discard, Withdraw};
        let wk = TRANSITIVE;
        let opt_t = OPTIONAL | TRANSITIVE;
        let check = |want: u8, action: Action| -> Handled {
            if flags_ok(flags, want) {
                Ok(())
            } else {
                Err((action, flags_err(flags)))
            }
        };
        match code {
            ORIGIN => {
                check(wk, Withdraw)?;
                let o = match value {
                    [v] => super::Origin::from_u8(*v).ok_or((Withdraw, format!("value {v}")))?,
                    _ => return Err((Withdraw, len_err(value.len()))),
                };
                self.attrs.origin = o;
            }
            AS_PATH => {
                check(wk, Withdraw)?;
                let width = if self.ctx.four_octet_as { 4 } else { 2 };
                let path = read_segments(value, width).map_err(|why| (Withdraw, why))?;
                if self.ctx.ebgp && path.iter().any(|s| s.kind.is_confed()) {
                    return Err((
                        Withdraw,
                        "confederation segment from an external peer".into(),
                    ));
                }
                self.attrs.as_path = path;
            }
            NEXT_HOP => {
                // RFC 4760 §3: without an NLRI field the attribute is ignored.
                let action = || if self.nlri_field { Withdraw } else { Discard };
                check(wk, action())?;
                let hop = ipv4(value).ok_or_else(|| (action(), len_err(value.len())))?;
                if bad_v4_hop(hop) {
                    return Err((action(), format!("{hop} is not a next hop")));
                }
                self.attrs.next_hop = Some(hop);
            }
            MED => {
                check(OPTIONAL, Withdraw)?;
                let v = ipv4(value).ok_or_else(|| (Withdraw, len_err(value.len())))?;
                self.attrs.med = Some(u32::from(v));
            }
            LOCAL_PREF => {
                if self.ctx.ebgp {
                    return Err((Discard, "from an external peer".into()));
                }
                check(wk, Withdraw)?;
                let v = ipv4(value).ok_or_else(|| (Withdraw, len_err(value.len())))?;
                self.attrs.local_pref = Some(u32::from(v));
            }
            ATOMIC_AGGREGATE => {
                check(wk, Discard)?;
                if !value.is_empty() {
                    return Err((Discard, len_err(value.len())));
                }
                self.attrs.atomic_aggregate = true;
            }
            AGGREGATOR => {
                check(opt_t, Discard)?;
                let mut r = Reader::new(value);
                let asn = match (self.ctx.four_octet_as, value.len()) {
                    (true, 8) => r.u32(),
                    (false, 6) => r.u16().map(u32::from),
                    _ => None,
                };
                let (Some(asn), Some(ip)) = (asn, ipv4(r.rest())) else {
                    return Err((Discard, len_err(value.len())));
                };
                if asn == 0 {
                    return Err((Discard, "AS 0 (RFC 7607)".into()));
                }
                self.attrs.aggregator = Some((asn, ip));
            }
            COMMUNITIES => {
                check(opt_t, Withdraw)?;
                if value.is_empty() || !value.len().is_multiple_of(4) {
                    return Err((Withdraw, len_err(value.len())));
                }
                self.attrs.communities = value
                    .chunks_exact(4)
                    .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
            }
            ORIGINATOR_ID => {
                check(OPTIONAL, Withdraw)?;
                let id = ipv4(value).ok_or_else(|| (Withdraw, len_err(value.len())))?;
                self.attrs.originator_id = Some(id);
            }
            CLUSTER_LIST => {
                check(OPTIONAL, Withdraw)?;
                if value.is_empty() || !value.len().is_multiple_of(4) {
                    return Err((Withdraw, len_err(value.len())));
                }
                self.attrs.cluster_list = value
                    .chunks_exact(4)
                    .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                    .collect();
            }
            MP_REACH | MP_UNREACH => {
                if !flags_ok(flags, OPTIONAL) {
                    let n = Notification::new(3, 4, whole.to_vec());
                    return Err((Action::Reset(n), flags_err(flags)));
                }
                let res = if code == MP_REACH {
                    self.mp_reach(value, upd)
                } else {
                    self.mp_unreach(value, upd)
                };
                res.map_err(|(action, why)| match action {
                    // The attribute's own errors reset with Optional Attribute Error.
                    Action::Reset(_) => {
                        (Action::Reset(Notification::new(3, 9, whole.to_vec())), why)
                    }
                    other => (other, why),
                })?;
            }
            AS4_PATH => {
                if self.ctx.four_octet_as {
                    return Err((Discard, "from a four-octet peer (RFC 6793 §4.1)".into()));
                }
                check(opt_t, Discard)?;
                let mut path = read_segments(value, 4).map_err(|why| (Discard, why))?;
                // RFC 6793 §6: confederation segments in AS4_PATH are dropped.
                let before = path.len();
                path.retain(|s| !s.kind.is_confed());
                if path.len() != before {
                    self.discarded.push(AttrError::new(
                        AS4_PATH,
                        "confederation segments dropped (RFC 6793 §6)",
                    ));
                }
                self.as4_path = Some(path);
            }
            AS4_AGGREGATOR => {
                if self.ctx.four_octet_as {
                    return Err((Discard, "from a four-octet peer (RFC 6793 §4.1)".into()));
                }
                check(opt_t, Discard)?;
                let mut r = Reader::new(value);
                let (Some(asn), Some(ip), 8) = (r.u32(), ipv4(r.rest()), value.len()) else {
                    return Err((Discard, len_err(value.len())));
                };
                if asn == 0 {
                    return Err((Discard, "AS 0 (RFC 7607)".into()));
                }
                self.as4_aggregator = Some((asn, ip));
            }
            LARGE_COMMUNITY => {
                check(opt_t, Withdraw)?;
                // RFC 8092 §6: a non-zero multiple of 12.
                if value.is_empty() || !value.len().is_multiple_of(12) {
                    return Err((Withdraw, len_err(value.len())));
                }
                self.attrs.large_communities = value
                    .chunks_exact(12)
                    .map(|c| {
                        let w = |i: usize| u32::from_be_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
                        [w(0), w(4), w(8)]
                    })
                    .collect();
            }
            _ => {
                if flags & OPTIONAL == 0 {
                    let n = Notification::new(3, 2, whole.to_vec());
                    return Err((Action::Reset(n), "unrecognised well-known".into()));
                }
                if flags & TRANSITIVE != 0 {
                    self.attrs.unknown.push(RawAttr {
                        flags: flags & (OPTIONAL | TRANSITIVE | PARTIAL),
                        code,
                        data: value.to_vec(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The family of an MP attribute, if negotiated; others are noted and skipped.
    fn mp_family(&mut self, code: u8, afi: u16, safi: u8, empty: bool) -> Option<Family> {
        match Family::from_afi_safi(afi, safi) {
            Some(f) if self.ctx.families.contains(&f) => Some(f),
            f => {
                if !(empty && code == MP_UNREACH && f.is_some()) {
                    self.discarded.push(AttrError::new(
                        code,
                        format!("AFI {afi} SAFI {safi} not negotiated: skipped"),
                    ));
                }
                None
            }
        }
    }

    fn mp_reach(&mut self, value: &[u8], upd: &mut Update) -> Handled {
        let reset = |why: &str| (Action::Reset(Notification::new(3, 9, vec![])), why.into());
        let mut r = Reader::new(value);
        let (Some(afi), Some(safi), Some(nh_len)) = (r.u16(), r.u8(), r.u8()) else {
            return Err(reset("shorter than its fixed fields"));
        };
        let nh = r
            .take(usize::from(nh_len))
            .ok_or_else(|| reset("next hop runs past"))?;
        r.u8().ok_or_else(|| reset("reserved octet missing"))?;
        let Some(family) = self.mp_family(MP_REACH, afi, safi, r.is_empty()) else {
            return Ok(());
        };
        // RFC 7606 §7.11: a next hop length wrong for the family hides the NLRI.
        let hop = match (family, nh.len()) {
            (Family::Ipv4Unicast, 4) => ipv4(nh).map(MpNextHop::V4),
            (_, 16) => ipv6(nh).map(|global| MpNextHop::V6 {
                global,
                link_local: None,
            }),
            (_, 32) => match (
                ipv6(nh.get(..16).unwrap_or_default()),
                ipv6(nh.get(16..).unwrap_or_default()),
            ) {
                (Some(global), Some(ll)) => Some(MpNextHop::V6 {
                    global,
                    link_local: Some(ll),
                }),
                _ => None,
            },
            _ => None,
        };
        let hop = hop.ok_or_else(|| reset("next hop length wrong for the family"))?;
        let before = upd.announced.len();
        upd.announced.reserve(r.len() / 4);
        nlri::read(r.rest(), family, &mut upd.announced)
            .map_err(|_| reset("NLRI does not parse"))?;
        self.attrs.mp_next_hop = Some(hop);
        let bad = match hop {
            MpNextHop::V4(a) => bad_v4_hop(a),
            MpNextHop::V6 { global, link_local } => {
                global.is_multicast() || (global.is_unspecified() && link_local.is_none())
            }
        };
        if bad && upd.announced.len() > before {
            return Err((Action::Withdraw, "the next hop is not a next hop".into()));
        }
        Ok(())
    }

    fn mp_unreach(&mut self, value: &[u8], upd: &mut Update) -> Handled {
        let reset = |why: &str| (Action::Reset(Notification::new(3, 9, vec![])), why.into());
        let mut r = Reader::new(value);
        let (Some(afi), Some(safi)) = (r.u16(), r.u8()) else {
            return Err(reset("shorter than its fixed fields"));
        };
        let empty = r.is_empty();
        if empty {
            self.unreach_eor = Family::from_afi_safi(afi, safi);
        }
        let Some(family) = self.mp_family(MP_UNREACH, afi, safi, empty) else {
            return Ok(());
        };
        nlri::read(r.rest(), family, &mut upd.withdrawn).map_err(|_| reset("NLRI does not parse"))
    }

    /// What needs the whole section: AS4 merging, mandatory attributes, End-of-RIB.
    fn finish(mut self, upd: &mut Update) {
        if !self.ctx.four_octet_as {
            let mut as4_path = self.as4_path.take();
            if let Some(as4) = self.as4_aggregator {
                match self.attrs.aggregator {
                    // RFC 6793 §4.2.3: AGGREGATOR names AS_TRANS, so AS4_AGGREGATOR is the one.
                    Some((AS_TRANS, _)) => self.attrs.aggregator = Some(as4),
                    // An old speaker aggregated after the AS4 attributes were set: both stale.
                    Some(_) => as4_path = None,
                    None => {}
                }
            }
            if let Some(as4) = as4_path {
                if self.present(AS_PATH) {
                    self.attrs.as_path = merge_as4_path(&self.attrs.as_path, as4);
                }
            }
        }
        // RFC 7606 §3 d: missing well-known mandatory attributes withdraw (NEXT_HOP only for
        // the NLRI field, RFC 4760 §3).
        if !upd.announced.is_empty() {
            for code in [ORIGIN, AS_PATH, NEXT_HOP] {
                if !self.present(code) && (code != NEXT_HOP || self.nlri_field) {
                    self.withdraw(AttrError::new(code, "missing"));
                }
            }
        }
        if self.count == 1 && upd.withdrawn.is_empty() && upd.announced.is_empty() {
            upd.end_of_rib = self.unreach_eor;
        }
        upd.treat_as_withdraw = self.withdraw;
        upd.discarded = self.discarded;
        if self.any_but_unreach {
            upd.attrs = Some(self.attrs);
        }
    }
}
