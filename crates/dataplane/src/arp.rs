//! ARP (RFC 826): the IPv4 side of the neighbour cache ([`crate::neighbor`]). This module
//! holds only what is ARP's own: the frames, and what to learn from and answer to them.

use std::net::Ipv4Addr;

use crate::neighbor::{Action, Cache, Entry, NeighborConfig, NeighborIfc, NeighborStats, Protocol};

pub type ArpConfig = NeighborConfig;
pub type ArpAction = Action<Ipv4Addr>;
pub type ArpStats = NeighborStats;
pub type ArpEntry = Entry<Ipv4Addr>;
/// The ARP cache and state machine.
pub type Arp = Cache<ArpProtocol>;

/// An interface as ARP sees it: its port, MAC and IPv4 addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpInterface {
    pub port: u16,
    pub mac: [u8; 6],
    pub addrs: Vec<(Ipv4Addr, u8)>,
    /// Address ranges answered by proxy-ARP (NAT addresses that are not the interface's).
    pub proxy: Vec<(u32, u32)>,
}

impl NeighborIfc for ArpInterface {
    fn port(&self) -> u16 {
        self.port
    }

    fn mac(&self) -> [u8; 6] {
        self.mac
    }
}

impl ArpInterface {
    fn owns(&self, ip: Ipv4Addr) -> bool {
        self.addrs.iter().any(|(a, _)| *a == ip)
    }

    /// Our address on the subnet of `ip`, if `ip` is on-link.
    fn on_link(&self, ip: Ipv4Addr) -> Option<Ipv4Addr> {
        self.addrs.iter().find_map(|(a, len)| {
            let mask = if *len == 0 { 0 } else { u32::MAX << (32 - len) };
            (u32::from(*a) & mask == u32::from(ip) & mask).then_some(*a)
        })
    }
}

const BROADCAST: [u8; 6] = [0xff; 6];

pub enum ArpProtocol {}

impl Protocol for ArpProtocol {
    type Addr = Ipv4Addr;
    type Ifc = ArpInterface;

    fn solicit(ifc: &ArpInterface, target: Ipv4Addr, probe: Option<[u8; 6]>) -> Option<Vec<u8>> {
        let spa = ifc.on_link(target)?;
        Some(savin_wire::arp::frame(
            1,
            probe.unwrap_or(BROADCAST),
            ifc.mac,
            spa,
            [0; 6],
            target,
        ))
    }
}

struct Parsed {
    op: u16,
    sha: [u8; 6],
    spa: Ipv4Addr,
    tpa: Ipv4Addr,
}

fn parse(frame: &[u8]) -> Option<Parsed> {
    let a = frame.get(14..42)?;
    if savin_wire::ethernet::ethertype(frame) != Some(savin_wire::ethernet::ARP)
        || a[..6] != [0x00, 0x01, 0x08, 0x00, 6, 4]
    {
        return None;
    }
    let sha: [u8; 6] = a[8..14].try_into().ok()?;
    if sha[0] & 1 != 0 {
        return None; // a multicast or broadcast sender address is never valid
    }
    Some(Parsed {
        op: u16::from_be_bytes([a[6], a[7]]),
        sha,
        spa: Ipv4Addr::new(a[14], a[15], a[16], a[17]),
        tpa: Ipv4Addr::new(a[24], a[25], a[26], a[27]),
    })
}

impl Cache<ArpProtocol> {
    /// A gratuitous ARP for our address `ip`, as sent when it comes up.
    pub fn gratuitous(ifc: &ArpInterface, ip: Ipv4Addr) -> Vec<u8> {
        savin_wire::arp::frame(1, BROADCAST, ifc.mac, ip, [0; 6], ip)
    }

    /// An ARP frame received on `ifc`.
    pub fn receive(&mut self, ifc: &ArpInterface, frame: &[u8], now: u64) -> Vec<ArpAction> {
        let Some(p) = parse(frame) else {
            self.stats.malformed += 1;
            return Vec::new();
        };
        let mut out = Vec::new();
        if ifc.owns(p.spa) && p.sha != ifc.mac {
            self.stats.conflicts += 1;
            out.push(ArpAction::Conflict {
                port: ifc.port,
                ip: p.spa,
                mac: p.sha,
            });
            return out;
        }
        let for_us = ifc.owns(p.tpa);
        let proxied = !for_us
            && ifc
                .proxy
                .iter()
                .any(|(lo, hi)| (*lo..=*hi).contains(&u32::from(p.tpa)));
        // Learn or refresh the sender: always when it is in our table, and when the packet is
        // addressed to us (RFC 826's merge rule). A 0.0.0.0 sender is a DAD probe: never learned.
        if !p.spa.is_unspecified() && ifc.on_link(p.spa).is_some() && !ifc.owns(p.spa) {
            out.extend(self.learn(ifc, p.spa, p.sha, now, for_us));
        }
        if p.op == 1 && (for_us || proxied) {
            self.stats.replies_sent += 1;
            out.push(ArpAction::Send {
                port: ifc.port,
                frame: savin_wire::arp::frame(2, p.sha, ifc.mac, p.tpa, p.sha, p.spa),
            });
        }
        out
    }
}
