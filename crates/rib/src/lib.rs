//! The routing information base.
//!
//! Contract: producers (direct and local routes from interfaces, static routes from the
//! configuration; BGP and OSPF next) hand the [`Rib`] one candidate route per prefix and
//! source with [`Rib::update`], withdraw it with `None`, and report interface state with
//! [`Rib::set_interface`]. The RIB keeps every candidate, chooses the active one per prefix by
//! Junos preference (then metric, then source), and queues what the forwarding plane must
//! change; [`Rib::drain_fib_updates`] hands that over as one batch, one update per prefix
//! however often it changed. A route change touches its prefix alone; an
//! interface change touches the next-hop sets with a member on it, and one walk of the table
//! marks the prefixes that use them (BIRD walks its table the same way).
//!
//! Sans-IO: no threads, no clock (the caller sets [`Rib::set_time`]), no sockets. BIRD's
//! tables and channels are the model: protocols never choose, the table does.

mod addr;
mod nexthop;
mod table;

pub use addr::{Addr, IpPrefix, PackedIndex, Prefix, PrefixIndex};
pub use nexthop::{Hop, IfId, NextHopTable, NextHops, NhId, MAX_ECMP};
pub use table::{ActiveRoute, Candidate, Entry, Inactive, RouteData, Summary, Table, TableUpdate};

use std::net::IpAddr;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use smallvec::SmallVec;

/// Where a route came from, in Junos' words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Direct,
    Local,
    Static,
    Ospf,
    OspfExternal,
    Aggregate,
    Bgp,
}

impl Protocol {
    /// The name `show route` prints.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Direct => "Direct",
            Protocol::Local => "Local",
            Protocol::Static => "Static",
            Protocol::Ospf | Protocol::OspfExternal => "OSPF",
            Protocol::Aggregate => "Aggregate",
            Protocol::Bgp => "BGP",
        }
    }

    /// The name policy uses (`from protocol static`), which `show route protocol` takes.
    pub fn policy_name(self) -> &'static str {
        match self {
            Protocol::Direct => "direct",
            Protocol::Local => "local",
            Protocol::Static => "static",
            Protocol::Ospf | Protocol::OspfExternal => "ospf",
            Protocol::Aggregate => "aggregate",
            Protocol::Bgp => "bgp",
        }
    }

    /// Junos' default route preference.
    pub fn default_preference(self) -> u32 {
        match self {
            Protocol::Direct | Protocol::Local => 0,
            Protocol::Static => 5,
            Protocol::Ospf => 10,
            Protocol::Aggregate => 130,
            Protocol::OspfExternal => 150,
            Protocol::Bgp => 170,
        }
    }

    /// The protocol `show route protocol NAME` means.
    pub fn from_name(name: &str) -> Option<&'static [Protocol]> {
        Some(match name {
            "direct" => &[Protocol::Direct],
            "local" => &[Protocol::Local],
            "static" => &[Protocol::Static],
            "ospf" => &[Protocol::Ospf, Protocol::OspfExternal],
            "aggregate" => &[Protocol::Aggregate],
            "bgp" => &[Protocol::Bgp],
            _ => return None,
        })
    }
}

/// One producer of routes: its protocol, and an id that tells its routes for one prefix apart
/// (a static route's preference level, a BGP neighbour, an interface).
///
/// Packed to five bytes so a [`Candidate`] keeps its flags in the three bytes a padded
/// source would waste (a full table holds a million candidates); fields are read by value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(C, packed)]
pub struct Source {
    pub protocol: Protocol,
    pub id: u32,
}

impl Source {
    pub fn new(protocol: Protocol, id: u32) -> Source {
        Source { protocol, id }
    }
}

/// A candidate route as a producer offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub preference: u32,
    pub metric: u32,
    pub hops: NextHops,
}

impl Route {
    /// A route with its protocol's default preference and metric 0.
    pub fn new(protocol: Protocol, hops: NextHops) -> Route {
        Route {
            preference: protocol.default_preference(),
            metric: 0,
            hops,
        }
    }
}

/// Whether `via` (as a protocol gives it) names the set `key` (sorted, without repeats, as
/// [`Rib::intern_via`] keys it).
fn same_set(key: &[IpAddr], via: &[IpAddr]) -> bool {
    match via {
        [a] => key == [*a],
        _ => {
            let mut v: SmallVec<[IpAddr; 4]> = via.iter().copied().collect();
            v.sort_unstable();
            v.dedup();
            key == v.as_slice()
        }
    }
}

/// The RIB shared between threads: the forwarding plane's control thread (which drains it
/// into the FIB), the protocols that keep their routes in it (BGP writes its paths under the
/// write lock, a batch of UPDATEs at a time) and the threads that answer `show route`.
///
/// Lock rules: hold it for a batch, never across a wait on another thread, and never take the
/// read lock twice on one thread (readers queue behind a waiting writer, so the second read
/// would wait for the first).
#[derive(Default)]
pub struct SharedRib(RwLock<Rib>);

impl std::fmt::Debug for SharedRib {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedRib").finish_non_exhaustive()
    }
}

impl SharedRib {
    /// The read lock (a panic that poisoned it left the RIB consistent: every change is
    /// made whole or not at all between two calls).
    pub fn read(&self) -> RwLockReadGuard<'_, Rib> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, Rib> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// A change for the forwarding plane, in either family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FibUpdate {
    pub prefix: IpPrefix,
    /// The route to forward by now, or None: remove the prefix.
    pub active: Option<ActiveRoute>,
}

/// inet.0 and inet6.0, and the next-hop sets their routes share.
#[derive(Default)]
pub struct Rib {
    pub inet: Table<u32>,
    pub inet6: Table<u128>,
    nhs: NextHopTable,
    now: u32,
    /// A route or an interface changed since recursive sets were last resolved.
    resolution_stale: bool,
}

impl Rib {
    pub fn new() -> Rib {
        Rib::default()
    }

    /// The clock routes are stamped with (seconds; the caller's epoch).
    pub fn set_time(&mut self, now: u64) {
        self.now = u32::try_from(now).unwrap_or(u32::MAX);
    }

    /// Adds or replaces (`Some`) or withdraws (`None`) `source`'s route to `prefix`.
    pub fn update(&mut self, prefix: IpPrefix, source: Source, route: Option<Route>) {
        let route = route.map(|r| (r.preference, r.metric, self.nhs.intern(r.hops)));
        self.put(prefix, source, route);
    }

    fn put(&mut self, prefix: IpPrefix, source: Source, route: Option<(u32, u32, NhId)>) {
        self.resolution_stale = true;
        match prefix {
            IpPrefix::V4(p) => self.inet.update(&mut self.nhs, p, source, route, self.now),
            IpPrefix::V6(p) => self.inet6.update(&mut self.nhs, p, source, route, self.now),
        }
    }

    /// Replaces all of `protocol`'s candidates for `prefix` with `routes` (preference, metric,
    /// protocol next hops), the i-th as source id i; none withdraws them all. One lookup of
    /// the prefix and one ordering for the lot: a protocol that hands over every path of a
    /// prefix on each change (BGP with ten neighbours) does not pay per path.
    pub fn replace_via<'a>(
        &mut self,
        prefix: IpPrefix,
        protocol: Protocol,
        routes: impl IntoIterator<Item = (u32, u32, &'a [IpAddr])>,
    ) {
        self.replace_via_with(
            prefix,
            protocol,
            routes.into_iter().map(|(p, m, v)| (p, m, v, None)),
        );
    }

    /// [`Rib::replace_via`] with each route's protocol record ([`RouteData`]), which the RIB
    /// keeps with the candidate (a route with no next hop is kept as well, hidden: BGP's
    /// path that import policy rejected).
    pub fn replace_via_with<'a>(
        &mut self,
        prefix: IpPrefix,
        protocol: Protocol,
        routes: impl IntoIterator<Item = (u32, u32, &'a [IpAddr], Option<Arc<RouteData>>)>,
    ) {
        // The sets the protocol's candidates use now: a route whose next hops did not change
        // (most of them, when a new path shifts the others down one place) takes its set
        // again without hashing the addresses.
        // One lookup of the prefix for the whole change (its slot stays: interning below
        // changes the next-hop sets, not the tables).
        let slot = match prefix {
            IpPrefix::V4(p) => self.inet.slot(p),
            IpPrefix::V6(p) => self.inet6.slot(p),
        };
        let cands = slot.map_or(&[][..], |s| match prefix {
            IpPrefix::V4(_) => self.inet.at(s).candidates(),
            IpPrefix::V6(_) => self.inet6.at(s).candidates(),
        });
        let have: SmallVec<[NhId; 4]> = cands
            .iter()
            .filter(|c| c.source.protocol == protocol)
            .map(|c| c.nh)
            .collect();
        let mut new: SmallVec<[table::NewRoute; 4]> = SmallVec::new();
        for (preference, metric, via, data) in routes {
            let same = have
                .iter()
                .copied()
                .find(|id| self.nhs.via(*id).is_some_and(|v| same_set(v, via)));
            let nh = match same {
                Some(id) => {
                    self.nhs.hold(id);
                    id
                }
                None => self.intern_via(via),
            };
            new.push((preference, metric, nh, data));
        }
        self.resolution_stale = true;
        match prefix {
            IpPrefix::V4(p) => {
                self.inet
                    .replace_protocol_in(&mut self.nhs, p, slot, protocol, &new, self.now)
            }
            IpPrefix::V6(p) => {
                self.inet6
                    .replace_protocol_in(&mut self.nhs, p, slot, protocol, &new, self.now)
            }
        }
    }

    /// `protocol`'s candidate `id` for `prefix`.
    pub fn protocol_candidate(
        &self,
        prefix: IpPrefix,
        protocol: Protocol,
        id: u32,
    ) -> Option<&Candidate> {
        let entry = match prefix {
            IpPrefix::V4(p) => self.inet.get(p),
            IpPrefix::V6(p) => self.inet6.get(p),
        }?;
        let source = Source::new(protocol, id);
        entry.candidates().iter().find(|c| c.source == source)
    }

    /// `protocol`'s candidates for `prefix`, in the order it handed them over (source id).
    pub fn protocol_candidates(
        &self,
        prefix: IpPrefix,
        protocol: Protocol,
    ) -> SmallVec<[&Candidate; 2]> {
        let entry = match prefix {
            IpPrefix::V4(p) => self.inet.get(p),
            IpPrefix::V6(p) => self.inet6.get(p),
        };
        let mut out: SmallVec<[&Candidate; 2]> = entry
            .map(|e| {
                e.candidates()
                    .iter()
                    .filter(|c| c.source.protocol == protocol)
                    .collect()
            })
            .unwrap_or_default();
        out.sort_by_key(|c| c.source.id);
        out
    }

    /// The recursive set of `via`, with a reference held by the caller.
    fn intern_via(&mut self, via: &[IpAddr]) -> NhId {
        let mut key: SmallVec<[IpAddr; 2]> = via.iter().copied().collect();
        key.sort_unstable();
        key.dedup();
        match self.nhs.via_id(&key) {
            Some(id) => {
                self.nhs.hold(id);
                id
            }
            None => {
                let hops = NextHops::new(key.iter().flat_map(|a| self.resolve(*a)));
                self.nhs.intern_via(&key, hops)
            }
        }
    }

    /// Adds or replaces `source`'s route to `prefix` through protocol next hops (BGP's): they
    /// are resolved through the other protocols' routes now, and again whenever those change,
    /// and the route follows. One resolution serves every route with the same next hops.
    pub fn update_via(
        &mut self,
        prefix: IpPrefix,
        source: Source,
        preference: u32,
        metric: u32,
        via: &[IpAddr],
    ) {
        let nh = self.intern_via(via);
        self.put(prefix, source, Some((preference, metric, nh)));
    }

    /// How protocol next hop `nh` is reached: the longest-matching active route of another
    /// protocol than BGP (a BGP route never carries its own next hop). A connected subnet
    /// makes it a gateway on that interface; a route through gateways lends it those (one
    /// level of recursion, as an iBGP next hop behind a static route needs). Nothing usable:
    /// `Unresolved`, and the route is hidden.
    pub fn resolve(&self, nh: IpAddr) -> Vec<Hop> {
        let usable = |hops: &NextHops| -> Vec<Hop> {
            hops.hops()
                .iter()
                .filter_map(|h| match *h {
                    Hop::Connected(i) => Some(Hop::Gateway(i, nh)),
                    Hop::Gateway(i, g) => Some(Hop::Gateway(i, g)),
                    _ => None,
                })
                .collect()
        };
        let not_bgp = |e: &Entry| {
            e.active()
                .is_some_and(|a| a.source.protocol != Protocol::Bgp)
        };
        let got = match nh {
            IpAddr::V4(a) => self
                .inet
                .longest_match(u32::from(a), not_bgp)
                .and_then(|(_, e)| e.active().map(|a| usable(self.hops(a.nh)))),
            // An IPv4-mapped next hop (IPv6 routes over an IPv4 session) is not reachable
            // over IPv6.
            IpAddr::V6(a) if a.to_ipv4_mapped().is_some() => None,
            IpAddr::V6(a) => self
                .inet6
                .longest_match(u128::from(a), not_bgp)
                .and_then(|(_, e)| e.active().map(|a| usable(self.hops(a.nh)))),
        };
        match got {
            Some(h) if !h.is_empty() => h,
            _ => vec![Hop::Unresolved(nh)],
        }
    }

    /// Resolves every recursive set again; the routes through those whose hops changed are
    /// chosen again. Only after the tables were drained: resolution reads active routes.
    fn resolve_recursive(&mut self) -> bool {
        if !std::mem::take(&mut self.resolution_stale) {
            return false;
        }
        let mut changed = Vec::new();
        for (id, via) in self.nhs.recursive() {
            let hops = NextHops::new(via.iter().flat_map(|a| self.resolve(*a)));
            if self.nhs.resolve_again(id, hops) {
                changed.push(id);
            }
        }
        self.touch_sets(&changed);
        // Re-resolution touches only recursive routes, which resolve nothing themselves.
        self.resolution_stale = false;
        !changed.is_empty()
    }

    /// An interface came up or went down: routes through it are chosen again (only those).
    pub fn set_interface(&mut self, ifid: IfId, up: bool) {
        self.resolution_stale = true;
        // Their usable members changed: what the FIB has for them is out of date.
        let changed = self.nhs.set_interface(ifid, up);
        self.touch_sets(&changed);
    }

    /// Next-hop sets changed in place: the routes through them are chosen again, and those
    /// active through them go to the FIB again (one walk of each table, none if no set).
    fn touch_sets(&mut self, changed: &[NhId]) {
        if changed.is_empty() {
            return;
        }
        let sets = self.nhs.mark_of(changed);
        self.inet.touch_sets(&sets);
        self.inet6.touch_sets(&sets);
    }

    pub fn interface_up(&self, ifid: IfId) -> bool {
        self.nhs.interface_up(ifid)
    }

    /// What the FIB must change since the last call.
    /// Prefixes changed and not yet drained: what the forwarding plane has still to hear.
    pub fn pending(&self) -> usize {
        self.inet.pending() + self.inet6.pending()
    }

    pub fn drain_fib_updates(&mut self) -> Vec<FibUpdate> {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        self.inet.drain(&mut self.nhs, &mut v4);
        self.inet6.drain(&mut self.nhs, &mut v6);
        if self.resolve_recursive() {
            // Routes through sets resolved again: a prefix drained twice keeps its later
            // update alone (one update per prefix, as the contract says).
            self.inet.drain(&mut self.nhs, &mut v4);
            self.inet6.drain(&mut self.nhs, &mut v6);
            last_per_prefix(&mut v4);
            last_per_prefix(&mut v6);
        }
        v4.into_iter()
            .map(|u| FibUpdate {
                prefix: IpPrefix::V4(u.prefix),
                active: u.active,
            })
            .chain(v6.into_iter().map(|u| FibUpdate {
                prefix: IpPrefix::V6(u.prefix),
                active: u.active,
            }))
            .collect()
    }

    /// inet.0's changes alone, as the table's own keys (no conversion: the bench and a FIB
    /// writer for one family use this).
    pub fn drain_inet(&mut self) -> Vec<TableUpdate<u32>> {
        let mut out = Vec::new();
        self.inet.drain(&mut self.nhs, &mut out);
        if self.resolve_recursive() {
            self.inet.drain(&mut self.nhs, &mut out);
            last_per_prefix(&mut out);
        }
        out
    }

    pub fn next_hops(&self) -> &NextHopTable {
        &self.nhs
    }

    /// The hops of a set.
    pub fn hops(&self, nh: NhId) -> &NextHops {
        self.nhs.hops(nh)
    }

    /// The members of the active route's set that carry traffic.
    pub fn usable_hops(&self, active: &ActiveRoute) -> NextHops {
        self.nhs.hops(active.nh).select(active.usable)
    }
}

/// Keeps the last update of each prefix, in order.
fn last_per_prefix<A: Addr>(v: &mut Vec<TableUpdate<A>>) {
    let mut seen = std::collections::HashSet::with_capacity(v.len());
    let mut keep: Vec<bool> = v.iter().rev().map(|u| seen.insert(u.prefix)).collect();
    keep.reverse();
    let mut i = 0;
    v.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}
