//! The neighbour cache shared by ARP (IPv4) and Neighbor Discovery (IPv6), as a sans-IO
//! state machine.
//!
//! It takes events (a mapping learnt from the wire, a packet waiting for an unresolved
//! neighbour, the time passing) with the current time, and returns what to do: frames to send,
//! adjacencies to install or remove, packets given up on. No sockets, no timers, no sleeping:
//! the control plane feeds it, and tests drive it with a virtual clock. The protocols differ
//! only in their frames (a [`Protocol`]); the states, queues, retries and aging are one.
//!
//! Behaviour follows Linux and Junos defaults where the RFCs are silent: up to three
//! solicitations a second apart for an unresolved neighbour, a small bounded queue of packets
//! waiting for it, entries refreshed by a unicast probe when they age (Junos `arp
//! aging-timer`, 20 minutes), and a bounded table.

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::hash::Hash;

#[derive(Debug, Clone, Copy)]
pub struct NeighborConfig {
    pub retransmit_ms: u64,
    pub max_probes: u32,
    /// An entry older than this is re-probed (and removed if the probes go unanswered).
    pub aging_ms: u64,
    /// Packets held per unresolved neighbour; more are dropped.
    pub queue_per_neighbor: usize,
    /// Entries at most (resolved and unresolved).
    pub max_entries: usize,
}

impl Default for NeighborConfig {
    fn default() -> Self {
        NeighborConfig {
            retransmit_ms: 1000,
            max_probes: 3,
            aging_ms: 20 * 60 * 1000,
            queue_per_neighbor: 16,
            max_entries: 65_536,
        }
    }
}

/// An interface as the resolution protocol sees it.
pub trait NeighborIfc {
    fn port(&self) -> u16;
    fn mac(&self) -> [u8; 6];
}

/// What differs between ARP and ND: the address type and the solicitation frame.
pub trait Protocol {
    type Addr: Copy + Eq + Hash + Ord + Debug;
    type Ifc: NeighborIfc;

    /// A solicitation for `target` out of `ifc`: broadcast (ARP) or to the solicited-node
    /// multicast group (ND), or unicast to `probe` to confirm a known entry. None when
    /// `target` is not on any of the interface's subnets.
    fn solicit(ifc: &Self::Ifc, target: Self::Addr, probe: Option<[u8; 6]>) -> Option<Vec<u8>>;
}

/// What the caller must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<A> {
    /// Send this frame out of `port` (a solicitation or answer, or a held packet now
    /// addressed).
    Send { port: u16, frame: Vec<u8> },
    /// `ip` on `port` is at `mac`: install or update the adjacency.
    Resolved { port: u16, ip: A, mac: [u8; 6] },
    /// `ip` did not answer: remove any adjacency. `dropped` are the packets that were waiting
    /// for it (the caller answers them with an ICMP unreachable).
    Unreachable {
        port: u16,
        ip: A,
        dropped: Vec<Vec<u8>>,
    },
    /// Another node at `mac` claims our address `ip` (a duplicate address): log it.
    Conflict { port: u16, ip: A, mac: [u8; 6] },
}

/// Counters for `show system statistics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NeighborStats {
    pub requests_sent: u64,
    pub replies_sent: u64,
    pub malformed: u64,
    pub queue_drops: u64,
    pub table_full: u64,
    pub conflicts: u64,
}

/// One row of `show arp` or `show ipv6 neighbors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<A> {
    pub port: u16,
    pub ip: A,
    /// None while the neighbour is being resolved.
    pub mac: Option<[u8; 6]>,
    pub age_ms: u64,
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

pub struct Cache<P: Protocol> {
    cfg: NeighborConfig,
    entries: HashMap<(u16, P::Addr), State>,
    pub stats: NeighborStats,
}

/// `packet` (an Ethernet frame) with its destination and source MAC set.
pub fn addressed(mut packet: Vec<u8>, dst: [u8; 6], src: [u8; 6]) -> Vec<u8> {
    if packet.len() >= 12 {
        packet[..6].copy_from_slice(&dst);
        packet[6..12].copy_from_slice(&src);
    }
    packet
}

impl<P: Protocol> Cache<P> {
    pub fn new(cfg: NeighborConfig) -> Self {
        Cache {
            cfg,
            entries: HashMap::new(),
            stats: NeighborStats::default(),
        }
    }

    /// How long a confirmed entry stands before it is probed again (Junos's ARP aging).
    pub fn aging_ms(&self) -> u64 {
        self.cfg.aging_ms
    }

    /// The MAC address of a resolved neighbour.
    pub fn lookup(&self, port: u16, ip: P::Addr) -> Option<[u8; 6]> {
        match self.entries.get(&(port, ip)) {
            Some(State::Reachable { mac, .. }) => Some(*mac),
            _ => None,
        }
    }

    /// Resolved neighbours, sorted.
    pub fn neighbors(&self) -> Vec<(u16, P::Addr, [u8; 6])> {
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

    /// Every entry, resolved or not, sorted, with its age at `now`.
    pub fn entries(&self, now: u64) -> Vec<Entry<P::Addr>> {
        let mut v: Vec<Entry<P::Addr>> = self
            .entries
            .iter()
            .map(|(&(port, ip), s)| match s {
                State::Reachable { mac, confirmed, .. } => Entry {
                    port,
                    ip,
                    mac: Some(*mac),
                    age_ms: now.saturating_sub(*confirmed),
                },
                State::Incomplete { .. } => Entry {
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
    pub fn clear(&mut self) -> Vec<(u16, P::Addr)> {
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
    pub fn forget(&mut self, port: u16, keep: impl Fn(P::Addr) -> bool) -> Vec<P::Addr> {
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

    fn solicit(
        &mut self,
        ifc: &P::Ifc,
        ip: P::Addr,
        probe: Option<[u8; 6]>,
    ) -> Option<Action<P::Addr>> {
        let frame = P::solicit(ifc, ip, probe)?;
        self.stats.requests_sent += 1;
        Some(Action::Send {
            port: ifc.port(),
            frame,
        })
    }

    /// A packet (an Ethernet frame, addresses to be filled) for the on-link neighbour `ip`:
    /// sent at once if resolved, else held while the neighbour is solicited.
    pub fn resolve(
        &mut self,
        ifc: &P::Ifc,
        ip: P::Addr,
        packet: Vec<u8>,
        now: u64,
    ) -> Vec<Action<P::Addr>> {
        let key = (ifc.port(), ip);
        match self.entries.get_mut(&key) {
            Some(State::Incomplete { queue, .. }) => {
                if queue.len() < self.cfg.queue_per_neighbor {
                    queue.push_back(packet);
                } else {
                    self.stats.queue_drops += 1;
                }
                Vec::new()
            }
            Some(State::Reachable { mac, .. }) => vec![Action::Send {
                port: ifc.port(),
                frame: addressed(packet, *mac, ifc.mac()),
            }],
            None => {
                let unreachable = |packet| {
                    vec![Action::Unreachable {
                        port: ifc.port(),
                        ip,
                        dropped: vec![packet],
                    }]
                };
                if self.entries.len() >= self.cfg.max_entries {
                    self.stats.table_full += 1;
                    return unreachable(packet);
                }
                let Some(req) = self.solicit(ifc, ip, None) else {
                    return unreachable(packet);
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

    /// `ip` on `ifc` is at `mac`, as the wire says. Known entries are always refreshed; a new
    /// one is created only when `create` (the message was addressed to us).
    pub fn learn(
        &mut self,
        ifc: &P::Ifc,
        ip: P::Addr,
        mac: [u8; 6],
        now: u64,
        create: bool,
    ) -> Vec<Action<P::Addr>> {
        let key = (ifc.port(), ip);
        let known = self.entries.contains_key(&key);
        let room = self.entries.len() < self.cfg.max_entries;
        if !(known || (create && room)) {
            return Vec::new();
        }
        let old = self.entries.insert(
            key,
            State::Reachable {
                mac,
                confirmed: now,
                probes: 0,
                last_probe: 0,
            },
        );
        let mut out = Vec::new();
        if !matches!(old, Some(State::Reachable { mac: m, .. }) if m == mac) {
            out.push(Action::Resolved {
                port: ifc.port(),
                ip,
                mac,
            });
        }
        if let Some(State::Incomplete { queue, .. }) = old {
            out.extend(queue.into_iter().map(|pkt| Action::Send {
                port: ifc.port(),
                frame: addressed(pkt, mac, ifc.mac()),
            }));
        }
        out
    }

    /// Retransmits solicitations, gives up on silent neighbours, re-probes aged entries.
    pub fn tick(&mut self, ifcs: &[P::Ifc], now: u64) -> Vec<Action<P::Addr>> {
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
                        probes_to_send.push((port, ip, None));
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
                        probes_to_send.push((port, ip, Some(*mac)));
                    }
                }
            }
        }
        for (port, ip, probe) in probes_to_send {
            if let Some(ifc) = ifcs.iter().find(|i| i.port() == port) {
                out.extend(self.solicit(ifc, ip, probe));
            }
        }
        for (port, ip, dropped) in gone {
            self.entries.remove(&(port, ip));
            out.push(Action::Unreachable {
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
