//! From the typed `security nat` configuration to the NAT tables
//! (`savin_security_tables::nat`).

use std::net::IpAddr;

use savin_classify::{PortRange, Prefix};
use savin_config::model::nat::{self, FromTo, RuleSet};
use savin_config::Config;
use savin_security_tables::{Context, DestinationPool, Nat, NatAction, NatRule, SourcePool};

fn v4(p: &savin_config::model::Prefix) -> Option<Prefix> {
    match p.addr {
        IpAddr::V4(a) => Some(Prefix::new(u32::from(a), p.len)),
        IpAddr::V6(_) => None,
    }
}

fn context(ft: &FromTo, zone_id: &dyn Fn(&str) -> Option<u16>) -> Result<Context, String> {
    let zones = ft
        .zone
        .iter()
        .map(|z| zone_id(z).ok_or_else(|| format!("zone '{z}' is not defined")))
        .collect::<Result<_, _>>()?;
    Ok(Context {
        zones,
        interfaces: ft.interface.clone(),
        ports: Vec::new(),
    })
}

fn rules<T>(
    cfg: &Config,
    sets: &[RuleSet<T>],
    zone_id: &dyn Fn(&str) -> Option<u16>,
    action: impl Fn(&nat::Rule<T>) -> Result<NatAction, String>,
) -> Result<Vec<NatRule>, String> {
    let mut out = Vec::new();
    for rs in sets {
        let from = context(&rs.from, zone_id)?;
        let to = context(&rs.to, zone_id)?;
        for r in &rs.rule {
            let m = &r.matches;
            // Validation refused IPv6 addresses and applications other than `any`.
            // Address-book names add their prefixes to the written ones.
            let named = |names: &[String]| -> Result<Vec<savin_config::model::Prefix>, String> {
                let mut out = Vec::new();
                for n in names {
                    out.extend(savin_config::model::security::resolve_address(cfg, n)?);
                }
                Ok(out)
            };
            let source_named = named(&m.source_address_name)?;
            let destination_named = named(&m.destination_address_name)?;
            // An empty list matches any address: a name must never empty itself (validation
            // refuses names with IPv6 addresses; this is the last guard).
            let only_v6 = |ps: &[savin_config::model::Prefix]| {
                !ps.is_empty() && ps.iter().all(|p| v4(p).is_none())
            };
            if only_v6(&source_named) || only_v6(&destination_named) {
                return Err(format!(
                    "rule-set {} rule {}: an address-book name holds no IPv4 address",
                    rs.name, r.name
                ));
            }
            out.push(NatRule {
                rule_set: rs.name.clone(),
                name: r.name.clone(),
                from: from.clone(),
                to: to.clone(),
                source: m
                    .source_address
                    .iter()
                    .chain(&source_named)
                    .filter_map(v4)
                    .collect(),
                destination: m
                    .destination_address
                    .iter()
                    .chain(&destination_named)
                    .filter_map(v4)
                    .collect(),
                destination_ports: m
                    .destination_port
                    .port
                    .iter()
                    .map(|p| {
                        let (lo, hi) = p.range();
                        PortRange { lo, hi }
                    })
                    .collect(),
                protocols: m.protocols()?,
                action: action(r)?,
            });
        }
    }
    // Interface-bound rule sets are more specific than zone-bound ones (a stable sort keeps
    // the written order within each kind).
    out.sort_by_key(|r| !(r.from.by_interface() || r.to.by_interface()));
    Ok(out)
}

/// Compiles a validated configuration; `zone_id` numbers zones as the policy does.
pub fn compile_nat(cfg: &Config, zone_id: &dyn Fn(&str) -> Option<u16>) -> Result<Nat, String> {
    let n = &cfg.security.nat;
    let pools: Vec<SourcePool> = n
        .source
        .pool
        .iter()
        .map(|p| SourcePool {
            name: p.name.clone(),
            ranges: p.address.iter().filter_map(|a| a.range()).collect(),
            ports: p.ports(),
        })
        .collect();
    let destination_pools: Vec<DestinationPool> = n
        .destination
        .pool
        .iter()
        .map(|p| DestinationPool {
            name: p.name.clone(),
            address: p.address.first().and_then(|a| a.range()).map_or(0, |r| r.0),
            port: p.address.first().and_then(|a| a.port).map(|p| p.0),
        })
        .collect();
    let pool_id = |name: &str, list: &[String]| {
        list.iter()
            .position(|p| p == name)
            .map(|i| i as u16)
            .ok_or_else(|| format!("NAT pool '{name}' is not defined"))
    };
    let src_names: Vec<String> = pools.iter().map(|p| p.name.clone()).collect();
    let dst_names: Vec<String> = destination_pools.iter().map(|p| p.name.clone()).collect();
    let source = rules(cfg, &n.source.rule_set, zone_id, |r| {
        let sn = r.then.as_ref().map(|t| &t.source_nat);
        Ok(match sn {
            Some(s) if s.off.0 => NatAction::Off,
            Some(s) if s.interface.0 => NatAction::Interface,
            Some(nat::SourceNat { pool: Some(p), .. }) => NatAction::Pool(pool_id(p, &src_names)?),
            _ => return Err(format!("rule {}: then source-nat is missing", r.name)),
        })
    })?;
    let destination = rules(cfg, &n.destination.rule_set, zone_id, |r| {
        let dn = r.then.as_ref().map(|t| &t.destination_nat);
        Ok(match dn {
            Some(d) if d.off.0 => NatAction::Off,
            Some(nat::DestinationNat { pool: Some(p), .. }) => {
                NatAction::Destination(pool_id(p, &dst_names)?)
            }
            _ => return Err(format!("rule {}: then destination-nat is missing", r.name)),
        })
    })?;
    let statics = rules(cfg, &n.static_nat.rule_set, zone_id, |r| {
        let to = r
            .then
            .as_ref()
            .and_then(|t| t.static_nat.prefix.as_ref())
            .and_then(v4);
        let from = r.matches.destination_address.first().and_then(v4);
        match (from, to) {
            (Some(from), Some(to)) if from.len == to.len => Ok(NatAction::Static { from, to }),
            _ => Err(format!(
                "rule {}: static-nat needs matching prefixes",
                r.name
            )),
        }
    })?;
    let proxy_arp = n
        .proxy_arp
        .interface
        .iter()
        .map(|i| {
            (
                i.name.clone(),
                i.address.iter().filter_map(|a| a.range()).collect(),
            )
        })
        .collect();
    Ok(Nat {
        source,
        destination,
        statics,
        pools,
        destination_pools,
        proxy_arp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_book_names_add_their_prefixes_to_a_rule() {
        let text = "security {
            address-book { global {
                address lan 10.1.0.0/16;
                address dmz 10.2.0.0/24;
                address-set inside { address lan; address dmz; } } }
            zones { security-zone trust; security-zone untrust; }
            nat { source { rule-set out { from zone trust; to zone untrust;
                rule r { match { source-address 192.168.0.0/24; source-address-name inside;
                                 destination-address 0.0.0.0/0; application any; }
                         then { source-nat { interface; } } } } } } }";
        let c = savin_config::Configuration::parse(text, None).unwrap();
        assert!(c.check().is_ok(), "{:?}", c.check().err());
        let cfg = c.typed().unwrap();
        let zone = |z: &str| {
            ["trust", "untrust"]
                .iter()
                .position(|x| *x == z)
                .map(|i| i as u16)
        };
        let nat = compile_nat(&cfg, &zone).unwrap();
        let src: Vec<String> = nat.source[0]
            .source
            .iter()
            .map(|p| format!("{p:?}"))
            .collect();
        assert_eq!(src.len(), 3, "{src:?}");
        // A name without an IPv4 address would empty the list, which matches any address.
        let v6 = text
            .replace(
                "address dmz 10.2.0.0/24;",
                "address dmz 10.2.0.0/24; address v6 2001:db8::/32;",
            )
            .replace("source-address-name inside", "source-address-name v6");
        let c = savin_config::Configuration::parse(&v6, None).unwrap();
        let e = c.check().unwrap_err();
        assert!(
            e.iter().any(|e| e.to_string().contains("no IPv4 address")),
            "{e:?}"
        );
        let unknown = text.replace("source-address-name inside", "source-address-name nope");
        let c = savin_config::Configuration::parse(&unknown, None).unwrap();
        let e = c.check().unwrap_err();
        assert!(e.iter().any(|e| e.to_string().contains("nope")), "{e:?}");
    }
}
