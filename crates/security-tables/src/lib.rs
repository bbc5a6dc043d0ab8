//! The security tables the data plane reads, as the compiler (`savin_security`) makes them
//! from the configuration: policy classifiers per zone pair, NAT rules and pools, screens and
//! host-inbound allowances. No configuration model here: the data plane depends on this
//! crate, never on the configuration.

mod host;
pub mod nat;
pub mod policy;
pub mod screen;
mod tables;

pub use host::{HostInbound, ServicePorts};
pub use nat::{Context, DestinationPool, Nat, NatAction, NatRule, SourcePool};
pub use policy::{
    icmp_port, Action, Compiled, Decision, PairRule, PolicyInfo, ZonePair, DEFAULT_POLICY,
};
pub use tables::SecurityTables;
