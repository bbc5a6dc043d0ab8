//! `security screen ids-option`: the SRX screens (flood thresholds, malformed-packet and
//! spoofing checks, session limits), bound to a zone with `security-zone Z screen NAME`.

use serde::Deserialize;

use super::{Config, Flag, ValidationError};
use crate::schema::{container, flag, leaf, list, Node};
use crate::value::Type;

fn threshold(help: &'static str, min: u64, max: u64) -> Node {
    leaf("threshold", help, Type::Uint { min, max })
}

/// A sweep: ten destinations within `threshold` microseconds.
fn sweep(name: &'static str, help: &'static str) -> Node {
    container(
        name,
        help,
        vec![threshold(
            "Threshold (microseconds for 10 addresses)",
            1000,
            1_000_000,
        )],
    )
    .presence()
}

pub fn schema() -> Node {
    container(
        "screen",
        "Configure screen feature",
        vec![list(
            "ids-option",
            "Configure ids-option",
            Type::Name,
            vec![
                leaf("description", "Text description of screen", Type::Text).no_effect(),
                flag(
                    "alarm-without-drop",
                    "Count and log attacks without dropping the packets",
                ),
                container(
                    "icmp",
                    "Configure ICMP ids options",
                    vec![
                        flag("ping-death", "Enable ping of death ids option"),
                        flag("fragment", "Enable ICMP fragment ids option"),
                        flag("large", "Enable large ICMP packet (size > 1024) ids option"),
                        sweep("ip-sweep", "Configure IP sweep ids option"),
                        container(
                            "flood",
                            "Configure ICMP flood ids option",
                            vec![threshold(
                                "Threshold (ICMP packets per second)",
                                1,
                                1_000_000,
                            )],
                        )
                        .presence(),
                    ],
                ),
                container(
                    "ip",
                    "Configure IP layer ids options",
                    vec![
                        flag("spoofing", "Enable IP address spoofing ids option"),
                        flag("tear-drop", "Enable tear drop ids option"),
                        flag("block-frag", "Enable IP fragment blocking ids option"),
                        flag("bad-option", "Enable ip with bad option ids option"),
                        flag(
                            "source-route-option",
                            "Enable ip source route option ids option",
                        ),
                        flag(
                            "loose-source-route-option",
                            "Enable ip with loose source route ids option",
                        ),
                        flag(
                            "strict-source-route-option",
                            "Enable ip with strict source route ids option",
                        ),
                        flag(
                            "record-route-option",
                            "Enable ip with record route option ids option",
                        ),
                        flag(
                            "timestamp-option",
                            "Enable ip with timestamp option ids option",
                        ),
                        flag(
                            "security-option",
                            "Enable ip with security option ids option",
                        ),
                        flag("stream-option", "Enable ip with stream option ids option"),
                        flag(
                            "unknown-protocol",
                            "Enable ip unknown protocol ids option (protocol above 137)",
                        ),
                    ],
                ),
                container(
                    "tcp",
                    "Configure TCP Layer ids options",
                    vec![
                        flag("syn-fin", "Enable SYN and FIN bits set attack ids option"),
                        flag("tcp-no-flag", "Enable TCP packet without flag ids option"),
                        flag("land", "Enable land attack ids option"),
                        flag("winnuke", "Enable winnuke attack ids option"),
                        flag("syn-frag", "Enable SYN fragment ids option"),
                        sweep("tcp-sweep", "Configure TCP sweep ids option"),
                        container(
                            "syn-flood",
                            "Configure SYN flood ids option",
                            vec![
                                leaf(
                                    "alarm-threshold",
                                    "Alarm threshold (requests per second)",
                                    Type::Uint {
                                        min: 1,
                                        max: 1_000_000,
                                    },
                                ),
                                leaf(
                                    "attack-threshold",
                                    "Attack threshold (SYNs per second to one address and port)",
                                    Type::Uint {
                                        min: 1,
                                        max: 1_000_000,
                                    },
                                ),
                                leaf(
                                    "source-threshold",
                                    "Source threshold (SYNs per second from one address)",
                                    Type::Uint {
                                        min: 4,
                                        max: 1_000_000,
                                    },
                                ),
                                leaf(
                                    "destination-threshold",
                                    "Destination threshold (SYNs per second to one address)",
                                    Type::Uint {
                                        min: 4,
                                        max: 1_000_000,
                                    },
                                ),
                                leaf(
                                    "timeout",
                                    "SYN flood ager timeout (seconds)",
                                    Type::Uint { min: 1, max: 50 },
                                ),
                                leaf(
                                    "queue-size",
                                    "Proxied requests queue size (deprecated)",
                                    Type::Uint {
                                        min: 1,
                                        max: 1_000_000,
                                    },
                                )
                                .no_effect(),
                            ],
                        )
                        .presence(),
                        container(
                            "port-scan",
                            "Configure TCP port scan ids option",
                            vec![threshold(
                                "Threshold (microseconds for 10 ports)",
                                1000,
                                1_000_000,
                            )],
                        )
                        .presence(),
                    ],
                ),
                container(
                    "udp",
                    "Configure UDP layer ids options",
                    vec![
                        sweep("udp-sweep", "Configure UDP sweep ids option"),
                        container(
                            "flood",
                            "Configure UDP flood ids option",
                            vec![threshold(
                                "Threshold (UDP packets per second)",
                                1,
                                1_000_000,
                            )],
                        )
                        .presence(),
                    ],
                ),
                container(
                    "limit-session",
                    "Limit sessions",
                    vec![
                        leaf(
                            "source-ip-based",
                            "Limit sessions from the same source IP",
                            Type::Uint {
                                min: 1,
                                max: 2_000_000,
                            },
                        ),
                        leaf(
                            "destination-ip-based",
                            "Limit sessions to the same destination IP",
                            Type::Uint {
                                min: 1,
                                max: 2_000_000,
                            },
                        ),
                    ],
                ),
            ],
        )],
    )
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Screen {
    #[serde(default)]
    pub ids_option: Vec<IdsOption>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct IdsOption {
    pub name: String,
    #[serde(default)]
    pub alarm_without_drop: Flag,
    #[serde(default)]
    pub icmp: Icmp,
    #[serde(default)]
    pub ip: Ip,
    #[serde(default)]
    pub tcp: Tcp,
    #[serde(default)]
    pub udp: Udp,
    #[serde(default)]
    pub limit_session: LimitSession,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Icmp {
    #[serde(default)]
    pub ping_death: Flag,
    #[serde(default)]
    pub fragment: Flag,
    #[serde(default)]
    pub large: Flag,
    pub ip_sweep: Option<Threshold>,
    pub flood: Option<Threshold>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Threshold {
    pub threshold: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Ip {
    #[serde(default)]
    pub spoofing: Flag,
    #[serde(default)]
    pub tear_drop: Flag,
    #[serde(default)]
    pub block_frag: Flag,
    #[serde(default)]
    pub bad_option: Flag,
    #[serde(default)]
    pub source_route_option: Flag,
    #[serde(default)]
    pub loose_source_route_option: Flag,
    #[serde(default)]
    pub strict_source_route_option: Flag,
    #[serde(default)]
    pub record_route_option: Flag,
    #[serde(default)]
    pub timestamp_option: Flag,
    #[serde(default)]
    pub security_option: Flag,
    #[serde(default)]
    pub stream_option: Flag,
    #[serde(default)]
    pub unknown_protocol: Flag,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Tcp {
    #[serde(default)]
    pub syn_fin: Flag,
    #[serde(default)]
    pub tcp_no_flag: Flag,
    #[serde(default)]
    pub land: Flag,
    #[serde(default)]
    pub winnuke: Flag,
    #[serde(default)]
    pub syn_frag: Flag,
    pub tcp_sweep: Option<Threshold>,
    pub syn_flood: Option<SynFlood>,
    pub port_scan: Option<Threshold>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SynFlood {
    pub alarm_threshold: Option<u32>,
    pub attack_threshold: Option<u32>,
    pub source_threshold: Option<u32>,
    pub destination_threshold: Option<u32>,
    pub timeout: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Udp {
    pub flood: Option<Threshold>,
    pub udp_sweep: Option<Threshold>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LimitSession {
    pub source_ip_based: Option<u32>,
    pub destination_ip_based: Option<u32>,
}

pub(super) fn validate(cfg: &Config, errors: &mut Vec<ValidationError>) {
    for z in &cfg.security.zones.security_zone {
        if let Some(s) = &z.screen {
            if !cfg.security.screen.ids_option.iter().any(|o| &o.name == s) {
                errors.push(ValidationError::new(
                    &["security", "zones", "security-zone", z.name.as_str()],
                    format!("screen {s}"),
                    format!("screen ids-option '{s}' is not defined"),
                ));
            }
        }
    }
}
