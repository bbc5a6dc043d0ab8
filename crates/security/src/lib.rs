//! Security policy, compiled: the committed `security` and `applications` configuration
//! becomes, for every ordered pair of zones, one classifier that answers with the policy a
//! packet's first match selects, in SRX order: the pair's own policies in the order written,
//! then the global policies that apply to the pair, then the default policy. The result is
//! immutable; a commit compiles a new one off the data path and the data plane swaps it in.
//! Existing sessions are kept across a policy change (the SRX default): only new sessions
//! see the new policies.
//!
//! IPv4 today: IPv6 addresses in the address book are accepted and shown, and matched once
//! the classifier takes IPv6 keys.

mod compile;
mod host;
mod nat;
pub mod screen;

pub use compile::{icmp_port, Action, Compiled, Decision, PolicyInfo, ZonePair, DEFAULT_POLICY};
pub use host::HostInbound;
pub use nat::{Context, DestinationPool, Nat, NatAction, NatRule, SourcePool};
