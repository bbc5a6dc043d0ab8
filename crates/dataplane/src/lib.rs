//! The data plane: workers that take batches of frames from their ports, push each batch
//! through the stages (parse and check, route lookup, rewrite) and hand it to the output ports.
//!
//! Contract: per packet, nothing is allocated and nothing is locked; tables (FIB, adjacencies)
//! are read through snapshots taken once per batch. Every packet that is not forwarded is
//! counted under exactly one drop reason. Malformed packets are dropped, never a panic.
//!
//! This first cut forwards IPv4 between routed ports. ARP/ND, ICMP errors, IPv6, L2 bridging,
//! the punt path and feature arcs come next (issue 3).

pub mod arp;
pub mod bridge;
pub mod checksum;
pub mod counters;
pub mod fragments;
pub mod icmp;
pub mod icmp6;
pub mod ipv4;
pub mod ipv6;
pub mod nat;
pub mod nd;
pub mod neighbor;
pub mod punt;
pub mod screen;
pub mod security;
pub mod worker;

pub use counters::PortCounters;
pub use counters::{Counters, DropReason};
pub use punt::{punt_queue, PuntReceiver, PuntSender};
pub use worker::{
    flow_hash, Adjacency, Hits, HitsOf, NextHop, Pipeline, PuntReason, Punted, SessionEvent,
    Tables, ToWorker, Worker, WorkerStats, ERROR_QUOTE, MAX_EVENTS, NAT_DESTINATION, NAT_SOURCE,
    NAT_STATIC,
};
