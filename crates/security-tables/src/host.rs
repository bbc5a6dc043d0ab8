//! Host-inbound traffic: which services and protocols of the box a zone (or an interface)
//! lets through, compiled from their names into ports and protocol flags.

/// A zone's (or an interface's) `host-inbound-traffic`, as what to let through to the box.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostInbound {
    pub all_services: bool,
    pub all_protocols: bool,
    /// TCP/UDP ports (either end) let through, and IP protocols.
    pub tcp: [u16; 8],
    pub udp: [u16; 8],
    pub ping: bool,
    pub ospf: bool,
    pub vrrp: bool,
    pub pim: bool,
}

/// The ports the box's own management services listen on (`system services`): the
/// `ssh` and `netconf` host-inbound services follow them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServicePorts {
    pub ssh: u16,
    pub netconf: u16,
    pub prometheus: u16,
}

impl Default for ServicePorts {
    fn default() -> Self {
        ServicePorts {
            ssh: 22,
            netconf: 830,
            prometheus: 9100,
        }
    }
}

impl HostInbound {
    /// Builds from the configured service and protocol names.
    pub fn new<'a>(
        services: impl Iterator<Item = &'a str>,
        protocols: impl Iterator<Item = &'a str>,
        ports: ServicePorts,
    ) -> HostInbound {
        let mut h = HostInbound::default();
        let (mut t, mut u) = (0, 0);
        let mut tcp = |p: u16, h: &mut HostInbound| {
            if t < 8 {
                h.tcp[t] = p;
                t += 1;
            }
        };
        let mut udp = |p: u16, h: &mut HostInbound| {
            if u < 8 {
                h.udp[u] = p;
                u += 1;
            }
        };
        for s in services {
            match s {
                "all" | "any-service" => h.all_services = true,
                "ping" => h.ping = true,
                "ssh" => tcp(ports.ssh, &mut h),
                "telnet" => tcp(23, &mut h),
                "http" => tcp(80, &mut h),
                "https" => tcp(443, &mut h),
                "netconf" => tcp(ports.netconf, &mut h),
                // Not a Junos service: Savin's metrics endpoint (`system services prometheus`).
                "prometheus" => tcp(ports.prometheus, &mut h),
                "snmp" => udp(161, &mut h),
                "ntp" => udp(123, &mut h),
                "dns" => {
                    udp(53, &mut h);
                    tcp(53, &mut h);
                }
                "dhcp" => udp(67, &mut h),
                "ike" => udp(500, &mut h),
                "bootp" => udp(67, &mut h),
                "dhcpv6" => udp(547, &mut h),
                "tftp" => udp(69, &mut h),
                "ftp" => tcp(21, &mut h),
                "snmp-trap" => udp(162, &mut h),
                "twamp" => tcp(862, &mut h),
                "xnm-clear-text" => tcp(3221, &mut h),
                "xnm-ssl" => tcp(3220, &mut h),
                "rlogin" => tcp(513, &mut h),
                "rsh" => tcp(514, &mut h),
                "finger" => tcp(79, &mut h),
                "ident-reset" => tcp(113, &mut h),
                "lsping" => udp(3503, &mut h),
                // Multinode high availability's own link: Savin has no MNHA yet.
                // traceroute: answered in the data plane with ICMP time exceeded and
                // unreachable already.
                _ => {}
            }
        }
        for p in protocols {
            match p {
                "all" => h.all_protocols = true,
                "bgp" => tcp(179, &mut h),
                "ospf" | "ospf3" => h.ospf = true,
                "bfd" => {
                    udp(3784, &mut h);
                    udp(4784, &mut h);
                }
                "rip" => udp(520, &mut h),
                "vrrp" => h.vrrp = true,
                "pim" => h.pim = true,
                _ => {}
            }
        }
        h
    }

    /// Whether a packet to the box (protocol, ports, ICMP type) may reach it. ICMP other
    /// than echo requests (replies and errors for the box's own traffic) always may.
    pub fn allows(&self, proto: u8, sport: u16, dport: u16, icmp_type: u8) -> bool {
        if self.all_services && self.all_protocols {
            return true;
        }
        let port_in =
            |list: &[u16; 8]| list.iter().any(|p| *p != 0 && (*p == sport || *p == dport));
        match proto {
            1 | 58 => !matches!(icmp_type, 8 | 128) || self.ping || self.all_services,
            6 => self.all_services || self.all_protocols || port_in(&self.tcp),
            17 => self.all_services || self.all_protocols || port_in(&self.udp),
            89 => self.ospf || self.all_protocols,
            112 => self.vrrp || self.all_protocols,
            103 => self.pim || self.all_protocols,
            _ => self.all_services,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_and_netconf_follow_the_configured_ports() {
        let tcp = |h: &HostInbound, port| h.allows(6, 40000, port, 0);
        let h = HostInbound::new(
            ["ssh", "netconf"].into_iter(),
            [].into_iter(),
            ServicePorts::default(),
        );
        assert!(tcp(&h, 22) && tcp(&h, 830) && !tcp(&h, 2222));
        let moved = ServicePorts {
            ssh: 2222,
            netconf: 8300,
            prometheus: 9100,
        };
        let h = HostInbound::new(["ssh", "netconf"].into_iter(), [].into_iter(), moved);
        assert!(tcp(&h, 2222) && tcp(&h, 8300) && !tcp(&h, 22) && !tcp(&h, 830));
        let h = HostInbound::new(["ping"].into_iter(), [].into_iter(), moved);
        assert!(!tcp(&h, 2222) && h.allows(1, 0, 0, 8));
    }
}
