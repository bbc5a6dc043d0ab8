//! What the forwarding plane asks of the system it runs on: the netdevs (present or not, MAC,
//! MTU, carrier), frame I/O on a port and on a host interface (TAP), and changes to the
//! kernel's side with `ip` (TAP addresses, routes for the box's own sockets). [`Linux`] is the
//! daemon's; [`MemorySystem`] gives in-memory ports, so the engine and the subsystem are
//! tested with no namespaces and no root.

use std::collections::BTreeMap;
use std::sync::Mutex;

use savin_io::af_packet::{AfPacket, RingConfig};
use savin_io::memory::{pair, MemoryPort};
use savin_io::PacketIo;

/// A netdev as the system shows it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Netdev {
    pub ifindex: u32,
    /// None: the netdev has no Ethernet address Savin can read (a commit naming it fails).
    pub mac: Option<[u8; 6]>,
    pub mtu: u16,
    pub carrier: bool,
    /// The link speed in Mb/s, as the driver reports it (None: unknown, as a veth that is
    /// down or a TAP reports it).
    pub speed_mbps: Option<u32>,
}

/// The system the forwarding plane runs on.
pub trait System: Send + Sync + 'static {
    /// The netdev of this name (None: there is none).
    fn netdev(&self, name: &str) -> Option<Netdev>;
    /// Opens the frame I/O of a port.
    fn open_port(&self, name: &str) -> Result<Box<dyn PacketIo>, String>;
    /// Creates a host interface (TAP) of this name and opens its I/O.
    fn open_tap(&self, name: &str) -> Result<Box<dyn PacketIo>, String>;
    /// Changes the kernel's side: `ip` with these arguments. Err: what it said.
    fn ip(&self, args: &[String]) -> Result<(), String>;
    /// The Ethernet netdevs in the order they were made (ifindex), without loopback and
    /// without Savin's own host interfaces: what Junos port names bind to by default.
    fn netdevs(&self) -> Vec<String>;
    /// The netdev a configured interface name stands for (itself on a plain system).
    fn netdev_name(&self, name: &str) -> Option<String> {
        self.netdev(name).map(|_| name.to_string())
    }
}

/// Linux: sysfs, AF_PACKET, TAP devices and the `ip` command.
#[derive(Debug, Clone, Copy, Default)]
pub struct Linux;

fn sysfs(name: &str, what: &str) -> Option<String> {
    std::fs::read_to_string(format!("/sys/class/net/{name}/{what}"))
        .ok()
        .map(|s| s.trim().to_string())
}

fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let bytes: Vec<u8> = text
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).ok())
        .collect::<Option<_>>()?;
    bytes.try_into().ok()
}

impl System for Linux {
    fn netdev(&self, name: &str) -> Option<Netdev> {
        // A name with a slash or dots would read another file: not a netdev.
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            return None;
        }
        let ifindex = sysfs(name, "ifindex")?.parse().ok()?;
        Some(Netdev {
            ifindex,
            mac: sysfs(name, "address").as_deref().and_then(parse_mac),
            mtu: sysfs(name, "mtu")
                .and_then(|m| m.parse().ok())
                .unwrap_or(1500),
            // Unreadable (EINVAL) while the netdev is administratively down: no carrier.
            carrier: sysfs(name, "carrier").as_deref() == Some("1"),
            // "-1" (unknown) fails to parse as unsigned: None.
            speed_mbps: sysfs(name, "speed").and_then(|s| s.parse().ok()),
        })
    }

    fn open_port(&self, name: &str) -> Result<Box<dyn PacketIo>, String> {
        AfPacket::open(name, RingConfig::default())
            .map(|p| Box::new(p) as Box<dyn PacketIo>)
            .map_err(|e| e.to_string())
    }

    fn open_tap(&self, name: &str) -> Result<Box<dyn PacketIo>, String> {
        savin_io::tap::TapPort::open(name)
            .map(|p| Box::new(p) as Box<dyn PacketIo>)
            .map_err(|e| e.to_string())
    }

    fn netdevs(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir("/sys/class/net") else {
            return Vec::new();
        };
        let mut devs: Vec<(u32, String)> = dir
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n != "lo" && !n.starts_with("sv-"))
            // ARPHRD_ETHER: Ethernet, veth, TAP; not tunnels or loopback.
            .filter(|n| sysfs(n, "type").as_deref() == Some("1"))
            .filter_map(|n| Some((sysfs(&n, "ifindex")?.parse().ok()?, n)))
            .collect();
        devs.sort();
        devs.into_iter().map(|(_, n)| n).collect()
    }

    fn ip(&self, args: &[String]) -> Result<(), String> {
        match std::process::Command::new("ip").args(args).output() {
            Ok(o) if o.status.success() => Ok(()),
            Ok(o) => Err(String::from_utf8_lossy(&o.stderr).trim().to_string()),
            Err(e) => Err(format!("cannot run ip: {e}")),
        }
    }
}

/// A system of in-memory netdevs: each added netdev is a wire whose far end the test holds;
/// TAPs are wires whose far end (the kernel's side) the test may take; `ip` commands are
/// recorded, not run.
#[derive(Default)]
pub struct MemorySystem {
    inner: Mutex<MemoryInner>,
}

#[derive(Default)]
struct MemoryInner {
    netdevs: BTreeMap<String, MemoryNetdev>,
    next_ifindex: u32,
    taps: BTreeMap<String, MemoryPort>,
    ip: Vec<Vec<String>>,
}

struct MemoryNetdev {
    dev: Netdev,
    /// The engine's end of the wire, until it opens it.
    near: Option<MemoryPort>,
}

/// Frames a memory wire holds in each direction before it drops.
const WIRE_LIMIT: usize = 4096;

impl MemorySystem {
    fn inner(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a netdev with its carrier up; returns the far end of its wire.
    pub fn add(&self, name: &str, mac: [u8; 6], mtu: u16) -> MemoryPort {
        let (near, far) = pair(WIRE_LIMIT);
        let mut s = self.inner();
        s.next_ifindex += 1;
        let dev = Netdev {
            ifindex: s.next_ifindex,
            mac: Some(mac),
            mtu,
            carrier: true,
            speed_mbps: None,
        };
        s.netdevs.insert(
            name.to_string(),
            MemoryNetdev {
                dev,
                near: Some(near),
            },
        );
        far
    }

    /// Removes a netdev (as `ip link del`).
    pub fn remove(&self, name: &str) {
        self.inner().netdevs.remove(name);
    }

    /// Sets a netdev's carrier (as the far end going down or up).
    pub fn set_carrier(&self, name: &str, up: bool) {
        if let Some(d) = self.inner().netdevs.get_mut(name) {
            d.dev.carrier = up;
        }
    }

    /// The kernel's end of a host interface the engine made.
    pub fn take_tap(&self, name: &str) -> Option<MemoryPort> {
        self.inner().taps.remove(name)
    }

    /// The `ip` commands asked for so far.
    pub fn ip_commands(&self) -> Vec<Vec<String>> {
        self.inner().ip.clone()
    }
}

impl System for MemorySystem {
    fn netdev(&self, name: &str) -> Option<Netdev> {
        self.inner().netdevs.get(name).map(|d| d.dev)
    }

    fn open_port(&self, name: &str) -> Result<Box<dyn PacketIo>, String> {
        let mut s = self.inner();
        let d = s
            .netdevs
            .get_mut(name)
            .ok_or_else(|| format!("no netdev {name}"))?;
        let near = d
            .near
            .take()
            .ok_or_else(|| format!("{name} is open already"))?;
        Ok(Box::new(near))
    }

    fn open_tap(&self, name: &str) -> Result<Box<dyn PacketIo>, String> {
        let (near, far) = pair(WIRE_LIMIT);
        self.inner().taps.insert(name.to_string(), far);
        Ok(Box::new(near))
    }

    fn ip(&self, args: &[String]) -> Result<(), String> {
        self.inner().ip.push(args.to_vec());
        Ok(())
    }

    fn netdevs(&self) -> Vec<String> {
        let s = self.inner();
        let mut devs: Vec<(u32, &String)> =
            s.netdevs.iter().map(|(n, d)| (d.dev.ifindex, n)).collect();
        devs.sort();
        devs.into_iter().map(|(_, n)| n.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_addresses_parse_only_whole() {
        assert_eq!(
            parse_mac("02:00:00:0a:0b:ff"),
            Some([2, 0, 0, 0x0a, 0x0b, 0xff])
        );
        assert_eq!(parse_mac(""), None);
        assert_eq!(parse_mac("02:00:00:0a:0b"), None);
        assert_eq!(parse_mac("02:00:00:0a:0b:zz"), None);
    }

    #[test]
    fn a_name_that_is_a_path_is_no_netdev() {
        assert_eq!(Linux.netdev("../../../etc"), None);
        assert_eq!(Linux.netdev(""), None);
    }
}
