//! The forwarding subsystem: on commit, the routed interfaces (`unit 0 family inet`) become
//! AF_PACKET ports and the connected, local and static IPv4 routes become the FIB; a worker
//! thread forwards, and a control thread answers ARP and ICMP echo for the box's addresses,
//! resolves neighbours (each resolved neighbour becomes a /32 route with its own adjacency)
//! and sends ICMP errors.
//!
//! Commits are hitless: the engine starts once, and each later commit is a diff applied to
//! the running tables (routes added and removed one by one, ports attached and detached one by
//! one), so traffic that the change does not touch keeps flowing.
//!
//! Still to come (issue 3): IPv6, ECMP, L2 bridging, TAP host interfaces.

mod control;
mod filter_show;
mod flow_log;
mod hits;
mod lag;
mod link_events;
mod monitor_show;
pub mod names;
mod nat_show;
mod ops_table;
mod rate_limit;
mod route_show;
mod routes;
mod security_show;
mod show;
mod system;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use savin_config::model::interfaces::Interface;
use savin_config::model::{Config, NextHop as CfgNextHop};
use savin_config::subsystem::{Changes, Operational, PrepareError, Staged, Subsystem};
use savin_dataplane::bridge::PortMode;
use savin_io::PacketIo;
use tracing::info;

pub use control::{Engine, BUSY_AFTER_TRAFFIC};
pub use routes::{
    ActiveChange, ActiveInfo, Annotator, ProtocolRoute, RouteFeed, RouteNotes, Watcher,
};
pub use system::{Linux, MemorySystem, Netdev, System};

/// A routed port as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortPlan {
    pub name: String,
    pub mac: [u8; 6],
    pub addrs: Vec<(Ipv4Addr, u8)>,
    /// Configured IPv6 addresses (the link-local one is derived from the MAC).
    pub addrs6: Vec<(Ipv6Addr, u8)>,
    /// Whether the port has `family inet6` (and so a link-local address).
    pub inet6: bool,
    /// The IP MTU: larger packets are fragmented or refused with fragmentation needed.
    pub mtu: u16,
    /// Routed, switched (access or trunk), or a VLAN's IRB (no netdev of its own).
    pub mode: PortMode,
}

/// A VLAN's bridge domain as the plan sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VlanPlan {
    pub name: String,
    pub vid: u16,
    /// Member ports (indices into `Plan::ports`) and whether frames leave them tagged.
    pub members: Vec<(u16, bool)>,
    /// The IRB port, if the VLAN has an `l3-interface`.
    pub irb: Option<u16>,
    pub mac_limit: u32,
}

/// What a route leads to. Ports are indices into `Plan::ports`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// A connected subnet on this port: resolve the destination itself.
    Connected(u16),
    /// One of the box's own addresses, on this port.
    Local(u16),
    /// Through a gateway on this port.
    Via(u16, IpAddr),
    Discard,
    /// Drop and answer with ICMP unreachable.
    Reject,
    /// Equal-cost next hops: an index into `Plan::groups` (in the engine, into its own).
    Ecmp(u32),
    /// A gateway on no connected subnet: the route is kept, hidden (as Junos does).
    Unresolved(IpAddr),
}

/// Where a route came from (the RIB's protocols).
pub use savin_rib::Protocol;

/// One active route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub dst: IpAddr,
    pub len: u8,
    pub target: Target,
    pub protocol: Protocol,
    pub preference: u32,
}

/// Everything the engine needs, derived from a committed configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub ports: Vec<PortPlan>,
    pub vlans: Vec<VlanPlan>,
    /// Equal-cost next-hop sets (members are `Connected` or `Via`).
    pub groups: Vec<Vec<Target>>,
    /// Candidate routes, sorted by prefix and then preference: the engine installs, per
    /// prefix, the first whose ports are up (the lowest preference wins, as in Junos).
    pub routes: Vec<Route>,
    /// Zones and policies, when `security zones` is configured.
    pub security: SecurityPlan,
    /// Configured interfaces whose netdev does not exist (yet): left out until it appears,
    /// as Junos keeps the configuration of a card that is not plugged in.
    pub absent: Vec<String>,
    /// Interface and unit descriptions (`ge-0/0/0`, `ge-0/0/0.0`), for `show interfaces`.
    pub descriptions: Vec<(String, String)>,
    /// Compiled firewall filters and where they apply (None: none is applied).
    pub filters: FilterPlan,
    /// Compiled routing policies (`test policy` now; the routing protocols' channels next).
    pub policies: PolicyPlan,
    /// The service monitor's settings (None: `services rtp-monitoring` is not configured).
    pub monitor: MonitorPlan,
}

/// The monitor's settings for the workers, from `services rtp-monitoring`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonitorPlan(pub Option<Arc<savin_monitor::table::Settings>>);

impl MonitorPlan {
    fn of(cfg: &Config) -> MonitorPlan {
        // What the configuration leaves unset keeps the monitor's own defaults.
        let d = savin_monitor::table::Settings::default();
        MonitorPlan(cfg.services.rtp_monitoring.as_ref().map(|r| {
            Arc::new(savin_monitor::table::Settings {
                sip_ports: r.sip_ports(),
                port_ranges: r.port_ranges(),
                max_streams: r.max_streams.map_or(d.max_streams, |n| n as usize),
                max_calls: r.max_calls.map_or(d.max_calls, |n| n as usize),
                idle_ms: r
                    .inactivity_timeout
                    .map_or(d.idle_ms, |s| u64::from(s) * 1000),
                history: r.history_size.map_or(d.history, |n| n as usize),
                plc: !r.no_packet_loss_concealment.0,
                thresholds: r.thresholds.as_ref().map_or(d.thresholds, |t| {
                    let [mos_lq, loss_percent, delay_factor, media_loss_rate] = t.hundredths();
                    savin_monitor::table::Thresholds {
                        mos_lq,
                        loss_percent,
                        delay_factor,
                        media_loss_rate,
                    }
                }),
            })
        }))
    }
}

/// Compiled `policy-options`, with the configuration they came from (equal when it is).
#[derive(Debug, Clone, Default)]
pub struct PolicyPlan(pub Arc<savin_policy::Policies>, pub Arc<str>);

impl PolicyPlan {
    fn of(cfg: &Config) -> Result<PolicyPlan, String> {
        let po = &cfg.policy_options;
        let policies = savin_policy::Policies::compile(po).map_err(|e| e.to_string())?;
        Ok(PolicyPlan(Arc::new(policies), format!("{po:?}").into()))
    }
}

impl PartialEq for PolicyPlan {
    fn eq(&self, other: &Self) -> bool {
        self.1 == other.1
    }
}

impl Eq for PolicyPlan {}

/// The compiled security configuration, with ports named as the plan names them.
pub struct SecuritySpec {
    /// What it was compiled from (two plans are equal when these are): the management
    /// services' ports too, which host-inbound `ssh` and `netconf` follow.
    source: (
        savin_config::model::security::Security,
        savin_config::model::applications::Applications,
        savin_security::ServicePorts,
    ),
    pub policy: Arc<savin_security::Compiled>,
    /// Zone id by port name (`eth1` for `eth1.0`, `irb.10`).
    pub zone_of_port: HashMap<String, u16>,
    pub host_inbound: HashMap<String, savin_security::HostInbound>,
    pub sessions: savin_session::SessionConfig,
    /// NAT rules (interface contexts not yet bound to port slots).
    pub nat: savin_security::Nat,
    /// Screens, and by zone id the one bound to it.
    pub screens: Vec<savin_security::stage::screen::Screen>,
    pub screen_of_zone: Vec<Option<u16>>,
    pub tcp_rst: Vec<bool>,
    /// `security forwarding-options family inet6 mode packet-based`.
    pub ipv6_packet_based: bool,
}

#[derive(Clone, Default)]
pub struct SecurityPlan(pub Option<Arc<SecuritySpec>>);

impl PartialEq for SecurityPlan {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => a.source == b.source,
            _ => false,
        }
    }
}

impl Eq for SecurityPlan {}

/// Compiled firewall filters and where they apply (None: no interface applies one), with
/// the text of the configuration they were compiled from. Equal when compiled from the same
/// configuration: the control plane then keeps the filters it runs, and their counters.
#[derive(Debug, Clone, Default)]
pub struct FilterPlan(pub Option<(Arc<str>, Arc<savin_filter::FilterSpec>)>);

impl PartialEq for FilterPlan {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some((a, _)), Some((b, _))) => a == b,
            _ => false,
        }
    }
}

impl Eq for FilterPlan {}

impl std::fmt::Debug for SecurityPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => f.write_str("SecurityPlan(off)"),
            Some(s) => write!(f, "SecurityPlan(zones {:?})", s.policy.zones),
        }
    }
}

impl SecurityPlan {
    /// Compiles `security` if zones are configured; the errors fail the commit.
    pub fn from_config(cfg: &Config) -> Result<SecurityPlan, String> {
        let sec = &cfg.security;
        if sec.zones.security_zone.is_empty() {
            return Ok(SecurityPlan(None));
        }
        let policy = Arc::new(savin_security::compile_policy(cfg)?);
        let nat = savin_security::compile_nat(cfg, &|z| policy.zone_id(z))?;
        let mut zone_of_port = HashMap::new();
        let mut host_inbound = HashMap::new();
        let services = &cfg.system.services;
        let defaults = savin_security::ServicePorts::default();
        let ports = savin_security::ServicePorts {
            ssh: services
                .ssh
                .as_ref()
                .and_then(|s| s.port)
                .unwrap_or(defaults.ssh),
            netconf: services
                .netconf
                .as_ref()
                .and_then(|n| n.ssh.as_ref())
                .and_then(|s| s.port)
                .unwrap_or(defaults.netconf),
            prometheus: services
                .prometheus
                .as_ref()
                .and_then(|p| p.port)
                .unwrap_or(defaults.prometheus),
        };
        for z in &sec.zones.security_zone {
            let id = policy
                .zone_id(&z.name)
                .ok_or("zone vanished while compiling")?;
            for i in &z.interfaces.interface {
                // The interface's own host-inbound-traffic, if it has any, else the zone's.
                let own = &i.host_inbound_traffic;
                let h = if own.system_services.service.is_empty()
                    && own.protocols.protocol.is_empty()
                {
                    &z.host_inbound_traffic
                } else {
                    own
                };
                let hi = savin_security::HostInbound::new(
                    h.system_services.service.iter().map(|n| n.name.as_str()),
                    h.protocols.protocol.iter().map(|n| n.name.as_str()),
                    ports,
                );
                let mut keys = vec![i.name.clone()];
                if let Some(dev) = i.name.strip_suffix(".0").filter(|d| !no_netdev(d)) {
                    keys.push(dev.to_string());
                }
                for k in keys {
                    zone_of_port.insert(k.clone(), id);
                    host_inbound.insert(k, hi);
                }
            }
        }
        let tcp = &sec.flow.tcp_session;
        let sessions = savin_session::SessionConfig {
            // 256k sessions a worker (about 55 MB); a configurable size comes with the
            // session-capacity work.
            capacity: 1 << 18,
            syn_check: !tcp.no_syn_check.0,
            sequence_check: !tcp.no_sequence_check.0,
            ..savin_session::SessionConfig::default()
        };
        let screens: Vec<savin_security::stage::screen::Screen> = sec
            .screen
            .ids_option
            .iter()
            .map(savin_security::compile_screen)
            .collect();
        let screen_of_zone = sec
            .zones
            .security_zone
            .iter()
            .map(|z| {
                z.screen
                    .as_ref()
                    .and_then(|s| screens.iter().position(|x| &x.name == s))
                    .map(|i| i as u16)
            })
            .collect();
        Ok(SecurityPlan(Some(Arc::new(SecuritySpec {
            source: (sec.clone(), cfg.applications.clone(), ports),
            screens,
            screen_of_zone,
            tcp_rst: sec
                .zones
                .security_zone
                .iter()
                .map(|z| z.tcp_rst.0)
                .collect(),
            ipv6_packet_based: sec.forwarding_options.family.inet6.mode
                == Some(savin_config::model::security::Inet6Mode::PacketBased),
            policy,
            zone_of_port,
            host_inbound,
            sessions,
            nat,
        }))))
    }
}

/// The configuration's filters, compiled (None when no interface applies one), with the
/// configuration they depend on as text (the control plane keeps running filters, and their
/// counters, while it is the same).
type CompiledFilters = (Arc<str>, Arc<savin_filter::FilterSpec>);

fn filters_of(cfg: &Config) -> Result<Option<CompiledFilters>, String> {
    let applied = cfg.interfaces.interface.iter().any(|i| {
        i.unit
            .iter()
            .any(|u| u.filters().iter().any(|(_, f)| f.is_some()))
    });
    if !applied {
        return Ok(None);
    }
    // What the compiled filters depend on: the firewall, the interfaces' filter bindings and
    // the VLANs (Ethernet filters name them).
    let key = format!(
        "{:?}{:?}{:?}",
        cfg.firewall,
        cfg.interfaces
            .interface
            .iter()
            .map(|i| (
                &i.name,
                i.disable,
                i.unit
                    .iter()
                    .map(|u| (u.name, u.filters()))
                    .collect::<Vec<_>>()
            ))
            .collect::<Vec<_>>(),
        cfg.vlans
    );
    let spec = Arc::new(savin_filter::compile(cfg)?);
    Ok(Some((key.into(), spec)))
}

/// A netdev's Ethernet address, or why a commit naming it cannot use it.
fn mac_of(name: &str, d: &Netdev) -> Result<[u8; 6], String> {
    d.mac
        .ok_or_else(|| format!("interface {name}: no readable Ethernet (MAC) address"))
}

pub(crate) use savin_config::model::interfaces::no_netdev;

/// What a routed interface contributes: IPv4 and IPv6 addresses and the IP MTU.
struct Routed {
    v4: Vec<(Ipv4Addr, u8)>,
    v6: Vec<(Ipv6Addr, u8)>,
    mtu: Option<u32>,
}

/// The addresses and IP MTU of a routed interface (unit 0, untagged, family inet or inet6).
fn routed(i: &Interface) -> Option<Routed> {
    if i.disable.0 || i.vlan_tagging.0 || no_netdev(&i.name) {
        return None;
    }
    let unit = i.unit.iter().find(|u| u.name == 0)?;
    routed_unit(i, unit)
}

/// The addresses and IP MTU of a unit with family inet or inet6.
fn routed_unit(i: &Interface, unit: &savin_config::model::interfaces::Unit) -> Option<Routed> {
    let fam = &unit.family;
    if fam.inet.is_none() && fam.inet6.is_none() {
        return None;
    }
    let addrs = |f: &Option<savin_config::model::interfaces::Inet>| -> Vec<(IpAddr, u8)> {
        f.iter()
            .flat_map(|f| f.address.iter().map(|a| (a.name.addr, a.name.len)))
            .collect()
    };
    let v4 = addrs(&fam.inet)
        .into_iter()
        .filter_map(|(a, l)| match a {
            IpAddr::V4(a) => Some((a, l)),
            _ => None,
        })
        .collect();
    let v6 = addrs(&fam.inet6)
        .into_iter()
        .filter_map(|(a, l)| match a {
            IpAddr::V6(a) => Some((a, l)),
            _ => None,
        })
        .collect();
    // Junos: `family inet mtu` is the IP MTU; the interface `mtu` counts the Ethernet header.
    let mtu = fam
        .inet
        .as_ref()
        .and_then(|f| f.mtu)
        .or(fam.inet6.as_ref().and_then(|f| f.mtu))
        .or(i.mtu.map(|m| m.saturating_sub(14)));
    Some(Routed { v4, v6, mtu })
}

/// `a` with the bits beyond `len` cleared.
pub(crate) fn mask(a: IpAddr, len: u8) -> IpAddr {
    match a {
        IpAddr::V4(a) => {
            let m = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) => {
            let m = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
    }
}

impl Plan {
    /// Derives the plan on Linux (see [`Plan::from_config_on`]).
    pub fn from_config(cfg: &Config) -> Result<Plan, String> {
        Plan::from_config_on(cfg, &Linux)
    }

    /// Derives the plan for the netdevs `system` has now: a configured interface with no
    /// netdev is left out and listed as absent; one whose MAC cannot be read fails (and so
    /// fails the commit).
    pub fn from_config_on(cfg: &Config, system: &dyn System) -> Result<Plan, String> {
        let mut plan = Plan {
            security: SecurityPlan::from_config(cfg)?,
            filters: FilterPlan(filters_of(cfg)?),
            policies: PolicyPlan::of(cfg)?,
            monitor: MonitorPlan::of(cfg),
            ..Plan::default()
        };
        let mut candidates: Vec<Route> = Vec::new();
        for i in &cfg.interfaces.interface {
            if let Some(d) = &i.description {
                plan.descriptions.push((i.name.clone(), d.clone()));
            }
            for u in &i.unit {
                if let Some(d) = &u.description {
                    plan.descriptions
                        .push((format!("{}.{}", i.name, u.name), d.clone()));
                }
            }
        }
        for i in &cfg.interfaces.interface {
            if i.name == "lo0" {
                plan.add_loopback(i, &mut candidates);
                continue;
            }
            let Some(r) = routed(i) else {
                continue;
            };
            let Some(dev) = system.netdev(&i.name) else {
                plan.absent.push(i.name.clone());
                continue;
            };
            let mac = mac_of(&i.name, &dev)?;
            let mtu = r.mtu.unwrap_or(u32::from(dev.mtu));
            let port = plan.ports.len() as u16;
            let inet6 = fam_inet6(i);
            add_interface_routes(&mut candidates, port, &r, mac, inet6);
            plan.ports.push(PortPlan {
                name: i.name.clone(),
                mac,
                addrs: r.v4,
                addrs6: r.v6,
                inet6,
                mtu: mtu.min(u32::from(u16::MAX)) as u16,
                mode: PortMode::Routed,
            });
        }
        plan.add_switching(cfg, system, &mut candidates)?;
        for (_, r) in cfg.routing_options.all_static() {
            let dst = r.name.addr;
            let route_pref = r.preference.unwrap_or(5);
            let target = if r.discard.0 {
                Some(Target::Discard)
            } else if r.reject.0 {
                Some(Target::Reject)
            } else {
                // Every usable next hop with its preference (a `qualified-next-hop` may have
                // its own).
                let plain = r.next_hop.iter().map(|nh| (nh, route_pref));
                let qualified = r
                    .qualified_next_hop
                    .iter()
                    .map(|q| (&q.name, q.preference.unwrap_or(route_pref)));
                let mut usable: Vec<(u32, Target)> = plain
                    .chain(qualified)
                    .filter_map(|(nh, pref)| plan.resolve_next_hop(nh, dst).map(|t| (pref, t)))
                    .collect();
                usable.sort_by_key(|(p, t)| (*p, format!("{t:?}")));
                usable.dedup();
                // One candidate per preference level (several next hops at a level share the
                // traffic): the engine installs the best level whose ports are up, so a
                // floating static takes over when a link goes down.
                let mut i = 0;
                while i < usable.len() {
                    let pref = usable[i].0;
                    let members: Vec<Target> = usable[i..]
                        .iter()
                        .take_while(|(p, _)| *p == pref)
                        .map(|(_, t)| *t)
                        .collect();
                    i += members.len();
                    let target = if members.len() == 1 {
                        members[0]
                    } else {
                        plan.groups.push(members);
                        Target::Ecmp((plan.groups.len() - 1) as u32)
                    };
                    candidates.push(Route {
                        dst: mask(dst, r.name.len),
                        len: r.name.len,
                        target,
                        protocol: Protocol::Static,
                        preference: pref,
                    });
                }
                continue;
            };
            if let Some(target) = target {
                candidates.push(Route {
                    dst: mask(dst, r.name.len),
                    len: r.name.len,
                    target,
                    protocol: Protocol::Static,
                    preference: route_pref,
                });
            }
        }
        // Every candidate, best first per prefix: the lowest preference, the first configured
        // on a tie. The engine installs the first one it can use.
        candidates.sort_by_key(|r| (r.dst, r.len, r.preference));
        plan.routes = candidates;
        Ok(plan)
    }

    /// `lo0`: the box's own addresses (unit 0), a port with no wire that is always up. Each
    /// address is a local route (traffic to it is the box's, whatever port it comes in on);
    /// its host interface `sv-lo0` gives the kernel the addresses, so the box's sockets
    /// answer on them.
    fn add_loopback(&mut self, i: &Interface, candidates: &mut Vec<Route>) {
        if i.disable.0 {
            return;
        }
        // The one unit with a family (validation allows one in the master instance).
        let Some(r) = i
            .unit
            .iter()
            .find(|u| u.family.inet.is_some() || u.family.inet6.is_some())
            .and_then(|u| routed_unit(i, u))
        else {
            return;
        };
        let port = self.ports.len() as u16;
        let all =
            r.v4.iter()
                .map(|(a, _)| IpAddr::V4(*a))
                .chain(r.v6.iter().map(|(a, _)| IpAddr::V6(*a)));
        for a in all {
            candidates.push(Route {
                dst: a,
                len: if a.is_ipv4() { 32 } else { 128 },
                target: Target::Local(port),
                protocol: Protocol::Local,
                preference: 0,
            });
        }
        self.ports.push(PortPlan {
            name: i.name.clone(),
            // Locally administered: the host interface needs one.
            mac: [0x02, 0x5a, 0x76, 0x6c, 0x6f, 0x30],
            addrs: r.v4,
            addrs6: r.v6,
            inet6: false,
            mtu: r.mtu.unwrap_or(16_384).min(u32::from(u16::MAX)) as u16,
            mode: PortMode::Loopback,
        });
    }

    /// Switched ports (unit 0 family ethernet-switching), VLANs with a VLAN ID, and the IRBs
    /// that VLANs name as `l3-interface` (routed ports of their own, with their routes).
    fn add_switching(
        &mut self,
        cfg: &Config,
        system: &dyn System,
        candidates: &mut Vec<Route>,
    ) -> Result<(), String> {
        use savin_config::model::interfaces::InterfaceMode;
        use savin_config::model::vlans;
        let vids_of = |m: &str| -> Vec<u16> {
            vlans::members(cfg, m)
                .into_iter()
                .filter_map(|v| v.vlan_id)
                .collect()
        };
        // Per VLAN ID: its members.
        let mut members: std::collections::BTreeMap<u16, Vec<(u16, bool)>> = Default::default();
        let mut base_mac = None;
        for i in &cfg.interfaces.interface {
            if i.disable.0 || no_netdev(&i.name) {
                continue;
            }
            let Some(sw) = i
                .unit
                .iter()
                .find(|u| u.name == 0)
                .and_then(|u| u.family.ethernet_switching.as_ref())
            else {
                continue;
            };
            let Some(dev) = system.netdev(&i.name) else {
                self.absent.push(i.name.clone());
                continue;
            };
            let mac = mac_of(&i.name, &dev)?;
            base_mac.get_or_insert(mac);
            let port = self.ports.len() as u16;
            let mut vids: Vec<u16> = sw.vlan.members.iter().flat_map(|m| vids_of(m)).collect();
            vids.sort_unstable();
            vids.dedup();
            let mode = match sw.interface_mode.unwrap_or(InterfaceMode::Access) {
                InterfaceMode::Access => match vids.first() {
                    Some(v) => PortMode::Access { vlan: *v },
                    None => continue,
                },
                InterfaceMode::Trunk => PortMode::Trunk {
                    native: i.native_vlan_id,
                },
            };
            for v in &vids {
                let tagged = matches!(mode, PortMode::Trunk { native } if native != Some(*v));
                members.entry(*v).or_default().push((port, tagged));
            }
            if let PortMode::Trunk { native: Some(n) } = mode {
                let m = members.entry(n).or_default();
                if !m.iter().any(|(p, _)| *p == port) {
                    m.push((port, false));
                }
            }
            let mtu = dev.mtu;
            self.ports.push(PortPlan {
                name: i.name.clone(),
                mac,
                addrs: Vec::new(),
                addrs6: Vec::new(),
                inet6: false,
                mtu,
                mode,
            });
        }
        for v in &cfg.vlans.vlan {
            let Some(vid) = v.vlan_id else { continue };
            let mut irb = None;
            if let Some((ifd, unit)) = v
                .l3_interface
                .as_deref()
                .and_then(|l| cfg.interfaces.unit(l))
            {
                if let Some(r) = routed_unit(ifd, unit) {
                    // A locally administered MAC from the box's first switched port, unique
                    // per VLAN.
                    let b = base_mac.unwrap_or([0x02, 0x5a, 0x76, 0, 0, 0]);
                    let mac = [
                        b[0] | 0x02,
                        b[1],
                        b[2] ^ 0x5a,
                        b[3],
                        (vid >> 8) as u8,
                        vid as u8,
                    ];
                    let port = self.ports.len() as u16;
                    let inet6 = unit.family.inet6.is_some();
                    add_interface_routes(candidates, port, &r, mac, inet6);
                    self.ports.push(PortPlan {
                        // `irb.N`, or `vlan.N` as the legacy form names it.
                        name: format!("{}.{}", ifd.name, unit.name),
                        mac,
                        addrs: r.v4,
                        addrs6: r.v6,
                        inet6,
                        mtu: r.mtu.unwrap_or(1500).min(u32::from(u16::MAX)) as u16,
                        mode: PortMode::Irb { vlan: vid },
                    });
                    irb = Some(port);
                }
            }
            self.vlans.push(VlanPlan {
                name: v.name.clone(),
                vid,
                members: members.remove(&vid).unwrap_or_default(),
                irb,
                mac_limit: v.switch_options.mac_table_size.unwrap_or(131_072),
            });
        }
        Ok(())
    }

    /// What a configured next hop leads to: a gateway on a connected subnet (or off-link,
    /// unresolved: the route stays, hidden, as on Junos), or an interface.
    fn resolve_next_hop(&self, nh: &CfgNextHop, dst: IpAddr) -> Option<Target> {
        match nh {
            // Off-link: kept as an unresolved hop (a level with nothing else is hidden).
            CfgNextHop::Address(gw) if gw.is_ipv4() == dst.is_ipv4() => Some(
                self.port_on_link(*gw)
                    .map_or(Target::Unresolved(*gw), |p| Target::Via(p, *gw)),
            ),
            CfgNextHop::Interface(ifl) => {
                let name = ifl.rsplit_once('.').map_or(ifl.as_str(), |(n, _)| n);
                self.ports
                    .iter()
                    .position(|p| p.name == name || p.name == *ifl)
                    .map(|p| Target::Connected(p as u16))
            }
            _ => None,
        }
    }

    /// The port whose subnet holds `ip` (not one of our own addresses).
    pub fn port_on_link(&self, ip: IpAddr) -> Option<u16> {
        self.ports
            .iter()
            .position(|p| {
                let v4 = p.addrs.iter().map(|(a, l)| (IpAddr::V4(*a), *l));
                let v6 = p.addrs6.iter().map(|(a, l)| (IpAddr::V6(*a), *l));
                v4.chain(v6)
                    .any(|(a, l)| mask(a, l) == mask(ip, l) && a != ip)
            })
            .map(|p| p as u16)
    }
}

/// The direct and local routes of a routed port's addresses (and its link-local address).
fn add_interface_routes(
    candidates: &mut Vec<Route>,
    port: u16,
    r: &Routed,
    mac: [u8; 6],
    inet6: bool,
) {
    let all =
        r.v4.iter()
            .map(|(a, l)| (IpAddr::V4(*a), *l))
            .chain(r.v6.iter().map(|(a, l)| (IpAddr::V6(*a), *l)));
    for (a, len) in all {
        candidates.push(Route {
            dst: mask(a, len),
            len,
            target: Target::Connected(port),
            protocol: Protocol::Direct,
            preference: 0,
        });
        candidates.push(Route {
            dst: a,
            len: if a.is_ipv4() { 32 } else { 128 },
            target: Target::Local(port),
            protocol: Protocol::Local,
            preference: 0,
        });
    }
    if inet6 {
        candidates.push(Route {
            dst: IpAddr::V6(savin_wire::nd::link_local(mac)),
            len: 128,
            target: Target::Local(port),
            protocol: Protocol::Local,
            preference: 0,
        });
    }
}

fn fam_inet6(i: &Interface) -> bool {
    i.unit
        .iter()
        .any(|u| u.name == 0 && u.family.inet6.is_some())
}

/// The running engine, the plan it runs and the configuration it came from (planned again
/// when an absent interface appears).
pub(crate) struct Running {
    /// The netdevs and I/O the engine uses (Linux in the daemon).
    system: Arc<dyn System>,
    pub(crate) engine: Option<Engine>,
    plan: Plan,
    config: Option<Config>,
    /// Whether the thread that waits for absent interfaces runs.
    watching: bool,
    /// Watchers of the active routes, for the engine.
    hub: Arc<routes::RouteHub>,
}

pub(crate) type Shared = Arc<Mutex<Running>>;

pub(crate) fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Running> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// The subsystem registered with the commit engine.
pub struct Forwarding {
    running: Shared,
    /// Watchers of the active routes, handed to the engine when it starts.
    hub: Arc<routes::RouteHub>,
}

impl Default for Forwarding {
    fn default() -> Forwarding {
        Forwarding::on(Arc::new(Linux))
    }
}

impl Forwarding {
    /// The subsystem on `system`'s netdevs (Linux in the daemon, memory ports in tests).
    pub fn on(system: Arc<dyn System>) -> Forwarding {
        Forwarding {
            running: Arc::new(Mutex::new(Running {
                system,
                engine: None,
                plan: Plan::default(),
                config: None,
                watching: false,
                hub: Arc::default(),
            })),
            hub: Arc::default(),
        }
        .with_shared_hub()
    }

    /// The engine starts with the subsystem's hub (one hub for both).
    fn with_shared_hub(self) -> Forwarding {
        lock(&self.running).hub = self.hub.clone();
        self
    }

    /// The RIB's door for routing protocols.
    pub fn routes(&self) -> RouteFeed {
        RouteFeed {
            running: self.running.clone(),
            hub: self.hub.clone(),
        }
    }

    /// The operational commands (`show route`, `show arp`, `show interfaces`, ...).
    pub fn operational(&self) -> Arc<dyn Operational> {
        Arc::new(show::Ops {
            running: self.running.clone(),
        })
    }
}

struct StagedPlan {
    plan: Plan,
    config: Config,
    /// Ports opened for interfaces the running engine does not have yet.
    opened: Vec<Opened>,
    running: Shared,
}

fn absent_warning(name: &str) -> String {
    names::why_absent(name)
}

impl Staged for StagedPlan {
    fn apply(self: Box<Self>) -> Result<(), String> {
        let mut running = lock(&self.running);
        info!(
            ports = self.plan.ports.len(),
            routes = self.plan.routes.len(),
            absent = ?self.plan.absent,
            "forwarding: applying the committed plan"
        );
        let system = running.system.clone();
        let hub = running.hub.clone();
        let engine = running
            .engine
            .get_or_insert_with(|| Engine::start_with(system, hub));
        let taken = engine.reconfigure(self.plan.clone(), self.opened);
        // Even a hand-over that timed out may land later: the plan is recorded as the
        // engine's, so the undo (the previous plan) is a change the engine applies.
        running.plan = self.plan;
        if !running.watching {
            running.watching = true;
            watch_absent(Arc::downgrade(&self.running));
        }
        if !taken {
            return Err("the forwarding plane did not take the change within 10 s".into());
        }
        running.config = Some(self.config);
        Ok(())
    }

    fn warnings(&self) -> Vec<String> {
        self.plan.absent.iter().map(|n| absent_warning(n)).collect()
    }
}

struct Unchanged {
    config: Config,
    running: Shared,
    /// Interfaces configured and still absent.
    absent: Vec<String>,
}

impl Staged for Unchanged {
    fn apply(self: Box<Self>) -> Result<(), String> {
        lock(&self.running).config = Some(self.config);
        Ok(())
    }

    fn warnings(&self) -> Vec<String> {
        self.absent.iter().map(|n| absent_warning(n)).collect()
    }
}

/// A port's netdev name and its opened I/O.
pub type Opened = (String, Box<dyn PacketIo>);

/// Opens the I/O of the plan's ports the engine does not hold yet (not IRBs: they have no
/// netdev).
fn open_new_ports(
    system: &dyn System,
    plan: &Plan,
    attached: &[String],
) -> Result<Vec<Opened>, (String, String)> {
    plan.ports
        .iter()
        .filter(|p| {
            !attached.contains(&p.name)
                && !matches!(p.mode, PortMode::Irb { .. } | PortMode::Loopback)
        })
        .map(|p| {
            system
                .open_port(&p.name)
                .map(|io| (p.name.clone(), io))
                .map_err(|e| (p.name.clone(), format!("interface {}: {e}", p.name)))
        })
        .collect()
}

/// A thread that waits for link events (netlink) and, when a configured interface that was
/// absent appears, plans the committed configuration again and applies it: the interface's
/// routes, zones and switching come alive with no commit. It ends with the subsystem.
fn watch_absent(running: std::sync::Weak<Mutex<Running>>) {
    let spawned = std::thread::Builder::new()
        .name("savin-fwd-links".into())
        .spawn(move || {
            let events = link_events::LinkEvents::open();
            if events.is_none() {
                tracing::warn!("no netlink link events: absent interfaces are checked each second");
            }
            loop {
                match &events {
                    Some(ev) => {
                        ev.wait(1000);
                    }
                    None => std::thread::sleep(std::time::Duration::from_secs(1)),
                }
                let Some(shared) = running.upgrade() else {
                    return;
                };
                replan_if_present(&shared);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(%e, "could not start the interface watcher");
    }
}

fn replan_if_present(shared: &Shared) {
    let mut running = lock(shared);
    let system = running.system.clone();
    if !running
        .plan
        .absent
        .iter()
        .any(|n| system.netdev(n).is_some())
    {
        return;
    }
    let Some(cfg) = running.config.clone() else {
        return;
    };
    let plan = match Plan::from_config_on(&cfg, system.as_ref()) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(%e, "forwarding: an interface appeared but the plan failed");
            return;
        }
    };
    let Some(engine) = running.engine.as_ref() else {
        return;
    };
    match open_new_ports(system.as_ref(), &plan, &engine.attached()) {
        Ok(opened) => {
            let came: Vec<&String> = running
                .plan
                .absent
                .iter()
                .filter(|n| !plan.absent.contains(n))
                .collect();
            info!(interfaces = ?came, "forwarding: configured interfaces appeared; applying them");
            if !engine.reconfigure(plan.clone(), opened) {
                tracing::warn!("forwarding: the control thread did not take the new plan");
            }
            running.plan = plan;
        }
        // Not ready yet (a netdev being set up): the next event or second tries again.
        Err((_, e)) => {
            tracing::debug!(%e, "forwarding: an appeared interface cannot be opened yet")
        }
    }
}

impl Subsystem for Forwarding {
    fn name(&self) -> &'static str {
        "forwarding"
    }

    fn hierarchies(&self) -> &'static [&'static str] {
        &[
            "interfaces",
            "vlans",
            "routing-options",
            "policy-options",
            "firewall",
            "security",
            "applications",
            "services",
            // Host-inbound `ssh` and `netconf` follow the services' ports.
            "system services",
        ]
    }

    fn prepare(
        &mut self,
        _old: &Config,
        new: &Config,
        _changed: &Changes,
    ) -> Result<Box<dyn Staged>, PrepareError> {
        let running = lock(&self.running);
        let plan = Plan::from_config_on(new, running.system.as_ref())?;
        let unchanged = Box::new(Unchanged {
            config: new.clone(),
            running: self.running.clone(),
            absent: plan.absent.clone(),
        });
        if plan == running.plan && running.engine.is_some() {
            return Ok(unchanged);
        }
        if plan.ports.is_empty() && plan.absent.is_empty() && running.engine.is_none() {
            return Ok(unchanged);
        }
        // Open the new ports now, so a failure aborts the commit before anything changes;
        // ports the engine already runs stay as they are.
        let attached = running
            .engine
            .as_ref()
            .map(|e| e.attached())
            .unwrap_or_default();
        let opened = open_new_ports(running.system.as_ref(), &plan, &attached)
            .map_err(|(name, e)| PrepareError::at(format!("interfaces {name}"), e))?;
        Ok(Box::new(StagedPlan {
            plan,
            config: new.clone(),
            opened,
            running: self.running.clone(),
        }))
    }
}
