//! The data plane: workers that take batches of frames from their ports, push each batch
//! through the stages (parse and check, route lookup, rewrite) and hand it to the output ports.
//!
//! Contract: per packet, nothing is allocated and nothing is locked; tables (FIB, adjacencies)
//! are read through snapshots taken once per batch. Every packet that is not forwarded is
//! counted under exactly one drop reason. Malformed packets are dropped, never a panic.
//!
//! Layout: [`tables`] (what the control plane publishes), [`pipeline`] (the stages and the
//! per-frame metadata), [`worker`] (ports, the poll loop, control messages, statistics), and the
//! protocol pieces the control plane also uses (ARP/ND state machines). Features join the
//! pipeline on its arcs ([`pipeline::arc`]) from their own crates: the security stage is
//! `savin_security::SecurityStage`, and this crate names no feature.

pub mod arp;
pub mod bridge;
pub mod checksum;
pub mod counters;
pub mod ipv4;
pub mod ipv6;
pub mod nd;
pub mod neighbor;
pub mod pipeline;
pub mod punt;
pub mod tables;
pub mod worker;

pub use counters::PortCounters;
pub use counters::{Counters, DropReason};
pub use pipeline::arc::{Chain, Cx, Feature, NoFeature, Routes, StageCounters};
pub use pipeline::meta::BatchMeta;
pub use pipeline::{Pipeline, ERROR_QUOTE};
pub use punt::{punt_queue, PuntReceiver, PuntSender};
pub use punt::{PuntReason, Punted};
pub use tables::{flow_hash, Adjacency, NextHop, Tables};
pub use worker::{FeatureCall, ToWorker, Worker, WorkerStats};
