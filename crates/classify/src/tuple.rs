//! TupleMerge: rules in a few hash tables keyed by fields masked to each table's tuple.

use std::collections::HashMap;

use crate::addr::Addr;
use crate::rule::{Header, Rule};

/// Bits fixed per field: source, destination, source port, destination port, protocol.
type Tuple = [u8; 5];

/// Rules that may share one bucket before a rule is sent to another table: the bound on the
/// full checks a probe makes.
const BUCKET_LIMIT: usize = 32;
/// A new table fixes address bits in steps of this many: rules /24 to /31 share a /24 table
/// (checked in full), so a policy of many host routes does not need 33 tables per field.
const ADDR_STEP: u8 = 16;

fn tuple_of<A: Addr>(r: &Rule<A>) -> Tuple {
    [
        r.src.len,
        r.dst.len,
        r.sport.prefix_len(),
        r.dport.prefix_len(),
        if r.proto.is_some() { 8 } else { 0 },
    ]
}

/// The tuples a new table for a rule of tuple `t` may take, least specific first: fewer
/// bits fixed lets more of the rules that follow merge into it (addresses in steps of
/// `ADDR_STEP`, ports left to the full check), more bits fixed spreads rules over more
/// buckets. A new table takes the first of these that no table has yet: a table of the same
/// tuple already refused the rule (its bucket was full), and another would refuse it too.
fn relaxations(t: Tuple) -> [Tuple; 5] {
    let addr = |l: u8, step: u8| l - l % step;
    let port = |l: u8| if l == 16 { 16 } else { 0 };
    [
        [addr(t[0], ADDR_STEP), addr(t[1], ADDR_STEP), 0, 0, t[4]],
        [
            addr(t[0], ADDR_STEP),
            addr(t[1], ADDR_STEP),
            port(t[2]),
            port(t[3]),
            t[4],
        ],
        [addr(t[0], 8), addr(t[1], 8), port(t[2]), port(t[3]), t[4]],
        [addr(t[0], 4), addr(t[1], 4), t[2], t[3], t[4]],
        t,
    ]
}

fn fits(table: Tuple, rule: Tuple) -> bool {
    table.iter().zip(rule).all(|(t, r)| *t <= r)
}

fn port_mask(len: u8) -> u16 {
    u16::MAX
        .checked_shl(16 - u32::from(len.min(16)))
        .unwrap_or(0)
}

fn key_mask<A: Addr>(t: Tuple) -> A::Key {
    A::pack(
        A::mask(t[0]),
        A::mask(t[1]),
        port_mask(t[2]),
        port_mask(t[3]),
        if t[4] == 8 { 0xff } else { 0 },
    )
}

fn rule_key<A: Addr>(r: &Rule<A>) -> A::Key {
    A::pack(
        r.src.addr,
        r.dst.addr,
        r.sport.lo,
        r.dport.lo,
        r.proto.unwrap_or(0),
    )
}

/// One bucket: its key and its rules (`start..start + len` in the arena, best first).
#[derive(Clone, Copy, Default)]
struct Slot<K> {
    key: K,
    start: u32,
    /// 0: an empty slot.
    len: u32,
}

struct Table<A: Addr> {
    mask: A::Key,
    /// The best (lowest) rule index in the table: tables are visited in this order and the
    /// search stops at the first whose best cannot beat what was found.
    best: u32,
    slots: Box<[Slot<A::Key>]>,
    slot_mask: usize,
    /// A Bloom filter over the table's keys (two bits a key, 16 bits a key in all): most
    /// probes are for keys the table does not have, and the filter answers those from a few
    /// kilobytes that stay in L1, where the slots would be a cache miss.
    bloom: Box<[u64]>,
    bloom_mask: u64,
    tuple: Tuple,
}

/// The two filter bits of a key's hash: from its high bits, independent of the slot index.
#[inline(always)]
fn bloom_bits(h: u64, mask: u64) -> (u64, u64) {
    ((h >> 40) & mask, (h >> 20) & mask)
}

impl<A: Addr> Table<A> {
    #[inline(always)]
    fn may_have(&self, h: u64) -> bool {
        let (a, b) = bloom_bits(h, self.bloom_mask);
        let bit = |i: u64| self.bloom[(i >> 6) as usize] >> (i & 63) & 1;
        bit(a) & bit(b) != 0
    }

    #[inline(always)]
    fn find_from(&self, k: A::Key, mut i: usize) -> Option<Slot<A::Key>> {
        loop {
            let s = self.slots[i];
            if s.len == 0 {
                return None;
            }
            if s.key == k {
                return Some(s);
            }
            i = (i + 1) & self.slot_mask;
        }
    }
}

/// Sizes, for `show security policies` style reports and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassifierStats {
    pub rules: usize,
    pub tables: usize,
    pub buckets: usize,
    pub largest_bucket: usize,
    pub bytes: usize,
}

/// A rule as a bucket holds it: masks and bounds ready for a branch-free check, and its
/// index. 32 bytes, stored bucket after bucket, so a bucket's check reads consecutive lines
/// instead of chasing indices into the rule list.
#[derive(Clone, Copy)]
#[repr(C, align(32))]
struct Compiled<A: Addr> {
    src: A,
    src_mask: A,
    dst: A,
    dst_mask: A,
    sport: (u16, u16),
    dport: (u16, u16),
    index: u32,
    proto: u8,
    proto_mask: u8,
}

impl<A: Addr> Compiled<A> {
    fn new(r: &Rule<A>, index: u32) -> Compiled<A> {
        Compiled {
            src: r.src.addr,
            src_mask: A::mask(r.src.len),
            dst: r.dst.addr,
            dst_mask: A::mask(r.dst.len),
            sport: (r.sport.lo, r.sport.hi),
            dport: (r.dport.lo, r.dport.hi),
            index,
            proto: r.proto.unwrap_or(0),
            proto_mask: if r.proto.is_some() { 0xff } else { 0 },
        }
    }

    #[inline(always)]
    fn matches(&self, h: &Header<A>) -> bool {
        (h.src & self.src_mask == self.src)
            & (h.dst & self.dst_mask == self.dst)
            & (h.proto & self.proto_mask == self.proto)
            & (self.sport.0 <= h.sport)
            & (h.sport <= self.sport.1)
            & (self.dport.0 <= h.dport)
            & (h.dport <= self.dport.1)
    }
}

/// A compiled rule set, IPv4 (`u32`) or IPv6 (`u128`). Build with [`Classifier::new`];
/// immutable afterwards.
pub struct Classifier<A: Addr = u32> {
    tables: Vec<Table<A>>,
    /// The rules, bucket after bucket, best first within each.
    arena: Box<[Compiled<A>]>,
    rules: usize,
}

impl<A: Addr> Classifier<A> {
    /// Compiles `rules` (index 0 has the highest priority).
    pub fn new(rules: &[Rule<A>]) -> Classifier<A> {
        struct Building<A: Addr> {
            tuple: Tuple,
            mask: A::Key,
            best: u32,
            buckets: HashMap<A::Key, Vec<u32>>,
        }
        let mut building: Vec<Building<A>> = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let rt = tuple_of(r);
            let key = rule_key(r);
            let placed = building.iter_mut().any(|t| {
                if !fits(t.tuple, rt) {
                    return false;
                }
                let b = t.buckets.entry(key & t.mask).or_default();
                if b.len() >= BUCKET_LIMIT {
                    return false;
                }
                b.push(i as u32);
                true
            });
            if !placed {
                let tuple = relaxations(rt)
                    .into_iter()
                    .find(|c| building.iter().all(|t| t.tuple != *c))
                    .unwrap_or(rt);
                let mask = key_mask::<A>(tuple);
                let mut buckets = HashMap::new();
                buckets.insert(key & mask, vec![i as u32]);
                building.push(Building {
                    tuple,
                    mask,
                    best: i as u32,
                    buckets,
                });
            }
        }
        let mut arena = Vec::with_capacity(rules.len());
        let mut tables: Vec<Table<A>> = building
            .into_iter()
            .map(|b| {
                let n = (b.buckets.len() * 2).next_power_of_two().max(2);
                let mut slots = vec![Slot::default(); n].into_boxed_slice();
                let bloom_bits_n = (b.buckets.len() * 16).next_power_of_two().max(64) as u64;
                let mut bloom = vec![0u64; (bloom_bits_n / 64) as usize].into_boxed_slice();
                // Sorted so that the arena (and the build) does not depend on hash order.
                let mut buckets: Vec<(A::Key, Vec<u32>)> = b.buckets.into_iter().collect();
                buckets.sort_by_key(|(_, v)| v[0]);
                for (key, rs) in buckets {
                    let (x, y) = bloom_bits(A::key_hash(key), bloom_bits_n - 1);
                    bloom[(x >> 6) as usize] |= 1 << (x & 63);
                    bloom[(y >> 6) as usize] |= 1 << (y & 63);
                    let mut j = A::key_hash(key) as usize & (n - 1);
                    while slots[j].len != 0 {
                        j = (j + 1) & (n - 1);
                    }
                    slots[j] = Slot {
                        key,
                        start: arena.len() as u32,
                        len: rs.len() as u32,
                    };
                    arena.extend(rs.iter().map(|&i| Compiled::new(&rules[i as usize], i)));
                }
                Table {
                    mask: b.mask,
                    best: b.best,
                    slots,
                    slot_mask: n - 1,
                    bloom,
                    bloom_mask: bloom_bits_n - 1,
                    tuple: b.tuple,
                }
            })
            .collect();
        tables.sort_by_key(|t| t.best);
        Classifier {
            tables,
            arena: arena.into_boxed_slice(),
            rules: rules.len(),
        }
    }

    /// The index of the first rule that matches `h`, as [`crate::Linear`] would answer.
    #[inline]
    pub fn classify(&self, h: &Header<A>) -> Option<u32> {
        let key = A::pack(h.src, h.dst, h.sport, h.dport, h.proto);
        let mut best = u32::MAX;
        for t in &self.tables {
            if t.best >= best {
                break;
            }
            let k = key & t.mask;
            let hk = A::key_hash(k);
            if !t.may_have(hk) {
                continue;
            }
            let start = hk as usize & t.slot_mask;
            let Some(s) = t.find_from(k, start) else {
                continue;
            };
            let rules = &self.arena[s.start as usize..(s.start + s.len) as usize];
            for r in rules {
                if r.index >= best {
                    break;
                }
                if r.matches(h) {
                    best = r.index;
                    break;
                }
            }
        }
        (best != u32::MAX).then_some(best)
    }

    /// What classifying `h` costs: tables visited, slots read (visits the filter let
    /// through), rules checked. For benchmarks and tuning; `classify` does the same walk.
    pub fn work(&self, h: &Header<A>) -> (usize, usize, usize) {
        let key = A::pack(h.src, h.dst, h.sport, h.dport, h.proto);
        let mut best = u32::MAX;
        let mut w = (0, 0, 0);
        for t in &self.tables {
            if t.best >= best {
                break;
            }
            w.0 += 1;
            let k = key & t.mask;
            let hk = A::key_hash(k);
            if !t.may_have(hk) {
                continue;
            }
            w.1 += 1;
            let Some(s) = t.find_from(k, hk as usize & t.slot_mask) else {
                continue;
            };
            for r in &self.arena[s.start as usize..(s.start + s.len) as usize] {
                if r.index >= best {
                    break;
                }
                w.2 += 1;
                if r.matches(h) {
                    best = r.index;
                    break;
                }
            }
        }
        w
    }

    pub fn stats(&self) -> ClassifierStats {
        ClassifierStats {
            rules: self.rules,
            tables: self.tables.len(),
            buckets: self
                .tables
                .iter()
                .map(|t| t.slots.iter().filter(|s| s.len > 0).count())
                .sum(),
            largest_bucket: self
                .tables
                .iter()
                .flat_map(|t| t.slots.iter().map(|s| s.len as usize))
                .max()
                .unwrap_or(0),
            bytes: self
                .tables
                .iter()
                .map(|t| {
                    t.slots.len() * std::mem::size_of::<Slot<A::Key>>()
                        + t.bloom.len() * 8
                        + std::mem::size_of::<Table<A>>()
                })
                .sum::<usize>()
                + self.arena.len() * std::mem::size_of::<Compiled<A>>(),
        }
    }

    /// The tuples of the tables, best first (for tests and tuning).
    pub fn tuples(&self) -> Vec<[u8; 5]> {
        self.tables.iter().map(|t| t.tuple).collect()
    }
}
