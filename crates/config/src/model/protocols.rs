//! `protocols`: the routing protocols. BGP is here (`protocols bgp`); the other protocols of
//! Junos (OSPF, IS-IS, LLDP, ...) are not in the schema yet, so a configuration that has
//! them is refused where they start.
//!
//! BGP's statements are the same at three levels (`protocols bgp`, `group G`, `neighbor A`):
//! a neighbour takes each from the nearest level that sets it, as on Junos
//! ([`Bgp::peers`] resolves that once, so the BGP subsystem reads plain values).

use std::net::{IpAddr, Ipv4Addr};

use serde::Deserialize;

use super::{Config, Flag, ValidationError};
use crate::schema::{container, flag, leaf, leaf_list, list, Node};
use crate::value::Type;

const ASN: Type = Type::Uint {
    min: 1,
    max: 4_294_967_295,
};

pub fn schema() -> Node {
    container(
        "protocols",
        "Routing protocol configuration",
        vec![container("bgp", "BGP options", {
            let mut v = peer_statements(&[]);
            v.push(
                list("group", "Define a peer group", Type::Name, {
                    // Junos has path selection for the whole protocol only, and the peer
                    // type for a group, not a neighbour.
                    let mut g = peer_statements(&["path-selection"]);
                    g.push(
                        list(
                            "neighbor",
                            "Configure a neighbor",
                            Type::Ip,
                            peer_statements(&["path-selection", "type"]),
                        )
                        .ordered(),
                    );
                    g
                })
                .ordered(),
            );
            v
        })
        .presence()],
    )
}

/// `prefix-limit { maximum N; teardown PCT; }` (and `accepted-prefix-limit`).
fn prefix_limit(name: &'static str, help: &'static str) -> Node {
    container(
        name,
        help,
        vec![
            leaf(
                "maximum",
                "Maximum number of prefixes",
                Type::Uint {
                    min: 1,
                    max: 4_294_967_295,
                },
            ),
            leaf(
                "teardown",
                "Clear the session when the limit is exceeded (percentage at which to warn)",
                Type::Uint { min: 1, max: 100 },
            ),
        ],
    )
}

/// An NLRI block of a family Savin has not got (`family evpn { signaling { ... } }`): its
/// usual statements parse, and the family is refused at commit.
fn nlri(name: &'static str) -> Node {
    container(
        name,
        "NLRI parameters",
        vec![
            prefix_limit("prefix-limit", "Limit the prefixes received"),
            prefix_limit("accepted-prefix-limit", "Limit the prefixes accepted"),
            leaf(
                "loops",
                "Allowed occurrences of the own AS in AS paths",
                Type::Uint { min: 1, max: 10 },
            ),
            leaf("rib-group", "Routing table group", Type::Name),
            container(
                "explicit-null",
                "Advertise explicit null",
                vec![flag("connected-only", "Connected routes only")],
            )
            .presence(),
            leaf("rib", "Routing table", Type::Name),
            flag("resolve-vpn", "Resolve VPN routes"),
            flag("per-prefix-label", "A label per prefix"),
            flag("no-validate", "Do not validate"),
        ],
    )
    .presence()
}

/// `family inet|inet6 { unicast { ... } }` and the families Savin has not got.
fn families() -> Node {
    let unicast = || {
        container(
            "unicast",
            "Include unicast NLRI",
            vec![
                prefix_limit("prefix-limit", "Limit the prefixes received"),
                container(
                    "add-path",
                    "Advertise or receive multiple paths to a prefix",
                    vec![
                        flag("receive", "Receive multiple paths"),
                        container(
                            "send",
                            "Send multiple paths",
                            vec![leaf(
                                "path-count",
                                "Paths to send",
                                Type::Uint { min: 2, max: 64 },
                            )],
                        ),
                    ],
                )
                .unsupported("BGP add-path (RFC 7911)"),
                flag(
                    "extended-nexthop",
                    "IPv4 routes with IPv6 next hops (RFC 8950)",
                )
                .unsupported("IPv4 routes with IPv6 next hops (RFC 8950)"),
                leaf(
                    "loops",
                    "Allowed occurrences of the own AS in AS paths",
                    Type::Uint { min: 1, max: 10 },
                )
                .unsupported("family ... loops (own AS in received paths)"),
            ],
        )
        .presence()
    };
    let other = |name: &'static str, why: &'static str| {
        container(
            name,
            "Address family (not supported)",
            [
                "unicast",
                "signaling",
                "any",
                "multicast",
                "labeled-unicast",
                "flow",
            ]
            .into_iter()
            .map(nlri)
            .collect(),
        )
        .presence()
        .unsupported(why)
    };
    container(
        "family",
        "Protocol family",
        vec![
            container(
                "inet",
                "IPv4 NLRI parameters",
                vec![
                    unicast(),
                    nlri("labeled-unicast").unsupported("BGP labeled unicast (MPLS)"),
                    nlri("flow").unsupported("BGP flow specification"),
                    nlri("multicast").unsupported("BGP multicast NLRI"),
                    nlri("any").unsupported("BGP family ... any"),
                ],
            )
            .presence(),
            container(
                "inet6",
                "IPv6 NLRI parameters",
                vec![
                    unicast(),
                    nlri("labeled-unicast").unsupported("BGP labeled unicast (MPLS)"),
                    nlri("flow").unsupported("BGP flow specification"),
                    nlri("multicast").unsupported("BGP multicast NLRI"),
                    nlri("any").unsupported("BGP family ... any"),
                ],
            )
            .presence(),
            other("inet-vpn", "BGP L3VPN (inet-vpn)"),
            other("inet6-vpn", "BGP L3VPN (inet6-vpn)"),
            other("evpn", "EVPN"),
            other("l2vpn", "BGP L2VPN"),
            other("route-target", "BGP route-target filtering"),
            other("inet-mdt", "multicast VPN"),
            other("inet-mvpn", "multicast VPN"),
            other("inet6-mvpn", "multicast VPN"),
            other("traffic-engineering", "BGP-LS"),
        ],
    )
    .flatten()
}

/// The order `show configuration` prints BGP's statements in (Junos' order, as its saved
/// configurations show it); statements not named here come after, groups and neighbours last.
const ORDER: &[&str] = &[
    "description",
    "path-selection",
    "type",
    "traceoptions",
    "local-address",
    "hold-time",
    "mtu-discovery",
    "tcp-mss",
    "import",
    "multihop",
    "advertise-peer-as",
    "no-advertise-peer-as",
    "precision-timers",
    "as-override",
    "advertise-inactive",
    "advertise-external",
    "advertise-from-main-vpn-tables",
    "bgp-error-tolerance",
    "log-updown",
    "damping",
    "passive",
    "graceful-restart",
    "family",
    "authentication-key",
    "authentication-algorithm",
    "authentication-key-chain",
    "export",
    "cluster",
    "no-client-reflect",
    "preference",
    "local-preference",
    "metric-out",
    "local-as",
    "peer-as",
    "remove-private",
    "keep",
    "out-delay",
    "multipath",
    "bfd-liveness-detection",
];

/// The statements of one level of `protocols bgp` (the top, a group, a neighbour), without
/// those `not_here`.
fn peer_statements(not_here: &[&str]) -> Vec<Node> {
    let mut v = peer_statements_unordered();
    v.retain(|n| !not_here.contains(&n.name));
    v.sort_by_key(|n| {
        ORDER
            .iter()
            .position(|o| *o == n.name)
            .unwrap_or(ORDER.len())
    });
    v
}

fn peer_statements_unordered() -> Vec<Node> {
    vec![
        leaf("description", "Text description", Type::Text),
        leaf(
            "type",
            "Type of peer group",
            Type::Enum(&["internal", "external"]),
        ),
        leaf("peer-as", "Autonomous system number of the peer", ASN),
        container(
            "local-as",
            "Local autonomous system number presented to the peer",
            vec![
                list("value", "Autonomous system number", ASN, vec![])
                    .bare()
                    .single(),
                flag("private", "Hide the global AS in paths sent to this peer")
                    .unsupported("local-as private"),
                flag("alias", "Treat the local AS as an alias of the global AS")
                    .unsupported("local-as alias"),
                flag(
                    "no-prepend-global-as",
                    "Do not prepend the global AS in paths sent to this peer",
                )
                .unsupported("local-as no-prepend-global-as"),
                leaf(
                    "loops",
                    "Allowed occurrences of the local AS in received paths",
                    Type::Uint { min: 1, max: 10 },
                )
                .unsupported("local-as loops"),
            ],
        )
        .oneline(),
        leaf(
            "local-address",
            "Address of the local end of the session",
            Type::Ip,
        ),
        leaf(
            "hold-time",
            "Hold time (seconds; 0 or 3..65535)",
            Type::Uint { min: 0, max: 65535 },
        ),
        flag("passive", "Do not open the session; wait for the peer"),
        flag("disable", "Disable BGP here"),
        leaf_list("import", "Import policy", Type::Name),
        leaf_list("export", "Export policy", Type::Name),
        families(),
        container(
            "multipath",
            "Install equal-cost BGP paths to a destination",
            vec![flag("multiple-as", "Paths from different neighboring ASes")],
        )
        .presence(),
        leaf("cluster", "Route reflector cluster identifier", Type::Ipv4),
        flag("no-client-reflect", "Do not reflect routes between clients")
            .unsupported("no-client-reflect"),
        leaf(
            "authentication-key",
            "MD5 authentication key (TCP MD5, RFC 2385)",
            Type::Text,
        ),
        leaf(
            "authentication-algorithm",
            "Authentication algorithm",
            Type::Enum(&["md5", "hmac-sha-1-96", "aes-128-cmac-96", "ao"]),
        )
        .unsupported("authentication algorithms other than the default md5"),
        leaf("authentication-key-chain", "Key chain name", Type::Name)
            .unsupported("BGP authentication key chains"),
        container(
            "graceful-restart",
            "Graceful restart (RFC 4724)",
            vec![
                flag("disable", "Disable graceful restart"),
                leaf(
                    "restart-time",
                    "Restart time announced to the peer (seconds)",
                    Type::Uint { min: 1, max: 4095 },
                ),
                leaf(
                    "stale-routes-time",
                    "How long a restarting peer's routes are kept (seconds)",
                    Type::Uint { min: 1, max: 600 },
                ),
                flag(
                    "dont-help-shared-fate-bfd-down",
                    "Do not help a restarting peer whose BFD session went down",
                )
                .no_effect(),
            ],
        )
        .presence(),
        flag("log-updown", "Log a message when a peer goes up or down"),
        container(
            "multihop",
            "The peer is more than one hop away",
            vec![
                leaf(
                    "ttl",
                    "TTL of the session's packets",
                    Type::Uint { min: 1, max: 255 },
                ),
                flag("no-nexthop-change", "Leave the next hop as it is")
                    .unsupported("multihop no-nexthop-change"),
            ],
        )
        .presence(),
        leaf(
            "preference",
            "Preference of the routes learned",
            Type::Uint {
                min: 0,
                max: 4_294_967_295,
            },
        ),
        leaf(
            "local-preference",
            "LOCAL_PREF sent to internal peers",
            Type::Uint {
                min: 0,
                max: 4_294_967_295,
            },
        ),
        container(
            "metric-out",
            "MED sent to the peer",
            vec![
                list(
                    "value",
                    "Metric",
                    Type::Uint {
                        min: 0,
                        max: 4_294_967_295,
                    },
                    vec![],
                )
                .bare()
                .single(),
                flag("igp", "The IGP metric to the next hop").unsupported("metric-out igp"),
                flag("minimum-igp", "The lowest IGP metric seen")
                    .unsupported("metric-out minimum-igp"),
            ],
        )
        .oneline(),
        container(
            "path-selection",
            "How the active path is chosen",
            vec![
                flag("always-compare-med", "Compare MEDs of paths from any AS"),
                flag(
                    "external-router-id",
                    "Among external paths, prefer the lowest router ID",
                ),
                flag("cisco-non-deterministic", "Compare paths in arrival order")
                    .unsupported("path-selection cisco-non-deterministic"),
                flag("med-plus-igp", "Add the IGP cost to the MED")
                    .unsupported("path-selection med-plus-igp"),
            ],
        ),
        flag(
            "enforce-first-as",
            "The first AS of an external path must be the peer's",
        ),
        flag(
            "advertise-inactive",
            "Advertise the best BGP route even when another protocol's route is active",
        )
        .unsupported("advertise-inactive"),
        flag(
            "advertise-peer-as",
            "Advertise routes whose path holds the peer's AS",
        )
        .unsupported("advertise-peer-as"),
        flag(
            "as-override",
            "Replace the peer's AS in paths with the own AS",
        )
        .unsupported("as-override"),
        container(
            "remove-private",
            "Remove private AS numbers from paths sent",
            vec![
                flag("all", "Remove all private AS numbers"),
                flag("replace", "Replace them with the local AS"),
                flag("no-peer-loop-check", "Do not check for the peer's AS"),
            ],
        )
        .presence()
        .oneline()
        .unsupported("remove-private"),
        flag(
            "advertise-from-main-vpn-tables",
            "Advertise VPN routes from the main VPN tables",
        )
        .unsupported("advertise-from-main-vpn-tables (VPNs)"),
        flag(
            "advertise-external",
            "Advertise the best external route in an internal group",
        )
        .unsupported("advertise-external"),
        flag(
            "no-advertise-peer-as",
            "Do not advertise routes whose path holds the peer's AS (the default)",
        )
        .no_effect(),
        flag(
            "include-mp-next-hop",
            "Include the next hop in MP_REACH_NLRI for IPv4 too",
        )
        .unsupported("include-mp-next-hop"),
        flag(
            "unconfigured-peer-graceful-restart",
            "Graceful restart for dynamic peers",
        )
        .unsupported("unconfigured-peer-graceful-restart"),
        leaf(
            "ipsec-sa",
            "IPsec security association for the session",
            Type::Name,
        )
        .unsupported("BGP over IPsec SAs"),
        leaf(
            "keep",
            "Which received routes to keep",
            Type::Enum(&["all", "none"]),
        )
        .unsupported("keep all|none"),
        leaf(
            "out-delay",
            "Hold routes this long before advertising them (seconds)",
            Type::Uint { min: 0, max: 65535 },
        )
        .unsupported("out-delay"),
        flag(
            "accept-remote-nexthop",
            "Accept a next hop that is not on a shared subnet",
        )
        .unsupported("accept-remote-nexthop"),
        leaf(
            "local-interface",
            "Interface for IPv6 link-local peering",
            Type::IflName,
        )
        .unsupported("IPv6 link-local peering"),
        list(
            "allow",
            "Accept sessions from any address in this prefix",
            Type::IpPrefix,
            vec![],
        )
        .unsupported("dynamic BGP neighbors (allow)"),
        container("damping", "Route flap damping", vec![])
            .presence()
            .unsupported("route flap damping"),
        container(
            "bfd-liveness-detection",
            "Bidirectional Forwarding Detection",
            vec![
                leaf(
                    "minimum-interval",
                    "Minimum interval (ms)",
                    Type::Uint {
                        min: 1,
                        max: 255_000,
                    },
                ),
                leaf(
                    "multiplier",
                    "Detection multiplier",
                    Type::Uint { min: 1, max: 255 },
                ),
                leaf(
                    "session-mode",
                    "Session mode",
                    Type::Enum(&["automatic", "single-hop", "multihop"]),
                ),
                leaf(
                    "minimum-receive-interval",
                    "Minimum receive interval (ms)",
                    Type::Uint {
                        min: 1,
                        max: 255_000,
                    },
                ),
                leaf(
                    "holddown-interval",
                    "Hold-down interval (ms)",
                    Type::Uint {
                        min: 0,
                        max: 255_000,
                    },
                ),
                flag("no-adaptation", "Disable adaptation"),
                leaf(
                    "version",
                    "BFD version",
                    Type::Enum(&["0", "1", "automatic"]),
                ),
                container(
                    "transmit-interval",
                    "Transmit interval",
                    vec![
                        leaf(
                            "minimum-interval",
                            "Minimum interval (ms)",
                            Type::Uint {
                                min: 1,
                                max: 255_000,
                            },
                        ),
                        leaf(
                            "threshold",
                            "Threshold (ms)",
                            Type::Uint {
                                min: 0,
                                max: 4_294_967_295,
                            },
                        ),
                    ],
                ),
                container(
                    "detection-time",
                    "Detection time",
                    vec![leaf(
                        "threshold",
                        "Threshold (ms)",
                        Type::Uint {
                            min: 0,
                            max: 4_294_967_295,
                        },
                    )],
                ),
            ],
        )
        .unsupported("BFD"),
        // Savin's RFC 7606 handling is always on; Junos' knob only tunes its logging.
        container(
            "bgp-error-tolerance",
            "Handle malformed UPDATEs without resetting the session (RFC 7606)",
            vec![
                leaf(
                    "malformed-update-log-interval",
                    "Log interval (seconds)",
                    Type::Uint {
                        min: 10,
                        max: 65535,
                    },
                ),
                leaf(
                    "malformed-route-limit",
                    "Limit of malformed routes kept",
                    Type::Uint {
                        min: 0,
                        max: 4_294_967_295,
                    },
                ),
                flag(
                    "no-malformed-route-limit",
                    "No limit of malformed routes kept",
                ),
            ],
        )
        .presence()
        .no_effect(),
        flag("mtu-discovery", "Path MTU discovery on the session").no_effect(),
        leaf(
            "tcp-mss",
            "TCP maximum segment size",
            Type::Uint { min: 1, max: 65535 },
        )
        .no_effect(),
        flag("precision-timers", "Keepalives from a dedicated thread").no_effect(),
        flag(
            "vpn-apply-export",
            "Apply the BGP export policy to VPN routes",
        )
        .no_effect(),
        container(
            "traceoptions",
            "Trace options for BGP",
            vec![
                container(
                    "file",
                    "Trace file",
                    vec![
                        list("name", "File name", Type::Name, vec![]).bare(),
                        leaf("size", "Maximum file size", Type::Name),
                        leaf(
                            "files",
                            "Maximum number of files",
                            Type::Uint { min: 2, max: 1000 },
                        ),
                    ],
                )
                .oneline(),
                list(
                    "flag",
                    "Tracing parameters",
                    Type::Name,
                    vec![
                        flag("detail", "Trace detailed information"),
                        flag("receive", "Trace received packets"),
                        flag("send", "Trace transmitted packets"),
                    ],
                )
                .oneline(),
            ],
        )
        .no_effect(),
    ]
}

/// `protocols`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Protocols {
    pub bgp: Option<BgpLevel>,
}

/// One level of `protocols bgp`: the top, a group or a neighbour (each has the same
/// statements; `group` is only at the top, `neighbor` only in a group).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BgpLevel {
    /// The group's name or the neighbour's address (none at the top).
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub peer_type: Option<String>,
    pub peer_as: Option<u32>,
    pub local_as: Option<Valued>,
    pub local_address: Option<IpAddr>,
    pub hold_time: Option<u32>,
    #[serde(default)]
    pub passive: Flag,
    #[serde(default)]
    pub disable: Flag,
    #[serde(default)]
    pub import: Vec<String>,
    #[serde(default)]
    pub export: Vec<String>,
    pub family: Option<Families>,
    pub multipath: Option<Multipath>,
    pub cluster: Option<Ipv4Addr>,
    pub authentication_key: Option<String>,
    pub graceful_restart: Option<GracefulRestart>,
    #[serde(default)]
    pub log_updown: Flag,
    pub multihop: Option<Multihop>,
    pub preference: Option<u32>,
    pub local_preference: Option<u32>,
    pub metric_out: Option<Valued>,
    pub path_selection: Option<PathSelection>,
    #[serde(default)]
    pub enforce_first_as: Flag,
    #[serde(default)]
    pub group: Vec<BgpLevel>,
    #[serde(default)]
    pub neighbor: Vec<BgpLevel>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AsnEntry {
    pub name: u32,
}

/// A statement whose value sits beside its flags (`local-as 65001;`, `metric-out 10;`):
/// the value, its flags being unsupported (left out of the typed view).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Valued {
    #[serde(default)]
    pub value: Vec<AsnEntry>,
}

impl Valued {
    pub fn get(&self) -> Option<u32> {
        self.value.first().map(|v| v.name)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Families {
    pub inet: Option<Family>,
    pub inet6: Option<Family>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Family {
    pub unicast: Option<Unicast>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Unicast {
    pub prefix_limit: Option<PrefixLimit>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PrefixLimit {
    pub maximum: Option<u32>,
    pub teardown: Option<u8>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Multipath {
    #[serde(default)]
    pub multiple_as: Flag,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GracefulRestart {
    #[serde(default)]
    pub disable: Flag,
    pub restart_time: Option<u16>,
    pub stale_routes_time: Option<u16>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Multihop {
    pub ttl: Option<u8>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PathSelection {
    #[serde(default)]
    pub always_compare_med: Flag,
    #[serde(default)]
    pub external_router_id: Flag,
}

/// A BGP neighbour with every statement resolved from the nearest level that sets it.
#[derive(Debug, Clone, PartialEq)]
pub struct Peer {
    pub address: IpAddr,
    pub group: String,
    pub description: Option<String>,
    /// `type internal`.
    pub internal: bool,
    pub peer_as: u32,
    /// The AS this box presents to the peer (`local-as`, else the global AS).
    pub local_as: u32,
    pub local_address: Option<IpAddr>,
    /// Seconds; Junos' default is 90.
    pub hold_time: u16,
    pub passive: bool,
    pub import: Vec<String>,
    pub export: Vec<String>,
    pub ipv4: Option<Unicast>,
    pub ipv6: Option<Unicast>,
    pub multipath: Option<Multipath>,
    /// Set in an internal group: this box reflects routes to the group's neighbours.
    pub cluster: Option<Ipv4Addr>,
    pub authentication_key: Option<String>,
    /// None: graceful restart disabled.
    pub graceful_restart: Option<GracefulRestart>,
    pub log_updown: bool,
    /// TTL of the session's packets: 1 for a direct external peer, 64 for internal ones.
    pub ttl: u8,
    pub multihop: bool,
    pub preference: u32,
    pub local_preference: Option<u32>,
    pub metric_out: Option<u32>,
    pub always_compare_med: bool,
    pub external_router_id: bool,
    pub enforce_first_as: bool,
}

/// Junos' BGP route preference.
pub const BGP_PREFERENCE: u32 = 170;
/// Junos' default hold time.
pub const DEFAULT_HOLD_TIME: u16 = 90;

impl BgpLevel {
    /// The neighbours with their statements resolved (levels nearest first), disabled ones
    /// left out. Call after validation: a neighbour without a peer AS takes 0 here.
    pub fn peers(&self, global_as: u32) -> Vec<Peer> {
        let mut out = Vec::new();
        if self.disable.0 {
            return out;
        }
        for g in &self.group {
            if g.disable.0 {
                continue;
            }
            for n in &g.neighbor {
                if n.disable.0 {
                    continue;
                }
                let Some(address) = n.name.as_deref().and_then(|a| a.parse().ok()) else {
                    continue;
                };
                out.push(resolve(&[n, g, self], address, g, global_as));
            }
        }
        out
    }
}

/// The first level (nearest first) that sets a statement.
fn pick<'a, T>(levels: &[&'a BgpLevel], f: impl Fn(&'a BgpLevel) -> Option<T>) -> Option<T> {
    levels.iter().find_map(|l| f(l))
}

fn resolve(levels: &[&BgpLevel], address: IpAddr, group: &BgpLevel, global_as: u32) -> Peer {
    let local_as = pick(levels, |l| l.local_as.as_ref()?.get()).unwrap_or(global_as);
    let peer_as = pick(levels, |l| l.peer_as);
    // Without `type`, the peer's AS says which it is (as newer Junos does).
    let internal = match pick(levels, |l| l.peer_type.as_deref()) {
        Some(t) => t == "internal",
        None => peer_as == Some(local_as),
    };
    let peer_as = peer_as.unwrap_or(if internal { local_as } else { 0 });
    let multihop = pick(levels, |l| l.multihop.as_ref());
    let families = pick(levels, |l| l.family.as_ref());
    let (ipv4, ipv6) = match families {
        // No family statement: IPv4 unicast only, as on Junos.
        None => (Some(Unicast::default()), None),
        Some(f) => (
            f.inet.as_ref().and_then(|i| i.unicast.clone()),
            f.inet6.as_ref().and_then(|i| i.unicast.clone()),
        ),
    };
    let flag = |f: fn(&BgpLevel) -> Flag| levels.iter().any(|l| f(l).0);
    let path_selection = pick(levels, |l| l.path_selection.as_ref());
    Peer {
        address,
        group: group.name.clone().unwrap_or_default(),
        description: pick(levels, |l| l.description.clone()),
        internal,
        peer_as,
        local_as,
        local_address: pick(levels, |l| l.local_address),
        hold_time: pick(levels, |l| l.hold_time).map_or(DEFAULT_HOLD_TIME, |h| h.min(65535) as u16),
        passive: flag(|l| l.passive),
        import: pick(levels, |l| (!l.import.is_empty()).then(|| l.import.clone()))
            .unwrap_or_default(),
        export: pick(levels, |l| (!l.export.is_empty()).then(|| l.export.clone()))
            .unwrap_or_default(),
        ipv4,
        ipv6,
        multipath: pick(levels, |l| l.multipath.clone()),
        cluster: pick(levels, |l| l.cluster),
        authentication_key: pick(levels, |l| l.authentication_key.clone()),
        graceful_restart: pick(levels, |l| l.graceful_restart.clone()).filter(|g| !g.disable.0),
        log_updown: flag(|l| l.log_updown),
        ttl: multihop
            .map(|m| m.ttl.unwrap_or(64))
            .unwrap_or(if internal { 64 } else { 1 }),
        multihop: multihop.is_some() || internal,
        preference: pick(levels, |l| l.preference).unwrap_or(BGP_PREFERENCE),
        local_preference: pick(levels, |l| l.local_preference),
        metric_out: pick(levels, |l| l.metric_out.as_ref()?.get()),
        always_compare_med: path_selection.is_some_and(|p| p.always_compare_med.0),
        external_router_id: path_selection.is_some_and(|p| p.external_router_id.0),
        enforce_first_as: flag(|l| l.enforce_first_as),
    }
}

pub(super) fn validate(cfg: &Config, errors: &mut Vec<ValidationError>) {
    let Some(bgp) = &cfg.protocols.bgp else {
        return;
    };
    let global_as = cfg.routing_options.autonomous_system;
    let policy =
        |path: &[&str], what: &str, names: &[String], errors: &mut Vec<ValidationError>| {
            for n in names {
                if cfg.policy_options.policy(n).is_none() {
                    errors.push(ValidationError::new(
                        path,
                        format!("{what} {n}"),
                        format!("policy '{n}' is not defined under [edit policy-options]"),
                    ));
                }
            }
        };
    let top = ["protocols", "bgp"];
    policy(&top, "import", &bgp.import, errors);
    policy(&top, "export", &bgp.export, errors);
    let mut seen: Vec<(IpAddr, &str)> = Vec::new();
    for g in &bgp.group {
        let gname = g.name.as_deref().unwrap_or_default();
        let gpath = ["protocols", "bgp", "group", gname];
        policy(&gpath, "import", &g.import, errors);
        policy(&gpath, "export", &g.export, errors);
        let ty = g.peer_type.as_deref().or(bgp.peer_type.as_deref());
        if g.cluster.is_some() && ty == Some("external") {
            errors.push(ValidationError::new(
                &gpath,
                "cluster",
                "cluster is valid only in an internal group",
            ));
        }
        for n in &g.neighbor {
            let addr = n.name.as_deref().unwrap_or_default();
            let npath = ["protocols", "bgp", "group", gname, "neighbor", addr];
            policy(&npath, "import", &n.import, errors);
            policy(&npath, "export", &n.export, errors);
            let Ok(a) = addr.parse::<IpAddr>() else {
                continue;
            };
            if let Some((_, other)) = seen.iter().find(|(s, _)| *s == a) {
                errors.push(ValidationError::new(
                    &npath,
                    format!("neighbor {addr}"),
                    format!("neighbor {addr} is already configured in group {other}"),
                ));
            }
            seen.push((a, gname));
            if n.disable.0 || g.disable.0 || bgp.disable.0 {
                continue;
            }
            let levels = [n, g, bgp];
            let local_as = pick(&levels, |l| l.local_as.as_ref()?.get());
            if local_as.or(global_as).is_none() {
                errors.push(ValidationError::new(
                    &npath,
                    format!("neighbor {addr}"),
                    "the local AS is not set: set routing-options autonomous-system",
                ));
            }
            let peer_as = pick(&levels, |l| l.peer_as);
            if ty != Some("internal") && peer_as.is_none() {
                errors.push(ValidationError::new(
                    &npath,
                    format!("neighbor {addr}"),
                    "peer-as must be set for an external neighbor (or type internal for the group)",
                ));
            }
            if let (Some(ty), Some(p), Some(l)) = (ty, peer_as, local_as.or(global_as)) {
                if ty == "internal" && p != l {
                    errors.push(ValidationError::new(
                        &npath,
                        format!("neighbor {addr}"),
                        format!("peer-as {p} of an internal neighbor must be the local AS {l}"),
                    ));
                }
                if ty == "external" && p == l {
                    errors.push(ValidationError::new(
                        &npath,
                        format!("neighbor {addr}"),
                        format!("peer-as {p} of an external neighbor is the local AS: use type internal"),
                    ));
                }
            }
            if let Some(la) = pick(&levels, |l| l.local_address) {
                if la.is_ipv4() != a.is_ipv4() {
                    errors.push(ValidationError::new(
                        &npath,
                        format!("local-address {la}"),
                        "local-address and the neighbor address are of different families",
                    ));
                }
            }
            if let Some(h) = pick(&levels, |l| l.hold_time) {
                if h == 1 || h == 2 {
                    errors.push(ValidationError::new(
                        &npath,
                        format!("hold-time {h}"),
                        "hold-time must be 0 or at least 3 seconds",
                    ));
                }
            }
        }
    }
}
