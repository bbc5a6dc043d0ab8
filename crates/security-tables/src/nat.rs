//! NAT rules compiled for the data plane: which translation a new flow gets.
//!
//! Rules are few on a gateway (tens, not the thousands of a policy), so they are scanned in
//! order, as the SRX evaluates them: rule sets bound to an interface before those bound to a
//! zone, rules within a set in the order written, first match wins. Static NAT is looked at
//! before destination NAT, and its reverse direction before source NAT.

use savin_classify::{Header, PortRange, Prefix};

/// Where a rule set applies: zones (by id) or ports (by slot, bound at publish time).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub zones: Vec<u16>,
    /// Interface names as the configuration writes them (`eth1.0`).
    pub interfaces: Vec<String>,
    /// Port slots of `interfaces`, filled by [`Nat::bind`].
    pub ports: Vec<u16>,
}

impl Context {
    #[inline]
    fn matches(&self, zone: u16, port: u16) -> bool {
        self.ports.contains(&port) || self.zones.contains(&zone)
    }

    pub fn by_interface(&self) -> bool {
        !self.interfaces.is_empty()
    }
}

/// What a matching rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatAction {
    /// `off`: no translation, and no later rule is looked at.
    Off,
    /// Source NAT to the egress interface's address, ports translated.
    Interface,
    /// Source NAT from pool `n` of [`Nat::pools`].
    Pool(u16),
    /// Destination NAT to pool `n` of [`Nat::destination_pools`].
    Destination(u16),
    /// Static NAT: `from` (the rule's destination) maps to `to`, host bits kept.
    Static { from: Prefix, to: Prefix },
}

/// One NAT rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatRule {
    pub rule_set: String,
    pub name: String,
    pub from: Context,
    pub to: Context,
    pub source: Vec<Prefix>,
    pub destination: Vec<Prefix>,
    pub destination_ports: Vec<PortRange>,
    pub protocols: Vec<u8>,
    pub action: NatAction,
}

impl NatRule {
    #[inline]
    fn matches(&self, h: &Header) -> bool {
        let any_or =
            |list: &[Prefix], a: u32| list.is_empty() || list.iter().any(|p| p.contains(a));
        any_or(&self.source, h.src)
            && any_or(&self.destination, h.dst)
            && (self.destination_ports.is_empty()
                || self.destination_ports.iter().any(|r| r.contains(h.dport)))
            && (self.protocols.is_empty() || self.protocols.contains(&h.proto))
    }
}

/// A source pool: address ranges and the ports given out (None: ports kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePool {
    pub name: String,
    pub ranges: Vec<(u32, u32)>,
    pub ports: Option<(u16, u16)>,
}

impl SourcePool {
    /// How many addresses the pool holds.
    pub fn size(&self) -> u64 {
        self.ranges
            .iter()
            .map(|(lo, hi)| u64::from(hi - lo) + 1)
            .sum()
    }

    /// The `n`th address of the pool (taken modulo its size).
    pub fn address(&self, n: u64) -> u32 {
        let mut n = n % self.size().max(1);
        for (lo, hi) in &self.ranges {
            let len = u64::from(hi - lo) + 1;
            if n < len {
                return lo + n as u32;
            }
            n -= len;
        }
        0
    }

    pub fn contains(&self, a: u32) -> bool {
        self.ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&a))
    }
}

/// A destination pool: the address (and port) a flow is sent to instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationPool {
    pub name: String,
    pub address: u32,
    pub port: Option<u16>,
}

/// The compiled `security nat`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Nat {
    pub source: Vec<NatRule>,
    pub destination: Vec<NatRule>,
    pub statics: Vec<NatRule>,
    pub pools: Vec<SourcePool>,
    pub destination_pools: Vec<DestinationPool>,
    /// Proxy-ARP: interface name (as configured) and the address ranges answered on it.
    pub proxy_arp: Vec<(String, Vec<(u32, u32)>)>,
}

impl Nat {
    pub fn is_empty(&self) -> bool {
        self.source.is_empty() && self.destination.is_empty() && self.statics.is_empty()
    }

    /// Fills each interface-bound context with the port slots `slot_of` names.
    pub fn bind(&mut self, slot_of: &dyn Fn(&str) -> Option<u16>) {
        for r in self
            .source
            .iter_mut()
            .chain(&mut self.destination)
            .chain(&mut self.statics)
        {
            for c in [&mut r.from, &mut r.to] {
                c.ports = c.interfaces.iter().filter_map(|i| slot_of(i)).collect();
            }
        }
    }

    /// Static NAT for a flow arriving from (`zone`, `port`): the rule and the new destination.
    #[inline]
    pub fn static_destination(&self, zone: u16, port: u16, h: &Header) -> Option<(u32, u32)> {
        self.statics
            .iter()
            .enumerate()
            .find_map(|(i, r)| match r.action {
                NatAction::Static { from, to } if r.from.matches(zone, port) && r.matches(h) => {
                    Some((i as u32, map(from, to, h.dst)))
                }
                _ => None,
            })
    }

    /// The reverse of static NAT for a flow leaving to (`zone`, `port`) from an address a
    /// static rule maps: the rule and the new source.
    #[inline]
    pub fn static_source(&self, zone: u16, port: u16, src: u32) -> Option<(u32, u32)> {
        self.statics
            .iter()
            .enumerate()
            .find_map(|(i, r)| match r.action {
                NatAction::Static { from, to }
                    if r.from.matches(zone, port) && to.contains(src) =>
                {
                    Some((i as u32, map(to, from, src)))
                }
                _ => None,
            })
    }

    /// Destination NAT for a flow arriving from (`zone`, `port`): the rule and its action
    /// (`Off` included: it ends the search).
    #[inline]
    pub fn destination(&self, zone: u16, port: u16, h: &Header) -> Option<(u32, NatAction)> {
        self.destination
            .iter()
            .enumerate()
            .find(|(_, r)| r.from.matches(zone, port) && r.matches(h))
            .map(|(i, r)| (i as u32, r.action))
    }

    /// Source NAT for a flow from (`from_zone`, `in_port`) to (`to_zone`, `out_port`).
    #[inline]
    pub fn source(&self, from: (u16, u16), to: (u16, u16), h: &Header) -> Option<(u32, NatAction)> {
        self.source
            .iter()
            .enumerate()
            .find(|(_, r)| {
                r.from.matches(from.0, from.1) && r.to.matches(to.0, to.1) && r.matches(h)
            })
            .map(|(i, r)| (i as u32, r.action))
    }

    /// Whether `a` is an address proxy-ARP answers for on interface `ifl`.
    pub fn proxies(&self, ifl: &str, a: u32) -> bool {
        self.proxy_arp
            .iter()
            .any(|(i, r)| i == ifl && r.iter().any(|(lo, hi)| (*lo..=*hi).contains(&a)))
    }
}

/// `a` (inside `from`) moved into `to`, host bits kept.
fn map(from: Prefix, to: Prefix, a: u32) -> u32 {
    let host = if from.len >= 32 {
        0
    } else {
        u32::MAX >> from.len
    };
    to.addr | (a & host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_nat_keeps_host_bits_both_ways() {
        let from = Prefix::new(0xcb00_7100, 24);
        let to = Prefix::new(0x0a00_0100, 24);
        assert_eq!(map(from, to, 0xcb00_7105), 0x0a00_0105);
        assert_eq!(map(to, from, 0x0a00_0105), 0xcb00_7105);
        let host = Prefix::new(0xcb00_711e, 32);
        assert_eq!(
            map(host, Prefix::new(0x0a00_011e, 32), 0xcb00_711e),
            0x0a00_011e
        );
    }

    #[test]
    fn pool_addresses_cover_every_range() {
        let p = SourcePool {
            name: "p".into(),
            ranges: vec![(10, 12), (100, 100)],
            ports: Some((1024, 65535)),
        };
        assert_eq!(p.size(), 4);
        let all: Vec<u32> = (0..8).map(|n| p.address(n)).collect();
        assert_eq!(all, [10, 11, 12, 100, 10, 11, 12, 100]);
        assert!(p.contains(11) && !p.contains(13));
    }
}
