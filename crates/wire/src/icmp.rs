//! ICMP as a router speaks it (RFC 792, RFC 1812 section 4.3): echo replies for the box's own
//! addresses, and error messages (time exceeded, destination unreachable, fragmentation
//! needed) quoting the offending packet, sent at a bounded rate.

use std::net::Ipv4Addr;

use crate::checksum;
use crate::ethernet::{HEADER_LEN as ETH_HDR, IPV4 as ETHERTYPE_IPV4};

pub const ECHO_REPLY: u8 = 0;
pub const DEST_UNREACHABLE: u8 = 3;
pub const ECHO_REQUEST: u8 = 8;
pub const TIME_EXCEEDED: u8 = 11;

/// Codes of destination unreachable used by a router.
pub mod unreachable {
    pub const NET: u8 = 0;
    pub const HOST: u8 = 1;
    pub const FRAGMENTATION_NEEDED: u8 = 4;
    /// "Communication administratively prohibited" (RFC 1812): a `reject` route.
    pub const ADMIN_PROHIBITED: u8 = 13;
}

/// Turns an ICMP echo request (a checked IPv4 frame) into its reply, in place: addresses
/// swapped, type 0, checksums updated. Returns false if the frame is not an echo request.
pub fn echo_reply_in_place(frame: &mut [u8]) -> bool {
    let l3 = ETH_HDR;
    if frame.len() < l3 + 20 {
        return false;
    }
    let ihl = usize::from(frame[l3] & 0x0f) * 4;
    let l4 = l3 + ihl;
    if frame[l3 + 9] != 1 || frame.len() < l4 + 8 || frame[l4] != ECHO_REQUEST {
        return false;
    }
    // Fragments of an echo request are not answered one by one.
    if u16::from_be_bytes([frame[l3 + 6], frame[l3 + 7]]) & 0x3fff != 0 {
        return false;
    }
    let (dst, src) = frame.split_at_mut(6);
    dst.swap_with_slice(&mut src[..6]);
    for i in 0..4 {
        frame.swap(l3 + 12 + i, l3 + 16 + i);
    }
    // Swapping two 32-bit fields leaves the IPv4 header checksum unchanged; the TTL is reset.
    let old = u16::from_be_bytes([frame[l3 + 8], frame[l3 + 9]]);
    frame[l3 + 8] = 64;
    let new = u16::from_be_bytes([frame[l3 + 8], frame[l3 + 9]]);
    let c = checksum::update(
        u16::from_be_bytes([frame[l3 + 10], frame[l3 + 11]]),
        old,
        new,
    );
    frame[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
    let old = u16::from_be_bytes([frame[l4], frame[l4 + 1]]);
    frame[l4] = ECHO_REPLY;
    let new = u16::from_be_bytes([frame[l4], frame[l4 + 1]]);
    let c = checksum::update(u16::from_be_bytes([frame[l4 + 2], frame[l4 + 3]]), old, new);
    frame[l4 + 2..l4 + 4].copy_from_slice(&c.to_be_bytes());
    true
}

/// Whether an ICMP error may be sent about this (checked IPv4) frame, per RFC 1812 4.3.2.7:
/// never about an ICMP error, a non-initial fragment, or a broadcast/multicast or invalid
/// source.
pub fn may_send_error_about(frame: &[u8]) -> bool {
    let l3 = ETH_HDR;
    if frame.len() < l3 + 20 || frame[0] & 1 != 0 {
        return false;
    }
    let ihl = usize::from(frame[l3] & 0x0f) * 4;
    let src = Ipv4Addr::new(
        frame[l3 + 12],
        frame[l3 + 13],
        frame[l3 + 14],
        frame[l3 + 15],
    );
    if src.is_unspecified() || src.is_broadcast() || src.is_multicast() || src.is_loopback() {
        return false;
    }
    if u16::from_be_bytes([frame[l3 + 6], frame[l3 + 7]]) & 0x1fff != 0 {
        return false;
    }
    if frame[l3 + 9] == 1 {
        let t = frame.get(l3 + ihl).copied().unwrap_or(0);
        if !matches!(t, ECHO_REQUEST | ECHO_REPLY | 13 | 14 | 17 | 18) {
            return false; // an error (or unknown type) is never answered with an error
        }
    }
    true
}

/// An ICMP error about `original` (a checked IPv4 frame), from `router` to its source:
/// Ethernet addresses swapped (the caller rewrites them for the return path), the original
/// packet quoted as far as 576 bytes allow. `mtu` fills the next-hop MTU field of
/// fragmentation-needed messages.
pub fn error(original: &[u8], kind: u8, code: u8, router: Ipv4Addr, mtu: u16) -> Vec<u8> {
    let l3 = ETH_HDR;
    let ihl = usize::from(original[l3] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([original[l3 + 2], original[l3 + 3]]));
    // As much of the original as keeps the error within 576 bytes (RFC 1812 4.3.2.3); at
    // least the header and 8 bytes, which is all RFC 792 asked for.
    let quote_len = total.min(548).max(ihl + 8).min(original.len() - l3);
    let quoted = &original[l3..l3 + quote_len];
    let icmp_len = 8 + quoted.len();
    let mut f = Vec::with_capacity(ETH_HDR + 20 + icmp_len);
    f.extend_from_slice(&original[6..12]);
    f.extend_from_slice(&original[..6]);
    f.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    let ip_total = (20 + icmp_len) as u16;
    f.extend_from_slice(&[0x45, 0xc0]); // TOS: internetwork control, as routers send errors
    f.extend_from_slice(&ip_total.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0, 64, 1, 0, 0]);
    f.extend_from_slice(&router.octets());
    f.extend_from_slice(&original[l3 + 12..l3 + 16]);
    let c = checksum::checksum(&f[l3..l3 + 20]);
    f[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
    let l4 = f.len();
    f.extend_from_slice(&[kind, code, 0, 0, 0, 0]);
    f.extend_from_slice(
        &if kind == DEST_UNREACHABLE && code == unreachable::FRAGMENTATION_NEEDED {
            mtu.to_be_bytes()
        } else {
            [0, 0]
        },
    );
    f.extend_from_slice(quoted);
    let c = checksum::checksum(&f[l4..]);
    f[l4 + 2..l4 + 4].copy_from_slice(&c.to_be_bytes());
    f
}
