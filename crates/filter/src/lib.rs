//! Stateless firewall filters and policers (`firewall family inet filter`, `policer`), as on
//! an MX or EX: [`compile`] turns the configuration into [`FilterSpec`] at commit (an error
//! fails the commit); the control plane binds it to port slots ([`FilterTables`]); the
//! [`FilterStage`] runs it on the pipeline's arcs.

pub mod compile;
pub mod stage;

pub use compile::{compile, Action, FilterSpec, PolicerSpec};
pub use stage::{FilterStage, FilterStats, FilterTables, LogEntry, LOG_SIZE};
