//! IPv4 header checks and the forwarding rewrite, on raw frame bytes.
//!
//! Hand-written rather than through a wire crate's views: the forwarding path needs exactly
//! these few fields, checked once, and the TTL/checksum rewrite in place.

use crate::checksum;
use crate::counters::DropReason;

pub const ETH_HDR: usize = savin_wire::ethernet::HEADER_LEN;
pub const ETHERTYPE_IPV4: u16 = savin_wire::ethernet::IPV4;

/// Checks the IPv4 header that starts at `l3` in `frame`; returns the destination address.
#[inline]
pub fn check(frame: &[u8], l3: usize) -> Result<u32, DropReason> {
    let ip = frame.get(l3..).ok_or(DropReason::Truncated)?;
    if ip.len() < 20 {
        return Err(DropReason::Truncated);
    }
    if ip[0] >> 4 != 4 {
        return Err(DropReason::BadVersion);
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    if ihl < 20 || ihl > ip.len() {
        return Err(DropReason::BadHeaderLength);
    }
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if total < ihl || total > ip.len() {
        return Err(DropReason::BadTotalLength);
    }
    if checksum::sum(&ip[..ihl]) != 0xffff {
        return Err(DropReason::BadChecksum);
    }
    if ihl > 20 && !options_well_formed(&ip[20..ihl]) {
        return Err(DropReason::BadOptions);
    }
    Ok(u32::from_be_bytes([ip[16], ip[17], ip[18], ip[19]]))
}

/// Whether the options area parses as a list of options (RFC 791 section 3.1): end of list,
/// no-operation, or type-length-value with a length of at least 2 that stays in the header.
fn options_well_formed(mut opts: &[u8]) -> bool {
    while let Some(&t) = opts.first() {
        match t {
            0 => return true,
            1 => opts = &opts[1..],
            _ => match opts.get(1) {
                Some(&l) if l >= 2 && usize::from(l) <= opts.len() => {
                    opts = &opts[usize::from(l)..]
                }
                _ => return false,
            },
        }
    }
    true
}

/// Decrements the TTL with an incremental checksum update. Fails when the TTL would reach
/// zero (the packet must not be forwarded). Always inlined: once per forwarded packet, and
/// the router's stage is too large for the compiler to inline it on its own.
#[inline(always)]
pub fn decrement_ttl(frame: &mut [u8], l3: usize) -> Result<(), DropReason> {
    let ttl = frame[l3 + 8];
    if ttl <= 1 {
        return Err(DropReason::TtlExpired);
    }
    let old = u16::from_be_bytes([ttl, frame[l3 + 9]]);
    let new = old - 0x0100;
    frame[l3 + 8] = ttl - 1;
    let check = u16::from_be_bytes([frame[l3 + 10], frame[l3 + 11]]);
    frame[l3 + 10..l3 + 12].copy_from_slice(&checksum::update(check, old, new).to_be_bytes());
    Ok(())
}

/// Builds a minimal valid IPv4/UDP frame (for tests and benchmarks).
pub fn test_frame(src: [u8; 4], dst: [u8; 4], ttl: u8, len: usize) -> Vec<u8> {
    let len = len.max(ETH_HDR + 28);
    let mut f = vec![0u8; len];
    f[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 0xaa]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0xbb]);
    f[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    let ip = &mut f[ETH_HDR..];
    ip[0] = 0x45;
    let total = (len - ETH_HDR) as u16;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[8] = ttl;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
    let c = checksum::checksum(&ip[..20]);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip[20..22].copy_from_slice(&1234u16.to_be_bytes());
    ip[22..24].copy_from_slice(&5678u16.to_be_bytes());
    ip[24..26].copy_from_slice(&(total - 20).to_be_bytes());
    f
}
