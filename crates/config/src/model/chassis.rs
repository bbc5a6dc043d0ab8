//! `chassis`: line cards, port speeds and channelisation, aggregated-device counts, chassis
//! cluster and high availability. A Savin box's ports are Linux netdevs, so these are kept and
//! shown with no effect (a saved MX or QFX configuration loads); the statements that ask for
//! what Savin cannot do yet (chassis cluster, services high availability) fail the commit.

use crate::schema::{container, flag, leaf, list, Node};
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
            container("high-availability", "Multinode high availability", vec![])
                .presence()
                .unsupported("multinode high availability"),
        ],
    )
    .no_effect()
}
