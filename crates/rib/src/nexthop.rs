//! Next hops: what a route leads to, interned once per distinct set, with the interfaces they
//! depend on indexed so that a link change finds the sets it touches without a scan.

use std::net::IpAddr;

use smallvec::SmallVec;

/// Looked up once per route received (`via_id`, a million times for a full table): ahash,
/// several times faster than std's SipHash on these keys (profiled: SipHash was a tenth of
/// the control thread's time while a full table loaded). Keys are next-hop addresses, not
/// the routes' prefixes; the hash is still randomly seeded.
type HashMap<K, V> = std::collections::HashMap<K, V, ahash::RandomState>;

/// An interface as the RIB's producers name it. The forwarding plane uses its port slot; the
/// RIB only needs the number to be stable while a route refers to it.
pub type IfId = u32;

/// The most members an equal-cost set keeps (Junos' `maximum-ecmp` is 64 at most too); the
/// usable ones are tracked as a 64-bit mask.
pub const MAX_ECMP: usize = 64;

/// One way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hop {
    /// A connected subnet on this interface: the destination itself is the neighbour.
    Connected(IfId),
    /// One of the box's own addresses, on this interface.
    Local(IfId),
    /// Through a gateway reached on this interface.
    Gateway(IfId, IpAddr),
    /// Drop silently.
    Discard,
    /// Drop and answer ICMP unreachable.
    Reject,
    /// A gateway no interface reaches: never usable, so the route is hidden (Junos hides a
    /// static route whose next hop is not on a connected subnet).
    Unresolved(IpAddr),
}

impl Hop {
    /// The interface the hop needs up, if any.
    pub fn interface(self) -> Option<IfId> {
        match self {
            Hop::Connected(i) | Hop::Local(i) | Hop::Gateway(i, _) => Some(i),
            _ => None,
        }
    }
}

/// An equal-cost set of hops, sorted and without duplicates (so two routes naming the same
/// hops in another order share one interned set).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct NextHops(SmallVec<[Hop; 2]>);

impl NextHops {
    /// The set of `hops`, sorted, duplicates removed, at most [`MAX_ECMP`] kept.
    pub fn new(hops: impl IntoIterator<Item = Hop>) -> NextHops {
        let mut v: SmallVec<[Hop; 2]> = hops.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        v.truncate(MAX_ECMP);
        NextHops(v)
    }

    pub fn one(hop: Hop) -> NextHops {
        NextHops(smallvec::smallvec![hop])
    }

    pub fn hops(&self) -> &[Hop] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The members whose bit is set in `mask`.
    pub fn select(&self, mask: u64) -> NextHops {
        NextHops(
            self.0
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, h)| *h)
                .collect(),
        )
    }
}

/// An interned next-hop set. Ids are reused once no route (and no FIB entry) holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NhId(u32);

impl NhId {
    pub fn index(self) -> u32 {
        self.0
    }

    pub(crate) fn from_index(i: u32) -> NhId {
        NhId(i)
    }
}

struct Slot {
    hops: NextHops,
    refs: u32,
    /// Bit `i`: `hops[i]` can carry traffic now.
    usable: u64,
    /// A recursive set: the protocol next hops (BGP's) that `hops` is the resolution of.
    /// The set is interned by these, not by its hops, and its hops change in place when the
    /// routes they resolve through change (BIRD's host cache; every route through the set
    /// follows at once).
    via: Option<Box<[IpAddr]>>,
}

/// The interned next-hop sets and the state of the interfaces they use.
#[derive(Default)]
pub struct NextHopTable {
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    by_hops: HashMap<NextHops, NhId>,
    /// Recursive sets by their protocol next hops (sorted, without duplicates).
    by_via: HashMap<Box<[IpAddr]>, NhId>,
    /// Interface -> the sets with a member on it.
    by_if: HashMap<IfId, Vec<NhId>>,
    /// Interfaces that are up (absent: down).
    up: HashMap<IfId, bool>,
}

impl NextHopTable {
    fn hop_usable(&self, h: Hop) -> bool {
        match h {
            Hop::Discard | Hop::Reject => true,
            Hop::Unresolved(_) => false,
            h => h
                .interface()
                .is_some_and(|i| self.up.get(&i).copied().unwrap_or(false)),
        }
    }

    fn mask_of(&self, hops: &NextHops) -> u64 {
        hops.0
            .iter()
            .enumerate()
            .filter(|(_, h)| self.hop_usable(**h))
            .fold(0, |m, (i, _)| m | 1 << i)
    }

    /// The id of `hops`, with one more reference held by the caller.
    pub fn intern(&mut self, hops: NextHops) -> NhId {
        if let Some(&id) = self.by_hops.get(&hops) {
            self.slot_mut(id).refs += 1;
            return id;
        }
        let id = self.insert(hops.clone(), None);
        self.by_hops.insert(hops, id);
        id
    }

    /// The id of the recursive set of protocol next hops `via` (sorted, no duplicates),
    /// with one more reference held by the caller; `hops` is its resolution if it is new.
    pub fn intern_via(&mut self, via: &[IpAddr], hops: NextHops) -> NhId {
        if let Some(&id) = self.by_via.get(via) {
            self.slot_mut(id).refs += 1;
            return id;
        }
        let id = self.insert(hops, Some(via.into()));
        self.by_via.insert(via.into(), id);
        id
    }

    fn insert(&mut self, hops: NextHops, via: Option<Box<[IpAddr]>>) -> NhId {
        let usable = self.mask_of(&hops);
        let slot = Slot {
            hops,
            refs: 1,
            usable,
            via,
        };
        let id = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(slot);
                NhId(i)
            }
            None => {
                self.slots.push(Some(slot));
                NhId(self.slots.len() as u32 - 1)
            }
        };
        self.index_interfaces(id);
        id
    }

    fn interfaces_of(hops: &NextHops) -> SmallVec<[IfId; 4]> {
        let mut ifs: SmallVec<[IfId; 4]> = hops.0.iter().filter_map(|h| h.interface()).collect();
        ifs.sort_unstable();
        ifs.dedup();
        ifs
    }

    fn index_interfaces(&mut self, id: NhId) {
        for i in Self::interfaces_of(&self.slot(id).hops) {
            self.by_if.entry(i).or_default().push(id);
        }
    }

    fn unindex_interfaces(&mut self, id: NhId) {
        for i in Self::interfaces_of(&self.slot(id).hops) {
            if let Some(v) = self.by_if.get_mut(&i) {
                v.retain(|x| *x != id);
                if v.is_empty() {
                    self.by_if.remove(&i);
                }
            }
        }
    }

    /// The recursive set of `via`, if there is one.
    pub fn via_id(&self, via: &[IpAddr]) -> Option<NhId> {
        self.by_via.get(via).copied()
    }

    /// The recursive sets and their protocol next hops.
    pub fn recursive(&self) -> Vec<(NhId, Box<[IpAddr]>)> {
        self.by_via.iter().map(|(v, id)| (*id, v.clone())).collect()
    }

    /// The protocol next hops of a recursive set (None: not recursive).
    pub fn via(&self, id: NhId) -> Option<&[IpAddr]> {
        self.slot(id).via.as_deref()
    }

    /// Gives a recursive set its new resolution; false if it is what it was.
    pub fn resolve_again(&mut self, id: NhId, hops: NextHops) -> bool {
        if self.slot(id).hops == hops {
            return false;
        }
        self.unindex_interfaces(id);
        let usable = self.mask_of(&hops);
        let slot = self.slot_mut(id);
        slot.hops = hops;
        slot.usable = usable;
        self.index_interfaces(id);
        true
    }

    /// One more reference to `id`.
    pub fn hold(&mut self, id: NhId) {
        self.slot_mut(id).refs += 1;
    }

    /// Drops a reference; the set goes when the last one does.
    pub fn release(&mut self, id: NhId) {
        let slot = self.slot_mut(id);
        slot.refs -= 1;
        if slot.refs > 0 {
            return;
        }
        self.unindex_interfaces(id);
        let Some(slot) = self.slots[id.0 as usize].take() else {
            return;
        };
        match slot.via {
            Some(via) => self.by_via.remove(&via),
            None => self.by_hops.remove(&slot.hops),
        };
        self.free.push(id.0);
    }

    fn slot_mut(&mut self, id: NhId) -> &mut Slot {
        self.slots[id.0 as usize]
            .as_mut()
            .expect("next-hop id held by a route")
    }

    fn slot(&self, id: NhId) -> &Slot {
        self.slots[id.0 as usize]
            .as_ref()
            .expect("next-hop id held by a route")
    }

    pub fn hops(&self, id: NhId) -> &NextHops {
        &self.slot(id).hops
    }

    /// Which members can carry traffic (0: none, the route is hidden).
    pub fn usable(&self, id: NhId) -> u64 {
        self.slot(id).usable
    }

    /// Sets an interface's state; returns the sets whose usable members changed.
    pub fn set_interface(&mut self, ifid: IfId, up: bool) -> Vec<NhId> {
        if self.up.insert(ifid, up) == Some(up) || (!up && !self.by_if.contains_key(&ifid)) {
            return Vec::new();
        }
        let ids = self.by_if.get(&ifid).cloned().unwrap_or_default();
        let mut changed = Vec::new();
        for id in ids {
            let mask = self.mask_of(&self.slot(id).hops);
            let slot = self.slot_mut(id);
            if slot.usable != mask {
                slot.usable = mask;
                changed.push(id);
            }
        }
        changed
    }

    pub fn interface_up(&self, ifid: IfId) -> bool {
        self.up.get(&ifid).copied().unwrap_or(false)
    }

    /// A membership map of `ids`, indexed by set id (for a walk of a table).
    pub(crate) fn mark_of(&self, ids: &[NhId]) -> Vec<bool> {
        let mut m = vec![false; self.slots.len()];
        for id in ids {
            m[id.0 as usize] = true;
        }
        m
    }

    /// Interned sets (for memory accounting and tests).
    pub fn len(&self) -> usize {
        self.by_hops.len() + self.by_via.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
