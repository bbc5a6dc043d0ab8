//! From the typed configuration to the policy tables (`savin_security_tables::policy`).

use std::collections::HashMap;
use std::net::IpAddr;

use savin_classify::{Classifier, PortRange, Prefix, Rule};
use savin_config::model::applications::{self, Term};
use savin_config::model::security::{self, Policy};
use savin_config::Config;
use savin_security_tables::{icmp_port, Action, Compiled, PairRule, PolicyInfo, ZonePair};

/// The configuration's policy action as the tables have it.
pub fn policy_action(a: security::Action) -> Action {
    match a {
        security::Action::Permit => Action::Permit,
        security::Action::Deny => Action::Deny,
        security::Action::Reject => Action::Reject,
    }
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
            match t.icmp_code {
                Some(code) => PortRange::exact(icmp_port(ty, code)),
                None => PortRange {
                    lo: icmp_port(ty, 0),
                    hi: icmp_port(ty, 255),
                },
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

/// Compiles a validated configuration (commit has run `Config::validate`; anything that
/// still does not resolve is an error here, not a panic).
pub fn compile_policy(cfg: &Config) -> Result<Compiled, String> {
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
        action: p.then.action().map_or(Action::Deny, policy_action),
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
            let classifier = Classifier::new(&rules.iter().map(|(r, ..)| *r).collect::<Vec<_>>());
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
