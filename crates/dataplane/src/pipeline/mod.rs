//! The pipeline: a batch of frames through Ethernet and IP checks, the security stage's
//! first half, the route lookup, and per packet the checks, the security stage's second half
//! and the rewrite. One struct holds the per-frame metadata and scratch space, reused for
//! every batch; its stages live beside it: `ethernet` (switching), `security_stage` (zones,
//! sessions, NAT, screens), `route` (lookup results to output queues).

mod ethernet;
mod route;
mod security_stage;

use std::sync::Arc;

use savin_fib::MISS;
use savin_io::FrameBatch;

use crate::bridge::{classify, Fdb, L2Tables, PortMode, VlanInfo, ETHERTYPE_VLAN};
use crate::counters::{Counters, DropReason};
use crate::fragments::{fragment_of, Fragment, FragmentMap};
use crate::ipv4::{self, ETHERTYPE_IPV4, ETH_HDR};
use crate::ipv6::{self, ETHERTYPE_IPV6};
use crate::nat;
pub use crate::punt::{PuntReason, Punted};
use crate::screen::{self, Attack, ScreenState, SourceRoute};
use crate::security::{self, SecurityTables};
use savin_classify::Header;
use savin_security_tables::{Action, NatAction};
use savin_session::{Dir, FlowKey, Probe, SessionTable};

use crate::tables::{flow_hash, NextHop, Tables};
pub(crate) use route::{ip_ports, source_route, Originated};

/// ICMP error copies quote at most this much of the original frame (Ethernet header plus the
/// 548 bytes that keep the error within 576 bytes, RFC 1812 4.3.2.3).
pub const ERROR_QUOTE: usize = ETH_HDR + 548;

const ETHERTYPE_ARP: u16 = savin_wire::ethernet::ARP;

/// ICMP errors a worker may ask for: a burst, refilled at this rate per second. The control
/// plane applies its own limit too; this one keeps a flood of expiring packets from costing a
/// copy each.
pub(crate) const ERROR_BURST: u32 = 200;
pub(crate) const ERRORS_PER_S: u32 = 1000;

/// The stages and their scratch space, reused for every batch.
pub struct Pipeline {
    pub(crate) keys: Vec<u32>,
    pub(crate) next_hops: Vec<u32>,
    pub(crate) passed: Vec<u16>,
    pub(crate) keys6: Vec<u128>,
    pub(crate) next_hops6: Vec<u32>,
    pub(crate) passed6: Vec<u16>,
    /// Per output port: indices of the frames to send there.
    pub tx: Vec<Vec<u16>>,
    /// Copies made while flooding (a frame tagged for some ports, untagged for others), and
    /// per output port the indices of those to send.
    pub extra: FrameBatch,
    pub tx_extra: Vec<Vec<u16>>,
    /// Frames for the control plane: index and reason.
    pub punt: Vec<(u16, PuntReason)>,
    /// The port each frame came in on, as the control plane sees it (an IRB's slot for
    /// frames routed from a VLAN).
    pub in_port: Vec<u16>,
    /// The MAC table.
    pub fdb: Fdb,
    /// The worker's clock, in milliseconds (for MAC learning and aging).
    pub now_ms: u64,
    /// ICMP errors that may still be asked for (see `ERROR_BURST`).
    pub error_tokens: u32,
    pub counters: Counters,
    /// The security tables for this batch, and the worker's sessions (while security is on).
    pub(crate) sec: Option<Arc<SecurityTables>>,
    pub sessions: Option<SessionTable>,
    /// Per frame of the batch: what the security stage decided before the route lookup,
    /// the flow it read, and for session packets the rewrite left for after the checks.
    pub(crate) pre: Vec<Pre>,
    /// First packets' flows and their classifier headers (after destination NAT).
    pub(crate) flows: Vec<(security::Flow, Header)>,
    /// Per frame: its flow as read before the lookups (None: too short), and its session.
    pub(crate) parsed: Vec<Option<security::Flow>>,
    pub(crate) found: Vec<Option<(u32, Dir)>>,
    /// Per frame of a translated session: the key it leaves with. (Its destination part is
    /// applied before the route lookup, its source part after.)
    pub(crate) rest: Vec<FlowKey>,
    /// Fragmented datagrams whose first fragment passed, and their sessions.
    pub(crate) frags: FragmentMap,
    /// Later fragments that found no session before the route stage: looked for again at
    /// the end of the batch (their first fragment may start a session in it).
    pub(crate) deferred: Vec<u16>,
    /// Where each source pool (and, last, interface NAT) resumes giving out ports.
    pub(crate) nat_cursor: Vec<u32>,
    /// Policy and NAT rule hits, for the security tables they count against.
    pub hits: Hits,
    pub(crate) hits_of: Option<Arc<SecurityTables>>,
    /// Screen state (rates, fragments, scans, session counts) while a zone has a screen.
    pub(crate) screen: Option<ScreenState>,
    /// The worker's clock in microseconds (port-scan windows).
    pub now_us: u64,
    /// Session log events (`log session-init|session-close`) for the control plane, at
    /// most `MAX_EVENTS` between two publications; the rest are counted in `events_lost`.
    pub events: Vec<SessionEvent>,
    pub events_lost: u64,
    /// The NAT rules the current first packet matched: source, and destination or static
    /// (`(kind, index)`), for its session-init log.
    pub(crate) rule_hit: [Option<(usize, u32)>; 2],
}

/// Session log events beyond this many between two publications (100 ms) are counted, not
/// kept: a flood of logged sessions must not grow the worker's memory.
pub const MAX_EVENTS: usize = 8192;

/// A session log event, RT_FLOW style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// A session of a policy with `log session-init` was created. The NAT rules are
    /// `(kind, index)`, kind one of `NAT_SOURCE`, `NAT_DESTINATION`, `NAT_STATIC`.
    Create {
        info: savin_session::Info,
        source_rule: Option<(usize, u32)>,
        destination_rule: Option<(usize, u32)>,
    },
    /// A session of a policy with `log session-close` ended.
    Close(savin_session::Gone),
}

/// How often each policy and NAT rule matched a first packet, by index into the tables
/// that were in force (`show security policies hit-count`, `show security nat ... rule`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hits {
    /// By policy index; the last entry is the default policy.
    pub policy: Vec<u64>,
    /// Source, destination and static NAT rules, by index.
    pub nat: [Vec<u64>; 3],
    /// Screen drops by zone and attack: `zone * Attack::N + attack`.
    pub screen: Vec<u64>,
}

/// Which NAT rules a hit is for (index into [`Hits::nat`]).
pub const NAT_SOURCE: usize = 0;
pub const NAT_DESTINATION: usize = 1;
pub const NAT_STATIC: usize = 2;

impl Hits {
    fn reset(&mut self, sec: &SecurityTables) {
        self.policy.clear();
        self.policy.resize(sec.policy.policies.len() + 1, 0);
        for (v, n) in self.nat.iter_mut().zip([
            sec.nat.source.len(),
            sec.nat.destination.len(),
            sec.nat.statics.len(),
        ]) {
            v.clear();
            v.resize(n, 0);
        }
        self.screen.clear();
        self.screen.resize(sec.policy.zones.len() * Attack::N, 0);
    }

    #[inline]
    fn nat(&mut self, kind: usize, rule: u32) {
        if let Some(c) = self.nat[kind].get_mut(rule as usize) {
            *c += 1;
        }
    }
}

/// What the security stage made of an IPv4 frame before its route lookup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Pre {
    /// Security is off (or the frame is IPv6).
    #[default]
    Off,
    /// Dropped and counted.
    Dropped,
    /// A packet of a session (or an ICMP error about one): tracked, and its destination
    /// translated; with `nat`, the source part of the rewrite waits in `rest`.
    Session { nat: bool },
    /// The first packet of a flow (destination NAT applied, by the rule named, as
    /// `(kind, index)`): policy, source NAT and the session come once the egress is known.
    New { dnat: Option<(u8, u32)> },
    /// A later fragment whose session is looked for again at the end of the batch.
    Deferred,
}

impl Pipeline {
    pub fn new(ports: usize, batch: usize) -> Pipeline {
        Pipeline {
            keys: Vec::with_capacity(batch),
            next_hops: vec![0; batch],
            passed: Vec::with_capacity(batch),
            keys6: Vec::with_capacity(batch),
            next_hops6: vec![0; batch],
            passed6: Vec::with_capacity(batch),
            tx: (0..ports).map(|_| Vec::with_capacity(batch)).collect(),
            // Flood copies may be super-frames: slots for the largest.
            extra: FrameBatch::with_frame_size(batch, savin_io::MAX_GSO_FRAME),
            tx_extra: (0..ports).map(|_| Vec::with_capacity(batch)).collect(),
            punt: Vec::with_capacity(batch),
            in_port: vec![0; batch],
            fdb: Fdb::default(),
            now_ms: 0,
            sec: None,
            sessions: None,
            pre: vec![Pre::Off; batch],
            flows: vec![(security::Flow::default(), Header::default()); batch],
            parsed: vec![None; batch],
            found: vec![None; batch],
            rest: vec![FlowKey::default(); batch],
            frags: FragmentMap::default(),
            deferred: Vec::new(),
            nat_cursor: Vec::new(),
            hits: Hits::default(),
            hits_of: None,
            screen: None,
            now_us: 0,
            events: Vec::new(),
            events_lost: 0,
            rule_hit: [None; 2],
            error_tokens: ERROR_BURST,
            counters: Counters::default(),
        }
    }

    /// Makes room for output ports up to `ports`.
    pub fn set_ports(&mut self, ports: usize) {
        let cap = self.passed.capacity();
        while self.tx.len() < ports {
            self.tx.push(Vec::with_capacity(cap));
            self.tx_extra.push(Vec::with_capacity(cap));
        }
    }

    #[inline]
    fn punt_error(&mut self, i: u16, reason: PuntReason) {
        if self.error_tokens > 0 {
            self.error_tokens -= 1;
            self.punt.push((i, reason));
        } else {
            self.counters.errors_suppressed += 1;
        }
    }

    /// Clears the output lists (before a batch, or before injected frames).
    pub fn clear_outputs(&mut self) {
        for l in &mut self.tx {
            l.clear();
        }
        for l in &mut self.tx_extra {
            l.clear();
        }
        self.extra.clear();
    }

    /// Runs one batch received on `port` through the stages: VLAN classification and
    /// switching for switched ports, IP checks, route lookup and rewrite for routed frames.
    /// The frames to send are in `self.tx` (and `self.tx_extra`), those for the control plane
    /// in `self.punt`.
    pub fn process(&mut self, batch: &mut FrameBatch, tables: &Tables, port: u16) {
        self.clear_outputs();
        self.keys.clear();
        self.passed.clear();
        self.keys6.clear();
        self.passed6.clear();
        self.punt.clear();
        self.deferred.clear();
        if self.in_port.len() < batch.len() {
            self.in_port.resize(batch.len(), 0);
            self.pre.resize(batch.len(), Pre::Off);
            self.flows
                .resize(batch.len(), (security::Flow::default(), Header::default()));
            self.parsed.resize(batch.len(), None);
            self.found.resize(batch.len(), None);
            self.rest.resize(batch.len(), FlowKey::default());
        }
        self.counters.rx += batch.len() as u64;
        self.load_security(tables);
        let l2 = tables.l2.load();
        let mode = l2.mode(port);
        if let PortMode::Host { phy } = mode {
            // The kernel's frames: out of the port whose TAP this is, as they are.
            for i in 0..batch.len() {
                self.counters.from_host += 1;
                match l2.mode(phy) {
                    PortMode::Irb { vlan } => self.bridge_out(batch, i, phy, vlan, &l2),
                    _ => match self.tx.get_mut(usize::from(phy)) {
                        Some(l) => l.push(i as u16),
                        None => self.counters.drop(DropReason::Unresolved),
                    },
                }
            }
            return;
        }
        // Stage 1: VLAN classification and switching; Ethernet and IP header checks.
        const AHEAD: usize = 8;
        if mode != PortMode::Routed {
            for i in 0..AHEAD.min(batch.len()) {
                self.prefetch_fdb(batch, i, mode);
            }
        }
        for i in 0..batch.len() {
            self.in_port[i] = port;
            self.pre[i] = Pre::Off;
            if mode != PortMode::Routed && i + AHEAD < batch.len() {
                self.prefetch_fdb(batch, i + AHEAD, mode);
            }
            if mode != PortMode::Routed {
                if batch.frame(i).len() < ETH_HDR {
                    self.counters.drop(DropReason::Truncated);
                    continue;
                }
                match self.switch(batch, i, port, mode, &l2) {
                    Some(irb) => self.in_port[i] = irb,
                    None => continue,
                }
            }
            let f = batch.frame(i);
            if f.len() < ETH_HDR {
                self.counters.drop(DropReason::Truncated);
                continue;
            }
            match u16::from_be_bytes([f[12], f[13]]) {
                ETHERTYPE_IPV4 => match ipv4::check(f, ETH_HDR) {
                    // Link-local multicast (224.0.0.0/24: OSPF, VRRP) is for the box, past
                    // host-inbound; it is never routed.
                    Ok(dst) if dst >> 8 == 0x00e0_0000 => {
                        let ihl = usize::from(f[ETH_HDR] & 0x0f) * 4;
                        let (proto, sport, dport) = ip_ports(f, ETH_HDR + 9, ETH_HDR + ihl);
                        self.link_multicast(i, proto, sport, dport);
                    }
                    Ok(dst) => {
                        self.keys.push(dst);
                        self.passed.push(i as u16);
                    }
                    Err(r) => self.counters.drop(r),
                },
                ETHERTYPE_IPV6 => match ipv6::check(f, ETH_HDR) {
                    // Link-local multicast other than ICMPv6 (OSPFv3, VRRP): past host-inbound.
                    Ok(dst)
                        if dst >> 120 == 0xff
                            && ipv6::is_link_scope(dst)
                            && f[ETH_HDR + 6] != 58 =>
                    {
                        let (proto, sport, dport) = ip_ports(f, ETH_HDR + 6, ETH_HDR + 40);
                        self.link_multicast(i, proto, sport, dport);
                    }
                    // Neighbor Discovery and everything link-scoped is for the box.
                    Ok(dst) if ipv6::is_link_scope(dst) => {
                        self.punt.push((i as u16, PuntReason::Host));
                        self.counters.punted += 1;
                    }
                    Ok(dst) => {
                        self.keys6.push(dst);
                        self.passed6.push(i as u16);
                    }
                    Err(r) => self.counters.drop(r),
                },
                ETHERTYPE_ARP => {
                    self.punt.push((i as u16, PuntReason::Host));
                    self.counters.punted += 1;
                }
                _ => self.counters.drop(DropReason::UnsupportedProtocol),
            }
        }
        // One snapshot of the routing tables for the whole batch: the spoofing screen's
        // reverse lookups, the route lookups and the rewrite all see the same tables.
        let fib4 = tables.fib4.load();
        let adj = tables.adjacencies.load();
        // Stage 1b: sessions and destination NAT, before the route lookup that must see the
        // translated destination.
        if let Some(sec) = self.sec.take() {
            // In groups of frames, three passes each, so that memory latency overlaps and
            // what was prefetched is still in L1 when used: read each flow and start loading
            // its index slot; find the sessions and start loading them; check and translate.
            const GROUP: usize = 32;
            let n = self.keys.len();
            for g in (0..n).step_by(GROUP) {
                let end = (g + GROUP).min(n);
                if let Some(t) = &self.sessions {
                    let mut probes = [Probe::default(); GROUP];
                    for j in g..end {
                        let i = usize::from(self.passed[j]);
                        let f = security::flow_of(batch.frame(i));
                        if let Some(f) = &f {
                            probes[j - g] = t.prefetch_key(&f.key);
                        }
                        self.parsed[i] = f;
                    }
                    for j in g..end {
                        let i = usize::from(self.passed[j]);
                        self.found[i] = match self.parsed[i] {
                            Some(_) => t.lookup_probe(&probes[j - g]),
                            None => None,
                        };
                        if let Some((id, _)) = self.found[i] {
                            t.prefetch_session(id);
                        }
                    }
                }
                for j in g..end {
                    let i = usize::from(self.passed[j]);
                    match self.pre_route(&sec, (&fib4, &adj), batch, i) {
                        Ok(dst) => self.keys[j] = dst,
                        Err(r) => {
                            self.counters.drop(r);
                            self.pre[i] = Pre::Dropped;
                        }
                    }
                }
            }
            self.sec = Some(sec);
        }
        // Stage 2: route lookups for the whole batch against one snapshot per table.
        let n = self.keys.len();
        if self.next_hops.len() < n {
            self.next_hops.resize(n, 0);
        }
        if n > 0 {
            fib4.lookup_batch(&self.keys, &mut self.next_hops[..n]);
        }
        let n6 = self.keys6.len();
        if self.next_hops6.len() < n6 {
            self.next_hops6.resize(n6, 0);
        }
        if n6 > 0 {
            tables
                .fib6
                .load()
                .lookup_batch(&self.keys6, &mut self.next_hops6[..n6]);
        }
        // Stage 3: TTL, MTU, rewrite, and sort onto output ports.
        for j in 0..n {
            let i = self.passed[j];
            if !matches!(self.pre[usize::from(i)], Pre::Dropped | Pre::Deferred) {
                self.route(batch, i, self.next_hops[j], &adj, &l2, false);
            }
        }
        for j in 0..n6 {
            self.route(batch, self.passed6[j], self.next_hops6[j], &adj, &l2, true);
        }
        if !self.deferred.is_empty() {
            self.later_fragments(batch, (&fib4, &adj), &l2);
        }
    }
}
