//! Address families as table keys, and prefixes of them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Bound;

/// An address a table is keyed by: `u32` for inet.0, `u128` for inet6.0 (the same keys the
/// FIB uses, so an update needs no conversion on its way down).
pub trait Addr: Copy + Ord + Eq + Hash + fmt::Debug + Send + Sync + 'static {
    const BITS: u8;
    /// The ordered index of a table of this family (prefix to slab slot).
    type Index: PrefixIndex<Self>;
    /// The address with the bits from `len` on cleared.
    fn masked(self, len: u8) -> Self;
    /// The address with the bits from `len` on set (the last address of the prefix).
    fn filled(self, len: u8) -> Self;
    fn to_ip(self) -> IpAddr;
    /// The address, if `ip` is of this family.
    fn from_ip(ip: IpAddr) -> Option<Self>;
}

impl Addr for u32 {
    const BITS: u8 = 32;
    type Index = PackedIndex;
    fn masked(self, len: u8) -> u32 {
        self & u32::MAX
            .checked_shl(32 - u32::from(len.min(32)))
            .unwrap_or(0)
    }
    fn filled(self, len: u8) -> u32 {
        self | !u32::MAX
            .checked_shl(32 - u32::from(len.min(32)))
            .unwrap_or(0)
    }
    fn to_ip(self) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(self))
    }
    fn from_ip(ip: IpAddr) -> Option<u32> {
        match ip {
            IpAddr::V4(a) => Some(a.into()),
            IpAddr::V6(_) => None,
        }
    }
}

impl Addr for u128 {
    const BITS: u8 = 128;
    type Index = BTreeMap<Prefix<u128>, u32>;
    fn masked(self, len: u8) -> u128 {
        self & u128::MAX
            .checked_shl(128 - u32::from(len.min(128)))
            .unwrap_or(0)
    }
    fn filled(self, len: u8) -> u128 {
        self | !u128::MAX
            .checked_shl(128 - u32::from(len.min(128)))
            .unwrap_or(0)
    }
    fn to_ip(self) -> IpAddr {
        IpAddr::V6(Ipv6Addr::from(self))
    }
    fn from_ip(ip: IpAddr) -> Option<u128> {
        match ip {
            IpAddr::V6(a) => Some(a.into()),
            IpAddr::V4(_) => None,
        }
    }
}

/// A destination prefix: the address is always masked to the length. Ordered as Junos lists
/// routes, by address and then by length (10.0.0.0/8 before 10.0.0.0/24).
///
/// Packed to 8-byte alignment: a `u128` is 16-aligned, which made an IPv6 prefix 32 bytes
/// (16 of them padding) in every table keyed by it (a full table's speaker map and B-tree
/// alike); packed it is 24. The fields are only ever read by value (no reference to a
/// packed field), so the impls below are written out rather than derived.
#[repr(C, packed(8))]
pub struct Prefix<A> {
    addr: A,
    len: u8,
}

impl<A: Copy> Clone for Prefix<A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A: Copy> Copy for Prefix<A> {}

impl<A: Addr> PartialEq for Prefix<A> {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.addr, other.addr);
        a == b && self.len == other.len
    }
}

impl<A: Addr> Eq for Prefix<A> {}

impl<A: Addr> PartialOrd for Prefix<A> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<A: Addr> Ord for Prefix<A> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let (a, b) = (self.addr, other.addr);
        a.cmp(&b).then(self.len.cmp(&other.len))
    }
}

impl<A: Addr> Hash for Prefix<A> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let a = self.addr;
        a.hash(state);
        self.len.hash(state);
    }
}

const _: () = assert!(std::mem::size_of::<Prefix<u128>>() == 24);
const _: () = assert!(std::mem::size_of::<Prefix<u32>>() == 8);

impl<A: Addr> Prefix<A> {
    /// `addr/len`, with host bits cleared; a length past the family's is clamped to it.
    pub fn new(addr: A, len: u8) -> Prefix<A> {
        let len = len.min(A::BITS);
        Prefix {
            addr: addr.masked(len),
            len,
        }
    }

    pub fn addr(self) -> A {
        self.addr
    }

    pub fn length(self) -> u8 {
        self.len
    }

    /// Whether `other` lies inside this prefix (itself included).
    pub fn covers(self, other: Prefix<A>) -> bool {
        let (mine, theirs) = (self.addr, other.addr);
        other.len >= self.len && theirs.masked(self.len) == mine
    }

    pub fn ip(self) -> IpAddr {
        self.addr.to_ip()
    }
}

impl<A: Addr> fmt::Display for Prefix<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr.to_ip(), self.len)
    }
}

impl<A: Addr> fmt::Debug for Prefix<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A prefix of either family, as updates and producers name them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum IpPrefix {
    V4(Prefix<u32>),
    V6(Prefix<u128>),
}

impl IpPrefix {
    /// `ip/len`, host bits cleared.
    pub fn new(ip: IpAddr, len: u8) -> IpPrefix {
        match ip {
            IpAddr::V4(a) => IpPrefix::V4(Prefix::new(a.into(), len)),
            IpAddr::V6(a) => IpPrefix::V6(Prefix::new(a.into(), len)),
        }
    }

    pub fn ip(self) -> IpAddr {
        match self {
            IpPrefix::V4(p) => p.ip(),
            IpPrefix::V6(p) => p.ip(),
        }
    }

    pub fn length(self) -> u8 {
        match self {
            IpPrefix::V4(p) => p.length(),
            IpPrefix::V6(p) => p.length(),
        }
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpPrefix::V4(p) => p.fmt(f),
            IpPrefix::V6(p) => p.fmt(f),
        }
    }
}

/// A table's ordered index: each prefix's slab slot, walked in prefix order.
pub trait PrefixIndex<A: Addr>: Default + Send + Sync {
    /// Slots it can name (a table refuses prefixes past them).
    const MAX_SLOTS: usize;
    fn get(&self, p: Prefix<A>) -> Option<u32>;
    /// Adds `p` (not there) at `slot` (below [`PrefixIndex::MAX_SLOTS`]).
    fn insert(&mut self, p: Prefix<A>, slot: u32);
    fn remove(&mut self, p: Prefix<A>) -> Option<u32>;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The prefixes from `from` on, in order, with their slots.
    fn iter_from(&self, from: Bound<Prefix<A>>) -> impl Iterator<Item = (Prefix<A>, u32)> + '_;
}

impl PrefixIndex<u128> for BTreeMap<Prefix<u128>, u32> {
    const MAX_SLOTS: usize = u32::MAX as usize;
    fn get(&self, p: Prefix<u128>) -> Option<u32> {
        BTreeMap::get(self, &p).copied()
    }
    fn insert(&mut self, p: Prefix<u128>, slot: u32) {
        BTreeMap::insert(self, p, slot);
    }
    fn remove(&mut self, p: Prefix<u128>) -> Option<u32> {
        BTreeMap::remove(self, &p)
    }
    fn len(&self) -> usize {
        BTreeMap::len(self)
    }
    fn iter_from(
        &self,
        from: Bound<Prefix<u128>>,
    ) -> impl Iterator<Item = (Prefix<u128>, u32)> + '_ {
        self.range((from, Bound::Unbounded)).map(|(p, s)| (*p, *s))
    }
}

/// inet.0's index: prefix and slot packed in one `u64` (address, 6 bits of length, 26 of
/// slot), ordered as the prefixes are, in a B-tree set. A leaf of 11 keys is 100 bytes where
/// a map of 8-byte prefixes to 4-byte slots took 144 (and jemalloc's 160): about seven bytes
/// less per IPv4 route of a full table.
#[derive(Debug, Default)]
pub struct PackedIndex(BTreeSet<u64>);

const SLOT_BITS: u32 = 26;
const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;

fn packed(p: Prefix<u32>, slot: u64) -> u64 {
    (u64::from(p.addr()) << 32) | (u64::from(p.length()) << SLOT_BITS) | slot
}

fn unpacked(k: u64) -> (Prefix<u32>, u32) {
    let len = ((k >> SLOT_BITS) & 0x3f) as u8;
    (Prefix::new((k >> 32) as u32, len), (k & SLOT_MASK) as u32)
}

impl PrefixIndex<u32> for PackedIndex {
    const MAX_SLOTS: usize = 1 << SLOT_BITS;
    fn get(&self, p: Prefix<u32>) -> Option<u32> {
        // The last key at or below the prefix's highest: a range open at the start walks down
        // to one leaf (its other end is the leftmost leaf, always cached), where a closed range
        // walked down twice (a tenth of the BGP thread's time in a table load).
        let k = *self.0.range(..=packed(p, SLOT_MASK)).next_back()?;
        (k & !SLOT_MASK == packed(p, 0)).then_some((k & SLOT_MASK) as u32)
    }
    fn insert(&mut self, p: Prefix<u32>, slot: u32) {
        debug_assert!(u64::from(slot) <= SLOT_MASK);
        self.0.insert(packed(p, u64::from(slot) & SLOT_MASK));
    }
    fn remove(&mut self, p: Prefix<u32>) -> Option<u32> {
        let slot = self.get(p)?;
        self.0.remove(&packed(p, u64::from(slot)));
        Some(slot)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn iter_from(&self, from: Bound<Prefix<u32>>) -> impl Iterator<Item = (Prefix<u32>, u32)> + '_ {
        let from = match from {
            Bound::Included(p) => Bound::Included(packed(p, 0)),
            Bound::Excluded(p) => Bound::Excluded(packed(p, SLOT_MASK)),
            Bound::Unbounded => Bound::Unbounded,
        };
        self.0.range((from, Bound::Unbounded)).map(|k| unpacked(*k))
    }
}
