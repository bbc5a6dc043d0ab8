//! Workers and the IPv4 forwarding pipeline.

use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwap;
use savin_fib::{FibReader, MISS};
use savin_io::{FrameBatch, IoError, PacketIo};

use crate::bridge::{
    classify, Fdb, FdbRow, FdbStats, L2Tables, PortMode, VlanInfo, ETHERTYPE_VLAN,
};
use crate::counters::{Counters, DropReason, PortCounters};
use crate::fragments::{fragment_of, Fragment, FragmentMap};
use crate::ipv4::{self, ETHERTYPE_IPV4, ETH_HDR};
use crate::ipv6::{self, ETHERTYPE_IPV6};
use crate::nat;
use crate::punt::PuntSender;
pub use crate::punt::{PuntReason, Punted};
use crate::screen::{self, Attack, ScreenState, SourceRoute};
use crate::security::{self, SecurityTables};
use savin_classify::Header;
use savin_security::{Action, NatAction};
use savin_session::{Dir, FlowKey, Probe, SessionTable};

/// What a next hop resolves to: the output port, the Ethernet addresses to write and the
/// port's IP MTU (larger packets are fragmented or answered with fragmentation needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adjacency {
    pub port: u16,
    pub dst_mac: [u8; 6],
    pub src_mac: [u8; 6],
    pub mtu: u16,
}

/// What a next-hop index means to the data plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextHop {
    /// Known but not usable (a neighbour that did not answer): drop.
    Unresolved,
    /// Rewrite and send.
    Forward(Adjacency),
    /// One of the box's own addresses: to the control plane.
    Local,
    /// A neighbour still to be resolved (a connected destination or a gateway) on `port`:
    /// the packet is routed (TTL decremented) and handed to the control plane, which holds
    /// it while it asks ARP. The port is known so that security sees the egress zone.
    Resolve { port: u16 },
    /// A `discard` route: drop silently.
    Discard,
    /// A `reject` route: drop and send ICMP unreachable.
    Reject,
    /// Equal-cost paths: the next hops at `base..base + n` in the same table; a flow hash
    /// picks one, so a flow keeps its path and its packets their order.
    Group { base: u32, n: u16 },
}

/// The flow hash of an IP packet in an Ethernet frame: addresses, protocol and (for TCP and
/// UDP, unfragmented) ports, as Linux's and Junos's L3+L4 load balancing. Malformed input
/// hashes to something; it never panics.
#[inline]
pub fn flow_hash(frame: &[u8], v6: bool) -> u32 {
    let word = |at: usize| -> u64 {
        frame.get(at..at + 4).map_or(0, |b| {
            u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        })
    };
    let l3 = ETH_HDR;
    let (mut h, proto, l4) = if v6 {
        let mut h = 0u64;
        for i in 0..8 {
            h = (h ^ word(l3 + 8 + 4 * i)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
        (h, frame.get(l3 + 6).copied().unwrap_or(0), Some(l3 + 40))
    } else {
        let ihl = usize::from(frame.get(l3).copied().unwrap_or(0x45) & 0x0f) * 4;
        let frag = frame
            .get(l3 + 6..l3 + 8)
            .is_some_and(|b| u16::from_be_bytes([b[0], b[1]]) & 0x3fff != 0);
        let h = (word(l3 + 12) << 32 | word(l3 + 16)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (
            h,
            frame.get(l3 + 9).copied().unwrap_or(0),
            (!frag).then_some(l3 + ihl),
        )
    };
    h ^= u64::from(proto);
    if let (6 | 17, Some(at)) = (proto, l4) {
        h = (h ^ word(at)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    (h ^ (h >> 29)) as u32
}

/// The tables workers read. The control plane publishes new versions; a worker takes one
/// snapshot of each per batch.
#[derive(Clone)]
pub struct Tables {
    pub fib4: FibReader<u32>,
    pub fib6: FibReader<u128>,
    /// Indexed by next-hop index.
    pub adjacencies: Arc<ArcSwap<Vec<NextHop>>>,
    /// Port modes and VLANs.
    pub l2: Arc<ArcSwap<L2Tables>>,
    /// Zones, policies and session settings; None: no `security zones`, nothing is filtered.
    pub security: Arc<arc_swap::ArcSwapOption<SecurityTables>>,
}

impl Tables {
    /// Tables for IPv4 routing alone: `fib4` and its next hops, an empty IPv6 FIB, no VLANs,
    /// no security (what tests, benchmarks and fuzz targets start from).
    pub fn routed(fib4: FibReader<u32>, adjacencies: Vec<NextHop>) -> Tables {
        Tables {
            fib4,
            fib6: savin_fib::Fib::<u128>::new().reader(),
            adjacencies: Arc::new(ArcSwap::from_pointee(adjacencies)),
            l2: Default::default(),
            security: Default::default(),
        }
    }
}

/// What the control plane asks of a running worker, between two batches.
pub enum ToWorker {
    /// Send this frame out of `port` (ARP, ICMP, packets released after resolution). An IRB
    /// port sends through its VLAN's bridge.
    Send { port: u16, frame: Vec<u8> },
    /// `clear ethernet-switching table`.
    ClearFdb,
    /// `show security flow session`: the sessions `keep` selects; with `clear`, removed.
    Sessions {
        keep: Box<dyn Fn(&savin_session::Info) -> bool + Send>,
        clear: bool,
        reply: SyncSender<(Vec<savin_session::Info>, usize)>,
    },
    /// Attach (Some) or detach (None) the port in slot `port`. Other ports are untouched.
    SetPort {
        port: u16,
        io: Option<Box<dyn PacketIo>>,
    },
}

/// ICMP error copies quote at most this much of the original frame (Ethernet header plus the
/// 548 bytes that keep the error within 576 bytes, RFC 1812 4.3.2.3).
pub const ERROR_QUOTE: usize = ETH_HDR + 548;

const ETHERTYPE_ARP: u16 = 0x0806;

/// ICMP errors a worker may ask for: a burst, refilled at this rate per second. The control
/// plane applies its own limit too; this one keeps a flood of expiring packets from costing a
/// copy each.
const ERROR_BURST: u32 = 200;
const ERRORS_PER_S: u32 = 1000;

/// The stages and their scratch space, reused for every batch.
pub struct Pipeline {
    keys: Vec<u32>,
    next_hops: Vec<u32>,
    passed: Vec<u16>,
    keys6: Vec<u128>,
    next_hops6: Vec<u32>,
    passed6: Vec<u16>,
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
    sec: Option<Arc<SecurityTables>>,
    pub sessions: Option<SessionTable>,
    /// Per frame of the batch: what the security stage decided before the route lookup,
    /// the flow it read, and for session packets the rewrite left for after the checks.
    pre: Vec<Pre>,
    /// First packets' flows and their classifier headers (after destination NAT).
    flows: Vec<(security::Flow, Header)>,
    /// Per frame: its flow as read before the lookups (None: too short), and its session.
    parsed: Vec<Option<security::Flow>>,
    found: Vec<Option<(u32, Dir)>>,
    /// Per frame of a translated session: the key it leaves with. (Its destination part is
    /// applied before the route lookup, its source part after.)
    rest: Vec<FlowKey>,
    /// Fragmented datagrams whose first fragment passed, and their sessions.
    frags: FragmentMap,
    /// Later fragments that found no session before the route stage: looked for again at
    /// the end of the batch (their first fragment may start a session in it).
    deferred: Vec<u16>,
    /// Where each source pool (and, last, interface NAT) resumes giving out ports.
    nat_cursor: Vec<u32>,
    /// Policy and NAT rule hits, for the security tables they count against.
    pub hits: Hits,
    hits_of: Option<Arc<SecurityTables>>,
    /// Screen state (rates, fragments, scans, session counts) while a zone has a screen.
    screen: Option<ScreenState>,
    /// The worker's clock in microseconds (port-scan windows).
    pub now_us: u64,
    /// Session log events (`log session-init|session-close`) for the control plane, at
    /// most `MAX_EVENTS` between two publications; the rest are counted in `events_lost`.
    pub events: Vec<SessionEvent>,
    pub events_lost: u64,
    /// The NAT rules the current first packet matched: source, and destination or static
    /// (`(kind, index)`), for its session-init log.
    rule_hit: [Option<(usize, u32)>; 2],
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
enum Pre {
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

    /// The later fragments that found no session before the route stage, now that the
    /// batch's first packets have made theirs: each found is tracked, translated (addresses
    /// only: it has no ports) as its session's packets are, routed and sent; the rest are
    /// dropped.
    #[inline(never)]
    fn later_fragments(
        &mut self,
        batch: &mut FrameBatch,
        routes: (&savin_fib::Table<u32>, &[NextHop]),
        l2: &L2Tables,
    ) {
        let deferred = std::mem::take(&mut self.deferred);
        for &i in &deferred {
            let at = usize::from(i);
            let now = self.now_ms;
            let found = match (fragment_of(batch.frame(at)), self.sessions.as_mut()) {
                (Fragment::Later(d, _), Some(table)) => {
                    self.frags.get(&d, now).and_then(|(id, dir)| {
                        let len = self.parsed[at].as_ref().map_or(0, |f| f.len);
                        table.track(id, dir, None, len, now).ok()?;
                        let wire = table.key(id, dir);
                        Some((wire, table.translation(id, dir).unwrap_or(wire)))
                    })
                }
                _ => None,
            };
            let Some((wire, to)) = found else {
                self.counters.drop(DropReason::FragmentNoSession);
                self.pre[at] = Pre::Dropped;
                continue;
            };
            if to != wire {
                let partial = batch.offload(at).needs_csum();
                nat::rewrite(batch.frame_mut(at), &wire, &to, partial);
            }
            self.pre[at] = Pre::Session { nat: false };
            let nh = routes.0.lookup(to.dst);
            self.route(batch, i, nh, routes.1, l2, false);
        }
        self.deferred = deferred;
    }

    /// Takes this batch's security tables; makes, reconfigures or drops the session table to
    /// match; expires what is due (a bounded amount per batch).
    fn load_security(&mut self, tables: &Tables) {
        self.sec = tables.security.load_full();
        match (&self.sec, &mut self.sessions) {
            (None, s) => *s = None,
            (Some(sec), Some(t)) if t.config().capacity == sec.sessions.capacity => {
                if *t.config() != sec.sessions {
                    t.reconfigure(sec.sessions);
                }
            }
            (Some(sec), s) => *s = Some(SessionTable::new(sec.sessions, self.now_ms)),
        }
        if let Some(t) = &mut self.sessions {
            t.tick_bounded(self.now_ms, 1024);
        }
        // Sessions gone, counted against the screen state they were counted in (before a
        // new one may replace it below).
        if let Some(t) = &mut self.sessions {
            let (st, events, lost) = (&mut self.screen, &mut self.events, &mut self.events_lost);
            t.take_freed(|g| {
                if let (true, Some(st)) = (g.limited, st.as_mut()) {
                    st.session_removed(g.info.key.src, g.info.key.dst);
                }
                if g.log {
                    if events.len() < MAX_EVENTS {
                        events.push(SessionEvent::Close(g));
                    } else {
                        *lost += 1;
                    }
                }
            });
        }
        if let Some(sec) = &self.sec {
            let n = sec.nat.pools.len() + 1;
            if self.nat_cursor.len() != n {
                self.nat_cursor.resize(n, 0);
            }
            if !self.hits_of.as_ref().is_some_and(|h| Arc::ptr_eq(h, sec)) {
                self.hits.reset(sec);
                self.hits_of = Some(sec.clone());
                // Screen state follows the screens: made when one is bound, its session
                // counts only when one limits sessions. A new state counts the live
                // sessions of the zones whose screens limit them (and only those are
                // subtracted when they go).
                let limits = sec.limits_sessions();
                let wanted = !sec.screens.is_empty();
                match &self.screen {
                    Some(st) if wanted && st.limits() == limits => {}
                    _ if wanted => {
                        let mut st = ScreenState::new(limits, sec.sessions.capacity);
                        if let Some(t) = &mut self.sessions {
                            t.recount(|port, key| {
                                let counted = limits
                                    && sec
                                        .zone(port)
                                        .and_then(|z| sec.screen(z))
                                        .is_some_and(|s| s.limits_sessions());
                                if counted {
                                    st.session_added(key.src, key.dst);
                                }
                                counted
                            });
                        }
                        self.screen = Some(st);
                    }
                    _ => self.screen = None,
                }
            }
        } else if self.hits_of.is_some() {
            self.hits_of = None;
            self.hits = Hits::default();
            self.screen = None;
        }
    }

    /// The security stage before the route lookup, for IPv4 frame `i` when zones are
    /// configured: a packet of a session is tracked and its destination translated (an ICMP
    /// error about a session is translated inside and out); the first packet of a flow gets
    /// static or destination NAT. Returns the destination to route on.
    #[inline(never)]
    fn pre_route(
        &mut self,
        sec: &SecurityTables,
        routes: (&savin_fib::Table<u32>, &[NextHop]),
        batch: &mut FrameBatch,
        i: usize,
    ) -> Result<u32, DropReason> {
        let in_port = self.in_port[i];
        let Some(from) = sec.zone(in_port) else {
            return Err(DropReason::NoZone);
        };
        let scr = sec.screen(from);
        let mut packet = screen::Packet::default();
        if let (Some(scr), Some(st)) = (scr, self.screen.as_mut()) {
            packet = screen::Packet::of(batch.frame(i), ETH_HDR);
            let route = |src: u32| source_route(routes, src);
            if let Err(a) = st.packet(scr, &packet, in_port, self.now_ms, route) {
                return Err(self.screened(from, a));
            }
        }
        // What a session's packet needs of its flow, read in place (the whole flow is
        // copied only for a first packet).
        let Some((key, tcp, len, fragment)) = self.parsed[i]
            .as_ref()
            .map(|f| (f.key, f.tcp, f.len, f.fragment))
        else {
            return Err(DropReason::Truncated);
        };
        let partial = batch.offload(i).needs_csum();
        let now = self.now_ms;
        // Found before (sessions are never freed within a batch), or made since by an
        // earlier frame of this batch; a later fragment by its datagram.
        let mut found = self.found[i].or_else(|| self.sessions.as_ref()?.lookup(&key));
        if fragment {
            match self.fragment_session(batch, i, found) {
                Ok(f) => found = f,
                Err(None) => return Ok(key.dst),
                Err(Some(r)) => return Err(r),
            }
        }
        let Some(table) = self.sessions.as_mut() else {
            return Err(DropReason::SessionTableFull);
        };
        if let Some((id, dir)) = found {
            match table.track(id, dir, tcp.as_ref(), len, now) {
                Ok(()) => {}
                Err(savin_session::TrackError::Reopen) => {
                    found = reopen(table, id, &key, tcp.as_ref(), len, now)?;
                }
                Err(e) => return Err(security::drop_of(e)),
            }
        }
        if let Some((id, dir)) = found {
            let Some(to) = table.translation(id, dir) else {
                self.pre[i] = Pre::Session { nat: false };
                return Ok(key.dst);
            };
            let mid = FlowKey {
                dst: to.dst,
                dport: to.dport,
                ..key
            };
            if mid != key {
                nat::rewrite(batch.frame_mut(i), &key, &mid, partial);
            }
            self.rest[i] = to;
            self.pre[i] = Pre::Session { nat: true };
            return Ok(to.dst);
        }
        let Some(flow) = self.parsed[i] else {
            return Err(DropReason::Truncated);
        };
        if flow.key.proto == 1 && nat::is_icmp_error(flow.icmp_type) {
            // An error about a packet of a session belongs to that session: translated back
            // to what the packet's sender knows, and let through without a policy of its own.
            if let Some(q) = nat::quoted_key(batch.frame(i)) {
                if let Some((id, dir)) = table.lookup(&q.reversed()) {
                    let sent = match dir {
                        Dir::Forward => Dir::Reverse,
                        Dir::Reverse => Dir::Forward,
                    };
                    let orig = table.key(id, sent);
                    if orig != q {
                        nat::translate_error(batch.frame_mut(i), &q, &orig);
                    }
                    self.pre[i] = Pre::Session { nat: false };
                    return Ok(orig.src);
                }
            }
        }
        if let (Some(scr), Some(st)) = (scr, self.screen.as_mut()) {
            if packet.is_syn() {
                if let Err(a) = st.new_syn(scr, &packet, self.now_us) {
                    return Err(self.screened(from, a));
                }
            }
        }
        self.rule_hit[1] = None;
        let nat = &sec.nat;
        let mut header = flow.header();
        if !nat.destination.is_empty() || !nat.statics.is_empty() {
            let h = &header;
            let ports = matches!(h.proto, 6 | 17);
            let to = if let Some((rule, dst)) = nat.static_destination(from, in_port, h) {
                self.hits.nat(NAT_STATIC, rule);
                self.rule_hit[1] = Some((NAT_STATIC, rule));
                Some((dst, h.dport))
            } else {
                match nat.destination(from, in_port, h) {
                    Some((rule, NatAction::Destination(p))) => {
                        self.hits.nat(NAT_DESTINATION, rule);
                        self.rule_hit[1] = Some((NAT_DESTINATION, rule));
                        nat.destination_pools.get(usize::from(p)).map(|pool| {
                            (pool.address, pool.port.filter(|_| ports).unwrap_or(h.dport))
                        })
                    }
                    _ => None,
                }
            };
            if let Some((dst, dport)) = to {
                let k = flow.key;
                let after = FlowKey {
                    dst,
                    dport: if ports { dport } else { k.dport },
                    ..k
                };
                nat::rewrite(batch.frame_mut(i), &k, &after, partial);
                header.dst = dst;
                header.dport = if ports { dport } else { header.dport };
            }
        }
        let dst = header.dst;
        self.flows[i] = (flow, header);
        self.pre[i] = Pre::New {
            dnat: self.rule_hit[1].map(|(k, r)| (k as u8, r)),
        };
        Ok(dst)
    }

    /// The session of fragment `i`: a first fragment leaves the session it found for the
    /// fragments after it; a later one takes the session its first left, or is deferred to
    /// the end of the batch (`Err(None)`) when there is none yet, or dropped (`Err(Some)`). Out of line: few packets are
    /// fragments, and the session path must stay small enough to keep its calls inlined.
    #[cold]
    #[inline(never)]
    fn fragment_session(
        &mut self,
        batch: &FrameBatch,
        i: usize,
        found: Option<(u32, Dir)>,
    ) -> Result<Option<(u32, Dir)>, Option<DropReason>> {
        match fragment_of(batch.frame(i)) {
            Fragment::Whole => Ok(found),
            Fragment::First(d) => {
                if let Some((id, dir)) = found {
                    self.frags.insert(d, id, dir, self.now_ms);
                }
                Ok(found)
            }
            // RFC 1858: a TCP fragment at offset 1 (8 bytes) can only rewrite the header the
            // session was checked by; no honest sender makes one.
            Fragment::Later(d, 1) if d.proto == 6 => Err(Some(DropReason::FragmentOverlap)),
            Fragment::Later(d, _) => match self.frags.get(&d, self.now_ms) {
                Some(f) => Ok(Some(f)),
                None => {
                    self.deferred.push(i as u16);
                    self.pre[i] = Pre::Deferred;
                    Err(None)
                }
            },
        }
    }

    /// A translated session's frame `i`: its key as it is between the destination and the
    /// source translation (what the frame holds after the route lookup), and the key it
    /// leaves with. (Recomputed rather than stored: a key built and copied back at once
    /// stalled on store forwarding.)
    #[inline(always)]
    fn after_dnat(&self, i: usize) -> (FlowKey, FlowKey) {
        let to = self.rest[i];
        let key = self.parsed[i].as_ref().map_or(to, |f| f.key);
        (
            FlowKey {
                dst: to.dst,
                dport: to.dport,
                ..key
            },
            to,
        )
    }

    /// Counts a screened packet under its zone and attack; the drop reason to count it by.
    #[inline]
    fn screened(&mut self, zone: u16, a: Attack) -> DropReason {
        if let Some(c) = self
            .hits
            .screen
            .get_mut(usize::from(zone) * Attack::N + a as usize)
        {
            *c += 1;
        }
        DropReason::Screen
    }

    /// Runs the security stage (when zones are configured) on routed frame `i` leaving by
    /// `out_port` (None: for the box). False: it was dropped and counted (and a reject
    /// answered). The session cases are inlined into the route stage; the rest is a call.
    #[inline(always)]
    /// A link-local multicast frame for the box: with zones, its port must be in one and
    /// the host-inbound traffic of the port (or its zone) must allow the protocol (`protocols
    /// ospf`, `vrrp`, ...); then it is punted for the box's sockets.
    fn link_multicast(&mut self, i: usize, proto: u8, sport: u16, dport: u16) {
        if let Some(sec) = &self.sec {
            let port = self.in_port[i];
            if sec.zone(port).is_none() {
                self.counters.drop(DropReason::NoZone);
                return;
            }
            let allowed = sec
                .host_inbound
                .get(usize::from(port))
                .is_some_and(|h| h.allows(proto, sport, dport, 0));
            if !allowed {
                self.counters.drop(DropReason::HostInboundDenied);
                return;
            }
        }
        self.punt.push((i as u16, PuntReason::Host));
        self.counters.punted += 1;
    }

    fn security_passes(
        &mut self,
        batch: &mut FrameBatch,
        i: u16,
        out_port: Option<u16>,
        v6: bool,
    ) -> bool {
        match self.pre[usize::from(i)] {
            // A session's packet without translation was settled before the route lookup.
            Pre::Session { nat: false } => return true,
            // One with translation gets the rest of it (source NAT) now that the route is
            // known; no policy, nothing else to look up (the common case, kept out of the call).
            Pre::Session { nat: true } if !v6 => {
                let (mid, to) = self.after_dnat(usize::from(i));
                if mid != to {
                    let partial = batch.offload(usize::from(i)).needs_csum();
                    nat::rewrite(batch.frame_mut(usize::from(i)), &mid, &to, partial);
                }
                return true;
            }
            _ => {}
        }
        self.security_first(batch, i, out_port, v6)
    }

    /// [`security_passes`](Self::security_passes) for a first packet, a frame to the box
    /// or IPv6.
    #[inline(never)]
    fn security_first(
        &mut self,
        batch: &mut FrameBatch,
        i: u16,
        out_port: Option<u16>,
        v6: bool,
    ) -> bool {
        let Some(sec) = self.sec.take() else {
            return true;
        };
        let r = self.secure(&sec, batch, usize::from(i), out_port, v6);
        self.sec = Some(sec);
        match r {
            Ok(()) => true,
            Err(reason) => {
                self.counters.drop(reason);
                if reason == DropReason::PolicyRejected {
                    self.punt_error(i, PuntReason::PolicyReject);
                }
                false
            }
        }
    }

    /// The security stage for routed frame `i` leaving by `out_port` (None: for the box),
    /// once the route is known: a session's packet gets the rest of its translation; a first
    /// packet gets its policy, source NAT and session. Err: drop it, counted under the
    /// reason (and for a reject, answer it).
    #[inline(never)]
    fn secure(
        &mut self,
        sec: &SecurityTables,
        batch: &mut FrameBatch,
        i: usize,
        out_port: Option<u16>,
        v6: bool,
    ) -> Result<(), DropReason> {
        let in_port = self.in_port[i];
        if v6 && sec.ipv6_packet_based {
            // Routed as it is, without security processing (SRX packet-based mode).
            return Ok(());
        }
        let Some(from) = sec.zone(in_port) else {
            return Err(DropReason::NoZone);
        };
        if v6 {
            // IPv6 is not classified yet: to the box it passes (ND, ping), through it is
            // dropped, as an SRX does in its default inet6 mode (drop).
            return if out_port.is_none() {
                Ok(())
            } else {
                Err(DropReason::PolicyDenied)
            };
        }
        let partial = batch.offload(i).needs_csum();
        match self.pre[i] {
            // A session's IPv4 packet is finished in `security_passes` and never comes here.
            Pre::Session { .. } => return Ok(()),
            Pre::New { dnat } => {
                self.rule_hit = [None, dnat.map(|(k, r)| (usize::from(k), r))];
            }
            Pre::Off | Pre::Dropped | Pre::Deferred => return Err(DropReason::Truncated),
        }
        let (flow, h) = self.flows[i];
        let Some(out) = out_port else {
            let allowed = sec
                .host_inbound
                .get(usize::from(in_port))
                .is_some_and(|hi| hi.allows(h.proto, h.sport, h.dport, flow.icmp_type));
            return if allowed {
                Ok(())
            } else {
                Err(DropReason::HostInboundDenied)
            };
        };
        let Some(to) = sec.zone(out) else {
            return Err(DropReason::NoZone);
        };
        let d = sec.policy.decide(from, to, &h);
        let hit = (d.policy as usize).min(self.hits.policy.len().saturating_sub(1));
        if let Some(c) = self.hits.policy.get_mut(hit) {
            *c += 1;
        }
        // The packet as it is now (destination NAT done), and as it will leave.
        let k = flow.key;
        let post = FlowKey {
            dst: h.dst,
            dport: if matches!(k.proto, 6 | 17) {
                h.dport
            } else {
                k.dport
            },
            ..k
        };
        match d.action {
            Action::Permit => {}
            Action::Deny => return Err(DropReason::PolicyDenied),
            Action::Reject => {
                // The answer (RST or unreachable) is built from the frame: it must come from
                // the address and port the client sent to, not the inside ones destination
                // NAT put there (the client would ignore it and wait for its timeout).
                if post != k {
                    nat::rewrite(batch.frame_mut(i), &post, &k, partial);
                }
                return Err(DropReason::PolicyRejected);
            }
        }
        let limited = match (sec.screen(from), &self.screen) {
            (Some(scr), Some(st)) if scr.limits_sessions() => {
                if let Err(a) = st.session_allowed(scr, k.src, k.dst) {
                    return Err(self.screened(from, a));
                }
                true
            }
            _ => false,
        };
        let after = self.source_nat(sec, (from, in_port), (to, out), &post, &h)?;
        let now = self.now_ms;
        let Some(table) = self.sessions.as_mut() else {
            return Err(DropReason::SessionTableFull);
        };
        let id = table
            .create(
                k,
                after.reversed(),
                d.policy,
                d.timeout,
                flow.tcp.as_ref(),
                flow.len,
                now,
            )
            .map_err(security::drop_of)?;
        table.set_ports(id, in_port, out);
        // The parsed flow already says whether this is a fragment: the frame is read again
        // only for those.
        if flow.fragment {
            if let Fragment::First(d) = fragment_of(batch.frame(i)) {
                // The datagram as its later fragments arrive: before any translation.
                let d = crate::fragments::Datagram {
                    src: k.src,
                    dst: k.dst,
                    ..d
                };
                self.frags.insert(d, id, Dir::Forward, now);
            }
        }
        let (log_init, log_close) = sec
            .policy
            .policies
            .get(d.policy as usize)
            .map_or((false, false), |p| (p.log_init, p.log_close));
        if limited || log_close {
            table.mark(id, limited, log_close);
        }
        if limited {
            if let Some(st) = &mut self.screen {
                st.session_added(k.src, k.dst);
            }
        }
        if log_init {
            match table.info(id, now) {
                Some(info) if self.events.len() < MAX_EVENTS => {
                    self.events.push(SessionEvent::Create {
                        info,
                        source_rule: self.rule_hit[0],
                        destination_rule: self.rule_hit[1],
                    })
                }
                _ => self.events_lost += 1,
            }
        }
        if after != post {
            nat::rewrite(batch.frame_mut(i), &post, &after, partial);
        }
        Ok(())
    }

    /// What source NAT (or reverse static NAT) makes of a new flow `post` from (zone, port)
    /// `from` to `to`: the key it will leave with. The address comes from the pool by a hash
    /// of the source (a host keeps its address, as with SRX `address-pooling paired`); ports
    /// are handed out in turn from the pool's range and never to a mapping a live session
    /// holds (the reply key is checked against the session table).
    fn source_nat(
        &mut self,
        sec: &SecurityTables,
        from: (u16, u16),
        to: (u16, u16),
        post: &FlowKey,
        h: &savin_classify::Header,
    ) -> Result<FlowKey, DropReason> {
        let nat = &sec.nat;
        if nat.source.is_empty() && nat.statics.is_empty() {
            return Ok(*post);
        }
        if let Some((rule, src)) = nat.static_source(to.0, to.1, post.src) {
            self.hits.nat(NAT_STATIC, rule);
            self.rule_hit[0] = Some((NAT_STATIC, rule));
            return Ok(FlowKey { src, ..*post });
        }
        let probe = savin_classify::Header {
            src: post.src,
            dst: post.dst,
            ..*h
        };
        let found = nat.source(from, to, &probe);
        if let Some((rule, action)) = found {
            self.hits.nat(NAT_SOURCE, rule);
            if action != NatAction::Off {
                self.rule_hit[0] = Some((NAT_SOURCE, rule));
            }
        }
        let (addr, ports, cursor) = match found {
            Some((_, NatAction::Pool(p))) => {
                let Some(pool) = nat.pools.get(usize::from(p)) else {
                    return Ok(*post);
                };
                let pick = u64::from(post.src.wrapping_mul(0x9e37_79b1) >> 8);
                (pool.address(pick), pool.ports, usize::from(p))
            }
            Some((_, NatAction::Interface)) => {
                let Some(&a) = sec.port_addr.get(usize::from(to.1)).filter(|a| **a != 0) else {
                    return Err(DropReason::NatExhausted);
                };
                (a, Some((1024, u16::MAX)), nat.pools.len())
            }
            _ => return Ok(*post),
        };
        let table = self.sessions.as_ref().ok_or(DropReason::SessionTableFull)?;
        // ICMP echo: the identifier is the port; other ICMP and port-less protocols keep it.
        let echo = post.proto == 1 && post.sport == post.dport && matches!(h.dport >> 8, 0 | 8);
        match ports {
            Some((lo, hi)) if matches!(post.proto, 6 | 17) || echo => {
                let span = u32::from(hi - lo) + 1;
                let c = &mut self.nat_cursor[cursor];
                for _ in 0..64.min(span) {
                    let p = lo + (*c % span) as u16;
                    *c = c.wrapping_add(1);
                    let cand = FlowKey {
                        src: addr,
                        sport: p,
                        dport: if echo { p } else { post.dport },
                        ..*post
                    };
                    if table.is_free(&cand.reversed()) {
                        return Ok(cand);
                    }
                }
                Err(DropReason::NatExhausted)
            }
            _ => {
                let cand = FlowKey { src: addr, ..*post };
                if table.is_free(&cand.reversed()) {
                    Ok(cand)
                } else {
                    Err(DropReason::NatExhausted)
                }
            }
        }
    }

    /// Starts loading the MAC table slots (source and destination) of frame `i`, a few frames
    /// before it is switched, so the switching stage does not wait on the cache.
    #[inline(always)]
    fn prefetch_fdb(&self, batch: &FrameBatch, i: usize, mode: PortMode) {
        let f = batch.frame(i);
        if f.len() >= 18 {
            let tag = (u16::from_be_bytes([f[12], f[13]]) == ETHERTYPE_VLAN)
                .then(|| u16::from_be_bytes([f[14], f[15]]) & 0x0fff);
            if let Some(vid) = crate::bridge::port_vlan(mode, tag) {
                self.fdb.prefetch(vid, &f[6..12]);
                self.fdb.prefetch(vid, &f[..6]);
            }
        }
    }

    /// Switches frame `i` from `port` (an access or trunk port). Returns the IRB slot when the
    /// frame is for the VLAN's routed interface (its tag removed, ready for the IP stages);
    /// None when the frame was switched, flooded or dropped here.
    #[inline]
    fn switch(
        &mut self,
        batch: &mut FrameBatch,
        i: usize,
        port: u16,
        mode: PortMode,
        l2: &L2Tables,
    ) -> Option<u16> {
        let f = batch.frame(i);
        let tagged = f.len() >= 18 && u16::from_be_bytes([f[12], f[13]]) == ETHERTYPE_VLAN;
        let tag = tagged.then(|| u16::from_be_bytes([f[14], f[15]]) & 0x0fff);
        let Some(vid) = classify(mode, tag, l2, port) else {
            self.counters.drop(DropReason::VlanNotAllowed);
            return None;
        };
        let info = l2.vlan(vid)?;
        self.fdb
            .learn(vid, &f[6..12], port, self.now_ms, info.mac_limit);
        if let Some((irb, mac)) = info.irb {
            if f[..6] == mac {
                if tagged {
                    batch.pop_vlan(i);
                }
                return Some(irb);
            }
        }
        if f[0] & 1 != 0 {
            // Broadcast and multicast: every other port of the VLAN, and the IRB (ARP, ND).
            if let Some((irb, _)) = info.irb {
                self.punt.push((i as u16, PuntReason::Host));
                self.in_port[i] = irb;
            }
            self.flood(batch, i, vid, port, info, tagged);
            return None;
        }
        match self.fdb.lookup(vid, &f[..6]) {
            Some(out) if out == port => self.counters.drop(DropReason::SamePort),
            Some(out) => self.send_to_member(batch, i, vid, out, info, tagged),
            None => self.flood(batch, i, vid, port, info, tagged),
        }
        None
    }

    /// Sends frame `i` of VLAN `vid` out of member port `out`, tagged as that port wants.
    #[inline(always)]
    fn send_to_member(
        &mut self,
        batch: &mut FrameBatch,
        i: usize,
        vid: u16,
        out: u16,
        info: &VlanInfo,
        tagged: bool,
    ) {
        let Some(want) = info.member(out) else {
            self.counters.drop(DropReason::VlanNotAllowed);
            return;
        };
        let ok = match (tagged, want) {
            (true, false) => batch.pop_vlan(i),
            (false, true) => batch.push_vlan(i, vid),
            _ => true,
        };
        match self.tx.get_mut(usize::from(out)) {
            Some(l) if ok => {
                l.push(i as u16);
                self.counters.bridged += 1;
            }
            _ => self.counters.drop(DropReason::Unresolved),
        }
    }

    /// Sends frame `i` to every member of VLAN `vid` but `ingress`: the frame itself where the
    /// port wants it as it is, one copy with the tag added or removed where it does not.
    fn flood(
        &mut self,
        batch: &mut FrameBatch,
        i: usize,
        vid: u16,
        ingress: u16,
        info: &VlanInfo,
        tagged: bool,
    ) {
        let mut copy: Option<u16> = None;
        for &(m, want) in &info.members {
            if m == ingress || usize::from(m) >= self.tx.len() {
                continue;
            }
            if want == tagged {
                self.tx[usize::from(m)].push(i as u16);
                continue;
            }
            let c = match copy {
                Some(c) => c,
                None => {
                    let c = self.extra.len();
                    if !self.extra.push_from(batch, i) {
                        self.counters.drop(DropReason::TxFull);
                        continue;
                    }
                    let ok = if tagged {
                        self.extra.pop_vlan(c)
                    } else {
                        self.extra.push_vlan(c, vid)
                    };
                    if !ok {
                        continue;
                    }
                    copy = Some(c as u16);
                    c as u16
                }
            };
            self.tx_extra[usize::from(m)].push(c);
        }
        self.counters.flooded += 1;
    }

    /// A routed or injected frame (untagged, addressed) leaving by IRB `irb` of VLAN `vid`:
    /// to the port that has its destination MAC, or flooded in the VLAN.
    pub fn bridge_out(
        &mut self,
        batch: &mut FrameBatch,
        i: usize,
        irb: u16,
        vid: u16,
        l2: &L2Tables,
    ) {
        let Some(info) = l2.vlan(vid) else {
            self.counters.drop(DropReason::Unresolved);
            return;
        };
        match self.fdb.lookup(vid, &batch.frame(i)[..6]) {
            Some(out) => self.send_to_member(batch, i, vid, out, info, false),
            None => self.flood(batch, i, vid, irb, info, false),
        }
    }

    #[inline]
    fn route(
        &mut self,
        batch: &mut FrameBatch,
        i: u16,
        nh: u32,
        adj: &[NextHop],
        l2: &L2Tables,
        v6: bool,
    ) {
        if nh == MISS {
            self.counters.drop(DropReason::NoRoute);
            self.punt_error(i, PuntReason::NoRoute);
            return;
        }
        let mut entry = adj.get(nh as usize);
        if let Some(NextHop::Group { base, n }) = entry {
            let pick = flow_hash(batch.frame(usize::from(i)), v6) % u32::from((*n).max(1));
            entry = adj.get((base + pick) as usize);
        }
        let a = match entry {
            Some(NextHop::Forward(a)) => *a,
            Some(NextHop::Local) => {
                if !self.security_passes(batch, i, None, v6) {
                    return;
                }
                self.punt.push((i, PuntReason::Host));
                self.counters.punted += 1;
                return;
            }
            Some(NextHop::Resolve { port }) => {
                let ttl_at = if v6 { ETH_HDR + 7 } else { ETH_HDR + 8 };
                if batch.frame(usize::from(i))[ttl_at] <= 1 {
                    self.counters.drop(DropReason::TtlExpired);
                    self.punt_error(i, PuntReason::TtlExpired);
                    return;
                }
                if !self.security_passes(batch, i, Some(*port), v6) {
                    return;
                }
                let f = batch.frame_mut(usize::from(i));
                let _ = if v6 {
                    ipv6::decrement_hop_limit(f, ETH_HDR)
                } else {
                    ipv4::decrement_ttl(f, ETH_HDR)
                };
                self.punt.push((i, PuntReason::Resolve));
                self.counters.punted += 1;
                return;
            }
            Some(NextHop::Discard) => {
                self.counters.drop(DropReason::Discarded);
                return;
            }
            Some(NextHop::Reject) => {
                self.counters.drop(DropReason::Rejected);
                self.punt_error(i, PuntReason::Reject);
                return;
            }
            Some(NextHop::Unresolved | NextHop::Group { .. }) | None => {
                self.counters.drop(DropReason::Unresolved);
                return;
            }
        };
        let irb = match l2.mode(a.port) {
            PortMode::Irb { vlan } => Some(vlan),
            _ => None,
        };
        if irb.is_none() && usize::from(a.port) >= self.tx.len() {
            self.counters.drop(DropReason::Unresolved);
            return;
        }
        // As Linux orders it (ip_forward): TTL first, then the MTU, then the security stage
        // (Linux's FORWARD and POSTROUTING hooks) and the rewrite, so an error quotes the
        // packet as its sender knows it (before source NAT).
        let ttl_at = if v6 { ETH_HDR + 7 } else { ETH_HDR + 8 };
        if batch.frame(usize::from(i))[ttl_at] <= 1 {
            self.counters.drop(DropReason::TtlExpired);
            self.punt_error(i, PuntReason::TtlExpired);
            return;
        }
        let offload = batch.offload(usize::from(i));
        let f = batch.frame(usize::from(i));
        let total = if offload.is_gso() {
            // A super-frame leaves as segments: each of those must fit (as Linux checks with
            // skb_gso_validate_network_len).
            gso_segment_len(f, offload)
        } else if v6 {
            ipv6::total_len(f, ETH_HDR)
        } else {
            usize::from(u16::from_be_bytes([f[ETH_HDR + 2], f[ETH_HDR + 3]]))
        };
        let too_big = total > usize::from(a.mtu);
        // IPv6 routers never fragment (RFC 8200 5): packet too big, always.
        if too_big && (v6 || f[ETH_HDR + 6] & 0x40 != 0) {
            self.counters.drop(DropReason::FragmentationNeeded);
            self.punt_error(i, PuntReason::FragmentationNeeded { mtu: a.mtu });
            return;
        }
        if !self.security_passes(batch, i, Some(a.port), v6) {
            return;
        }
        let f = batch.frame_mut(usize::from(i));
        if too_big {
            let _ = ipv4::decrement_ttl(f, ETH_HDR);
            self.punt.push((i, PuntReason::Fragment { mtu: a.mtu }));
            self.counters.punted += 1;
            return;
        }
        if v6 {
            f[ttl_at] -= 1;
        } else {
            let _ = ipv4::decrement_ttl(f, ETH_HDR);
        }
        f[..6].copy_from_slice(&a.dst_mac);
        f[6..12].copy_from_slice(&a.src_mac);
        self.counters.forwarded += 1;
        if let Some(vlan) = irb {
            // Into a VLAN: the bridge takes it from here. Counted once, as forwarded.
            let (b, fl) = (self.counters.bridged, self.counters.flooded);
            self.bridge_out(batch, usize::from(i), a.port, vlan, l2);
            (self.counters.bridged, self.counters.flooded) = (b, fl);
            return;
        }
        self.tx[usize::from(a.port)].push(i);
    }
}

/// Where the route to `src` leads (the spoofing screen's reverse-path check).
fn source_route((fib4, adj): (&savin_fib::Table<u32>, &[NextHop]), src: u32) -> SourceRoute {
    let nh = fib4.lookup(src);
    if nh == MISS {
        return SourceRoute::Unknown;
    }
    let port_of = |e: Option<&NextHop>| match e {
        Some(NextHop::Forward(a)) => Some(a.port),
        Some(NextHop::Resolve { port }) => Some(*port),
        _ => None,
    };
    match adj.get(nh as usize) {
        Some(NextHop::Local) => SourceRoute::Local,
        Some(NextHop::Group { base, n }) => {
            let mut ports = [0; 4];
            let mut k = 0;
            for m in 0..u32::from(*n).min(4) {
                if let Some(p) = port_of(adj.get((base + m) as usize)) {
                    ports[k] = p;
                    k += 1;
                }
            }
            SourceRoute::Ports(ports, k as u8)
        }
        e => match port_of(e) {
            Some(p) => SourceRoute::Ports([p, 0, 0, 0], 1),
            None => SourceRoute::Unknown,
        },
    }
}

/// The IP length of each segment a GSO super-frame will be cut into: network and transport
/// headers plus `gso_size`. Offsets the frame does not bear out count as too large.
fn gso_segment_len(f: &[u8], o: savin_io::Offload) -> usize {
    let l4 = usize::from(o.csum_start);
    let l4_hdr = match o.gso_type & 0x7f {
        // TCPv4, TCPv6: the data offset.
        1 | 4 => match f.get(l4 + 12) {
            Some(b) => usize::from(b >> 4) * 4,
            None => return usize::MAX,
        },
        // UDP: 8 bytes.
        _ => 8,
    };
    if !o.needs_csum() || l4 < ETH_HDR || l4 >= f.len() {
        return usize::MAX;
    }
    l4 - ETH_HDR + l4_hdr + usize::from(o.gso_size)
}

/// What a worker publishes for `show interfaces` and `show system statistics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerStats {
    pub counters: Counters,
    /// Indexed by port slot.
    pub ports: Vec<PortCounters>,
    /// The MAC table (refreshed every second).
    pub fdb: Vec<FdbRow>,
    pub fdb_stats: FdbStats,
    /// Policy and NAT rule hits, with the security tables their indices refer to.
    pub hits: Option<HitsOf>,
    /// Session log events not yet taken by the control plane, and those lost.
    pub events: Vec<SessionEvent>,
    pub events_lost: u64,
}

/// Hits, and the security tables (compared by identity) whose indices they use.
#[derive(Clone)]
pub struct HitsOf(pub Arc<SecurityTables>, pub Hits);

impl PartialEq for HitsOf {
    fn eq(&self, o: &Self) -> bool {
        Arc::ptr_eq(&self.0, &o.0) && self.1 == o.1
    }
}

impl Eq for HitsOf {}

impl std::fmt::Debug for HitsOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.1.fmt(f)
    }
}

/// A worker: its ports, one reusable batch, and the pipeline. Runs to completion per batch.
pub struct Worker {
    /// Indexed by port slot; a detached slot is None.
    ports: Vec<Option<Box<dyn PacketIo>>>,
    port_counters: Vec<PortCounters>,
    batch: FrameBatch,
    pub pipeline: Pipeline,
    /// To the control plane (bounded: a full queue drops and counts).
    punt_tx: Option<PuntSender>,
    /// From the control plane: frames to send and port changes.
    control_rx: Option<Receiver<ToWorker>>,
    inject: FrameBatch,
    /// The port of each frame in `inject`.
    inject_ports: Vec<u16>,
    stats: Arc<Mutex<WorkerStats>>,
    started: Instant,
    polls: u32,
    last_refill: Instant,
    last_publish: Instant,
    last_aging: Instant,
}

impl Worker {
    pub fn new(ports: Vec<Box<dyn PacketIo>>, batch: usize) -> Worker {
        let n = ports.len();
        Worker {
            ports: ports.into_iter().map(Some).collect(),
            port_counters: vec![PortCounters::default(); n],
            // Slots for GSO super-frames (ports with virtio headers hand them over); only the
            // pages that frames fill are ever touched.
            batch: FrameBatch::with_frame_size(batch, savin_io::MAX_GSO_FRAME),
            pipeline: Pipeline::new(n, batch),
            punt_tx: None,
            control_rx: None,
            inject: FrameBatch::with_frame_size(64, savin_io::MAX_GSO_FRAME),
            inject_ports: Vec::with_capacity(64),
            stats: Arc::default(),
            started: Instant::now(),
            polls: 0,
            last_refill: Instant::now(),
            last_publish: Instant::now(),
            last_aging: Instant::now(),
        }
    }

    /// Connects the worker to a control plane: punted frames go to `punt`; frames to send
    /// and port changes come from `control`.
    pub fn with_control(mut self, punt: PuntSender, control: Receiver<ToWorker>) -> Worker {
        self.punt_tx = Some(punt);
        self.control_rx = Some(control);
        self
    }

    /// Where the worker publishes its counters (about every 100 ms, and on `publish`).
    pub fn stats(&self) -> Arc<Mutex<WorkerStats>> {
        self.stats.clone()
    }

    fn set_port(&mut self, port: u16, io: Option<Box<dyn PacketIo>>) {
        let p = usize::from(port);
        if self.ports.len() <= p {
            self.ports.resize_with(p + 1, || None);
            self.port_counters.resize(p + 1, PortCounters::default());
        }
        self.pipeline.set_ports(self.ports.len());
        if let Some(old) = std::mem::replace(&mut self.ports[p], io) {
            // Closing a port waits for the kernel (an RCU grace period, tens of milliseconds):
            // never on the forwarding thread.
            let _ = std::thread::Builder::new()
                .name("savin-port-close".into())
                .spawn(move || drop(old));
        }
        self.port_counters[p] = PortCounters::default();
    }

    /// Applies what the control plane queued (a bounded number of frames per call). Frames
    /// for an IRB go through its VLAN's bridge.
    fn take_control_messages(&mut self, tables: &Tables) {
        if self.control_rx.is_none() {
            return;
        }
        let l2 = tables.l2.load();
        for _ in 0..4 {
            self.inject.clear();
            self.inject_ports.clear();
            while !self.inject.is_full() {
                let msg = match self.control_rx.as_ref().map(|rx| rx.try_recv()) {
                    Some(Ok(m)) => m,
                    Some(Err(TryRecvError::Empty | TryRecvError::Disconnected)) | None => break,
                };
                match msg {
                    ToWorker::Send { port, frame } => {
                        let irb = matches!(l2.mode(port), PortMode::Irb { .. });
                        let attached = self
                            .ports
                            .get(usize::from(port))
                            .is_some_and(Option::is_some);
                        if irb || attached {
                            self.inject.push(&frame);
                            self.inject_ports.push(port);
                        }
                    }
                    ToWorker::SetPort { port, io } => self.set_port(port, io),
                    ToWorker::ClearFdb => self.pipeline.fdb.clear(),
                    ToWorker::Sessions { keep, clear, reply } => {
                        let now = self.pipeline.now_ms;
                        let (list, capacity) = match &mut self.pipeline.sessions {
                            Some(t) => {
                                let list: Vec<_> =
                                    t.sessions(now).into_iter().filter(|i| keep(i)).collect();
                                if clear {
                                    for i in &list {
                                        t.remove(i.id);
                                    }
                                }
                                (list, t.config().capacity)
                            }
                            None => (Vec::new(), 0),
                        };
                        let _ = reply.try_send((list, capacity));
                    }
                }
            }
            if self.inject.is_empty() {
                break;
            }
            self.pipeline.clear_outputs();
            for i in 0..self.inject.len() {
                let port = self.inject_ports[i];
                match l2.mode(port) {
                    PortMode::Irb { vlan } => {
                        self.pipeline
                            .bridge_out(&mut self.inject, i, port, vlan, &l2)
                    }
                    _ => {
                        if let Some(l) = self.pipeline.tx.get_mut(usize::from(port)) {
                            l.push(i as u16);
                        }
                    }
                }
            }
            Self::send_outputs(
                &mut self.ports,
                &mut self.port_counters,
                &mut self.pipeline,
                &self.inject,
            );
        }
    }

    /// Sends what the pipeline put on the output lists: frames of `batch`, and the copies in
    /// the pipeline's `extra` batch.
    fn send_outputs(
        ports: &mut [Option<Box<dyn PacketIo>>],
        port_counters: &mut [PortCounters],
        pipeline: &mut Pipeline,
        batch: &FrameBatch,
    ) {
        let n = pipeline.tx.len().min(port_counters.len());
        for (q, c) in port_counters.iter_mut().enumerate().take(n) {
            for extra in [false, true] {
                let (list, from) = if extra {
                    (&pipeline.tx_extra[q], &pipeline.extra)
                } else {
                    (&pipeline.tx[q], batch)
                };
                if list.is_empty() {
                    continue;
                }
                let Some(out) = ports.get_mut(q).and_then(Option::as_mut) else {
                    pipeline.counters.drops[DropReason::Unresolved as usize] += list.len() as u64;
                    continue;
                };
                let sent = out.tx(from, list).unwrap_or_else(|_| {
                    c.errors += 1;
                    0
                });
                c.tx_packets += sent as u64;
                c.tx_bytes += list[..sent]
                    .iter()
                    .map(|&i| from.frame(usize::from(i)).len() as u64)
                    .sum::<u64>();
                pipeline.counters.tx += sent as u64;
                pipeline.counters.drops[DropReason::TxFull as usize] += (list.len() - sent) as u64;
            }
        }
    }

    fn housekeeping(&mut self, tables: &Tables) {
        let now = Instant::now();
        self.pipeline.now_ms = now.duration_since(self.started).as_millis() as u64;
        self.pipeline.now_us = now.duration_since(self.started).as_micros() as u64;
        let ms = now.duration_since(self.last_refill).as_millis() as u32;
        if ms > 0 {
            let add = ms.saturating_mul(ERRORS_PER_S / 1000);
            self.pipeline.error_tokens = (self.pipeline.error_tokens + add).min(ERROR_BURST);
            self.last_refill = now;
        }
        if now.duration_since(self.last_publish).as_millis() >= 100 {
            // Sessions age, and what went is reported, even while no traffic comes.
            self.pipeline.load_security(tables);
            // Published, or tried again at the next poll: a reader holding the lock must not
            // leave the counters a whole period (or, under load, many) behind.
            if self.publish() {
                self.last_publish = now;
            }
        }
        if now.duration_since(self.last_aging).as_millis() >= 1000 {
            // Aging, and entries of ports that left their VLAN.
            let l2 = tables.l2.load();
            self.pipeline.fdb.age(self.pipeline.now_ms, |vid, port| {
                l2.vlan(vid).is_some_and(|v| v.member(port).is_some())
            });
            if let Ok(mut s) = self.stats.try_lock() {
                s.fdb = self.pipeline.fdb.rows(self.pipeline.now_ms);
                s.fdb_stats = self.pipeline.fdb.stats;
            }
            self.last_aging = now;
        }
    }

    /// Copies the counters to where the control plane reads them; false if the control
    /// plane held the lock (the worker never waits for it).
    pub fn publish(&mut self) -> bool {
        for (c, io) in self.port_counters.iter_mut().zip(&mut self.ports) {
            if let Some(io) = io {
                c.giants = io.giants();
                c.ring_drops = io.ring_drops();
            }
        }
        if let Ok(mut s) = self.stats.try_lock() {
            s.counters.clone_from(&self.pipeline.counters);
            s.ports.clone_from(&self.port_counters);
            match (&self.pipeline.hits_of, &mut s.hits) {
                (Some(t), Some(HitsOf(st, h))) if Arc::ptr_eq(t, st) => {
                    h.clone_from(&self.pipeline.hits)
                }
                (Some(t), h) => *h = Some(HitsOf(t.clone(), self.pipeline.hits.clone())),
                (None, h) => *h = None,
            }
            let room = (4 * MAX_EVENTS).saturating_sub(s.events.len());
            if self.pipeline.events.len() > room {
                self.pipeline.events_lost += (self.pipeline.events.len() - room) as u64;
                self.pipeline.events.truncate(room);
            }
            s.events.append(&mut self.pipeline.events);
            s.events_lost = self.pipeline.events_lost;
            return true;
        }
        false
    }

    /// Receives one batch from each port and forwards it. Returns the frames received. Port
    /// errors are counted per port (`port_counters`), never returned: one broken port must
    /// not stop the others.
    pub fn poll(&mut self, tables: &Tables) -> Result<usize, IoError> {
        self.housekeeping(tables);
        self.take_control_messages(tables);
        let mut received = 0;
        self.polls = self.polls.wrapping_add(1);
        let l2 = tables.l2.load();
        for p in 0..self.ports.len() {
            // Host interfaces carry little and cost a system call to look at: every 8th poll.
            if !self.polls.is_multiple_of(8) && matches!(l2.mode(p as u16), PortMode::Host { .. }) {
                continue;
            }
            let Some(io) = self.ports[p].as_mut() else {
                continue;
            };
            self.batch.clear();
            // A port's error (its netdev went away) is its own: the others keep forwarding.
            let got = match io.rx(&mut self.batch) {
                Ok(n) => n,
                Err(_) => {
                    self.port_counters[p].errors += 1;
                    0
                }
            };
            if got == 0 {
                continue;
            }
            received += got;
            let c = &mut self.port_counters[p];
            c.rx_packets += got as u64;
            c.rx_bytes += self.batch.iter().map(|f| f.len() as u64).sum::<u64>();
            self.pipeline.process(&mut self.batch, tables, p as u16);
            for &(i, reason) in &self.pipeline.punt {
                // For the box's own sockets: straight to the port's host interface, as it is
                // (checksums completed: the kernel behind a TAP wants them whole); the control
                // thread only sees what it answers itself.
                if reason == PuntReason::Host {
                    let in_port = self.pipeline.in_port[usize::from(i)];
                    let tap = l2.host_tap(in_port);
                    if let Some(tap) = tap
                        .filter(|_| crate::punt::straight_to_host(self.batch.frame(usize::from(i))))
                    {
                        if self.batch.offload(usize::from(i)).needs_csum() {
                            savin_io::csum::complete_l4_checksum(
                                self.batch.frame_mut(usize::from(i)),
                            );
                        }
                        if let Some(list) = self.pipeline.tx.get_mut(usize::from(tap)) {
                            list.push(i);
                            self.pipeline.counters.to_host += 1;
                            continue;
                        }
                    }
                }
                let frame = self.batch.frame(usize::from(i));
                let frame = if reason.is_error() {
                    &frame[..frame.len().min(ERROR_QUOTE)]
                } else {
                    frame
                };
                let mut frame = frame.to_vec();
                if self.batch.offload(usize::from(i)).needs_csum() {
                    // The control plane and the kernel behind the TAP want it whole.
                    savin_io::csum::complete_l4_checksum(&mut frame);
                }
                let p = Punted {
                    port: self.pipeline.in_port[usize::from(i)],
                    reason,
                    frame,
                };
                let refused = match &self.punt_tx {
                    Some(tx) => tx.try_send(p).err(),
                    None => Some(p),
                };
                if let Some(p) = refused {
                    if reason.is_error() {
                        self.pipeline.counters.errors_suppressed += 1;
                    } else if p.for_sockets() {
                        self.pipeline.counters.drop(DropReason::HostQueueFull);
                    } else {
                        self.pipeline.counters.drop(DropReason::PuntQueueFull);
                    }
                }
            }
            Self::send_outputs(
                &mut self.ports,
                &mut self.port_counters,
                &mut self.pipeline,
                &self.batch,
            );
        }
        Ok(received)
    }

    /// Sleeps until a port has frames waiting or `timeout_ms` passes (an idle worker's wait:
    /// woken by the kernel, not by a timer, so a lone packet is not held back a tick).
    pub fn wait(&self, timeout_ms: u16) {
        use nix::poll::{poll, PollFd, PollFlags};
        let mut fds: Vec<PollFd> = self
            .ports
            .iter()
            .flatten()
            .filter_map(|p| p.readiness_fd())
            .map(|fd| PollFd::new(fd, PollFlags::POLLIN))
            .collect();
        let _ = poll(&mut fds, timeout_ms);
    }

    pub fn counters(&self) -> &Counters {
        &self.pipeline.counters
    }

    pub fn port_counters(&self) -> &[PortCounters] {
        &self.port_counters
    }
}

/// The protocol at `proto_at` and, for TCP and UDP, the ports of the header at `l4`
/// (zeros where the frame is too short).
fn ip_ports(f: &[u8], proto_at: usize, l4: usize) -> (u8, u16, u16) {
    let proto = f.get(proto_at).copied().unwrap_or(0);
    let port = |at: usize| {
        f.get(at..at + 2)
            .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]))
    };
    match proto {
        6 | 17 => (proto, port(l4), port(l4 + 2)),
        _ => (proto, 0, 0),
    }
}

/// A SYN for a new connection on the tuple of closed session `id`: the old session goes and
/// the SYN continues as a first packet (policy, NAT, a new session), as conntrack reopens a
/// closed connection; a session an earlier frame of this batch made for the tuple takes it
/// instead. Before, such a SYN was dropped as out of window until the closed session aged
/// out (2 s), and a client that resets its connections and reuses ports lost them.
#[cold]
#[inline(never)]
fn reopen(
    table: &mut SessionTable,
    id: u32,
    key: &FlowKey,
    tcp: Option<&savin_session::TcpSeg>,
    len: u32,
    now: u64,
) -> Result<Option<(u32, Dir)>, DropReason> {
    table.retire(id);
    let Some((id, dir)) = table.lookup(key) else {
        return Ok(None);
    };
    table
        .track(id, dir, tcp, len, now)
        .map_err(security::drop_of)?;
    Ok(Some((id, dir)))
}
