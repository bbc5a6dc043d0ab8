//! Address families as keys: a fixed number of bits read from the top, and how each family
//! indexes the direct-pointing array.

/// IPv4: the top 18 bits, as the Poptrie paper found best (a /24 is a leaf of the first node).
const V4_DIRECT: u8 = 18;

/// IPv6 global unicast (2000::/3, `001`), where the whole routed Internet lives, gets a direct
/// array of its own over bits 3..24: 24 bits resolved for the price of 21, so a /48 is four
/// node levels below it instead of five and a /32 two instead of three. Measured on the full
/// table: the 18-bit array spent two levels on nodes every lookup reads.
const V6_GLOBAL: u128 = 0b001;
const V6_GLOBAL_DIRECT: u8 = 24;
const V6_GLOBAL_SLOT_BITS: u8 = V6_GLOBAL_DIRECT - 3;
const V6_GLOBAL_MASK: usize = (1 << V6_GLOBAL_SLOT_BITS) - 1;
/// Everything else (link-local, ULA, multicast, ::/3) by its top 18 bits, after the global array.
const V6_OTHER_DIRECT: u8 = 18;
const V6_OTHER_BASE: usize = 1 << V6_GLOBAL_SLOT_BITS;

/// The slots of a `bits`-bit direct array that `first`'s prefix of length `len` covers.
fn span(first: usize, len: u8, bits: u8) -> std::ops::Range<usize> {
    if len >= bits {
        first..first + 1
    } else {
        let count = 1usize << (bits - len);
        let first = first & !(count - 1);
        first..first + count
    }
}

/// An address that the tables can index.
pub trait Key: Copy + Eq + Ord + std::fmt::Debug + Send + Sync + 'static {
    const BITS: u8;
    /// Entries of the direct-pointing array.
    const SLOTS: usize;
    /// The direct-pointing entry for this key, and how many of its top bits that entry
    /// resolves (where the nodes below it start).
    fn slot(self) -> (usize, u8);
    /// The prefix slot `slot` stands for, or `None` for a slot no key uses.
    fn slot_prefix(slot: usize) -> Option<(Self, u8)>;
    /// The slots that keys inside `self/len` use (`self` masked to `len`): at most two
    /// ranges, because a short IPv6 prefix can span both of its direct arrays.
    fn slots_of(self, len: u8) -> [std::ops::Range<usize>; 2];
    /// The top `n` bits (the direct-pointing index), `n` <= 24.
    fn top(self, n: u8) -> usize;
    /// Six bits starting at bit `off` from the top; bits past the end read as zero.
    fn six(self, off: u8) -> u32;
    /// The 64 bits starting at bit `start` from the top (zeros past the end): the lookup
    /// reads its six-bit strides from this instead of shifting the whole key each level.
    fn window(self, start: u8) -> u64;
    /// Bit `i` from the top.
    fn bit(self, i: u8) -> usize;
    /// The address with bits from `len` on cleared.
    fn masked(self, len: u8) -> Self;
    /// The address whose top `n` bits are `slot` and the rest zero.
    fn from_top(slot: usize, n: u8) -> Self;
    /// The address with bit `i` from the top set.
    fn with_bit(self, i: u8) -> Self;
}

impl Key for u32 {
    const BITS: u8 = 32;
    const SLOTS: usize = 1 << V4_DIRECT;
    #[inline(always)]
    fn slot(self) -> (usize, u8) {
        (self.top(V4_DIRECT), V4_DIRECT)
    }
    fn slot_prefix(slot: usize) -> Option<(Self, u8)> {
        Some((Self::from_top(slot, V4_DIRECT), V4_DIRECT))
    }
    fn slots_of(self, len: u8) -> [std::ops::Range<usize>; 2] {
        [span(self.top(V4_DIRECT), len, V4_DIRECT), 0..0]
    }
    #[inline(always)]
    fn top(self, n: u8) -> usize {
        (self >> (32 - n)) as usize
    }
    #[inline(always)]
    fn six(self, off: u8) -> u32 {
        ((((self as u64) << 32) << off) >> 58) as u32
    }
    #[inline(always)]
    fn window(self, start: u8) -> u64 {
        ((self as u64) << 32) << start
    }
    #[inline(always)]
    fn bit(self, i: u8) -> usize {
        ((self >> (31 - i)) & 1) as usize
    }
    fn with_bit(self, i: u8) -> Self {
        self | 1 << (31 - i)
    }
    fn masked(self, len: u8) -> Self {
        if len == 0 {
            0
        } else {
            self & (u32::MAX << (32 - len))
        }
    }
    fn from_top(slot: usize, n: u8) -> Self {
        (slot as u32) << (32 - n)
    }
}

impl Key for u128 {
    const BITS: u8 = 128;
    const SLOTS: usize = (1 << V6_GLOBAL_SLOT_BITS) + (1 << V6_OTHER_DIRECT);
    #[inline(always)]
    fn slot(self) -> (usize, u8) {
        if self >> 125 == V6_GLOBAL {
            (
                (self >> (128 - V6_GLOBAL_DIRECT)) as usize & V6_GLOBAL_MASK,
                V6_GLOBAL_DIRECT,
            )
        } else {
            (V6_OTHER_BASE + self.top(V6_OTHER_DIRECT), V6_OTHER_DIRECT)
        }
    }
    fn slot_prefix(slot: usize) -> Option<(Self, u8)> {
        if slot < V6_OTHER_BASE {
            let a = (V6_GLOBAL << 125) | ((slot as u128) << (128 - V6_GLOBAL_DIRECT));
            Some((a, V6_GLOBAL_DIRECT))
        } else {
            let a = Self::from_top(slot - V6_OTHER_BASE, V6_OTHER_DIRECT);
            // Global unicast keys never read these entries; they use the array above.
            (a >> 125 != V6_GLOBAL).then_some((a, V6_OTHER_DIRECT))
        }
    }
    fn slots_of(self, len: u8) -> [std::ops::Range<usize>; 2] {
        let global = if len >= 3 {
            if self >> 125 == V6_GLOBAL {
                span(
                    (self >> (128 - V6_GLOBAL_DIRECT)) as usize & V6_GLOBAL_MASK,
                    len,
                    V6_GLOBAL_DIRECT,
                )
            } else {
                0..0
            }
        } else if (V6_GLOBAL << 125).masked(len) == self {
            0..V6_OTHER_BASE
        } else {
            0..0
        };
        let other = span(self.top(V6_OTHER_DIRECT), len, V6_OTHER_DIRECT);
        let other = if len >= 3 && self >> 125 == V6_GLOBAL {
            0..0
        } else {
            V6_OTHER_BASE + other.start..V6_OTHER_BASE + other.end
        };
        [global, other]
    }
    #[inline(always)]
    fn top(self, n: u8) -> usize {
        (self >> (128 - n)) as usize
    }
    #[inline(always)]
    fn six(self, off: u8) -> u32 {
        if off >= 128 {
            return 0;
        }
        let shifted = self << off;
        (shifted >> 122) as u32
    }
    #[inline(always)]
    fn window(self, start: u8) -> u64 {
        ((self << start) >> 64) as u64
    }
    #[inline(always)]
    fn bit(self, i: u8) -> usize {
        ((self >> (127 - i)) & 1) as usize
    }
    fn with_bit(self, i: u8) -> Self {
        self | 1 << (127 - i)
    }
    fn masked(self, len: u8) -> Self {
        if len == 0 {
            0
        } else {
            self & (u128::MAX << (128 - len))
        }
    }
    fn from_top(slot: usize, n: u8) -> Self {
        (slot as u128) << (128 - n)
    }
}
