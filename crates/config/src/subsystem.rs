//! The contract between the commit engine and the parts of the system that act on a
//! configuration (data plane, routing, security).
//!
//! A commit calls `prepare` on every subsystem with the old and new typed configurations. A
//! subsystem checks what it alone can check (a netdev that must exist, a table that must fit)
//! and returns a staged change without touching the running system. If every subsystem
//! prepares, the engine persists the configuration and then calls `apply` on each staged
//! change, which cannot fail. If any `prepare` fails, the staged changes are dropped, which is
//! the abort: the running system is as it was.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::Config;
use crate::{print, schema, Configuration};

/// A part of the system configured by commits.
pub trait Subsystem: Send {
    fn name(&self) -> &'static str;

    /// The top-level hierarchies this subsystem acts on (`interfaces`, `routing-options`): a
    /// commit that changes none of them does not call it (a BGP neighbour's description does
    /// not wake the forwarding plane). Empty: every commit.
    fn hierarchies(&self) -> &'static [&'static str] {
        &[]
    }

    /// Checks and stages the change from `old` to `new` (`changed` says which statements
    /// differ). Must not change the running system.
    fn prepare(
        &mut self,
        old: &Config,
        new: &Config,
        changed: &Changes,
    ) -> Result<Box<dyn Staged>, PrepareError>;
}

/// Why a subsystem refuses a configuration: the statement at fault, as `show configuration`
/// names it (`interfaces eth1`), when there is one; NETCONF's `<rpc-error>` carries it as
/// its `error-path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepareError {
    pub path: Option<String>,
    pub message: String,
}

impl PrepareError {
    pub fn at(path: impl Into<String>, message: impl Into<String>) -> PrepareError {
        PrepareError {
            path: Some(path.into()),
            message: message.into(),
        }
    }
}

impl From<String> for PrepareError {
    fn from(message: String) -> PrepareError {
        PrepareError {
            path: None,
            message,
        }
    }
}

impl From<&str> for PrepareError {
    fn from(message: &str) -> PrepareError {
        PrepareError::from(message.to_string())
    }
}

impl std::fmt::Display for PrepareError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            // As Junos names the place: the hierarchy, then the complaint.
            Some(p) => write!(f, "[edit {p}]\n  {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The statements a commit changes: the top-level hierarchies, and the statements one level
/// below them (`interfaces eth1`, `routing-options static`), active statements only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Every hierarchy counts as changed (the first commit after a start, an undo).
    pub all: bool,
    pub paths: BTreeSet<String>,
}

impl Changes {
    /// Everything: what a subsystem gets when it must take the whole configuration again.
    pub fn everything() -> Changes {
        Changes {
            all: true,
            paths: BTreeSet::new(),
        }
    }

    /// What differs between two configurations.
    pub fn between(old: &Configuration, new: &Configuration) -> Changes {
        let a = print::json_active(&old.root, schema::root());
        let b = print::json_active(&new.root, schema::root());
        let mut paths = BTreeSet::new();
        let empty = serde_json::Map::new();
        let obj = |v: &serde_json::Value| v.as_object().cloned().unwrap_or_default();
        let (a, b) = (obj(&a), obj(&b));
        for key in a.keys().chain(b.keys()) {
            let (x, y) = (a.get(key), b.get(key));
            if x == y {
                continue;
            }
            paths.insert(key.clone());
            let (xo, yo) = (
                x.and_then(|v| v.as_object()).unwrap_or(&empty),
                y.and_then(|v| v.as_object()).unwrap_or(&empty),
            );
            for sub in xo.keys().chain(yo.keys()) {
                let (xs, ys) = (xo.get(sub), yo.get(sub));
                if xs == ys {
                    continue;
                }
                // A list of named entries (`interfaces eth1`, `vlans v10`): the entries that
                // differ, by name, as `set` words name them.
                let named =
                    |v: Option<&serde_json::Value>| -> Option<BTreeMap<String, serde_json::Value>> {
                        match v {
                            None => Some(BTreeMap::new()),
                            Some(serde_json::Value::Array(a)) => a
                                .iter()
                                .map(|e| {
                                    let n = e.get("name")?;
                                    let n =
                                        n.as_str().map_or_else(|| n.to_string(), str::to_string);
                                    Some((n, e.clone()))
                                })
                                .collect(),
                            Some(_) => None,
                        }
                    };
                match (named(xs), named(ys)) {
                    (Some(xm), Some(ym)) => {
                        for n in xm.keys().chain(ym.keys()) {
                            if xm.get(n) != ym.get(n) {
                                paths.insert(format!("{key} {n}"));
                            }
                        }
                    }
                    _ => {
                        paths.insert(format!("{key} {sub}"));
                    }
                }
            }
        }
        Changes { all: false, paths }
    }

    /// Whether anything under top-level `hierarchy` changed.
    pub fn touches(&self, hierarchy: &str) -> bool {
        self.all
            || self
                .paths
                .iter()
                .any(|p| p == hierarchy || p.starts_with(&format!("{hierarchy} ")))
    }
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

/// What an operational command answers: typed state, one value per reply, rendered as the
/// CLI's text or as Junos JSON under the reply's element name (`route-information`,
/// `arp-table-information`, ...). `| display xml` and NETCONF take their XML from that JSON,
/// so every view shows the same data.
pub trait State: Send {
    /// The CLI's text.
    fn text(&self) -> String;
    /// `| display json`: `{"<reply-element>": {...}}`, Junos's element names.
    fn json(&self) -> serde_json::Value;
}

/// A reply that is a message (`clear arp`): the text, and in JSON and XML an `output`
/// element, as Junos answers an RPC whose reply is text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message(pub String);

impl State for Message {
    fn text(&self) -> String {
        self.0.clone()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({ "output": self.0 })
    }
}

/// Operational commands answered by a part of the system (`show route`, `show arp`,
/// `clear arp`): the management session matches the words (with abbreviations and `?`) and
/// hands over the rest.
pub trait Operational: Send + Sync {
    /// The commands answered, with every prefix that `?` should list (`show`, `show route`).
    fn commands(&self) -> &'static [OpCommand];

    /// Runs `command` (canonical words, as listed) with the words after it. Errors are shown
    /// to the user as they are.
    fn run(&self, command: &[&str], args: &[String]) -> Result<Box<dyn State>, String>;
}
