//! Per-worker counters: what came in, what went out, and why anything else was dropped.

/// Why a packet was dropped. Each dropped packet is counted under exactly one reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum DropReason {
    /// Shorter than its headers claim.
    Truncated,
    /// Not IPv4 version 4 (on the IPv4 path).
    BadVersion,
    /// IHL below 5 or beyond the packet.
    BadHeaderLength,
    BadChecksum,
    /// IPv4 options that do not parse (a length running past the header, or below 2).
    BadOptions,
    /// Total length below the header length or beyond the frame.
    BadTotalLength,
    /// TTL 0 or 1 on arrival (an ICMP time exceeded will be sent from here).
    TtlExpired,
    /// No route matches the destination.
    NoRoute,
    /// The route's next hop has no resolved adjacency yet.
    Unresolved,
    /// An ethertype this data plane does not handle yet.
    UnsupportedProtocol,
    /// The output ring was full.
    TxFull,
    /// A `discard` route.
    Discarded,
    /// The queue to the control plane was full (ARP, ND, packets waiting for a neighbour,
    /// frames to fragment).
    PuntQueueFull,
    /// For the box's own sockets (BGP, SSH behind the host interfaces), and even the queue's
    /// share kept for them was full.
    HostQueueFull,
    /// A `reject` route (an ICMP unreachable is sent back, rate-limited).
    Rejected,
    /// Larger than the output MTU with DF set, or IPv6 (an ICMP fragmentation needed or
    /// ICMPv6 packet too big is sent back).
    FragmentationNeeded,
    /// A frame in a VLAN the port does not carry (or tagged on an access port).
    VlanNotAllowed,
    /// A switched frame whose destination is on the port it came from.
    SamePort,
    /// Security: no policy permits the flow (deny, or the default policy).
    PolicyDenied,
    /// Security: a policy rejects the flow (a TCP RST or ICMP unreachable goes back).
    PolicyRejected,
    /// Security: a TCP segment other than a SYN would have started a session.
    TcpNotSyn,
    /// Security: a TCP segment outside its session's sequence window.
    TcpOutOfWindow,
    /// Security: the session table is full.
    SessionTableFull,
    /// Security: an interface in no security zone.
    NoZone,
    /// Security: traffic to the box that its zone's host-inbound-traffic does not allow.
    HostInboundDenied,
    /// Security: source NAT found no free address and port for a new session.
    NatExhausted,
    /// Security: a screen of the ingress zone (counted per attack in the screen statistics).
    Screen,
    /// Security: a fragment after the first whose first fragment did not pass (or came
    /// later): it has no ports to find or start a session by.
    FragmentNoSession,
    /// Security: a TCP fragment at offset 8 bytes, which can only rewrite the TCP header
    /// the first fragment was checked with (RFC 1858's overlapping-fragment attack).
    FragmentOverlap,
    /// A firewall filter term discarded it (or no term matched: the implicit discard).
    FilterDiscarded,
    /// A firewall filter term rejected it (an ICMP unreachable or TCP RST goes back).
    FilterRejected,
    /// A firewall policer found it beyond its rate.
    Policed,
}

impl DropReason {
    pub const ALL: [DropReason; 32] = [
        DropReason::Truncated,
        DropReason::BadVersion,
        DropReason::BadHeaderLength,
        DropReason::BadChecksum,
        DropReason::BadOptions,
        DropReason::BadTotalLength,
        DropReason::TtlExpired,
        DropReason::NoRoute,
        DropReason::Unresolved,
        DropReason::UnsupportedProtocol,
        DropReason::TxFull,
        DropReason::Discarded,
        DropReason::PuntQueueFull,
        DropReason::HostQueueFull,
        DropReason::Rejected,
        DropReason::FragmentationNeeded,
        DropReason::VlanNotAllowed,
        DropReason::SamePort,
        DropReason::PolicyDenied,
        DropReason::PolicyRejected,
        DropReason::TcpNotSyn,
        DropReason::TcpOutOfWindow,
        DropReason::SessionTableFull,
        DropReason::NoZone,
        DropReason::HostInboundDenied,
        DropReason::NatExhausted,
        DropReason::Screen,
        DropReason::FragmentNoSession,
        DropReason::FragmentOverlap,
        DropReason::FilterDiscarded,
        DropReason::FilterRejected,
        DropReason::Policed,
    ];

    /// The name `show system statistics` prints.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Truncated => "truncated",
            DropReason::BadVersion => "bad-version",
            DropReason::BadHeaderLength => "bad-header-length",
            DropReason::BadChecksum => "bad-checksum",
            DropReason::BadOptions => "bad-options",
            DropReason::BadTotalLength => "bad-total-length",
            DropReason::TtlExpired => "ttl-expired",
            DropReason::NoRoute => "no-route",
            DropReason::Unresolved => "unresolved-next-hop",
            DropReason::UnsupportedProtocol => "unsupported-protocol",
            DropReason::TxFull => "tx-ring-full",
            DropReason::Discarded => "discard-route",
            DropReason::PuntQueueFull => "punt-queue-full",
            DropReason::HostQueueFull => "host-queue-full",
            DropReason::Rejected => "reject-route",
            DropReason::FragmentationNeeded => "fragmentation-needed",
            DropReason::VlanNotAllowed => "vlan-not-allowed",
            DropReason::SamePort => "same-port",
            DropReason::PolicyDenied => "policy-denied",
            DropReason::PolicyRejected => "policy-rejected",
            DropReason::TcpNotSyn => "tcp-not-syn",
            DropReason::TcpOutOfWindow => "tcp-out-of-window",
            DropReason::SessionTableFull => "session-table-full",
            DropReason::NoZone => "no-security-zone",
            DropReason::HostInboundDenied => "host-inbound-denied",
            DropReason::NatExhausted => "nat-exhausted",
            DropReason::Screen => "screen",
            DropReason::FragmentNoSession => "fragment-no-session",
            DropReason::FragmentOverlap => "fragment-overlap",
            DropReason::FilterDiscarded => "firewall-filter-discard",
            DropReason::FilterRejected => "firewall-filter-reject",
            DropReason::Policed => "policer",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub rx: u64,
    pub tx: u64,
    pub forwarded: u64,
    /// Switched to one port (a known destination MAC).
    pub bridged: u64,
    /// Sent by the kernel through a host interface (TAP) and out of its port.
    pub from_host: u64,
    /// Handed straight to the box's sockets through a port's host interface (TAP).
    pub to_host: u64,
    /// Switched to every other port of the VLAN (broadcast, multicast, unknown unicast).
    pub flooded: u64,
    /// Handed to the control plane (ARP, packets for the box, unresolved neighbours, packets
    /// to fragment).
    pub punted: u64,
    /// ICMP errors not generated because the worker's error budget was spent (the packets
    /// themselves are counted under their drop reason).
    pub errors_suppressed: u64,
    /// Frames the box originated (`ToWorker::Route`: ICMP errors, echo replies, resets)
    /// sent, and those with no usable route or port (not counted as forwarding drops).
    pub originated: u64,
    pub originated_dropped: u64,
    pub drops: [u64; DropReason::ALL.len()],
}

/// Per-port traffic, for `show interfaces`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortCounters {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Driver errors (a netdev that went away, a failed send).
    pub errors: u64,
    /// Received frames too large for a batch slot, dropped by the driver.
    pub giants: u64,
    /// Frames the kernel dropped before the data plane saw them (receive ring full).
    pub ring_drops: u64,
}

impl Counters {
    #[inline]
    pub fn drop(&mut self, r: DropReason) {
        self.drops[r as usize] += 1;
    }

    pub fn dropped(&self, r: DropReason) -> u64 {
        self.drops[r as usize]
    }

    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }
}
