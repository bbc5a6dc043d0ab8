//! `show security nat source|destination|static rule all`, `show security nat source|
//! destination pool all` and `show security policies hit-count`, in the SRX shapes.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use savin_classify::Prefix;
use savin_config::subsystem::State;
use savin_security::stage::screen::Attack;
use savin_security::{Context, NatAction, NatRule};
use serde_json::{json, Value};

use crate::control::Control;
use crate::hits::{nat, POLICY};

fn range(p: &Prefix) -> (Ipv4Addr, Ipv4Addr) {
    let host = if p.len >= 32 { 0 } else { u32::MAX >> p.len };
    (Ipv4Addr::from(p.addr), Ipv4Addr::from(p.addr | host))
}

/// Which NAT rules: the kind's index (`savin_dataplane::NAT_*`) and its words.
const KINDS: [(usize, &str, &str); 3] = [
    (savin_security::NAT_SOURCE, "source", "source NAT rule"),
    (
        savin_security::NAT_DESTINATION,
        "destination",
        "Destination NAT rule",
    ),
    (savin_security::NAT_STATIC, "static", "Static NAT rule"),
];

fn all_arg(args: &[String]) -> Result<(), String> {
    match args {
        [a] if a == "all" => Ok(()),
        [] => Err("syntax error: expecting 'all' or a name".into()),
        [_] => Ok(()),
        _ => Err(format!("syntax error: unexpected '{}'", args[1])),
    }
}

impl Control {
    fn context(&self, c: &Context) -> (String, String) {
        let sec = self.security.load();
        let zones: Vec<String> = c
            .zones
            .iter()
            .map(|z| {
                sec.as_ref()
                    .and_then(|s| s.policy.zones.get(usize::from(*z)).cloned())
                    .unwrap_or_default()
            })
            .collect();
        if c.interfaces.is_empty() {
            ("zone".into(), zones.join(", "))
        } else {
            ("interface".into(), c.interfaces.join(", "))
        }
    }

    fn action_name(&self, a: NatAction) -> String {
        let sec = self.security.load();
        let Some(sec) = sec.as_ref() else {
            return String::new();
        };
        match a {
            NatAction::Off => "off".into(),
            NatAction::Interface => "interface".into(),
            NatAction::Pool(p) => sec
                .nat
                .pools
                .get(usize::from(p))
                .map_or(String::new(), |p| p.name.clone()),
            NatAction::Destination(p) => sec
                .nat
                .destination_pools
                .get(usize::from(p))
                .map_or(String::new(), |p| p.name.clone()),
            NatAction::Static { to, .. } => Ipv4Addr::from(to.addr).to_string(),
        }
    }

    /// `show security nat source|destination|static rule all|NAME`.
    pub(crate) fn show_nat_rules(&self, which: &str, args: &[String]) -> Result<NatRules, String> {
        all_arg(args)?;
        let only = args.first().filter(|a| *a != "all");
        let (kind, _, title) = KINDS
            .iter()
            .find(|(_, w, _)| *w == which)
            .copied()
            .ok_or_else(|| format!("syntax error: unexpected '{which}'"))?;
        let sec = self.security.load();
        let rules: Vec<NatRule> = sec.as_ref().map_or(Vec::new(), |s| match kind {
            savin_security::NAT_SOURCE => s.nat.source.clone(),
            savin_security::NAT_DESTINATION => s.nat.destination.clone(),
            _ => s.nat.statics.clone(),
        });
        let hits = self.hit_counts(nat(kind));
        let shown: Vec<NatRuleRow> = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| only.is_none_or(|n| *n == r.name))
            .map(|(i, r)| NatRuleRow {
                index: i,
                from: self.context(&r.from),
                to: self.context(&r.to),
                action: self.action_name(r.action),
                hits: hits.get(i).copied().unwrap_or(0),
                rule: r.clone(),
            })
            .collect();
        if let Some(n) = only {
            if shown.is_empty() {
                return Err(format!("error: {which} NAT rule {n} is not configured"));
            }
        }
        let prefixes: usize = rules
            .iter()
            .map(|r| r.source.len() + r.destination.len())
            .sum();
        Ok(NatRules {
            which: which.to_string(),
            title,
            source: kind == savin_security::NAT_SOURCE,
            total: rules.len(),
            prefixes,
            rows: shown,
        })
    }

    /// `show security nat source|destination pool all|NAME`.
    pub(crate) fn show_nat_pools(&self, which: &str, args: &[String]) -> Result<NatPools, String> {
        all_arg(args)?;
        let only = args.first().filter(|a| *a != "all");
        let sec = self.security.load();
        let kind = if which == "source" {
            savin_security::NAT_SOURCE
        } else {
            savin_security::NAT_DESTINATION
        };
        let hits = self.hit_counts(nat(kind));
        // A pool's hits: those of the rules that translate to it.
        let pool_hits = |want: NatAction| -> u64 {
            sec.as_ref().map_or(0, |s| {
                let rules = if kind == savin_security::NAT_SOURCE {
                    &s.nat.source
                } else {
                    &s.nat.destination
                };
                rules
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.action == want)
                    .map(|(i, _)| hits.get(i).copied().unwrap_or(0))
                    .sum()
            })
        };
        let rows: Vec<PoolRow> = sec.as_ref().map_or(Vec::new(), |s| {
            if kind == savin_security::NAT_SOURCE {
                s.nat
                    .pools
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let h = pool_hits(NatAction::Pool(i as u16));
                        (p.name.clone(), i + 4, p.ranges.clone(), p.ports, h)
                    })
                    .collect()
            } else {
                s.nat
                    .destination_pools
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let h = pool_hits(NatAction::Destination(i as u16));
                        let ports = p.port.map(|q| (q, q));
                        (
                            p.name.clone(),
                            i + 1,
                            vec![(p.address, p.address)],
                            ports,
                            h,
                        )
                    })
                    .collect()
            }
        });
        let rows: Vec<PoolRow> = rows
            .into_iter()
            .filter(|r| only.is_none_or(|n| *n == r.0))
            .collect();
        if let Some(n) = only {
            if rows.is_empty() {
                return Err(format!("error: {which} NAT pool {n} is not configured"));
            }
        }
        Ok(NatPools {
            which: which.to_string(),
            source: kind == savin_security::NAT_SOURCE,
            rows,
        })
    }

    /// `show security policies hit-count`.
    pub(crate) fn show_policy_hits(&self) -> PolicyHitCount {
        let sec = self.security.load();
        let hits = self.hit_counts(POLICY);
        let rows = sec.as_ref().map_or(Vec::new(), |s| {
            s.policy
                .policies
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    (
                        i + 1,
                        p.from_zone.clone(),
                        p.to_zone.clone(),
                        p.name.clone(),
                        hits.get(i).copied().unwrap_or(0),
                    )
                })
                .collect()
        });
        PolicyHitCount {
            rows,
            default_hits: hits.last().copied().unwrap_or(0),
        }
    }
}

impl Control {
    /// `show security screen statistics zone Z`.
    pub(crate) fn show_screen_statistics(
        &self,
        args: &[String],
    ) -> Result<ScreenStatistics, String> {
        let zone = match args {
            [w, z] if w == "zone" => z,
            _ => return Err("syntax error: expecting 'zone NAME'".into()),
        };
        let sec = self.security.load();
        let id = sec
            .as_ref()
            .and_then(|s| s.policy.zone_id(zone))
            .ok_or_else(|| format!("error: zone {zone} is not configured"))?;
        let counts = self.hit_counts(crate::hits::SCREEN);
        let n = Attack::N;
        let counts = Attack::ALL
            .iter()
            .map(|a| {
                let c = counts
                    .get(usize::from(id) * n + *a as usize)
                    .copied()
                    .unwrap_or(0);
                (*a, c)
            })
            .collect();
        Ok(ScreenStatistics {
            zone: zone.clone(),
            counts,
        })
    }
}

/// `show security policies hit-count`: `policy-hit-count`, rows of (index, from zone, to
/// zone, name, hits).
pub(crate) struct PolicyHitCount {
    rows: Vec<(usize, String, String, String, u64)>,
    default_hits: u64,
}

impl State for PolicyHitCount {
    fn json(&self) -> Value {
        let v: Vec<Value> = self
            .rows
            .iter()
            .map(|(i, f, t, n, h)| {
                json!({"policy-hit-count-index": i, "policy-hit-count-from-zone": f,
                    "policy-hit-count-to-zone": t, "policy-hit-count-policy-name": n,
                    "policy-hit-count-count": h})
            })
            .collect();
        json!({"policy-hit-count": {"policy-hit-count-entry": v,
            "default-policy-hit-count": self.default_hits}})
    }

    fn text(&self) -> String {
        let mut out = String::from("Logical system: root-logical-system\n");
        let _ = writeln!(
            out,
            " {:<6}{:<17}{:<17}{:<24}Policy count",
            "Index", "From zone", "To zone", "Name"
        );
        for (i, f, t, n, h) in &self.rows {
            let _ = writeln!(out, " {i:<6}{f:<17}{t:<17}{n:<24}{h}");
        }
        let _ = writeln!(out, "\nNumber of policy: {}", self.rows.len());
        let _ = writeln!(out, "Default policy hit count: {}", self.default_hits);
        out
    }
}

/// `show security screen statistics zone Z`: `ids-statistics-information`.
pub(crate) struct ScreenStatistics {
    zone: String,
    counts: Vec<(Attack, u64)>,
}

impl State for ScreenStatistics {
    fn json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("zone-name".into(), json!(self.zone));
        for (a, c) in &self.counts {
            m.insert(a.key().into(), json!(c));
        }
        json!({"ids-statistics-information": m})
    }

    fn text(&self) -> String {
        let mut out = String::from("Screen statistics:\n\n");
        let _ = writeln!(out, "  {:<45}Statistics", "IDS attack type");
        for (a, c) in &self.counts {
            let _ = writeln!(out, "  {:<45}{c}", a.label());
        }
        out
    }
}

/// A NAT rule as shown, with its contexts, action and hits resolved to names and counts.
pub(crate) struct NatRuleRow {
    index: usize,
    rule: NatRule,
    from: (String, String),
    to: (String, String),
    action: String,
    hits: u64,
}

/// `show security nat source|destination|static rule`: `...-nat-rule-detail-information`.
pub(crate) struct NatRules {
    which: String,
    title: &'static str,
    /// Source NAT (whose rules have a to-context).
    source: bool,
    total: usize,
    prefixes: usize,
    rows: Vec<NatRuleRow>,
}

impl State for NatRules {
    fn json(&self) -> Value {
        let rows: Vec<Value> = self
                .rows
                .iter()
                .map(|row| {
                    let (i, r) = (&row.index, &row.rule);
                    let (fk, fv) = &row.from;
                    let (tk, tv) = &row.to;
                    let addrs = |l: &[Prefix]| -> Vec<Value> {
                        l.iter()
                            .map(|p| {
                                let (a, b) = range(p);
                                json!({"low": a.to_string(), "high": b.to_string()})
                            })
                            .collect()
                    };
                    let mut v = json!({"rule-name": r.name, "rule-set-name": r.rule_set,
                        "rule-id": i + 1, "rule-matching-position": i + 1,
                        "rule-from-context": fk, "rule-from-context-name": fv,
                        "source-addresses": addrs(&r.source),
                        "destination-addresses": addrs(&r.destination),
                        "destination-ports": r.destination_ports.iter().map(|p| json!({"low": p.lo, "high": p.hi})).collect::<Vec<_>>(),
                        "protocols": r.protocols,
                        "rule-action": row.action,
                        "rule-translation-hits": row.hits});
                    if self.source {
                        v["rule-to-context"] = json!(tk);
                        v["rule-to-context-name"] = json!(tv);
                    }
                    v
                })
                .collect();
        json!({format!("{}-nat-rule-detail-information", self.which): {
                "rules": rows, "total-rules": self.total,
                "total-referenced-ipv4-prefixes": self.prefixes}})
    }

    fn text(&self) -> String {
        let mut out = format!(
            "Total {} rules: {}\nTotal referenced IPv4/IPv6 ip-prefixes: {}/0\n",
            if self.which == "source" {
                "source-nat"
            } else if self.which == "destination" {
                "destination-nat"
            } else {
                "static-nat"
            },
            self.total,
            self.prefixes
        );
        for row in &self.rows {
            let (i, r) = (row.index, &row.rule);
            let _ = writeln!(
                out,
                "\n{}: {:<24} Rule-set: {}",
                self.title, r.name, r.rule_set
            );
            let _ = writeln!(out, "  Rule-Id                    : {}", i + 1);
            let _ = writeln!(out, "  Rule position              : {}", i + 1);
            let (fk, fv) = &row.from;
            let _ = writeln!(out, "  From {fk:<22}: {fv}");
            if self.source {
                let (tk, tv) = &row.to;
                let _ = writeln!(out, "  To {tk:<24}: {tv}");
            }
            let _ = writeln!(out, "  Match");
            for (what, list) in [
                ("Source addresses", &r.source),
                ("Destination addresses", &r.destination),
            ] {
                for p in list.iter() {
                    let (a, b) = range(p);
                    let _ = writeln!(out, "    {what:<25}: {a:<15} - {b}");
                }
            }
            for p in &r.destination_ports {
                let _ = writeln!(
                    out,
                    "    Destination port         : {:<15} - {}",
                    p.lo, p.hi
                );
            }
            if !r.protocols.is_empty() {
                let ps: Vec<String> = r.protocols.iter().map(|p| p.to_string()).collect();
                let _ = writeln!(out, "    IP protocol              : {}", ps.join(", "));
            }
            if let NatAction::Static { from, to } = r.action {
                let _ = writeln!(
                    out,
                    "  Host addresses             : {}",
                    Ipv4Addr::from(to.addr)
                );
                let _ = writeln!(out, "  Netmask                    : {}", from.len);
            } else {
                let _ = writeln!(out, "  Action                     : {}", row.action);
            }
            let _ = writeln!(out, "  Translation hits           : {}", row.hits);
        }
        out
    }
}

/// A NAT pool as shown: name, id, address ranges, port range, hits.
type PoolRow = (String, usize, Vec<(u32, u32)>, Option<(u16, u16)>, u64);

/// `show security nat source|destination pool`: `...-nat-pool-detail-information`.
pub(crate) struct NatPools {
    which: String,
    source: bool,
    rows: Vec<PoolRow>,
}

impl State for NatPools {
    fn json(&self) -> Value {
        let v: Vec<Value> = self
                .rows
                .iter()
                .map(|(name, id, ranges, ports, h)| {
                    json!({"pool-name": name, "pool-id": id, "routing-instance-name": "default",
                        "address-ranges": ranges.iter().map(|(a, b)| json!({"low": Ipv4Addr::from(*a).to_string(), "high": Ipv4Addr::from(*b).to_string()})).collect::<Vec<_>>(),
                        "port-range": ports.map(|(a, b)| json!({"low": a, "high": b})),
                        "total-addresses": ranges.iter().map(|(a, b)| u64::from(b - a) + 1).sum::<u64>(),
                        "translation-hits": h})
                })
                .collect();
        json!({format!("{}-nat-pool-detail-information", self.which): {
                "pools": v, "total-pools": self.rows.len()}})
    }

    fn text(&self) -> String {
        let mut out = format!("Total pools: {}\n", self.rows.len());
        for (name, id, ranges, ports, h) in &self.rows {
            let _ = writeln!(out, "\nPool name          : {name}");
            let _ = writeln!(out, "Pool id            : {id}");
            let _ = writeln!(out, "Routing instance   : default");
            if self.source {
                let _ = writeln!(out, "Host address base  : 0.0.0.0");
                match ports {
                    Some((a, b)) => {
                        let _ = writeln!(out, "Port               : [{a}, {b}]");
                    }
                    None => {
                        let _ = writeln!(out, "Port               : no translation");
                    }
                }
                let _ = writeln!(out, "port overloading   : 1");
            } else if let Some((p, _)) = ports {
                let _ = writeln!(out, "Port               : {p}");
            }
            let total: u64 = ranges.iter().map(|(a, b)| u64::from(b - a) + 1).sum();
            let _ = writeln!(out, "Total addresses    : {total}");
            let _ = writeln!(out, "Translation hits   : {h}");
            let _ = writeln!(
                out,
                "Address range                        Single Ports   Twin Ports"
            );
            for (a, b) in ranges {
                let r = format!("{} - {}", Ipv4Addr::from(*a), Ipv4Addr::from(*b));
                let _ = writeln!(out, "   {r:<34}{:>8}{:>13}", 0, 0);
            }
        }
        out
    }
}
