//! ARP (RFC 826) as a sans-IO state machine.
//!
//! It takes events (an ARP frame received, a packet waiting for an unresolved neighbour, the
//! time passing) with the current time, and returns what to do: frames to send, adjacencies to
//! install or remove, packets given up on. No sockets, no timers, no sleeping: the data plane
//! feeds it, and tests drive it with a virtual clock.
//!
//! Behaviour follows Linux and Junos defaults where RFC 826 is silent: up to three requests a
//! second apart for an unresolved neighbour, a small bounded queue of packets waiting for it,
//! entries refreshed by a unicast probe when they age (Junos `arp aging-timer` 20 minutes), a
//! bounded table, and a gratuitous ARP when an address is added.

use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Copy)]
pub struct ArpConfig {
    pub retransmit_ms: u64,
    pub max_probes: u32,
    /// An entry older than this is re-probed (and removed if the probes go unanswered).
    pub aging_ms: u64,
    /// Packets held per unresolved neighbour; more are dropped.
    pub queue_per_neighbor: usize,
    /// Entries at most (resolved and unresolved).
    pub max_entries: usize,
}

impl Default for ArpConfig {
    fn default() -> Self {
        ArpConfig {
            retransmit_ms: 1000,
            max_probes: 3,
            aging_ms: 20 * 60 * 1000,
            queue_per_neighbor: 16,
            max_entries: 65_536,
        }
    }
}

/// An interface as ARP sees it: its port, MAC and IPv4 addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpInterface {
    pub port: u16,
    pub mac: [u8; 6],
    pub addrs: Vec<(Ipv4Addr, u8)>,
}

impl ArpInterface {
    fn owns(&self, ip: Ipv4Addr) -> bool {
        self.addrs.iter().any(|(a, _)| *a == ip)
    }

    fn on_link(&self, ip: Ipv4Addr) -> Option<Ipv4Addr> {
        self.addrs.iter().find_map(|(a, len)| {
            let mask = if *len == 0 { 0 } else { u32::MAX << (32 - len) };
            (u32::from(*a) & mask == u32::from(ip) & mask).then_some(*a)
        })
    }
}

/// What the caller must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArpAction {
    /// Send this frame out of `port` (an ARP packet, or a queued packet now addressed).
    Send { port: u16, frame: Vec<u8> },
    /// `ip` on `port` is at `mac`: install or update the adjacency.
    Resolved {
        port: u16,
        ip: Ipv4Addr,
        mac: [u8; 6],
    },
    /// `ip` did not answer: remove any adjacency. `dropped` are the packets that were waiting
    /// for it (the caller answers them with ICMP host unreachable).
    Unreachable {
        port: u16,
        ip: Ipv4Addr,
        dropped: Vec<Vec<u8>>,
    },
}

/// One row of `show arp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpEntry {
    pub port: u16,
    pub ip: Ipv4Addr,
    /// None while the neighbour is being resolved.
    pub mac: Option<[u8; 6]>,
    pub age_ms: u64,
}

/// Counters for `show system statistics arp`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArpStats {
    pub requests_sent: u64,
    pub replies_sent: u64,
    pub malformed: u64,
    pub queue_drops: u64,
    pub table_full: u64,
}

#[derive(Debug)]
enum State {
    Incomplete {
        probes: u32,
        last_probe: u64,
        queue: VecDeque<Vec<u8>>,
    },
    Reachable {
        mac: [u8; 6],
        confirmed: u64,
        probes: u32,
        last_probe: u64,
    },
}

pub struct Arp {
    cfg: ArpConfig,
    entries: HashMap<(u16, Ipv4Addr), State>,
    pub stats: ArpStats,
}

const BROADCAST: [u8; 6] = [0xff; 6];

/// An Ethernet ARP frame (padded to the 60-byte minimum).
pub fn arp_frame(
    op: u16,
    dst: [u8; 6],
    sha: [u8; 6],
    spa: Ipv4Addr,
    tha: [u8; 6],
    tpa: Ipv4Addr,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(60);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sha);
    f.extend_from_slice(&[0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4]);
    f.extend_from_slice(&op.to_be_bytes());
    f.extend_from_slice(&sha);
    f.extend_from_slice(&spa.octets());
    f.extend_from_slice(&tha);
    f.extend_from_slice(&tpa.octets());
    f.resize(60, 0);
    f
}

struct Parsed {
    op: u16,
    sha: [u8; 6],
    spa: Ipv4Addr,
    tpa: Ipv4Addr,
}

fn parse(frame: &[u8]) -> Option<Parsed> {
    let a = frame.get(14..42)?;
    if frame[12..14] != [0x08, 0x06] || a[..6] != [0x00, 0x01, 0x08, 0x00, 6, 4] {
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

impl Arp {
    pub fn new(cfg: ArpConfig) -> Arp {
        Arp {
            cfg,
            entries: HashMap::new(),
            stats: ArpStats::default(),
        }
    }

    /// The MAC address of a resolved neighbour.
    pub fn lookup(&self, port: u16, ip: Ipv4Addr) -> Option<[u8; 6]> {
        match self.entries.get(&(port, ip)) {
            Some(State::Reachable { mac, .. }) => Some(*mac),
            _ => None,
        }
    }

    /// Resolved neighbours, for `show arp`.
    pub fn neighbors(&self) -> Vec<(u16, Ipv4Addr, [u8; 6])> {
        let mut v: Vec<_> = self
            .entries
            .iter()
            .filter_map(|((p, ip), s)| match s {
                State::Reachable { mac, .. } => Some((*p, *ip, *mac)),
                State::Incomplete { .. } => None,
            })
            .collect();
        v.sort();
        v
    }

    /// `clear arp`: forget every entry; adjacencies are to be removed by the caller.
    /// Every entry, resolved or not, sorted: what `show arp` lists (with `now`, the age).
    pub fn entries(&self, now: u64) -> Vec<ArpEntry> {
        let mut v: Vec<ArpEntry> = self
            .entries
            .iter()
            .map(|(&(port, ip), s)| match s {
                State::Reachable { mac, confirmed, .. } => ArpEntry {
                    port,
                    ip,
                    mac: Some(*mac),
                    age_ms: now.saturating_sub(*confirmed),
                },
                State::Incomplete { .. } => ArpEntry {
                    port,
                    ip,
                    mac: None,
                    age_ms: 0,
                },
            })
            .collect();
        v.sort_by_key(|e| (e.port, e.ip));
        v
    }

    /// Forgets every entry (`clear arp`); returns the resolved ones so the caller can remove
    /// their adjacencies. Queued packets are dropped.
    pub fn clear(&mut self) -> Vec<(u16, Ipv4Addr)> {
        let gone = self
            .neighbors()
            .into_iter()
            .map(|(p, ip, _)| (p, ip))
            .collect();
        self.entries.clear();
        gone
    }

    /// Forgets the entries of `port` that `keep` rejects (an interface removed or renumbered);
    /// returns the resolved ones removed.
    pub fn forget(&mut self, port: u16, keep: impl Fn(Ipv4Addr) -> bool) -> Vec<Ipv4Addr> {
        let mut gone = Vec::new();
        self.entries.retain(|&(p, ip), s| {
            if p != port || keep(ip) {
                return true;
            }
            if matches!(s, State::Reachable { .. }) {
                gone.push(ip);
            }
            false
        });
        gone
    }

    fn request(&mut self, ifc: &ArpInterface, ip: Ipv4Addr, dst: [u8; 6]) -> Option<ArpAction> {
        let spa = ifc.on_link(ip)?;
        self.stats.requests_sent += 1;
        Some(ArpAction::Send {
            port: ifc.port,
            frame: arp_frame(1, dst, ifc.mac, spa, [0; 6], ip),
        })
    }

    /// A gratuitous ARP announcing `ip` (sent when an address is configured).
    pub fn gratuitous(ifc: &ArpInterface, ip: Ipv4Addr) -> Vec<u8> {
        arp_frame(1, BROADCAST, ifc.mac, ip, [0; 6], ip)
    }

    /// A packet for `ip` (on `ifc`'s link) found no adjacency. It is held until `ip` resolves.
    pub fn resolve(
        &mut self,
        ifc: &ArpInterface,
        ip: Ipv4Addr,
        packet: Vec<u8>,
        now: u64,
    ) -> Vec<ArpAction> {
        let key = (ifc.port, ip);
        match self.entries.get_mut(&key) {
            Some(State::Incomplete { queue, .. }) => {
                if queue.len() < self.cfg.queue_per_neighbor {
                    queue.push_back(packet);
                } else {
                    self.stats.queue_drops += 1;
                }
                Vec::new()
            }
            Some(State::Reachable { mac, .. }) => vec![ArpAction::Send {
                port: ifc.port,
                frame: addressed(packet, *mac, ifc.mac),
            }],
            None => {
                if self.entries.len() >= self.cfg.max_entries {
                    self.stats.table_full += 1;
                    return vec![ArpAction::Unreachable {
                        port: ifc.port,
                        ip,
                        dropped: vec![packet],
                    }];
                }
                let Some(req) = self.request(ifc, ip, BROADCAST) else {
                    return vec![ArpAction::Unreachable {
                        port: ifc.port,
                        ip,
                        dropped: vec![packet],
                    }];
                };
                let mut queue = VecDeque::new();
                queue.push_back(packet);
                self.entries.insert(
                    key,
                    State::Incomplete {
                        probes: 1,
                        last_probe: now,
                        queue,
                    },
                );
                vec![req]
            }
        }
    }

    /// An ARP frame received on `ifc`.
    pub fn receive(&mut self, ifc: &ArpInterface, frame: &[u8], now: u64) -> Vec<ArpAction> {
        let Some(p) = parse(frame) else {
            self.stats.malformed += 1;
            return Vec::new();
        };
        let mut out = Vec::new();
        let for_us = ifc.owns(p.tpa);
        // Learn or refresh the sender: always when it is in our table, and when the packet is
        // addressed to us (RFC 826's merge rule). A 0.0.0.0 sender is a DAD probe: never learned.
        let key = (ifc.port, p.spa);
        if !p.spa.is_unspecified() && ifc.on_link(p.spa).is_some() && !ifc.owns(p.spa) {
            let known = self.entries.contains_key(&key);
            if known || (for_us && self.entries.len() < self.cfg.max_entries) {
                let old = self.entries.insert(
                    key,
                    State::Reachable {
                        mac: p.sha,
                        confirmed: now,
                        probes: 0,
                        last_probe: 0,
                    },
                );
                let changed = !matches!(old, Some(State::Reachable { mac, .. }) if mac == p.sha);
                if changed {
                    out.push(ArpAction::Resolved {
                        port: ifc.port,
                        ip: p.spa,
                        mac: p.sha,
                    });
                }
                if let Some(State::Incomplete { queue, .. }) = old {
                    out.extend(queue.into_iter().map(|pkt| ArpAction::Send {
                        port: ifc.port,
                        frame: addressed(pkt, p.sha, ifc.mac),
                    }));
                }
            }
        }
        if p.op == 1 && for_us {
            self.stats.replies_sent += 1;
            out.push(ArpAction::Send {
                port: ifc.port,
                frame: arp_frame(2, p.sha, ifc.mac, p.tpa, p.sha, p.spa),
            });
        }
        out
    }

    /// Retransmits requests, gives up on silent neighbours, re-probes aged entries.
    pub fn tick(&mut self, ifcs: &[ArpInterface], now: u64) -> Vec<ArpAction> {
        let mut out = Vec::new();
        let mut gone = Vec::new();
        let cfg = self.cfg;
        let mut probes_to_send = Vec::new();
        for (&(port, ip), st) in self.entries.iter_mut() {
            match st {
                State::Incomplete {
                    probes,
                    last_probe,
                    queue,
                } => {
                    if now.saturating_sub(*last_probe) < cfg.retransmit_ms {
                        continue;
                    }
                    if *probes >= cfg.max_probes {
                        gone.push((port, ip, std::mem::take(queue)));
                    } else {
                        *probes += 1;
                        *last_probe = now;
                        probes_to_send.push((port, ip, BROADCAST));
                    }
                }
                State::Reachable {
                    mac,
                    confirmed,
                    probes,
                    last_probe,
                } => {
                    if now.saturating_sub(*confirmed) < cfg.aging_ms
                        || now.saturating_sub(*last_probe) < cfg.retransmit_ms
                    {
                        continue;
                    }
                    if *probes >= cfg.max_probes {
                        gone.push((port, ip, VecDeque::new()));
                    } else {
                        *probes += 1;
                        *last_probe = now;
                        probes_to_send.push((port, ip, *mac));
                    }
                }
            }
        }
        for (port, ip, dst) in probes_to_send {
            if let Some(ifc) = ifcs.iter().find(|i| i.port == port) {
                out.extend(self.request(ifc, ip, dst));
            }
        }
        for (port, ip, dropped) in gone {
            self.entries.remove(&(port, ip));
            out.push(ArpAction::Unreachable {
                port,
                ip,
                dropped: dropped.into(),
            });
        }
        out
    }

    /// When `tick` next has work to do, if ever.
    pub fn next_wakeup(&self) -> Option<u64> {
        self.entries
            .values()
            .map(|s| match s {
                State::Incomplete { last_probe, .. } => last_probe + self.cfg.retransmit_ms,
                State::Reachable {
                    confirmed,
                    probes,
                    last_probe,
                    ..
                } => {
                    if *probes == 0 {
                        confirmed + self.cfg.aging_ms
                    } else {
                        last_probe + self.cfg.retransmit_ms
                    }
                }
            })
            .min()
    }
}

/// `packet` (an Ethernet frame) with its destination and source MAC set.
fn addressed(mut packet: Vec<u8>, dst: [u8; 6], src: [u8; 6]) -> Vec<u8> {
    if packet.len() >= 12 {
        packet[..6].copy_from_slice(&dst);
        packet[6..12].copy_from_slice(&src);
    }
    packet
}
