//! What the control plane publishes for the data plane when `security zones` is configured:
//! all of the compiled tables, one immutable value swapped in per commit.

use savin_session::SessionConfig;

use crate::screen::Screen;
use crate::{Compiled, HostInbound};

/// What the control plane publishes when `security zones` is configured.
pub struct SecurityTables {
    pub policy: std::sync::Arc<Compiled>,
    /// Zone of each port slot (None: in no zone; its traffic is dropped).
    pub zone_of_port: Vec<Option<u16>>,
    /// Host-inbound allowances of each port slot (its interface's, else its zone's).
    pub host_inbound: Vec<HostInbound>,
    pub sessions: SessionConfig,
    /// NAT rules, with interface-bound rule sets bound to port slots.
    pub nat: std::sync::Arc<crate::Nat>,
    /// Each port slot's primary IPv4 address (0: none), for `source-nat interface`.
    pub port_addr: Vec<u32>,
    /// Screens (`ids-option`s) and, by zone id, the one bound to the zone.
    pub screens: Vec<Screen>,
    pub screen_of_zone: Vec<Option<u16>>,
    /// By zone id: `tcp-rst`, a TCP segment that would start a session but is no SYN is
    /// answered with a RST.
    pub tcp_rst: Vec<bool>,
    /// IPv6 through the box is routed without security processing (SRX `security
    /// forwarding-options family inet6 mode packet-based`); otherwise it is dropped.
    pub ipv6_packet_based: bool,
}

impl SecurityTables {
    pub fn zone(&self, port: u16) -> Option<u16> {
        self.zone_of_port.get(usize::from(port)).copied().flatten()
    }

    /// Whether zone `zone` answers non-SYN segments without a session with a RST.
    #[inline]
    pub fn tcp_rst(&self, zone: u16) -> bool {
        self.tcp_rst
            .get(usize::from(zone))
            .copied()
            .unwrap_or(false)
    }

    /// The screen bound to zone `zone`, if any.
    #[inline]
    pub fn screen(&self, zone: u16) -> Option<&Screen> {
        let i = self
            .screen_of_zone
            .get(usize::from(zone))
            .copied()
            .flatten()?;
        self.screens.get(usize::from(i))
    }

    /// Whether any screen limits sessions.
    pub fn limits_sessions(&self) -> bool {
        self.screens.iter().any(|s| s.limits_sessions())
    }
}
