//! ARP (RFC 826) for IPv4 over Ethernet: the frame.

use std::net::Ipv4Addr;

pub const REQUEST: u16 = 1;
pub const REPLY: u16 = 2;

/// The operation of an ARP frame (request or reply), if it is one.
pub fn operation(frame: &[u8]) -> Option<u16> {
    if crate::ethernet::ethertype(frame) != Some(crate::ethernet::ARP) {
        return None;
    }
    let at = crate::ethernet::HEADER_LEN + 6;
    frame
        .get(at..at + 2)
        .map(|o| u16::from_be_bytes([o[0], o[1]]))
}

/// An Ethernet ARP frame (padded to the 60-byte minimum).
pub fn frame(
    op: u16,
    dst: [u8; 6],
    sha: [u8; 6],
    spa: Ipv4Addr,
    tha: [u8; 6],
    tpa: Ipv4Addr,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(60);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sha);
    f.extend_from_slice(&[0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4]);
    f.extend_from_slice(&op.to_be_bytes());
    f.extend_from_slice(&sha);
    f.extend_from_slice(&spa.octets());
    f.extend_from_slice(&tha);
    f.extend_from_slice(&tpa.octets());
    f.resize(60, 0);
    f
}
