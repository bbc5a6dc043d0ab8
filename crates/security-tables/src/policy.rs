//! Security policy, compiled: per ordered zone pair a classifier that answers with the
//! policy a packet's first match selects, and the policies as `show security policies` and
//! the sessions name them.

use std::collections::HashMap;

use savin_classify::{Classifier, Header, Rule};

/// What a policy does with the first packet of a flow (the data plane's own type, so that it
/// reads compiled tables only, never the configuration model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Permit,
    Deny,
    /// Deny, and tell the sender: a TCP RST, or ICMP unreachable for other protocols.
    Reject,
}

/// The policy index the default policy answers with.
pub const DEFAULT_POLICY: u32 = u32::MAX;

/// A compiled policy: what `show security policies` says, and what a session records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInfo {
    pub name: String,
    pub from_zone: String,
    pub to_zone: String,
    pub global: bool,
    pub action: Action,
    pub log_init: bool,
    pub log_close: bool,
    pub count: bool,
    pub source: Vec<String>,
    pub destination: Vec<String>,
    pub applications: Vec<String>,
    /// Position in its context, from 1 (`Sequence number`).
    pub sequence: usize,
}

/// What the first packet of a flow gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Index into [`Compiled::policies`], or [`DEFAULT_POLICY`].
    pub policy: u32,
    pub action: Action,
    /// The matched application's inactivity timeout (seconds; 0: never), if it sets one.
    pub timeout: Option<u32>,
}

/// A classifier rule with its policy and the application term's timeout.
pub type PairRule = (Rule, u32, Option<u32>);

/// A zone pair's rules.
pub struct ZonePair {
    pub classifier: Classifier,
    /// For each classifier rule: the policy and the application term's timeout.
    pub rules: Vec<(u32, Option<u32>)>,
}

/// Everything a worker needs to decide about new flows.
pub struct Compiled {
    pub zones: Vec<String>,
    pub policies: Vec<PolicyInfo>,
    pub default_action: Action,
    pub pairs: HashMap<(u16, u16), ZonePair>,
}

/// ICMP has no ports: the classifier sees the type in the high byte of the destination port
/// and the code in the low byte.
pub fn icmp_port(icmp_type: u8, code: u8) -> u16 {
    u16::from(icmp_type) << 8 | u16::from(code)
}

impl Compiled {
    pub fn zone_id(&self, name: &str) -> Option<u16> {
        self.zones.iter().position(|z| z == name).map(|i| i as u16)
    }

    /// The decision for the first packet of a flow from zone `from` to zone `to`.
    #[inline]
    pub fn decide(&self, from: u16, to: u16, h: &Header) -> Decision {
        let hit = self
            .pairs
            .get(&(from, to))
            .and_then(|p| p.classifier.classify(h).map(|r| p.rules[r as usize]));
        match hit {
            Some((policy, timeout)) => Decision {
                policy,
                action: self.policies[policy as usize].action,
                timeout,
            },
            None => Decision {
                policy: DEFAULT_POLICY,
                action: self.default_action,
                timeout: None,
            },
        }
    }

    /// Classifier rules per zone pair (for `show` and benchmarks).
    pub fn rule_count(&self) -> usize {
        self.pairs.values().map(|p| p.rules.len()).sum()
    }
}
