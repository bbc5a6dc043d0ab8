//! The forwarding subsystem: on commit, the routed interfaces (`unit 0 family inet`) become
//! AF_PACKET ports and the connected, local and static IPv4 routes become the FIB; a worker
//! thread forwards, and a control thread answers ARP and ICMP echo for the box's addresses and
//! resolves neighbours (each resolved neighbour becomes a /32 route with its own adjacency).
//!
//! First cut (issue 3): one worker, untagged routed ports, IPv4 only; a change of ports or
//! routes restarts the engine (hitless updates come with incremental table edits).

mod control;

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use savin_config::model::interfaces::Interface;
use savin_config::model::{Config, NextHop as CfgNextHop};
use savin_config::subsystem::{Staged, Subsystem};
use savin_io::af_packet::{AfPacket, RingConfig};
use tracing::info;

pub use control::Engine;

/// A routed port as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortPlan {
    pub name: String,
    pub mac: [u8; 6],
    pub addrs: Vec<(Ipv4Addr, u8)>,
}

/// What a route leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// A connected subnet on this port: resolve the destination itself.
    Connected(u16),
    /// One of the box's own addresses.
    Local,
    /// Through a gateway on this port.
    Via(u16, Ipv4Addr),
    Discard,
}

/// Everything the engine needs, derived from a committed configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub ports: Vec<PortPlan>,
    pub routes: Vec<(Ipv4Addr, u8, Target)>,
}

fn read_mac(name: &str) -> Result<[u8; 6], String> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{name}/address"))
        .map_err(|_| format!("interface {name} does not exist on this system"))?;
    let bytes: Vec<u8> = text
        .trim()
        .split(':')
        .filter_map(|h| u8::from_str_radix(h, 16).ok())
        .collect();
    bytes
        .try_into()
        .map_err(|_| format!("interface {name}: unreadable MAC address {text:?}"))
}

fn routed(i: &Interface) -> Option<Vec<(Ipv4Addr, u8)>> {
    if i.disable.0 || i.vlan_tagging.0 || i.name == "irb" {
        return None;
    }
    let unit = i.unit.iter().find(|u| u.name == 0)?;
    let inet = unit.family.inet.as_ref()?;
    Some(
        inet.address
            .iter()
            .filter_map(|a| match a.name.addr {
                std::net::IpAddr::V4(v4) => Some((v4, a.name.len)),
                _ => None,
            })
            .collect(),
    )
}

fn mask(a: Ipv4Addr, len: u8) -> Ipv4Addr {
    let m = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Ipv4Addr::from(u32::from(a) & m)
}

impl Plan {
    /// Derives the plan; fails (and so fails the commit) when a routed interface does not exist.
    pub fn from_config(cfg: &Config) -> Result<Plan, String> {
        let mut plan = Plan::default();
        for i in &cfg.interfaces.interface {
            let Some(addrs) = routed(i) else { continue };
            let mac = read_mac(&i.name)?;
            let port = plan.ports.len() as u16;
            for (a, len) in &addrs {
                plan.routes
                    .push((mask(*a, *len), *len, Target::Connected(port)));
                plan.routes.push((*a, 32, Target::Local));
            }
            plan.ports.push(PortPlan {
                name: i.name.clone(),
                mac,
                addrs,
            });
        }
        for r in &cfg.routing_options.static_routes.route {
            let std::net::IpAddr::V4(dst) = r.name.addr else {
                continue;
            };
            let target = if r.discard.0 || r.reject.0 {
                Some(Target::Discard)
            } else {
                r.next_hop.iter().find_map(|nh| match nh {
                    CfgNextHop::Address(std::net::IpAddr::V4(gw)) => {
                        plan.port_on_link(*gw).map(|p| Target::Via(p, *gw))
                    }
                    CfgNextHop::Interface(ifl) => {
                        let name = ifl.rsplit_once('.').map_or(ifl.as_str(), |(n, _)| n);
                        plan.ports
                            .iter()
                            .position(|p| p.name == name)
                            .map(|p| Target::Connected(p as u16))
                    }
                    _ => None,
                })
            };
            // A next hop not on any connected subnet is not usable (as on Junos: the route is
            // kept in the configuration but not installed).
            if let Some(t) = target {
                plan.routes.push((mask(dst, r.name.len), r.name.len, t));
            }
        }
        Ok(plan)
    }

    pub fn port_on_link(&self, ip: Ipv4Addr) -> Option<u16> {
        self.ports
            .iter()
            .position(|p| {
                p.addrs
                    .iter()
                    .any(|(a, l)| mask(*a, *l) == mask(ip, *l) && *a != ip)
            })
            .map(|p| p as u16)
    }
}

/// The running engine and the plan it runs.
type Running = Arc<Mutex<(Option<Engine>, Plan)>>;

/// The subsystem registered with the commit engine.
#[derive(Default)]
pub struct Forwarding {
    running: Running,
}

struct StagedPlan {
    plan: Plan,
    ports: Vec<AfPacket>,
    running: Running,
}

impl Staged for StagedPlan {
    fn apply(self: Box<Self>) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = running.0.take() {
            old.stop();
        }
        if !self.plan.ports.is_empty() {
            info!(
                ports = self.plan.ports.len(),
                routes = self.plan.routes.len(),
                "forwarding engine starting"
            );
            running.0 = Some(Engine::start(self.plan.clone(), self.ports));
        }
        running.1 = self.plan;
    }
}

struct Unchanged;

impl Staged for Unchanged {
    fn apply(self: Box<Self>) {}
}

impl Subsystem for Forwarding {
    fn name(&self) -> &'static str {
        "forwarding"
    }

    fn prepare(&mut self, _old: &Config, new: &Config) -> Result<Box<dyn Staged>, String> {
        let plan = Plan::from_config(new)?;
        if plan == self.running.lock().unwrap_or_else(|e| e.into_inner()).1 {
            return Ok(Box::new(Unchanged));
        }
        // Open the ports now, so a failure aborts the commit before anything changes.
        let ports = plan
            .ports
            .iter()
            .map(|p| {
                AfPacket::open(&p.name, RingConfig::default())
                    .map_err(|e| format!("interface {}: {e}", p.name))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Box::new(StagedPlan {
            plan,
            ports,
            running: self.running.clone(),
        }))
    }
}
