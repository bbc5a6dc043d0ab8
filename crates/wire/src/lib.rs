//! Wire formats in one place: Ethernet, IPv4 and IPv6 field offsets by name, EtherTypes and
//! IP protocol numbers, and the Internet checksum. The fast path keeps its hand-placed loads
//! but takes the offsets from here; the control plane reads fields by these names rather than
//! by raw indices.

pub mod checksum;

/// Ethernet II.
pub mod ethernet {
    use std::ops::Range;

    pub const HEADER_LEN: usize = 14;
    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;

    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const VLAN: u16 = 0x8100;
    pub const QINQ: u16 = 0x88a8;
    pub const IPV6: u16 = 0x86dd;

    /// The EtherType of a frame (None if it is too short to have one).
    #[inline]
    pub fn ethertype(frame: &[u8]) -> Option<u16> {
        frame
            .get(ETHERTYPE)
            .map(|t| u16::from_be_bytes([t[0], t[1]]))
    }

    /// Whether the destination is a group (multicast or broadcast) address.
    #[inline]
    pub fn is_group(frame: &[u8]) -> bool {
        frame.first().is_some_and(|b| b & 1 == 1)
    }
}

/// IPv4 header fields, as offsets from the start of the header.
pub mod ipv4 {
    use std::ops::Range;

    pub const MIN_HEADER_LEN: usize = 20;
    pub const VERSION_IHL: usize = 0;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLAGS_FRAGMENT: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SOURCE: Range<usize> = 12..16;
    pub const DESTINATION: Range<usize> = 16..20;
}

/// IPv6 header fields, as offsets from the start of the header.
pub mod ipv6 {
    use std::ops::Range;

    pub const HEADER_LEN: usize = 40;
    pub const PAYLOAD_LEN: Range<usize> = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SOURCE: Range<usize> = 8..24;
    pub const DESTINATION: Range<usize> = 24..40;
}

/// IP protocol numbers.
pub mod ip_proto {
    pub const ICMP: u8 = 1;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const ICMPV6: u8 = 58;
    pub const OSPF: u8 = 89;
    pub const VRRP: u8 = 112;
}
