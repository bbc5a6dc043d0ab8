//! IPv6 Neighbor Discovery (RFC 4861) on the wire: the addresses it derives and the bodies
//! of its messages (the ICMPv6 frame around them is [`crate::icmp6::build`]).

use std::net::Ipv6Addr;

use crate::icmp6::{NEIGHBOR_ADVERT, NEIGHBOR_SOLICIT};

/// Option types.
pub const SLLA: u8 = 1;
pub const TLLA: u8 = 2;
/// NA flags.
pub const ROUTER: u8 = 0x80;
pub const SOLICITED: u8 = 0x40;
pub const OVERRIDE: u8 = 0x20;

/// The modified EUI-64 link-local address of a MAC (RFC 4291 appendix A).
pub fn link_local(mac: [u8; 6]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a[0] = 0xfe;
    a[1] = 0x80;
    a[8] = mac[0] ^ 0x02;
    a[9] = mac[1];
    a[10] = mac[2];
    a[11] = 0xff;
    a[12] = 0xfe;
    a[13] = mac[3];
    a[14] = mac[4];
    a[15] = mac[5];
    Ipv6Addr::from(a)
}

/// The solicited-node multicast group of `ip` (ff02::1:ffXX:XXXX).
pub fn solicited_node(ip: Ipv6Addr) -> Ipv6Addr {
    let o = ip.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, o[13], o[14], o[15],
    ])
}

/// The Ethernet address of an IPv6 multicast group (33:33 and its low 32 bits).
pub fn multicast_mac(group: Ipv6Addr) -> [u8; 6] {
    let o = group.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

/// The ICMPv6 body of a neighbour solicitation for `target`, with our link-layer address
/// when we have one to give (not in a DAD probe).
pub fn neighbor_solicit(target: Ipv6Addr, slla: Option<[u8; 6]>) -> Vec<u8> {
    let mut b = vec![NEIGHBOR_SOLICIT, 0, 0, 0, 0, 0, 0, 0];
    b.extend_from_slice(&target.octets());
    if let Some(mac) = slla {
        b.extend_from_slice(&[SLLA, 1]);
        b.extend_from_slice(&mac);
    }
    b
}

/// The ICMPv6 body of a neighbour advertisement for `target` with `flags`.
pub fn neighbor_advert(target: Ipv6Addr, flags: u8, mac: [u8; 6]) -> Vec<u8> {
    let mut b = vec![NEIGHBOR_ADVERT, 0, 0, 0, flags, 0, 0, 0];
    b.extend_from_slice(&target.octets());
    b.extend_from_slice(&[TLLA, 1]);
    b.extend_from_slice(&mac);
    b
}
