//! Address families as keys: a fixed number of bits read from the top.

/// An address that the tables can index.
pub trait Key: Copy + Eq + Ord + std::fmt::Debug + Send + Sync + 'static {
    const BITS: u8;
    /// The top `n` bits (the direct-pointing index), `n` <= 24.
    fn top(self, n: u8) -> usize;
    /// Six bits starting at bit `off` from the top; bits past the end read as zero.
    fn six(self, off: u8) -> u32;
    /// Bit `i` from the top.
    fn bit(self, i: u8) -> usize;
    /// The address with bits from `len` on cleared.
    fn masked(self, len: u8) -> Self;
    /// The address whose top `n` bits are `slot` and the rest zero.
    fn from_top(slot: usize, n: u8) -> Self;
}

impl Key for u32 {
    const BITS: u8 = 32;
    #[inline(always)]
    fn top(self, n: u8) -> usize {
        (self >> (32 - n)) as usize
    }
    #[inline(always)]
    fn six(self, off: u8) -> u32 {
        ((((self as u64) << 32) << off) >> 58) as u32
    }
    #[inline(always)]
    fn bit(self, i: u8) -> usize {
        ((self >> (31 - i)) & 1) as usize
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
    fn bit(self, i: u8) -> usize {
        ((self >> (127 - i)) & 1) as usize
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
