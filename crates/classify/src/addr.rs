//! Addresses as the classifier sees them: IPv4 as `u32`, IPv6 as `u128`, one code path for
//! both (the IPv4 instance compiles to what it was when it was the only one).

use std::fmt::Debug;
use std::hash::Hash;
use std::ops::{BitAnd, BitOr, Not};

/// An IP address as an integer, and the bucket key of a 5-tuple of such addresses.
pub trait Addr:
    Copy
    + Eq
    + Ord
    + Hash
    + Default
    + Debug
    + BitAnd<Output = Self>
    + BitOr<Output = Self>
    + Not<Output = Self>
    + Send
    + Sync
    + 'static
{
    /// Address bits: 32 or 128.
    const BITS: u8;
    const ZERO: Self;

    /// The mask of a prefix of `len` bits (capped at `BITS`).
    fn mask(len: u8) -> Self;

    /// An address from random 32-bit words (tests and benchmarks).
    fn from_words(next: &mut impl FnMut() -> u32) -> Self;

    /// A 5-tuple packed into one key the classifier's tables hash and mask.
    type Key: Copy + Eq + Hash + Default + Debug + BitAnd<Output = Self::Key> + Send + Sync;

    fn pack(src: Self, dst: Self, sport: u16, dport: u16, proto: u8) -> Self::Key;

    /// The key's hash (the slot index from its low bits, the filter bits from its high).
    fn key_hash(k: Self::Key) -> u64;
}

#[inline(always)]
fn mix(x: u64) -> u64 {
    let x = (x ^ (x >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^ (x >> 29)
}

impl Addr for u32 {
    const BITS: u8 = 32;
    const ZERO: u32 = 0;

    #[inline(always)]
    fn mask(len: u8) -> u32 {
        u32::MAX
            .checked_shl(32 - u32::from(len.min(32)))
            .unwrap_or(0)
    }

    fn from_words(next: &mut impl FnMut() -> u32) -> u32 {
        next()
    }

    /// The 104 bits a key is made of: source, destination, ports, protocol.
    type Key = u128;

    #[inline(always)]
    fn pack(src: u32, dst: u32, sport: u16, dport: u16, proto: u8) -> u128 {
        (u128::from(src) << 72)
            | (u128::from(dst) << 40)
            | (u128::from(sport) << 24)
            | (u128::from(dport) << 8)
            | u128::from(proto)
    }

    #[inline(always)]
    fn key_hash(k: u128) -> u64 {
        mix((k as u64) ^ ((k >> 64) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }
}

/// The key of an IPv6 5-tuple: both addresses, and ports and protocol in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Key6 {
    pub src: u128,
    pub dst: u128,
    pub rest: u64,
}

impl BitAnd for Key6 {
    type Output = Key6;

    #[inline(always)]
    fn bitand(self, m: Key6) -> Key6 {
        Key6 {
            src: self.src & m.src,
            dst: self.dst & m.dst,
            rest: self.rest & m.rest,
        }
    }
}

impl Addr for u128 {
    const BITS: u8 = 128;
    const ZERO: u128 = 0;

    #[inline(always)]
    fn mask(len: u8) -> u128 {
        u128::MAX
            .checked_shl(128 - u32::from(len.min(128)))
            .unwrap_or(0)
    }

    fn from_words(next: &mut impl FnMut() -> u32) -> u128 {
        (0..4).fold(0, |a, _| a << 32 | u128::from(next()))
    }

    type Key = Key6;

    #[inline(always)]
    fn pack(src: u128, dst: u128, sport: u16, dport: u16, proto: u8) -> Key6 {
        Key6 {
            src,
            dst,
            rest: u64::from(sport) << 24 | u64::from(dport) << 8 | u64::from(proto),
        }
    }

    #[inline(always)]
    fn key_hash(k: Key6) -> u64 {
        let fold = |a: u128| (a as u64) ^ ((a >> 64) as u64).rotate_left(23);
        let x = fold(k.src).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ fold(k.dst);
        mix(x.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ k.rest)
    }
}
