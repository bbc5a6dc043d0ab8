//! The BGP speaker: every neighbour's session, the paths they sent, the best path per prefix
//! (Junos' selection), import and export policy, and what goes to the RIB and to each
//! neighbour.
//!
//! Sans-IO like the sessions it holds: the adapter reports socket events and the RIB's active
//! routes, calls [`Speaker::pump`] after each batch of events, and drains [`Speaker::poll_io`]
//! (connects, writes, closes); when [`Speaker::take_rib_written`] says so, the RIB's owner
//! selects the active routes and programs the FIB.
//!
//! Memory is the design's constraint (a full table from each of several peers):
//! - BGP keeps no table of its own: a prefix's paths are its BGP candidates in the RIB, in
//!   BGP's order (source id i for the i-th), each holding its path record as the candidate's
//!   data. One index of a full table instead of two (the speaker's hash map and the RIB's
//!   tree held the same million prefixes), written under the RIB's lock a message at a time;
//! - attribute sets are interned ([`Interner`]): a path holds an `Arc` to a set shared with
//!   every other path that has the same attributes, so a table of a million prefixes with a
//!   few thousand distinct sets stores each set once;
//! - paths are interned too ([`PathInterner`]: the attributes as received, the attributes after
//!   import policy, which are the same pointer when the policy changed nothing, the neighbour
//!   and the preference), so a candidate holds one pointer; keeping the received attributes
//!   is what lets a policy change be applied again without asking the neighbour (soft
//!   reconfiguration inbound);
//! - Adj-RIB-Out is not stored: what a neighbour gets is computed from the best path when it
//!   changes; a bit per neighbour, kept only for prefixes announced somewhere, says where a
//!   withdrawal must go.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use savin_config::model::policy_options::PolicyOptions;
use savin_config::model::protocols::Peer;
use savin_policy::{Action, Attrs, Community, Large, NextHopAction, Policies, RouteIn};
use savin_rib::{Candidate, IpPrefix, Prefix, Protocol, Rib, RouteData, SharedRib};
use smallvec::SmallVec;

/// The speaker's maps are keyed by what neighbours send (prefixes, attribute sets): a keyed,
/// randomly seeded hash, as std's is, but several times faster on these small keys.
type HashMap<K, V> = std::collections::HashMap<K, V, ahash::RandomState>;
type HashSet<K> = std::collections::HashSet<K, ahash::RandomState>;

use crate::packet::{
    self, Family, MpNextHop, Notification, Origin, PathAttrs, Segment, SegmentKind, Update,
};
use crate::session::{Conn, DownReason, Negotiated, Output, Session, SessionConfig, State};

/// Index of a neighbour in the speaker.
pub type PeerId = u32;

/// Well-known communities (RFC 1997).
const NO_EXPORT: u32 = 0xFFFF_FF01;
const NO_ADVERTISE: u32 = 0xFFFF_FF02;
/// Without confederations, NO_EXPORT_SUBCONFED means NO_EXPORT (RFC 1997).
const NO_EXPORT_SUBCONFED: u32 = 0xFFFF_FF03;
/// LOCAL_PREF when a path has none (RFC 4271 §9.1.1 leaves it to the box; 100 everywhere).
const DEFAULT_LOCAL_PREF: u32 = 100;
/// Prefixes changed under one hold of the RIB's write lock when a neighbour's whole table is
/// walked (a session down, a policy change): the control thread and `show route` get in
/// between chunks.
const RIB_CHUNK: usize = 4096;
/// A neighbour's connect attempts this far apart.
const CONNECT_RETRY: Duration = Duration::from_secs(30);

/// A route for the RIB: the best path (with its equal-cost siblings under `multipath`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RibRoute {
    pub preference: u32,
    /// MED, as `show route` prints BGP's metric.
    pub metric: u32,
    /// The BGP next hops (addresses to resolve through the RIB).
    pub next_hops: Vec<IpAddr>,
}

/// What BGP holds in the RIB for one prefix ([`Speaker::rib_view`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixRoutes {
    pub prefix: IpPrefix,
    pub route: Option<RibRoute>,
    /// The other accepted paths, best first: the RIB keeps them as inactive candidates, so
    /// when the best path's next hop cannot be used (its link went down) the next one
    /// carries the traffic at once, as on Junos, without waiting for BGP.
    pub backups: Vec<RibRoute>,
}

/// The RIB's active route to a prefix, as export policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveRoute {
    /// `direct`, `local`, `static`, `bgp`, ... (a name policy uses: no allocation per route
    /// in a full table's changes).
    pub protocol: &'static str,
    pub next_hops: Vec<IpAddr>,
    /// Interfaces its next hops leave by (`ge-0/0/0.0`).
    pub interfaces: Vec<String>,
    pub metric: u32,
}

/// One neighbour's path to a prefix.
#[derive(Debug)]
struct PathRec {
    /// As received.
    received: Arc<PathAttrs>,
    /// After import policy; None: rejected (kept hidden, as Junos keeps it).
    accepted: Option<Arc<PathAttrs>>,
    peer: PeerId,
    preference: u32,
}

/// A path, hash-consed ([`PathInterner`]): every prefix of an UPDATE, and of every UPDATE
/// with the same attributes from that neighbour, shares one record, so a prefix holds a
/// pointer per path (a full table from one neighbour with one attribute set: one record).
///
/// BGP keeps no table of its own: its paths are the RIB's BGP candidates, each holding its
/// record as the candidate's [`RouteData`] (one index of a full table, not two).
#[derive(Debug, Clone)]
struct Path(Arc<RouteData>);

impl std::ops::Deref for Path {
    type Target = PathRec;
    fn deref(&self) -> &PathRec {
        // Only `PathInterner` makes a `Path`, and `Path::of` takes only what it made.
        self.0
             .0
            .downcast_ref::<PathRec>()
            .expect("a BGP path record")
    }
}

impl Path {
    /// The path a RIB candidate holds (None: not one of BGP's).
    fn of(c: &Candidate) -> Option<Path> {
        let d = c.data.as_ref()?;
        d.0.is::<PathRec>().then(|| Path(d.clone()))
    }

    fn ptr_eq(&self, o: &Path) -> bool {
        Arc::ptr_eq(&self.0, &o.0)
    }
}

/// BGP's paths of `p` in the RIB, in BGP's order (best first, rejected last).
fn paths_in(rib: &Rib, p: IpPrefix) -> Paths {
    rib.protocol_candidates(p, Protocol::Bgp)
        .iter()
        .filter_map(|c| Path::of(c))
        .collect()
}

/// Calls `f` with every prefix BGP has a path for, and its paths (a walk of the RIB).
fn each_prefix(rib: &Rib, mut f: impl FnMut(IpPrefix, &Paths)) {
    let mut paths = Paths::new();
    let mut visit = |p: IpPrefix, e: &savin_rib::Entry| {
        paths.clear();
        let mut bgp: SmallVec<[&Candidate; 2]> = e
            .candidates()
            .iter()
            .filter(|c| c.source.protocol == Protocol::Bgp)
            .collect();
        if bgp.is_empty() {
            return;
        }
        bgp.sort_by_key(|c| c.source.id);
        paths.extend(bgp.iter().filter_map(|c| Path::of(c)));
        f(p, &paths);
    };
    for (k, e) in rib.inet.iter() {
        visit(IpPrefix::V4(k), e);
    }
    for (k, e) in rib.inet6.iter() {
        visit(IpPrefix::V6(k), e);
    }
}

/// What makes two paths the same: the interned attribute sets (by address), the neighbour
/// and the preference.
type PathId = (usize, usize, PeerId, u32);

fn path_id(
    received: &Arc<PathAttrs>,
    accepted: Option<&Arc<PathAttrs>>,
    peer: PeerId,
    preference: u32,
) -> PathId {
    (
        Arc::as_ptr(received) as usize,
        accepted.map_or(0, |a| Arc::as_ptr(a) as usize),
        peer,
        preference,
    )
}

/// Paths, hash-consed. A key's addresses stay valid while its entry lives: the record holds
/// the sets they point at.
#[derive(Debug, Default)]
struct PathInterner {
    paths: HashMap<PathId, Path>,
}

impl PathInterner {
    fn intern(
        &mut self,
        received: Arc<PathAttrs>,
        accepted: Option<Arc<PathAttrs>>,
        peer: PeerId,
        preference: u32,
    ) -> Path {
        let id = path_id(&received, accepted.as_ref(), peer, preference);
        self.paths
            .entry(id)
            .or_insert_with(|| {
                Path(Arc::new(RouteData(Box::new(PathRec {
                    received,
                    accepted,
                    peer,
                    preference,
                }))))
            })
            .clone()
    }

    /// Drops the paths no prefix holds any more (before the attribute sets are swept: the
    /// paths hold those).
    fn sweep(&mut self) {
        self.paths.retain(|_, p| Arc::strong_count(&p.0) > 1);
    }
}

/// A prefix's paths, best first (read from the RIB's candidates).
type Paths = SmallVec<[Path; 2]>;

/// The neighbour's bit in [`Speaker::sent`]; None past 64 (those get every withdrawal).
fn peer_bit(id: PeerId) -> Option<u64> {
    (id < 64).then(|| 1u64 << id)
}

/// Attribute sets, hash-consed: equal sets share one `Arc`.
#[derive(Debug, Default)]
pub struct Interner {
    sets: HashSet<ArcKey>,
}

/// An interned set, hashed and compared by content.
#[derive(Debug, Clone)]
struct ArcKey(Arc<PathAttrs>);

impl PartialEq for ArcKey {
    fn eq(&self, o: &Self) -> bool {
        Arc::ptr_eq(&self.0, &o.0) || *self.0 == *o.0
    }
}
impl Eq for ArcKey {}
impl Hash for ArcKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.hash(h)
    }
}

impl Interner {
    pub fn intern(&mut self, a: PathAttrs) -> Arc<PathAttrs> {
        let key = ArcKey(Arc::new(a));
        if let Some(k) = self.sets.get(&key) {
            return k.0.clone();
        }
        self.sets.insert(key.clone());
        key.0
    }

    /// Drops the sets no path uses any more.
    pub fn sweep(&mut self) {
        self.sets.retain(|k| Arc::strong_count(&k.0) > 1);
    }

    pub fn len(&self) -> usize {
        self.sets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }
}

/// A neighbour: its configuration, its session and its counts.
#[derive(Debug)]
pub struct Neighbor {
    pub cfg: Peer,
    pub session: Session,
    /// Our address on the established session (next-hop self).
    pub local_addr: Option<IpAddr>,
    /// Prefixes received and not withdrawn, per family (index 0 IPv4, 1 IPv6).
    pub received: [u64; 2],
    /// Of those, accepted by import policy.
    pub accepted: [u64; 2],
    /// Prefixes sent in the last full advertisement plus changes since (approximate: a
    /// withdrawal of a prefix never sent is not counted).
    pub advertised: [u64; 2],
    /// Families the peer ended its initial table for (End-of-RIB received).
    pub end_of_rib: Vec<Family>,
    /// The neighbour's graceful restart capability on the last session: its restart time
    /// and the families it covers (RFC 4724).
    pub restart_cap: Option<(u16, Vec<Family>)>,
    /// While the neighbour restarts (graceful restart helper): its routes kept as stale,
    /// until it sends them again and ends with End-of-RIB, or the time runs out.
    pub stale: Option<Stale>,
}

/// A restarting neighbour's routes, kept.
#[derive(Debug, Clone)]
pub struct Stale {
    pub prefixes: HashSet<IpPrefix>,
    /// When what is still stale goes: the restart time from the session's end, then
    /// `stale-routes-time` from the session's return.
    pub until: Instant,
}

/// How long stale routes wait for End-of-RIB once the neighbour is back (Junos'
/// `stale-routes-time` default).
const STALE_ROUTES_TIME: Duration = Duration::from_secs(300);

fn fam_index(f: Family) -> usize {
    match f {
        Family::Ipv4Unicast => 0,
        Family::Ipv6Unicast => 1,
    }
}

fn family_of(p: IpPrefix) -> Family {
    match p {
        IpPrefix::V4(_) => Family::Ipv4Unicast,
        IpPrefix::V6(_) => Family::Ipv6Unicast,
    }
}

/// What the speaker hands the adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Io {
    pub peer: PeerId,
    pub address: IpAddr,
    pub output: Output,
}

/// The speaker's global settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    pub router_id: Ipv4Addr,
    pub local_as: u32,
}

#[derive(Debug)]
pub struct Speaker {
    global: Global,
    peers: Vec<Option<Neighbor>>,
    by_addr: HashMap<IpAddr, PeerId>,
    /// The RIB, where BGP's paths are kept (as its candidates).
    rib: Arc<SharedRib>,
    /// Bit `i` of a prefix: announced to neighbour `i` (the first 64), so a withdrawal goes
    /// only where an announcement went. Only prefixes announced somewhere are here: eight
    /// bytes a prefix instead of an Adj-RIB-Out per neighbour.
    ///
    /// Per family, keyed by the family's prefix (8 bytes for IPv4, not an `IpPrefix`'s 32).
    sent: (HashMap<Prefix<u32>, u64>, HashMap<Prefix<u128>, u64>),
    /// The RIB was written since [`Speaker::take_rib_written`].
    rib_written: bool,
    interner: Interner,
    path_recs: PathInterner,
    policies: Arc<Policies>,
    /// What `policies` was compiled from (a commit changes them only if this changed).
    policy_options: PolicyOptions,
    /// Prefixes whose active route in the RIB is not BGP's: another protocol's (Some), or
    /// none at all (None, while BGP has a path that the RIB cannot use).
    others: HashMap<IpPrefix, Option<ActiveRoute>>,
    /// Prefixes whose best path or active route changed since the last export.
    dirty: Vec<IpPrefix>,
    io: VecDeque<Io>,
    /// The time of the event being handled.
    now: Instant,
    /// Interned sets after the last sweep.
    swept_at: usize,
}

impl Speaker {
    pub fn new(global: Global, rib: Arc<SharedRib>, now: Instant) -> Speaker {
        Speaker {
            global,
            peers: Vec::new(),
            by_addr: HashMap::default(),
            rib,
            sent: Default::default(),
            rib_written: false,
            interner: Interner::default(),
            path_recs: PathInterner::default(),
            policies: Arc::new(Policies::default()),
            policy_options: PolicyOptions::default(),
            others: HashMap::default(),
            dirty: Vec::new(),
            io: VecDeque::new(),
            now,
            swept_at: 0,
        }
    }

    pub fn global(&self) -> &Global {
        &self.global
    }

    pub fn neighbors(&self) -> impl Iterator<Item = (PeerId, &Neighbor)> {
        self.peers
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((i as PeerId, p.as_ref()?)))
    }

    pub fn neighbor(&self, id: PeerId) -> Option<&Neighbor> {
        self.peers.get(id as usize)?.as_ref()
    }

    pub fn peer_by_addr(&self, a: IpAddr) -> Option<PeerId> {
        self.by_addr.get(&a).copied()
    }

    /// Prefixes with at least one path, per family (a walk of the RIB).
    pub fn prefix_count(&self) -> (usize, usize) {
        let mut n = (0, 0);
        each_prefix(&self.rib.read(), |p, _| match p {
            IpPrefix::V4(_) => n.0 += 1,
            IpPrefix::V6(_) => n.1 += 1,
        });
        n
    }

    pub fn interned_sets(&self) -> usize {
        self.interner.len()
    }

    pub fn poll_io(&mut self) -> Option<Io> {
        self.io.pop_front()
    }

    /// Whether the speaker wrote to the RIB since the last call (the RIB's owner then selects
    /// and programs the FIB).
    pub fn take_rib_written(&mut self) -> bool {
        std::mem::take(&mut self.rib_written)
    }

    /// What BGP holds in the RIB, prefix by prefix: the route (the best path, with its
    /// equal-cost siblings under `multipath`) and the backups (the other accepted paths).
    pub fn rib_view(&self) -> std::collections::BTreeMap<IpPrefix, PrefixRoutes> {
        let mut out = std::collections::BTreeMap::new();
        each_prefix(&self.rib.read(), |p, paths| {
            let route = rib_route_of(paths, &self.peers);
            if route.is_some() {
                out.insert(
                    p,
                    PrefixRoutes {
                        prefix: p,
                        route,
                        backups: backups_of(paths, &self.peers),
                    },
                );
            }
        });
        out
    }

    fn session_config(&self, p: &Peer) -> SessionConfig {
        let mut families = Vec::new();
        if p.ipv4.is_some() {
            families.push(Family::Ipv4Unicast);
        }
        if p.ipv6.is_some() {
            families.push(Family::Ipv6Unicast);
        }
        SessionConfig {
            local_as: p.local_as,
            peer_as: p.peer_as,
            router_id: self.global.router_id,
            hold_time: p.hold_time,
            families,
            passive: p.passive,
            internal: p.internal,
            graceful_restart: p
                .graceful_restart
                .as_ref()
                .map(|g| g.restart_time.unwrap_or(120)),
            connect_retry: CONNECT_RETRY,
        }
    }

    /// Applies a committed configuration: neighbours added start, removed ones stop (their
    /// routes go), and those whose session parameters changed start again. A change of
    /// policy alone is applied to the paths already held (soft reconfiguration), with no
    /// session reset.
    pub fn configure(
        &mut self,
        global: Global,
        peers: Vec<Peer>,
        policies: Arc<Policies>,
        policy_options: &PolicyOptions,
        now: Instant,
    ) {
        self.now = now;
        let global_changed = global != self.global;
        self.global = global;
        // Each commit compiles the policies anew: what matters is whether they differ.
        let policy_changed = *policy_options != self.policy_options;
        if policy_changed {
            self.policies = policies;
            self.policy_options = policy_options.clone();
        }
        // Neighbours to send the whole table again (withdrawing what is no longer
        // exported); all of them when a policy or the reflection topology changed.
        let mut reexport: Vec<PeerId> = Vec::new();
        let mut reexport_all = policy_changed;
        let wanted: HashMap<IpAddr, &Peer> = peers.iter().map(|p| (p.address, p)).collect();
        // Removed neighbours.
        let gone: Vec<PeerId> = self
            .neighbors()
            .filter(|(_, n)| !wanted.contains_key(&n.cfg.address))
            .map(|(id, _)| id)
            .collect();
        for id in gone {
            self.remove_peer(id, now);
        }
        for p in peers {
            let sc = self.session_config(&p);
            match self.by_addr.get(&p.address).copied() {
                Some(id) => {
                    let n = self.peers[id as usize].as_mut().expect("indexed peer");
                    let reset = global_changed
                        || *n.session.config() != sc
                        || n.cfg.authentication_key != p.authentication_key
                        || n.cfg.local_address != p.local_address
                        || n.cfg.ttl != p.ttl;
                    reexport_all |= n.cfg.internal != p.internal || n.cfg.cluster != p.cluster;
                    let again = n.cfg.export != p.export
                        || n.cfg.metric_out != p.metric_out
                        || n.cfg.local_preference != p.local_preference
                        || n.cfg.local_as != p.local_as;
                    let reimport = policy_changed
                        || n.cfg.import != p.import
                        || n.cfg.preference != p.preference;
                    n.cfg = p;
                    if reset {
                        let addr = n.cfg.address;
                        // Cease, Other Configuration Change (RFC 4486); what the old
                        // session says on its way out goes first.
                        n.session.stop(now, Notification::new(6, 6, Vec::new()));
                        self.pump_session(id, now);
                        let n = self.peers[id as usize].as_mut().expect("peer");
                        let mut s = Session::new(sc);
                        // The neighbour's history (flaps, last error) stays.
                        s.stats = n.session.stats.clone();
                        s.start(now);
                        n.session = s;
                        tracing::info!(neighbor = %addr, "bgp: session parameters changed; restarting the session");
                        continue;
                    }
                    if reimport {
                        self.reimport(id);
                    }
                    if again {
                        reexport.push(id);
                    }
                }
                None => {
                    let id = match self.peers.iter().position(Option::is_none) {
                        Some(i) => i,
                        None => {
                            self.peers.push(None);
                            self.peers.len() - 1
                        }
                    } as PeerId;
                    let mut s = Session::new(sc);
                    s.start(now);
                    self.by_addr.insert(p.address, id);
                    self.peers[id as usize] = Some(Neighbor {
                        cfg: p,
                        session: s,
                        local_addr: None,
                        received: [0; 2],
                        accepted: [0; 2],
                        advertised: [0; 2],
                        end_of_rib: Vec::new(),
                        restart_cap: None,
                        stale: None,
                    });
                }
            }
        }
        if reexport_all {
            reexport = self.neighbors().map(|(id, _)| id).collect();
        }
        for id in reexport {
            if self
                .neighbor(id)
                .is_some_and(|n| n.session.established().is_some())
            {
                self.advertise_all(id);
            }
        }
    }

    fn remove_peer(&mut self, id: PeerId, now: Instant) {
        let Some(n) = self.peers[id as usize].as_mut() else {
            return;
        };
        // Cease, Peer De-configured (RFC 4486).
        n.session.stop(now, Notification::new(6, 3, Vec::new()));
        self.pump_session(id, now);
        self.drop_paths(id);
        if let Some(n) = self.peers[id as usize].take() {
            self.by_addr.remove(&n.cfg.address);
        }
    }

    /// A neighbour at `from` connected to us: the peer to hand the connection to, or None
    /// (not a neighbour, or the session will not take it: close it).
    pub fn accept(&mut self, from: IpAddr, now: Instant) -> Option<PeerId> {
        let from = canonical(from);
        let id = *self.by_addr.get(&from)?;
        let n = self.peers[id as usize].as_mut()?;
        if n.session.accept(now) {
            Some(id)
        } else {
            None
        }
    }

    pub fn connected(&mut self, id: PeerId, c: Conn, local: IpAddr, now: Instant) {
        if let Some(n) = self.peers.get_mut(id as usize).and_then(Option::as_mut) {
            n.session.connected(c, now);
            if n.session.established().is_none() {
                n.local_addr = Some(canonical(local));
            }
        }
    }

    pub fn connect_failed(&mut self, id: PeerId, now: Instant) {
        if let Some(n) = self.peers.get_mut(id as usize).and_then(Option::as_mut) {
            n.session.connect_failed(now);
        }
    }

    pub fn received(&mut self, id: PeerId, c: Conn, data: &[u8], now: Instant) {
        if let Some(n) = self.peers.get_mut(id as usize).and_then(Option::as_mut) {
            n.session.received(c, data, now);
        }
    }

    pub fn closed(&mut self, id: PeerId, c: Conn, now: Instant) {
        if let Some(n) = self.peers.get_mut(id as usize).and_then(Option::as_mut) {
            n.session.closed(c, now);
        }
    }

    /// `clear bgp neighbor A`: the session is reset (Cease, Administrative Reset) and
    /// starts again.
    pub fn clear(&mut self, id: PeerId, now: Instant) {
        if let Some(n) = self.peers.get_mut(id as usize).and_then(Option::as_mut) {
            n.session.stop(now, Notification::new(6, 4, Vec::new()));
            n.session.start(now);
        }
    }

    /// `clear bgp neighbor A soft`: our routes are sent again; `soft-inbound`: the
    /// neighbour's routes go through import policy again (from the received attributes
    /// held), and a ROUTE-REFRESH asks for them anew when the neighbour supports it.
    pub fn clear_soft(&mut self, id: PeerId, inbound: bool, now: Instant) {
        self.now = now;
        if inbound {
            self.reimport(id);
            if let Some(n) = self.peers.get_mut(id as usize).and_then(Option::as_mut) {
                for f in [Family::Ipv4Unicast, Family::Ipv6Unicast] {
                    if n.session
                        .negotiated()
                        .is_some_and(|g| g.families.contains(&f))
                    {
                        n.session.request_refresh(f);
                    }
                }
            }
        } else {
            self.advertise_all(id);
        }
    }

    /// Runs the timers due.
    pub fn poll(&mut self, now: Instant) {
        self.now = now;
        for n in self.peers.iter_mut().flatten() {
            n.session.poll(now);
        }
        let expired: Vec<PeerId> = self
            .neighbors()
            .filter(|(_, n)| n.stale.as_ref().is_some_and(|s| s.until <= now))
            .map(|(id, _)| id)
            .collect();
        for id in expired {
            tracing::info!("bgp: a restarting neighbor's stale routes timed out");
            self.purge_stale(id, None);
        }
    }

    /// Removes what is still stale of `id` (of one family, or all).
    fn purge_stale(&mut self, id: PeerId, family: Option<Family>) {
        let Some(st) = self
            .peers
            .get_mut(id as usize)
            .and_then(Option::as_mut)
            .and_then(|n| n.stale.as_mut())
        else {
            return;
        };
        let gone: Vec<IpPrefix> = st
            .prefixes
            .iter()
            .copied()
            .filter(|p| family.is_none_or(|f| family_of(*p) == f))
            .collect();
        for p in &gone {
            st.prefixes.remove(p);
        }
        if st.prefixes.is_empty() {
            if let Some(n) = self.peers[id as usize].as_mut() {
                n.stale = None;
            }
        }
        self.remove_paths(id, gone);
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        self.peers
            .iter()
            .flatten()
            .flat_map(|n| [n.session.next_timeout(), n.stale.as_ref().map(|s| s.until)])
            .flatten()
            .min()
    }

    /// The RIB's active routes changed (all protocols, BGP's own included).
    pub fn rib_changed(&mut self, changes: Vec<(IpPrefix, Option<ActiveRoute>)>) {
        let shared = self.rib.clone();
        let rib = shared.read();
        for (p, active) in changes {
            let was = self.others.get(&p).cloned();
            match active {
                Some(a) if a.protocol == "bgp" => {
                    self.others.remove(&p);
                }
                Some(a) => {
                    self.others.insert(p, Some(a));
                }
                None if has_paths(&rib, p) => {
                    self.others.insert(p, None);
                }
                None => {
                    self.others.remove(&p);
                }
            }
            if self.others.get(&p).cloned() != was {
                self.mark(p);
            }
        }
    }

    /// Handles what the sessions produced, then sends each changed prefix to the
    /// neighbours. Call after every batch of events.
    pub fn pump(&mut self, now: Instant) {
        self.now = now;
        for id in 0..self.peers.len() as PeerId {
            self.pump_session(id, now);
        }
        self.export_dirty();
        // What the export queued on the sessions (UPDATEs) goes out now.
        for id in 0..self.peers.len() as PeerId {
            self.pump_session(id, now);
        }
        if self.interner.len() + self.path_recs.paths.len() > 2 * self.swept_at + 1024 {
            self.path_recs.sweep();
            self.interner.sweep();
            self.swept_at = self.interner.len() + self.path_recs.paths.len();
        }
    }

    fn pump_session(&mut self, id: PeerId, now: Instant) {
        loop {
            let Some(n) = self.peers.get_mut(id as usize).and_then(Option::as_mut) else {
                return;
            };
            let Some(out) = n.session.poll_output() else {
                return;
            };
            let address = n.cfg.address;
            match out {
                Output::Up(neg) => self.peer_up(id, &neg),
                Output::Down(why) => self.peer_down(id, &why),
                Output::Update(u) => self.update(id, *u, now),
                Output::Refresh(f) => self.advertise_family(id, f),
                o => self.io.push_back(Io {
                    peer: id,
                    address,
                    output: o,
                }),
            }
        }
    }

    fn peer_up(&mut self, id: PeerId, neg: &Negotiated) {
        let Some(n) = self.peers[id as usize].as_mut() else {
            return;
        };
        n.end_of_rib.clear();
        let cap = match neg.peer_open.graceful_restart() {
            Some(packet::Capability::GracefulRestart { time, families, .. }) => Some((
                *time,
                families
                    .iter()
                    .filter_map(|(a, s, _)| Family::from_afi_safi(*a, *s))
                    .collect::<Vec<_>>(),
            )),
            _ => None,
        };
        n.restart_cap = cap;
        // Back from a restart: what it kept forwarding for (the F bit) waits for its
        // End-of-RIB; the rest goes now (RFC 4724 §4.2).
        if let Some(st) = n.stale.as_mut() {
            let kept: Vec<Family> = neg
                .peer_restart
                .as_ref()
                .map(|(_, f)| f.clone())
                .unwrap_or_default();
            st.until = self.now + STALE_ROUTES_TIME;
            let gone: Vec<IpPrefix> = st
                .prefixes
                .iter()
                .copied()
                .filter(|p| !kept.contains(&family_of(*p)))
                .collect();
            for p in &gone {
                st.prefixes.remove(p);
            }
            self.remove_paths(id, gone);
        }
        let Some(n) = self.peers[id as usize].as_mut() else {
            return;
        };
        if n.cfg.log_updown {
            tracing::warn!(neighbor = %n.cfg.address, peer_as = neg.peer_as, "bgp: BGP peer {} (External AS {}) changed state from OpenConfirm to Established", n.cfg.address, neg.peer_as);
        } else {
            tracing::info!(neighbor = %n.cfg.address, peer_as = neg.peer_as, families = ?neg.families, "bgp: session established");
        }
        self.advertise_all(id);
    }

    fn peer_down(&mut self, id: PeerId, why: &DownReason) {
        if let Some(n) = self.peers[id as usize].as_ref() {
            if n.cfg.log_updown {
                tracing::warn!(neighbor = %n.cfg.address, %why, "bgp: BGP peer {} changed state from Established to Idle", n.cfg.address);
            } else {
                tracing::info!(neighbor = %n.cfg.address, %why, "bgp: session down");
            }
        }
        // Graceful restart helper (RFC 4724 §4.2): a neighbour that announced the capability
        // and whose session ended without a NOTIFICATION is restarting; its routes stay, as
        // stale, for its restart time, and forwarding goes on.
        let restarting = matches!(
            why,
            DownReason::HoldTimerExpired | DownReason::ConnectionClosed | DownReason::PeerRestarted
        );
        let cap = self.peers[id as usize]
            .as_ref()
            .and_then(|n| n.restart_cap.clone())
            .filter(|(t, _)| *t > 0);
        if let (true, Some((time, families))) = (restarting, cap) {
            let mut prefixes: HashSet<IpPrefix> = HashSet::default();
            // The families it did not cover go now.
            let mut others: Vec<IpPrefix> = Vec::new();
            for p in self.prefixes_of(id) {
                if families.contains(&family_of(p)) {
                    prefixes.insert(p);
                } else {
                    others.push(p);
                }
            }
            self.remove_paths(id, others);
            let until = self.now + Duration::from_secs(time.into());
            let n = self.peers[id as usize].as_mut().expect("peer");
            tracing::info!(neighbor = %n.cfg.address, routes = prefixes.len(), restart_time = time, "bgp: neighbor restarting (graceful restart): its routes are kept as stale");
            n.stale = Some(Stale { prefixes, until });
            n.advertised = [0; 2];
            n.local_addr = None;
            return;
        }
        self.drop_paths(id);
        if let Some(n) = self.peers[id as usize].as_mut() {
            n.received = [0; 2];
            n.accepted = [0; 2];
            n.advertised = [0; 2];
            n.local_addr = None;
        }
    }

    /// Removes `id`'s path of each of `prefixes`, a chunk at a time under the RIB's write lock
    /// (a neighbour's full table must not hold the control thread and `show route` off for
    /// the whole walk).
    fn remove_paths(&mut self, id: PeerId, prefixes: Vec<IpPrefix>) {
        let shared = self.rib.clone();
        for chunk in prefixes.chunks(RIB_CHUNK) {
            let mut rib = shared.write();
            for p in chunk {
                self.remove_path(&mut rib, id, *p);
            }
        }
    }

    /// The prefixes `id` has a path for (a walk of the RIB under its read lock).
    fn prefixes_of(&self, id: PeerId) -> Vec<IpPrefix> {
        let mut out = Vec::new();
        each_prefix(&self.rib.read(), |p, paths| {
            if paths.iter().any(|x| x.peer == id) {
                out.push(p);
            }
        });
        out
    }

    /// Removes every path of `id`, and forgets what was sent to it.
    fn drop_paths(&mut self, id: PeerId) {
        let bit = peer_bit(id).unwrap_or(0);
        let keep = |s: &mut u64| {
            *s &= !bit;
            *s != 0
        };
        self.sent.0.retain(|_, s| keep(s));
        self.sent.1.retain(|_, s| keep(s));
        let touched = self.prefixes_of(id);
        self.remove_paths(id, touched);
    }

    /// An UPDATE from an established neighbour.
    fn update(&mut self, id: PeerId, u: Update, now: Instant) {
        let Some(n) = self.peers[id as usize].as_mut() else {
            return;
        };
        for d in &u.discarded {
            tracing::warn!(neighbor = %n.cfg.address, attribute = d.code, why = %d.why, "bgp: malformed attribute discarded (RFC 7606)");
        }
        if let Some(f) = u.end_of_rib {
            if !n.end_of_rib.contains(&f) {
                n.end_of_rib.push(f);
            }
            self.purge_stale(id, Some(f));
            return;
        }
        // One write lock for the message's prefixes (not one per prefix).
        let shared = self.rib.clone();
        let mut rib = shared.write();
        let mut withdrawn = u.withdrawn;
        let mut announced = u.announced;
        if let Some(e) = &u.treat_as_withdraw {
            tracing::warn!(neighbor = %n.cfg.address, attribute = e.code, why = %e.why, prefixes = announced.len(), "bgp: malformed UPDATE: its routes are treated as withdrawn (RFC 7606)");
            withdrawn.append(&mut announced);
        }
        for p in withdrawn {
            self.remove_path(&mut rib, id, p);
        }
        if announced.is_empty() {
            return;
        }
        let Some(attrs) = u.attrs else {
            return;
        };
        let received = self.interner.intern(attrs);
        let n = self.peers[id as usize].as_ref().expect("peer");
        // The neighbour's own checks (RFC 4271 §9.1.2, RFC 4456 §8): a path with our AS in
        // it, or reflected back to us, is dropped as Junos drops it (not even hidden).
        let own_as = self.global.local_as;
        let looped = received.as_path_contains(own_as)
            || received.as_path_contains(n.cfg.local_as)
            || received.originator_id == Some(self.global.router_id)
            // Any cluster this box reflects for (RFC 4456 §8), not only the neighbour's.
            || self
                .peers
                .iter()
                .flatten()
                .filter_map(|p| p.cfg.cluster)
                .any(|c| received.cluster_list.contains(&c));
        let first_as_bad =
            n.cfg.enforce_first_as && !n.cfg.internal && received.first_as() != Some(n.cfg.peer_as);
        if looped || first_as_bad {
            for p in announced {
                self.remove_path(&mut rib, id, p);
            }
            return;
        }
        // Prefix limit: counted before import policy, as Junos does.
        let limit = |f: Family| {
            let u = match f {
                Family::Ipv4Unicast => n.cfg.ipv4.as_ref(),
                Family::Ipv6Unicast => n.cfg.ipv6.as_ref(),
            };
            u.and_then(|u| u.prefix_limit)
        };
        let limits = [limit(Family::Ipv4Unicast), limit(Family::Ipv6Unicast)];
        let chain_empty = n.cfg.import.is_empty();
        let preference = n.cfg.preference;
        for p in announced {
            let accepted = if chain_empty {
                Some((received.clone(), preference))
            } else {
                self.import(id, p, &received)
            };
            self.insert_path(&mut rib, id, p, received.clone(), accepted);
        }
        drop(rib);
        // Enforce the prefix limits.
        for f in [Family::Ipv4Unicast, Family::Ipv6Unicast] {
            let Some(lim) = limits[fam_index(f)] else {
                continue;
            };
            let Some(max) = lim.maximum else { continue };
            let n = self.peers[id as usize].as_mut().expect("peer");
            if n.received[fam_index(f)] > u64::from(max) {
                if lim.teardown.is_some() {
                    tracing::warn!(neighbor = %n.cfg.address, limit = max, "bgp: prefix limit exceeded; closing the session");
                    // Cease, Maximum Number of Prefixes Reached (RFC 4486), with AFI/SAFI
                    // and the limit.
                    let (afi, safi) = f.afi_safi();
                    let mut data = afi.to_be_bytes().to_vec();
                    data.push(safi);
                    data.extend_from_slice(&max.to_be_bytes());
                    n.session.stop(now, Notification::new(6, 1, data));
                    n.session.start(now);
                } else {
                    tracing::warn!(neighbor = %n.cfg.address, limit = max, received = n.received[fam_index(f)], "bgp: prefix limit exceeded");
                }
            }
        }
    }

    /// Runs the import chain on one prefix. None: rejected.
    fn import(
        &mut self,
        id: PeerId,
        p: IpPrefix,
        received: &Arc<PathAttrs>,
    ) -> Option<(Arc<PathAttrs>, u32)> {
        let n = self.peers[id as usize].as_ref()?;
        let nh = next_hop_of(received);
        let hops: Vec<IpAddr> = nh.into_iter().collect();
        let route = RouteIn {
            prefix: savin_policy::Net::new(p.ip(), p.length()),
            protocol: "bgp",
            neighbor: Some(n.cfg.address),
            next_hops: &hops,
            interfaces: &[],
            rib: rib_name(p),
        };
        let mut attrs = to_policy(received, n.cfg.preference);
        let before = attrs.clone();
        let ok = self
            .policies
            .evaluate(&n.cfg.import, Action::Accept, &route, &mut attrs)
            .unwrap_or_else(|e| {
                tracing::warn!(neighbor = %n.cfg.address, %e, "bgp: import policy");
                false
            });
        if !ok {
            return None;
        }
        if attrs == before {
            return Some((received.clone(), attrs.preference));
        }
        let peer_addr = n.cfg.address;
        let out = from_policy(received, &attrs, peer_addr, None);
        let pref = attrs.preference;
        Some((self.interner.intern(out), pref))
    }

    fn insert_path(
        &mut self,
        rib: &mut Rib,
        id: PeerId,
        p: IpPrefix,
        received: Arc<PathAttrs>,
        accepted: Option<(Arc<PathAttrs>, u32)>,
    ) {
        if let Some(st) = self
            .peers
            .get_mut(id as usize)
            .and_then(Option::as_mut)
            .and_then(|n| n.stale.as_mut())
        {
            st.prefixes.remove(&p);
        }
        let fi = fam_index(family_of(p));
        let (acc, preference) = match accepted {
            Some((a, pref)) => (Some(a), pref),
            None => (None, 0),
        };
        let path = self.path_recs.intern(received, acc, id, preference);
        let is_acc = path.accepted.is_some();
        // One lookup of the prefix for all the work: this runs for every prefix received.
        let mut paths = paths_in(rib, p);
        // The same path again (a peer repeating itself) changes nothing.
        if paths.iter().any(|x| x.ptr_eq(&path)) {
            return;
        }
        let peers = &self.peers;
        let before = best_key_of(&paths, peers);
        let old = replace_path(&mut paths, path);
        RankCtx { peers }.order(&mut paths);
        let changed = best_key_of(&paths, peers) != before;
        self.write_paths(rib, p, &paths);
        let n = self.peers[id as usize].as_mut().expect("peer");
        match old {
            None => {
                n.received[fi] += 1;
                n.accepted[fi] += u64::from(is_acc);
            }
            Some(was_acc) => {
                n.accepted[fi] = n.accepted[fi] + u64::from(is_acc) - u64::from(was_acc);
            }
        }
        if changed {
            self.mark(p);
        }
    }

    /// Hands the RIB `p`'s paths in BGP's order, as its BGP candidates (source id i for the
    /// i-th path, its record as the candidate's data): the best path through its next hop
    /// and, under `multipath`, its equal-cost siblings' too; each other accepted path through
    /// its own (the RIB's backups: when the best path's next hop cannot carry traffic, the
    /// next one does at once, as on Junos); a path import policy rejected with none (kept,
    /// hidden, as Junos keeps it).
    fn write_paths(&mut self, rib: &mut Rib, p: IpPrefix, paths: &[Path]) {
        let ctx = RankCtx { peers: &self.peers };
        let mp = paths
            .first()
            .filter(|b| b.accepted.is_some())
            .and_then(|b| ctx.peer_cfg(b.peer))
            .and_then(|c| c.multipath.as_ref());
        let mut vias: SmallVec<[SmallVec<[IpAddr; 2]>; 2]> = SmallVec::new();
        for (i, x) in paths.iter().enumerate() {
            let mut hops: SmallVec<[IpAddr; 2]> = SmallVec::new();
            if let Some(h) = x.accepted.as_ref().and_then(|a| next_hop_of(a)) {
                hops.push(h);
            }
            if let (0, Some(m)) = (i, mp) {
                for o in paths.iter().skip(1).take_while(|o| o.accepted.is_some()) {
                    if ctx.multipath_equal(x, o, m.multiple_as.0) {
                        if let Some(h) = o.accepted.as_ref().and_then(|a| next_hop_of(a)) {
                            if !hops.contains(&h) {
                                hops.push(h);
                            }
                        }
                    }
                }
            }
            vias.push(hops);
        }
        let preference = |x: &Path| match x.accepted {
            Some(_) => x.preference,
            // Rejected: shown hidden at the neighbour's preference.
            None => ctx.peer_cfg(x.peer).map_or(170, |c| c.preference),
        };
        rib.replace_via_with(
            p,
            Protocol::Bgp,
            paths
                .iter()
                .zip(&vias)
                .enumerate()
                .map(|(i, (x, v))| (preference(x), i as u32, &v[..], Some(x.0.clone()))),
        );
        self.rib_written = true;
    }

    fn remove_path(&mut self, rib: &mut Rib, id: PeerId, p: IpPrefix) {
        let mut paths = paths_in(rib, p);
        let Some(i) = paths.iter().position(|x| x.peer == id) else {
            return;
        };
        let before = best_key_of(&paths, &self.peers);
        let was_acc = paths.remove(i).accepted.is_some();
        self.write_paths(rib, p, &paths);
        let fi = fam_index(family_of(p));
        if let Some(n) = self.peers[id as usize].as_mut() {
            n.received[fi] = n.received[fi].saturating_sub(1);
            n.accepted[fi] = n.accepted[fi].saturating_sub(u64::from(was_acc));
        }
        if best_key_of(&paths, &self.peers) != before {
            self.best_changed(rib, p);
        }
    }

    /// Applies import policy again to every path of `id`, from the attributes as received.
    fn reimport(&mut self, id: PeerId) {
        let mut keys: Vec<(IpPrefix, Arc<PathAttrs>)> = Vec::new();
        each_prefix(&self.rib.read(), |p, paths| {
            if let Some(x) = paths.iter().find(|x| x.peer == id) {
                keys.push((p, x.received.clone()));
            }
        });
        let Some(n) = self.peers[id as usize].as_ref() else {
            return;
        };
        let chain_empty = n.cfg.import.is_empty();
        let preference = n.cfg.preference;
        let shared = self.rib.clone();
        for chunk in keys.chunks(RIB_CHUNK) {
            let mut rib = shared.write();
            for (p, received) in chunk {
                let accepted = if chain_empty {
                    Some((received.clone(), preference))
                } else {
                    self.import(id, *p, received)
                };
                self.insert_path(&mut rib, id, *p, received.clone(), accepted);
            }
        }
    }

    /// The best path of `p` may have changed: mark it for export.
    fn best_changed(&mut self, rib: &Rib, p: IpPrefix) {
        // No path left: a "nothing active" mark for it means nothing now.
        if !has_paths(rib, p) && self.others.get(&p) == Some(&None) {
            self.others.remove(&p);
        }
        self.mark(p);
    }

    fn mark(&mut self, p: IpPrefix) {
        self.dirty.push(p);
    }

    /// Sends each changed prefix to every established neighbour.
    fn export_dirty(&mut self) {
        if self.dirty.is_empty() {
            return;
        }
        // Sorted and without repeats, rather than a set beside the list: a full table's
        // set kept its capacity (tens of megabytes) after every export.
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        let ids: Vec<PeerId> = self
            .neighbors()
            .filter(|(_, n)| n.session.established().is_some())
            .map(|(i, _)| i)
            .collect();
        if ids.is_empty() {
            return;
        }
        // Each prefix's best path read once, for every neighbour.
        let bests = self.bests(&dirty);
        for id in ids {
            self.send_prefixes(id, &dirty, &bests, &[]);
        }
    }

    /// BGP's best path of each prefix (its candidate 0), from one read of the RIB.
    fn bests(&self, prefixes: &[IpPrefix]) -> Vec<Option<Path>> {
        let rib = self.rib.read();
        prefixes
            .iter()
            .map(|p| {
                rib.protocol_candidate(*p, Protocol::Bgp, 0)
                    .and_then(Path::of)
            })
            .collect()
    }

    /// Sends the whole table to `id` (session up, route refresh, export policy change),
    /// then End-of-RIB.
    fn advertise_all(&mut self, id: PeerId) {
        let all = self.all_prefixes_for(id);
        if let Some(n) = self.peers[id as usize].as_mut() {
            n.advertised = [0; 2];
        }
        let bests = self.bests(&all);
        self.send_prefixes(
            id,
            &all,
            &bests,
            &[Family::Ipv4Unicast, Family::Ipv6Unicast],
        );
    }

    /// A ROUTE-REFRESH for one family: that family's table again, with its End-of-RIB.
    fn advertise_family(&mut self, id: PeerId, f: Family) {
        let mut all = self.all_prefixes_for(id);
        all.retain(|p| family_of(*p) == f);
        if let Some(n) = self.peers[id as usize].as_mut() {
            n.advertised[fam_index(f)] = 0;
        }
        let bests = self.bests(&all);
        self.send_prefixes(id, &all, &bests, &[f]);
    }

    /// Sends what `id` gets for `prefixes` (whose best paths are `bests`), then End-of-RIB
    /// for the families in `eor`.
    fn send_prefixes(
        &mut self,
        id: PeerId,
        prefixes: &[IpPrefix],
        bests: &[Option<Path>],
        eor: &[Family],
    ) {
        let Some(n) = self.peers[id as usize].as_ref() else {
            return;
        };
        let Some(neg) = n.session.negotiated().cloned() else {
            return;
        };
        // Grouped by the attributes sent, so one UPDATE carries many prefixes.
        // Interned sets are equal exactly when their pointers are.
        let mut groups: HashMap<usize, (Arc<PathAttrs>, Vec<IpPrefix>)> = HashMap::default();
        let mut withdraw: Vec<IpPrefix> = Vec::new();
        for (&p, best) in prefixes.iter().zip(bests) {
            if !neg.families.contains(&family_of(p)) {
                continue;
            }
            let exported = self.export(id, p, best.as_ref());
            let was_sent = self.set_sent(p, id, exported.is_some());
            match exported {
                Some(a) => groups
                    .entry(Arc::as_ptr(&a) as usize)
                    .or_insert_with(|| (a, Vec::new()))
                    .1
                    .push(p),
                // Withdrawn only where it was announced (after a policy change, a full
                // advertisement withdraws what the new policy no longer exports).
                None if was_sent => withdraw.push(p),
                None => {}
            }
        }
        let mut bytes = Vec::new();
        let mut count = 0u64;
        let mut sent = [0u64; 2];
        let mut too_big: Vec<IpPrefix> = Vec::new();
        for f in [Family::Ipv4Unicast, Family::Ipv6Unicast] {
            let w: Vec<IpPrefix> = withdraw
                .iter()
                .copied()
                .filter(|p| family_of(*p) == f)
                .collect();
            if !w.is_empty() {
                let before = bytes.len();
                packet::encode_withdraw(f, &w, &mut bytes);
                count += count_messages(&bytes[before..]);
                let n = self.peers[id as usize].as_mut().expect("peer");
                n.advertised[fam_index(f)] =
                    n.advertised[fam_index(f)].saturating_sub(w.len() as u64);
            }
            for (attrs, ps) in groups.values() {
                let ps: Vec<IpPrefix> = ps.iter().copied().filter(|p| family_of(*p) == f).collect();
                if ps.is_empty() {
                    continue;
                }
                let before = bytes.len();
                if packet::encode_announce(f, attrs, &ps, &neg.encode, &mut bytes) == 0 {
                    // The attributes do not fit in a message (a long path after our
                    // prepend): the neighbour must not keep an older announcement.
                    tracing::warn!(neighbor = %neg.peer_id, prefixes = ps.len(), "bgp: attributes too large to send; withdrawing instead");
                    too_big.extend(ps.iter().copied());
                    continue;
                }
                sent[fam_index(f)] += ps.len() as u64;
                count += count_messages(&bytes[before..]);
            }
            let big: Vec<IpPrefix> = too_big
                .iter()
                .copied()
                .filter(|p| family_of(*p) == f)
                .collect();
            if !big.is_empty() {
                let before = bytes.len();
                packet::encode_withdraw(f, &big, &mut bytes);
                count += count_messages(&bytes[before..]);
            }
            if eor.contains(&f) && neg.families.contains(&f) {
                let before = bytes.len();
                packet::encode_end_of_rib(f, &mut bytes);
                count += count_messages(&bytes[before..]);
            }
        }
        let n = self.peers[id as usize].as_mut().expect("peer");
        for (adv, sent) in n.advertised.iter_mut().zip(sent) {
            *adv += sent;
        }
        if !bytes.is_empty() {
            n.session.send_updates(bytes, count, self.now);
        }
    }

    /// Records whether `p` is announced to `id` now; returns whether it was (always true past
    /// the 64 neighbours the bits cover).
    fn set_sent(&mut self, p: IpPrefix, id: PeerId, now: bool) -> bool {
        let Some(bit) = peer_bit(id) else {
            return true;
        };
        fn flip<K: std::hash::Hash + Eq>(
            t: &mut HashMap<K, u64>,
            k: K,
            bit: u64,
            now: bool,
        ) -> bool {
            if now {
                let e = t.entry(k).or_default();
                let was = *e & bit != 0;
                *e |= bit;
                was
            } else {
                let Some(e) = t.get_mut(&k) else {
                    return false;
                };
                let was = *e & bit != 0;
                *e &= !bit;
                if *e == 0 {
                    t.remove(&k);
                }
                was
            }
        }
        match p {
            IpPrefix::V4(k) => flip(&mut self.sent.0, k, bit, now),
            IpPrefix::V6(k) => flip(&mut self.sent.1, k, bit, now),
        }
    }

    /// What neighbour `id` gets for `p`: the attributes to send, or None (withdraw).
    fn export(&mut self, id: PeerId, p: IpPrefix, best: Option<&Path>) -> Option<Arc<PathAttrs>> {
        let to = self.peers[id as usize].as_ref()?;
        let local = to.local_addr?;
        // The route to advertise: BGP's best when it is the active route, else another
        // protocol's active route.
        let other = self.others.get(&p);
        let (base, protocol, from_peer, hops, ifs): (
            PathAttrs,
            &'static str,
            Option<&Neighbor>,
            Vec<IpAddr>,
            Vec<String>,
        ) = match other {
            Some(Some(a)) => (
                PathAttrs::default(),
                a.protocol,
                None,
                a.next_hops.clone(),
                a.interfaces.clone(),
            ),
            Some(None) => return None,
            None => {
                let best = best?;
                let attrs = best.accepted.as_ref()?;
                let src = self.neighbor(best.peer)?;
                if best.peer == id {
                    return None;
                }
                // iBGP to iBGP only through a route reflector (RFC 4456): a client's route
                // goes to everyone, a non-client's to clients only.
                if src.cfg.internal && to.cfg.internal {
                    let reflector = src.cfg.cluster.is_some() || to.cfg.cluster.is_some();
                    if !reflector {
                        return None;
                    }
                }
                let c = &attrs.communities;
                let no_export = c.contains(&NO_EXPORT) || c.contains(&NO_EXPORT_SUBCONFED);
                if c.contains(&NO_ADVERTISE) || (no_export && !to.cfg.internal) {
                    return None;
                }
                // Junos does not send a path to a neighbour whose AS is in it.
                if !to.cfg.internal && attrs.as_path_contains(to.cfg.peer_as) {
                    return None;
                }
                let hops = next_hop_of(attrs).into_iter().collect();
                ((**attrs).clone(), "bgp", Some(src), hops, Vec::new())
            }
        };
        let route = RouteIn {
            prefix: savin_policy::Net::new(p.ip(), p.length()),
            protocol,
            neighbor: from_peer.map(|n| n.cfg.address),
            next_hops: &hops,
            interfaces: &ifs,
            rib: rib_name(p),
        };
        let mut pa = to_policy(&base, 0);
        let before = pa.clone();
        // BGP exports its own active routes; anything else only where a policy says so.
        let default = if from_peer.is_some() {
            Action::Accept
        } else {
            Action::Reject
        };
        let ok = self
            .policies
            .evaluate(&to.cfg.export, default, &route, &mut pa)
            .unwrap_or_else(|e| {
                tracing::warn!(neighbor = %to.cfg.address, %e, "bgp: export policy");
                false
            });
        if !ok {
            return None;
        }
        let mut out = from_policy(&base, &pa, to.cfg.address, Some(local));
        // What every advertisement changes (RFC 4271 §5.1, RFC 4456 §8).
        if to.cfg.internal {
            out.local_pref = Some(if pa.local_preference != before.local_preference {
                pa.local_preference
            } else {
                to.cfg
                    .local_preference
                    .or(base.local_pref)
                    .unwrap_or(DEFAULT_LOCAL_PREF)
            });
            match from_peer {
                Some(src) if src.cfg.internal => {
                    let cluster = to.cfg.cluster.or(src.cfg.cluster);
                    if let Some(c) = cluster {
                        if out.originator_id.is_none() {
                            out.originator_id = src.session.negotiated().map(|g| g.peer_id);
                        }
                        out.cluster_list.insert(0, c);
                    }
                }
                // A route from outside or from this box: next hop self when it has none.
                None => set_next_hop(&mut out, p, local),
                Some(_) => {}
            }
            if pa.next_hop == NextHopAction::Myself {
                set_next_hop(&mut out, p, local);
            }
        } else {
            out.local_pref = None;
            out.originator_id = None;
            out.cluster_list.clear();
            // MED is not passed from one neighbouring AS to another (RFC 4271 §5.1.4),
            // unless policy or metric-out set it.
            if pa.metric == before.metric {
                out.med = None;
            }
            let prepend = to.cfg.local_as;
            prepend_as(&mut out, prepend);
            if to.cfg.local_as != self.global.local_as {
                // local-as: the global AS goes in too, as Junos does by default.
                insert_after_first(&mut out, self.global.local_as);
            }
            set_next_hop(&mut out, p, local);
        }
        if let Some(m) = to.cfg.metric_out {
            out.med = Some(m);
        }
        if let NextHopAction::Address(a) = pa.next_hop {
            set_next_hop(&mut out, p, a);
        }
        Some(self.interner.intern(out))
    }

    /// Every prefix's paths, for `show route protocol bgp` and `receive-protocol`:
    /// (prefix, neighbour, received, accepted, preference, best).
    pub fn for_each_path(
        &self,
        mut f: impl FnMut(IpPrefix, PeerId, &PathAttrs, Option<&PathAttrs>, u32, bool),
    ) {
        each_prefix(&self.rib.read(), |p, paths| {
            for (i, x) in paths.iter().enumerate() {
                f(
                    p,
                    x.peer,
                    &x.received,
                    x.accepted.as_deref(),
                    x.preference,
                    i == 0 && x.accepted.is_some(),
                );
            }
        });
    }

    /// What a full advertisement to `id` covers: every prefix there is something to say
    /// about, and those it was sent that have nothing left (withdrawn now; its bit cleared).
    fn all_prefixes_for(&self, id: PeerId) -> Vec<IpPrefix> {
        let mut all = self.all_prefixes();
        if let Some(bit) = peer_bit(id) {
            let n = all.len();
            all.extend(
                self.sent
                    .0
                    .iter()
                    .filter(|(_, s)| **s & bit != 0)
                    .map(|(k, _)| IpPrefix::V4(*k)),
            );
            all.extend(
                self.sent
                    .1
                    .iter()
                    .filter(|(_, s)| **s & bit != 0)
                    .map(|(k, _)| IpPrefix::V6(*k)),
            );
            if all.len() > n {
                all.sort_unstable();
                all.dedup();
            }
        }
        all
    }

    /// Every prefix there is something to say about: BGP's and other protocols' active
    /// routes (each once).
    fn all_prefixes(&self) -> Vec<IpPrefix> {
        let rib = self.rib.read();
        let mut all: Vec<IpPrefix> = Vec::new();
        each_prefix(&rib, |p, _| all.push(p));
        all.extend(
            self.others
                .iter()
                .filter(|(p, a)| a.is_some() && !has_paths(&rib, **p))
                .map(|(p, _)| *p),
        );
        all
    }

    /// What `show route detail` says about BGP's candidates for `p`, in their order (the
    /// i-th for candidate id i: the best, then the others, rejected ones last).
    pub fn notes(&self, p: IpPrefix) -> Vec<crate::northbound::Notes> {
        let paths = paths_in(&self.rib.read(), p);
        paths
            .iter()
            .map(|x| {
                let a = x.accepted.as_deref().unwrap_or(&x.received);
                let n = self.neighbor(x.peer);
                let source = n.map(|n| n.cfg.address.to_string()).unwrap_or_default();
                let peer_as = n.map_or(0, |n| n.cfg.peer_as);
                let local_as = n.map_or(0, |n| n.cfg.local_as);
                let router_id = n
                    .and_then(|n| n.session.negotiated().map(|g| g.peer_id))
                    .map(|i| i.to_string())
                    .unwrap_or_default();
                let path = crate::northbound::path_text(a, 0);
                let communities: Vec<String> = a
                    .communities
                    .iter()
                    .map(|c| Community(*c).to_string())
                    .chain(
                        a.large_communities
                            .iter()
                            .map(|l| Large(l[0], l[1], l[2]).to_string()),
                    )
                    .collect();
                let lp = a.local_pref.unwrap_or(DEFAULT_LOCAL_PREF);
                let mut text = vec![
                    format!("Source: {source}"),
                    format!("Local AS: {local_as} Peer AS: {peer_as}"),
                    format!("AS path: {path}"),
                ];
                if !communities.is_empty() {
                    text.push(format!("Communities: {}", communities.join(" ")));
                }
                if let Some(m) = a.med {
                    text.push(format!("Metric: {m}"));
                }
                text.push(format!("Localpref: {lp}"));
                text.push(format!("Router ID: {router_id}"));
                let json = vec![
                    ("learned-from".to_string(), serde_json::json!(source)),
                    ("local-as".to_string(), serde_json::json!(local_as)),
                    ("peer-as".to_string(), serde_json::json!(peer_as)),
                    ("as-path".to_string(), serde_json::json!(path)),
                    (
                        "communities".to_string(),
                        serde_json::json!({ "community": communities }),
                    ),
                    ("local-preference".to_string(), serde_json::json!(lp)),
                    ("med".to_string(), serde_json::json!(a.med)),
                    ("peer-id".to_string(), serde_json::json!(router_id)),
                ];
                (text, json)
            })
            .collect()
    }

    /// What `id` is sent for each prefix (`show route advertising-protocol bgp A`).
    pub fn advertised_to(&mut self, id: PeerId) -> Vec<(IpPrefix, Arc<PathAttrs>)> {
        let all = self.all_prefixes();
        let fams = self
            .neighbor(id)
            .and_then(|n| n.session.negotiated())
            .map(|n| n.families.clone())
            .unwrap_or_default();
        let all: Vec<IpPrefix> = all
            .into_iter()
            .filter(|p| fams.contains(&family_of(*p)))
            .collect();
        let bests = self.bests(&all);
        all.into_iter()
            .zip(bests)
            .filter_map(|(p, best)| Some((p, self.export(id, p, best.as_ref())?)))
            .collect()
    }

    /// The state of every neighbour's session.
    pub fn states(&self) -> Vec<(IpAddr, State)> {
        self.neighbors()
            .map(|(_, n)| (n.cfg.address, n.session.state()))
            .collect()
    }
}

/// The best path (neighbour, attributes, preference) and a fingerprint of the paths that
/// share the forwarding with it under multipath.
type BestKey = (PeerId, usize, u32, u64);

/// What the RIB and the neighbours see of a prefix. No allocation: this runs twice for every
/// prefix an UPDATE carries.
fn best_key_of(paths: &Paths, peers: &[Option<Neighbor>]) -> Option<BestKey> {
    let best = paths.first()?;
    let acc = best.accepted.as_ref()?;
    let mut siblings = 0u64;
    let n = peers.get(best.peer as usize)?.as_ref()?;
    if let Some(mp) = n.cfg.multipath.as_ref() {
        let ctx = RankCtx { peers };
        for o in paths.iter().skip(1) {
            let Some(oa) = o.accepted.as_ref() else { break };
            if !ctx.multipath_equal(best, o, mp.multiple_as.0) {
                continue;
            }
            siblings = siblings
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(Arc::as_ptr(oa) as u64 ^ u64::from(o.peer));
        }
    }
    Some((
        best.peer,
        Arc::as_ptr(acc) as usize,
        best.preference,
        siblings,
    ))
}

/// The route the RIB gets for a prefix: the best accepted path, with its equal-cost peers
/// under `multipath`.
fn rib_route_of(paths: &Paths, peers: &[Option<Neighbor>]) -> Option<RibRoute> {
    let best = paths.first().filter(|x| x.accepted.is_some())?;
    let attrs = best.accepted.as_ref()?;
    let mut hops: Vec<IpAddr> = next_hop_of(attrs).into_iter().collect();
    let n = peers.get(best.peer as usize)?.as_ref()?;
    if let Some(mp) = &n.cfg.multipath {
        let ctx = RankCtx { peers };
        for other in paths.iter().skip(1) {
            if other.accepted.is_none() {
                break;
            }
            if !ctx.multipath_equal(best, other, mp.multiple_as.0) {
                continue;
            }
            if let Some(h) = other.accepted.as_ref().and_then(|a| next_hop_of(a)) {
                if !hops.contains(&h) {
                    hops.push(h);
                }
            }
        }
    }
    if hops.is_empty() {
        return None;
    }
    Some(RibRoute {
        preference: best.preference,
        metric: attrs.med.unwrap_or(0),
        next_hops: hops,
    })
}

/// The accepted paths after the best one (and after those sharing its forwarding under
/// multipath), each as a route of its own, best first.
fn backups_of(paths: &Paths, peers: &[Option<Neighbor>]) -> Vec<RibRoute> {
    let Some(best) = paths.first().filter(|x| x.accepted.is_some()) else {
        return Vec::new();
    };
    let mp = peers
        .get(best.peer as usize)
        .and_then(Option::as_ref)
        .and_then(|n| n.cfg.multipath.as_ref());
    let ctx = RankCtx { peers };
    paths
        .iter()
        .skip(1)
        .take_while(|x| x.accepted.is_some())
        .filter(|x| !mp.is_some_and(|m| ctx.multipath_equal(best, x, m.multiple_as.0)))
        .filter_map(|x| {
            let a = x.accepted.as_ref()?;
            Some(RibRoute {
                preference: x.preference,
                metric: a.med.unwrap_or(0),
                next_hops: vec![next_hop_of(a)?],
            })
        })
        .collect()
}

/// An IPv4-mapped IPv6 address (an IPv4 peer on a dual-stack socket) as the IPv4 address.
pub fn canonical(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        a => a,
    }
}

fn rib_name(p: IpPrefix) -> &'static str {
    match p {
        IpPrefix::V4(_) => "inet.0",
        IpPrefix::V6(_) => "inet6.0",
    }
}

/// How many messages `bytes` holds (each carries its length at offset 16).
fn count_messages(mut bytes: &[u8]) -> u64 {
    let mut n = 0;
    while bytes.len() >= packet::HEADER_LEN {
        let len = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
        if len < packet::HEADER_LEN || len > bytes.len() {
            break;
        }
        n += 1;
        bytes = &bytes[len..];
    }
    n
}

/// The path's next hop: NEXT_HOP for IPv4, MP_REACH_NLRI's global address for IPv6 (or the
/// IPv4 address MP_REACH carried).
pub fn next_hop_of(a: &PathAttrs) -> Option<IpAddr> {
    match &a.mp_next_hop {
        Some(MpNextHop::V6 { global, .. }) => Some(IpAddr::V6(*global)),
        Some(MpNextHop::V4(v4)) => Some(IpAddr::V4(*v4)),
        None => a.next_hop.map(IpAddr::V4),
    }
}

fn set_next_hop(a: &mut PathAttrs, p: IpPrefix, nh: IpAddr) {
    match (p, nh) {
        (IpPrefix::V4(_), IpAddr::V4(v4)) => {
            a.next_hop = Some(v4);
            a.mp_next_hop = None;
        }
        (IpPrefix::V6(_), IpAddr::V6(v6)) => {
            a.next_hop = None;
            a.mp_next_hop = Some(MpNextHop::V6 {
                global: v6,
                link_local: None,
            });
        }
        (IpPrefix::V6(_), IpAddr::V4(v4)) => {
            // An IPv6 route over an IPv4 session: the IPv4-mapped address (RFC 4798 §2 does
            // this for 6PE; the peer must be told a usable address by policy otherwise).
            a.next_hop = None;
            a.mp_next_hop = Some(MpNextHop::V6 {
                global: v4.to_ipv6_mapped(),
                link_local: None,
            });
        }
        (IpPrefix::V4(_), IpAddr::V6(_)) => {}
    }
}

fn prepend_as(a: &mut PathAttrs, asn: u32) {
    match a.as_path.first_mut() {
        Some(s) if s.kind == SegmentKind::Sequence && s.asns.len() < 255 => s.asns.insert(0, asn),
        _ => a.as_path.insert(
            0,
            Segment {
                kind: SegmentKind::Sequence,
                asns: vec![asn],
            },
        ),
    }
}

fn insert_after_first(a: &mut PathAttrs, asn: u32) {
    if let Some(s) = a.as_path.first_mut() {
        if s.kind == SegmentKind::Sequence && s.asns.len() < 255 {
            s.asns.insert(1.min(s.asns.len()), asn);
        }
    }
}

/// The attributes a policy reads.
fn to_policy(a: &PathAttrs, preference: u32) -> Attrs {
    Attrs {
        preference,
        metric: a.med.unwrap_or(0),
        local_preference: a.local_pref.unwrap_or(DEFAULT_LOCAL_PREF),
        communities: a.communities.iter().map(|c| Community(*c)).collect(),
        large_communities: a
            .large_communities
            .iter()
            .map(|l| Large(l[0], l[1], l[2]))
            .collect(),
        as_path: a.as_path_flat(),
        origin: match a.origin {
            Origin::Igp => savin_policy::Origin::Igp,
            Origin::Egp => savin_policy::Origin::Egp,
            Origin::Incomplete => savin_policy::Origin::Incomplete,
        },
        next_hop: NextHopAction::Keep,
    }
}

/// `base` with what the policy changed in `p`. `peer` is the neighbour (next-hop peer-address);
/// `local`, our address to it (next-hop self on export).
fn from_policy(base: &PathAttrs, p: &Attrs, peer: IpAddr, local: Option<IpAddr>) -> PathAttrs {
    let mut a = base.clone();
    let orig = to_policy(base, p.preference);
    if p.metric != orig.metric {
        a.med = Some(p.metric);
    }
    if p.local_preference != orig.local_preference {
        a.local_pref = Some(p.local_preference);
    }
    if p.communities != orig.communities {
        a.communities = p.communities.iter().map(|c| c.0).collect();
    }
    if p.large_communities != orig.large_communities {
        a.large_communities = p
            .large_communities
            .iter()
            .map(|l| [l.0, l.1, l.2])
            .collect();
    }
    if p.as_path.len() > orig.as_path.len() && p.as_path.ends_with(&orig.as_path) {
        let added = p.as_path.len() - orig.as_path.len();
        for asn in p.as_path[..added].iter().rev() {
            prepend_as(&mut a, *asn);
        }
    }
    if p.origin != orig.origin {
        a.origin = match p.origin {
            savin_policy::Origin::Igp => Origin::Igp,
            savin_policy::Origin::Egp => Origin::Egp,
            savin_policy::Origin::Incomplete => Origin::Incomplete,
        };
    }
    match p.next_hop {
        NextHopAction::Peer => {
            let v = next_hop_family(&a);
            set_nh_keep_family(&mut a, v, peer);
        }
        NextHopAction::Myself => {
            if let Some(l) = local {
                let v = next_hop_family(&a);
                set_nh_keep_family(&mut a, v, l);
            }
        }
        _ => {}
    }
    a
}

fn next_hop_family(a: &PathAttrs) -> bool {
    matches!(a.mp_next_hop, Some(MpNextHop::V6 { .. }))
}

fn set_nh_keep_family(a: &mut PathAttrs, v6: bool, nh: IpAddr) {
    match (v6, nh) {
        (false, IpAddr::V4(v4)) => a.next_hop = Some(v4),
        (true, IpAddr::V6(v6a)) => {
            a.mp_next_hop = Some(MpNextHop::V6 {
                global: v6a,
                link_local: None,
            })
        }
        _ => {}
    }
}

/// Replaces `path`'s neighbour's path in `paths` (or adds it). Some(whether the old one was
/// accepted) when there was one.
fn replace_path(paths: &mut Paths, path: Path) -> Option<bool> {
    if let Some(x) = paths.iter_mut().find(|x| x.peer == path.peer) {
        let was = x.accepted.is_some();
        *x = path;
        Some(was)
    } else {
        paths.push(path);
        None
    }
}

/// Whether BGP has a path for `p`.
fn has_paths(rib: &Rib, p: IpPrefix) -> bool {
    !rib.protocol_candidates(p, Protocol::Bgp).is_empty()
}

#[derive(Debug, Clone)]
struct PeerRank {
    internal: bool,
    address: IpAddr,
    id: Ipv4Addr,
    local_as: u32,
}

/// A path's record and its neighbour's rank, as a comparison takes them.
type Ranked<'a> = (&'a PathRec, Option<&'a PeerRank>);

/// What path selection needs to know about the neighbours.
struct RankCtx<'a> {
    peers: &'a [Option<Neighbor>],
}

impl<'a> RankCtx<'a> {
    fn peer_cfg(&self, id: PeerId) -> Option<&'a Peer> {
        Some(&self.peers.get(id as usize)?.as_ref()?.cfg)
    }

    fn peer(&self, id: PeerId) -> Option<PeerRank> {
        let n = self.peers.get(id as usize)?.as_ref()?;
        Some(PeerRank {
            internal: n.cfg.internal,
            address: n.cfg.address,
            id: n
                .session
                .negotiated()
                .map_or(Ipv4Addr::UNSPECIFIED, |g| g.peer_id),
            local_as: n.cfg.local_as,
        })
    }

    /// `path-selection always-compare-med` (a `protocols bgp` statement: any neighbour
    /// carrying it means the whole speaker).
    fn always_compare_med(&self) -> bool {
        self.peers
            .iter()
            .flatten()
            .any(|n| n.cfg.always_compare_med)
    }

    /// The AS a path came from, for MED comparison (our own for internal paths without one).
    fn neighbor_as(&self, p: &PathRec) -> u32 {
        let attrs = p.accepted.as_deref();
        attrs
            .and_then(PathAttrs::first_as)
            .or_else(|| self.peer(p.peer).map(|r| r.local_as))
            .unwrap_or(0)
    }

    /// Junos' active path selection (RFC 4271 §9.1.2.2 plus Junos' tie-breakers), MED
    /// compared when `med`: Less is better, rejected paths last. With `med` it is a total
    /// order only among paths from one neighbouring AS (or under always-compare-med).
    fn compare_with(
        &self,
        (a, pa): Ranked<'_>,
        (b, pb): Ranked<'_>,
        med: bool,
    ) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        let (Some(x), Some(y)) = (&a.accepted, &b.accepted) else {
            return b.accepted.is_some().cmp(&a.accepted.is_some());
        };
        let lp = |p: &PathAttrs| p.local_pref.unwrap_or(DEFAULT_LOCAL_PREF);
        let med = if med {
            x.med.unwrap_or(0).cmp(&y.med.unwrap_or(0))
        } else {
            Ordering::Equal
        };
        let internal = |r: Option<&PeerRank>| r.is_some_and(|r| r.internal);
        let router_id = |p: &PathAttrs, r: Option<&PeerRank>| {
            u32::from(
                p.originator_id
                    .unwrap_or(r.map_or(Ipv4Addr::UNSPECIFIED, |r| r.id)),
            )
        };
        a.preference
            .cmp(&b.preference)
            .then(lp(y).cmp(&lp(x)))
            .then(x.as_path_len().cmp(&y.as_path_len()))
            .then(x.origin.to_u8().cmp(&y.origin.to_u8()))
            .then(med)
            .then(internal(pa).cmp(&internal(pb)))
            .then(router_id(x, pa).cmp(&router_id(y, pb)))
            .then(x.cluster_list.len().cmp(&y.cluster_list.len()))
            .then(pa.map(|r| r.address).cmp(&pb.map(|r| r.address)))
    }

    /// Orders a prefix's paths, the active one first. MED only compares paths from the same
    /// neighbouring AS, which no single sort comparator can express (it would not be a
    /// total order: the result would depend on arrival order, and `sort_by` may panic), so
    /// this is Junos' deterministic MED: the paths are sorted without MED, the best of each
    /// neighbouring AS is found with MED, and the best of those winners (without MED) goes
    /// first.
    fn order(&self, paths: &mut Paths) {
        if paths.len() < 2 {
            return;
        }
        // Each path's record and its neighbour's rank read once (a sort reads them at every
        // comparison), then the paths put in the order found.
        let perm = {
            let recs: SmallVec<[(&PathRec, Option<PeerRank>); 8]> = paths
                .iter()
                .map(|p| {
                    let r: &PathRec = p;
                    (r, self.peer(r.peer))
                })
                .collect();
            let at = |i: usize| (recs[i].0, recs[i].1.as_ref());
            let mut idx: SmallVec<[usize; 8]> = (0..recs.len()).collect();
            let acm = self.always_compare_med();
            idx.sort_by(|&i, &j| self.compare_with(at(i), at(j), acm));
            if !acm {
                let accepted = idx
                    .iter()
                    .take_while(|&&i| recs[i].0.accepted.is_some())
                    .count();
                // (neighbouring AS, position of its best path)
                let mut winners: SmallVec<[(u32, usize); 8]> = SmallVec::new();
                for k in 0..accepted {
                    let asn = self.neighbor_as(recs[idx[k]].0);
                    match winners.iter_mut().find(|(a, _)| *a == asn) {
                        Some((_, w)) => {
                            if self.compare_with(at(idx[k]), at(idx[*w]), true)
                                == std::cmp::Ordering::Less
                            {
                                *w = k;
                            }
                        }
                        None => winners.push((asn, k)),
                    }
                }
                let best = winners
                    .iter()
                    .map(|(_, k)| *k)
                    .min_by(|&k, &l| {
                        self.compare_with(at(idx[k]), at(idx[l]), false)
                            .then(k.cmp(&l))
                    })
                    .unwrap_or(0);
                // The best to the front, the others in their order.
                idx[..=best].rotate_right(1);
            }
            idx
        };
        let old = std::mem::take(paths);
        paths.extend(perm.iter().map(|&i| old[i].clone()));
    }

    /// Whether `b` may share the forwarding with the best path `a` (`multipath`): equal up
    /// to the IGP metric, and from the same neighbouring AS unless `multiple-as`.
    fn multipath_equal(&self, a: &PathRec, b: &PathRec, multiple_as: bool) -> bool {
        let (Some(x), Some(y)) = (&a.accepted, &b.accepted) else {
            return false;
        };
        let (pa, pb) = (self.peer(a.peer), self.peer(b.peer));
        let lp = |p: &PathAttrs| p.local_pref.unwrap_or(DEFAULT_LOCAL_PREF);
        a.preference == b.preference
            && lp(x) == lp(y)
            && x.as_path_len() == y.as_path_len()
            && x.origin == y.origin
            && x.med.unwrap_or(0) == y.med.unwrap_or(0)
            && pa.map(|r| r.internal) == pb.map(|r| r.internal)
            && (multiple_as || x.first_as() == y.first_as())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(med: u32) -> PathAttrs {
        PathAttrs {
            med: Some(med),
            ..PathAttrs::default()
        }
    }

    #[test]
    fn equal_paths_are_one_record_and_swept_when_no_prefix_holds_them() {
        let mut sets = Interner::default();
        let mut recs = PathInterner::default();
        let a = sets.intern(attrs(1));
        let x = recs.intern(a.clone(), Some(a.clone()), 3, 170);
        let y = recs.intern(sets.intern(attrs(1)), Some(a.clone()), 3, 170);
        assert!(Arc::ptr_eq(&x.0, &y.0));
        let z = recs.intern(a.clone(), None, 3, 170);
        assert!(!Arc::ptr_eq(&x.0, &z.0), "rejected is another path");
        assert_eq!(recs.paths.len(), 2);
        drop((x, y));
        recs.sweep();
        assert_eq!(recs.paths.len(), 1);
    }
}
