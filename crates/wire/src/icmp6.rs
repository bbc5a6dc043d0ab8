//! ICMPv6 as a router speaks it (RFC 4443): echo replies for the box's own addresses, and
//! errors (destination unreachable, packet too big, time exceeded) quoting as much of the
//! offending packet as fits in the minimum MTU.

use std::net::Ipv6Addr;

use crate::checksum::{add, fold};
use crate::ethernet::IPV6 as ETHERTYPE_IPV6;
use crate::ip_proto::ICMPV6 as NH_ICMPV6;
use crate::ipv6::HEADER_LEN as HDR;

pub const DEST_UNREACHABLE: u8 = 1;
pub const PACKET_TOO_BIG: u8 = 2;
pub const TIME_EXCEEDED: u8 = 3;
pub const ECHO_REQUEST: u8 = 128;
pub const ECHO_REPLY: u8 = 129;
pub const ROUTER_SOLICIT: u8 = 133;
pub const NEIGHBOR_SOLICIT: u8 = 135;
pub const NEIGHBOR_ADVERT: u8 = 136;

/// Codes of destination unreachable used by a router.
pub mod unreachable {
    pub const NO_ROUTE: u8 = 0;
    pub const ADMIN_PROHIBITED: u8 = 1;
    pub const ADDRESS: u8 = 3;
}

const L3: usize = 14;
/// The minimum IPv6 MTU: an error never exceeds it (RFC 4443 2.4 c).
const MIN_MTU: usize = 1280;

/// The ICMPv6 checksum of the IPv6 packet at offset 14 of `frame` (over the pseudo header
/// and the whole ICMPv6 message), with the checksum field counted as it stands: 0 for a
/// valid message.
pub fn checksum(frame: &[u8]) -> u16 {
    let plen = usize::from(u16::from_be_bytes([frame[L3 + 4], frame[L3 + 5]]));
    let body = &frame[L3 + HDR..L3 + HDR + plen];
    let acc = add(0, &frame[L3 + 8..L3 + 40]) + plen as u32 + u32::from(NH_ICMPV6);
    fold(add(acc, body))
}

/// Writes the checksum of a built message.
fn seal(frame: &mut [u8]) {
    frame[L3 + HDR + 2..L3 + HDR + 4].copy_from_slice(&[0, 0]);
    let c = checksum(frame);
    frame[L3 + HDR + 2..L3 + HDR + 4].copy_from_slice(&c.to_be_bytes());
}

/// An Ethernet frame carrying an ICMPv6 message (`body` starts with the type), checksummed.
pub fn build(
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    body: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(L3 + HDR + body.len());
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
    f.extend_from_slice(&[0x60, 0, 0, 0]);
    f.extend_from_slice(&(body.len() as u16).to_be_bytes());
    f.extend_from_slice(&[NH_ICMPV6, hop_limit]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&dst.octets());
    f.extend_from_slice(body);
    seal(&mut f);
    f
}

/// The ICMPv6 type of a checked IPv6 frame whose next header is ICMPv6 (no extension
/// headers), with its code.
pub fn message_type(frame: &[u8]) -> Option<(u8, u8)> {
    if frame.len() < L3 + HDR + 4 || frame[L3 + 6] != NH_ICMPV6 {
        return None;
    }
    Some((frame[L3 + HDR], frame[L3 + HDR + 1]))
}

/// Turns an echo request (a checked IPv6 frame) into its reply, in place. Returns false if
/// the frame is not a valid echo request.
pub fn echo_reply_in_place(frame: &mut [u8]) -> bool {
    if message_type(frame) != Some((ECHO_REQUEST, 0)) || checksum(frame) != 0 {
        return false;
    }
    let (dst, src) = frame.split_at_mut(6);
    dst.swap_with_slice(&mut src[..6]);
    for i in 0..16 {
        frame.swap(L3 + 8 + i, L3 + 24 + i);
    }
    frame[L3 + 7] = 64;
    frame[L3 + HDR] = ECHO_REPLY;
    seal(frame);
    true
}

fn addr(frame: &[u8], at: usize) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&frame[at..at + 16]);
    Ipv6Addr::from(a)
}

/// The source address of an IPv6 frame.
pub fn source(frame: &[u8]) -> Ipv6Addr {
    addr(frame, L3 + 8)
}

/// The destination address of an IPv6 frame.
pub fn destination(frame: &[u8]) -> Ipv6Addr {
    addr(frame, L3 + 24)
}

/// Whether an ICMPv6 error may be sent about this (IPv6) frame (RFC 4443 2.4 e): never about
/// an error message, nor to an unspecified, multicast or loopback source.
pub fn may_send_error_about(frame: &[u8]) -> bool {
    if frame.len() < L3 + HDR || frame[0] & 1 != 0 {
        return false;
    }
    let src = source(frame);
    if src.is_unspecified() || src.is_multicast() || src.is_loopback() {
        return false;
    }
    if frame[L3 + 6] == NH_ICMPV6 {
        match frame.get(L3 + HDR) {
            Some(t) if *t >= 128 => {}
            _ => return false, // an error (or a truncated message) never gets an error
        }
    }
    true
}

/// An ICMPv6 error about `original` from `router` back to its source: Ethernet addresses
/// swapped (the caller rewrites them for the return path), the original quoted as far as
/// 1280 bytes allow. `param` is the MTU of packet too big (and 0 otherwise).
pub fn error(original: &[u8], kind: u8, code: u8, router: Ipv6Addr, param: u32) -> Vec<u8> {
    let quote = (original.len() - L3).min(MIN_MTU - HDR - 8);
    let mut body = Vec::with_capacity(8 + quote);
    body.extend_from_slice(&[kind, code, 0, 0]);
    body.extend_from_slice(&param.to_be_bytes());
    body.extend_from_slice(&original[L3..L3 + quote]);
    let mut dst_mac = [0u8; 6];
    dst_mac.copy_from_slice(&original[6..12]);
    let mut src_mac = [0u8; 6];
    src_mac.copy_from_slice(&original[..6]);
    build(dst_mac, src_mac, router, source(original), 64, &body)
}
