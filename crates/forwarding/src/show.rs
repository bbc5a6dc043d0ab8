//! The operational commands of the forwarding plane, in Junos's shapes: `show route`,
//! `show route forwarding-table`, `show arp`, `show interfaces [terse|extensive]`,
//! `show system statistics`, `clear arp`, `clear interfaces statistics`.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::time::SystemTime;

use savin_config::subsystem::{Message, OpCommand, Operational, State};
use savin_dataplane::bridge::PortMode;
use savin_dataplane::{Counters, DropReason, NextHop, PortCounters};
use serde_json::{json, Value};

use crate::control::{host_len, Control, PortState};
use crate::ops_table::{Answer, OPS};
use crate::{lock, Shared, Target};

/// A forwarding-table row: destination, type, next hop, next-hop type, index, interface.
type FtRow = (String, &'static str, String, &'static str, u32, String);

pub(crate) struct Ops {
    pub running: Shared,
}

/// `show arp [expiration-time]`: `arp-table-information`, resolved neighbours as (MAC,
/// address, interface, seconds until the entry is aged and probed again); the seconds are
/// shown when asked for (`TTE`, `time-to-expire`), as Junos shows them.
#[derive(Debug, Clone, Default)]
pub struct ArpTableInformation {
    rows: Vec<(String, Ipv4Addr, String, u64)>,
    expiration: bool,
}

impl State for ArpTableInformation {
    fn text(&self) -> String {
        // The TTE column only when asked for, and no trailing blanks without it.
        let flags = |f: &str, tte: Option<String>| match tte {
            Some(t) => format!("{f:<8} {t}"),
            None => f.to_string(),
        };
        let mut out = format!(
            "{:<17} {:<15} {:<25} {:<23} {}\n",
            "MAC Address",
            "Address",
            "Name",
            "Interface",
            flags("Flags", self.expiration.then(|| "TTE".to_string()))
        );
        for (m, ip, ifl, tte) in &self.rows {
            let ip = ip.to_string();
            let f = flags("none", self.expiration.then(|| tte.to_string()));
            let _ = writeln!(out, "{m:<17} {ip:<15} {ip:<25} {ifl:<23} {f}");
        }
        let _ = writeln!(out, "Total entries: {}", self.rows.len());
        out
    }

    fn json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|(m, ip, ifl, tte)| {
                let mut v = json!({"mac-address": m, "ip-address": ip.to_string(),
                    "hostname": ip.to_string(), "interface-name": ifl,
                    "arp-table-entry-flags": "none"});
                if self.expiration {
                    v["time-to-expire"] = json!(tte);
                }
                v
            })
            .collect();
        json!({"arp-table-information": {
            "arp-table-entry": rows, "arp-entry-count": self.rows.len()}})
    }
}

/// Which form of `show interfaces`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfView {
    Terse,
    Detail,
    Extensive,
    /// `media`: the detail form with the Ethernet MAC's counters (what PyEZ's EthPortTable
    /// asks for).
    Media,
    /// `descriptions`: the interfaces that have one.
    Descriptions,
    /// One interface asked for by name, configured but with no netdev.
    NotPresent,
}

/// A port as `show interfaces` shows it, copied from the control thread's state.
pub struct IfRow {
    name: String,
    link_up: bool,
    attached: bool,
    ifindex: Option<u32>,
    /// The Linux netdev the name is bound to (itself, or `eth1` for `ge-0/0/0`).
    netdev: Option<String>,
    mtu: u16,
    mac: [u8; 6],
    flapped: SystemTime,
    description: Option<String>,
    /// Unit 0's description.
    unit_description: Option<String>,
    /// Mb/s, as the driver reports it.
    speed_mbps: Option<u32>,
    /// An access or trunk port (`eth-switch` in the terse form).
    switched: bool,
    addrs: Vec<(Ipv4Addr, u8)>,
    addrs6: Vec<(std::net::Ipv6Addr, u8)>,
    counters: PortCounters,
    rates: [u64; 4],
}

/// `show interfaces [terse|extensive] [NAME]`: `interface-information`.
pub struct InterfaceInformation {
    view: IfView,
    ports: Vec<IfRow>,
    /// Configured interfaces with no netdev.
    absent: Vec<String>,
}

impl State for InterfaceInformation {
    fn json(&self) -> Value {
        if self.view == IfView::NotPresent {
            return json!({"interface-information": {"physical-interface": [
                {"name": self.absent[0], "admin-status": "up", "oper-status": "not-present",
                 "description": crate::names::why_absent(&self.absent[0])}]}});
        }
        let link = |p: &IfRow| if p.link_up { "up" } else { "down" };
        if self.view == IfView::Descriptions {
            let list: Vec<Value> = self
                .ports
                .iter()
                .filter(|p| p.description.is_some() || p.unit_description.is_some())
                .map(|p| {
                    let mut v = json!({"name": p.name, "admin-status": "up",
                        "oper-status": link(p), "description": p.description});
                    if let Some(d) = &p.unit_description {
                        v["logical-interface"] = json!([{"name": logical(&p.name),
                            "admin-status": "up", "oper-status": link(p), "description": d}]);
                    }
                    v
                })
                .collect();
            return json!({"interface-information": {"physical-interface": list}});
        }
        let list: Vec<Value> = self
            .ports
            .iter()
            .map(|p| {
                let c = &p.counters;
                let flapped_secs = SystemTime::now()
                    .duration_since(p.flapped)
                    .map_or(0, |d| d.as_secs());
                let mut v = json!({
                    "name": p.name, "admin-status": "up", "oper-status": link(p),
                    "description": p.description,
                    "snmp-index": p.ifindex, "mtu": u32::from(p.mtu) + 14,
                    "speed": speed(p.speed_mbps),
                    "link-mode": "Full-duplex",
                    "linux-netdev": p.netdev,
                    "if-device-flags": {"ifdf-present": p.attached.then(|| json!([null])),
                        "ifdf-running": (p.attached && p.link_up).then(|| json!([null]))},
                    "current-physical-address": mac(p.mac),
                    "hardware-physical-address": mac(p.mac),
                    // As Junos: the time and how long ago, with the seconds in an attribute
                    // (NAPALM's get_interfaces reads last_flapped from it).
                    "interface-flapped": {"data": format!("{} ({} ago)", when(p.flapped),
                        age(p.flapped)), "attributes": {"junos:seconds": flapped_secs}},
                    "traffic-statistics": {
                        "input-bytes": c.rx_bytes, "input-packets": c.rx_packets,
                        "output-bytes": c.tx_bytes, "output-packets": c.tx_packets,
                        "input-bps": p.rates[0], "input-pps": p.rates[1],
                        "output-bps": p.rates[2], "output-pps": p.rates[3],
                    },
                    "input-error-list": {"input-errors": c.errors, "input-giants": c.giants,
                        "input-resource-errors": c.ring_drops},
                    "logical-interface": [{
                        "name": format!("{}.0", p.name), "admin-status": "up",
                        "oper-status": link(p), "description": p.unit_description,
                        "address-family": [{
                            "address-family-name": "inet", "mtu": p.mtu,
                            "interface-address": p.addrs.iter()
                                .map(|(a, l)| json!({"ifa-local": format!("{a}/{l}")}))
                                .collect::<Vec<_>>(),
                        }, {
                            "address-family-name": "inet6", "mtu": p.mtu,
                            "interface-address": p.addrs6.iter()
                                .map(|(a, l)| json!({"ifa-local": format!("{a}/{l}")}))
                                .collect::<Vec<_>>(),
                        }],
                    }],
                });
                // The Ethernet MAC's own counters, in the forms that show them.
                if matches!(self.view, IfView::Extensive | IfView::Media) {
                    v["ethernet-mac-statistics"] = json!({
                        "input-bytes": c.rx_bytes, "input-packets": c.rx_packets,
                        "output-bytes": c.tx_bytes, "output-packets": c.tx_packets,
                        "input-fcs-errors": 0, "input-oversized-frames": c.giants});
                }
                v
            })
            .collect();
        let mut list = list;
        list.extend(self.absent.iter().map(|a| {
            json!({"name": a, "admin-status": "up", "oper-status": "not-present",
                    "description": crate::names::why_absent(a)})
        }));
        json!({"interface-information": {"physical-interface": list}})
    }

    fn text(&self) -> String {
        let link = |p: &IfRow| if p.link_up { "up" } else { "down" };
        let mut out = String::new();
        match self.view {
            IfView::NotPresent => {
                return format!(
                    "Physical interface: {}, Enabled, Not present\n  {}\n",
                    self.absent[0],
                    crate::names::why_absent(&self.absent[0])
                )
            }
            IfView::Terse => {
                let _ = writeln!(
                    out,
                    "{:<23} {:<5} {:<4} {:<8} {:<21} Remote",
                    "Interface", "Admin", "Link", "Proto", "Local"
                );
                for p in &self.ports {
                    // An IRB has one logical interface and no physical line.
                    if !p.name.contains('.') {
                        let _ = writeln!(out, "{:<23} up    {}", p.name, link(p));
                    }
                    let ifl = logical(&p.name);
                    let mut first = true;
                    if p.switched {
                        let _ = writeln!(out, "{ifl:<23} up    {:<4} eth-switch", link(p));
                        continue;
                    }
                    let fams = [
                        (
                            "inet",
                            p.addrs
                                .iter()
                                .map(|(a, l)| format!("{a}/{l}"))
                                .collect::<Vec<_>>(),
                        ),
                        (
                            "inet6",
                            p.addrs6.iter().map(|(a, l)| format!("{a}/{l}")).collect(),
                        ),
                    ];
                    for (fam, addrs) in fams {
                        for (k, a) in addrs.iter().enumerate() {
                            let (n, adm, lk) = if first {
                                (ifl.as_str(), "up", link(p))
                            } else {
                                ("", "", "")
                            };
                            let proto = if k == 0 { fam } else { "" };
                            let _ = writeln!(out, "{n:<23} {adm:<5} {lk:<4} {proto:<8} {a}");
                            first = false;
                        }
                    }
                    if first {
                        let _ = writeln!(out, "{ifl:<23} up    {:<4} inet", link(p));
                    }
                }
                for a in &self.absent {
                    let _ = writeln!(out, "{a:<23} up    down (not present)");
                }
                return out;
            }
            IfView::Descriptions => {
                let _ = writeln!(
                    out,
                    "{:<15} {:<5} {:<4} Description",
                    "Interface", "Admin", "Link"
                );
                for p in &self.ports {
                    if let Some(d) = &p.description {
                        let _ = writeln!(out, "{:<15} up    {:<4} {d}", p.name, link(p));
                    }
                    if let Some(d) = &p.unit_description {
                        let _ = writeln!(out, "{:<15} up    {:<4} {d}", logical(&p.name), link(p));
                    }
                }
                return out;
            }
            IfView::Detail | IfView::Extensive | IfView::Media => {}
        }
        for p in &self.ports {
            let c = &p.counters;
            let _ = writeln!(
                out,
                "Physical interface: {}, Enabled, Physical link is {}",
                p.name,
                if p.link_up { "Up" } else { "Down" }
            );
            let idx = p.ifindex.map_or("-".to_string(), |i| i.to_string());
            let _ = writeln!(out, "  Interface index: {idx}, SNMP ifIndex: {idx}");
            if let Some(d) = &p.description {
                let _ = writeln!(out, "  Description: {d}");
            }
            if let Some(dev) = &p.netdev {
                let _ = writeln!(out, "  Linux netdev   : {dev}");
            }
            let _ = writeln!(
                out,
                "  Link-level type: Ethernet, MTU: {}, Link-mode: Full-duplex, Speed: {}",
                u32::from(p.mtu) + 14,
                speed(p.speed_mbps)
            );
            let _ = writeln!(
                out,
                "  Current address: {}, Hardware address: {}",
                mac(p.mac),
                mac(p.mac)
            );
            let _ = writeln!(
                out,
                "  Last flapped   : {} ({} ago)",
                when(p.flapped),
                age(p.flapped)
            );
            if !p.attached {
                let _ = writeln!(out, "  Device flags   : Present: no (netdev missing)");
            }
            if self.view == IfView::Extensive {
                let _ = writeln!(out, "  Traffic statistics:");
                let _ = writeln!(
                    out,
                    "   Input  bytes  : {:>20} {:>12} bps",
                    c.rx_bytes, p.rates[0]
                );
                let _ = writeln!(
                    out,
                    "   Output bytes  : {:>20} {:>12} bps",
                    c.tx_bytes, p.rates[2]
                );
                let _ = writeln!(
                    out,
                    "   Input  packets: {:>20} {:>12} pps",
                    c.rx_packets, p.rates[1]
                );
                let _ = writeln!(
                    out,
                    "   Output packets: {:>20} {:>12} pps",
                    c.tx_packets, p.rates[3]
                );
                let _ = writeln!(
                    out,
                    "  Input errors:\n    Errors: {}, Giants: {}, Resource errors: {}",
                    c.errors, c.giants, c.ring_drops
                );
            } else {
                let _ = writeln!(
                    out,
                    "  Input rate     : {} bps ({} pps)",
                    p.rates[0], p.rates[1]
                );
                let _ = writeln!(
                    out,
                    "  Output rate    : {} bps ({} pps)",
                    p.rates[2], p.rates[3]
                );
            }
            if self.view == IfView::Media {
                let _ = writeln!(out, "  Ethernet MAC statistics:");
                let _ = writeln!(
                    out,
                    "    Input bytes: {}, Input packets: {}, Output bytes: {}, Output packets: {}",
                    c.rx_bytes, c.rx_packets, c.tx_bytes, c.tx_packets
                );
            }
            let _ = writeln!(out, "\n  Logical interface {}.0", p.name);
            if let Some(d) = &p.unit_description {
                let _ = writeln!(out, "    Description: {d}");
            }
            let _ = writeln!(out, "    Input packets : {}", c.rx_packets);
            let _ = writeln!(out, "    Output packets: {}", c.tx_packets);
            let _ = writeln!(out, "    Protocol inet, MTU: {}", p.mtu);
            for (a, l) in &p.addrs {
                let net = crate::mask(IpAddr::V4(*a), *l);
                let IpAddr::V4(net) = net else { continue };
                let bcast = Ipv4Addr::from(
                    u32::from(net) | (u32::MAX.checked_shr(u32::from(*l)).unwrap_or(0)),
                );
                let _ = writeln!(out, "      Addresses, Flags: Is-Preferred Is-Primary");
                let _ = writeln!(
                    out,
                    "        Destination: {net}/{l}, Local: {a}, Broadcast: {bcast}"
                );
            }
            if !p.addrs6.is_empty() {
                let _ = writeln!(out, "    Protocol inet6, MTU: {}", p.mtu);
                for (a, l) in &p.addrs6 {
                    let net = crate::mask(IpAddr::V6(*a), *l);
                    let _ = writeln!(out, "      Addresses, Flags: Is-Preferred");
                    let _ = writeln!(out, "        Destination: {net}/{l}, Local: {a}");
                }
            }
            out.push('\n');
        }
        for a in &self.absent {
            let _ = writeln!(
                out,
                "Physical interface: {a}, Enabled, Not present\n  {}\n",
                crate::names::why_absent(a)
            );
        }
        out
    }
}

/// A learned MAC address as `show ethernet-switching table` shows it.
pub struct MacRow {
    vlan: String,
    vid: u16,
    mac: String,
    age_s: u64,
    interface: String,
}

/// `show ethernet-switching table`: `l2ng-l2ald-rtb-macdb`, as an EX/SRX with ELS answers.
pub struct MacTable(Vec<MacRow>);

impl State for MacTable {
    fn text(&self) -> String {
        let mut out =
            String::from("MAC flags (S - static MAC, D - dynamic MAC, L - locally learned)\n\n");
        let _ = writeln!(
            out,
            "Ethernet switching table : {} entries, {} learned",
            self.0.len(),
            self.0.len()
        );
        out.push_str("Routing instance : default-switch\n");
        out.push_str("   Vlan                MAC                 MAC       Age  Logical\n");
        out.push_str("   name                address             flags          interface\n");
        for r in &self.0 {
            let _ = writeln!(
                out,
                "   {:<19} {:<19} {:<7} {:>5}  {}",
                r.vlan, r.mac, "D", r.age_s, r.interface
            );
        }
        out
    }

    fn json(&self) -> Value {
        let entries: Vec<Value> = self
            .0
            .iter()
            .map(|r| {
                json!({"l2ng-l2-mac-vlan-name": r.vlan, "l2ng-l2-vlan-id": r.vid,
                    "l2ng-l2-mac-address": r.mac, "l2ng-l2-mac-flags": "D",
                    "l2ng-l2-mac-age": r.age_s,
                    "l2ng-l2-mac-logical-interface": r.interface})
            })
            .collect();
        json!({"l2ng-l2ald-rtb-macdb": {"l2ng-l2ald-mac-entry-vlan": [{
            "mac-count-global": self.0.len(), "learnt-mac-count": self.0.len(),
            "l2ng-l2-mac-routing-instance": "default-switch",
            "l2ng-mac-entry": entries}]}})
    }
}

/// `show route forwarding-table`: `forwarding-table-information`, per family its rows.
pub struct ForwardingTable(Vec<(&'static str, &'static str, Vec<FtRow>)>);

impl State for ForwardingTable {
    fn json(&self) -> Value {
        let tables: Vec<Value> = self
            .0
            .iter()
            .map(|(table, family, rows)| {
                let entries: Vec<Value> = rows
                    .iter()
                    .map(|(d, t, nh, nht, idx, netif)| {
                        json!({"rt-destination": d, "destination-type": t, "nh": {
                                "to": nh, "nh-type": nht, "nh-index": idx,
                                "nh-interface-name": netif}})
                    })
                    .collect();
                json!({"table-name": table, "address-family": family, "rt-entry": entries})
            })
            .collect();
        json!({"forwarding-table-information": {"route-table": tables}})
    }

    fn text(&self) -> String {
        let mut out = String::new();
        for (table, family, rows) in &self.0 {
            let _ = writeln!(out, "Routing table: {table}\n{family}:");
            let _ = writeln!(
                out,
                "{:<18} {:<4} {:<18} {:<4} {:>6} Netif",
                "Destination", "Type", "Next hop", "Type", "Index"
            );
            for (d, t, nh, nht, idx, netif) in rows {
                let _ = writeln!(out, "{d:<18} {t:<4} {nh:<18} {nht:<4} {idx:>6} {netif}");
            }
            out.push('\n');
        }
        out
    }
}

/// A VLAN as `show vlans` shows it: members as (interface, link up, tagged).
pub struct VlanRow {
    name: String,
    vid: u16,
    members: Vec<(String, bool, bool)>,
    l3: Option<String>,
}

/// `show vlans`: `l2ng-l2ald-vlan-instance-information`.
pub struct VlanInformation(Vec<VlanRow>);

impl State for VlanInformation {
    fn json(&self) -> Value {
        let list: Vec<Value> = self
            .0
            .iter()
            .map(|v| {
                json!({"l2ng-l2rtb-vlan-name": v.name, "l2ng-l2rtb-vlan-tag": v.vid,
                    "l2ng-l2rtb-instance-name": "default-switch",
                    "l2ng-l2rtb-vlan-member": v.members.iter().map(|(ifl, up, tagged)| json!({
                        "l2ng-l2rtb-vlan-member-interface": format!("{ifl}{}", if *up { "*" } else { "" }),
                        "l2ng-l2rtb-vlan-member-tagness": if *tagged { "tagged" } else { "untagged" },
                    })).collect::<Vec<_>>(),
                    "l2ng-l2rtb-vlan-l3-interface": v.l3,
                })
            })
            .collect();
        json!({"l2ng-l2ald-vlan-instance-information": {
            "l2ng-l2ald-vlan-instance-group": list}})
    }

    fn text(&self) -> String {
        let mut out = format!(
            "{:<23} {:<21} {:<12} {}\n",
            "Routing instance", "VLAN name", "Tag", "Interfaces"
        );
        for v in &self.0 {
            let _ = writeln!(out, "{:<23} {:<21} {:<12}", "default-switch", v.name, v.vid);
            for (ifl, up, _) in &v.members {
                let star = if *up { "*" } else { "" };
                let _ = writeln!(out, "{:<58}{ifl}{star}", "");
            }
        }
        out
    }
}

/// `show system statistics`: the data plane's counters, ICMP, bridge, ARP, the feature arcs
/// and the next-hop table (`statistics`).
pub struct SystemStatistics {
    c: Counters,
    arp: savin_dataplane::neighbor::NeighborStats,
    fdb: savin_dataplane::bridge::FdbStats,
    stages: savin_dataplane::StageCounters,
    icmp_sent: u64,
    /// Frames handed to the kernel (host interfaces).
    to_host: u64,
    next_hops: usize,
    nh_table_full: u64,
    rib_lag: crate::lag::LagHistogram,
    /// Protocol routes in the RIB whose FIB write waits for batches queued behind them.
    rib_waiting_fib: u64,
}

impl SystemStatistics {
    fn arcs(&self) -> [(&'static str, savin_dataplane::pipeline::arc::ArcCounters); 4] {
        [
            ("ip4-unicast", self.stages.ip4_unicast),
            ("ip4-output", self.stages.ip4_output),
            ("ip6-unicast", self.stages.ip6_unicast),
            ("ip6-output", self.stages.ip6_output),
        ]
    }
}

impl State for SystemStatistics {
    fn json(&self) -> Value {
        let (c, a, f, st, arcs) = (&self.c, &self.arp, &self.fdb, &self.stages, self.arcs());
        let drops: serde_json::Map<String, Value> = DropReason::ALL
            .iter()
            .map(|r| (r.name().to_string(), json!(c.dropped(*r))))
            .collect();
        json!({"statistics": {
            "ip": {"packets-received": c.rx, "packets-forwarded": c.forwarded,
                "packets-sent": c.tx, "packets-punted": c.punted,
                "packets-to-host": self.to_host, "packets-from-host": c.from_host,
                "packets-originated": c.originated,
                "packets-originated-not-sent": c.originated_dropped,
                "drops": drops},
            "icmp": {"errors-sent": self.icmp_sent, "errors-rate-limited": c.errors_suppressed},
            "bridge": {"bridged": c.bridged, "flooded": c.flooded,
                "mac-learnt": f.learnt, "mac-moves": f.moves, "mac-limit-hits": f.limit_hits,
                "mac-aged": f.aged},
            "arp": {"requests-sent": a.requests_sent, "replies-sent": a.replies_sent,
                "malformed": a.malformed, "queue-drops": a.queue_drops,
                "table-full": a.table_full},
            "feature-arcs": {st.feature: arcs.iter()
                .map(|(n, a)| (n.to_string(), json!({"packets": a.packets, "dropped": a.dropped})))
                .collect::<serde_json::Map<String, Value>>()},
            "route": {"next-hops": self.next_hops,
                "next-hops-max": savin_fib::MAX_NEXT_HOP,
                "not-installed-next-hop-table-full": self.nh_table_full,
                "protocol-routes": self.rib_lag.routes,
                "protocol-route-batches": self.rib_lag.batches,
                "protocol-routes-waiting-fib": self.rib_waiting_fib,
                "rib-to-fib-lag-p50-us": self.rib_lag.quantile_us(0.5),
                "rib-to-fib-lag-p99-us": self.rib_lag.quantile_us(0.99),
                "rib-to-fib-lag-max-us": self.rib_lag.max_us,
                "rib-to-fib-lag-histogram": self.rib_lag.buckets().iter()
                    .map(|(us, n)| json!({"below-us": us, "routes": n}))
                    .collect::<Vec<Value>>()},
        }})
    }

    fn text(&self) -> String {
        let (c, a, f, st, arcs) = (&self.c, &self.arp, &self.fdb, &self.stages, self.arcs());
        let mut out = String::from("ip:\n");
        let _ = writeln!(out, "{:>16} total packets received", c.rx);
        let _ = writeln!(out, "{:>16} packets forwarded", c.forwarded);
        let _ = writeln!(out, "{:>16} packets sent", c.tx);
        let _ = writeln!(
            out,
            "{:>16} packets for this host or its control plane",
            c.punted
        );
        let _ = writeln!(
            out,
            "{:>16} packets to the kernel (host interfaces)",
            self.to_host
        );
        let _ = writeln!(
            out,
            "{:>16} packets from the kernel (host interfaces)",
            c.from_host
        );
        let _ = writeln!(
            out,
            "{:>16} packets the box originated (ICMP, echo replies, resets)",
            c.originated
        );
        let _ = writeln!(
            out,
            "{:>16} packets the box originated, not sent: no usable route",
            c.originated_dropped
        );
        for r in DropReason::ALL {
            let _ = writeln!(out, "{:>16} packets dropped: {}", c.dropped(r), r.name());
        }
        out.push_str("bridge:\n");
        let _ = writeln!(out, "{:>16} frames switched", c.bridged);
        let _ = writeln!(out, "{:>16} frames flooded", c.flooded);
        let _ = writeln!(out, "{:>16} MAC addresses learnt", f.learnt);
        let _ = writeln!(out, "{:>16} MAC moves", f.moves);
        let _ = writeln!(
            out,
            "{:>16} MAC addresses not learnt: VLAN table full",
            f.limit_hits
        );
        out.push_str("icmp:\n");
        let _ = writeln!(out, "{:>16} errors sent", self.icmp_sent);
        let _ = writeln!(
            out,
            "{:>16} errors not sent: rate limit",
            c.errors_suppressed
        );
        out.push_str("arp:\n");
        let _ = writeln!(out, "{:>16} requests sent", a.requests_sent);
        let _ = writeln!(out, "{:>16} replies sent", a.replies_sent);
        let _ = writeln!(out, "{:>16} malformed packets", a.malformed);
        let _ = writeln!(
            out,
            "{:>16} packets dropped waiting for resolution",
            a.queue_drops
        );
        for (name, a) in arcs {
            let _ = writeln!(out, "{} ({name}):", st.feature);
            let _ = writeln!(out, "{:>16} packets", a.packets);
            let _ = writeln!(out, "{:>16} packets dropped", a.dropped);
        }
        out.push_str("route:\n");
        let _ = writeln!(
            out,
            "{:>16} next hops in use (of {})",
            self.next_hops,
            savin_fib::MAX_NEXT_HOP
        );
        let _ = writeln!(
            out,
            "{:>16} routes not installed: next-hop table full",
            self.nh_table_full
        );
        let _ = writeln!(
            out,
            "{:>16} protocol routes to the FIB in {} batches",
            self.rib_lag.routes, self.rib_lag.batches
        );
        if let (Some(p50), Some(p99)) = (
            self.rib_lag.quantile_us(0.5),
            self.rib_lag.quantile_us(0.99),
        ) {
            let _ = writeln!(
                out,
                "{:>16} us RIB-to-FIB lag, median (p99 {p99} us, max {} us)",
                p50, self.rib_lag.max_us
            );
        }
        out
    }
}

/// `monitor interface NAME|traffic`: one screen of counters and rates; its JSON is
/// `interface-information`, as the counters come from the same rows.
pub struct MonitorInterface {
    traffic: bool,
    info: InterfaceInformation,
    time: String,
}

impl State for MonitorInterface {
    fn json(&self) -> Value {
        self.info.json()
    }

    fn text(&self) -> String {
        let now = &self.time;
        let updown = |p: &IfRow| if p.link_up { "Up" } else { "Down" };
        if self.traffic {
            let mut out = format!("Interface    Link  Input packets        (pps)     Output packets        (pps)   Time: {now}\n");
            for p in &self.info.ports {
                let c = &p.counters;
                let _ = writeln!(
                    out,
                    " {:<11} {:<5} {:>13} {:>12} {:>18} {:>12}",
                    p.name,
                    updown(p),
                    c.rx_packets,
                    format!("({})", p.rates[1]),
                    c.tx_packets,
                    format!("({})", p.rates[3]),
                );
            }
            return out;
        }
        let Some(p) = self.info.ports.first() else {
            return String::new();
        };
        let c = &p.counters;
        let mut out = format!(
            "Interface: {}, Enabled, Link is {}    Time: {now}\n",
            p.name,
            updown(p)
        );
        out.push_str("Encapsulation: Ethernet, Speed: Unspecified\nTraffic statistics:\n");
        let _ = writeln!(
            out,
            "  Input bytes:    {:>20} ({} bps)",
            c.rx_bytes, p.rates[0]
        );
        let _ = writeln!(
            out,
            "  Output bytes:   {:>20} ({} bps)",
            c.tx_bytes, p.rates[2]
        );
        let _ = writeln!(
            out,
            "  Input packets:  {:>20} ({} pps)",
            c.rx_packets, p.rates[1]
        );
        let _ = writeln!(
            out,
            "  Output packets: {:>20} ({} pps)",
            c.tx_packets, p.rates[3]
        );
        out.push_str("Error statistics:\n");
        let _ = writeln!(out, "  Input errors:          {:>13}", c.errors);
        let _ = writeln!(out, "  Input giants:          {:>13}", c.giants);
        let _ = writeln!(out, "  Input resource errors: {:>13}", c.ring_drops);
        out
    }
}

/// One IPv6 neighbour: address, link-layer address (None: incomplete), seconds since it was
/// confirmed, interface.
#[derive(Debug, Clone)]
pub struct NdRow {
    ip: std::net::Ipv6Addr,
    mac: Option<String>,
    expires_s: u64,
    interface: String,
}

/// `show ipv6 neighbors`: `ipv6-nd-information`.
#[derive(Debug, Clone, Default)]
pub struct Ipv6NdInformation(Vec<NdRow>);

impl NdRow {
    fn state(&self) -> &'static str {
        if self.mac.is_some() {
            "reachable"
        } else {
            "incomplete"
        }
    }
}

impl State for Ipv6NdInformation {
    fn text(&self) -> String {
        let mut out = format!(
            "{:<28} {:<18} {:<11} {:<5} {}\n",
            "IPv6 Address", "Linklayer Address", "State", "Exp", "Interface"
        );
        for e in &self.0 {
            let m = e.mac.as_deref().unwrap_or("none");
            let _ = writeln!(
                out,
                "{:<28} {m:<18} {:<11} {:<5} {}",
                e.ip.to_string(),
                e.state(),
                e.expires_s,
                e.interface
            );
        }
        let _ = writeln!(out, "Total entries: {}", self.0.len());
        out
    }

    fn json(&self) -> Value {
        let rows: Vec<Value> = self
            .0
            .iter()
            .map(|e| {
                json!({"ipv6-nd-neighbor-address": e.ip.to_string(),
                    "ipv6-nd-neighbor-l2-address": e.mac.as_deref().unwrap_or("none"),
                    "ipv6-nd-state": e.state(),
                    "ipv6-nd-interface-name": e.interface})
            })
            .collect();
        json!({"ipv6-nd-information": {"ipv6-nd-entry": rows}})
    }
}

fn mac(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Junos's route age: `00:01:02`, `1d 02:03:04`, `2w1d 03:04:05`.
pub(crate) fn age(since: SystemTime) -> String {
    let s = SystemTime::now()
        .duration_since(since)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (w, d, h, m, sec) = (
        s / 604_800,
        (s / 86_400) % 7,
        (s / 3600) % 24,
        (s / 60) % 60,
        s % 60,
    );
    match (w, d) {
        (0, 0) => format!("{h:02}:{m:02}:{sec:02}"),
        (0, d) => format!("{d}d {h:02}:{m:02}:{sec:02}"),
        (w, d) => format!("{w}w{d}d {h:02}:{m:02}:{sec:02}"),
    }
}

/// The logical interface of a port: `eth1.0`, and an IRB's own name (`irb.100`).
pub(crate) fn logical(name: &str) -> String {
    if name.contains('.') {
        name.to_string()
    } else {
        format!("{name}.0")
    }
}

/// Whether `show interfaces NAME` names this interface: itself, its unit 0, or a shell
/// pattern (`ge-*`, `[afgxe][et]-*`, as PyEZ's EthPortTable asks) that matches it.
fn names_match(asked: &str, name: &str) -> bool {
    if is_pattern(asked) {
        glob(asked.as_bytes(), name.as_bytes())
    } else {
        asked == name || asked == format!("{name}.0")
    }
}

fn is_pattern(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Shell pattern matching: `*`, `?` and `[set]` (ranges, `!` or `^` to negate). Iterative
/// with one backtrack point, so no pattern takes more than length x length steps.
fn glob(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        let step = match pat.get(p) {
            Some(b'*') => {
                star = Some((p, i));
                p += 1;
                continue;
            }
            Some(b'?') => Some(p + 1),
            Some(b'[') => class(&pat[p..], s[i])
                .map(|(ok, len)| ok.then_some(p + len))
                .unwrap_or(
                    // An unclosed `[` is a plain character.
                    (s[i] == b'[').then_some(p + 1),
                ),
            Some(&c) => (c == s[i]).then_some(p + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => {
                p = next;
                i += 1;
            }
            (None, Some((sp, si))) => {
                p = sp + 1;
                i = si + 1;
                star = Some((sp, si + 1));
            }
            (None, None) => return false,
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// A `[...]` class at the start of `pat`: whether `c` is in it, and the class's length.
/// None if it does not close.
fn class(pat: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut k = 1;
    let negate = matches!(pat.get(k), Some(b'!' | b'^'));
    if negate {
        k += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let a = *pat.get(k)?;
        if a == b']' && !first {
            return Some((hit != negate, k + 1));
        }
        first = false;
        if pat.get(k + 1) == Some(&b'-') && pat.get(k + 2).is_some_and(|&b| b != b']') {
            let b = pat[k + 2];
            hit |= (a..=b).contains(&c);
            k += 3;
        } else {
            hit |= a == c;
            k += 1;
        }
    }
}

/// A link speed as Junos writes it: `1000mbps`, `10Gbps`; `Unspecified` when the driver
/// does not say.
fn speed(mbps: Option<u32>) -> String {
    match mbps {
        Some(m) if m >= 10_000 && m % 1000 == 0 => format!("{}Gbps", m / 1000),
        Some(m) => format!("{m}mbps"),
        None => "Unspecified".into(),
    }
}

fn when(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

impl Control {
    pub(crate) fn ifl(&self, port: u16) -> String {
        self.ports
            .get(usize::from(port))
            .and_then(Option::as_ref)
            .map_or_else(|| format!("port{port}"), |p| logical(&p.name))
    }

    fn port_counters(&self, slot: usize) -> PortCounters {
        let c = self
            .stats
            .lock()
            .ok()
            .and_then(|s| s.ports.get(slot).copied())
            .unwrap_or_default();
        let b = self.ports[slot]
            .as_ref()
            .map(|p| p.baseline)
            .unwrap_or_default();
        PortCounters {
            rx_packets: c.rx_packets.saturating_sub(b.rx_packets),
            rx_bytes: c.rx_bytes.saturating_sub(b.rx_bytes),
            tx_packets: c.tx_packets.saturating_sub(b.tx_packets),
            tx_bytes: c.tx_bytes.saturating_sub(b.tx_bytes),
            errors: c.errors.saturating_sub(b.errors),
            giants: c.giants.saturating_sub(b.giants),
            ring_drops: c.ring_drops.saturating_sub(b.ring_drops),
        }
    }

    pub fn show_forwarding_table(&self) -> ForwardingTable {
        let mut families: Vec<(&'static str, &'static str, Vec<FtRow>)> = Vec::new();
        for (table, family, v4) in [
            ("default.inet", "Internet", true),
            ("default.inet6", "Internet6", false),
        ] {
            let mut rows: Vec<FtRow> = Vec::new();
            // The routes (not the neighbours' host routes) as the FIB holds them.
            let installed: Vec<((IpAddr, u8), u32)> = if v4 {
                self.fib
                    .entries()
                    .into_iter()
                    .map(|(a, l, nh)| ((IpAddr::V4(a.into()), l), nh))
                    .collect()
            } else {
                self.fib6
                    .entries()
                    .into_iter()
                    .map(|(a, l, nh)| ((IpAddr::V6(a.into()), l), nh))
                    .collect()
            };
            for (k, idx) in installed {
                let Some(Some(crate::control::Role::Route(target))) = self.roles.get(idx as usize)
                else {
                    continue;
                };
                let r = (target, idx);
                let dst = if k.1 == 0 {
                    "default".to_string()
                } else {
                    format!("{}/{}", k.0, k.1)
                };
                let (ty, nh, nht, netif) = match *r.0 {
                    Target::Connected(p) => ("intf", String::new(), "rslv", self.ifl(p)),
                    Target::Local(p) => ("intf", k.0.to_string(), "locl", self.ifl(p)),
                    Target::Via(p, gw) => {
                        let t = match self.adj.get(r.1 as usize) {
                            Some(NextHop::Forward(_)) => "ucst",
                            _ => "rslv",
                        };
                        ("user", gw.to_string(), t, self.ifl(p))
                    }
                    Target::Discard => ("user", String::new(), "dscd", String::new()),
                    Target::Reject => ("user", String::new(), "rjct", String::new()),
                    Target::Unresolved(gw) => ("user", gw.to_string(), "unrs", String::new()),
                    Target::Ecmp(g) => {
                        let n = self.groups.get(g as usize).map_or(0, Vec::len);
                        ("user", format!("{n} next hops"), "ulst", String::new())
                    }
                };
                rows.push((dst, ty, nh, nht, r.1, netif));
            }
            let mut hosts: Vec<(&(u16, IpAddr), &u32)> = self
                .hosts
                .iter()
                .filter(|((_, ip), _)| ip.is_ipv4() == v4)
                .collect();
            hosts.sort();
            for ((p, ip), idx) in hosts {
                if self.installed(*ip, host_len(*ip)).is_some() {
                    continue;
                }
                let m = match self.adj.get(*idx as usize) {
                    Some(NextHop::Forward(a)) => mac(a.dst_mac),
                    _ => String::new(),
                };
                rows.push((
                    format!("{ip}/{}", host_len(*ip)),
                    "dest",
                    m,
                    "ucst",
                    *idx,
                    self.ifl(*p),
                ));
            }
            if !rows.is_empty() {
                families.push((table, family, rows));
            }
        }
        ForwardingTable(families)
    }

    pub fn show_arp(&self, expiration: bool) -> ArpTableInformation {
        let aging = self.arp.aging_ms();
        let rows = self
            .arp
            .entries(self.now())
            .into_iter()
            .filter_map(|e| {
                let tte = aging.saturating_sub(e.age_ms) / 1000;
                e.mac.map(|m| (mac(m), e.ip, self.ifl(e.port), tte))
            })
            .collect();
        ArpTableInformation { rows, expiration }
    }

    pub fn show_nd(&self) -> Ipv6NdInformation {
        let entries = self
            .nd
            .entries(self.now())
            .into_iter()
            .map(|e| NdRow {
                ip: e.ip,
                mac: e.mac.map(mac),
                expires_s: e.age_ms / 1000,
                interface: self.ifl(e.port),
            })
            .collect();
        Ipv6NdInformation(entries)
    }

    pub fn show_fdb(&self, args: &[String]) -> Result<MacTable, String> {
        let mut vlan_filter: Option<u16> = None;
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "vlan" | "vlan-name" => {
                    let v = it.next().ok_or("syntax error: VLAN name expected")?;
                    let vid = self
                        .vlans
                        .iter()
                        .find(|x| &x.name == v || x.vid.to_string() == *v)
                        .map(|x| x.vid)
                        .ok_or_else(|| format!("error: VLAN {v} does not exist"))?;
                    vlan_filter = Some(vid);
                }
                other => return Err(format!("syntax error: unexpected '{other}'")),
            }
        }
        let rows = self.stats.lock().map(|s| s.fdb.clone()).unwrap_or_default();
        let rows: Vec<_> = rows
            .into_iter()
            .filter(|r| vlan_filter.is_none_or(|v| v == r.vlan))
            .collect();
        let vname = |vid: u16| {
            self.vlans
                .iter()
                .find(|v| v.vid == vid)
                .map_or_else(|| vid.to_string(), |v| v.name.clone())
        };
        Ok(MacTable(
            rows.iter()
                .map(|r| MacRow {
                    vlan: vname(r.vlan),
                    vid: r.vlan,
                    mac: mac(r.mac),
                    age_s: r.age_ms / 1000,
                    interface: self.ifl(r.port),
                })
                .collect(),
        ))
    }

    pub fn show_vlans(&self, args: &[String]) -> Result<VlanInformation, String> {
        let name = args.first();
        let vlans: Vec<&crate::VlanPlan> = self
            .vlans
            .iter()
            .filter(|v| name.is_none_or(|n| *n == v.name || *n == v.vid.to_string()))
            .collect();
        if let (Some(n), true) = (name, vlans.is_empty()) {
            return Err(format!("error: VLAN {n} does not exist"));
        }
        let up = |slot: u16| {
            self.ports
                .get(usize::from(slot))
                .and_then(Option::as_ref)
                .is_some_and(|p| p.link_up)
        };
        Ok(VlanInformation(
            vlans
                .into_iter()
                .map(|v| VlanRow {
                    name: v.name.clone(),
                    vid: v.vid,
                    members: v
                        .members
                        .iter()
                        .map(|(p, tagged)| (self.ifl(*p), up(*p), *tagged))
                        .collect(),
                    l3: v.irb.map(|p| self.ifl(p)),
                })
                .collect(),
        ))
    }

    fn selected_ports(&self, name: Option<&str>) -> Result<Vec<(usize, &PortState)>, String> {
        let all: Vec<(usize, &PortState)> = self
            .ports
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (i, p)))
            .filter(|(_, p)| !matches!(p.mode, PortMode::Host { .. }))
            .filter(|(_, p)| name.is_none_or(|n| names_match(n, &p.name)))
            .collect();
        // A pattern that matches nothing shows nothing, as on Junos; a name is an error.
        if let (Some(n), true) = (name.filter(|n| !is_pattern(n)), all.is_empty()) {
            return Err(format!("error: device {n} not found"));
        }
        let mut all = all;
        all.sort_by(|a, b| savin_config::value::natural_cmp(&a.1.name, &b.1.name));
        Ok(all)
    }

    pub fn show_interfaces(&self, args: &[String]) -> Result<InterfaceInformation, String> {
        let mut name = None;
        let mut view = IfView::Detail;
        for a in args {
            match a.as_str() {
                // As before (and as Junos reads `terse extensive`): terse wins.
                "terse" => view = IfView::Terse,
                "extensive" if view != IfView::Terse => view = IfView::Extensive,
                "extensive" => {}
                "media" if view != IfView::Terse => view = IfView::Media,
                "descriptions" => view = IfView::Descriptions,
                "detail" | "brief" | "media" => {}
                n if name.is_none() => name = Some(n),
                n => return Err(format!("syntax error: unexpected '{n}'")),
            }
        }
        // Configured, no netdev: Junos keeps such an interface's configuration and shows it
        // as not present.
        let absent: Vec<String> = self
            .absent
            .iter()
            .filter(|a| name.is_none_or(|n| names_match(n, a)))
            .cloned()
            .collect();
        if name.is_some_and(|n| !is_pattern(n)) && !absent.is_empty() {
            return Ok(InterfaceInformation {
                view: IfView::NotPresent,
                ports: Vec::new(),
                absent: absent[..1].to_vec(),
            });
        }
        let ports = self
            .selected_ports(name)?
            .into_iter()
            .map(|(slot, p)| IfRow {
                name: p.name.clone(),
                link_up: p.link_up,
                attached: p.attached,
                ifindex: p.ifindex,
                netdev: self.system.netdev_name(&p.name),
                mtu: p.mtu,
                mac: p.mac,
                flapped: p.flapped,
                description: self.descriptions.get(&p.name).cloned(),
                unit_description: (!p.name.contains('.'))
                    .then(|| self.descriptions.get(&logical(&p.name)).cloned())
                    .flatten(),
                speed_mbps: self.system.netdev(&p.name).and_then(|d| d.speed_mbps),
                switched: matches!(p.mode, PortMode::Access { .. } | PortMode::Trunk { .. }),
                addrs: p.addrs.clone(),
                addrs6: p.addrs6.clone(),
                counters: self.port_counters(slot),
                rates: p.rates,
            })
            .collect();
        Ok(InterfaceInformation {
            view,
            ports,
            absent,
        })
    }

    /// `monitor interface NAME` (one screen of counters and rates, as Junos refreshes it) and
    /// `monitor interface traffic` (every port's packets and rates).
    pub fn monitor_interface(&self, args: &[String]) -> Result<MonitorInterface, String> {
        let time = chrono::Utc::now().format("%H:%M:%S").to_string();
        match args.first().map(String::as_str) {
            None => Err("syntax error: expecting an interface name or 'traffic'".into()),
            Some("traffic") => Ok(MonitorInterface {
                traffic: true,
                info: self.show_interfaces(&[])?,
                time,
            }),
            Some(name) => {
                // A name only (not present, or one that is not a port, is an error here).
                self.selected_ports(Some(name))?;
                Ok(MonitorInterface {
                    traffic: false,
                    info: self.show_interfaces(&[name.to_string()])?,
                    time,
                })
            }
        }
    }

    pub fn show_statistics(&self) -> SystemStatistics {
        let c: Counters = self
            .stats
            .lock()
            .map(|s| s.counters.clone())
            .unwrap_or_default();
        let a = self.arp.stats.clone();
        let f = self.stats.lock().map(|s| s.fdb_stats).unwrap_or_default();
        let st = self
            .stats
            .lock()
            .map(|s| s.stages.clone())
            .unwrap_or_default();
        SystemStatistics {
            to_host: self.host_in + c.to_host,
            c,
            arp: a,
            fdb: f,
            stages: st,
            icmp_sent: self.icmp_sent,
            next_hops: self.next_hops_in_use(),
            nh_table_full: self.nh_table_full,
            rib_lag: self.rib_lag.clone(),
            rib_waiting_fib: self.rib_pending.iter().map(|(_, n)| n).sum::<u64>()
                + self.rib.read().pending() as u64,
        }
    }

    /// Next-hop indices that stand for something (index 0 is the FIB's miss).
    fn next_hops_in_use(&self) -> usize {
        self.roles.iter().flatten().count()
    }

    pub fn clear_statistics(&mut self, name: Option<&str>) -> Result<(), String> {
        let slots: Vec<usize> = self.selected_ports(name)?.iter().map(|(s, _)| *s).collect();
        let stats = self
            .stats
            .lock()
            .map(|s| s.ports.clone())
            .unwrap_or_default();
        for s in slots {
            if let Some(p) = self.ports[s].as_mut() {
                p.baseline = stats.get(s).copied().unwrap_or_default();
            }
        }
        Ok(())
    }
}

impl Operational for Ops {
    fn commands(&self) -> &'static [OpCommand] {
        static COMMANDS: std::sync::LazyLock<Vec<OpCommand>> =
            std::sync::LazyLock::new(|| OPS.iter().map(|d| (d.words, d.help)).collect());
        &COMMANDS
    }

    fn run(&self, command: &[&str], args: &[String]) -> Result<Box<dyn State>, String> {
        let running = lock(&self.running);
        let no_args = || match args.first() {
            Some(a) => Err(format!("syntax error: unexpected '{a}'")),
            None => Ok(()),
        };
        let Some(engine) = running.engine.as_ref() else {
            // No interfaces committed yet: empty tables.
            let boxed = |s: Box<dyn State>| Ok(s);
            return match command {
                ["show", "route"] => {
                    crate::route_show::show_route(&crate::route_show::RibShared::default(), args)
                }
                ["show", "arp"] => {
                    no_args().and_then(|_| boxed(Box::<ArpTableInformation>::default()))
                }
                ["clear", "arp"] | ["clear", "ipv6", "neighbors"] => {
                    no_args().and_then(|_| boxed(Box::<Message>::default()))
                }
                ["show", "ipv6", "neighbors"] => boxed(Box::<Ipv6NdInformation>::default()),
                ["show", "interfaces"] | ["clear", "interfaces", "statistics"] => {
                    match args.first() {
                        Some(n) if n != "terse" && n != "extensive" && n != "all" => {
                            Err(format!("error: device {n} not found"))
                        }
                        _ if command[0] == "clear" => boxed(Box::<Message>::default()),
                        _ => boxed(Box::new(InterfaceInformation {
                            view: IfView::Detail,
                            ports: Vec::new(),
                            absent: Vec::new(),
                        })),
                    }
                }
                _ => Err(
                    "error: the forwarding engine is not running (no interfaces committed)".into(),
                ),
            };
        };
        // The RIB's commands read it on this thread; the rest run on the control thread.
        // Neither holds the subsystem's lock meanwhile (a commit may go on).
        let def = OPS.iter().find(|d| d.words == command);
        let out = match def.map(|d| &d.answer) {
            Some(Answer::Rib(f)) => {
                let rib = engine.rib();
                drop(running);
                return f(&rib, args);
            }
            Some(Answer::Control(f)) => {
                let (f, caller, args) = (*f, engine.caller(), args.to_vec());
                drop(running);
                caller.call(move |c| f(c, &args))
            }
            Some(Answer::Prefix) | None => {
                return Err(format!(
                    "syntax error: incomplete command '{}'",
                    command.join(" ")
                ))
            }
        };
        out.unwrap_or_else(|| Err("error: the forwarding engine did not answer".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_match_by_name_unit_or_shell_pattern() {
        assert!(names_match("ge-0/0/0", "ge-0/0/0"));
        assert!(names_match("ge-0/0/0.0", "ge-0/0/0"));
        assert!(!names_match("ge-0/0/1", "ge-0/0/0"));
        // PyEZ's EthPortTable.
        for n in ["ge-0/0/0", "xe-1/0/3", "fe-0/0/1", "et-0/0/0"] {
            assert!(names_match("[afgxe][et]-*", n), "{n}");
        }
        for n in ["lo0", "irb.10", "ge", "gx-0/0/0", "st0"] {
            assert!(!names_match("[afgxe][et]-*", n), "{n}");
        }
        assert!(names_match("ge-0/0/?", "ge-0/0/7"));
        assert!(names_match("*", "lo0"));
        assert!(names_match("ge-*/0/1*", "ge-0/0/10"));
        assert!(names_match("[!x]e-*", "ge-0/0/0") && !names_match("[!g]e-*", "ge-0/0/0"));
        assert!(
            names_match("ge-0/0/[0-3]", "ge-0/0/2") && !names_match("ge-0/0/[0-3]", "ge-0/0/4")
        );
        // An unclosed class is a plain '['; a hostile pattern ends quickly.
        assert!(!names_match("ge[", "ge-0") && names_match("g[*", "g[x"));
        let long = "*a".repeat(500) + "b";
        assert!(!glob(long.as_bytes(), "a".repeat(2000).as_bytes()));
    }

    #[test]
    fn speeds_read_as_junos_writes_them() {
        assert_eq!(speed(Some(1000)), "1000mbps");
        assert_eq!(speed(Some(100)), "100mbps");
        assert_eq!(speed(Some(10_000)), "10Gbps");
        assert_eq!(speed(Some(100_000)), "100Gbps");
        assert_eq!(speed(None), "Unspecified");
    }
}
