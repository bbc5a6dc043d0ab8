//! Feature arcs: where a feature (security now; the service monitor, policers and flow
//! metering next) joins the IPv4 path, and what it sees there.
//!
//! Two arcs, as VPP's `ip4-unicast` and `ip4-output`:
//! - **ip4-unicast**, before the route lookup, once per batch over its IPv4 frames: screens,
//!   session lookup and destination NAT (which changes the destination the lookup sees).
//! - **ip4-output**, after the lookup and the route stage's own checks (TTL, MTU), per frame
//!   with its egress known: policy, source NAT, session creation; then the rewrite.
//!
//! A feature is a type parameter of the pipeline, so its hooks are static calls that inline
//! where they are small (a session's packet costs no call at all). The review of the code
//! asked for an enum of known stages dispatched per batch; a type parameter gives the same
//! inlining without the data plane naming the feature crates (they depend on it, as VPP's
//! plugins depend on vnet). The output arc runs per frame because the route stage orders
//! its checks as Linux's ip_forward does (TTL, MTU, then the FORWARD/POSTROUTING hooks, then
//! the rewrite), and an error must quote the packet as its sender knows it.
//!
//! Each arc counts, per feature, the frames it was given and those it dropped
//! ([`StageCounters`]); drop reasons stay in [`crate::Counters`].

use savin_io::FrameBatch;

use super::meta::BatchMeta;
use crate::counters::{Counters, DropReason};
use crate::punt::PuntReason;
use crate::tables::{NextHop, Tables};

/// The routing snapshot of the batch: the IPv4 FIB and the next hops (for reverse-path
/// checks and for routing frames a feature held back).
pub type Routes<'a> = (&'a savin_fib::Table<u32>, &'a [NextHop]);

/// What a feature's hook sees of the pipeline: the batch's metadata, the counters, the
/// frames for the control plane, and the clock.
pub struct Cx<'a> {
    pub meta: &'a mut BatchMeta,
    pub counters: &'a mut Counters,
    pub punt: &'a mut Vec<(u16, PuntReason)>,
    /// ICMP errors that may still be asked for in this refill period.
    pub error_tokens: &'a mut u32,
    /// Frames this hook dropped (for the arc's counters).
    pub dropped: u64,
    pub now_ms: u64,
    pub now_us: u64,
    /// See [`Pipeline::epoch_ns`](super::Pipeline::epoch_ns).
    pub epoch_ns: i64,
}

impl Cx<'_> {
    /// When frame `i` of `batch` arrived, on the worker's clock in microseconds: its kernel
    /// receive stamp where the port gave one, else the batch's time. A frame that came in
    /// after the clock was read is later than `now_us`.
    #[inline]
    pub fn rx_us(&self, batch: &FrameBatch, i: usize) -> u64 {
        match batch.rx_time(i) {
            0 => self.now_us,
            _ if self.epoch_ns == 0 => self.now_us,
            ns => ((ns as i64 - self.epoch_ns) / 1000).max(0) as u64,
        }
    }

    /// Counts a frame dropped under `reason` (an ip4-unicast hook also marks it taken in
    /// `meta`).
    #[inline]
    pub fn drop(&mut self, reason: DropReason) {
        self.counters.drop(reason);
        self.dropped += 1;
    }

    /// Asks the control plane for an ICMP error (or RST) about frame `i`, within the
    /// worker's error budget.
    #[inline]
    pub fn punt_error(&mut self, i: u16, reason: PuntReason) {
        if *self.error_tokens > 0 {
            *self.error_tokens -= 1;
            self.punt.push((i, reason));
        } else {
            self.counters.errors_suppressed += 1;
        }
    }
}

/// A feature on the IPv4 arcs. Every hook has a default that lets frames through untouched.
pub trait Feature {
    /// Its name in the stage counters.
    const NAME: &'static str;

    /// What it publishes with the worker's counters, about every 100 ms (for security:
    /// rule hits and session logs).
    type Published: Default + Clone + std::fmt::Debug + PartialEq + Send + 'static;

    /// Copies (or moves) what it has to publish into `into`.
    fn publish(&mut self, _into: &mut Self::Published) {}

    /// Before each batch, and between batches for housekeeping (aging, tables replaced):
    /// takes this batch's tables.
    fn begin(&mut self, _tables: &Tables, _now_ms: u64) {}

    /// Whether the arcs have work for it in this batch (false: they are skipped).
    fn active(&self) -> bool {
        false
    }

    /// ip4-unicast: the batch's IPv4 frames `passed`, their destinations in `keys` (the
    /// feature may change one, as destination NAT does). A frame it drops it marks in
    /// `cx.meta` and counts with `cx.drop`; one it holds back it marks too and returns from
    /// `take_deferred`.
    fn ip4_unicast(
        &mut self,
        _cx: &mut Cx,
        _batch: &mut FrameBatch,
        _passed: &[u16],
        _keys: &mut [u32],
        _routes: Routes,
    ) {
    }

    /// Link-local multicast for the box (OSPF, VRRP), before it is punted: false drops it
    /// (counted with `cx.drop`).
    fn to_box_multicast(
        &mut self,
        _cx: &mut Cx,
        _i: usize,
        _proto: u8,
        _sport: u16,
        _dport: u16,
    ) -> bool {
        true
    }

    /// ip4-output: frame `i` routed, leaving by `out` (None: for the box), before its
    /// rewrite. False: dropped and counted (and, for a reject, answered).
    fn ip4_output(
        &mut self,
        _cx: &mut Cx,
        _batch: &mut FrameBatch,
        _i: u16,
        _out: Option<u16>,
        _v6: bool,
    ) -> bool {
        true
    }

    /// Link-scoped traffic for the box, which takes no route (IPv4 link-local multicast;
    /// IPv6 link-local and link-scope multicast, Neighbor Discovery included; an IRB's
    /// broadcasts and multicasts, maybe still tagged): false drops it (counted with
    /// `cx.drop`). Where the interface's and `lo0`'s input filters see what never reaches
    /// the other arcs, as they see everything for the box on Junos.
    fn to_box_link(&mut self, _cx: &mut Cx, _batch: &FrameBatch, _i: u16) -> bool {
        true
    }

    /// ip6-unicast: the batch's IPv6 frames `passed`, before the route lookup (where an
    /// interface's IPv6 input filters run, ahead of security as on an SRX, and ahead of
    /// any ICMPv6 error the route stage would send). A frame it drops it marks taken in
    /// `cx.meta` and counts with `cx.drop`.
    fn ip6_unicast(&mut self, _cx: &mut Cx, _batch: &mut FrameBatch, _passed: &[u16]) {}

    /// l2-input: a frame switched port `port` received, classified into VLAN `vid`, before
    /// MAC learning: false drops it (counted with `cx.drop`).
    fn l2_input(&mut self, _cx: &mut Cx, _frame: &[u8], _port: u16, _vid: u16) -> bool {
        true
    }

    /// l2-output: a frame of VLAN `vid` about to leave switched port `out` (from `port`):
    /// false keeps it from that port (counted with `cx.drop`).
    fn l2_output(&mut self, _cx: &mut Cx, _frame: &[u8], _port: u16, _out: u16, _vid: u16) -> bool {
        true
    }

    /// The frames it held back in this batch (later fragments whose first fragment may make
    /// their session further on), to be resumed at its end.
    fn take_deferred(&mut self, _into: &mut Vec<u16>) {}

    /// The batch is through every arc: work a feature gathered frame by frame it may now do
    /// for the batch at once (the monitor measures its RTP packets here, every stream's
    /// state asked for from memory before the first is touched).
    fn end_batch(&mut self, _cx: &mut Cx) {}

    /// A held-back frame at the end of the batch: the destination to route it on, or None
    /// (dropped and counted).
    fn resume(&mut self, _cx: &mut Cx, _batch: &mut FrameBatch, _i: u16) -> Option<u32> {
        None
    }
}

/// No feature: the arcs are empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFeature;

impl Feature for NoFeature {
    const NAME: &'static str = "none";
    type Published = ();
}

/// Frames given to a feature on an arc, and those it dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArcCounters {
    pub packets: u64,
    pub dropped: u64,
}

/// Per feature, its counters on each arc. (IPv6 has its unicast arc, and joins the output
/// hook with `v6` set, counted as ip6-output.)
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageCounters {
    pub feature: &'static str,
    pub ip4_unicast: ArcCounters,
    pub ip4_output: ArcCounters,
    pub ip6_unicast: ArcCounters,
    pub ip6_output: ArcCounters,
}

/// Two features on the arcs, `A` around `B`: on the way in (ip4-unicast, multicast for the
/// box) `A` sees a frame first and `B` only what `A` passed; on the way out (ip4-output) `B`
/// first, then `A`. With stateless filters as `A` and security as `B`, this is an SRX's
/// order: input filter, screens and flow (policy, NAT), output filter.
#[derive(Debug, Default)]
pub struct Chain<A, B> {
    pub a: A,
    pub b: B,
    /// Scratch: the frames and destinations `A` passed, for `B`.
    passed: Vec<u16>,
    keys: Vec<u32>,
    at: Vec<usize>,
}

impl<A, B> Chain<A, B> {
    pub fn new(a: A, b: B) -> Chain<A, B> {
        Chain {
            a,
            b,
            passed: Vec::new(),
            keys: Vec::new(),
            at: Vec::new(),
        }
    }
}

impl<A: Feature, B: Feature> Feature for Chain<A, B> {
    const NAME: &'static str = B::NAME;
    type Published = (A::Published, B::Published);

    fn publish(&mut self, into: &mut Self::Published) {
        self.a.publish(&mut into.0);
        self.b.publish(&mut into.1);
    }

    fn begin(&mut self, tables: &Tables, now_ms: u64) {
        self.a.begin(tables, now_ms);
        self.b.begin(tables, now_ms);
    }

    #[inline]
    fn active(&self) -> bool {
        self.a.active() || self.b.active()
    }

    fn ip4_unicast(
        &mut self,
        cx: &mut Cx,
        batch: &mut FrameBatch,
        passed: &[u16],
        keys: &mut [u32],
        routes: Routes,
    ) {
        if self.a.active() {
            self.a.ip4_unicast(cx, batch, passed, keys, routes);
        }
        if !self.b.active() {
            return;
        }
        // `B` sees only the frames `A` left on the path.
        self.passed.clear();
        self.keys.clear();
        self.at.clear();
        for (j, &i) in passed.iter().enumerate() {
            if !cx.meta.taken[usize::from(i)] {
                self.passed.push(i);
                self.keys.push(keys[j]);
                self.at.push(j);
            }
        }
        if self.passed.len() == passed.len() {
            self.b.ip4_unicast(cx, batch, passed, keys, routes);
            return;
        }
        let (p, mut k) = (
            std::mem::take(&mut self.passed),
            std::mem::take(&mut self.keys),
        );
        self.b.ip4_unicast(cx, batch, &p, &mut k, routes);
        for (n, &j) in self.at.iter().enumerate() {
            keys[j] = k[n];
        }
        self.passed = p;
        self.keys = k;
    }

    fn to_box_multicast(
        &mut self,
        cx: &mut Cx,
        i: usize,
        proto: u8,
        sport: u16,
        dport: u16,
    ) -> bool {
        (!self.a.active() || self.a.to_box_multicast(cx, i, proto, sport, dport))
            && (!self.b.active() || self.b.to_box_multicast(cx, i, proto, sport, dport))
    }

    #[inline]
    fn ip4_output(
        &mut self,
        cx: &mut Cx,
        batch: &mut FrameBatch,
        i: u16,
        out: Option<u16>,
        v6: bool,
    ) -> bool {
        (!self.b.active() || self.b.ip4_output(cx, batch, i, out, v6))
            && (!self.a.active() || self.a.ip4_output(cx, batch, i, out, v6))
    }

    #[inline]
    fn to_box_link(&mut self, cx: &mut Cx, batch: &FrameBatch, i: u16) -> bool {
        (!self.a.active() || self.a.to_box_link(cx, batch, i))
            && (!self.b.active() || self.b.to_box_link(cx, batch, i))
    }

    fn ip6_unicast(&mut self, cx: &mut Cx, batch: &mut FrameBatch, passed: &[u16]) {
        if self.a.active() {
            self.a.ip6_unicast(cx, batch, passed);
        }
        if self.b.active() {
            // `B` sees only the frames `A` left on the path.
            self.passed.clear();
            self.passed.extend(
                passed
                    .iter()
                    .copied()
                    .filter(|&i| !cx.meta.taken[usize::from(i)]),
            );
            let p = std::mem::take(&mut self.passed);
            self.b.ip6_unicast(cx, batch, &p);
            self.passed = p;
        }
    }

    #[inline]
    fn l2_input(&mut self, cx: &mut Cx, frame: &[u8], port: u16, vid: u16) -> bool {
        (!self.a.active() || self.a.l2_input(cx, frame, port, vid))
            && (!self.b.active() || self.b.l2_input(cx, frame, port, vid))
    }

    #[inline]
    fn l2_output(&mut self, cx: &mut Cx, frame: &[u8], port: u16, out: u16, vid: u16) -> bool {
        (!self.b.active() || self.b.l2_output(cx, frame, port, out, vid))
            && (!self.a.active() || self.a.l2_output(cx, frame, port, out, vid))
    }

    fn end_batch(&mut self, cx: &mut Cx) {
        if self.a.active() {
            self.a.end_batch(cx);
        }
        if self.b.active() {
            self.b.end_batch(cx);
        }
    }

    fn take_deferred(&mut self, into: &mut Vec<u16>) {
        // Only `B` holds frames back (filters decide at once).
        self.b.take_deferred(into);
    }

    fn resume(&mut self, cx: &mut Cx, batch: &mut FrameBatch, i: u16) -> Option<u32> {
        self.b.resume(cx, batch, i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kernel stamp goes to the worker's clock through the epoch; a frame without one, or
    /// a poll whose epoch is unknown (the wall clock stepped), takes the batch's time.
    #[test]
    fn a_frame_is_timed_at_its_receive_stamp_else_at_the_batch() {
        let mut batch = FrameBatch::with_capacity(2);
        batch.push(&[0; 60]);
        batch.push(&[0; 60]);
        // The worker's clock started at Unix time 1,700,000,000 s; the frame came in 2.5 ms
        // after it reads 10 s.
        let epoch_ns = 1_700_000_000_000_000_000i64;
        batch.set_rx_time(0, (epoch_ns + 10_002_500_000) as u64);
        let mut pipeline = crate::Pipeline::new(1, 2);
        (pipeline.now_ms, pipeline.now_us, pipeline.epoch_ns) = (10_001, 10_001_000, epoch_ns);
        let mut cx = pipeline.cx();
        assert_eq!(cx.rx_us(&batch, 0), 10_002_500);
        assert_eq!(cx.rx_us(&batch, 1), 10_001_000);
        cx.epoch_ns = 0;
        assert_eq!(cx.rx_us(&batch, 0), 10_001_000);
    }
}
