//! Junos interface names on Linux netdevs.
//!
//! A configuration written for an SRX, EX or MX names its ports `ge-0/0/0`, `xe-0/0/1`; Linux
//! names them `eth1`, `ens3`. [`Named`] stands between the forwarding plane and the system and
//! binds one to the other, so the configuration keeps the name the operator wrote and the
//! plan, `show interfaces` and the commit warnings all speak of it:
//!
//! - **Explicitly**, with `savin daemon --interface-map ge-0/0/0=eth1,ge-0/0/1=eth2`.
//! - **By default, as a virtual SRX binds its NICs**: the Ethernet netdevs in the order they
//!   were made (ifindex, loopback and Savin's own host interfaces left out); the first is the
//!   management port `fxp0`, the next `ge-0/0/0`, then `ge-0/0/1`, and so on. `xe-0/0/N` and
//!   `et-0/0/N` bind as `ge-0/0/N` does. Ports on other FPCs or PICs bind only explicitly.
//!   Leaving the first netdev to `fxp0` keeps a loaded SRX configuration off the host's own
//!   management NIC.
//!
//! Linux names keep working: a name that is not a Junos port is the netdev of that name.

use std::collections::BTreeMap;
use std::sync::Arc;

use savin_config::value::is_junos_port;
use savin_io::PacketIo;

use crate::system::{Netdev, System};

/// The explicit bindings of `--interface-map`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterfaceMap {
    explicit: BTreeMap<String, String>,
}

impl InterfaceMap {
    /// Parses `ge-0/0/0=eth1,ge-0/0/1=eth2` (commas or white space between bindings).
    pub fn parse(spec: &str) -> Result<InterfaceMap, String> {
        let mut explicit = BTreeMap::new();
        let mut netdevs = BTreeMap::new();
        for item in spec.split([',', ' ', '\n']).filter(|s| !s.is_empty()) {
            let (junos, dev) = item
                .split_once('=')
                .ok_or_else(|| format!("interface map entry '{item}': expected NAME=NETDEV"))?;
            if !is_junos_port(junos) && !MANAGEMENT.contains(&junos) {
                return Err(format!(
                    "interface map entry '{item}': '{junos}' is not a Junos port name (ge-0/0/0, xe-0/0/1, fxp0)"
                ));
            }
            if dev.is_empty() || dev.len() > 15 || dev.contains('/') || dev.starts_with('.') {
                return Err(format!(
                    "interface map entry '{item}': '{dev}' is not a Linux netdev name"
                ));
            }
            if let Some(other) = netdevs.insert(dev.to_string(), junos.to_string()) {
                return Err(format!(
                    "interface map: netdev {dev} is bound to both {other} and {junos}"
                ));
            }
            if explicit
                .insert(junos.to_string(), dev.to_string())
                .is_some()
            {
                return Err(format!("interface map: {junos} is bound twice"));
            }
        }
        Ok(InterfaceMap { explicit })
    }

    /// The netdev `name` stands for on a system with these Ethernet netdevs (in ifindex
    /// order), or None when it binds to none.
    pub fn bind(&self, name: &str, netdevs: &[String]) -> Option<String> {
        if let Some(dev) = self.explicit.get(name) {
            return Some(dev.clone());
        }
        let taken = |d: &String| self.explicit.values().any(|e| e == d);
        if MANAGEMENT.contains(&name) {
            return (name == "fxp0")
                .then(|| netdevs.first().filter(|d| !taken(d)).cloned())
                .flatten();
        }
        if !is_junos_port(name) {
            return Some(name.to_string());
        }
        let (media, rest) = name.split_once('-')?;
        if !matches!(media, "ge" | "xe" | "et") || rest.contains(':') {
            return None;
        }
        let port: usize = rest.strip_prefix("0/0/")?.parse().ok()?;
        netdevs.get(port + 1).filter(|d| !taken(d)).cloned()
    }
}

/// Management port names of SRX, EX, QFX and MX.
const MANAGEMENT: &[&str] = &[
    "fxp0",
    "em0",
    "em1",
    "me0",
    "vme",
    "re0:mgmt-0",
    "re0:mgmt-1",
    "re1:mgmt-0",
    "re1:mgmt-1",
];

/// A system whose netdevs are also known by their Junos names.
pub struct Named {
    inner: Arc<dyn System>,
    map: InterfaceMap,
}

impl Named {
    pub fn new(inner: Arc<dyn System>, map: InterfaceMap) -> Named {
        Named { inner, map }
    }

    fn bound(&self, name: &str) -> Option<String> {
        if !is_junos_port(name) && !MANAGEMENT.contains(&name) {
            return Some(name.to_string());
        }
        self.map.bind(name, &self.inner.netdevs())
    }
}

impl System for Named {
    fn netdev(&self, name: &str) -> Option<Netdev> {
        self.inner.netdev(&self.bound(name)?)
    }

    fn open_port(&self, name: &str) -> Result<Box<dyn PacketIo>, String> {
        let dev = self
            .bound(name)
            .ok_or_else(|| format!("{name} is bound to no netdev"))?;
        self.inner.open_port(&dev)
    }

    fn open_tap(&self, name: &str) -> Result<Box<dyn PacketIo>, String> {
        self.inner.open_tap(name)
    }

    fn ip(&self, args: &[String]) -> Result<(), String> {
        self.inner.ip(args)
    }

    fn netdevs(&self) -> Vec<String> {
        self.inner.netdevs()
    }

    fn netdev_name(&self, name: &str) -> Option<String> {
        let dev = self.bound(name)?;
        self.inner.netdev(&dev).map(|_| dev)
    }
}

/// Why a configured interface has no netdev, as the commit warning and `show interfaces`
/// say it: `interface NAME is not present ...`.
pub fn why_absent(name: &str) -> String {
    let kept = "its configuration is kept";
    let why = if name == "st0" {
        format!("secure tunnel (IPsec VPN) interfaces are not supported yet; {kept}")
    } else if name.starts_with("ae") && name[2..].bytes().all(|b| b.is_ascii_digit()) {
        format!("aggregated Ethernet (LAG) interfaces are not supported yet; {kept}")
    } else if name.starts_with("reth") || name.starts_with("fab") {
        format!("chassis cluster interfaces are not supported; {kept}")
    } else if MANAGEMENT.contains(&name) || is_junos_port(name) {
        format!(
            "no netdev is bound to it (savin daemon --interface-map {name}=NETDEV binds one); {kept} and applied when it appears"
        )
    } else {
        return format!(
            "interface {name} is not present on this system: {kept} and applied when it appears"
        );
    };
    format!("interface {name} is not present: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn devs(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn by_default_ports_follow_the_netdev_order_after_fxp0() {
        let m = InterfaceMap::default();
        let d = devs(&["eth0", "eth1", "eth2"]);
        assert_eq!(m.bind("fxp0", &d).as_deref(), Some("eth0"));
        assert_eq!(m.bind("ge-0/0/0", &d).as_deref(), Some("eth1"));
        assert_eq!(m.bind("xe-0/0/1", &d).as_deref(), Some("eth2"));
        assert_eq!(m.bind("ge-0/0/2", &d), None);
        assert_eq!(m.bind("ge-1/0/0", &d), None);
        assert_eq!(m.bind("eth7", &d).as_deref(), Some("eth7"));
    }

    #[test]
    fn an_explicit_binding_wins_and_takes_its_netdev_from_the_default() {
        let m = InterfaceMap::parse("ge-0/0/1=eth1, ge-1/0/0=veth9").unwrap();
        let d = devs(&["eth0", "eth1", "eth2"]);
        assert_eq!(m.bind("ge-0/0/1", &d).as_deref(), Some("eth1"));
        assert_eq!(m.bind("ge-1/0/0", &d).as_deref(), Some("veth9"));
        // ge-0/0/0 would be eth1 by default, but eth1 is ge-0/0/1's now.
        assert_eq!(m.bind("ge-0/0/0", &d), None);
    }

    #[test]
    fn a_bad_map_is_refused_with_the_entry() {
        for bad in [
            "ge-0/0/0",
            "eth1=eth2",
            "ge-0/0/0=a/b",
            "ge-0/0/0=eth1,ge-0/0/1=eth1",
            "ge-0/0/0=eth1,ge-0/0/0=eth2",
        ] {
            assert!(InterfaceMap::parse(bad).is_err(), "{bad}");
        }
    }
}
