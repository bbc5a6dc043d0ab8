//! The data plane: workers that take batches of frames from their ports, push each batch
//! through the stages (parse and check, route lookup, rewrite) and hand it to the output ports.
//!
//! Contract: per packet, nothing is allocated and nothing is locked; tables (FIB, adjacencies)
//! are read through snapshots taken once per batch. Every packet that is not forwarded is
//! counted under exactly one drop reason. Malformed packets are dropped, never a panic.
//!
//! Layout: [`tables`] (what the control plane publishes), [`pipeline`] (the stages and the
//! per-frame metadata), [`worker`] (ports, the poll loop, control messages, statistics), and the
//! protocol pieces the control plane also uses (ARP/ND state machines, ICMP builders).
//! Feature arcs that a new stage joins come next; the security stage is still part of the
//! pipeline here rather than a crate of its own.

pub mod arp;
pub mod bridge;
pub mod checksum;
pub mod counters;
pub mod fragments;
pub mod ipv4;
pub mod ipv6;
pub mod nat;
pub mod nd;
pub mod neighbor;
pub mod pipeline;
pub mod punt;
pub mod screen;
pub mod security;
pub mod tables;
pub mod worker;

pub use counters::PortCounters;
pub use counters::{Counters, DropReason};
pub use pipeline::{
    Hits, Pipeline, SessionEvent, ERROR_QUOTE, MAX_EVENTS, NAT_DESTINATION, NAT_SOURCE, NAT_STATIC,
};
pub use punt::{punt_queue, PuntReceiver, PuntSender};
pub use punt::{PuntReason, Punted};
pub use tables::{flow_hash, Adjacency, NextHop, Tables};
pub use worker::{HitsOf, ToWorker, Worker, WorkerStats};
