//! Wire formats in one place: Ethernet, IPv4 and IPv6 field offsets by name and views over
//! them (checked once, so no accessor panics), EtherTypes and IP protocol numbers, the
//! Internet checksum, and the frames a router builds (ARP, ICMP and ICMPv6 errors and echo
//! replies, Neighbor Discovery, TCP resets, IPv4 fragments). The fast path keeps its
//! hand-placed loads but takes the offsets from here; the control plane reads fields through
//! the views rather than by raw indices.

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod icmp;
pub mod icmp6;
pub mod ipv4;
pub mod ipv6;
pub mod mpegts;
pub mod nd;
pub mod rtp;
pub mod tcp;

/// A buffer too short for the header it should hold (or whose header claims more than the
/// buffer has).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncated;

impl std::fmt::Display for Truncated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("truncated")
    }
}

impl std::error::Error for Truncated {}

/// IP protocol numbers.
pub mod ip_proto {
    pub const ICMP: u8 = 1;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const ICMPV6: u8 = 58;
    pub const OSPF: u8 = 89;
    pub const VRRP: u8 = 112;
}
