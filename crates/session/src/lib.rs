//! The stateful session table of the security stage.
//!
//! Contract: a session is created by the first packet of a flow that policy permits, with its
//! two keys (the 5-tuple as it arrives, and the 5-tuple the reply will carry, after NAT); every
//! later packet in either direction finds it with one hash probe ([`SessionTable::lookup`]) and
//! is checked and counted by [`SessionTable::track`] (TCP state, SYN check, sequence window,
//! idle timeout), skipping policy. Sessions expire on a timer wheel: each second only the
//! sessions due that second are looked at, so aging never scans the table. The table has a
//! hard capacity, allocated up front; a create beyond it fails and is counted. Time is passed
//! in by the caller (milliseconds), so tests run on an injected clock.

pub mod probe;
mod table;
mod tcp;

pub use table::{
    CloseReason, Counters, Dir, FlowKey, Gone, Info, Probe, SessionConfig, SessionTable, State,
    Timeouts, TrackError,
};
pub use tcp::TcpSeg;
