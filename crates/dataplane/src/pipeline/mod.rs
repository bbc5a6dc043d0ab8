//! The pipeline: a batch of frames through Ethernet and IP checks, the ip4-unicast arc, the
//! route lookup, and per packet the route checks, the ip4-output arc and the rewrite. One
//! struct holds the scratch space, reused for every batch, with the per-frame metadata named
//! in [`meta`]; its stages live beside it: `ethernet` (switching), `route` (lookup results
//! to output queues), and the arcs features join ([`arc`]); `security_stage` is the security
//! feature.

pub mod arc;
mod ethernet;
pub mod meta;
mod route;

use savin_fib::MISS;
use savin_io::FrameBatch;

use crate::bridge::{classify, Fdb, L2Tables, PortMode, VlanInfo, ETHERTYPE_VLAN};
use crate::counters::{Counters, DropReason};
use crate::ipv4::{self, ETHERTYPE_IPV4, ETH_HDR};
use crate::ipv6::{self, ETHERTYPE_IPV6};
pub use crate::punt::{PuntReason, Punted};

use crate::tables::{flow_hash, NextHop, Tables};
use arc::{Cx, Feature, NoFeature, StageCounters};
use meta::BatchMeta;
pub(crate) use route::Originated;
pub use route::{ip_ports, member};

/// ICMP error copies quote at most this much of the original frame (Ethernet header plus the
/// 548 bytes that keep the error within 576 bytes, RFC 1812 4.3.2.3).
pub const ERROR_QUOTE: usize = ETH_HDR + 548;

const ETHERTYPE_ARP: u16 = savin_wire::ethernet::ARP;

/// ICMP errors a worker may ask for: a burst, refilled at this rate per second. The control
/// plane applies its own limit too; this one keeps a flood of expiring packets from costing a
/// copy each.
pub(crate) const ERROR_BURST: u32 = 200;
pub(crate) const ERRORS_PER_S: u32 = 1000;

/// The stages and their scratch space, reused for every batch; `F` is the feature on the
/// IPv4 arcs (security in the daemon, `savin_security::SecurityStage`).
pub struct Pipeline<F: Feature = NoFeature> {
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
    /// Per frame: the port it came in on, and whether a feature took it off the path.
    pub meta: BatchMeta,
    /// The MAC table.
    pub fdb: Fdb,
    /// The worker's clock, in milliseconds (for MAC learning and aging).
    pub now_ms: u64,
    /// The worker's clock in microseconds (port-scan windows).
    pub now_us: u64,
    /// The Unix time at the worker clock's zero, in nanoseconds: takes a frame's kernel
    /// receive stamp to the worker's clock ([`Cx::rx_us`]). Set with the clock; 0 for a
    /// poll in which the wall clock stepped (frames are then measured at the batch's time).
    pub epoch_ns: i64,
    /// ICMP errors that may still be asked for (see `ERROR_BURST`).
    pub error_tokens: u32,
    pub counters: Counters,
    /// The feature on the arcs, and its counters there.
    pub feature: F,
    pub stages: StageCounters,
    /// Frames a feature held back, resumed at the end of the batch.
    deferred: Vec<u16>,
}

/// A hook's view of the pipeline, from its fields (so that the feature, another field, can
/// be borrowed beside it).
macro_rules! cx {
    ($p:ident) => {
        Cx {
            meta: &mut $p.meta,
            counters: &mut $p.counters,
            punt: &mut $p.punt,
            error_tokens: &mut $p.error_tokens,
            dropped: 0,
            now_ms: $p.now_ms,
            now_us: $p.now_us,
            epoch_ns: $p.epoch_ns,
        }
    };
}

impl Pipeline {
    /// A pipeline with no feature on its arcs.
    pub fn new(ports: usize, batch: usize) -> Pipeline {
        Pipeline::with_feature(ports, batch, NoFeature)
    }
}

impl<F: Feature> Pipeline<F> {
    /// A hook's view of this pipeline at its clock, for callers that drive a feature's hooks
    /// themselves (tests) rather than through [`Pipeline::process`].
    pub fn cx(&mut self) -> Cx<'_> {
        let p = self;
        cx!(p)
    }

    pub fn with_feature(ports: usize, batch: usize, feature: F) -> Pipeline<F> {
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
            meta: BatchMeta::with_capacity(batch),
            fdb: Fdb::default(),
            now_ms: 0,
            now_us: 0,
            epoch_ns: 0,
            error_tokens: ERROR_BURST,
            counters: Counters::default(),
            feature,
            stages: StageCounters {
                feature: F::NAME,
                ..StageCounters::default()
            },
            deferred: Vec::new(),
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

    /// A link-local multicast frame for the box (OSPF, VRRP): past the feature's check
    /// (with zones, host-inbound must allow the protocol), punted for the box's sockets.
    fn link_multicast(&mut self, i: usize, proto: u8, sport: u16, dport: u16) {
        if self.feature.active() {
            let mut cx = cx!(self);
            let ok = self
                .feature
                .to_box_multicast(&mut cx, i, proto, sport, dport);
            if !ok {
                return;
            }
        }
        self.punt.push((i as u16, PuntReason::Host));
        self.counters.punted += 1;
    }

    /// The ip4-output arc for routed frame `i` leaving by `out` (None: for the box): false
    /// if the feature dropped it.
    #[inline(always)]
    fn output_arc(&mut self, batch: &mut FrameBatch, i: u16, out: Option<u16>, v6: bool) -> bool {
        if !self.feature.active() {
            return true;
        }
        let mut cx = cx!(self);
        let ok = self.feature.ip4_output(&mut cx, batch, i, out, v6);
        let arc = if v6 {
            &mut self.stages.ip6_output
        } else {
            &mut self.stages.ip4_output
        };
        arc.packets += 1;
        arc.dropped += u64::from(!ok);
        ok
    }

    /// The hook for link-scoped frame `i` for the box: false if the feature dropped it.
    #[inline]
    pub(crate) fn link_to_box_arc(&mut self, batch: &FrameBatch, i: usize) -> bool {
        if !self.feature.active() {
            return true;
        }
        let mut cx = cx!(self);
        self.feature.to_box_link(&mut cx, batch, i as u16)
    }

    /// The l2-input hook for a frame switched port `port` received in VLAN `vid`: false if
    /// the feature dropped it.
    #[inline(always)]
    fn l2_input_arc(&mut self, frame: &[u8], port: u16, vid: u16) -> bool {
        if !self.feature.active() {
            return true;
        }
        let mut cx = cx!(self);
        self.feature.l2_input(&mut cx, frame, port, vid)
    }

    /// The l2-output hook for a frame of VLAN `vid` from `port` leaving by `out`.
    #[inline(always)]
    fn l2_output_arc(&mut self, frame: &[u8], port: u16, out: u16, vid: u16) -> bool {
        if !self.feature.active() {
            return true;
        }
        let mut cx = cx!(self);
        self.feature.l2_output(&mut cx, frame, port, out, vid)
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
        self.meta.reserve(batch.len());
        self.counters.rx += batch.len() as u64;
        self.feature.begin(tables, self.now_ms);
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
            self.meta.in_port[i] = port;
            self.meta.taken[i] = false;
            if mode != PortMode::Routed && i + AHEAD < batch.len() {
                self.prefetch_fdb(batch, i + AHEAD, mode);
            }
            if mode != PortMode::Routed {
                if batch.frame(i).len() < ETH_HDR {
                    self.counters.drop(DropReason::Truncated);
                    continue;
                }
                match self.switch(batch, i, port, mode, &l2) {
                    Some(irb) => self.meta.in_port[i] = irb,
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
                        if self.link_to_box_arc(batch, i) {
                            self.link_multicast(i, proto, sport, dport);
                        }
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
                        if self.link_to_box_arc(batch, i) {
                            self.link_multicast(i, proto, sport, dport);
                        }
                    }
                    // Neighbor Discovery and everything link-scoped is for the box.
                    Ok(dst) if ipv6::is_link_scope(dst) => {
                        if !self.link_to_box_arc(batch, i) {
                            continue;
                        }
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
        // The ip4-unicast arc (sessions, screens, destination NAT), before the route lookup
        // that must see the translated destination.
        if self.feature.active() && !self.keys.is_empty() {
            let mut cx = cx!(self);
            self.feature
                .ip4_unicast(&mut cx, batch, &self.passed, &mut self.keys, (&fib4, &adj));
            self.stages.ip4_unicast.packets += self.keys.len() as u64;
            self.stages.ip4_unicast.dropped += cx.dropped;
        }
        // Stage 2: route lookups for the whole batch against one snapshot per table.
        let n = self.keys.len();
        if self.next_hops.len() < n {
            self.next_hops.resize(n, 0);
        }
        if n > 0 {
            fib4.lookup_batch(&self.keys, &mut self.next_hops[..n]);
        }
        // The ip6-unicast arc (IPv6 input filters), before its route lookup.
        if self.feature.active() && !self.passed6.is_empty() {
            let mut cx = cx!(self);
            self.feature.ip6_unicast(&mut cx, batch, &self.passed6);
            self.stages.ip6_unicast.packets += self.passed6.len() as u64;
            self.stages.ip6_unicast.dropped += cx.dropped;
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
            if !self.meta.taken[usize::from(i)] {
                self.route(batch, i, self.next_hops[j], &adj, &l2, false);
            }
        }
        for j in 0..n6 {
            let i = self.passed6[j];
            if !self.meta.taken[usize::from(i)] {
                self.route(batch, i, self.next_hops6[j], &adj, &l2, true);
            }
        }
        // Frames the feature held back (later fragments whose first came after them).
        if self.feature.active() {
            let mut deferred = std::mem::take(&mut self.deferred);
            self.feature.take_deferred(&mut deferred);
            for &i in &deferred {
                let mut cx = cx!(self);
                let dst = self.feature.resume(&mut cx, batch, i);
                self.stages.ip4_unicast.dropped += cx.dropped;
                if let Some(dst) = dst {
                    self.route(batch, i, fib4.lookup(dst), &adj, &l2, false);
                }
            }
            self.deferred = deferred;
            let mut cx = cx!(self);
            self.feature.end_batch(&mut cx);
        }
    }
}
