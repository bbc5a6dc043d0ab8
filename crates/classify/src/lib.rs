//! Packet classification for security policies.
//!
//! Contract: a [`Classifier`] is built once from an ordered list of [`Rule`]s (index 0 has the
//! highest priority) and answers, for a packet's 5-tuple ([`Header`]), the index of the first
//! rule that matches, exactly as a linear first-match scan ([`Linear`]) would, but at a cost
//! that stays nearly flat as the rule count grows from 10 to 100,000. It is immutable: a policy
//! commit builds a new one off the data path and publishes it.
//!
//! The algorithm is TupleMerge (Daly, Liu and Torng, "TupleMerge: Fast Software Packet
//! Processing for Online Packet Classification", IEEE/ACM ToN 2019), chosen over
//! PartitionSort and HyperCuts because its build is a single pass of hash insertions
//! (a 100k-rule policy compiles in milliseconds, where decision trees take seconds and can
//! blow up in memory on overlapping ranges) while its lookups are a handful of hash probes:
//! rules are grouped into hash tables by how many bits of each field they fix (a tuple), tables
//! whose tuples are less specific than a rule may take it (the merge), so there are few tables;
//! a table's probe hashes the packet's fields masked to the table's tuple and checks the few
//! rules in that bucket in full. Tables are visited best-priority first and the search stops
//! as soon as no table left can hold a better rule than the one found.

mod addr;
mod classbench;
mod rule;
mod tuple;

pub use addr::{Addr, Key6};
pub use classbench::{parse_classbench, ParseError};
pub use rule::{Header, Linear, PortRange, Prefix, Rule};
pub use tuple::{Classifier, ClassifierStats};
