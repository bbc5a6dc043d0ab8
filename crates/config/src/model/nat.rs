//! `security nat`: source NAT (interface or pool, with port translation), destination NAT,
//! static NAT and proxy-ARP, in the SRX layout.

use std::net::{IpAddr, Ipv4Addr};

use serde::Deserialize;

use super::applications::protocol_number;
use super::{Config, Flag, Prefix, ValidationError};
use crate::schema::{container, flag, leaf, leaf_list, list, Node};
use crate::value::Type;

/// `address A [to B];`: a prefix, or the range from one address to another. Addresses keep
/// their host bits (and a missing length is /32): with `to`, the lengths do not count.
fn address_list(help: &'static str, extra: Vec<Node>) -> Node {
    let mut children = vec![leaf(
        "to",
        "Upper limit of address range",
        Type::Ipv4PoolAddr,
    )];
    children.extend(extra);
    list("address", help, Type::Ipv4PoolAddr, children).oneline()
}

fn port_list(name: &'static str, help: &'static str) -> Node {
    list(
        name,
        help,
        Type::Port,
        vec![leaf("to", "Port range upper limit", Type::Port)],
    )
    .oneline()
}

fn zones_or_interfaces(name: &'static str, help: &'static str) -> Node {
    container(
        name,
        help,
        vec![
            leaf_list("zone", "Zone name", Type::Name),
            leaf_list("interface", "Interface name", Type::IflName),
        ],
    )
    .flatten()
}

fn rule_match() -> Node {
    let mut m = vec![
        leaf_list("source-address", "Source address", Type::IpPrefix),
        leaf_list("destination-address", "Destination address", Type::IpPrefix),
    ];
    // Junos prints `destination-port { 80; 8000 to 8080; }`; `destination-port 80;` loads too.
    m.push(container(
        "destination-port",
        "Destination port",
        vec![port_list("port", "Port or port range").bare()],
    ));
    m.push(leaf_list(
        "protocol",
        "IP protocol (tcp, udp, icmp or a number)",
        Type::Name,
    ));
    m.push(leaf_list(
        "source-address-name",
        "Address from the address book",
        Type::Name,
    ));
    m.push(leaf_list(
        "destination-address-name",
        "Address from the address book",
        Type::Name,
    ));
    m.push(leaf_list(
        "application",
        "Application or application set ('any' only in Savin)",
        Type::Name,
    ));
    container("match", "Specify NAT rule match criteria", m)
}

fn rule_set(kind: &'static str, then: Node) -> Node {
    let mut children = vec![
        leaf("description", "Text description of rule set", Type::Text),
        zones_or_interfaces("from", "Where is the traffic from"),
    ];
    if kind == "source" {
        children.push(zones_or_interfaces("to", "Where is the traffic to"));
    }
    children.push(
        list(
            "rule",
            "NAT rule",
            Type::Name,
            vec![
                leaf("description", "Text description of rule", Type::Text),
                rule_match(),
                container("then", "Then action", vec![then]),
            ],
        )
        .ordered(),
    );
    list("rule-set", "Configure a NAT rule set", Type::Name, children)
}

pub fn schema() -> Node {
    container(
        "nat",
        "Configure Network Address Translation",
        vec![
            container(
                "source",
                "Configure Source NAT",
                vec![
                    list(
                        "pool",
                        "Define a source address pool",
                        Type::Name,
                        vec![
                            leaf("description", "Text description of pool", Type::Text),
                            address_list("Add address or address range to pool", vec![]),
                            container(
                                "port",
                                "Config port attribute to pool",
                                vec![
                                    flag("no-translation", "Do not perform port translation"),
                                    port_list("range", "Port range"),
                                ],
                            ),
                            // Savin always pairs: the address comes from a hash of the
                            // source, so a host keeps its address (`source_nat`).
                            leaf(
                                "address-pooling",
                                "Address pooling (Savin always pairs a host with one address)",
                                Type::Enum(&["paired", "no-paired"]),
                            )
                            .no_effect(),
                        ],
                    ),
                    container(
                        "pool-utilization-alarm",
                        "Raise an SNMP trap when pool use passes a threshold",
                        vec![
                            leaf(
                                "raise-threshold",
                                "Raise threshold (percent)",
                                Type::Uint { min: 50, max: 100 },
                            ),
                            leaf(
                                "clear-threshold",
                                "Clear threshold (percent)",
                                Type::Uint { min: 40, max: 100 },
                            ),
                        ],
                    )
                    .no_effect(),
                    rule_set(
                        "source",
                        container(
                            "source-nat",
                            "Source NAT action",
                            vec![
                                flag("off", "No action").excludes(&["interface", "pool"]),
                                flag("interface", "Use egress interface address")
                                    .excludes(&["off", "pool"]),
                                leaf("pool", "Use source NAT pool", Type::Ref(POOL_SRC))
                                    .excludes(&["off", "interface"]),
                            ],
                        ),
                    ),
                ],
            ),
            container(
                "destination",
                "Configure Destination NAT",
                vec![
                    list(
                        "pool",
                        "Define a destination address pool",
                        Type::Name,
                        vec![
                            leaf("description", "Text description of pool", Type::Text),
                            address_list(
                                "Add address or address range to pool",
                                vec![leaf("port", "Specify the port value", Type::Port)],
                            ),
                        ],
                    ),
                    rule_set(
                        "destination",
                        container(
                            "destination-nat",
                            "Destination NAT action",
                            vec![
                                flag("off", "No action").excludes(&["pool"]),
                                leaf("pool", "Use destination NAT pool", Type::Ref(POOL_DST))
                                    .excludes(&["off"]),
                            ],
                        ),
                    ),
                ],
            ),
            container(
                "static",
                "Configure Static NAT",
                vec![rule_set(
                    "static",
                    container(
                        "static-nat",
                        "Static NAT action",
                        vec![leaf("prefix", "Static NAT prefix", Type::Ipv4Prefix)],
                    )
                    .flatten(),
                )],
            ),
            container(
                "proxy-arp",
                "Configure Proxy ARP",
                vec![list(
                    "interface",
                    "Interface with proxy ARP addresses",
                    Type::IflName,
                    vec![address_list("Proxy ARP address or range", vec![])],
                )],
            ),
        ],
    )
}

const POOL_SRC: &[&str] = &["security", "nat", "source", "pool"];
const POOL_DST: &[&str] = &["security", "nat", "destination", "pool"];

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Nat {
    #[serde(default)]
    pub source: Source,
    #[serde(default)]
    pub destination: Destination,
    #[serde(default, rename = "static")]
    pub static_nat: Static,
    #[serde(default)]
    pub proxy_arp: ProxyArp,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Source {
    #[serde(default)]
    pub pool: Vec<SourcePool>,
    #[serde(default)]
    pub rule_set: Vec<RuleSet<SourceThen>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Destination {
    #[serde(default)]
    pub pool: Vec<DestinationPool>,
    #[serde(default)]
    pub rule_set: Vec<RuleSet<DestinationThen>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Static {
    #[serde(default)]
    pub rule_set: Vec<RuleSet<StaticThen>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ProxyArp {
    #[serde(default)]
    pub interface: Vec<ProxyArpInterface>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ProxyArpInterface {
    pub name: String,
    #[serde(default)]
    pub address: Vec<AddressRange>,
}

/// `address A [to B]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AddressRange {
    pub name: Prefix,
    pub to: Option<Prefix>,
    /// Destination pools: the port the address is reached on.
    pub port: Option<super::Port>,
}

impl AddressRange {
    /// The first and last address (inclusive), IPv4 only: from the address to `to` (their
    /// lengths do not count, as on an SRX), or without `to` the prefix's addresses.
    pub fn range(&self) -> Option<(u32, u32)> {
        let v4 = |p: &Prefix| match p.addr {
            IpAddr::V4(a) => Some(u32::from(a)),
            IpAddr::V6(_) => None,
        };
        let a = v4(&self.name)?;
        match &self.to {
            Some(t) => Some((a, v4(t)?)),
            None => {
                let host = if self.name.len >= 32 {
                    0
                } else {
                    u32::MAX >> self.name.len
                };
                Some((a & !host, a | host))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SourcePool {
    pub name: String,
    pub description: Option<String>,
    #[serde(default)]
    pub address: Vec<AddressRange>,
    #[serde(default)]
    pub port: PoolPort,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PoolPort {
    #[serde(default)]
    pub no_translation: Flag,
    #[serde(default)]
    pub range: Vec<PortRange>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PortRange {
    pub name: super::Port,
    pub to: Option<super::Port>,
}

impl PortRange {
    pub fn range(&self) -> (u16, u16) {
        (self.name.0, self.to.unwrap_or(self.name).0)
    }
}

impl SourcePool {
    /// The ports translated sources get: the configured range, else 1024-65535 as on an SRX.
    pub fn ports(&self) -> Option<(u16, u16)> {
        if self.port.no_translation.0 {
            return None;
        }
        Some(
            self.port
                .range
                .first()
                .map(PortRange::range)
                .unwrap_or((1024, 65535)),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DestinationPool {
    pub name: String,
    pub description: Option<String>,
    #[serde(default)]
    pub address: Vec<AddressRange>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FromTo {
    #[serde(default)]
    pub zone: Vec<String>,
    #[serde(default)]
    pub interface: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RuleSet<T> {
    pub name: String,
    pub description: Option<String>,
    #[serde(default)]
    pub from: FromTo,
    #[serde(default)]
    pub to: FromTo,
    #[serde(default)]
    pub rule: Vec<Rule<T>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Rule<T> {
    pub name: String,
    pub description: Option<String>,
    #[serde(default, rename = "match")]
    pub matches: RuleMatch,
    #[serde(default = "Option::default")]
    pub then: Option<T>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RuleMatch {
    #[serde(default)]
    pub source_address: Vec<Prefix>,
    #[serde(default)]
    pub destination_address: Vec<Prefix>,
    #[serde(default)]
    pub destination_port: Ports,
    #[serde(default)]
    pub protocol: Vec<String>,
    #[serde(default)]
    pub source_address_name: Vec<String>,
    #[serde(default)]
    pub destination_address_name: Vec<String>,
    #[serde(default)]
    pub application: Vec<String>,
}

/// `destination-port { 80; 8000 to 8080; }`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Ports {
    #[serde(default)]
    pub port: Vec<PortRange>,
}

impl RuleMatch {
    /// The protocol numbers matched (empty: any).
    pub fn protocols(&self) -> Result<Vec<u8>, String> {
        self.protocol.iter().map(|p| protocol_number(p)).collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SourceThen {
    #[serde(default)]
    pub source_nat: SourceNat,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SourceNat {
    #[serde(default)]
    pub off: Flag,
    #[serde(default)]
    pub interface: Flag,
    pub pool: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DestinationThen {
    #[serde(default)]
    pub destination_nat: DestinationNat,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DestinationNat {
    #[serde(default)]
    pub off: Flag,
    pub pool: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StaticThen {
    #[serde(default)]
    pub static_nat: StaticNat,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StaticNat {
    pub prefix: Option<Prefix>,
}

fn v4(p: &Prefix) -> bool {
    p.addr.is_ipv4()
}

pub(super) fn validate(cfg: &Config, errors: &mut Vec<ValidationError>) {
    let nat = &cfg.security.nat;
    let zone_ok = |z: &str| cfg.security.zone(z).is_some();
    let ifl_ok = |i: &str| cfg.interfaces.unit(i).is_some();
    let check_from_to = |errors: &mut Vec<ValidationError>,
                         path: &[&str],
                         what: &str,
                         ft: &FromTo,
                         required: bool| {
        for z in &ft.zone {
            if !zone_ok(z) {
                errors.push(ValidationError::new(
                    path,
                    format!("{what} zone {z}"),
                    format!("zone '{z}' is not defined"),
                ));
            }
        }
        for i in &ft.interface {
            if !ifl_ok(i) {
                errors.push(ValidationError::new(
                    path,
                    format!("{what} interface {i}"),
                    format!("interface {i} is not configured under [edit interfaces]"),
                ));
            }
        }
        if required && ft.zone.is_empty() && ft.interface.is_empty() {
            errors.push(ValidationError::new(
                path,
                what.to_string(),
                format!("rule-set needs '{what} zone' or '{what} interface'"),
            ));
        }
    };
    let check_match =
        |errors: &mut Vec<ValidationError>, path: &[&str], r: &RuleMatch, rule: &str| {
            if let Err(e) = r.protocols() {
                errors.push(ValidationError::new(path, format!("rule {rule}"), e));
            }
            for p in r.source_address.iter().chain(&r.destination_address) {
                if !v4(p) {
                    errors.push(ValidationError::new(
                        path,
                        format!("rule {rule}"),
                        format!("{p}: only IPv4 is translated"),
                    ));
                }
            }
            if r.application.iter().any(|a| a != "any") {
                errors.push(ValidationError::new(
                    path,
                    format!("rule {rule}"),
                    "Savin's NAT rules match 'application any' only; match protocol and \
                     destination-port instead",
                ));
            }
            // The IPv4 addresses of a name match (IPv6 packets are not translated). A name
            // without one is refused: left empty, the rule would match any address.
            for n in r
                .source_address_name
                .iter()
                .chain(&r.destination_address_name)
            {
                let why = match super::security::resolve_address(cfg, n) {
                    Err(e) => Some(e),
                    Ok(ps) if !ps.iter().any(v4) => Some(format!(
                        "address-book '{n}' holds no IPv4 address: only IPv4 is translated"
                    )),
                    Ok(_) => None,
                };
                if let Some(why) = why {
                    errors.push(ValidationError::new(path, format!("rule {rule}"), why));
                }
            }
            for pr in &r.destination_port.port {
                let (lo, hi) = pr.range();
                if lo > hi {
                    errors.push(ValidationError::new(
                        path,
                        format!("rule {rule}"),
                        format!("destination-port {lo} to {hi} is empty"),
                    ));
                }
            }
        };
    let check_range =
        |errors: &mut Vec<ValidationError>, path: &[&str], a: &AddressRange| match a.range() {
            Some((lo, hi)) if lo <= hi => {}
            Some(_) => errors.push(ValidationError::new(
                path,
                format!("address {}", a.name),
                "the range ends before it starts",
            )),
            None => errors.push(ValidationError::new(
                path,
                format!("address {}", a.name),
                "only IPv4 addresses are translated",
            )),
        };
    for p in &nat.source.pool {
        let path = ["security", "nat", "source", "pool", p.name.as_str()];
        if p.address.is_empty() {
            errors.push(ValidationError::new(
                &path[..4],
                format!("pool {}", p.name),
                "a pool needs at least one address",
            ));
        }
        for a in &p.address {
            check_range(errors, &path, a);
        }
        for r in &p.port.range {
            let (lo, hi) = r.range();
            if lo > hi || lo < 1024 {
                errors.push(ValidationError::new(
                    &path,
                    format!("port range {lo}"),
                    "port range must lie within 1024 to 65535 and not end before it starts",
                ));
            }
        }
    }
    for p in &nat.destination.pool {
        let path = ["security", "nat", "destination", "pool", p.name.as_str()];
        if p.address.len() != 1 {
            errors.push(ValidationError::new(
                &path[..4],
                format!("pool {}", p.name),
                "a destination pool needs exactly one address (or range)",
            ));
        }
        for a in &p.address {
            check_range(errors, &path, a);
        }
    }
    for rs in &nat.source.rule_set {
        let path = ["security", "nat", "source", "rule-set", rs.name.as_str()];
        check_from_to(errors, &path, "from", &rs.from, true);
        check_from_to(errors, &path, "to", &rs.to, true);
        for r in &rs.rule {
            check_match(errors, &path, &r.matches, &r.name);
            let sn = r.then.as_ref().map(|t| &t.source_nat);
            match sn {
                Some(SourceNat { pool: Some(p), .. }) => {
                    if !nat.source.pool.iter().any(|x| &x.name == p) {
                        errors.push(ValidationError::new(
                            &path,
                            format!("rule {}", r.name),
                            format!("source NAT pool '{p}' is not defined"),
                        ));
                    }
                }
                Some(s) if s.off.0 || s.interface.0 => {}
                _ => errors.push(ValidationError::new(
                    &path,
                    format!("rule {}", r.name),
                    "then source-nat needs interface, pool or off",
                )),
            }
        }
    }
    for rs in &nat.destination.rule_set {
        let path = [
            "security",
            "nat",
            "destination",
            "rule-set",
            rs.name.as_str(),
        ];
        check_from_to(errors, &path, "from", &rs.from, true);
        for r in &rs.rule {
            check_match(errors, &path, &r.matches, &r.name);
            if r.matches.destination_address.is_empty() {
                errors.push(ValidationError::new(
                    &path,
                    format!("rule {}", r.name),
                    "match destination-address is required",
                ));
            }
            match r.then.as_ref().map(|t| &t.destination_nat) {
                Some(DestinationNat { pool: Some(p), .. }) => {
                    if !nat.destination.pool.iter().any(|x| &x.name == p) {
                        errors.push(ValidationError::new(
                            &path,
                            format!("rule {}", r.name),
                            format!("destination NAT pool '{p}' is not defined"),
                        ));
                    }
                }
                Some(d) if d.off.0 => {}
                _ => errors.push(ValidationError::new(
                    &path,
                    format!("rule {}", r.name),
                    "then destination-nat needs pool or off",
                )),
            }
        }
    }
    for rs in &nat.static_nat.rule_set {
        let path = ["security", "nat", "static", "rule-set", rs.name.as_str()];
        check_from_to(errors, &path, "from", &rs.from, true);
        for r in &rs.rule {
            check_match(errors, &path, &r.matches, &r.name);
            if !r.matches.destination_address_name.is_empty() {
                errors.push(ValidationError::new(
                    &path,
                    format!("rule {}", r.name),
                    "static NAT maps one written destination-address, not address-book names",
                ));
            }
            let target = r.then.as_ref().and_then(|t| t.static_nat.prefix);
            match (r.matches.destination_address.as_slice(), target) {
                ([d], Some(t)) if d.len == t.len && v4(&t) => {}
                ([_], Some(_)) => errors.push(ValidationError::new(
                    &path,
                    format!("rule {}", r.name),
                    "static-nat prefix must be IPv4 and as long as the destination-address",
                )),
                _ => errors.push(ValidationError::new(
                    &path,
                    format!("rule {}", r.name),
                    "static NAT needs one match destination-address and then static-nat prefix",
                )),
            }
        }
    }
    for i in &nat.proxy_arp.interface {
        let path = ["security", "nat", "proxy-arp", "interface", i.name.as_str()];
        if !ifl_ok(&i.name) {
            errors.push(ValidationError::new(
                &path[..4],
                format!("interface {}", i.name),
                format!(
                    "interface {} is not configured under [edit interfaces]",
                    i.name
                ),
            ));
        }
        for a in &i.address {
            check_range(errors, &path, a);
            if let Some((lo, hi)) = a.range() {
                if hi.saturating_sub(lo) >= 1 << 16 {
                    errors.push(ValidationError::new(
                        &path,
                        format!("address {}", a.name),
                        "a proxy-ARP range holds at most 65536 addresses",
                    ));
                }
            }
        }
    }
}

/// The addresses of an IPv4 range, as addresses (for show commands).
pub fn addr(a: u32) -> Ipv4Addr {
    Ipv4Addr::from(a)
}
