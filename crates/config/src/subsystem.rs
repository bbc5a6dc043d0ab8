//! The contract between the commit engine and the parts of the system that act on a
//! configuration (data plane, routing, security).
//!
//! A commit calls `prepare` on every subsystem with the old and new typed configurations. A
//! subsystem checks what it alone can check (a netdev that must exist, a table that must fit)
//! and returns a staged change without touching the running system. If every subsystem
//! prepares, the engine persists the configuration and then calls `apply` on each staged
//! change, which cannot fail. If any `prepare` fails, the staged changes are dropped, which is
//! the abort: the running system is as it was.

use crate::model::Config;

/// A part of the system configured by commits.
pub trait Subsystem: Send {
    fn name(&self) -> &'static str;

    /// Checks and stages the change from `old` to `new`. Must not change the running system.
    fn prepare(&mut self, old: &Config, new: &Config) -> Result<Box<dyn Staged>, String>;
}

/// A prepared change: dropping it aborts it. Applying it fails only when the part of the
/// system it hands over to does not take it (a data-plane thread that does not answer): then
/// the commit engine reports the commit failed and puts the previous configuration back.
pub trait Staged: Send {
    fn apply(self: Box<Self>) -> Result<(), String>;

    /// What the user should know about a change that goes ahead (an interface configured
    /// but not present): shown with `commit complete`.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

/// One operational command: its canonical words and its `?` help.
pub type OpCommand = (&'static [&'static str], &'static str);

/// Operational commands answered by a part of the system (`show route`, `show arp`,
/// `clear arp`): the management session matches the words (with abbreviations and `?`) and
/// hands over the rest.
pub trait Operational: Send + Sync {
    /// The commands answered, with every prefix that `?` should list (`show`, `show route`).
    fn commands(&self) -> &'static [OpCommand];

    /// Runs `command` (canonical words, as listed) with the words after it; `json` for
    /// `| display json`. Errors are shown to the user as they are.
    fn run(&self, command: &[&str], args: &[String], json: bool) -> Result<String, String>;
}
