//! BGP-4 for Savin, sans-IO: nothing here opens a socket, starts a thread or reads a clock.
//!
//! Contract: [`packet`] turns bytes into messages and back and reports malformed UPDATEs as
//! RFC 7606 outcomes (values, never panics); the session state machine takes `(event, now)`
//! and returns what to send and when to wake; the speaker keeps the routes. The daemon's
//! adapter owns the TCP sockets and the timers.

pub mod northbound;
pub mod packet;
pub mod session;
pub mod speaker;
pub mod tasks;

pub use northbound::Bgp;
pub use tasks::RibPort;
