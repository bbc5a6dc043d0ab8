//! IPv6 header checks and the forwarding rewrite, on raw frame bytes (as `ipv4`).

use crate::counters::DropReason;

pub const ETHERTYPE_IPV6: u16 = savin_wire::ethernet::IPV6;
pub const HDR: usize = 40;
/// Next header values the data plane looks at.
pub const NH_ICMPV6: u8 = 58;

/// Checks the IPv6 header that starts at `l3` in `frame`; returns the destination address.
#[inline]
pub fn check(frame: &[u8], l3: usize) -> Result<u128, DropReason> {
    let ip = frame.get(l3..).ok_or(DropReason::Truncated)?;
    if ip.len() < HDR {
        return Err(DropReason::Truncated);
    }
    if ip[0] >> 4 != 6 {
        return Err(DropReason::BadVersion);
    }
    let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
    // A zero payload length means a jumbogram (RFC 2675), which Ethernet never carries.
    if HDR + plen > ip.len() || (plen == 0 && ip[6] == 0) {
        return Err(DropReason::BadTotalLength);
    }
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&ip[24..40]);
    Ok(u128::from_be_bytes(dst))
}

/// Link-local (fe80::/10) and multicast (ff00::/8) destinations are never forwarded: they
/// are for the box (Neighbor Discovery, router solicitations) or dropped by it.
#[inline]
pub fn is_link_scope(dst: u128) -> bool {
    (dst >> 120) == 0xff || (dst >> 118) == (0xfe80 >> 6)
}

/// The packet's length on the wire after the Ethernet header.
#[inline]
pub fn total_len(frame: &[u8], l3: usize) -> usize {
    HDR + usize::from(u16::from_be_bytes([frame[l3 + 4], frame[l3 + 5]]))
}

/// Decrements the hop limit (no header checksum in IPv6). Fails when it would reach zero.
#[inline]
pub fn decrement_hop_limit(frame: &mut [u8], l3: usize) -> Result<(), DropReason> {
    let h = frame[l3 + 7];
    if h <= 1 {
        return Err(DropReason::TtlExpired);
    }
    frame[l3 + 7] = h - 1;
    Ok(())
}

/// Builds a minimal valid IPv6/UDP frame (for tests and benchmarks).
pub fn test_frame(src: [u8; 16], dst: [u8; 16], hop_limit: u8, len: usize) -> Vec<u8> {
    let len = len.max(14 + HDR + 8);
    let mut f = vec![0u8; len];
    f[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 0xaa]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0xbb]);
    f[12..14].copy_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
    let ip = &mut f[14..];
    ip[0] = 0x60;
    let plen = (len - 14 - HDR) as u16;
    ip[4..6].copy_from_slice(&plen.to_be_bytes());
    ip[6] = 17;
    ip[7] = hop_limit;
    ip[8..24].copy_from_slice(&src);
    ip[24..40].copy_from_slice(&dst);
    ip[40..42].copy_from_slice(&1234u16.to_be_bytes());
    ip[42..44].copy_from_slice(&5678u16.to_be_bytes());
    ip[44..46].copy_from_slice(&plen.to_be_bytes());
    f
}
