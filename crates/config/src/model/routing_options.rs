//! `routing-options`: router identity and static routes for inet.0 and inet6.0.

use std::net::Ipv4Addr;

use serde::Deserialize;

use super::{Config, Flag, NextHop, Prefix, ValidationError};
use crate::schema::{container, flag, leaf, leaf_list, list, Node};
use crate::value::Type;

pub fn schema() -> Node {
    container(
        "routing-options",
        "Protocol-independent routing option configuration",
        vec![
            leaf("router-id", "Router identifier", Type::Ipv4),
            leaf(
                "ipv6-router-id",
                "IPv6 router identifier (used by no protocol of Savin's yet)",
                Type::Ipv6,
            )
            .no_effect(),
            leaf(
                "route-distinguisher-id",
                "Address for automatic route distinguishers",
                Type::Ipv4,
            )
            .unsupported("route distinguishers (EVPN, L3VPN)"),
            list(
                "rib-groups",
                "Define routing table groups",
                Type::Name,
                vec![
                    leaf_list("import-rib", "Import routing table", Type::Name),
                    leaf("import-policy", "Import policy", Type::Name),
                    leaf("export-rib", "Export routing table", Type::Name),
                ],
            )
            .unsupported("RIB groups (routes shared between routing tables)"),
            list(
                "flex-algorithm",
                "Flexible algorithm definitions",
                Type::Uint { min: 128, max: 255 },
                vec![
                    container(
                        "definition",
                        "Flexible algorithm definition",
                        vec![
                            leaf(
                                "metric-type",
                                "Metric type",
                                Type::Enum(&["igp-metric", "te-metric", "delay-metric"]),
                            ),
                            leaf("priority", "Priority", Type::Uint { min: 0, max: 255 }),
                        ],
                    ),
                    container(
                        "use-transport-class",
                        "Install in transport classes",
                        vec![flag("inet3-install", "Install in inet.3")],
                    ),
                ],
            )
            .unsupported("segment routing (flexible algorithms)"),
            container(
                "transport-class",
                "Transport classes (BGP classful transport)",
                vec![
                    flag("auto-create", "Create transport classes for colors seen"),
                    list(
                        "name",
                        "Transport class",
                        Type::Name,
                        vec![leaf(
                            "color",
                            "Color",
                            Type::Uint {
                                min: 0,
                                max: 4_294_967_295,
                            },
                        )],
                    ),
                ],
            )
            .unsupported("BGP classful transport"),
            container(
                "source-packet-routing",
                "Source packet routing (SPRING)",
                vec![container(
                    "srv6",
                    "Segment routing over IPv6",
                    vec![
                        list(
                            "block",
                            "SRv6 micro-SID block",
                            Type::Name,
                            vec![
                                list("prefix", "Block prefix", Type::Ipv6Prefix, vec![]).bare(),
                                container(
                                    "local-micro-sid",
                                    "Local micro-SIDs",
                                    vec![leaf(
                                        "maximum-static-sids",
                                        "Maximum static SIDs",
                                        Type::Uint {
                                            min: 0,
                                            max: 1_000_000,
                                        },
                                    )],
                                ),
                            ],
                        ),
                        list(
                            "locator",
                            "SRv6 locator",
                            Type::Name,
                            vec![
                                list("prefix", "Locator prefix", Type::Ipv6Prefix, vec![]).bare(),
                                leaf(
                                    "algorithm",
                                    "Flexible algorithm",
                                    Type::Uint { min: 0, max: 255 },
                                ),
                                container(
                                    "micro-sid",
                                    "Micro-SID locator",
                                    vec![
                                        leaf("block-name", "Micro-SID block", Type::Name),
                                        container(
                                            "flavor",
                                            "Micro-SID flavors",
                                            ["psp", "usp", "usd"]
                                                .into_iter()
                                                .map(|f| flag(f, "Endpoint flavor"))
                                                .collect(),
                                        ),
                                    ],
                                )
                                .presence(),
                            ],
                        ),
                    ],
                )],
            )
            .presence()
            .unsupported("segment routing (SPRING, SRv6)"),
            container(
                "protect",
                "Protection",
                vec![flag(
                    "core",
                    "Core protection (BGP prefix-independent convergence)",
                )],
            )
            .oneline()
            .unsupported("core protection (BGP prefix-independent convergence)"),
            container(
                "resolution",
                "Next-hop resolution",
                vec![flag(
                    "preserve-nexthop-hierarchy",
                    "Keep the next-hop hierarchy in the forwarding table",
                )],
            )
            .no_effect(),
            leaf_list(
                "instance-import",
                "Import policy for instance RIBs",
                Type::Name,
            )
            .unsupported("routing policy (policy-options) and routing instances"),
            container(
                "aggregate",
                "Aggregated routes",
                vec![list(
                    "route",
                    "Aggregate prefix",
                    Type::IpPrefix,
                    vec![
                        leaf_list("policy", "Policy filter", Type::Name),
                        flag("discard", "Drop packets to destination; send no ICMP"),
                        flag("passive", "Install only when a contributing route exists"),
                        flag("active", "Remove inactive routes"),
                        leaf(
                            "preference",
                            "Preference value",
                            Type::Uint {
                                min: 0,
                                max: 4_294_967_295,
                            },
                        ),
                    ],
                )],
            )
            .unsupported("aggregate routes"),
            container(
                "graceful-restart",
                "Graceful restart: keep forwarding while the routing daemon restarts",
                vec![
                    flag("disable", "Disable graceful restart"),
                    leaf(
                        "restart-duration",
                        "Maximum time for a restart (seconds)",
                        Type::Uint {
                            min: 120,
                            max: 10_000,
                        },
                    ),
                ],
            )
            .presence()
            .unsupported("graceful restart (the restarting side)"),
            container(
                "auto-bandwidth",
                "MPLS LSP automatic bandwidth",
                vec![list(
                    "template",
                    "Auto-bandwidth template",
                    Type::Name,
                    vec![
                        leaf(
                            "adjust-interval",
                            "Adjustment interval (seconds)",
                            Type::Uint {
                                min: 1,
                                max: 1_000_000,
                            },
                        ),
                        leaf(
                            "adjust-threshold",
                            "Adjustment threshold (percent)",
                            Type::Uint { min: 0, max: 100 },
                        ),
                        leaf("minimum-bandwidth", "Minimum bandwidth", Type::Name),
                        leaf(
                            "auto-bandwidth-subscription",
                            "Subscription (percent of the measured bandwidth)",
                            Type::Uint { min: 0, max: 1000 },
                        ),
                        leaf(
                            "statistic-collection-interval",
                            "Statistics collection interval (seconds)",
                            Type::Uint { min: 1, max: 65535 },
                        ),
                        leaf("maximum-bandwidth", "Maximum bandwidth", Type::Name),
                    ],
                )],
            )
            .unsupported("MPLS"),
            container(
                "auto-export",
                "Export routes between routing instances",
                vec![container(
                    "family",
                    "Address family",
                    vec![container(
                        "inet",
                        "IPv4",
                        vec![flag("unicast", "Unicast routes")],
                    )],
                )],
            )
            .presence()
            .unsupported("routing instances"),
            flag(
                "nonstop-routing",
                "Keep routing state across Routing Engine switchovers (one engine here)",
            )
            .no_effect(),
            leaf(
                "autonomous-system",
                "Autonomous system number",
                Type::Uint {
                    min: 1,
                    max: 4_294_967_295,
                },
            ),
            static_routes(false),
            list(
                "rib",
                "Routing table options",
                Type::Enum(&["inet6.0", "inet.3", "inet6.3"]),
                vec![
                    static_routes(true),
                    container(
                        "protect",
                        "Protection",
                        vec![flag("core", "Core protection")],
                    )
                    .oneline()
                    .unsupported("core protection (BGP prefix-independent convergence)"),
                ],
            ),
            container(
                "forwarding-table",
                "Forwarding table parameters",
                vec![
                    // Checked at commit: Savin balances over equal-cost next hops always, so a
                    // load-balancing policy is what it does already; any other is refused.
                    crate::schema::leaf_list(
                        "export",
                        "Export policy (policy-options)",
                        Type::Name,
                    ),
                    crate::schema::flag(
                        "ecmp-fast-reroute",
                        "Fast reroute on an equal-cost member's failure",
                    )
                    .no_effect(),
                    crate::schema::flag("srv6-chain-merge", "Merge SRv6 next-hop chains")
                        .no_effect(),
                    crate::schema::container(
                        "chained-composite-next-hop",
                        "Chained composite next hops",
                        vec![container(
                            "ingress",
                            "Ingress LSP next hops",
                            ["evpn", "l3vpn", "l2vpn", "l2ckt", "labeled-bgp"]
                                .into_iter()
                                .map(|f| flag(f, "Chain composite next hops for this family"))
                                .collect(),
                        )],
                    )
                    .presence()
                    .no_effect(),
                ],
            ),
        ],
    )
}

fn static_routes(v6: bool) -> Node {
    let prefix = if v6 {
        Type::Ipv6Prefix
    } else {
        Type::Ipv4Prefix
    };
    container(
        "static",
        "Static routes",
        vec![list(
            "route",
            "Destination prefix",
            prefix,
            vec![
                leaf_list("next-hop", "Next hop to destination", Type::NextHop { v6 })
                    .excludes(&["discard", "reject"]),
                list(
                    "qualified-next-hop",
                    "Next hop with qualifiers",
                    Type::NextHop { v6 },
                    vec![leaf(
                        "preference",
                        "Preference of this next hop",
                        Type::Uint {
                            min: 0,
                            max: 4_294_967_295,
                        },
                    )],
                )
                .excludes(&["discard", "reject"]),
                flag(
                    "discard",
                    "Drop packets to destination; send no ICMP unreachables",
                )
                .excludes(&["next-hop", "qualified-next-hop", "reject"]),
                flag(
                    "reject",
                    "Drop packets to destination; send ICMP unreachables",
                )
                .excludes(&["next-hop", "qualified-next-hop", "discard"]),
                leaf(
                    "preference",
                    "Preference value",
                    Type::Uint {
                        min: 0,
                        max: 4_294_967_295,
                    },
                ),
                // Savin's forwarding table lives in the daemon that owns the routes, and
                // no protocol readvertises static routes yet (issue 18 brings policy).
                flag(
                    "retain",
                    "Keep the route in the forwarding table when routing stops",
                )
                .no_effect(),
                flag(
                    "no-readvertise",
                    "Don't mark the route as eligible for readvertising",
                )
                .no_effect(),
            ],
        )
        .oneline()],
    )
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RoutingOptions {
    pub router_id: Option<Ipv4Addr>,
    pub autonomous_system: Option<u32>,
    #[serde(default, rename = "static")]
    pub static_routes: StaticRoutes,
    #[serde(default)]
    pub rib: Vec<Rib>,
    #[serde(default)]
    pub forwarding_table: ForwardingTable,
}

/// `forwarding-table`: what is left of it in the typed view.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ForwardingTable {
    #[serde(default)]
    pub export: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Rib {
    pub name: String,
    #[serde(default, rename = "static")]
    pub static_routes: StaticRoutes,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StaticRoutes {
    #[serde(default)]
    pub route: Vec<StaticRoute>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StaticRoute {
    pub name: Prefix,
    #[serde(default)]
    pub next_hop: Vec<NextHop>,
    #[serde(default)]
    pub qualified_next_hop: Vec<QualifiedNextHop>,
    #[serde(default)]
    pub discard: Flag,
    #[serde(default)]
    pub reject: Flag,
    pub preference: Option<u32>,
}

/// A next hop with its own preference (a floating static next hop).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct QualifiedNextHop {
    pub name: NextHop,
    pub preference: Option<u32>,
}

impl RoutingOptions {
    /// Static routes of both tables, with the table name.
    pub fn all_static(&self) -> impl Iterator<Item = (&str, &StaticRoute)> {
        let v4 = self.static_routes.route.iter().map(|r| ("inet.0", r));
        let v6 = self.rib.iter().flat_map(|rib| {
            rib.static_routes
                .route
                .iter()
                .map(move |r| (rib.name.as_str(), r))
        });
        v4.chain(v6)
    }
}

pub(super) fn validate(cfg: &Config, errors: &mut Vec<ValidationError>) {
    for name in &cfg.routing_options.forwarding_table.export {
        let path = ["routing-options", "forwarding-table"];
        let statement = format!("export {name}");
        let Some(p) = cfg.policy_options.policy(name) else {
            errors.push(ValidationError::new(
                &path,
                statement,
                format!("policy '{name}' is not defined under [edit policy-options]"),
            ));
            continue;
        };
        // `load-balance` is left out of the typed view (no effect): what remains must only
        // accept.
        let only_accepts = p.terms().iter().all(|t| {
            let th = &t.then;
            let rejects_some = t.from.route_filter.iter().any(|f| f.reject.0)
                || cfg
                    .policy_options
                    .route_filter_list
                    .iter()
                    .filter(|l| t.from.route_filter_list.contains(&l.name))
                    .any(|l| l.filter.iter().any(|f| f.reject.0));
            !rejects_some
                && !th.reject.0
                && th.next.is_none()
                && th.local_preference.is_none()
                && th.metric.is_none()
                && th.preference.is_none()
                && th.community.is_none()
                && th.as_path_prepend.is_none()
                && th.next_hop.is_none()
                && th.origin.is_none()
                && th.default_action.is_none()
        });
        if !only_accepts {
            errors.push(ValidationError::new(
                &path,
                statement,
                "not supported by Savin yet: forwarding-table policies other than load-balance \
                 (Savin balances over equal-cost next hops always)",
            ));
        }
    }
    for rib in &cfg.routing_options.rib {
        if rib.name != "inet6.0" && !rib.static_routes.route.is_empty() {
            errors.push(ValidationError::new(
                &["routing-options", "rib", &rib.name],
                "static",
                format!(
                    "not supported by Savin yet: routes in {} (MPLS label-switched paths)",
                    rib.name
                ),
            ));
        }
    }
    for (table, route) in cfg.routing_options.all_static() {
        let prefix = route.name.to_string();
        let mut path = vec!["routing-options"];
        if table != "inet.0" {
            path.extend(["rib", table]);
        }
        path.extend(["static", "route", prefix.as_str()]);
        let kinds = usize::from(!route.next_hop.is_empty() || !route.qualified_next_hop.is_empty())
            + usize::from(route.discard.0)
            + usize::from(route.reject.0);
        if kinds == 0 {
            errors.push(ValidationError::new(
                &path[..path.len() - 2],
                format!("route {prefix}"),
                "missing next hop: configure next-hop, qualified-next-hop, discard or reject",
            ));
        }
        let qualified = route.qualified_next_hop.iter().map(|q| &q.name);
        for nh in route.next_hop.iter().chain(qualified) {
            if let NextHop::Interface(ifl) = nh {
                if cfg.interfaces.unit(ifl).is_none() {
                    errors.push(ValidationError::new(
                        &path,
                        format!("next-hop {ifl}"),
                        format!("interface {ifl} is not configured under [edit interfaces]"),
                    ));
                }
            }
        }
    }
}
