//! Security policy, compiled: the committed `security` and `applications` configuration
//! becomes, for every ordered pair of zones, one classifier that answers with the policy a
//! packet's first match selects, in SRX order: the pair's own policies in the order written,
//! then the global policies that apply to the pair, then the default policy; and the NAT
//! rules, screens and host-inbound allowances. The results are the tables of
//! `savin_security_tables` (re-exported here), immutable: a commit compiles new ones off the
//! data path and the data plane swaps them in. Existing sessions are kept across a policy
//! change (the SRX default): only new sessions see the new policies.
//!
//! IPv4 today: IPv6 addresses in the address book are accepted and shown, and matched once
//! the classifier takes IPv6 keys.

mod compile;
mod compile_nat;
mod compile_screen;
pub mod stage;

pub use compile::{compile_policy, policy_action};
pub use compile_nat::compile_nat;
pub use compile_screen::compile_screen;
pub use savin_security_tables::*;
pub use stage::{
    Hits, HitsOf, SecurityStage, SecurityStats, SessionEvent, MAX_EVENTS, NAT_DESTINATION,
    NAT_SOURCE, NAT_STATIC,
};
