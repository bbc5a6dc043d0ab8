//! Longest-prefix-match forwarding tables for IPv4 and IPv6 at full-Internet scale.
//!
//! Contract: [`Fib`] maps prefixes to next-hop indices (`u32`, [`MISS`] when nothing matches).
//! Lookups never lock, never allocate and never block on an update: a writer builds the changed
//! part beside the old one and publishes it with one atomic store, so a reader sees the table
//! either before or after a change, never half of it. One prefix added or removed rebuilds only
//! the part of the table under its direct-pointing slot (or, for shorter prefixes, the slots it
//! covers), and within a slot only the path down to the node that holds the prefix's end.
//!
//! The lookup structure is a Poptrie (Asai and Ohara, SIGCOMM 2015): a direct-pointing array
//! (IPv4: the top 18 bits; IPv6: bits 3-24 of global unicast, the top 18 bits of the rest),
//! then 64-ary nodes that find their child with one popcount on a bit vector, with runs of
//! equal leaves stored once. We write it ourselves because no crate
//! offers lock-free incremental updates with this lookup cost; `prefix-trie` is the peer the
//! benchmarks compare against.

mod key;
mod poptrie;
mod rib;

pub use key::Key;
pub use poptrie::{
    prefetch, prefetch_lines, prefetch_ptr, Fib, FibError, FibReader, FibStats, Table, MAX_NEXT_HOP,
};

/// The next hop returned when no prefix matches.
pub const MISS: u32 = 0;
