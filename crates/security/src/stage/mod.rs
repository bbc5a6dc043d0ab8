//! The security stage as a feature on the pipeline's arcs: before the route lookup, the
//! snapshot of the tables, screens, sessions and destination NAT; after it, host-inbound,
//! policy, source NAT, session creation and logs; fragments follow their first (held back to
//! the end of the batch when their first comes later in it).

use std::sync::Arc;

pub mod flow;
pub mod fragments;
pub mod nat;
pub mod screen;

use savin_classify::Header;
use savin_dataplane::{Cx, DropReason, Feature, NextHop, PuntReason, Routes, Tables};
use savin_fib::MISS;
use savin_io::FrameBatch;
use savin_security_tables::{Action, NatAction, SecurityTables};
use savin_session::{Dir, FlowKey, Probe, SessionTable};
use savin_wire::ethernet::HEADER_LEN as ETH_HDR;

use self::flow as security;
use self::fragments::{fragment_of, Fragment, FragmentMap};
use self::screen::{Attack, ScreenState, SourceRoute};

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
pub enum Pre {
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

/// The security stage's state in a worker: the tables in force, the sessions, and its
/// per-frame scratch for the batch.
pub struct SecurityStage {
    /// The security tables for this batch (None: no zones, nothing is filtered).
    pub(crate) sec: Option<Arc<SecurityTables>>,
    /// The worker's sessions (while security is on).
    pub sessions: Option<SessionTable>,
    /// Per frame of the batch: what the stage decided before the route lookup, the flow it
    /// read, and for session packets the rewrite left for after the checks.
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
    /// Session log events (`log session-init|session-close`) for the control plane, at
    /// most `MAX_EVENTS` between two publications; the rest are counted in `events_lost`.
    pub events: Vec<SessionEvent>,
    pub events_lost: u64,
    /// The NAT rules the current first packet matched: source, and destination or static
    /// (`(kind, index)`), for its session-init log.
    pub(crate) rule_hit: [Option<(usize, u32)>; 2],
    /// The clock at the last `begin` (for a new session table).
    now_ms: u64,
}

/// Counts attack `a` in `zone`'s screen statistics.
#[inline]
fn count_attack(hits: &mut [u64], zone: u16, a: Attack) {
    if let Some(c) = hits.get_mut(usize::from(zone) * Attack::N + a as usize) {
        *c += 1;
    }
}

impl SecurityStage {
    /// The stage with scratch for batches of `batch` frames.
    pub fn new(batch: usize) -> SecurityStage {
        SecurityStage {
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
            events: Vec::new(),
            events_lost: 0,
            rule_hit: [None; 2],
            now_ms: 0,
        }
    }

    /// The sessions `keep` selects (`show security flow session`), removed with `clear`;
    /// and the table's capacity.
    pub fn sessions(
        &mut self,
        now_ms: u64,
        keep: &dyn Fn(&savin_session::Info) -> bool,
        clear: bool,
    ) -> (Vec<savin_session::Info>, usize) {
        let Some(t) = &mut self.sessions else {
            return (Vec::new(), 0);
        };
        let list: Vec<_> = t.sessions(now_ms).into_iter().filter(|i| keep(i)).collect();
        if clear {
            for i in &list {
                t.remove(i.id);
            }
        }
        (list, t.config().capacity)
    }

    /// Room for batches of `n` frames.
    fn reserve(&mut self, n: usize) {
        if self.pre.len() < n {
            self.pre.resize(n, Pre::Off);
            self.flows
                .resize(n, (security::Flow::default(), Header::default()));
            self.parsed.resize(n, None);
            self.found.resize(n, None);
            self.rest.resize(n, FlowKey::default());
        }
    }
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

/// What the security stage publishes with the worker's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityStats {
    /// Policy and NAT rule hits, with the security tables their indices refer to.
    pub hits: Option<HitsOf>,
    /// Session log events not yet taken by the control plane, and those lost.
    pub events: Vec<SessionEvent>,
    pub events_lost: u64,
}

impl Feature for SecurityStage {
    const NAME: &'static str = "security";
    type Published = SecurityStats;

    fn publish(&mut self, s: &mut SecurityStats) {
        match (&self.hits_of, &mut s.hits) {
            (Some(t), Some(HitsOf(st, h))) if Arc::ptr_eq(t, st) => h.clone_from(&self.hits),
            (Some(t), h) => *h = Some(HitsOf(t.clone(), self.hits.clone())),
            (None, h) => *h = None,
        }
        // The control plane takes the events every 100 ms; if it does not, at most four
        // publications' worth wait for it and the rest are counted lost.
        let room = (4 * MAX_EVENTS).saturating_sub(s.events.len());
        if self.events.len() > room {
            self.events_lost += (self.events.len() - room) as u64;
            self.events.truncate(room);
        }
        s.events.append(&mut self.events);
        s.events_lost = self.events_lost;
    }

    fn begin(&mut self, tables: &Tables, now_ms: u64) {
        self.now_ms = now_ms;
        self.load_security(tables);
    }

    #[inline]
    fn active(&self) -> bool {
        self.sec.is_some()
    }

    fn ip4_unicast(
        &mut self,
        cx: &mut Cx,
        batch: &mut FrameBatch,
        passed: &[u16],
        keys: &mut [u32],
        routes: Routes,
    ) {
        let Some(sec) = self.sec.take() else {
            return;
        };
        self.reserve(batch.len());
        self.deferred.clear();
        // In groups of frames, three passes each, so that memory latency overlaps and what
        // was prefetched is still in L1 when used: read each flow and start loading its
        // index slot; find the sessions and start loading them; check and translate.
        const GROUP: usize = 32;
        let n = passed.len();
        for g in (0..n).step_by(GROUP) {
            let end = (g + GROUP).min(n);
            if let Some(t) = &self.sessions {
                let mut probes = [Probe::default(); GROUP];
                for j in g..end {
                    let i = usize::from(passed[j]);
                    let f = security::flow_of(batch.frame(i));
                    if let Some(f) = &f {
                        probes[j - g] = t.prefetch_key(&f.key);
                    }
                    self.parsed[i] = f;
                }
                for j in g..end {
                    let i = usize::from(passed[j]);
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
                let i = usize::from(passed[j]);
                self.pre[i] = Pre::Off;
                match self.pre_route(cx, &sec, routes, batch, i) {
                    Ok(dst) => keys[j] = dst,
                    Err(r) => {
                        cx.drop(r);
                        cx.meta.taken[i] = true;
                        self.pre[i] = Pre::Dropped;
                    }
                }
            }
        }
        self.sec = Some(sec);
    }

    fn to_box_multicast(
        &mut self,
        cx: &mut Cx,
        i: usize,
        proto: u8,
        sport: u16,
        dport: u16,
    ) -> bool {
        let Some(sec) = &self.sec else {
            return true;
        };
        let port = cx.meta.in_port[i];
        if sec.zone(port).is_none() {
            cx.drop(DropReason::NoZone);
            return false;
        }
        let allowed = sec
            .host_inbound
            .get(usize::from(port))
            .is_some_and(|h| h.allows(proto, sport, dport, 0));
        if !allowed {
            cx.drop(DropReason::HostInboundDenied);
        }
        allowed
    }

    /// A session's IPv4 packet is finished here, inlined into the route stage: without
    /// translation it was settled before the lookup; with it, it gets the rest of it (source
    /// NAT) now that the route is known, with no policy and nothing else to look up. First
    /// packets, frames to the box and IPv6 take the call.
    #[inline(always)]
    fn ip4_output(
        &mut self,
        cx: &mut Cx,
        batch: &mut FrameBatch,
        i: u16,
        out: Option<u16>,
        v6: bool,
    ) -> bool {
        if !v6 {
            match self.pre[usize::from(i)] {
                Pre::Session { nat: false } => return true,
                Pre::Session { nat: true } => {
                    let (mid, to) = self.after_dnat(usize::from(i));
                    if mid != to {
                        let partial = batch.offload(usize::from(i)).needs_csum();
                        nat::rewrite(batch.frame_mut(usize::from(i)), &mid, &to, partial);
                    }
                    return true;
                }
                _ => {}
            }
        }
        self.security_first(cx, batch, i, out, v6)
    }

    fn take_deferred(&mut self, into: &mut Vec<u16>) {
        into.clear();
        into.append(&mut self.deferred);
    }

    /// A later fragment held back: now that the batch's first packets have made their
    /// sessions, one found is tracked and translated (addresses only: it has no ports) as
    /// its session's packets are, and routed on; the rest are dropped.
    #[inline(never)]
    fn resume(&mut self, cx: &mut Cx, batch: &mut FrameBatch, i: u16) -> Option<u32> {
        let at = usize::from(i);
        let now = cx.now_ms;
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
            cx.drop(DropReason::FragmentNoSession);
            self.pre[at] = Pre::Dropped;
            return None;
        };
        if to != wire {
            let partial = batch.offload(at).needs_csum();
            nat::rewrite(batch.frame_mut(at), &wire, &to, partial);
        }
        self.pre[at] = Pre::Session { nat: false };
        Some(to.dst)
    }
}

impl SecurityStage {
    /// Takes this batch's security tables; makes, reconfigures or drops the session table to
    /// match; expires what is due (a bounded amount per batch).
    pub(crate) fn load_security(&mut self, tables: &Tables) {
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
    pub(crate) fn pre_route(
        &mut self,
        cx: &mut Cx,
        sec: &SecurityTables,
        routes: Routes,
        batch: &mut FrameBatch,
        i: usize,
    ) -> Result<u32, DropReason> {
        let in_port = cx.meta.in_port[i];
        let Some(from) = sec.zone(in_port) else {
            return Err(DropReason::NoZone);
        };
        let scr = sec.screen(from);
        let mut packet = screen::Packet::default();
        if let (Some(scr), Some(st)) = (scr, self.screen.as_mut()) {
            packet = screen::Packet::of(batch.frame(i), ETH_HDR);
            let route = |src: u32| source_route(routes, src);
            let hits = &mut self.hits.screen;
            let mut alarm = |a: Attack| count_attack(hits, from, a);
            if let Err(a) = st.packet_with(scr, &packet, in_port, cx.now_ms, route, &mut alarm) {
                self.screened(from, a, scr.alarm_only)?;
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
        let now = cx.now_ms;
        // Found before (sessions are never freed within a batch), or made since by an
        // earlier frame of this batch; a later fragment by its datagram.
        let mut found = self.found[i].or_else(|| self.sessions.as_ref()?.lookup(&key));
        if fragment {
            match self.fragment_session(cx, batch, i, found) {
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
                let hits = &mut self.hits.screen;
                let mut alarm = |a: Attack| count_attack(hits, from, a);
                if let Err(a) = st.new_syn_with(scr, &packet, cx.now_us, &mut alarm) {
                    self.screened(from, a, scr.alarm_only)?;
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
    pub(crate) fn fragment_session(
        &mut self,
        cx: &mut Cx,
        batch: &FrameBatch,
        i: usize,
        found: Option<(u32, Dir)>,
    ) -> Result<Option<(u32, Dir)>, Option<DropReason>> {
        match fragment_of(batch.frame(i)) {
            Fragment::Whole => Ok(found),
            Fragment::First(d) => {
                if let Some((id, dir)) = found {
                    self.frags.insert(d, id, dir, cx.now_ms);
                }
                Ok(found)
            }
            // RFC 1858: a TCP fragment at offset 1 (8 bytes) can only rewrite the header the
            // session was checked by; no honest sender makes one.
            Fragment::Later(d, 1) if d.proto == 6 => Err(Some(DropReason::FragmentOverlap)),
            Fragment::Later(d, _) => match self.frags.get(&d, cx.now_ms) {
                Some(f) => Ok(Some(f)),
                None => {
                    self.deferred.push(i as u16);
                    self.pre[i] = Pre::Deferred;
                    cx.meta.taken[i] = true;
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
    pub(crate) fn after_dnat(&self, i: usize) -> (FlowKey, FlowKey) {
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
    /// Counts attack `a` in `zone`; the drop, unless the screen only alarms
    /// (`alarm-without-drop`).
    pub(crate) fn screened(
        &mut self,
        zone: u16,
        a: Attack,
        alarm_only: bool,
    ) -> Result<(), DropReason> {
        count_attack(&mut self.hits.screen, zone, a);
        if alarm_only {
            Ok(())
        } else {
            Err(DropReason::Screen)
        }
    }

    /// [`Feature::ip4_output`] for a first packet, a frame to the box
    /// or IPv6.
    #[inline(never)]
    pub(crate) fn security_first(
        &mut self,
        cx: &mut Cx,
        batch: &mut FrameBatch,
        i: u16,
        out_port: Option<u16>,
        v6: bool,
    ) -> bool {
        let Some(sec) = self.sec.take() else {
            return true;
        };
        let r = self.secure(cx, &sec, batch, usize::from(i), out_port, v6);
        let at = usize::from(i);
        // tcp-rst answers a segment that is no RST itself, and only where the frame is as
        // the client sent it (destination NAT rewrote it otherwise, and the RST would come
        // from the inside address).
        let rst = || {
            let segment = self.parsed[at].as_ref().and_then(|f| f.tcp);
            segment.is_some_and(|t| t.flags & 0x04 == 0)
                && matches!(self.pre[at], Pre::New { dnat: None })
                && sec
                    .zone(cx.meta.in_port[at])
                    .is_some_and(|z| sec.tcp_rst(z))
        };
        let answer = match r {
            Err(DropReason::PolicyRejected) => true,
            Err(DropReason::TcpNotSyn) => rst(),
            _ => false,
        };
        self.sec = Some(sec);
        let Err(reason) = r else { return true };
        cx.drop(reason);
        if answer {
            cx.punt_error(i, PuntReason::PolicyReject);
        }
        false
    }

    /// The security stage for routed frame `i` leaving by `out_port` (None: for the box),
    /// once the route is known: a session's packet gets the rest of its translation; a first
    /// packet gets its policy, source NAT and session. Err: drop it, counted under the
    /// reason (and for a reject, answer it).
    #[inline(never)]
    pub(crate) fn secure(
        &mut self,
        cx: &mut Cx,
        sec: &SecurityTables,
        batch: &mut FrameBatch,
        i: usize,
        out_port: Option<u16>,
        v6: bool,
    ) -> Result<(), DropReason> {
        let in_port = cx.meta.in_port[i];
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
                    self.screened(from, a, scr.alarm_only)?;
                }
                true
            }
            _ => false,
        };
        let after = self.source_nat(sec, (from, in_port), (to, out), &post, &h)?;
        let now = cx.now_ms;
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
                let d = fragments::Datagram {
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
    pub(crate) fn source_nat(
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
}

/// A SYN for a new connection on the tuple of closed session `id`: the old session goes and
/// the SYN continues as a first packet (policy, NAT, a new session), as conntrack reopens a
/// closed connection; a session an earlier frame of this batch made for the tuple takes it
/// instead. Before, such a SYN was dropped as out of window until the closed session aged
/// out (2 s), and a client that resets its connections and reuses ports lost them.
#[cold]
#[inline(never)]
pub(crate) fn reopen(
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
