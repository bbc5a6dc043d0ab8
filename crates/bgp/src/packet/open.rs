//! OPEN (RFC 4271 §4.2) and capabilities (RFC 5492).

use std::net::Ipv4Addr;

use super::{Family, Notification, Reader};

/// An OPEN message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    pub version: u8,
    /// AS_TRANS (23456) when the speaker's AS needs four octets (RFC 6793).
    pub my_as: u16,
    pub hold_time: u16,
    pub bgp_id: Ipv4Addr,
    pub capabilities: Vec<Capability>,
}

/// A capability (RFC 5492). Those the speaker does not act on are kept as `Unknown`, so the
/// FSM can log them (ADD-PATH 69 and FQDN 73 are common).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Capability {
    /// RFC 4760, code 1.
    Multiprotocol {
        afi: u16,
        safi: u8,
    },
    /// RFC 2918, code 2; the pre-standard Cisco code 128 reads as this too.
    RouteRefresh,
    /// RFC 7313, code 70.
    EnhancedRouteRefresh,
    /// RFC 6793, code 65.
    FourOctetAs(u32),
    /// RFC 4724, code 64: `families` holds (AFI, SAFI, forwarding state preserved).
    GracefulRestart {
        restarting: bool,
        time: u16,
        families: Vec<(u16, u8, bool)>,
    },
    Unknown {
        code: u8,
        data: Vec<u8>,
    },
}

pub(crate) const CAP_MP: u8 = 1;
pub(crate) const CAP_ROUTE_REFRESH: u8 = 2;
pub(crate) const CAP_GRACEFUL_RESTART: u8 = 64;
pub(crate) const CAP_FOUR_OCTET_AS: u8 = 65;
pub(crate) const CAP_ENHANCED_ROUTE_REFRESH: u8 = 70;
const CAP_ROUTE_REFRESH_CISCO: u8 = 128;

impl Open {
    /// The speaker's AS: the 4-octet AS capability's value when present, else `my_as`.
    pub fn asn(&self) -> u32 {
        self.capabilities
            .iter()
            .find_map(|c| match c {
                Capability::FourOctetAs(asn) => Some(*asn),
                _ => None,
            })
            .unwrap_or(u32::from(self.my_as))
    }

    pub fn four_octet_as(&self) -> bool {
        self.capabilities
            .iter()
            .any(|c| matches!(c, Capability::FourOctetAs(_)))
    }

    /// The families offered, sorted; without any Multiprotocol capability, IPv4 unicast
    /// (RFC 4760 §8). Families the speaker does not know are left out.
    pub fn families(&self) -> Vec<Family> {
        let mut any_mp = false;
        let mut out: Vec<Family> = self
            .capabilities
            .iter()
            .filter_map(|c| match c {
                Capability::Multiprotocol { afi, safi } => {
                    any_mp = true;
                    Family::from_afi_safi(*afi, *safi)
                }
                _ => None,
            })
            .collect();
        if !any_mp {
            out.push(Family::Ipv4Unicast);
        }
        out.sort();
        out.dedup();
        out
    }

    pub fn route_refresh(&self) -> bool {
        self.capabilities
            .iter()
            .any(|c| matches!(c, Capability::RouteRefresh))
    }

    pub fn enhanced_route_refresh(&self) -> bool {
        self.capabilities
            .iter()
            .any(|c| matches!(c, Capability::EnhancedRouteRefresh))
    }

    pub fn graceful_restart(&self) -> Option<&Capability> {
        self.capabilities
            .iter()
            .find(|c| matches!(c, Capability::GracefulRestart { .. }))
    }
}

/// OPEN errors without a better subcode: malformed optional parameters or capabilities
/// (FRR and BIRD send 2/0 for these too).
fn malformed() -> Notification {
    Notification::new(2, 0, Vec::new())
}

/// Decodes the body of an OPEN (after the header).
pub(crate) fn decode(body: &[u8]) -> Result<Open, Notification> {
    let mut r = Reader::new(body);
    let (Some(version), Some(my_as), Some(hold_time), Some(id), Some(opt_len)) =
        (r.u8(), r.u16(), r.u16(), r.array::<4>(), r.u8())
    else {
        return Err(Notification::new(1, 2, super::len_data(body.len() + 19)));
    };
    if version != 4 {
        // The data is the highest version supported below the one bid: 4 is the only one.
        return Err(Notification::new(2, 1, 4u16.to_be_bytes().to_vec()));
    }
    // RFC 7607: AS 0 is never a peer AS.
    if my_as == 0 {
        return Err(Notification::new(2, 2, Vec::new()));
    }
    if hold_time == 1 || hold_time == 2 {
        return Err(Notification::new(2, 6, Vec::new()));
    }
    let bgp_id = Ipv4Addr::from(id);
    if bgp_id.is_unspecified() {
        return Err(Notification::new(2, 3, Vec::new()));
    }

    // RFC 9072: a non-extended length of 255 and a first parameter type of 255 announce
    // two-octet parameter lengths.
    let mut params = r.rest();
    let mut extended = false;
    if opt_len == 255 && params.first() == Some(&255) {
        let mut e = Reader::new(params.get(1..).unwrap_or_default());
        let len = e.u16().ok_or_else(malformed)?;
        if usize::from(len) != e.len() {
            return Err(malformed());
        }
        params = e.rest();
        extended = true;
    } else if usize::from(opt_len) != params.len() {
        return Err(malformed());
    }

    let mut capabilities = Vec::new();
    let mut r = Reader::new(params);
    while !r.is_empty() {
        let ty = r.u8().ok_or_else(malformed)?;
        let len = if extended {
            r.u16().ok_or_else(malformed)?
        } else {
            u16::from(r.u8().ok_or_else(malformed)?)
        };
        let value = r.take(usize::from(len)).ok_or_else(malformed)?;
        if ty != 2 {
            // RFC 4271 §6.2: only the Capabilities parameter is defined.
            return Err(Notification::new(2, 4, Vec::new()));
        }
        decode_capabilities(value, &mut capabilities)?;
    }

    let open = Open {
        version,
        my_as,
        hold_time,
        bgp_id,
        capabilities,
    };
    if open.asn() == 0 {
        return Err(Notification::new(2, 2, Vec::new()));
    }
    Ok(open)
}

fn decode_capabilities(buf: &[u8], out: &mut Vec<Capability>) -> Result<(), Notification> {
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (Some(code), Some(len)) = (r.u8(), r.u8()) else {
            return Err(malformed());
        };
        let value = r.take(usize::from(len)).ok_or_else(malformed)?;
        out.push(decode_capability(code, value)?);
    }
    Ok(())
}

fn decode_capability(code: u8, value: &[u8]) -> Result<Capability, Notification> {
    let mut r = Reader::new(value);
    Ok(match code {
        CAP_MP => {
            let (Some(afi), Some(_reserved), Some(safi), true) =
                (r.u16(), r.u8(), r.u8(), value.len() == 4)
            else {
                return Err(malformed());
            };
            Capability::Multiprotocol { afi, safi }
        }
        // Zero-length capabilities: trailing octets are ignored, as FRR does.
        CAP_ROUTE_REFRESH | CAP_ROUTE_REFRESH_CISCO => Capability::RouteRefresh,
        CAP_ENHANCED_ROUTE_REFRESH => Capability::EnhancedRouteRefresh,
        CAP_FOUR_OCTET_AS => match (r.u32(), value.len()) {
            (Some(asn), 4) => Capability::FourOctetAs(asn),
            _ => return Err(malformed()),
        },
        CAP_GRACEFUL_RESTART => {
            let flags_time = r.u16().ok_or_else(malformed)?;
            if !r.len().is_multiple_of(4) {
                return Err(malformed());
            }
            let mut families = Vec::with_capacity(r.len() / 4);
            while let (Some(afi), Some(safi), Some(flags)) = (r.u16(), r.u8(), r.u8()) {
                families.push((afi, safi, flags & 0x80 != 0));
            }
            Capability::GracefulRestart {
                restarting: flags_time & 0x8000 != 0,
                time: flags_time & 0x0fff,
                families,
            }
        }
        _ => Capability::Unknown {
            code,
            data: value.to_vec(),
        },
    })
}

/// Appends one capability TLV. A value past 255 octets cannot be written and is skipped.
pub(crate) fn encode_capability(c: &Capability, out: &mut Vec<u8>) {
    let mut value = Vec::new();
    let code = match c {
        Capability::Multiprotocol { afi, safi } => {
            value.extend_from_slice(&afi.to_be_bytes());
            value.push(0);
            value.push(*safi);
            CAP_MP
        }
        Capability::RouteRefresh => CAP_ROUTE_REFRESH,
        Capability::EnhancedRouteRefresh => CAP_ENHANCED_ROUTE_REFRESH,
        Capability::FourOctetAs(asn) => {
            value.extend_from_slice(&asn.to_be_bytes());
            CAP_FOUR_OCTET_AS
        }
        Capability::GracefulRestart {
            restarting,
            time,
            families,
        } => {
            let flags = if *restarting { 0x8000 } else { 0 };
            value.extend_from_slice(&(flags | (time & 0x0fff)).to_be_bytes());
            for &(afi, safi, fwd) in families {
                value.extend_from_slice(&afi.to_be_bytes());
                value.push(safi);
                value.push(if fwd { 0x80 } else { 0 });
            }
            CAP_GRACEFUL_RESTART
        }
        Capability::Unknown { code, data } => {
            value.extend_from_slice(data);
            *code
        }
    };
    let Ok(len) = u8::try_from(value.len()) else {
        return;
    };
    out.push(code);
    out.push(len);
    out.extend_from_slice(&value);
}

/// Appends the body of an OPEN: all capabilities in one Capabilities parameter, as FRR and BIRD
/// send them. Capabilities past the 255 octets a parameter holds are left out.
pub(crate) fn encode(open: &Open, out: &mut Vec<u8>) {
    out.push(open.version);
    out.extend_from_slice(&open.my_as.to_be_bytes());
    out.extend_from_slice(&open.hold_time.to_be_bytes());
    out.extend_from_slice(&open.bgp_id.octets());
    let mut caps = Vec::new();
    for c in &open.capabilities {
        let before = caps.len();
        encode_capability(c, &mut caps);
        if caps.len() > 253 {
            caps.truncate(before);
            break;
        }
    }
    if caps.is_empty() {
        out.push(0);
    } else {
        out.push(caps.len() as u8 + 2);
        out.push(2);
        out.push(caps.len() as u8);
        out.extend_from_slice(&caps);
    }
}
