//! The RIB's door for routing protocols (BGP now, OSPF next): they hand it routes with
//! protocol next hops (addresses), which the control thread resolves through the RIB's own
//! routes to interfaces; and they watch the active routes (export policy needs them, and
//! BGP advertises only what is active).
//!
//! Both directions are asynchronous: a protocol never waits for the forwarding plane, and the
//! control thread never waits for a protocol (a watcher is a callback that must not block; the
//! BGP adapter's puts the changes on a channel).

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use savin_rib::{Hop, IpPrefix, NextHops, Protocol};

use crate::control::Control;
use crate::{lock, Shared};

fn guard<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A protocol's route: preference, metric and next-hop addresses to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolRoute {
    pub preference: u32,
    pub metric: u32,
    pub next_hops: Vec<IpAddr>,
}

/// A change of the active route of a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveChange {
    pub prefix: IpPrefix,
    pub active: Option<ActiveInfo>,
}

/// The active route, as export policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveInfo {
    pub protocol: Protocol,
    pub next_hops: Vec<IpAddr>,
    /// The interfaces its hops leave by.
    pub interfaces: Vec<String>,
    pub metric: u32,
}

/// Called on the control thread with each batch of active-route changes; must not block.
pub type Watcher = Box<dyn Fn(Vec<ActiveChange>) + Send + Sync>;

/// What a protocol says about one of its candidates in `show route detail` (BGP: the AS
/// path, communities, local preference, ...): text lines, and the same as JSON members of
/// the route entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouteNotes {
    pub text: Vec<String>,
    pub json: Vec<(String, serde_json::Value)>,
}

/// A protocol's notes on its candidates for a prefix, in its candidate order (candidate id
/// `i` is entry `i`). Called from the thread answering `show route`.
pub type Annotator = Box<dyn Fn(IpPrefix) -> Vec<RouteNotes> + Send + Sync>;

/// Routes counted in a backlog until this is dropped: run, or discarded with a stopped
/// engine's queue (never counted forever).
struct Backlog(Arc<std::sync::atomic::AtomicUsize>, usize);

impl Backlog {
    fn add(counter: &Arc<std::sync::atomic::AtomicUsize>, n: usize) -> Backlog {
        counter.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        Backlog(counter.clone(), n)
    }

    /// Other batches are queued behind this one.
    fn others_waiting(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed) > self.1
    }
}

impl Drop for Backlog {
    fn drop(&mut self) {
        self.0
            .fetch_sub(self.1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The watchers, shared by the subsystem and its engine.
#[derive(Default)]
pub struct RouteHub {
    watchers: Mutex<Vec<Watcher>>,
    /// Protocol routes handed over and not yet applied by the control thread.
    backlog: Arc<std::sync::atomic::AtomicUsize>,
    annotators: Mutex<Vec<(Protocol, Arc<Annotator>)>>,
    /// The RIB: the engine's control thread drains it into the FIB; a protocol may keep its
    /// routes in it (BGP). Here rather than in the engine so it is there before the engine
    /// starts.
    pub(crate) rib: Arc<savin_rib::SharedRib>,
    /// A drain is queued on the control thread (a protocol's writes are drained together).
    drain_queued: std::sync::atomic::AtomicBool,
}

impl RouteHub {
    pub(crate) fn has_watchers(&self) -> bool {
        !guard(&self.watchers).is_empty()
    }

    /// `protocol`'s notes on its candidates for `prefix` (empty: none).
    pub(crate) fn notes(&self, protocol: Protocol, prefix: IpPrefix) -> Vec<RouteNotes> {
        let f = guard(&self.annotators)
            .iter()
            .find(|(p, _)| *p == protocol)
            .map(|(_, f)| f.clone());
        f.map(|f| f(prefix)).unwrap_or_default()
    }

    pub(crate) fn has_annotator(&self, protocol: Protocol) -> bool {
        guard(&self.annotators).iter().any(|(p, _)| *p == protocol)
    }

    pub(crate) fn notify(&self, changes: Vec<ActiveChange>) {
        let w = guard(&self.watchers);
        // The last watcher takes the batch itself: with one (BGP) nothing is copied.
        if let Some((last, rest)) = w.split_last() {
            for f in rest {
                f(changes.clone());
            }
            last(changes);
        }
    }
}

/// A routing protocol's handle on the RIB.
#[derive(Clone)]
pub struct RouteFeed {
    pub(crate) running: Shared,
    pub(crate) hub: Arc<RouteHub>,
}

impl RouteFeed {
    /// Replaces `protocol`'s routes to each prefix: its candidates in order (the first is
    /// the protocol's best; none withdraws the prefix). Without a running data plane the
    /// routes have nowhere to go and are dropped.
    pub fn update(&self, protocol: Protocol, changes: Vec<(IpPrefix, Vec<ProtocolRoute>)>) {
        let running = lock(&self.running);
        let Some(engine) = running.engine.as_ref() else {
            tracing::debug!(
                routes = changes.len(),
                "no forwarding plane: protocol routes dropped"
            );
            return;
        };
        // The clock starts at the RIB's door: what `rib_lag` measures is the queue to the
        // control thread, the RIB's choice and the FIB write.
        let at = std::time::Instant::now();
        let backlog = Backlog::add(&self.hub.backlog, changes.len());
        engine.post(move |c| {
            let more = backlog.others_waiting();
            c.protocol_routes(protocol, changes, at, more);
            drop(backlog);
        });
    }

    /// The RIB, for a protocol that keeps its routes in it (BGP writes its paths there).
    pub fn rib(&self) -> Arc<savin_rib::SharedRib> {
        self.hub.rib.clone()
    }

    /// Prefixes a protocol wrote to the RIB that wait for the control thread: 0 with no
    /// forwarding plane running (nothing drains them then, and a protocol must not wait).
    pub fn rib_backlog(&self) -> usize {
        let running = lock(&self.running).engine.is_some();
        if running {
            self.hub.rib.read().pending()
        } else {
            0
        }
    }

    /// A protocol wrote to the RIB: the control thread selects the active routes and writes
    /// the FIB soon. Many calls before it runs are one drain. Does not block.
    pub fn written(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        if self.hub.drain_queued.swap(true, Relaxed) {
            return;
        }
        let running = lock(&self.running);
        let Some(engine) = running.engine.as_ref() else {
            // No forwarding plane yet: its start drains what is there.
            self.hub.drain_queued.store(false, Relaxed);
            return;
        };
        let hub = self.hub.clone();
        let at = std::time::Instant::now();
        engine.post(move |c| {
            // Cleared first: a write after this point queues another drain.
            hub.drain_queued.store(false, Relaxed);
            let n = c.apply_rib();
            if n > 0 {
                c.rib_lag.record(at.elapsed().as_micros() as u64, n as u64);
            }
        });
    }

    /// Protocol routes handed over and not yet in the RIB: a producer that runs ahead waits
    /// for this to fall (so a table load does not queue up in memory).
    pub fn backlog(&self) -> usize {
        self.hub.backlog.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Registers what `protocol` says about its routes in `show route detail`.
    pub fn annotate(&self, protocol: Protocol, f: Annotator) {
        let mut a = guard(&self.hub.annotators);
        a.retain(|(p, _)| *p != protocol);
        a.push((protocol, Arc::new(f)));
    }

    /// Registers `w` for active-route changes; it first receives every active route there
    /// is (on the control thread, so no change falls between the two).
    pub fn watch(&self, w: Watcher) {
        let running = lock(&self.running);
        match running.engine.as_ref() {
            Some(engine) => {
                let hub = self.hub.clone();
                engine.post(move |c| {
                    w(c.active_snapshot());
                    guard(&hub.watchers).push(w);
                });
            }
            None => guard(&self.hub.watchers).push(w),
        }
    }
}

impl Control {
    /// A protocol's changes: next hops resolved, handed to the RIB, the FIB updated.
    pub(crate) fn protocol_routes(
        &mut self,
        protocol: Protocol,
        changes: Vec<(IpPrefix, Vec<ProtocolRoute>)>,
        at: std::time::Instant,
        more_queued: bool,
    ) {
        let n = changes.len() as u64;
        let shared = self.rib.clone();
        {
            let mut rib = shared.write();
            rib.set_time(crate::control::unix_now());
            // Next hops are resolved by the RIB, once per distinct set (a full table has a
            // handful), and again when the routes they resolve through change.
            for (prefix, routes) in changes {
                rib.replace_via(
                    prefix,
                    protocol,
                    routes
                        .iter()
                        .map(|r| (r.preference, r.metric, r.next_hops.as_slice())),
                );
            }
        }
        self.rib_pending.push((at, n));
        // More batches are queued behind this one (a table load): the FIB is written once
        // for all of them, by the last (each write rebuilds the parts of the lookup structure
        // it touches; one write per batch rebuilt the same parts again and again).
        if more_queued {
            return;
        }
        self.apply_rib();
        for (at, n) in self.rib_pending.drain(..) {
            self.rib_lag.record(at.elapsed().as_micros() as u64, n);
        }
    }

    /// Every active route, as watchers see them.
    pub(crate) fn active_snapshot(&self) -> Vec<ActiveChange> {
        let rib = self.rib.read();
        let mut out = Vec::new();
        for (p, e) in rib.inet.iter() {
            if let Some(a) = e.active() {
                out.push(self.active_change(
                    IpPrefix::V4(p),
                    Some((rib.hops(a.nh).clone(), a.source.protocol, a.metric)),
                ));
            }
        }
        for (p, e) in rib.inet6.iter() {
            if let Some(a) = e.active() {
                out.push(self.active_change(
                    IpPrefix::V6(p),
                    Some((rib.hops(a.nh).clone(), a.source.protocol, a.metric)),
                ));
            }
        }
        out
    }

    pub(crate) fn active_change(
        &self,
        prefix: IpPrefix,
        active: Option<(NextHops, Protocol, u32)>,
    ) -> ActiveChange {
        ActiveChange {
            prefix,
            active: active.map(|(hops, protocol, metric)| {
                let mut next_hops = Vec::new();
                let mut interfaces = Vec::new();
                // BGP's own routes go without details: BGP knows them, and a full table of
                // them would cost a million small allocations per batch.
                if protocol == Protocol::Bgp {
                    return ActiveInfo {
                        protocol,
                        next_hops,
                        interfaces,
                        metric,
                    };
                }
                for h in hops.hops() {
                    if let Hop::Gateway(_, g) = h {
                        next_hops.push(*g);
                    }
                    if let Some(i) = h.interface() {
                        if let Some(p) = self.port(i as u16) {
                            if !interfaces.contains(&p.name) {
                                interfaces.push(p.name.clone());
                            }
                        }
                    }
                }
                ActiveInfo {
                    protocol,
                    next_hops,
                    interfaces,
                    metric,
                }
            }),
        }
    }
}
