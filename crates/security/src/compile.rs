//! From the typed configuration to classifiers.

use std::collections::HashMap;
use std::net::IpAddr;

use savin_classify::{Classifier, Header, PortRange, Prefix, Rule};
use savin_config::model::applications::{self, Term};
use savin_config::model::security::{self, Policy};
use savin_config::Config;

/// What a policy does with the first packet of a flow (the data plane's own type, so that it
/// reads compiled tables only, never the configuration model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Permit,
    Deny,
    /// Deny, and tell the sender: a TCP RST, or ICMP unreachable for other protocols.
    Reject,
}

impl From<security::Action> for Action {
    fn from(a: security::Action) -> Action {
        match a {
            security::Action::Permit => Action::Permit,
            security::Action::Deny => Action::Deny,
            security::Action::Reject => Action::Reject,
        }
    }
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
type PairRule = (Rule, u32, Option<u32>);

/// A zone pair's rules.
pub struct ZonePair {
    classifier: Classifier,
    /// For each classifier rule: the policy and the application term's timeout.
    rules: Vec<(u32, Option<u32>)>,
}

/// Everything a worker needs to decide about new flows.
pub struct Compiled {
    pub zones: Vec<String>,
    pub policies: Vec<PolicyInfo>,
    pub default_action: Action,
    pairs: HashMap<(u16, u16), ZonePair>,
}

/// ICMP has no ports: the classifier sees the type in the high byte of the destination port
/// and the code in the low byte.
pub fn icmp_port(icmp_type: u8, code: u8) -> u16 {
    u16::from(icmp_type) << 8 | u16::from(code)
}

fn v4(p: &savin_config::model::Prefix) -> Option<Prefix> {
    match p.addr {
        IpAddr::V4(a) => Some(Prefix::new(u32::from(a), p.len)),
        IpAddr::V6(_) => None,
    }
}

fn term_rules(t: &Term) -> (PortRange, PortRange, Option<u8>) {
    let range = |(lo, hi): (u16, u16)| PortRange { lo, hi };
    match t.icmp_type {
        Some(ty) => (
            PortRange::ANY,
            PortRange {
                lo: icmp_port(ty, 0),
                hi: icmp_port(ty, 255),
            },
            t.protocol,
        ),
        None => (
            range(t.source_ports),
            range(t.destination_ports),
            t.protocol,
        ),
    }
}

impl Compiled {
    /// Compiles a validated configuration (commit has run `Config::validate`; anything that
    /// still does not resolve is an error here, not a panic).
    pub fn new(cfg: &Config) -> Result<Compiled, String> {
        let sec = &cfg.security;
        let zones: Vec<String> = sec
            .zones
            .security_zone
            .iter()
            .map(|z| z.name.clone())
            .collect();
        let zone_id = |z: &str| zones.iter().position(|n| n == z).map(|i| i as u16);
        let mut policies = Vec::new();
        // Per policy: its expanded rules, computed once.
        let expand = |p: &Policy| -> Result<Vec<(Rule, Option<u32>)>, String> {
            let mut srcs = Vec::new();
            for a in &p.matches.source_address {
                srcs.extend(security::resolve_address(cfg, a)?.iter().filter_map(v4));
            }
            let mut dsts = Vec::new();
            for a in &p.matches.destination_address {
                dsts.extend(security::resolve_address(cfg, a)?.iter().filter_map(v4));
            }
            let mut terms = Vec::new();
            for a in &p.matches.application {
                terms.extend(applications::resolve(cfg, a)?);
            }
            let mut out = Vec::with_capacity(srcs.len() * dsts.len() * terms.len());
            for s in &srcs {
                for d in &dsts {
                    for t in &terms {
                        let (sport, dport, proto) = term_rules(t);
                        out.push((
                            Rule {
                                src: *s,
                                dst: *d,
                                sport,
                                dport,
                                proto,
                            },
                            t.inactivity_timeout,
                        ));
                    }
                }
            }
            Ok(out)
        };
        let info = |p: &Policy, from: &str, to: &str, global: bool, seq: usize| PolicyInfo {
            name: p.name.clone(),
            from_zone: from.into(),
            to_zone: to.into(),
            global,
            action: p.then.action().map_or(Action::Deny, Action::from),
            log_init: p.then.log.session_init.0,
            log_close: p.then.log.session_close.0,
            count: p.then.count.0,
            source: p.matches.source_address.clone(),
            destination: p.matches.destination_address.clone(),
            applications: p.matches.application.clone(),
            sequence: seq,
        };
        // Zone-pair policies.
        let mut pair_rules: HashMap<(u16, u16), Vec<PairRule>> = HashMap::new();
        for f in &sec.policies.from_zone {
            for t in &f.to_zone {
                let (Some(a), Some(b)) = (zone_id(&f.name), zone_id(&t.name)) else {
                    continue; // junos-host: host-inbound policy, handled by the zones
                };
                for (seq, p) in t.policy.iter().enumerate() {
                    let id = policies.len() as u32;
                    policies.push(info(p, &f.name, &t.name, false, seq + 1));
                    let rules = pair_rules.entry((a, b)).or_default();
                    for (r, to) in expand(p)? {
                        rules.push((r, id, to));
                    }
                }
            }
        }
        // Global policies, after every pair's own, for the pairs they name.
        let n = zones.len() as u16;
        for (seq, p) in sec.policies.global.policy.iter().enumerate() {
            let id = policies.len() as u32;
            policies.push(info(p, "any", "any", true, seq + 1));
            let expanded = expand(p)?;
            let names = |list: &Vec<String>| -> Vec<u16> {
                if list.is_empty() || list.iter().any(|z| z == "any") {
                    (0..n).collect()
                } else {
                    list.iter().filter_map(|z| zone_id(z)).collect()
                }
            };
            for a in names(&p.matches.from_zone) {
                for b in names(&p.matches.to_zone) {
                    let rules = pair_rules.entry((a, b)).or_default();
                    for (r, to) in &expanded {
                        rules.push((*r, id, *to));
                    }
                }
            }
        }
        let pairs = pair_rules
            .into_iter()
            .map(|(k, rules)| {
                let classifier =
                    Classifier::new(&rules.iter().map(|(r, ..)| *r).collect::<Vec<_>>());
                let rules = rules.into_iter().map(|(_, id, to)| (id, to)).collect();
                (k, ZonePair { classifier, rules })
            })
            .collect();
        let default_action = if sec.policies.default_policy.permit_all.0 {
            Action::Permit
        } else {
            Action::Deny
        };
        Ok(Compiled {
            zones,
            policies,
            default_action,
            pairs,
        })
    }

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
