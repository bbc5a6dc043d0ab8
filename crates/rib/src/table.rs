//! One routing table (inet.0 or inet6.0): every candidate per prefix, ordered best first.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use crate::addr::{Addr, Prefix, PrefixIndex};
use crate::nexthop::{NextHopTable, NhId};
use crate::{Protocol, Source};

/// What a protocol keeps with its candidate: BGP's path (its attributes as received and
/// accepted, the neighbour). The RIB holds it and never looks inside; a protocol that keeps
/// its routes here needs no table of its own (one index of a full table, not two).
///
/// Behind one thin pointer (the `Box` is inside the shared allocation): eight bytes per
/// candidate, and protocols share one record among every prefix with the same path.
pub struct RouteData(pub Box<dyn std::any::Any + Send + Sync>);

impl std::fmt::Debug for RouteData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RouteData")
    }
}

/// One route to a prefix from one source.
///
/// 32 bytes, laid out so that [`Cands`] can hold one inline in the same 32 bytes as a boxed
/// slice: the source's protocol byte (offset 16) is past the slice's pointer and length.
#[derive(Debug, Clone)]
#[repr(C)]
pub struct Candidate {
    pub preference: u32,
    /// Within one preference: lower wins (OSPF cost, BGP's ranking as its producer gives it).
    pub metric: u32,
    pub nh: NhId,
    /// When the route arrived or last changed (the RIB's clock, seconds; 32 bits: eight
    /// bytes less on every candidate of a table of millions, and good until 2106).
    pub since: u32,
    pub source: Source,
    /// [`ACTIVE`], [`LAST_ACTIVE`]: what the entry last chose, kept on the candidate itself
    /// (eight bytes less per entry than naming the sources).
    flags: u8,
    /// The protocol's own record of the route (BGP's path), if it keeps one here.
    pub data: Option<Arc<RouteData>>,
}

/// The candidate is the active route, as the FIB was last told.
const ACTIVE: u8 = 1;
/// The candidate was active before the last change (while it is still a candidate).
const LAST_ACTIVE: u8 = 2;

/// A protocol's route as the table takes it: preference, metric, next-hop set, record.
pub(crate) type NewRoute = (u32, u32, NhId, Option<Arc<RouteData>>);

const _: () = assert!(std::mem::size_of::<Candidate>() == 32);
const _: () = assert!(std::mem::size_of::<Cands>() == 32);
const _: () = assert!(std::mem::size_of::<Entry>() == 40);

impl Candidate {
    fn new(source: Source, (preference, metric, nh): (u32, u32, NhId), since: u32) -> Candidate {
        Candidate {
            preference,
            metric,
            nh,
            since,
            source,
            flags: 0,
            data: None,
        }
    }

    fn with_data(self, data: Option<Arc<RouteData>>) -> Candidate {
        Candidate { data, ..self }
    }

    /// Whether the protocol's record is the same one (records are shared, so by address).
    fn same_data(&self, o: &Option<Arc<RouteData>>) -> bool {
        match (&self.data, o) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }

    /// Junos order: preference, then metric, then the source (a stable tie-breaker).
    fn rank(&self) -> (u32, u32, Source) {
        (self.preference, self.metric, self.source)
    }

    /// `self` with `c`'s route and `self`'s flags (a route changed in place stays what
    /// the entry chose until the next selection).
    fn replaced_by(&self, c: Candidate) -> Candidate {
        Candidate {
            flags: self.flags,
            ..c
        }
    }
}

/// A prefix's candidates: almost always one, kept inline; more in a boxed slice of exactly
/// their number (ten neighbours' routes take ten slots, not sixteen).
#[derive(Debug, Clone)]
enum Cands {
    One(Candidate),
    Many(Box<[Candidate]>),
}

impl Default for Cands {
    fn default() -> Self {
        Cands::Many(Box::new([]))
    }
}

impl Cands {
    fn as_slice(&self) -> &[Candidate] {
        match self {
            Cands::One(c) => std::slice::from_ref(c),
            Cands::Many(b) => b,
        }
    }

    fn as_mut_slice(&mut self) -> &mut [Candidate] {
        match self {
            Cands::One(c) => std::slice::from_mut(c),
            Cands::Many(b) => b,
        }
    }

    fn len(&self) -> usize {
        self.as_slice().len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn iter(&self) -> std::slice::Iter<'_, Candidate> {
        self.as_slice().iter()
    }

    fn from_vec(v: Vec<Candidate>) -> Cands {
        match v.as_slice() {
            [_] => Cands::One(v.into_iter().next().expect("one")),
            _ => Cands::Many(v.into_boxed_slice()),
        }
    }

    /// Rebuilds the list through a vector with room for one more (changes to a prefix with
    /// several candidates are rare next to the table's size).
    fn edit<R>(&mut self, f: impl FnOnce(&mut Vec<Candidate>) -> R) -> R {
        let mut v = Vec::with_capacity(self.len() + 1);
        v.extend_from_slice(self.as_slice());
        let r = f(&mut v);
        *self = Cands::from_vec(v);
        r
    }

    fn insert(&mut self, at: usize, c: Candidate) {
        self.edit(|v| v.insert(at, c));
    }

    fn push(&mut self, c: Candidate) {
        self.edit(|v| v.push(c));
    }

    fn remove(&mut self, i: usize) -> Candidate {
        self.edit(|v| v.remove(i))
    }

    /// Keeps the candidates `f` accepts; `f` sees each exactly once (it releases what it
    /// drops). No allocation unless one goes.
    fn retain(&mut self, mut f: impl FnMut(&Candidate) -> bool) {
        match self {
            Cands::One(c) => {
                if !f(c) {
                    *self = Cands::default();
                }
            }
            Cands::Many(b) => {
                let mut n = 0;
                for i in 0..b.len() {
                    if f(&b[i]) {
                        b.swap(n, i);
                        n += 1;
                    }
                }
                if n != b.len() {
                    let mut v = std::mem::take(b).into_vec();
                    v.truncate(n);
                    *self = Cands::from_vec(v);
                }
            }
        }
    }

    fn sort(&mut self) {
        self.as_mut_slice().sort_by_key(Candidate::rank);
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
/// (32 bytes; the FIB's usable-member mask and the active route's preference are not stored,
/// a change of usable members marks the prefix for a refresh instead; which candidate is
/// active is a flag on the candidate).
#[derive(Debug, Clone)]
pub struct Entry {
    /// Best first; the active route is the first usable one.
    cands: Cands,
    /// The next-hop set the FIB was last told (`NO_NH`: none). The entry holds a reference
    /// to it, so the set's id cannot be reused while this names it.
    fib_nh: u32,
    /// [`DIRTY`], [`REFRESH`].
    state: u8,
}

/// Marked for selection (queued in the table's dirty list).
const DIRTY: u8 = 1;
/// The FIB must be told again even if the active route is the same: the hops of its set, or
/// which of them are usable, changed in place.
const REFRESH: u8 = 2;

/// `Entry::fib_nh` when the FIB was told nothing.
const NO_NH: u32 = u32::MAX;

impl Default for Entry {
    fn default() -> Self {
        Entry {
            cands: Cands::default(),
            fib_nh: NO_NH,
            state: 0,
        }
    }
}

impl Entry {
    pub fn candidates(&self) -> &[Candidate] {
        self.cands.as_slice()
    }

    /// Marks the entry for selection; true if it was not marked (the caller queues it).
    fn set_dirty(&mut self) -> bool {
        let was = self.state & DIRTY != 0;
        self.state |= DIRTY;
        !was
    }

    fn set_refresh(&mut self, on: bool) {
        if on {
            self.state |= REFRESH;
        }
    }

    /// Takes the refresh mark and the dirty mark off; returns the refresh mark.
    fn take_marks(&mut self) -> bool {
        let refresh = self.state & REFRESH != 0;
        self.state = 0;
        refresh
    }

    /// The source of the active route.
    fn active_source(&self) -> Option<Source> {
        self.active().map(|c| c.source)
    }

    /// Marks `s`'s candidate active and every other not.
    fn set_active_source(&mut self, s: Option<Source>) {
        for c in self.cands.as_mut_slice() {
            c.flags &= !ACTIVE;
            if Some(c.source) == s {
                c.flags |= ACTIVE;
            }
        }
    }

    fn set_last_active_source(&mut self, s: Option<Source>) {
        for c in self.cands.as_mut_slice() {
            c.flags &= !LAST_ACTIVE;
            if Some(c.source) == s {
                c.flags |= LAST_ACTIVE;
            }
        }
    }

    pub fn active(&self) -> Option<&Candidate> {
        self.cands.iter().find(|c| c.flags & ACTIVE != 0)
    }

    pub fn is_active(&self, c: &Candidate) -> bool {
        self.active_source() == Some(c.source)
    }

    pub fn is_last_active(&self, c: &Candidate) -> bool {
        self.cands
            .iter()
            .any(|x| x.flags & LAST_ACTIVE != 0 && x.source == c.source)
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
        for c in e.cands.iter() {
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
/// The ordered index holds only a slot number per prefix ([`Addr::Index`]: for IPv4 the prefix
/// and its slot packed in one `u64`); the entries live in a slab. A B-tree node is about two
/// thirds full after random inserts (a BGP feed's order), so every byte in its slots costs
/// half as much again: with the 56-byte entries in the nodes a full table took ~94 bytes a
/// prefix there, with indices ~19 plus the entry, packed ~15.
pub struct Table<A: Addr> {
    routes: A::Index,
    entries: Vec<Entry>,
    /// Slab slots free for reuse.
    free: Vec<u32>,
    /// Prefixes changed since the last drain.
    dirty: Vec<Prefix<A>>,
    candidates: usize,
    /// Prefixes refused for want of room in the index.
    refused: u64,
}

impl<A: Addr> Default for Table<A> {
    fn default() -> Self {
        Table {
            routes: A::Index::default(),
            entries: Vec::new(),
            free: Vec::new(),
            dirty: Vec::new(),
            candidates: 0,
            refused: 0,
        }
    }
}

impl<A: Addr> Table<A> {
    /// The slab slot of `prefix`'s entry, made empty if there was none; None when the index
    /// has no room for another prefix (tens of millions: counted, never a panic).
    fn slot_or_new(&mut self, prefix: Prefix<A>) -> Option<usize> {
        let i = match self.routes.get(prefix) {
            Some(i) => i,
            None => {
                let i = match self.free.pop() {
                    Some(i) => i,
                    None if self.entries.len() < <A::Index as PrefixIndex<A>>::MAX_SLOTS => {
                        self.entries.push(Entry::default());
                        (self.entries.len() - 1) as u32
                    }
                    None => {
                        self.refused += 1;
                        return None;
                    }
                };
                self.routes.insert(prefix, i);
                i
            }
        };
        Some(i as usize)
    }

    /// Prefixes refused for want of room in the index.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    fn remove_entry(&mut self, prefix: &Prefix<A>) {
        if let Some(i) = self.routes.remove(*prefix) {
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
        if route.is_none() && self.routes.get(prefix).is_none() {
            return;
        }
        let Some(slot) = self.slot_or_new(prefix) else {
            if let Some((_, _, nh)) = route {
                nhs.release(nh);
            }
            return;
        };
        let entry = &mut self.entries[slot];
        let pos = entry.cands.iter().position(|c| c.source == source);
        let was_active = entry.active_source() == Some(source);
        let old_nh = match (pos, route) {
            (Some(i), Some((preference, metric, nh))) => {
                let c = &mut entry.cands.as_mut_slice()[i];
                if c.preference == preference && c.metric == metric && c.nh == nh {
                    nhs.release(nh);
                    return;
                }
                let old = c.nh;
                *c = c.replaced_by(Candidate::new(source, (preference, metric, nh), now));
                entry.cands.sort();
                Some(old)
            }
            (None, Some(route)) => {
                let c = Candidate::new(source, route, now);
                let at = entry
                    .cands
                    .iter()
                    .position(|x| x.rank() > c.rank())
                    .unwrap_or(entry.cands.len());
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
        entry.set_refresh(was_active);
        if entry.set_dirty() {
            self.dirty.push(prefix);
        }
    }

    /// The slab slot of `prefix`'s entry.
    pub(crate) fn slot(&self, prefix: Prefix<A>) -> Option<usize> {
        self.routes.get(prefix).map(|i| i as usize)
    }

    /// The entry in slab slot `slot` (from [`Table::slot`], with no change between).
    pub(crate) fn at(&self, slot: usize) -> &Entry {
        &self.entries[slot]
    }

    /// Replaces `protocol`'s candidates of `prefix` with `new` (the i-th as source id i);
    /// the caller interned each next-hop set, and the table keeps or releases it.
    /// `slot` is the prefix's, looked up with [`Table::slot`] (`None`: it has no entry).
    pub(crate) fn replace_protocol_in(
        &mut self,
        nhs: &mut NextHopTable,
        prefix: Prefix<A>,
        slot: Option<usize>,
        protocol: Protocol,
        new: &[NewRoute],
        now: u32,
    ) {
        if new.is_empty() && slot.is_none() {
            return;
        }
        let slot = match slot.or_else(|| self.slot_or_new(prefix)) {
            Some(s) => s,
            None => {
                for (_, _, nh, _) in new {
                    nhs.release(*nh);
                }
                return;
            }
        };
        let entry = &mut self.entries[slot];
        let active = entry.active_source();
        // Whether any candidate changed, and whether the active one did (changed in place,
        // withdrawn, or withdrawn and offered again before the drain: the FIB is told again).
        let (mut changed, mut active_changed) = (false, false);
        for (i, (preference, metric, nh, data)) in new.iter().enumerate() {
            let source = Source::new(protocol, i as u32);
            let c =
                Candidate::new(source, (*preference, *metric, *nh), now).with_data(data.clone());
            match entry
                .cands
                .as_mut_slice()
                .iter_mut()
                .find(|c| c.source == source)
            {
                Some(x) if x.rank() == c.rank() && x.nh == c.nh => {
                    nhs.release(c.nh);
                    // The protocol's record may be a new one for the same route (other
                    // attributes, the same next hop): kept, and nothing to select again.
                    if !x.same_data(&c.data) {
                        x.data = c.data;
                    }
                    continue;
                }
                Some(x) => {
                    let old = x.nh;
                    *x = x.replaced_by(c);
                    nhs.release(old);
                }
                None => {
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
        entry.set_refresh(active_changed);
        if changed || removed > 0 {
            entry.cands.sort();
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
        for (p, i) in self.routes.iter_from(Bound::Unbounded) {
            let e = &mut self.entries[i as usize];
            if !e.cands.iter().any(|c| through(c.nh)) {
                continue;
            }
            e.set_refresh(true);
            if e.set_dirty() {
                self.dirty.push(p);
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
            let Some(slot) = self.routes.get(prefix) else {
                continue;
            };
            let e = &mut self.entries[slot as usize];
            let refresh = e.take_marks();
            let best = e
                .cands
                .iter()
                .map(|c| ((c.source, c.preference, c.nh), nhs.usable(c.nh)))
                .find(|(_, m)| *m != 0);
            let now_active = best.map(|(c, _)| c.0);
            let now_nh = best.map_or(NO_NH, |(c, _)| c.2.index());
            let was = e.active_source();
            let changed = now_active != was || now_nh != e.fib_nh;
            // (A prefix whose active route is through another set is told again too: harmless.)
            let refresh = refresh && best.is_some();
            if now_active != was {
                match was {
                    Some(w) => e.set_last_active_source(Some(w)),
                    // The active candidate was withdrawn (the FIB still has it): it was the
                    // last active, and it is gone.
                    None if e.fib_nh != NO_NH => e.set_last_active_source(None),
                    None => {}
                }
            }
            e.set_active_source(now_active);
            if changed || refresh {
                let fib = best.map(|((source, preference, nh), usable)| ActiveRoute {
                    protocol: source.protocol,
                    preference,
                    nh,
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
            if e.cands.is_empty() {
                self.remove_entry(&prefix);
            }
        }
    }

    pub fn get(&self, prefix: Prefix<A>) -> Option<&Entry> {
        let i = self.routes.get(prefix)?;
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
    pub fn within(&self, outer: Prefix<A>) -> impl Iterator<Item = (Prefix<A>, &Entry)> {
        self.within_after(outer, None)
    }

    /// The prefixes inside `outer` that come after `after`, in order: a reader that walks a
    /// large table a chunk at a time (letting writers in between) goes on from where it was.
    pub fn within_after(
        &self,
        outer: Prefix<A>,
        after: Option<Prefix<A>>,
    ) -> impl Iterator<Item = (Prefix<A>, &Entry)> {
        let last = Prefix::new(outer.addr().filled(outer.length()), A::BITS);
        let start = match after {
            Some(a) if a >= outer => Bound::Excluded(a),
            _ => Bound::Included(outer),
        };
        self.routes
            .iter_from(start)
            .take_while(move |(p, _)| *p <= last)
            .filter(move |(p, _)| outer.covers(*p))
            .map(|(p, i)| (p, &self.entries[i as usize]))
    }

    pub fn iter(&self) -> impl Iterator<Item = (Prefix<A>, &Entry)> {
        self.routes
            .iter_from(Bound::Unbounded)
            .map(|(p, i)| (p, &self.entries[i as usize]))
    }

    /// Prefixes changed since the last drain.
    pub fn pending(&self) -> usize {
        self.dirty.len()
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
        for (_, i) in self.routes.iter_from(Bound::Unbounded) {
            let e = &self.entries[i as usize];
            s.add(e, nhs);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(id: u32, preference: u32) -> Candidate {
        Candidate::new(
            Source::new(Protocol::Static, id),
            (preference, 0, NhId::from_index(id)),
            0,
        )
    }

    fn ids(c: &Cands) -> Vec<u32> {
        c.iter().map(|c| c.source.id).collect()
    }

    #[test]
    fn a_candidate_list_goes_between_inline_and_boxed_and_keeps_its_order() {
        let mut c = Cands::default();
        assert!(c.is_empty());
        c.push(cand(1, 10));
        assert!(matches!(c, Cands::One(_)));
        c.insert(0, cand(2, 5));
        c.push(cand(3, 20));
        assert!(matches!(c, Cands::Many(ref b) if b.len() == 3));
        assert_eq!(ids(&c), [2, 1, 3]);
        assert_eq!({ c.remove(1).source.id }, 1);
        assert_eq!(ids(&c), [2, 3]);
        let mut seen = Vec::new();
        c.retain(|x| {
            seen.push(x.source.id);
            x.source.id == 3
        });
        assert_eq!(seen, [2, 3], "each candidate is offered once");
        assert!(matches!(c, Cands::One(ref x) if x.source.id == 3));
        c.retain(|_| false);
        assert!(c.is_empty());
    }

    #[test]
    fn a_route_changed_in_place_keeps_what_the_entry_chose() {
        let mut a = cand(1, 10);
        a.flags = ACTIVE | LAST_ACTIVE;
        let b = a.replaced_by(cand(1, 7));
        assert_eq!((b.preference, b.flags), (7, ACTIVE | LAST_ACTIVE));
    }
}
