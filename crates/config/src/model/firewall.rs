//! `firewall`: stateless filters and policers, as on an MX or EX. A filter is an ordered list
//! of terms (`from` conditions, `then` actions) applied to a unit with `family inet filter
//! input|output NAME`; `lo0.0`'s input filter guards everything addressed to the box.

use serde::Deserialize;

use super::{Config, Flag, Prefix, ValidationError};
use crate::schema::{container, flag, leaf, leaf_list, list, Node};
use crate::value::Type;

/// The family a filter is written for: what its terms may match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fam {
    Inet,
    Inet6,
    EthernetSwitching,
}

impl Fam {
    /// Its name under `firewall family`.
    pub fn name(self) -> &'static str {
        match self {
            Fam::Inet => "inet",
            Fam::Inet6 => "inet6",
            Fam::EthernetSwitching => "ethernet-switching",
        }
    }
}

fn prefixes(name: &'static str, help: &'static str, fam: Fam) -> Node {
    list(
        name,
        help,
        match fam {
            Fam::Inet => Type::Ipv4Prefix,
            Fam::Inet6 => Type::Ipv6Prefix,
            Fam::EthernetSwitching => Type::IpPrefix,
        },
        vec![flag("except", "Match addresses not in this prefix")],
    )
    .oneline()
}

fn from(fam: Fam) -> Node {
    let mut v = vec![
        prefixes("source-address", "Match IP source address", fam),
        prefixes("destination-address", "Match IP destination address", fam),
        prefixes("address", "Match IP source or destination address", fam),
        list(
            "source-prefix-list",
            "Match IP source prefixes in named list",
            Type::Name,
            vec![],
        ),
        list(
            "destination-prefix-list",
            "Match IP destination prefixes in named list",
            Type::Name,
            vec![],
        ),
        list(
            "prefix-list",
            "Match IP source or destination prefixes in named list",
            Type::Name,
            vec![],
        ),
        leaf_list("source-port", "Match TCP/UDP source port", Type::Name),
        leaf_list(
            "destination-port",
            "Match TCP/UDP destination port",
            Type::Name,
        ),
        leaf_list(
            "port",
            "Match TCP/UDP source or destination port",
            Type::Name,
        ),
        leaf(
            "tcp-flags",
            "Match TCP flags (syn & !ack, rst | fin)",
            Type::Text,
        ),
        flag(
            "tcp-established",
            "Match packet of an established TCP connection",
        ),
        flag("tcp-initial", "Match initial packet of a TCP connection"),
        leaf_list("icmp-type", "Match ICMP message type", Type::Name),
        leaf_list("icmp-code", "Match ICMP message code", Type::Name),
        leaf_list("packet-length", "Match packet length", Type::Name),
        leaf_list("interface", "Match interface name", Type::IflName),
    ];
    let dscp = || {
        leaf_list(
            "dscp",
            "Match Differentiated Services (DiffServ) code point",
            Type::Name,
        )
    };
    match fam {
        Fam::Inet | Fam::EthernetSwitching => v.extend([
            flag("is-fragment", "Match if packet is a fragment"),
            flag("first-fragment", "Match if packet is the first fragment"),
            leaf_list("protocol", "Match IP protocol type", Type::Name),
            dscp(),
            leaf(
                "fragment-flags",
                "Match fragment flags (dont-fragment, more-fragments, is-fragment)",
                Type::Text,
            ),
        ]),
        Fam::Inet6 => v.extend([
            leaf_list(
                "next-header",
                "Match next header protocol type (the payload's, after extension headers)",
                Type::Name,
            ),
            leaf_list(
                "payload-protocol",
                "Match payload protocol type",
                Type::Name,
            ),
            leaf_list("traffic-class", "Match traffic class (DSCP)", Type::Name),
            flag("is-fragment", "Match if packet is a fragment"),
            flag("first-fragment", "Match if packet is the first fragment"),
        ]),
    }
    if fam == Fam::EthernetSwitching {
        let mac = |name, help| list(name, help, Type::Name, vec![]).oneline();
        v.extend([
            mac(
                "source-mac-address",
                "Match source MAC address (MAC[/length])",
            ),
            mac(
                "destination-mac-address",
                "Match destination MAC address (MAC[/length])",
            ),
            leaf_list(
                "ether-type",
                "Match Ethernet type (ipv4, ipv6, arp, or a number such as 0x88cc)",
                Type::Name,
            ),
            leaf_list("vlan", "Match VLAN name or ID", Type::Name),
            prefixes("ip-source-address", "Match IP source address", fam),
            prefixes(
                "ip-destination-address",
                "Match IP destination address",
                fam,
            ),
            leaf_list("ip-protocol", "Match IP protocol type", Type::Name),
        ]);
    }
    container("from", "Match criteria", v)
}

fn then() -> Node {
    container(
        "then",
        "Action to take if the 'from' condition is matched",
        vec![
            flag("accept", "Accept the packet"),
            flag("discard", "Discard the packet"),
            container(
                "reject",
                "Reject the packet",
                [
                    "administratively-prohibited",
                    "bad-host-tos",
                    "bad-network-tos",
                    "host-prohibited",
                    "host-unknown",
                    "host-unreachable",
                    "network-prohibited",
                    "network-unknown",
                    "network-unreachable",
                    "port-unreachable",
                    "precedence-cutoff",
                    "precedence-violation",
                    "protocol-unreachable",
                    "source-host-isolated",
                    "source-route-failed",
                    "tcp-reset",
                ]
                .into_iter()
                .map(|r| flag(r, "Reject with this ICMP message (tcp-reset: a TCP RST)"))
                .collect(),
            )
            .presence()
            .oneline(),
            leaf("count", "Count the packet in the named counter", Type::Name),
            leaf(
                "policer",
                "Name of policer to use to rate-limit traffic",
                Type::Name,
            ),
            flag("log", "Log the packet"),
            flag("syslog", "System log (syslog) information about the packet"),
            leaf(
                "routing-instance",
                "Forward in this routing instance",
                Type::Name,
            )
            .unsupported("filter-based forwarding (routing instances)"),
            // Kept and shown; they do not change whether a packet passes, and Savin has no
            // sampling, mirroring or classes of service yet.
            flag("sample", "Sample the packet"),
            flag("port-mirror", "Port-mirror the packet"),
            leaf(
                "forwarding-class",
                "Classify packet to forwarding class",
                Type::Name,
            ),
            leaf(
                "loss-priority",
                "Classify packet to loss priority",
                Type::Enum(&["low", "medium-low", "medium-high", "high"]),
            ),
            container(
                "next",
                "Continue to the next term",
                vec![flag("term", "Continue to the next term")],
            )
            .oneline(),
        ],
    )
    .excludes(&[])
}

fn filters(fam: Fam) -> Node {
    list(
        "filter",
        "Define a firewall filter",
        Type::Name,
        vec![
            flag(
                "interface-specific",
                "Defined counters are interface specific",
            ),
            list(
                "term",
                "Define a firewall term",
                Type::Name,
                vec![
                    leaf(
                        "filter",
                        "Evaluate the terms of this filter here",
                        Type::Name,
                    )
                    .excludes(&["from", "then"]),
                    from(fam),
                    then(),
                ],
            )
            .ordered(),
        ],
    )
}

pub fn schema() -> Node {
    container(
        "firewall",
        "Define a firewall configuration",
        vec![
            container(
                "family",
                "Protocol family",
                vec![
                    container(
                        "inet",
                        "Protocol family IPv4 for firewall filter",
                        vec![filters(Fam::Inet)],
                    ),
                    container(
                        "inet6",
                        "Protocol family IPv6 for firewall filter",
                        vec![filters(Fam::Inet6)],
                    ),
                    container(
                        "ethernet-switching",
                        "Protocol family Ethernet Switching for firewall filter",
                        vec![filters(Fam::EthernetSwitching)],
                    ),
                ],
            )
            .flatten(),
            filters(Fam::Inet),
            list(
                "policer",
                "Policer template definition",
                Type::Name,
                vec![
                    flag("filter-specific", "Policer is filter-specific"),
                    container(
                        "if-exceeding",
                        "Define rate limits",
                        vec![
                            leaf(
                                "bandwidth-limit",
                                "Bandwidth limit (bits per second: 8k, 10m, 1g)",
                                Type::Name,
                            ),
                            leaf(
                                "burst-size-limit",
                                "Burst size limit (bytes: 15k, 1m)",
                                Type::Name,
                            ),
                        ],
                    ),
                    container(
                        "then",
                        "Action to take if the rate limits are exceeded",
                        vec![
                            flag("discard", "Discard the packet"),
                            leaf(
                                "loss-priority",
                                "Packet's loss priority",
                                Type::Enum(&["low", "medium-low", "medium-high", "high"]),
                            ),
                            leaf(
                                "forwarding-class",
                                "Classify packet to forwarding class",
                                Type::Name,
                            ),
                        ],
                    )
                    .oneline(),
                ],
            ),
        ],
    )
}

/// `family inet|inet6 filter { input; output; input-list; output-list; }` on a unit.
pub fn unit_filter() -> Node {
    container(
        "filter",
        "Filter to be applied to the interface",
        vec![
            leaf(
                "input",
                "Name of filter applied to received packets",
                Type::Name,
            ),
            leaf(
                "output",
                "Name of filter applied to transmitted packets",
                Type::Name,
            ),
            leaf_list(
                "input-list",
                "List of filters applied to received packets",
                Type::Name,
            ),
            leaf_list(
                "output-list",
                "List of filters applied to transmitted packets",
                Type::Name,
            ),
        ],
    )
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Firewall {
    #[serde(default)]
    pub family: Families,
    /// Filters written without a family: IPv4.
    #[serde(default)]
    pub filter: Vec<Filter>,
    #[serde(default)]
    pub policer: Vec<Policer>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Families {
    #[serde(default)]
    pub inet: Filters,
    #[serde(default)]
    pub inet6: Filters,
    #[serde(default)]
    pub ethernet_switching: Filters,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Filters {
    #[serde(default)]
    pub filter: Vec<Filter>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Filter {
    pub name: String,
    #[serde(default)]
    pub interface_specific: Flag,
    #[serde(default)]
    pub term: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Term {
    pub name: String,
    /// `filter NAME`: the terms of another filter of the family, evaluated here.
    pub filter: Option<String>,
    #[serde(default)]
    pub from: From,
    #[serde(default)]
    pub then: Then,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PrefixMatch {
    pub name: Prefix,
    #[serde(default)]
    pub except: Flag,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Named {
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct From {
    #[serde(default)]
    pub source_address: Vec<PrefixMatch>,
    #[serde(default)]
    pub destination_address: Vec<PrefixMatch>,
    #[serde(default)]
    pub address: Vec<PrefixMatch>,
    #[serde(default)]
    pub source_prefix_list: Vec<Named>,
    #[serde(default)]
    pub destination_prefix_list: Vec<Named>,
    #[serde(default)]
    pub prefix_list: Vec<Named>,
    #[serde(default)]
    pub protocol: Vec<String>,
    #[serde(default)]
    pub next_header: Vec<String>,
    #[serde(default)]
    pub payload_protocol: Vec<String>,
    #[serde(default)]
    pub traffic_class: Vec<String>,
    #[serde(default)]
    pub icmp_code: Vec<String>,
    #[serde(default)]
    pub source_mac_address: Vec<Named>,
    #[serde(default)]
    pub destination_mac_address: Vec<Named>,
    #[serde(default)]
    pub ether_type: Vec<String>,
    #[serde(default)]
    pub vlan: Vec<String>,
    #[serde(default)]
    pub ip_source_address: Vec<PrefixMatch>,
    #[serde(default)]
    pub ip_destination_address: Vec<PrefixMatch>,
    #[serde(default)]
    pub ip_protocol: Vec<String>,
    #[serde(default)]
    pub source_port: Vec<String>,
    #[serde(default)]
    pub destination_port: Vec<String>,
    #[serde(default)]
    pub port: Vec<String>,
    pub tcp_flags: Option<String>,
    #[serde(default)]
    pub tcp_established: Flag,
    #[serde(default)]
    pub tcp_initial: Flag,
    #[serde(default)]
    pub icmp_type: Vec<String>,
    #[serde(default)]
    pub dscp: Vec<String>,
    #[serde(default)]
    pub packet_length: Vec<String>,
    pub fragment_flags: Option<String>,
    #[serde(default)]
    pub is_fragment: Flag,
    #[serde(default)]
    pub first_fragment: Flag,
    #[serde(default)]
    pub interface: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Then {
    #[serde(default)]
    pub accept: Flag,
    #[serde(default)]
    pub discard: Flag,
    pub reject: Option<Reject>,
    pub count: Option<String>,
    pub policer: Option<String>,
    #[serde(default)]
    pub log: Flag,
    #[serde(default)]
    pub syslog: Flag,
    #[serde(default)]
    pub sample: Flag,
    #[serde(default)]
    pub port_mirror: Flag,
    pub forwarding_class: Option<String>,
    pub loss_priority: Option<String>,
    pub next: Option<Next>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Reject {
    #[serde(default)]
    pub tcp_reset: Flag,
    // The ICMP unreachable codes are read by the compiler from the JSON names; the typed
    // view keeps the one that matters to the data plane.
    #[serde(default)]
    pub administratively_prohibited: Flag,
    #[serde(default)]
    pub host_unreachable: Flag,
    #[serde(default)]
    pub network_unreachable: Flag,
    #[serde(default)]
    pub port_unreachable: Flag,
    #[serde(default)]
    pub protocol_unreachable: Flag,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Next {
    #[serde(default)]
    pub term: Flag,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Policer {
    pub name: String,
    #[serde(default)]
    pub filter_specific: Flag,
    #[serde(default)]
    pub if_exceeding: IfExceeding,
    #[serde(default)]
    pub then: PolicerThen,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct IfExceeding {
    pub bandwidth_limit: Option<String>,
    pub burst_size_limit: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PolicerThen {
    #[serde(default)]
    pub discard: Flag,
    pub loss_priority: Option<String>,
    pub forwarding_class: Option<String>,
}

/// `8k`, `10m`, `1g`, `1500`: a number with an optional k/m/g (powers of 1000, as Junos reads
/// bandwidths and burst sizes).
pub fn scaled(text: &str) -> Result<u64, String> {
    let (num, mult) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 1_000),
        Some((i, 'm' | 'M')) => (&text[..i], 1_000_000),
        Some((i, 'g' | 'G')) => (&text[..i], 1_000_000_000),
        _ => (text, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("invalid value '{text}': expected a number with k, m or g"))
}

impl Firewall {
    /// The IPv4 filter `name` (under `family inet`, or written without a family).
    pub fn inet(&self, name: &str) -> Option<&Filter> {
        self.family
            .inet
            .filter
            .iter()
            .chain(&self.filter)
            .find(|f| f.name == name)
    }

    /// The filter `name` of family `fam`.
    pub fn of(&self, fam: Fam, name: &str) -> Option<&Filter> {
        match fam {
            Fam::Inet => self.inet(name),
            Fam::Inet6 => self.family.inet6.filter.iter().find(|f| f.name == name),
            Fam::EthernetSwitching => self
                .family
                .ethernet_switching
                .filter
                .iter()
                .find(|f| f.name == name),
        }
    }
}

impl Policer {
    /// (bits per second, burst bytes), or what is wrong.
    pub fn limits(&self) -> Result<(u64, u64), String> {
        let bw = self
            .if_exceeding
            .bandwidth_limit
            .as_deref()
            .ok_or("if-exceeding bandwidth-limit is required")?;
        let burst = self
            .if_exceeding
            .burst_size_limit
            .as_deref()
            .ok_or("if-exceeding burst-size-limit is required")?;
        Ok((scaled(bw)?, scaled(burst)?))
    }
}

pub(super) fn validate(cfg: &Config, errors: &mut Vec<ValidationError>) {
    let fw = &cfg.firewall;
    for p in &fw.policer {
        if let Err(e) = p.limits() {
            errors.push(ValidationError::new(
                &["firewall"],
                format!("policer {}", p.name),
                e,
            ));
        }
    }
    let fams = [
        ("inet", &fw.family.inet.filter),
        ("inet6", &fw.family.inet6.filter),
        ("ethernet-switching", &fw.family.ethernet_switching.filter),
        ("", &fw.filter),
    ];
    for (fam, filters) in fams {
        for f in filters.iter() {
            let mut path = vec!["firewall"];
            if !fam.is_empty() {
                path.extend(["family", fam]);
            }
            path.extend(["filter", f.name.as_str()]);
            for t in &f.term {
                if let Some(inner) = &t.filter {
                    let mut tp = path.clone();
                    tp.extend(["term", t.name.as_str()]);
                    // Where compile looks: the family's own filters (inet: and the
                    // family-less ones, which are inet).
                    let inet = fam.is_empty() || fam == "inet";
                    let found = if inet {
                        fw.inet(inner)
                    } else {
                        filters.iter().find(|x| &x.name == inner)
                    };
                    let why = match found {
                        None => Some(format!("filter '{inner}' is not defined")),
                        Some(x) if x.name == f.name => {
                            Some("a filter cannot refer to itself".to_string())
                        }
                        // As on Junos: references go one level deep.
                        Some(x) if x.term.iter().any(|u| u.filter.is_some()) => Some(format!(
                            "filter '{inner}' refers to other filters itself; nesting goes one level deep"
                        )),
                        Some(_) => None,
                    };
                    if let Some(why) = why {
                        errors.push(ValidationError::new(&tp, format!("filter {inner}"), why));
                    }
                }
                if fam == "ethernet-switching" && t.then.reject.is_some() {
                    let mut tp = path.clone();
                    tp.extend(["term", t.name.as_str(), "then"]);
                    errors.push(ValidationError::new(
                        &tp,
                        "reject",
                        "ethernet-switching filters have no reject: use discard",
                    ));
                }
                if let Some(p) = &t.then.policer {
                    if !fw.policer.iter().any(|x| &x.name == p) {
                        let mut tp = path.clone();
                        tp.extend(["term", t.name.as_str(), "then"]);
                        errors.push(ValidationError::new(
                            &tp,
                            format!("policer {p}"),
                            format!("policer '{p}' is not defined under [edit firewall]"),
                        ));
                    }
                }
                let lists = t
                    .from
                    .source_prefix_list
                    .iter()
                    .chain(&t.from.destination_prefix_list)
                    .chain(&t.from.prefix_list);
                if let Some(l) = lists.into_iter().next() {
                    let mut tp = path.clone();
                    tp.extend(["term", t.name.as_str(), "from"]);
                    errors.push(ValidationError::new(
                        &tp,
                        format!("prefix-list {}", l.name),
                        "prefix lists live under [edit policy-options], which Savin does not have yet",
                    ));
                }
            }
        }
    }
    // Filters named by interfaces.
    for ifd in &cfg.interfaces.interface {
        for u in &ifd.unit {
            for (fam, fl) in u.filters() {
                let Some(fl) = fl else { continue };
                let named = fl
                    .input
                    .iter()
                    .chain(&fl.output)
                    .chain(&fl.input_list)
                    .chain(&fl.output_list);
                let unit = u.name.to_string();
                let fpath = [
                    "interfaces",
                    &ifd.name,
                    "unit",
                    &unit,
                    "family",
                    fam.name(),
                    "filter",
                ];
                for n in named {
                    if fw.of(fam, n).is_none() {
                        errors.push(ValidationError::new(
                            &fpath,
                            n.clone(),
                            format!(
                                "firewall filter '{n}' is not defined under [edit firewall family {}]",
                                fam.name()
                            ),
                        ));
                    }
                }
                if ifd.name == "lo0" && (fl.output.is_some() || !fl.output_list.is_empty()) {
                    errors.push(ValidationError::new(
                        &fpath,
                        "output",
                        "an output filter on lo0 is not supported (the box's own traffic is not filtered)",
                    ));
                }
            }
        }
    }
}
