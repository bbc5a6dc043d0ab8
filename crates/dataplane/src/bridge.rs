//! Layer 2: bridge domains (one per VLAN), 802.1Q access and trunk ports, and the MAC table.
//!
//! The control plane publishes the port modes and VLAN memberships ([`L2Tables`]); the worker
//! owns its MAC table ([`Fdb`]) because it learns at line rate: source addresses are learnt
//! (and moved) per packet, aged in the worker's housekeeping, bounded per VLAN.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

pub const ETHERTYPE_VLAN: u16 = 0x8100;

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
}

impl Default for L2Tables {
    fn default() -> Self {
        L2Tables {
            ports: Vec::new(),
            vlans: vec![None; 4096],
        }
    }
}

impl L2Tables {
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
    let vid = match (mode, tag) {
        (PortMode::Access { vlan }, None | Some(0)) => vlan,
        (PortMode::Trunk { native }, None | Some(0)) => native?,
        (PortMode::Trunk { .. }, Some(v)) => v,
        _ => return None,
    };
    l2.vlan(vid)?.member(port)?;
    Some(vid)
}

/// A fast hasher for MAC table keys (VLAN and MAC packed in a u64): a multiply and a fold.
/// The table is bounded per VLAN, so hash flooding buys an attacker nothing it could not get
/// by filling the table.
#[derive(Default)]
pub struct MacHasher(u64);

impl Hasher for MacHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, k: u64) {
        let m = (k ^ (k >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        self.0 = m ^ (m >> 32);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdbEntry {
    pub port: u16,
    /// When the address was last seen, in the worker's milliseconds.
    pub seen: u64,
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

fn key(vid: u16, mac: &[u8]) -> u64 {
    let mut k = u64::from(vid) << 48;
    for (i, b) in mac[..6].iter().enumerate() {
        k |= u64::from(*b) << (40 - 8 * i);
    }
    k
}

/// The MAC table of one worker.
pub struct Fdb {
    map: HashMap<u64, FdbEntry, BuildHasherDefault<MacHasher>>,
    per_vlan: Vec<u32>,
    pub aging_ms: u64,
    pub stats: FdbStats,
}

impl Default for Fdb {
    fn default() -> Self {
        Fdb {
            map: HashMap::with_capacity_and_hasher(16 * 1024, Default::default()),
            per_vlan: vec![0; 4096],
            // Junos's default mac-table-aging-time: 300 seconds.
            aging_ms: 300_000,
            stats: FdbStats::default(),
        }
    }
}

impl Fdb {
    /// Learns (or refreshes, or moves) `mac` in `vid` on `port`.
    #[inline]
    pub fn learn(&mut self, vid: u16, mac: &[u8], port: u16, now: u64, limit: u32) {
        if mac[0] & 1 != 0 {
            return; // a group address is never a source
        }
        let k = key(vid, mac);
        if let Some(e) = self.map.get_mut(&k) {
            if e.port != port {
                e.port = port;
                self.stats.moves += 1;
            }
            e.seen = now;
            return;
        }
        let n = &mut self.per_vlan[usize::from(vid)];
        if *n >= limit {
            self.stats.limit_hits += 1;
            return;
        }
        *n += 1;
        self.stats.learnt += 1;
        self.map.insert(k, FdbEntry { port, seen: now });
    }

    #[inline]
    pub fn lookup(&self, vid: u16, mac: &[u8]) -> Option<u16> {
        self.map.get(&key(vid, mac)).map(|e| e.port)
    }

    /// Removes entries not seen for the aging time, and those of ports no longer in `keep`.
    pub fn age(&mut self, now: u64, keep: impl Fn(u16, u16) -> bool) {
        let aging = self.aging_ms;
        let per_vlan = &mut self.per_vlan;
        let stats = &mut self.stats;
        self.map.retain(|k, e| {
            let vid = (k >> 48) as u16;
            let live = now.saturating_sub(e.seen) < aging && keep(vid, e.port);
            if !live {
                per_vlan[usize::from(vid)] -= 1;
                stats.aged += 1;
            }
            live
        });
    }

    /// `clear ethernet-switching table`.
    pub fn clear(&mut self) {
        self.map.clear();
        self.per_vlan.iter_mut().for_each(|n| *n = 0);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Every entry, sorted by VLAN and MAC.
    pub fn rows(&self, now: u64) -> Vec<FdbRow> {
        let mut v: Vec<FdbRow> = self
            .map
            .iter()
            .map(|(k, e)| {
                let mut mac = [0u8; 6];
                for (i, b) in mac.iter_mut().enumerate() {
                    *b = (k >> (40 - 8 * i)) as u8;
                }
                FdbRow {
                    vlan: (k >> 48) as u16,
                    mac,
                    port: e.port,
                    age_ms: now.saturating_sub(e.seen),
                }
            })
            .collect();
        v.sort_by_key(|r| (r.vlan, r.mac));
        v
    }
}
