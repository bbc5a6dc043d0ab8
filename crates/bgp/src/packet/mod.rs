//! BGP-4 messages (RFC 4271): bytes to values and back.
//!
//! Input is hostile: [`frame`] and [`decode`] never panic and never allocate beyond what the
//! message (at most [`MAX_LEN`] bytes) holds. A malformed UPDATE is reported the way RFC 7606
//! wants it handled: `Err` only where the session must be reset; treat-as-withdraw and
//! attribute-discard come back inside the [`Update`], so one bad route never costs a session.
//!
//! Not supported: RFC 8654 extended messages, ADD-PATH (RFC 7911), families other than IPv4
//! and IPv6 unicast (their MP_REACH/MP_UNREACH attributes are skipped, not parsed).

mod attrs;
mod encode;
mod header;
mod nlri;
mod notification;
mod open;
mod update;

use std::fmt;

pub use attrs::{
    attr_name, AttrError, MpNextHop, Origin, PathAttrs, RawAttr, Segment, SegmentKind, AS_TRANS,
};
pub use encode::{encode, encode_announce, encode_end_of_rib, encode_withdraw, EncodeCtx};
pub use header::frame;
pub use notification::Notification;
pub use open::{Capability, Open};
pub use update::{DecodeCtx, Update};

/// Marker, length and type.
pub const HEADER_LEN: usize = 19;
/// The largest message RFC 4271 allows (RFC 8654 extended messages are not supported).
pub const MAX_LEN: usize = 4096;

/// Message type codes (RFC 4271 §4.1, RFC 2918).
pub(crate) const MSG_OPEN: u8 = 1;
pub(crate) const MSG_UPDATE: u8 = 2;
pub(crate) const MSG_NOTIFICATION: u8 = 3;
pub(crate) const MSG_KEEPALIVE: u8 = 4;
pub(crate) const MSG_ROUTE_REFRESH: u8 = 5;

/// The address families the speaker carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Ipv4Unicast,
    Ipv6Unicast,
}

impl Family {
    /// AFI and SAFI as the wire carries them (RFC 4760).
    pub fn afi_safi(self) -> (u16, u8) {
        match self {
            Family::Ipv4Unicast => (1, 1),
            Family::Ipv6Unicast => (2, 1),
        }
    }

    pub fn from_afi_safi(afi: u16, safi: u8) -> Option<Family> {
        match (afi, safi) {
            (1, 1) => Some(Family::Ipv4Unicast),
            (2, 1) => Some(Family::Ipv6Unicast),
            _ => None,
        }
    }

    /// The name Junos prints (`show bgp neighbor`, `family inet unicast`).
    pub fn name(self) -> &'static str {
        match self {
            Family::Ipv4Unicast => "inet-unicast",
            Family::Ipv6Unicast => "inet6-unicast",
        }
    }

    pub(crate) fn is_v6(self) -> bool {
        self == Family::Ipv6Unicast
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One BGP message. UPDATE, the message a session mostly carries, is held inline: boxing it
/// would cost an allocation per UPDATE to shrink the rare others.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum Message {
    Open(Open),
    Update(Update),
    Notification(Notification),
    Keepalive,
    RouteRefresh(RouteRefresh),
}

/// ROUTE-REFRESH (RFC 2918) with the RFC 7313 subtype. A subtype other than 0, 1 or 2 must be
/// ignored by the receiver (RFC 7313 §5); ORF entries (RFC 5291) after the header are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteRefresh {
    pub afi: u16,
    pub safi: u8,
    /// 0 normal request, 1 Beginning of Route Refresh, 2 End of Route Refresh.
    pub subtype: u8,
}

impl RouteRefresh {
    pub fn family(&self) -> Option<Family> {
        Family::from_afi_safi(self.afi, self.safi)
    }
}

/// Decodes one whole message, as [`frame`] delimited it.
///
/// `Err` carries the NOTIFICATION to send before closing: only where RFC 4271/4760/7606 demand a
/// session reset. UPDATE errors that RFC 7606 handles by treat-as-withdraw or attribute-discard
/// are reported inside the [`Update`]. OPEN checks that need no configuration are done here
/// (version, hold time 1 or 2, identifier 0, AS 0); peer-AS checks are the FSM's.
pub fn decode(msg: &[u8], ctx: &DecodeCtx) -> Result<Message, Notification> {
    let ty = header::check(msg)?;
    let body = msg.get(HEADER_LEN..).unwrap_or_default();
    match ty {
        MSG_OPEN => open::decode(body).map(Message::Open),
        MSG_UPDATE => update::decode(body, ctx).map(Message::Update),
        MSG_NOTIFICATION => {
            let mut r = Reader::new(body);
            let code = r.u8().unwrap_or(0);
            let subcode = r.u8().unwrap_or(0);
            Ok(Message::Notification(Notification::new(
                code,
                subcode,
                r.rest().to_vec(),
            )))
        }
        MSG_KEEPALIVE => Ok(Message::Keepalive),
        _ => decode_route_refresh(msg, body).map(Message::RouteRefresh),
    }
}

fn decode_route_refresh(msg: &[u8], body: &[u8]) -> Result<RouteRefresh, Notification> {
    let mut r = Reader::new(body);
    let (Some(afi), Some(subtype), Some(safi)) = (r.u16(), r.u8(), r.u8()) else {
        return Err(Notification::new(1, 2, len_data(msg.len())));
    };
    // RFC 7313 §5: BoRR and EoRR are exactly four octets; the data is the whole message.
    if matches!(subtype, 1 | 2) && !r.rest().is_empty() {
        return Err(Notification::new(7, 1, msg.to_vec()));
    }
    Ok(RouteRefresh { afi, safi, subtype })
}

/// A message length as the data of a Bad Message Length NOTIFICATION.
pub(crate) fn len_data(len: usize) -> Vec<u8> {
    u16::try_from(len)
        .unwrap_or(u16::MAX)
        .to_be_bytes()
        .to_vec()
}

/// A cursor over untrusted bytes: every read is checked and returns `None` past the end.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.buf.split_at_checked(n)?;
        self.buf = tail;
        Some(head)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        let (&b, tail) = self.buf.split_first()?;
        self.buf = tail;
        Some(b)
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
}
