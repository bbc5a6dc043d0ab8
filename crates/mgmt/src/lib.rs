//! Savin's management plane.
//!
//! Contract: the configuration store is durable and never torn ([`store`]); a commit either
//! changes the active configuration, the store and every subsystem, or none of them
//! ([`engine`]); every CLI command a client sends is answered with text and a status, and no
//! input from a client makes the daemon panic or grow without bound ([`session`], [`server`]).

pub mod datastore;
pub mod engine;
pub mod netconf;
pub mod ops;
pub mod proto;
pub mod rpcs;
pub mod server;
pub mod session;
pub mod store;
