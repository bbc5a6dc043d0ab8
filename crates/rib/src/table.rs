//! One routing table (inet.0 or inet6.0): every candidate per prefix, ordered best first.

use std::collections::BTreeMap;

use smallvec::SmallVec;

use crate::addr::{Addr, Prefix};
use crate::nexthop::{NextHopTable, NhId};
use crate::{Protocol, Source};

/// One route to a prefix from one source.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    pub source: Source,
    pub preference: u32,
    /// Within one preference: lower wins (OSPF cost, BGP's ranking as its producer gives it).
    pub metric: u32,
    pub nh: NhId,
    /// When the route arrived or last changed (the RIB's clock, seconds; 32 bits: eight
    /// bytes less on every candidate of a table of millions, and good until 2106).
    pub since: u32,
}

impl Candidate {
    fn new(source: Source, (preference, metric, nh): (u32, u32, NhId), since: u32) -> Candidate {
        Candidate {
            source,
            preference,
            metric,
            nh,
            since,
        }
    }

    /// Junos order: preference, then metric, then the source (a stable tie-breaker).
    fn rank(&self) -> (u32, u32, Source) {
        (self.preference, self.metric, self.source)
    }
}

/// Why a candidate is not the active route, as `show route detail` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inactive {
    /// Its next hops cannot carry traffic (an interface down, a gateway off-link): hidden.
    Unusable,
    /// Another route has a lower preference.
    Preference,
    /// Same preference, a lower metric elsewhere.
    Metric,
    /// Equal in everything, an earlier source won.
    Tie,
}

/// Every candidate route to one prefix. Kept small: a full table has a million of these
/// (48 bytes; the FIB's usable-member mask and the active route's preference are not stored,
/// a change of usable members marks the prefix for a refresh instead; the two sources are
/// kept as their parts so the protocol bytes share the flags' padding).
#[derive(Debug, Clone)]
pub struct Entry {
    /// Best first; the active route is the first usable one.
    cands: SmallVec<[Candidate; 1]>,
    /// The source of the active route, as the FIB was last told it (protocol None: nothing
    /// usable).
    active_id: u32,
    /// The source that was active before the last change, while it is still a candidate.
    last_active_id: u32,
    /// The next-hop set the FIB was last told (`NO_NH`: none). The entry holds a reference
    /// to it, so the set's id cannot be reused while this names it.
    fib_nh: u32,
    active_protocol: Option<Protocol>,
    last_active_protocol: Option<Protocol>,
    dirty: bool,
    /// The FIB must be told again even if the active route is the same: the hops of its
    /// set, or which of them are usable, changed in place.
    refresh: bool,
}

/// `Entry::fib_nh` when the FIB was told nothing.
const NO_NH: u32 = u32::MAX;

impl Default for Entry {
    fn default() -> Self {
        Entry {
            cands: SmallVec::new(),
            active_id: 0,
            last_active_id: 0,
            fib_nh: NO_NH,
            active_protocol: None,
            last_active_protocol: None,
            dirty: false,
            refresh: false,
        }
    }
}

impl Entry {
    pub fn candidates(&self) -> &[Candidate] {
        &self.cands
    }

    /// Marks the entry for selection; true if it was not marked (the caller queues it).
    fn set_dirty(&mut self) -> bool {
        !std::mem::replace(&mut self.dirty, true)
    }

    /// The source of the active route.
    fn active_source(&self) -> Option<Source> {
        self.active_protocol.map(|p| Source::new(p, self.active_id))
    }

    fn set_active_source(&mut self, s: Option<Source>) {
        self.active_protocol = s.map(|s| s.protocol);
        self.active_id = s.map_or(0, |s| s.id);
    }

    fn last_active_source(&self) -> Option<Source> {
        self.last_active_protocol
            .map(|p| Source::new(p, self.last_active_id))
    }

    fn set_last_active_source(&mut self, s: Option<Source>) {
        self.last_active_protocol = s.map(|s| s.protocol);
        self.last_active_id = s.map_or(0, |s| s.id);
    }

    pub fn active(&self) -> Option<&Candidate> {
        let a = self.active_source()?;
        self.cands.iter().find(|c| c.source == a)
    }

    pub fn is_active(&self, c: &Candidate) -> bool {
        self.active_source() == Some(c.source)
    }

    pub fn is_last_active(&self, c: &Candidate) -> bool {
        self.last_active_source() == Some(c.source)
    }

    /// Why `c` is not active (None if it is).
    pub fn inactive_reason(&self, c: &Candidate, nhs: &NextHopTable) -> Option<Inactive> {
        if self.is_active(c) {
            return None;
        }
        if nhs.usable(c.nh) == 0 {
            return Some(Inactive::Unusable);
        }
        let a = self.active()?;
        Some(if a.preference != c.preference {
            Inactive::Preference
        } else if a.metric != c.metric {
            Inactive::Metric
        } else {
            Inactive::Tie
        })
    }
}

/// A change for the forwarding plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableUpdate<A: Addr> {
    pub prefix: Prefix<A>,
    /// The active route now, or None: remove the prefix from the FIB.
    pub active: Option<ActiveRoute>,
}

/// What the FIB should forward a prefix by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveRoute {
    pub protocol: Protocol,
    pub preference: u32,
    /// The route's next-hop set; `usable` says which of its members carry traffic now.
    pub nh: NhId,
    pub usable: u64,
}

/// Counts for `show route summary` and the table header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub destinations: usize,
    pub routes: usize,
    pub active: usize,
    pub hidden: usize,
    /// By protocol: (routes, active), in protocol order.
    pub protocols: BTreeMap<Protocol, (usize, usize)>,
}

impl Summary {
    /// Counts one destination and its routes.
    pub fn add(&mut self, e: &Entry, nhs: &NextHopTable) {
        self.destinations += 1;
        for c in &e.cands {
            self.routes += 1;
            let p = self.protocols.entry(c.source.protocol).or_default();
            p.0 += 1;
            if e.is_active(c) {
                self.active += 1;
                p.1 += 1;
            } else if nhs.usable(c.nh) == 0 {
                self.hidden += 1;
            }
        }
    }
}

/// One routing table.
///
/// The ordered map holds only a 4-byte index per prefix; the entries live in a slab. A B-tree
/// node is about two thirds full after random inserts (a BGP feed's order), so every byte in
/// its slots costs half as much again: with the 56-byte entries in the nodes a full table
/// took ~94 bytes a prefix there, with indices ~19 plus the entry.
pub struct Table<A: Addr> {
    routes: BTreeMap<Prefix<A>, u32>,
    entries: Vec<Entry>,
    /// Slab slots free for reuse.
    free: Vec<u32>,
    /// Prefixes changed since the last drain.
    dirty: Vec<Prefix<A>>,
    candidates: usize,
}

impl<A: Addr> Default for Table<A> {
    fn default() -> Self {
        Table {
            routes: BTreeMap::new(),
            entries: Vec::new(),
            free: Vec::new(),
            dirty: Vec::new(),
            candidates: 0,
        }
    }
}

impl<A: Addr> Table<A> {
    /// The slab slot of `prefix`'s entry, made empty if there was none.
    fn slot_or_new(&mut self, prefix: Prefix<A>) -> usize {
        let i = match self.routes.get(&prefix) {
            Some(&i) => i,
            None => {
                let i = match self.free.pop() {
                    Some(i) => i,
                    None => {
                        self.entries.push(Entry::default());
                        (self.entries.len() - 1) as u32
                    }
                };
                self.routes.insert(prefix, i);
                i
            }
        };
        i as usize
    }

    fn remove_entry(&mut self, prefix: &Prefix<A>) {
        if let Some(i) = self.routes.remove(prefix) {
            // The slot's candidate list (if it spilled to the heap) goes now.
            self.entries[i as usize] = Entry::default();
            self.free.push(i);
        }
    }

    /// Adds, replaces (`Some`) or withdraws (`None`) the candidate of `source` for `prefix`.
    /// `nh` is a reference the caller interned; the table keeps it or releases it.
    pub(crate) fn update(
        &mut self,
        nhs: &mut NextHopTable,
        prefix: Prefix<A>,
        source: Source,
        route: Option<(u32, u32, NhId)>,
        now: u32,
    ) {
        if route.is_none() && !self.routes.contains_key(&prefix) {
            return;
        }
        let slot = self.slot_or_new(prefix);
        let entry = &mut self.entries[slot];
        let pos = entry.cands.iter().position(|c| c.source == source);
        let was_active = entry.active_source() == Some(source);
        let old_nh = match (pos, route) {
            (Some(i), Some((preference, metric, nh))) => {
                let c = &mut entry.cands[i];
                if c.preference == preference && c.metric == metric && c.nh == nh {
                    nhs.release(nh);
                    return;
                }
                let old = c.nh;
                *c = Candidate::new(source, (preference, metric, nh), now);
                entry.cands.sort_by_key(Candidate::rank);
                Some(old)
            }
            (None, Some(route)) => {
                let c = Candidate::new(source, route, now);
                let at = entry
                    .cands
                    .iter()
                    .position(|x| x.rank() > c.rank())
                    .unwrap_or(entry.cands.len());
                // One at a time: doubling left room for sixteen where ten neighbours' routes
                // are (tens of megabytes unused with ten full tables).
                entry.cands.reserve_exact(1);
                entry.cands.insert(at, c);
                self.candidates += 1;
                None
            }
            (Some(i), None) => {
                self.candidates -= 1;
                Some(entry.cands.remove(i).nh)
            }
            (None, None) => return,
        };
        if let Some(old) = old_nh {
            nhs.release(old);
        }
        let entry = &mut self.entries[slot];
        // The active route changed (in place, or withdrawn and offered again before the
        // drain): the FIB is told again, as the entry keeps no copy of it to compare with.
        entry.refresh |= was_active;
        if entry.set_dirty() {
            self.dirty.push(prefix);
        }
    }

    /// Replaces `protocol`'s candidates of `prefix` with `new` (the i-th as source id i);
    /// the caller interned each next-hop set, and the table keeps or releases it.
    pub(crate) fn replace_protocol(
        &mut self,
        nhs: &mut NextHopTable,
        prefix: Prefix<A>,
        protocol: Protocol,
        new: &[(u32, u32, NhId)],
        now: u32,
    ) {
        if new.is_empty() && !self.routes.contains_key(&prefix) {
            return;
        }
        let slot = self.slot_or_new(prefix);
        let entry = &mut self.entries[slot];
        let active = entry.active_source();
        // Whether any candidate changed, and whether the active one did (changed in place,
        // withdrawn, or withdrawn and offered again before the drain: the FIB is told again).
        let (mut changed, mut active_changed) = (false, false);
        for (i, &route) in new.iter().enumerate() {
            let source = Source::new(protocol, i as u32);
            let c = Candidate::new(source, route, now);
            match entry.cands.iter_mut().find(|c| c.source == source) {
                Some(x) if x.rank() == c.rank() && x.nh == c.nh => {
                    nhs.release(c.nh);
                    continue;
                }
                Some(x) => nhs.release(std::mem::replace(x, c).nh),
                None => {
                    entry.cands.reserve_exact(1);
                    entry.cands.push(c);
                    self.candidates += 1;
                }
            }
            changed = true;
            active_changed |= active == Some(source);
        }
        let n = new.len() as u32;
        let before = entry.cands.len();
        entry.cands.retain(|c| {
            let stale = c.source.protocol == protocol && c.source.id >= n;
            if stale {
                nhs.release(c.nh);
                active_changed |= active == Some(c.source);
            }
            !stale
        });
        let removed = before - entry.cands.len();
        self.candidates -= removed;
        entry.refresh |= active_changed;
        if changed || removed > 0 {
            entry.cands.sort_by_key(Candidate::rank);
            if entry.set_dirty() {
                self.dirty.push(prefix);
            }
        }
    }

    /// Marks every prefix with a candidate through one of `sets` (indexed by set id) for
    /// selection again; those whose active route is through one go to the FIB again even if
    /// it stays active (its hops, or which of them are usable, changed).
    ///
    /// A walk of the whole table, as BIRD walks its table when next hops change: an index
    /// from set to prefixes cost more memory (a hash-set entry per route) and time on every
    /// route change than the walk costs on the rare link or resolution change (a full table
    /// in about ten milliseconds).
    pub(crate) fn touch_sets(&mut self, sets: &[bool]) {
        let through = |nh: NhId| sets.get(nh.index() as usize).copied().unwrap_or(false);
        for (p, &i) in self.routes.iter() {
            let e = &mut self.entries[i as usize];
            if !e.cands.iter().any(|c| through(c.nh)) {
                continue;
            }
            e.refresh = true;
            if e.set_dirty() {
                self.dirty.push(*p);
            }
        }
    }

    /// Chooses the active route of every prefix that changed and returns what the FIB must
    /// change, one update per prefix however often it changed since the last call.
    pub(crate) fn drain(&mut self, nhs: &mut NextHopTable, out: &mut Vec<TableUpdate<A>>) {
        let mut dirty = std::mem::take(&mut self.dirty);
        // In address order: the FIB under it then writes neighbouring prefixes one after
        // another, in the same part of its tree (changes arrive in any order).
        dirty.sort_unstable();
        for prefix in dirty {
            let Some(&slot) = self.routes.get(&prefix) else {
                continue;
            };
            let e = &mut self.entries[slot as usize];
            e.dirty = false;
            let best = e
                .cands
                .iter()
                .map(|c| (*c, nhs.usable(c.nh)))
                .find(|(_, m)| *m != 0);
            let now_active = best.map(|(c, _)| c.source);
            let now_nh = best.map_or(NO_NH, |(c, _)| c.nh.index());
            let was = e.active_source();
            let changed = now_active != was || now_nh != e.fib_nh;
            // (A prefix whose active route is through another set is told again too: harmless.)
            let refresh = std::mem::take(&mut e.refresh) && best.is_some();
            if now_active != was && was.is_some() {
                e.set_last_active_source(was);
            }
            e.set_active_source(now_active);
            if changed || refresh {
                let fib = best.map(|(c, usable)| ActiveRoute {
                    protocol: c.source.protocol,
                    preference: c.preference,
                    nh: c.nh,
                    usable,
                });
                if let Some(a) = fib {
                    nhs.hold(a.nh);
                }
                if e.fib_nh != NO_NH {
                    nhs.release(NhId::from_index(e.fib_nh));
                }
                e.fib_nh = now_nh;
                out.push(TableUpdate {
                    prefix,
                    active: fib,
                });
            }
            if let Some(l) = e.last_active_source() {
                if !e.cands.iter().any(|c| c.source == l) {
                    e.set_last_active_source(None);
                }
            }
            if e.cands.is_empty() {
                self.remove_entry(&prefix);
            }
        }
    }

    pub fn get(&self, prefix: Prefix<A>) -> Option<&Entry> {
        let i = *self.routes.get(&prefix)?;
        Some(&self.entries[i as usize])
    }

    /// The longest prefix holding `addr` whose entry `keep` accepts (a logarithmic probe per
    /// length, not a scan).
    pub fn longest_match(
        &self,
        addr: A,
        keep: impl Fn(&Entry) -> bool,
    ) -> Option<(Prefix<A>, &Entry)> {
        (0..=A::BITS).rev().find_map(|len| {
            let p = Prefix::new(addr, len);
            self.get(p).filter(|e| keep(e)).map(|e| (p, e))
        })
    }

    /// The prefixes inside `outer` (itself included), in order.
    pub fn within(&self, outer: Prefix<A>) -> impl Iterator<Item = (&Prefix<A>, &Entry)> {
        self.within_after(outer, None)
    }

    /// The prefixes inside `outer` that come after `after`, in order: a reader that walks a
    /// large table a chunk at a time (letting writers in between) goes on from where it was.
    pub fn within_after(
        &self,
        outer: Prefix<A>,
        after: Option<Prefix<A>>,
    ) -> impl Iterator<Item = (&Prefix<A>, &Entry)> {
        use std::ops::Bound;
        let last = Prefix::new(outer.addr().filled(outer.length()), A::BITS);
        let start = match after {
            Some(a) if a >= outer => Bound::Excluded(a),
            _ => Bound::Included(outer),
        };
        let end = if after.is_some_and(|a| a > last) {
            Bound::Excluded(outer) // nothing left: an empty range
        } else {
            Bound::Included(last)
        };
        let range = if matches!((start, end), (Bound::Excluded(_), Bound::Excluded(_))) {
            self.routes.range(outer..outer)
        } else {
            self.routes.range((start, end))
        };
        range
            .filter(move |(p, _)| outer.covers(**p))
            .map(|(p, &i)| (p, &self.entries[i as usize]))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Prefix<A>, &Entry)> {
        self.routes
            .iter()
            .map(|(p, &i)| (p, &self.entries[i as usize]))
    }

    /// Destinations (prefixes with at least one candidate).
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Candidate routes, active or not.
    pub fn candidates(&self) -> usize {
        self.candidates
    }

    pub fn summary(&self, nhs: &NextHopTable) -> Summary {
        let mut s = Summary::default();
        for &i in self.routes.values() {
            let e = &self.entries[i as usize];
            s.add(e, nhs);
        }
        s
    }
}
