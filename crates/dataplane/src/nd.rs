//! IPv6 Neighbor Discovery (RFC 4861), the IPv6 side of the neighbour cache
//! ([`crate::neighbor`]): neighbour solicitations and advertisements, answers for our
//! addresses, duplicate address detection probes, and unsolicited advertisements when an
//! address comes up.
//!
//! DAD-safe: a solicitation from the unspecified address (another node's DAD probe) is never
//! learned from and is answered to all-nodes, as RFC 4862 expects, so the prober sees the
//! duplicate; an advertisement from another node for one of our addresses is reported as a
//! conflict.

use std::net::Ipv6Addr;

use crate::ipv6::{HDR, NH_ICMPV6};
use crate::neighbor::{Action, Cache, Entry, NeighborIfc, Protocol};
use savin_wire::icmp6::{self, NEIGHBOR_ADVERT, NEIGHBOR_SOLICIT};
use savin_wire::nd::{
    multicast_mac, neighbor_advert, neighbor_solicit, solicited_node, OVERRIDE, ROUTER, SLLA,
    SOLICITED, TLLA,
};

pub type NdAction = Action<Ipv6Addr>;
pub type NdEntry = Entry<Ipv6Addr>;
/// The IPv6 neighbour cache and state machine.
pub type Nd = Cache<NdProtocol>;

const L3: usize = 14;
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// An interface as ND sees it: port, MAC, and its IPv6 addresses including the link-local.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NdInterface {
    pub port: u16,
    pub mac: [u8; 6],
    pub addrs: Vec<(Ipv6Addr, u8)>,
}

impl NeighborIfc for NdInterface {
    fn port(&self) -> u16 {
        self.port
    }

    fn mac(&self) -> [u8; 6] {
        self.mac
    }
}

fn prefix_eq(a: Ipv6Addr, b: Ipv6Addr, len: u8) -> bool {
    let m = if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    };
    u128::from(a) & m == u128::from(b) & m
}

impl NdInterface {
    pub fn owns(&self, ip: Ipv6Addr) -> bool {
        self.addrs.iter().any(|(a, _)| *a == ip)
    }

    /// Our source address towards on-link `ip`: the address on its prefix (the link-local
    /// one for a link-local `ip`). None if `ip` is not on-link.
    pub fn on_link(&self, ip: Ipv6Addr) -> Option<Ipv6Addr> {
        self.addrs
            .iter()
            .find(|(a, l)| prefix_eq(*a, ip, *l))
            .map(|(a, _)| *a)
    }

    /// The link-local address (the source of router-to-neighbour messages).
    pub fn link_local(&self) -> Option<Ipv6Addr> {
        self.addrs
            .iter()
            .find(|(a, _)| a.is_unicast_link_local())
            .map(|(a, _)| *a)
    }
}

pub enum NdProtocol {}

impl Protocol for NdProtocol {
    type Addr = Ipv6Addr;
    type Ifc = NdInterface;

    fn solicit(ifc: &NdInterface, target: Ipv6Addr, probe: Option<[u8; 6]>) -> Option<Vec<u8>> {
        let src = ifc.on_link(target)?;
        let (dst, dst_mac) = match probe {
            Some(mac) => (target, mac),
            None => (
                solicited_node(target),
                multicast_mac(solicited_node(target)),
            ),
        };
        Some(icmp6::build(
            dst_mac,
            ifc.mac,
            src,
            dst,
            255,
            &neighbor_solicit(target, Some(ifc.mac)),
        ))
    }
}

/// A neighbour message, validated as RFC 4861 7.1 asks.
struct Parsed {
    kind: u8,
    src: Ipv6Addr,
    flags: u8,
    target: Ipv6Addr,
    /// The link-layer address option (source for NS, target for NA).
    lla: Option<[u8; 6]>,
}

fn parse(frame: &[u8]) -> Option<Parsed> {
    let (kind, code) = icmp6::message_type(frame)?;
    if !matches!(kind, NEIGHBOR_SOLICIT | NEIGHBOR_ADVERT) || code != 0 {
        return None;
    }
    let plen = usize::from(u16::from_be_bytes([frame[L3 + 4], frame[L3 + 5]]));
    if frame[L3 + 7] != 255 || plen < 24 || frame.len() < L3 + HDR + plen {
        return None;
    }
    if frame[L3 + 6] != NH_ICMPV6 || icmp6::checksum(frame) != 0 {
        return None;
    }
    let body = &frame[L3 + HDR..L3 + HDR + plen];
    let mut t = [0u8; 16];
    t.copy_from_slice(&body[8..24]);
    let target = Ipv6Addr::from(t);
    if target.is_multicast() {
        return None;
    }
    let mut lla = None;
    let mut opts = &body[24..];
    while opts.len() >= 2 {
        let len = usize::from(opts[1]) * 8;
        if len == 0 || len > opts.len() {
            return None; // a zero-length option is invalid (RFC 4861 4.6)
        }
        if (opts[0] == SLLA || opts[0] == TLLA) && len >= 8 {
            let mut m = [0u8; 6];
            m.copy_from_slice(&opts[2..8]);
            lla = Some(m);
        }
        opts = &opts[len..];
    }
    Some(Parsed {
        kind,
        src: icmp6::source(frame),
        flags: body[4],
        target,
        lla,
    })
}

impl Cache<NdProtocol> {
    /// An unsolicited advertisement of our address `ip` to all nodes, as sent when it comes
    /// up (RFC 4861 7.2.6), so neighbours update their caches.
    pub fn unsolicited_na(ifc: &NdInterface, ip: Ipv6Addr) -> Vec<u8> {
        icmp6::build(
            multicast_mac(ALL_NODES),
            ifc.mac,
            ip,
            ALL_NODES,
            255,
            &neighbor_advert(ip, ROUTER | OVERRIDE, ifc.mac),
        )
    }

    /// A duplicate address detection probe for our tentative `ip` (RFC 4862 5.4.2): from the
    /// unspecified address, without a source link-layer option.
    pub fn dad_probe(ifc: &NdInterface, ip: Ipv6Addr) -> Vec<u8> {
        let group = solicited_node(ip);
        icmp6::build(
            multicast_mac(group),
            ifc.mac,
            Ipv6Addr::UNSPECIFIED,
            group,
            255,
            &neighbor_solicit(ip, None),
        )
    }

    /// A neighbour solicitation or advertisement received on `ifc` (other frames are
    /// counted as malformed).
    pub fn receive(&mut self, ifc: &NdInterface, frame: &[u8], now: u64) -> Vec<NdAction> {
        let Some(p) = parse(frame) else {
            self.stats.malformed += 1;
            return Vec::new();
        };
        let mut out = Vec::new();
        let eth_src: [u8; 6] = frame[6..12].try_into().unwrap_or([0; 6]);
        match p.kind {
            NEIGHBOR_SOLICIT => {
                if !ifc.owns(p.target) {
                    return out;
                }
                if p.src.is_unspecified() {
                    // Another node's DAD probe for our address: tell all nodes it is taken.
                    if p.lla.is_some() {
                        self.stats.malformed += 1; // RFC 4861 7.1.1: no SLLA from ::
                        return out;
                    }
                    self.stats.replies_sent += 1;
                    out.push(NdAction::Send {
                        port: ifc.port,
                        frame: icmp6::build(
                            multicast_mac(ALL_NODES),
                            ifc.mac,
                            p.target,
                            ALL_NODES,
                            255,
                            &neighbor_advert(p.target, ROUTER | OVERRIDE, ifc.mac),
                        ),
                    });
                    return out;
                }
                let mac = p.lla.unwrap_or(eth_src);
                if ifc.on_link(p.src).is_some() {
                    out.extend(self.learn(ifc, p.src, mac, now, true));
                }
                self.stats.replies_sent += 1;
                out.push(NdAction::Send {
                    port: ifc.port,
                    frame: icmp6::build(
                        mac,
                        ifc.mac,
                        p.target,
                        p.src,
                        255,
                        &neighbor_advert(p.target, ROUTER | SOLICITED | OVERRIDE, ifc.mac),
                    ),
                });
            }
            _ => {
                let mac = p.lla.unwrap_or(eth_src);
                if ifc.owns(p.target) {
                    if mac != ifc.mac {
                        self.stats.conflicts += 1;
                        out.push(NdAction::Conflict {
                            port: ifc.port,
                            ip: p.target,
                            mac,
                        });
                    }
                    return out;
                }
                let _ = p.flags;
                out.extend(self.learn(ifc, p.target, mac, now, false));
            }
        }
        out
    }
}
