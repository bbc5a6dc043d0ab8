//! `chassis`: line cards, port speeds and channelisation, aggregated-device counts, chassis
//! cluster and high availability. A Savin box's ports are Linux netdevs, so these are kept and
//! shown with no effect (a saved MX or QFX configuration loads); the statements that ask for
//! what Savin cannot do yet (chassis cluster, services high availability) fail the commit.

use crate::schema::{container, flag, leaf, leaf_list, list, Node};
use crate::value::Type;

pub fn schema() -> Node {
    let num = |max| Type::Uint { min: 0, max };
    container(
        "chassis",
        "Chassis configuration",
        vec![
            container(
                "aggregated-devices",
                "Aggregated devices configuration",
                vec![container(
                    "ethernet",
                    "Aggregated Ethernet configuration",
                    vec![leaf(
                        "device-count",
                        "Number of aggregated Ethernet devices",
                        num(1024),
                    )],
                )],
            ),
            list(
                "fpc",
                "Flexible PIC Concentrator parameters",
                num(255),
                vec![
                    list(
                        "pic",
                        "Physical Interface Card number",
                        num(255),
                        vec![
                            list(
                                "port",
                                "Port number",
                                num(255),
                                vec![
                                    leaf("speed", "Port speed", Type::Name),
                                    leaf("channel-speed", "Port channel speed", Type::Name),
                                    leaf("number-of-sub-ports", "Number of sub-ports", num(16)),
                                ],
                            ),
                            leaf("number-of-ports", "Number of ports to enable", num(255)),
                            leaf("pic-mode", "PIC mode", Type::Name),
                            leaf("interface-type", "Interface type", Type::Name),
                            container(
                                "tunnel-services",
                                "Tunnel services",
                                vec![leaf(
                                    "bandwidth",
                                    "Bandwidth reserved for tunnel service",
                                    Type::Name,
                                )],
                            )
                            .presence(),
                        ],
                    ),
                    flag("lite-mode", "FPC lite mode"),
                    container(
                        "power",
                        "Power FPC on or off",
                        vec![flag("off", "Power off"), flag("on", "Power on")],
                    )
                    .oneline(),
                ],
            ),
            container(
                "network-services",
                "Chassis network services configuration",
                vec![
                    flag("enhanced-ip", "Enhanced IP network services"),
                    flag("ip", "IP network services"),
                    flag("ethernet", "Ethernet network services"),
                ],
            ),
            flag("dump-on-panic", "Dump core on panic"),
            container(
                "redundancy",
                "Redundancy settings",
                vec![flag(
                    "graceful-switchover",
                    "Enable graceful switchover on supported hardware",
                )],
            ),
            container(
                "alarm",
                "Global alarm settings",
                vec![container(
                    "management-ethernet",
                    "Management Ethernet alarms",
                    vec![leaf(
                        "link-down",
                        "Link down alarm",
                        Type::Enum(&["red", "yellow", "ignore"]),
                    )],
                )],
            ),
            container(
                "cluster",
                "Chassis cluster configuration",
                vec![
                    leaf(
                        "reth-count",
                        "Number of redundant Ethernet interfaces",
                        num(1024),
                    ),
                    list(
                        "redundancy-group",
                        "Redundancy group",
                        num(255),
                        vec![
                            list(
                                "node",
                                "Node",
                                num(1),
                                vec![leaf("priority", "Priority of the node", num(254))],
                            )
                            .oneline(),
                            leaf(
                                "hold-down-interval",
                                "Hold down interval (seconds)",
                                num(1800),
                            ),
                            flag("preempt", "Allow preemption of primaryship"),
                        ],
                    ),
                ],
            )
            .unsupported("chassis cluster"),
            high_availability().unsupported("multinode high availability"),
        ],
    )
    .no_effect()
}

/// `chassis high-availability`: multinode high availability (MNHA) between two SRXs: the
/// local node, its peers and the services redundancy groups. Kept and shown; Savin has no
/// multinode state sync yet.
fn high_availability() -> Node {
    let num = |min, max| Type::Uint { min, max };
    // A block that holds a value of its own and options: `local-id { 1; local-ip A; }`.
    let valued = |name: &'static str, help: &'static str, ty: Type, mut options: Vec<Node>| {
        options.insert(0, list("value", help, ty, vec![]).bare().single());
        container(name, help, options)
    };
    let routed = |name: &'static str, help: &'static str| {
        valued(
            name,
            help,
            Type::Ip,
            vec![leaf("routing-instance", "Routing instance", Type::Name)],
        )
    };
    let bfd = || {
        vec![
            leaf("interface", "Interface", Type::IflName),
            leaf("src-ip", "Source address", Type::Ip),
            leaf("routing-instance", "Routing instance", Type::Name),
            leaf(
                "session-type",
                "BFD session type",
                Type::Enum(&["singlehop", "multihop"]),
            ),
            leaf("weight", "Weight", num(0, 1000)),
        ]
    };
    let liveness = container(
        "liveness-detection",
        "Bidirectional forwarding detection",
        vec![
            leaf(
                "minimum-interval",
                "Minimum transmit and receive interval (ms)",
                num(1, 255_000),
            ),
            leaf(
                "minimum-receive-interval",
                "Minimum receive interval (ms)",
                num(1, 255_000),
            ),
            leaf("multiplier", "Detection time multiplier", num(1, 255)),
        ],
    );
    container(
        "high-availability",
        "Multinode high availability",
        vec![
            valued(
                "local-id",
                "Local node identifier",
                num(1, 10),
                vec![leaf("local-ip", "Local node address", Type::Ip)],
            ),
            list(
                "peer-id",
                "Peer node identifier",
                num(1, 10),
                vec![
                    leaf("peer-ip", "Peer node address", Type::Ip),
                    leaf("interface", "Interface to reach the peer", Type::IflName),
                    leaf(
                        "routing-instance",
                        "Routing instance of the peer link",
                        Type::Name,
                    ),
                    leaf(
                        "vpn-profile",
                        "IPsec VPN that protects the peer link",
                        Type::Name,
                    ),
                    liveness,
                ],
            ),
            list(
                "services-redundancy-group",
                "Services redundancy group",
                num(0, 255),
                vec![
                    leaf("peer-id", "Peer node of the group", num(1, 10)),
                    flag("preemption", "Allow preemption"),
                    leaf("activeness-priority", "Activeness priority", num(1, 255)),
                    container(
                        "activeness-probe",
                        "Probe that decides activeness",
                        vec![valued(
                            "dest-ip",
                            "Probe destination",
                            Type::Ip,
                            vec![leaf("src-ip", "Probe source address", Type::Ip)],
                        )],
                    ),
                    routed("active-signal-route", "Route installed while active"),
                    routed("backup-signal-route", "Route installed while backup"),
                    routed("install-on-failure-route", "Route installed on failure"),
                    leaf_list("prefix-list", "Prefix lists the group owns", Type::Name),
                    container(
                        "managed-services",
                        "Services the group manages",
                        vec![flag("ipsec", "IPsec")],
                    ),
                    container(
                        "monitor",
                        "Monitoring of the group",
                        vec![
                            list("bfd-liveliness", "BFD to a destination", Type::Ip, bfd()),
                            list(
                                "monitor-object",
                                "A monitored object",
                                Type::Name,
                                vec![
                                    container(
                                        "bfd-liveliness",
                                        "BFD to destinations",
                                        vec![
                                            leaf("threshold", "Weight", num(0, 1000)),
                                            list("destination-ip", "Destination", Type::Ip, bfd()),
                                        ],
                                    ),
                                    leaf("object-threshold", "Object weight", num(0, 1000)),
                                ],
                            ),
                            leaf("srg-threshold", "Group threshold", num(0, 1000)),
                        ],
                    ),
                ],
            ),
        ],
    )
}
