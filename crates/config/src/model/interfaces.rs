//! `interfaces`: Linux netdevs owned by Savin, their logical units and address families.

use std::collections::HashMap;

use serde::Deserialize;

use super::{Config, Flag, Prefix, ValidationError};
use crate::schema::{container, flag, leaf, leaf_list, list, Node};
use crate::value::{Type, UNIT_MAX};

const VLAN_ID: Type = Type::Uint { min: 1, max: 4094 };
/// A unit's VLAN ID: 0 too (priority-tagged frames), as an MX takes it.
const UNIT_VLAN_ID: Type = Type::Uint { min: 0, max: 4094 };

/// `family inet|inet6 mtu`: the protocol MTU (Junos: the IP packet size, without the
/// Ethernet header that the interface `mtu` counts).
fn family_mtu() -> Node {
    leaf(
        "mtu",
        "Protocol family maximum transmission unit",
        Type::Uint {
            min: 256,
            max: 9192,
        },
    )
}

/// `esi`: an EVPN Ethernet segment, on a physical interface or a unit.
fn esi() -> Node {
    container(
        "esi",
        "ESI configuration of interface",
        vec![
            list(
                "identifier",
                "The 10-octet Ethernet segment identifier",
                Type::Name,
                vec![],
            )
            .bare(),
            flag("all-active", "All-Active mode"),
            container(
                "df-election-granularity",
                "Designated forwarder election granularity",
                vec![container(
                    "per-esi",
                    "Per Ethernet segment",
                    vec![flag(
                        "lacp-oos-on-ndf",
                        "LACP out of sync on the non-designated forwarder",
                    )],
                )
                .presence()],
            ),
            container(
                "df-election-type",
                "Designated forwarder election type",
                vec![container(
                    "preference",
                    "Preference-based election",
                    vec![leaf(
                        "value",
                        "Preference value",
                        Type::Uint { min: 0, max: 65535 },
                    )],
                )
                .presence()],
            ),
            flag("single-active", "Single-Active mode"),
        ],
    )
    .unsupported("EVPN Ethernet segments")
}

pub fn schema() -> Node {
    let mut range = ifd_children();
    range.splice(
        0..0,
        [
            list(
                "member",
                "Interfaces in the range: a name, `*` in a field, or `[A-B]` ports",
                Type::Text,
                vec![],
            ),
            list(
                "member-range",
                "Interface range: the first port to the last",
                Type::IfName,
                vec![leaf("to", "The last port of the range", Type::IfName)],
            )
            .oneline(),
        ],
    );
    container(
        "interfaces",
        "Interface configuration",
        vec![
            // Statements shared by many ports: each member takes those it does not set itself.
            list(
                "interface-range",
                "Interface ranges configuration",
                Type::Name,
                range,
            ),
            list(
                "interface",
                "Physical interface (Junos name or Linux netdev name)",
                Type::IfName,
                ifd_children(),
            )
            .bare(),
        ],
    )
}

/// The statements of a physical interface (and of an interface range).
fn ifd_children() -> Vec<Node> {
    let address = |ty| {
        list(
            "address",
            "Interface address/destination prefix",
            ty,
            vec![
                flag("primary", "Candidate for primary address in system").no_effect(),
                flag("preferred", "Preferred address on interface").no_effect(),
                leaf(
                    "virtual-gateway-address",
                    "Virtual gateway IP address (EVPN anycast gateway)",
                    Type::Ip,
                )
                .unsupported("virtual gateway addresses (EVPN)"),
                list(
                    "arp",
                    "Static ARP entry",
                    Type::Ipv4,
                    vec![
                        leaf("mac", "Hardware MAC address", Type::Name),
                        flag("publish", "Publish the entry (proxy ARP)"),
                    ],
                )
                .oneline()
                .unsupported("static ARP entries"),
                list(
                    "ndp",
                    "Static neighbor entry",
                    Type::Ipv6,
                    vec![
                        leaf("mac", "Hardware MAC address", Type::Name),
                        flag("publish", "Publish the entry (proxy NDP)"),
                    ],
                )
                .oneline()
                .unsupported("static neighbor entries"),
            ],
        )
    };
    let lag = "aggregated Ethernet (LAG, LACP)";
    {
        {
            vec![
                leaf("description", "Text description of interface", Type::Text),
                flag("disable", "Disable this interface"),
                flag("enable", "Enable this interface (the default)").no_effect(),
                container(
                    "load-balancing-options",
                    "Load balancing over service (AMS) members",
                    vec![
                        leaf_list("member-interface", "Member interface", Type::Name),
                        container(
                            "member-failure-options",
                            "What to do when a member fails",
                            vec![container(
                                "drop-member-traffic",
                                "Drop the failed member's traffic",
                                vec![
                                    leaf(
                                        "rejoin-timeout",
                                        "Rejoin timeout (seconds)",
                                        Type::Uint { min: 0, max: 3600 },
                                    ),
                                    flag("enable-rejoin", "Let the member rejoin"),
                                ],
                            )],
                        ),
                    ],
                )
                .unsupported("aggregated multiservices (AMS) interfaces"),
                leaf(
                    "mtu",
                    "Maximum transmit packet size",
                    Type::Uint {
                        min: 256,
                        max: 9216,
                    },
                ),
                flag("vlan-tagging", "802.1Q VLAN tagging support"),
                flag(
                    "flexible-vlan-tagging",
                    "Support for no tagging, or single and double 802.1q VLAN tagging",
                )
                .unsupported("flexible-vlan-tagging (use vlan-tagging)"),
                leaf(
                    "encapsulation",
                    "Physical link-layer encapsulation",
                    Type::Name,
                )
                .unsupported("interface encapsulations other than Ethernet"),
                leaf(
                    "speed",
                    "Link speed (the netdev negotiates its own)",
                    Type::Name,
                )
                .no_effect(),
                leaf(
                    "number-of-sub-ports",
                    "Channelise a port into this many sub-ports (hardware)",
                    Type::Uint { min: 1, max: 16 },
                )
                .no_effect(),
                container(
                    "optics-options",
                    "Optics alarms and warnings (no optics on a netdev)",
                    ["alarm", "warning"]
                        .into_iter()
                        .map(|n| {
                            list(
                                n,
                                "Optics condition",
                                Type::Name,
                                vec![
                                    flag("link-down", "Bring the link down"),
                                    flag("syslog", "Log the condition"),
                                ],
                            )
                        })
                        .collect(),
                )
                .no_effect(),
                container(
                    "hold-time",
                    "Hold time for link up and link down",
                    vec![
                        leaf(
                            "up",
                            "Link-up hold time (milliseconds)",
                            Type::Uint {
                                min: 0,
                                max: 4_294_967,
                            },
                        ),
                        leaf(
                            "down",
                            "Link-down hold time (milliseconds)",
                            Type::Uint {
                                min: 0,
                                max: 4_294_967,
                            },
                        ),
                    ],
                )
                .no_effect(),
                flag("traps", "Enable SNMP notifications on state changes").no_effect(),
                flag("no-traps", "Disable SNMP notifications on state changes").no_effect(),
                container(
                    "gigether-options",
                    "Gigabit Ethernet interface-specific options",
                    vec![leaf("802.3ad", "Aggregated Ethernet bundle", Type::Name)],
                )
                .unsupported(lag),
                container(
                    "ether-options",
                    "Ethernet interface-specific options",
                    vec![leaf("802.3ad", "Aggregated Ethernet bundle", Type::Name)],
                )
                .unsupported(lag),
                container(
                    "aggregated-ether-options",
                    "Aggregated Ethernet interface-specific options",
                    vec![
                        container(
                            "bfd-liveness-detection",
                            "BFD on the member links (micro-BFD)",
                            vec![
                                leaf("version", "BFD version", Type::Name),
                                leaf(
                                    "minimum-interval",
                                    "Minimum transmit and receive interval (ms)",
                                    Type::Uint {
                                        min: 1,
                                        max: 255_000,
                                    },
                                ),
                                leaf(
                                    "multiplier",
                                    "Detection time multiplier",
                                    Type::Uint { min: 1, max: 255 },
                                ),
                                flag("no-adaptation", "Disable adaptation"),
                                leaf("local-address", "Local address", Type::Ip),
                                leaf("neighbor", "Neighbor address", Type::Ip),
                            ],
                        ),
                        leaf(
                            "minimum-links",
                            "Minimum number of aggregated links",
                            Type::Uint { min: 1, max: 64 },
                        ),
                        container(
                            "lacp",
                            "Link Aggregation Control Protocol configuration",
                            vec![
                                flag("active", "Transmit packets actively"),
                                flag("passive", "Transmit packets only when the peer does"),
                                leaf(
                                    "periodic",
                                    "Timer interval for periodic transmission of LACP packets",
                                    Type::Enum(&["fast", "slow"]),
                                ),
                                leaf(
                                    "system-id",
                                    "Node's System ID, encoded as a MAC address",
                                    Type::Name,
                                ),
                                leaf(
                                    "admin-key",
                                    "Node's administrative key",
                                    Type::Uint { min: 0, max: 65535 },
                                ),
                                leaf(
                                    "system-priority",
                                    "Priority of the system",
                                    Type::Uint { min: 0, max: 65535 },
                                ),
                                flag(
                                    "accept-data",
                                    "Accept data on a member link while LACP is not up",
                                ),
                                container(
                                    "hold-time",
                                    "Configure hold time for component interfaces",
                                    vec![leaf(
                                        "up",
                                        "Hold time for component interface up",
                                        Type::Uint { min: 0, max: 6000 },
                                    )],
                                ),
                            ],
                        ),
                    ],
                )
                .unsupported(lag),
                esi(),
                leaf(
                    "native-vlan-id",
                    "Virtual LAN identifier for untagged frames",
                    VLAN_ID,
                ),
                list(
                    "unit",
                    "Logical interface",
                    Type::Uint {
                        min: 0,
                        max: UNIT_MAX,
                    },
                    vec![
                        leaf("description", "Text description of interface", Type::Text),
                        leaf(
                            "vlan-id",
                            "Virtual LAN identifier value for 802.1q VLAN tags",
                            UNIT_VLAN_ID,
                        ),
                        leaf("mac", "Hardware MAC address", Type::Name)
                            .unsupported("a logical interface's own MAC address"),
                        leaf(
                            "encapsulation",
                            "Logical link-layer encapsulation",
                            Type::Name,
                        )
                        .unsupported("logical interface encapsulations (vlan-bridge, ...)"),
                        flag("no-dhcp-flood", "Do not flood DHCP packets (EVPN)")
                            .unsupported("EVPN"),
                        flag(
                            "proxy-macip-advertisement",
                            "Proxy MAC/IP advertisement in EVPN for this IRB",
                        )
                        .unsupported("EVPN"),
                        esi(),
                        leaf(
                            "service-domain",
                            "Service domain of a services interface unit",
                            Type::Enum(&["inside", "outside"]),
                        )
                        .unsupported("services interfaces (MS-MPC, MX-SPC3)"),
                        container(
                            "load-balancing-options",
                            "Load balancing over a services interface's members",
                            vec![flag("disable-hash", "Do not hash traffic over the members")],
                        )
                        .unsupported("services interfaces (MS-MPC, MX-SPC3)"),
                        flag("traps", "Enable SNMP notifications on state changes").no_effect(),
                        flag("no-traps", "Disable SNMP notifications on state changes").no_effect(),
                        container(
                            "family",
                            "Protocol family",
                            vec![
                                container(
                                    "inet",
                                    "IPv4 parameters",
                                    vec![
                                        address(Type::Ipv4IfAddr),
                                        family_mtu(),
                                        super::firewall::unit_filter(),
                                        container(
                                            "dhcp",
                                            "Configure DHCP client",
                                            vec![
                                                leaf(
                                                    "vendor-id",
                                                    "Vendor class identifier (option 60)",
                                                    Type::Text,
                                                ),
                                                leaf(
                                                    "client-identifier",
                                                    "Client identifier (option 61)",
                                                    Type::Text,
                                                ),
                                                leaf(
                                                    "lease-time",
                                                    "Lease time requested (seconds)",
                                                    Type::Uint {
                                                        min: 60,
                                                        max: 2_147_483_647,
                                                    },
                                                ),
                                            ],
                                        )
                                        .presence()
                                        .unsupported("a DHCP client on an interface"),
                                    ],
                                )
                                .presence(),
                                container(
                                    "inet6",
                                    "IPv6 protocol parameters",
                                    vec![
                                        address(Type::Ipv6IfAddr),
                                        family_mtu(),
                                        super::firewall::unit_filter(),
                                    ],
                                )
                                .presence(),
                                container(
                                    "ethernet-switching",
                                    "Ethernet switching parameters",
                                    vec![
                                        leaf(
                                            "interface-mode",
                                            "Interface mode",
                                            Type::Enum(&["access", "trunk"]),
                                        ),
                                        container(
                                            "vlan",
                                            "Virtual LAN membership",
                                            vec![leaf_list(
                                                "members",
                                                "VLAN name or VLAN ID",
                                                Type::Ref(&["vlans", "vlan"]),
                                            )],
                                        ),
                                        super::firewall::unit_filter(),
                                        leaf("storm-control", "Storm control profile", Type::Name)
                                            .unsupported("storm control"),
                                    ],
                                )
                                .presence(),
                                container(
                                    "mpls",
                                    "MPLS parameters",
                                    vec![
                                        family_mtu(),
                                        leaf(
                                            "maximum-labels",
                                            "Maximum number of MPLS labels",
                                            Type::Uint { min: 3, max: 16 },
                                        ),
                                    ],
                                )
                                .presence()
                                .unsupported("MPLS"),
                                container(
                                    "iso",
                                    "OSI ISO protocol parameters",
                                    vec![
                                        list("address", "Interface address", Type::Name, vec![]),
                                        family_mtu(),
                                    ],
                                )
                                .presence()
                                .unsupported("IS-IS (family iso)"),
                            ],
                        )
                        .flatten(),
                    ],
                ),
            ]
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Interfaces {
    #[serde(default)]
    pub interface: Vec<Interface>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Interface {
    pub name: String,
    pub description: Option<String>,
    #[serde(default)]
    pub disable: Flag,
    pub mtu: Option<u32>,
    #[serde(default)]
    pub vlan_tagging: Flag,
    pub native_vlan_id: Option<u16>,
    #[serde(default)]
    pub unit: Vec<Unit>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Unit {
    pub name: u32,
    pub description: Option<String>,
    pub vlan_id: Option<u16>,
    #[serde(default)]
    pub family: Family,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Family {
    pub inet: Option<Inet>,
    pub inet6: Option<Inet>,
    pub ethernet_switching: Option<EthernetSwitching>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Inet {
    #[serde(default)]
    pub address: Vec<Address>,
    pub mtu: Option<u32>,
    pub filter: Option<UnitFilter>,
}

/// `family inet filter { input NAME; output NAME; }` (lists: several filters in order).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct UnitFilter {
    pub input: Option<String>,
    pub output: Option<String>,
    #[serde(default)]
    pub input_list: Vec<String>,
    #[serde(default)]
    pub output_list: Vec<String>,
}

impl Unit {
    /// The filters the unit applies, by family (`family inet|inet6|ethernet-switching filter`).
    pub fn filters(&self) -> [(super::firewall::Fam, Option<&UnitFilter>); 3] {
        use super::firewall::Fam;
        let f = &self.family;
        [
            (Fam::Inet, f.inet.as_ref().and_then(|i| i.filter.as_ref())),
            (Fam::Inet6, f.inet6.as_ref().and_then(|i| i.filter.as_ref())),
            (
                Fam::EthernetSwitching,
                f.ethernet_switching
                    .as_ref()
                    .and_then(|e| e.filter.as_ref()),
            ),
        ]
    }
}

impl UnitFilter {
    /// The input filters in order (`input`, else `input-list`).
    pub fn inputs(&self) -> Vec<String> {
        match &self.input {
            Some(f) => vec![f.clone()],
            None => self.input_list.clone(),
        }
    }

    pub fn outputs(&self) -> Vec<String> {
        match &self.output {
            Some(f) => vec![f.clone()],
            None => self.output_list.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Address {
    pub name: Prefix,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InterfaceMode {
    Access,
    Trunk,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct EthernetSwitching {
    pub interface_mode: Option<InterfaceMode>,
    #[serde(default)]
    pub vlan: VlanMembership,
    /// `filter input|output`: `firewall family ethernet-switching` filters on the port.
    pub filter: Option<UnitFilter>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct VlanMembership {
    #[serde(default)]
    pub members: Vec<String>,
}

impl Interfaces {
    /// The logical interface `NAME.UNIT`, if configured.
    pub fn unit(&self, ifl: &str) -> Option<(&Interface, &Unit)> {
        let (ifd, unit) = crate::value::split_ifl(ifl)?;
        let i = self.interface.iter().find(|i| i.name == ifd)?;
        let u = i.unit.iter().find(|u| u64::from(u.name) == unit)?;
        Some((i, u))
    }
}

/// Interfaces whose units are logical interfaces of their own rather than VLANs on a wire:
/// units other than 0 need no `vlan-tagging` there (Junos: `irb`, `vlan`, `lo0`, `st0`, and
/// the tunnel and services ports `gr-`, `ip-`, `lt-`, ...).
pub fn logical_units(name: &str) -> bool {
    matches!(name, "irb" | "vlan" | "lo0" | "st0")
        || (crate::value::is_junos_port(name)
            && !["ge-", "xe-", "et-", "fe-", "mge-"]
                .iter()
                .any(|m| name.starts_with(m)))
}

/// Interfaces that are no netdev of their own: a VLAN's routed side (`irb`, and its legacy
/// name `vlan`) and the box itself (`lo0`).
pub fn no_netdev(name: &str) -> bool {
    matches!(name, "irb" | "vlan" | "lo0")
}

/// The port a logical interface stands for: `ge-0/0/0` for `ge-0/0/0.0` (unit 0 of a netdev
/// is the netdev), `irb.10` and any other unit as themselves.
pub fn port_of(ifl: &str) -> &str {
    match ifl.strip_suffix(".0") {
        Some(dev) if !no_netdev(dev) => dev,
        _ => ifl,
    }
}

pub(super) fn validate(cfg: &Config, errors: &mut Vec<ValidationError>) {
    let mut seen_addr: HashMap<std::net::IpAddr, String> = HashMap::new();
    for ifd in &cfg.interfaces.interface {
        // As Junos: one loopback unit in the master routing instance (the others belong to
        // routing instances).
        if ifd.name == "lo0" {
            let with_family: Vec<&Unit> = ifd
                .unit
                .iter()
                .filter(|u| u.family.inet.is_some() || u.family.inet6.is_some())
                .collect();
            if let [_, extra, ..] = with_family.as_slice() {
                errors.push(ValidationError::new(
                    &["interfaces", "lo0"],
                    format!("unit {}", extra.name),
                    "multiple loopback interfaces not permitted in master routing instance \
                     (units other than the box's belong to routing instances, which Savin does not have yet)",
                ));
            }
        }
        let mut seen_vid: HashMap<u16, u32> = HashMap::new();
        for unit in &ifd.unit {
            let unit_s = unit.name.to_string();
            let upath = ["interfaces", ifd.name.as_str(), "unit", unit_s.as_str()];
            let ifl = format!("{}.{}", ifd.name, unit.name);
            match unit.vlan_id {
                Some(v) if !ifd.vlan_tagging.0 && !logical_units(&ifd.name) => {
                    errors.push(ValidationError::new(
                        &upath,
                        format!("vlan-id {v}"),
                        format!("vlan-id requires vlan-tagging on interface {}", ifd.name),
                    ))
                }
                Some(v) => {
                    if let Some(other) = seen_vid.insert(v, unit.name) {
                        errors.push(ValidationError::new(
                            &upath,
                            format!("vlan-id {v}"),
                            format!("vlan-id {v} is already used by {}.{other}", ifd.name),
                        ));
                    }
                }
                None if ifd.vlan_tagging.0 => errors.push(ValidationError::new(
                    &upath,
                    format!("unit {}", unit.name),
                    "vlan-id must be configured on a unit of an interface with vlan-tagging",
                )),
                None => {}
            }
            if !ifd.vlan_tagging.0 && unit.name != 0 && !logical_units(&ifd.name) {
                errors.push(ValidationError::new(
                    &["interfaces", ifd.name.as_str()],
                    format!("unit {}", unit.name),
                    "only unit 0 is allowed on an interface without vlan-tagging",
                ));
            }
            let fam = &unit.family;
            if let Some(sw) = &fam.ethernet_switching {
                let mut fpath = upath.to_vec();
                fpath.extend(["family", "ethernet-switching"]);
                if fam.inet.is_some() || fam.inet6.is_some() {
                    errors.push(ValidationError::new(
                        &upath,
                        "family ethernet-switching",
                        "family ethernet-switching cannot be configured with family inet or inet6 on the same unit",
                    ));
                }
                let mode = sw.interface_mode.unwrap_or(InterfaceMode::Access);
                let count: usize = sw
                    .vlan
                    .members
                    .iter()
                    .map(|m| super::vlans::members(cfg, m).len().max(1))
                    .sum();
                if mode == InterfaceMode::Access && count > 1 {
                    errors.push(ValidationError::new(
                        &fpath,
                        format!("vlan members [ {} ]", sw.vlan.members.join(" ")),
                        "an access interface can be a member of only one VLAN",
                    ));
                }
                let mut vpath = fpath.clone();
                vpath.push("vlan");
                for m in &sw.vlan.members {
                    let found = super::vlans::members(cfg, m);
                    let range = super::vlans::member_range(m).is_some();
                    if !range && found.first().is_some_and(|v| v.vlan_id.is_none()) {
                        errors.push(ValidationError::new(
                            &vpath,
                            format!("members {m}"),
                            format!("VLAN '{m}' has no vlan-id"),
                        ));
                    }
                    if found.is_empty() {
                        let msg = if range {
                            format!("no VLAN with an ID in '{m}' is configured under [edit vlans]")
                        } else {
                            format!("VLAN '{m}' is not configured under [edit vlans]")
                        };
                        errors.push(ValidationError::new(&vpath, format!("members {m}"), msg));
                    }
                }
            }
            for (fname, inet) in [("inet", &fam.inet), ("inet6", &fam.inet6)] {
                let Some(inet) = inet else { continue };
                for a in &inet.address {
                    if let Some(other) = seen_addr.insert(a.name.addr, ifl.clone()) {
                        let mut apath = upath.to_vec();
                        apath.extend(["family", fname]);
                        errors.push(ValidationError::new(
                            &apath,
                            format!("address {}", a.name),
                            format!("address {} is already configured on {other}", a.name.addr),
                        ));
                    }
                }
            }
        }
    }
}
