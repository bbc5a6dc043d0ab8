//! `security`: zones, the address book, policies and flow options (NAT in `nat.rs`).

use std::collections::HashMap;

use serde::Deserialize;

use super::applications::{self, Named};
use super::{Config, Flag, Prefix, ValidationError};
use crate::schema::{container, flag, leaf, leaf_list, list, Node};
use crate::value::Type;

/// Services a zone may let through to the box itself.
pub const SYSTEM_SERVICES: &[&str] = &[
    "all",
    "any-service",
    "ping",
    "traceroute",
    "ssh",
    "telnet",
    "http",
    "https",
    "netconf",
    "snmp",
    "ntp",
    "dns",
    "dhcp",
    "ike",
    "bootp",
    "dhcpv6",
    "tftp",
    "ftp",
    "snmp-trap",
    "twamp",
    "prometheus",
    "xnm-clear-text",
    "xnm-ssl",
    "rlogin",
    "rsh",
    "finger",
    "ident-reset",
    "lsping",
    "high-availability",
];
/// Routing protocols a zone may let through to the box itself.
pub const PROTOCOLS: &[&str] = &["all", "bgp", "ospf", "ospf3", "bfd", "rip", "vrrp", "pim"];

fn host_inbound() -> Node {
    container(
        "host-inbound-traffic",
        "Allowed system services and protocols to the device",
        vec![
            container(
                "system-services",
                "Type of incoming system-service traffic to accept",
                vec![list("service", "Service", Type::Enum(SYSTEM_SERVICES), vec![]).bare()],
            ),
            container(
                "protocols",
                "Protocol type of incoming traffic to accept",
                vec![list("protocol", "Protocol", Type::Enum(PROTOCOLS), vec![]).bare()],
            ),
        ],
    )
}

fn policy_body(global: bool) -> Vec<Node> {
    let mut matches = vec![
        leaf_list("source-address", "Match IP source address", Type::Name),
        leaf_list(
            "destination-address",
            "Match IP destination address",
            Type::Name,
        ),
        leaf_list("application", "Port-based application", Type::Name),
        leaf_list(
            "source-l3vpn-vrf-group",
            "Match source L3VPN VRF group",
            Type::Name,
        )
        .unsupported("L3VPN VRF groups"),
        leaf_list(
            "destination-l3vpn-vrf-group",
            "Match destination L3VPN VRF group",
            Type::Name,
        )
        .unsupported("L3VPN VRF groups"),
    ];
    if global {
        matches.push(leaf_list(
            "from-zone",
            "Match multiple source zones",
            Type::Name,
        ));
        matches.push(leaf_list(
            "to-zone",
            "Match multiple destination zones",
            Type::Name,
        ));
    }
    vec![
        leaf("description", "Text description of policy", Type::Text),
        container("match", "Specify security policy match-criteria", matches),
        container(
            "then",
            "Specify policy action to take when packet match criteria",
            vec![
                flag("permit", "Permit packets").excludes(&["deny", "reject"]),
                flag("deny", "Deny packets").excludes(&["permit", "reject"]),
                flag("reject", "Reject packets").excludes(&["permit", "deny"]),
                container(
                    "log",
                    "Enable log",
                    vec![
                        flag("session-init", "Log session init time"),
                        flag("session-close", "Log session close time"),
                    ],
                ),
                flag("count", "Enable count"),
            ],
        ),
    ]
}

/// `security authentication-key-chains`: keys for routing protocols' authentication (BGP
/// TCP-AO and MD5, IS-IS, OSPF). Kept and shown; no protocol of Savin's uses them yet.
fn key_chains() -> Node {
    container(
        "authentication-key-chains",
        "Authentication key chain configuration",
        vec![list(
            "key-chain",
            "Authentication key chain",
            Type::Name,
            vec![
                leaf(
                    "description",
                    "Text description of this key chain",
                    Type::Text,
                ),
                leaf(
                    "tolerance",
                    "Clock skew tolerance (seconds)",
                    Type::Uint {
                        min: 0,
                        max: 999_999_999,
                    },
                ),
                list(
                    "key",
                    "Authentication key",
                    Type::Uint { min: 0, max: 63 },
                    vec![
                        leaf("secret", "Authentication key", Type::Text),
                        leaf("key-name", "Key name in hexadecimal", Type::Name),
                        leaf("start-time", "Start time for key transmission", Type::Text),
                        leaf(
                            "algorithm",
                            "Authentication algorithm",
                            Type::Enum(&["md5", "hmac-sha-1", "ao", "aes-128-cmac-96"]),
                        ),
                        leaf(
                            "options",
                            "Protocol's transmission encoding format",
                            Type::Enum(&["basic", "isis-enhanced"]),
                        ),
                        container(
                            "ao-attribute",
                            "TCP-AO attributes",
                            vec![
                                leaf("send-id", "Send ID", Type::Uint { min: 0, max: 255 }),
                                leaf("recv-id", "Receive ID", Type::Uint { min: 0, max: 255 }),
                                leaf(
                                    "tcp-ao-option",
                                    "Include the TCP-AO option",
                                    Type::Enum(&["enabled", "disabled"]),
                                ),
                                leaf(
                                    "cryptographic-algorithm",
                                    "Cryptographic algorithm",
                                    Type::Enum(&["hmac-sha-1-96", "aes-128-cmac-96"]),
                                ),
                            ],
                        ),
                    ],
                ),
            ],
        )],
    )
    .unsupported("routing protocol authentication (key chains)")
}

/// `security ike`: proposals, policies, gateways. Kept and shown; IPsec VPNs are not there yet,
/// so a commit that has them says so.
fn ike() -> Node {
    let text = |n: &'static str, h: &'static str| leaf(n, h, Type::Text);
    let name = |n: &'static str, h: &'static str| leaf(n, h, Type::Name);
    container(
        "ike",
        "IKE configuration",
        vec![
            super::system::traceoptions(),
            list(
                "proposal",
                "Define an IKE proposal",
                Type::Name,
                vec![
                    text("description", "Text description of IKE proposal"),
                    name("authentication-method", "Define authentication method"),
                    name("dh-group", "Define Diffie-Hellman group"),
                    name("authentication-algorithm", "Define authentication algorithm"),
                    name("encryption-algorithm", "Define encryption algorithm"),
                    leaf("lifetime-seconds", "Lifetime, in seconds", Type::Uint { min: 180, max: 86400 }),
                ],
            ),
            list(
                "policy",
                "Define an IKE policy",
                Type::Name,
                vec![
                    text("description", "Text description of IKE policy"),
                    name("mode", "Define an IKE mode for Phase 1"),
                    leaf_list("proposals", "Name of the proposal", Type::Name),
                    name("proposal-set", "Types of default IKE proposal-set"),
                    container(
                        "pre-shared-key",
                        "Define a preshared key",
                        vec![text("ascii-text", "Format as text"), text("hexadecimal", "Format as hexadecimal")],
                    )
                    .oneline(),
                    name("certificate", "Local certificate"),
                ],
            ),
            list(
                "gateway",
                "Define an IKE gateway",
                Type::Name,
                vec![
                    name("ike-policy", "Name of the IKE policy"),
                    leaf_list("address", "Addresses or hostnames of peer", Type::Name),
                    container(
                        "dynamic",
                        "Site to site peer with dynamically assigned IP address",
                        vec![text("hostname", "Use a fully-qualified domain name"), name("ike-user-type", "Type of the IKE ID"), text("user-at-hostname", "Use an e-mail address")],
                    ),
                    container(
                        "dead-peer-detection",
                        "Enable Dead Peer Detection",
                        vec![
                            flag("always-send", "Send probes periodically regardless of traffic"),
                            flag("optimized", "Send probes only when there is outgoing and no incoming data traffic"),
                            flag("probe-idle-tunnel", "Send probes same as in optimized mode and also when there is no outgoing & incoming data traffic"),
                            leaf("interval", "The time between DPD probe messages", Type::Uint { min: 2, max: 60 }),
                            leaf("threshold", "Maximum number of DPD retransmissions", Type::Uint { min: 1, max: 5 }),
                        ],
                    )
                    .presence(),
                    container(
                        "local-identity",
                        "Set the local IKE identity",
                        vec![text("hostname", "Use a fully-qualified domain name"), text("inet", "Use an IPv4 address"), text("user-at-hostname", "Use an e-mail address")],
                    )
                    .oneline(),
                    container(
                        "remote-identity",
                        "Set the remote IKE identity",
                        vec![text("hostname", "Use a fully-qualified domain name"), text("inet", "Use an IPv4 address"), text("user-at-hostname", "Use an e-mail address")],
                    )
                    .oneline(),
                    leaf("external-interface", "External interface for IKE negotiations", Type::Name),
                    leaf("local-address", "Local IP address for IKE negotiations", Type::Ip),
                    name("version", "Negotiate using either IKE v1 or IKE v2 protocol"),
                    flag("no-nat-traversal", "Disable IPSec NAT traversal"),
                ],
            ),
        ],
    )
    .unsupported("IPsec VPNs (IKE)")
}

/// `security ipsec`: proposals, policies, VPNs (see [`ike`]).
fn ipsec() -> Node {
    let text = |n: &'static str, h: &'static str| leaf(n, h, Type::Text);
    let name = |n: &'static str, h: &'static str| leaf(n, h, Type::Name);
    container(
        "ipsec",
        "IPSec configuration",
        vec![
            super::system::traceoptions(),
            leaf(
                "anti-replay-window-size",
                "Size of the anti-replay window",
                Type::Uint {
                    min: 64,
                    max: 65536,
                },
            ),
            list(
                "proposal",
                "Define an IPSec proposal",
                Type::Name,
                vec![
                    text("description", "Text description of IPSec proposal"),
                    name("protocol", "Define an IPSec protocol for the proposal"),
                    name(
                        "authentication-algorithm",
                        "Define authentication algorithm",
                    ),
                    name("encryption-algorithm", "Define encryption algorithm"),
                    leaf(
                        "lifetime-seconds",
                        "Lifetime, in seconds",
                        Type::Uint {
                            min: 180,
                            max: 86400,
                        },
                    ),
                    leaf(
                        "lifetime-kilobytes",
                        "Lifetime, in kilobytes",
                        Type::Uint {
                            min: 64,
                            max: 4_294_967_294,
                        },
                    ),
                ],
            ),
            list(
                "policy",
                "Define an IPSec policy",
                Type::Name,
                vec![
                    text("description", "Text description of IPSec policy"),
                    container(
                        "perfect-forward-secrecy",
                        "Define perfect forward secrecy",
                        vec![name("keys", "Define Diffie-Hellman group")],
                    )
                    .oneline(),
                    leaf_list("proposals", "Name of the proposal", Type::Name),
                    name("proposal-set", "Types of default IPSEC proposal-set"),
                ],
            ),
            list(
                "vpn",
                "Define an IPSec VPN",
                Type::Name,
                vec![
                    leaf(
                        "bind-interface",
                        "Bind to tunnel interface (route-based VPN)",
                        Type::IflName,
                    ),
                    name("df-bit", "Specifies how to handle the Don't Fragment bit"),
                    container(
                        "ike",
                        "Define an IKE-keyed IPSec vpn",
                        vec![
                            name("gateway", "Name of remote gateway"),
                            name("ipsec-policy", "Name of the IPSec policy"),
                            container(
                                "proxy-identity",
                                "IPSec proxy-id to use in IKE negotiations",
                                vec![
                                    leaf("local", "Local IP address/prefix length", Type::IpPrefix),
                                    leaf(
                                        "remote",
                                        "Remote IP address/prefix length",
                                        Type::IpPrefix,
                                    ),
                                    name("service", "Name of serivce that passes through"),
                                ],
                            ),
                        ],
                    ),
                    list(
                        "traffic-selector",
                        "Traffic selector",
                        Type::Name,
                        vec![
                            leaf_list(
                                "local-ip",
                                "IP address of local traffic-selector",
                                Type::IpPrefix,
                            ),
                            leaf_list(
                                "remote-ip",
                                "IP address of remote traffic-selector",
                                Type::IpPrefix,
                            ),
                        ],
                    ),
                    name(
                        "establish-tunnels",
                        "Define the criteria to establish tunnels",
                    ),
                    flag("ha-link-encryption", "Enable HA link encryption"),
                    container(
                        "vpn-monitor",
                        "Monitor VPN liveliness",
                        vec![
                            flag("optimized", "Optimize for scalability"),
                            leaf(
                                "source-interface",
                                "Source interface for monitor message",
                                Type::IflName,
                            ),
                            leaf(
                                "destination-ip",
                                "Destination IP addres for monitor message",
                                Type::Ip,
                            ),
                        ],
                    )
                    .presence(),
                ],
            ),
        ],
    )
    .unsupported("IPsec VPNs")
}

pub fn schema() -> Node {
    container(
        "security",
        "Security configuration",
        vec![
            container(
                "address-book",
                "Security address book",
                vec![list(
                    "book",
                    "Address book name (global)",
                    Type::Name,
                    vec![
                        list(
                            "address",
                            "Define a security address",
                            Type::Name,
                            vec![
                                leaf("description", "Text description of address", Type::Text),
                                list(
                                    "ip-prefix",
                                    "Numeric IPv4 or IPv6 address with prefix",
                                    Type::IpPrefix,
                                    vec![],
                                )
                                .bare(),
                                list(
                                    "range-address",
                                    "Address range",
                                    Type::Ip,
                                    vec![leaf("to", "Upper limit of address range", Type::Ip)],
                                )
                                .oneline(),
                                list(
                                    "wildcard-address",
                                    "Numeric IPv4 wildcard address in the form of a.d.d.r/netmask",
                                    Type::Name,
                                    vec![],
                                ),
                                list(
                                    "dns-name",
                                    "DNS address name",
                                    Type::HostName,
                                    vec![
                                        flag("ipv4-only", "IPv4 dns address"),
                                        flag("ipv6-only", "IPv6 dns address"),
                                    ],
                                ),
                            ],
                        )
                        .oneline(),
                        list(
                            "address-set",
                            "Define a security address set",
                            Type::Name,
                            vec![
                                leaf("description", "Text description of address set", Type::Text),
                                list("address", "Security address", Type::Name, vec![]),
                                list("address-set", "Security address set", Type::Name, vec![]),
                            ],
                        ),
                    ],
                )
                .bare()],
            ),
            super::screen::schema(),
            ike(),
            key_chains(),
            ipsec(),
            container(
                "certificates",
                "X.509 certificates",
                vec![list(
                    "local",
                    "Local certificate and private key",
                    Type::Name,
                    vec![list(
                        "certificate",
                        "The certificate and its private key (PEM)",
                        Type::Blob,
                        vec![],
                    )
                    .bare()],
                )
                .oneline()],
            )
            .unsupported("PKI certificates"),
            container(
                "l3vpn",
                "L3VPN VRF groups for security policies",
                vec![list(
                    "vrf-group",
                    "A group of VRFs",
                    Type::Name,
                    vec![leaf_list(
                        "vrf",
                        "Routing instances in the group",
                        Type::Name,
                    )],
                )],
            )
            .unsupported("L3VPN VRF groups"),
            container(
                "alg",
                "Application layer gateways (Savin has none: as if each were disabled)",
                [
                    "dns",
                    "ftp",
                    "h323",
                    "mgcp",
                    "msrpc",
                    "pptp",
                    "real",
                    "rsh",
                    "rtsp",
                    "sccp",
                    "sip",
                    "sql",
                    "sunrpc",
                    "talk",
                    "tftp",
                    "ike-esp-nat",
                ]
                .into_iter()
                .map(|a| {
                    container(a, "An ALG", vec![flag("disable", "Disable the ALG")])
                        .presence()
                        .oneline()
                })
                .collect(),
            )
            .no_effect(),
            container(
                "distribution-profile",
                "Session distribution across the data plane's cores",
                vec![flag(
                    "fat-core",
                    "Keep IPsec and fragments on dedicated cores",
                )],
            )
            .no_effect(),
            container(
                "flow",
                "FLOW configuration",
                vec![
                    container(
                        "tcp-session",
                        "TCP session configuration",
                        vec![
                            flag("no-syn-check", "Disable creation-time SYN-flag check"),
                            flag("no-sequence-check", "Disable sequence-number checking"),
                        ],
                    ),
                    super::system::traceoptions(),
                    // An SRX may keep sessions for dropped flows to drop their next
                    // packets faster; Savin's drops are already per packet.
                    flag("power-mode-ipsec", "IPsec performance acceleration").no_effect(),
                    container(
                        "drop-flow",
                        "Drop flow sessions",
                        vec![leaf(
                            "timeout",
                            "Timeout of drop flow sessions (seconds)",
                            Type::Uint { min: 1, max: 30 },
                        )],
                    )
                    .no_effect(),
                ],
            ),
            container(
                "forwarding-options",
                "Security-forwarding-options configuration",
                vec![container(
                    "family",
                    "Security forwarding-options protocol family",
                    vec![container(
                        "inet6",
                        "Family IPv6",
                        vec![leaf(
                            "mode",
                            "Forwarding mode",
                            Type::Enum(&["drop", "flow-based", "packet-based"]),
                        )],
                    )],
                )],
            ),
            super::nat::schema(),
            container(
                "policies",
                "Configure security policies",
                vec![
                    list(
                        "from-zone",
                        "Define a policy context from this zone",
                        Type::Name,
                        vec![list(
                            "to-zone",
                            "Destination zone",
                            Type::Name,
                            vec![list(
                                "policy",
                                "Define security policy in specified zone-to-zone direction",
                                Type::Name,
                                policy_body(false),
                            )
                            .ordered()],
                        )],
                    )
                    .merged(),
                    container(
                        "global",
                        "Define a global policy context",
                        vec![list(
                            "policy",
                            "Define security policy in global context",
                            Type::Name,
                            policy_body(true),
                        )
                        .ordered()],
                    ),
                    container(
                        "default-policy",
                        "Configure default action when no user-defined policy match",
                        vec![
                            flag("permit-all", "Permit all traffic if no policy match")
                                .excludes(&["deny-all"]),
                            flag("deny-all", "Deny all traffic if no policy match")
                                .excludes(&["permit-all"]),
                        ],
                    ),
                ],
            ),
            container(
                "zones",
                "Zone configuration",
                vec![list(
                    "security-zone",
                    "Security zones",
                    Type::Name,
                    vec![
                        leaf("description", "Text description of zone", Type::Text),
                        leaf(
                            "screen",
                            "Name of ids option object applied to the zone",
                            Type::Ref(&["security", "screen", "ids-option"]),
                        ),
                        flag(
                            "tcp-rst",
                            "Send RST for a NON-SYN packet not matching a TCP session",
                        ),
                        host_inbound(),
                        container(
                            "interfaces",
                            "Interfaces that are part of this zone",
                            vec![list(
                                "interface",
                                "Logical interface",
                                Type::IflName,
                                vec![host_inbound()],
                            )
                            .bare()],
                        ),
                    ],
                )],
            ),
        ],
    )
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Security {
    #[serde(default)]
    pub address_book: AddressBooks,
    #[serde(default)]
    pub zones: Zones,
    #[serde(default)]
    pub policies: Policies,
    #[serde(default)]
    pub nat: super::nat::Nat,
    #[serde(default)]
    pub screen: super::screen::Screen,
    #[serde(default)]
    pub flow: Flow,
    #[serde(default)]
    pub forwarding_options: ForwardingOptions,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ForwardingOptions {
    #[serde(default)]
    pub family: Families,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Families {
    #[serde(default)]
    pub inet6: Inet6,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Inet6 {
    pub mode: Option<Inet6Mode>,
}

/// How IPv6 through the box is handled while security is configured (SRX
/// `security forwarding-options family inet6 mode`; the default is `drop`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Inet6Mode {
    #[default]
    Drop,
    /// Zones, policies and sessions for IPv6 (not implemented yet: refused at commit).
    FlowBased,
    /// Routed without security processing.
    PacketBased,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AddressBooks {
    #[serde(default)]
    pub book: Vec<AddressBook>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AddressBook {
    pub name: String,
    #[serde(default)]
    pub address: Vec<Address>,
    #[serde(default)]
    pub address_set: Vec<AddressSet>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Address {
    pub name: String,
    pub description: Option<String>,
    #[serde(default)]
    pub ip_prefix: Vec<PrefixEntry>,
    #[serde(default)]
    pub range_address: Vec<RangeAddress>,
    #[serde(default)]
    pub wildcard_address: Vec<super::applications::Named>,
    #[serde(default)]
    pub dns_name: Vec<DnsName>,
}

/// `range-address A to B`: every address from A to B.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeAddress {
    pub name: std::net::IpAddr,
    pub to: Option<std::net::IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DnsName {
    pub name: String,
    #[serde(default)]
    pub ipv4_only: super::Flag,
    #[serde(default)]
    pub ipv6_only: super::Flag,
}

impl Address {
    /// How many ways the address is given (exactly one is valid).
    fn forms(&self) -> usize {
        self.ip_prefix.len()
            + self.range_address.len()
            + self.wildcard_address.len()
            + self.dns_name.len()
    }

    /// The prefixes the address covers. Err: a form Savin cannot match on yet.
    pub fn prefixes(&self) -> Result<Vec<Prefix>, String> {
        let mut out: Vec<Prefix> = self.ip_prefix.iter().map(|p| p.name.network()).collect();
        for r in &self.range_address {
            let to = r.to.unwrap_or(r.name);
            out.extend(range_prefixes(r.name, to).ok_or_else(|| {
                format!(
                    "range-address {} to {to} is empty or mixes families",
                    r.name
                )
            })?);
        }
        for w in &self.wildcard_address {
            out.push(wildcard_prefix(&w.name)?);
        }
        if let Some(d) = self.dns_name.first() {
            return Err(format!(
                "dns-name {}: addresses by DNS name are not resolved yet",
                d.name
            ));
        }
        Ok(out)
    }
}

/// The fewest prefixes that cover `from..=to` exactly (both of one family).
pub fn range_prefixes(from: std::net::IpAddr, to: std::net::IpAddr) -> Option<Vec<Prefix>> {
    use std::net::IpAddr;
    let (lo, hi, bits, v6) = match (from, to) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (
            u128::from(u32::from(a)),
            u128::from(u32::from(b)),
            32u32,
            false,
        ),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128u32, true),
        _ => return None,
    };
    if lo > hi {
        return None;
    }
    // The end of the block of 2^k addresses starting at `cur` (aligned, so no overflow).
    let end = |cur: u128, k: u32| {
        if k >= 128 {
            u128::MAX
        } else {
            cur + ((1u128 << k) - 1)
        }
    };
    let mut out = Vec::new();
    let mut cur = lo;
    loop {
        // The largest aligned block at `cur` that does not pass `hi`.
        let mut k = if cur == 0 {
            bits
        } else {
            cur.trailing_zeros().min(bits)
        };
        while k > 0 && end(cur, k) > hi {
            k -= 1;
        }
        let addr = if v6 {
            IpAddr::V6(cur.into())
        } else {
            IpAddr::V4((cur as u32).into())
        };
        out.push(Prefix {
            addr,
            len: (bits - k) as u8,
        });
        let last = end(cur, k);
        if last >= hi {
            return Some(out);
        }
        cur = last + 1;
    }
}

/// `wildcard-address 10.0.0.0/255.0.255.0`: as a prefix when its mask is contiguous.
fn wildcard_prefix(text: &str) -> Result<Prefix, String> {
    let (a, m) = text
        .split_once('/')
        .ok_or_else(|| format!("wildcard-address {text}: expected ADDRESS/MASK"))?;
    let a: std::net::Ipv4Addr = a
        .parse()
        .map_err(|_| format!("wildcard-address {text}: invalid address"))?;
    let m: std::net::Ipv4Addr = m
        .parse()
        .map_err(|_| format!("wildcard-address {text}: invalid mask"))?;
    let m = u32::from(m);
    if m.leading_ones() + m.trailing_zeros() != 32 {
        return Err(format!(
            "wildcard-address {text}: a mask that is not contiguous is not supported yet"
        ));
    }
    let len = m.leading_ones() as u8;
    Ok(Prefix {
        addr: std::net::IpAddr::V4(std::net::Ipv4Addr::from(u32::from(a) & m)),
        len,
    })
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixEntry {
    pub name: Prefix,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AddressSet {
    pub name: String,
    pub description: Option<String>,
    #[serde(default)]
    pub address: Vec<Named>,
    #[serde(default)]
    pub address_set: Vec<Named>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Zones {
    #[serde(default)]
    pub security_zone: Vec<Zone>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Zone {
    pub name: String,
    pub description: Option<String>,
    pub screen: Option<String>,
    #[serde(default)]
    pub tcp_rst: Flag,
    #[serde(default)]
    pub host_inbound_traffic: HostInbound,
    #[serde(default)]
    pub interfaces: ZoneInterfaces,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ZoneInterfaces {
    #[serde(default)]
    pub interface: Vec<ZoneInterface>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ZoneInterface {
    pub name: String,
    #[serde(default)]
    pub host_inbound_traffic: HostInbound,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HostInbound {
    #[serde(default)]
    pub system_services: Services,
    #[serde(default)]
    pub protocols: Protocols,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Services {
    #[serde(default)]
    pub service: Vec<Named>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Protocols {
    #[serde(default)]
    pub protocol: Vec<Named>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Policies {
    #[serde(default)]
    pub from_zone: Vec<FromZone>,
    #[serde(default)]
    pub global: Global,
    #[serde(default)]
    pub default_policy: DefaultPolicy,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FromZone {
    pub name: String,
    #[serde(default)]
    pub to_zone: Vec<ToZone>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ToZone {
    pub name: String,
    #[serde(default)]
    pub policy: Vec<Policy>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Global {
    #[serde(default)]
    pub policy: Vec<Policy>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DefaultPolicy {
    #[serde(default)]
    pub permit_all: Flag,
    #[serde(default)]
    pub deny_all: Flag,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Policy {
    pub name: String,
    pub description: Option<String>,
    #[serde(default, rename = "match")]
    pub matches: Match,
    #[serde(default)]
    pub then: Then,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Match {
    #[serde(default)]
    pub source_address: Vec<String>,
    #[serde(default)]
    pub destination_address: Vec<String>,
    #[serde(default)]
    pub application: Vec<String>,
    #[serde(default)]
    pub from_zone: Vec<String>,
    #[serde(default)]
    pub to_zone: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Then {
    #[serde(default)]
    pub permit: Flag,
    #[serde(default)]
    pub deny: Flag,
    #[serde(default)]
    pub reject: Flag,
    #[serde(default)]
    pub log: Log,
    #[serde(default)]
    pub count: Flag,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Log {
    #[serde(default)]
    pub session_init: Flag,
    #[serde(default)]
    pub session_close: Flag,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Flow {
    #[serde(default)]
    pub tcp_session: TcpSession,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TcpSession {
    #[serde(default)]
    pub no_syn_check: Flag,
    #[serde(default)]
    pub no_sequence_check: Flag,
}

/// What a policy does with a packet it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Permit,
    Deny,
    /// Deny, and tell the sender: a TCP RST, or ICMP unreachable for other protocols.
    Reject,
}

impl Then {
    pub fn action(&self) -> Option<Action> {
        match (self.permit.0, self.deny.0, self.reject.0) {
            (true, _, _) => Some(Action::Permit),
            (_, true, _) => Some(Action::Deny),
            (_, _, true) => Some(Action::Reject),
            _ => None,
        }
    }
}

impl Security {
    /// The zone an interface (IFL) belongs to.
    pub fn zone_of(&self, ifl: &str) -> Option<&Zone> {
        self.zones
            .security_zone
            .iter()
            .find(|z| z.interfaces.interface.iter().any(|i| i.name == ifl))
    }

    pub fn zone(&self, name: &str) -> Option<&Zone> {
        self.zones.security_zone.iter().find(|z| z.name == name)
    }
}

/// The prefixes an address-book name stands for (`any`, `any-ipv4`, `any-ipv6` included;
/// sets expanded), from the global book.
pub fn resolve_address(cfg: &Config, name: &str) -> Result<Vec<Prefix>, String> {
    fn go(
        book: Option<&AddressBook>,
        name: &str,
        depth: usize,
        out: &mut Vec<Prefix>,
    ) -> Result<(), String> {
        let any4 = Prefix {
            addr: std::net::Ipv4Addr::UNSPECIFIED.into(),
            len: 0,
        };
        let any6 = Prefix {
            addr: std::net::Ipv6Addr::UNSPECIFIED.into(),
            len: 0,
        };
        match name {
            "any" => out.extend([any4, any6]),
            "any-ipv4" => out.push(any4),
            "any-ipv6" => out.push(any6),
            _ if depth > 8 => return Err(format!("address-set {name} nests too deep (a loop?)")),
            _ => {
                let book = book.ok_or_else(|| {
                    format!("address '{name}' is not defined in the global address book")
                })?;
                if let Some(a) = book.address.iter().find(|a| a.name == name) {
                    out.extend(a.prefixes().map_err(|e| format!("address {name}: {e}"))?);
                } else if let Some(s) = book.address_set.iter().find(|s| s.name == name) {
                    for m in s.address.iter().chain(&s.address_set) {
                        go(Some(book), &m.name, depth + 1, out)?;
                    }
                } else {
                    return Err(format!(
                        "address '{name}' is not defined in the global address book"
                    ));
                }
            }
        }
        Ok(())
    }
    let book = cfg
        .security
        .address_book
        .book
        .iter()
        .find(|b| b.name == "global");
    let mut out = Vec::new();
    go(book, name, 0, &mut out)?;
    Ok(out)
}

pub(super) fn validate(cfg: &Config, errors: &mut Vec<ValidationError>) {
    let sec = &cfg.security;
    if sec.forwarding_options.family.inet6.mode == Some(Inet6Mode::FlowBased) {
        errors.push(ValidationError::new(
            &["security", "forwarding-options", "family", "inet6"],
            "mode flow-based",
            "flow-based processing of IPv6 is not supported yet: use packet-based (routed \
             without security) or drop (the default)",
        ));
    }
    for b in &sec.address_book.book {
        if b.name != "global" {
            errors.push(ValidationError::new(
                &["security"],
                format!("address-book {}", b.name),
                "only the global address book is supported",
            ));
        }
        for a in &b.address {
            if a.forms() != 1 {
                errors.push(ValidationError::new(
                    &["security", "address-book", &b.name],
                    format!("address {}", a.name),
                    "an address needs exactly one of: a prefix, range-address, wildcard-address, dns-name",
                ));
            } else if let (Err(e), false) = (a.prefixes(), !a.dns_name.is_empty()) {
                errors.push(ValidationError::new(
                    &["security", "address-book", &b.name, "address", &a.name],
                    format!("address {}", a.name),
                    e,
                ));
            }
        }
        for s in &b.address_set {
            if let Err(e) = resolve_address(cfg, &s.name) {
                errors.push(ValidationError::new(
                    &["security", "address-book", &b.name],
                    format!("address-set {}", s.name),
                    e,
                ));
            }
        }
    }
    let mut owner: HashMap<&str, &str> = HashMap::new();
    for z in &sec.zones.security_zone {
        if z.name == "junos-host" {
            errors.push(ValidationError::new(
                &["security", "zones"],
                format!("security-zone {}", z.name),
                "junos-host is the zone of the device itself and cannot be configured",
            ));
        }
        for i in &z.interfaces.interface {
            let path = [
                "security",
                "zones",
                "security-zone",
                z.name.as_str(),
                "interfaces",
            ];
            if cfg.interfaces.unit(&i.name).is_none() {
                errors.push(ValidationError::new(
                    &path,
                    i.name.clone(),
                    format!(
                        "interface {} is not configured under [edit interfaces]",
                        i.name
                    ),
                ));
            }
            if let Some(other) = owner.insert(&i.name, &z.name) {
                errors.push(ValidationError::new(
                    &path,
                    i.name.clone(),
                    format!("interface {} is already in zone {other}", i.name),
                ));
            }
        }
    }
    let zone_ok = |z: &str| z == "junos-host" || sec.zone(z).is_some();
    let check_policy = |errors: &mut Vec<ValidationError>, path: &[&str], p: &Policy| {
        let stmt = format!("policy {}", p.name);
        let mut err = |m: String| errors.push(ValidationError::new(path, stmt.clone(), m));
        let m = &p.matches;
        for (what, list) in [
            ("source-address", &m.source_address),
            ("destination-address", &m.destination_address),
            ("application", &m.application),
        ] {
            if list.is_empty() {
                err(format!("policy {}: match {what} is required", p.name));
            }
        }
        for a in m.source_address.iter().chain(&m.destination_address) {
            if let Err(e) = resolve_address(cfg, a) {
                err(e);
            }
        }
        for a in &m.application {
            if let Err(e) = applications::resolve(cfg, a) {
                err(e);
            }
        }
        for z in m.from_zone.iter().chain(&m.to_zone) {
            if z != "any" && !zone_ok(z) {
                err(format!("zone '{z}' is not defined"));
            }
        }
        if p.then.action().is_none() {
            err(format!(
                "policy {}: then needs permit, deny or reject",
                p.name
            ));
        }
    };
    for f in &sec.policies.from_zone {
        for t in &f.to_zone {
            let path = [
                "security",
                "policies",
                "from-zone",
                f.name.as_str(),
                "to-zone",
                t.name.as_str(),
            ];
            for z in [&f.name, &t.name] {
                if !zone_ok(z) {
                    errors.push(ValidationError::new(
                        &path[..4],
                        format!("from-zone {} to-zone {}", f.name, t.name),
                        format!("zone '{z}' is not defined"),
                    ));
                }
            }
            for p in &t.policy {
                check_policy(errors, &path, p);
            }
        }
    }
    for p in &sec.policies.global.policy {
        check_policy(errors, &["security", "policies", "global"], p);
    }
}
