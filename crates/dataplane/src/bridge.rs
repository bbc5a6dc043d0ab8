//! Layer 2: bridge domains (one per VLAN), 802.1Q access and trunk ports, and the MAC table.
//!
//! The control plane publishes the port modes and VLAN memberships ([`L2Tables`]); the worker
//! owns its MAC table ([`Fdb`]) because it learns at line rate: source addresses are learnt
//! (and moved) per packet, aged in the worker's housekeeping, bounded per VLAN.

pub const ETHERTYPE_VLAN: u16 = savin_wire::ethernet::VLAN;

/// How a port takes part in switching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PortMode {
    /// An L3 port: frames go to the IP pipeline.
    #[default]
    Routed,
    /// Untagged frames belong to `vlan`; tagged frames are dropped.
    Access { vlan: u16 },
    /// Tagged frames of member VLANs; untagged frames belong to `native`, if set.
    Trunk { native: Option<u16> },
    /// The routed interface of `vlan` (no I/O of its own: frames to it leave by the bridge).
    Irb { vlan: u16 },
    /// The kernel's side (a TAP) of port `phy`: what the kernel sends leaves by `phy` as it is.
    Host { phy: u16 },
    /// `lo0`: the box's own addresses, on no wire (no I/O; routes to them are local).
    Loopback,
}

/// A VLAN's bridge domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VlanInfo {
    /// Member ports, and whether frames leave them tagged.
    pub members: Vec<(u16, bool)>,
    /// The IRB: its port slot and MAC.
    pub irb: Option<(u16, [u8; 6])>,
    /// MAC addresses learnt at most (`switch-options mac-table-size`).
    pub mac_limit: u32,
}

impl VlanInfo {
    #[inline]
    pub fn member(&self, port: u16) -> Option<bool> {
        self.members
            .iter()
            .find(|(p, _)| *p == port)
            .map(|(_, tagged)| *tagged)
    }
}

/// What the data plane needs to switch, published by the control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L2Tables {
    /// Indexed by port slot; missing slots are routed.
    pub ports: Vec<PortMode>,
    /// Indexed by VLAN ID (0..4096).
    pub vlans: Vec<Option<VlanInfo>>,
    /// Indexed by port slot: the slot of its host interface (TAP), where frames for the
    /// box's own sockets go straight from the worker.
    pub host_tap: Vec<Option<u16>>,
}

impl Default for L2Tables {
    fn default() -> Self {
        L2Tables {
            ports: Vec::new(),
            vlans: vec![None; 4096],
            host_tap: Vec::new(),
        }
    }
}

impl L2Tables {
    /// The host interface (TAP) of a port, if it has one.
    #[inline]
    pub fn host_tap(&self, port: u16) -> Option<u16> {
        self.host_tap.get(usize::from(port)).copied().flatten()
    }

    #[inline]
    pub fn mode(&self, port: u16) -> PortMode {
        self.ports
            .get(usize::from(port))
            .copied()
            .unwrap_or_default()
    }

    #[inline]
    pub fn vlan(&self, vid: u16) -> Option<&VlanInfo> {
        self.vlans.get(usize::from(vid)).and_then(Option::as_ref)
    }
}

/// The VLAN of a frame received on a port in `mode`, or None if the port does not take it.
/// `tag` is the frame's 802.1Q VLAN ID, if it carries one (0: priority-tagged).
#[inline]
pub fn classify(mode: PortMode, tag: Option<u16>, l2: &L2Tables, port: u16) -> Option<u16> {
    let vid = port_vlan(mode, tag)?;
    l2.vlan(vid)?.member(port)?;
    Some(vid)
}

/// The VLAN a frame would belong to by the port's mode and its tag alone (membership not
/// checked): enough to know which MAC table slots to prefetch.
#[inline(always)]
pub fn port_vlan(mode: PortMode, tag: Option<u16>) -> Option<u16> {
    match (mode, tag) {
        (PortMode::Access { vlan }, None | Some(0)) => Some(vlan),
        (PortMode::Trunk { native }, None | Some(0)) => native,
        (PortMode::Trunk { .. }, Some(v)) => Some(v),
        _ => None,
    }
}

/// One row of `show ethernet-switching table`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdbRow {
    pub vlan: u16,
    pub mac: [u8; 6],
    pub port: u16,
    pub age_ms: u64,
}

/// MAC table counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FdbStats {
    pub learnt: u64,
    pub moves: u64,
    /// Addresses not learnt because their VLAN's table was full.
    pub limit_hits: u64,
    pub aged: u64,
}

/// The table key: VLAN and MAC packed in a u64, with the top bit set so that no key is 0
/// (0 marks an empty slot).
#[inline(always)]
fn key(vid: u16, mac: &[u8]) -> u64 {
    let m = u64::from(u32::from_be_bytes([mac[0], mac[1], mac[2], mac[3]])) << 16
        | u64::from(u16::from_be_bytes([mac[4], mac[5]]));
    1 << 63 | u64::from(vid) << 48 | m
}

/// One slot: 16 bytes, four to a cache line.
#[derive(Clone, Copy, Default)]
struct Slot {
    key: u64,
    /// When the address was last seen: the worker's milliseconds, truncated (ages are
    /// computed with wrapping arithmetic; entries never live anywhere near 49 days unseen).
    seen: u32,
    port: u16,
}

/// The MAC table of one worker.
///
/// Open addressing with linear probing, at most half full, written here rather than taken
/// from `HashMap` because the switching stage prefetches the slots of a whole batch (source
/// and destination of every frame) before it touches any of them; with 10k addresses the
/// table is larger than L2 and each probe would otherwise wait on L3. Removal shifts the
/// following entries back (no tombstones), so probe sequences stay short under churn. The
/// hash is keyed per table from the OS's randomness, so hosts cannot choose addresses that
/// collide; the table is bounded per VLAN in any case.
pub struct Fdb {
    slots: Vec<Slot>,
    mask: usize,
    len: usize,
    seed: u64,
    per_vlan: Vec<u32>,
    pub aging_ms: u64,
    pub stats: FdbStats,
}

impl Default for Fdb {
    fn default() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x5a71);
        Fdb {
            slots: vec![Slot::default(); 1 << 14],
            mask: (1 << 14) - 1,
            len: 0,
            seed: h.finish() | 1,
            per_vlan: vec![0; 4096],
            // Junos's default mac-table-aging-time: 300 seconds.
            aging_ms: 300_000,
            stats: FdbStats::default(),
        }
    }
}

impl Fdb {
    #[inline(always)]
    fn home(&self, k: u64) -> usize {
        let h = (k ^ self.seed).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h ^ (h >> 29)) as usize & self.mask
    }

    /// The slot holding `k`, or the empty slot where it would go.
    #[inline(always)]
    fn find(&self, k: u64) -> (usize, bool) {
        let mut i = self.home(k);
        loop {
            let s = self.slots[i].key;
            if s == k {
                return (i, true);
            }
            if s == 0 {
                return (i, false);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Starts loading the slot of `mac` in `vid`, for a lookup or learn a little later.
    #[inline(always)]
    pub fn prefetch(&self, vid: u16, mac: &[u8]) {
        savin_fib::prefetch(&self.slots[self.home(key(vid, mac))]);
    }

    /// Learns (or refreshes, or moves) `mac` in `vid` on `port`.
    #[inline(always)]
    pub fn learn(&mut self, vid: u16, mac: &[u8], port: u16, now: u64, limit: u32) {
        if mac[0] & 1 != 0 {
            return; // a group address is never a source
        }
        let k = key(vid, mac);
        let (i, found) = self.find(k);
        if found {
            let e = &mut self.slots[i];
            if e.port != port {
                e.port = port;
                self.stats.moves += 1;
            }
            e.seen = now as u32;
            return;
        }
        let n = &mut self.per_vlan[usize::from(vid)];
        if *n >= limit {
            self.stats.limit_hits += 1;
            return;
        }
        *n += 1;
        self.stats.learnt += 1;
        self.slots[i] = Slot {
            key: k,
            seen: now as u32,
            port,
        };
        self.len += 1;
        if self.len * 2 > self.slots.len() {
            self.grow();
        }
    }

    /// Doubles the table. Learning a new address is the only way here, so this is amortised
    /// over the addresses learnt, and bounded by the per-VLAN limits.
    #[cold]
    fn grow(&mut self) {
        let bigger = vec![Slot::default(); self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, bigger);
        self.mask = self.slots.len() - 1;
        for s in old.into_iter().filter(|s| s.key != 0) {
            let (i, _) = self.find(s.key);
            self.slots[i] = s;
        }
    }

    #[inline]
    pub fn lookup(&self, vid: u16, mac: &[u8]) -> Option<u16> {
        match self.find(key(vid, mac)) {
            (i, true) => Some(self.slots[i].port),
            _ => None,
        }
    }

    /// Empties slot `i` and shifts back the entries after it whose probe passed through it.
    fn remove_at(&mut self, i: usize) {
        let empty = savin_session::probe::close_hole(
            self,
            self.mask,
            i,
            |t, j| {
                let k = t.slots[j].key;
                (k != 0).then(|| t.home(k))
            },
            |t, from, to| t.slots[to] = t.slots[from],
        );
        self.slots[empty] = Slot::default();
        self.len -= 1;
    }

    /// Removes entries not seen for the aging time, and those of ports no longer in `keep`.
    pub fn age(&mut self, now: u64, keep: impl Fn(u16, u16) -> bool) {
        let mut i = 0;
        while i < self.slots.len() {
            let s = self.slots[i];
            let vid = ((s.key >> 48) & 0x0fff) as u16;
            let age = u64::from((now as u32).wrapping_sub(s.seen));
            if s.key != 0 && (age >= self.aging_ms || !keep(vid, s.port)) {
                self.per_vlan[usize::from(vid)] -= 1;
                self.stats.aged += 1;
                // An entry may shift back into slot i: look at it again.
                self.remove_at(i);
                continue;
            }
            i += 1;
        }
    }

    /// `clear ethernet-switching table`.
    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = Slot::default());
        self.len = 0;
        self.per_vlan.iter_mut().for_each(|n| *n = 0);
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every entry, sorted by VLAN and MAC.
    pub fn rows(&self, now: u64) -> Vec<FdbRow> {
        let mut v: Vec<FdbRow> = self
            .slots
            .iter()
            .filter(|s| s.key != 0)
            .map(|s| {
                let mut mac = [0u8; 6];
                for (i, b) in mac.iter_mut().enumerate() {
                    *b = (s.key >> (40 - 8 * i)) as u8;
                }
                FdbRow {
                    vlan: ((s.key >> 48) & 0x0fff) as u16,
                    mac,
                    port: s.port,
                    age_ms: u64::from((now as u32).wrapping_sub(s.seen)),
                }
            })
            .collect();
        v.sort_by_key(|r| (r.vlan, r.mac));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[derive(Debug, Clone)]
    enum Op {
        Learn {
            vid: u16,
            mac: u8,
            port: u16,
        },
        /// Age at this time, dropping also the entries of port `drop_port`.
        Age {
            advance_ms: u64,
            drop_port: u16,
        },
        Clear,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            8 => (1u16..4, any::<u8>(), 0u16..4).prop_map(|(vid, mac, port)| Op::Learn { vid, mac, port }),
            2 => (0u64..200_000, 0u16..6).prop_map(|(advance_ms, drop_port)| Op::Age { advance_ms, drop_port }),
            1 => Just(Op::Clear),
        ]
    }

    proptest! {
        /// The open-addressing table (growth, backward-shift removal, limits, moves) behaves as
        /// a plain map of (VLAN, MAC) to (port, last seen) would.
        #[test]
        fn the_mac_table_agrees_with_a_map(ops in prop::collection::vec(op(), 1..600)) {
            // Small tables so that growth and wrap-around happen.
            let mut fdb = Fdb { slots: vec![Slot::default(); 8], mask: 7, ..Fdb::default() };
            let limit = 150;
            let mut model: HashMap<(u16, [u8; 6]), (u16, u64)> = HashMap::new();
            let mut now = 1_000u64;
            for op in ops {
                match op {
                    Op::Learn { vid, mac, port } => {
                        let m = [2, 0, 0, 0, mac >> 4, mac];
                        fdb.learn(vid, &m, port, now, limit);
                        let in_vlan = model.keys().filter(|(v, _)| *v == vid).count();
                        if let Some(e) = model.get_mut(&(vid, m)) {
                            *e = (port, now);
                        } else if in_vlan < limit as usize {
                            model.insert((vid, m), (port, now));
                        }
                    }
                    Op::Age { advance_ms, drop_port } => {
                        now += advance_ms;
                        fdb.age(now, |_, p| p != drop_port);
                        model.retain(|_, (p, seen)| now - *seen < 300_000 && *p != drop_port);
                    }
                    Op::Clear => {
                        fdb.clear();
                        model.clear();
                    }
                }
                now += 1;
                prop_assert_eq!(fdb.len(), model.len());
                for ((vid, mac), (port, _)) in &model {
                    prop_assert_eq!(fdb.lookup(*vid, mac), Some(*port));
                }
            }
            let rows = fdb.rows(now);
            prop_assert_eq!(rows.len(), model.len());
            for r in rows {
                let (port, seen) = model[&(r.vlan, r.mac)];
                prop_assert_eq!(r.port, port);
                prop_assert_eq!(r.age_ms, now - seen);
            }
        }
    }
}
