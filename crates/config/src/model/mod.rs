//! The configuration hierarchies: for each one, its schema and the typed view that subsystems
//! read, side by side in one file, plus the commit-time checks that span statements.
//!
//! Adding a hierarchy (`security`, `protocols`) is local work: a new module with `schema()`, a
//! typed struct and `validate()`, and one line in each function below.

pub mod applications;
pub mod chassis;
pub mod firewall;
pub mod interfaces;
pub mod nat;
pub mod policy_options;
pub mod protocols;
pub mod routing_options;
pub mod screen;
pub mod security;
pub mod services;
pub mod system;
pub mod vlans;

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use crate::schema::Node;

/// The top-level statements, in the order `show configuration` prints them.
pub fn schema() -> Vec<Node> {
    let mut top = vec![
        // First, as Junos prints it at the top of every saved configuration. Kept and shown;
        // it says which release wrote the configuration and changes nothing here.
        crate::schema::leaf(
            "version",
            "Software version information",
            crate::value::Type::Name,
        ),
        // Configuration groups: the hierarchies again, with `<pattern>` keys; blocks inherit
        // them by `apply-groups` (see `crate::groups`).
        crate::schema::container(
            "groups",
            "Configuration groups",
            vec![crate::schema::list(
                "group",
                "Group name",
                crate::value::Type::Name,
                hierarchies().into_iter().map(Node::wildcards).collect(),
            )
            .bare()],
        ),
    ];
    top.extend(crate::schema::apply_groups());
    top.extend(hierarchies().into_iter().map(Node::with_apply_groups));
    top
}

/// The hierarchies Savin has, in the order Junos prints them.
fn hierarchies() -> Vec<Node> {
    vec![
        system::schema(),
        chassis::schema(),
        services::schema(),
        interfaces::schema(),
        vlans::schema(),
        routing_options::schema(),
        protocols::schema(),
        policy_options::schema(),
        firewall::schema(),
        security::schema(),
        applications::schema(),
    ]
}

/// The typed configuration that subsystems receive at commit. Inactive statements are absent.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    /// `version 21.4R3.15;`: the release that wrote the configuration (kept, no effect).
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub system: system::System,
    #[serde(default)]
    pub services: services::Services,
    #[serde(default)]
    pub interfaces: interfaces::Interfaces,
    #[serde(default)]
    pub vlans: vlans::Vlans,
    #[serde(default)]
    pub routing_options: routing_options::RoutingOptions,
    #[serde(default)]
    pub protocols: protocols::Protocols,
    #[serde(default)]
    pub policy_options: policy_options::PolicyOptions,
    #[serde(default)]
    pub firewall: firewall::Firewall,
    #[serde(default)]
    pub security: security::Security,
    #[serde(default)]
    pub applications: applications::Applications,
}

impl Config {
    /// Cross-statement checks run by `commit` and `commit check`.
    pub fn validate(&self) -> Vec<ValidationError> {
        let mut errors = Vec::new();
        interfaces::validate(self, &mut errors);
        vlans::validate(self, &mut errors);
        routing_options::validate(self, &mut errors);
        protocols::validate(self, &mut errors);
        policy_options::validate(self, &mut errors);
        firewall::validate(self, &mut errors);
        security::validate(self, &mut errors);
        nat::validate(self, &mut errors);
        screen::validate(self, &mut errors);
        applications::validate(self, &mut errors);
        services::validate(self, &mut errors);
        errors
    }
}

/// A commit-time error, printed the Junos way:
/// `[edit interfaces eth1 unit 0 family inet]` / `'address 10.0.0.1/24'` / message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The hierarchy, as words after `edit`.
    pub path: Vec<String>,
    /// The offending statement as written in the configuration.
    pub statement: String,
    pub message: String,
}

impl ValidationError {
    /// The `[edit ...]` header names the level that holds the statement: when `path` ends
    /// with the statement's own first words (`[... from-zone z1]` and `from-zone z1 to-zone
    /// z4`), they are taken off the path, as Junos prints it.
    pub fn new(path: &[&str], statement: impl Into<String>, message: impl Into<String>) -> Self {
        let statement = statement.into();
        let words: Vec<&str> = statement.split_whitespace().collect();
        let overlap = (1..=path.len().min(words.len()))
            .rev()
            .find(|k| path[path.len() - k..] == words[..*k])
            .unwrap_or(0);
        ValidationError {
            path: path[..path.len() - overlap]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            statement,
            message: message.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "[edit]".to_string()
        } else {
            format!("[edit {}]", self.path.join(" "))
        };
        write!(f, "{path}\n  '{}'\n    {}", self.statement, self.message)
    }
}

/// A TCP/UDP port as configured: a number or a Junos port name (`http`), read as its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port(pub u16);

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(u64),
            Name(String),
        }
        let n = match Raw::deserialize(d)? {
            Raw::Num(n) => u16::try_from(n).ok(),
            Raw::Name(s) => crate::value::port_number(&s),
        };
        n.map(Port)
            .ok_or_else(|| serde::de::Error::custom("invalid port"))
    }
}

/// A statement that is either present or not (`disable;`). Junos JSON writes it `[null]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(Flag(true))
    }
}

/// An address with a prefix length, such as an interface address or a route destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl Prefix {
    /// The network this prefix lies in (host bits cleared).
    pub fn network(&self) -> Prefix {
        Prefix {
            addr: crate::value::mask(self.addr, self.len),
            len: self.len,
        }
    }

    pub fn contains(&self, a: IpAddr) -> bool {
        a.is_ipv4() == self.addr.is_ipv4() && crate::value::mask(a, self.len) == self.network().addr
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for Prefix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, l) = s
            .split_once('/')
            .ok_or_else(|| format!("'{s}' has no prefix length"))?;
        let addr: IpAddr = a.parse().map_err(|_| format!("invalid address in '{s}'"))?;
        let len: u8 = l.parse().map_err(|_| format!("invalid length in '{s}'"))?;
        if len > if addr.is_ipv4() { 32 } else { 128 } {
            return Err(format!("invalid length in '{s}'"));
        }
        Ok(Prefix { addr, len })
    }
}

impl<'de> Deserialize<'de> for Prefix {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A next hop: a neighbour address or a logical interface.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NextHop {
    Address(IpAddr),
    Interface(String),
}

impl fmt::Display for NextHop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NextHop::Address(a) => write!(f, "{a}"),
            NextHop::Interface(i) => f.write_str(i),
        }
    }
}

impl<'de> Deserialize<'de> for NextHop {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.parse::<IpAddr>() {
            Ok(a) => NextHop::Address(a),
            Err(_) => NextHop::Interface(s),
        })
    }
}
