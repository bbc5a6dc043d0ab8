//! TCP: header fields, and the reset a router sends for a refused connection.

use std::ops::Range;

use crate::{checksum, ethernet, ip_proto, ipv4};

pub const MIN_HEADER_LEN: usize = 20;
pub const SOURCE_PORT: Range<usize> = 0..2;
pub const DESTINATION_PORT: Range<usize> = 2..4;
pub const SEQUENCE: Range<usize> = 4..8;
pub const ACKNOWLEDGMENT: Range<usize> = 8..12;
pub const DATA_OFFSET: usize = 12;
pub const FLAGS: usize = 13;

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const ACK: u8 = 0x10;

fn word(b: &[u8], r: Range<usize>) -> u32 {
    u32::from_be_bytes([b[r.start], b[r.start + 1], b[r.start + 2], b[r.start + 3]])
}

/// The RST that refuses the TCP segment in an IPv4 frame (RFC 9293 3.10.7.1), from its
/// destination back to its source; Ethernet addresses swapped (the sender rewrites them for
/// the return path). The frame may be a quote, cut after the TCP header. None: not a first
/// fragment of TCP with a whole header, or a RST itself (never answered).
pub fn reset(frame: &[u8]) -> Option<Vec<u8>> {
    let l3 = ethernet::HEADER_LEN;
    let eth = ethernet::Frame::new_checked(frame).ok()?;
    let ip = ipv4::Packet::new_quoted(eth.payload()).ok()?;
    if ip.protocol() != ip_proto::TCP || ip.fragment_offset() != 0 {
        return None;
    }
    let t = ip.payload();
    if t.len() < MIN_HEADER_LEN || t[FLAGS] & RST != 0 {
        return None;
    }
    let data_off = usize::from(t[DATA_OFFSET] >> 4) * 4;
    let segment = ip.total_len() - ip.header_len();
    if data_off < MIN_HEADER_LEN || data_off > segment {
        return None;
    }
    let flags = t[FLAGS];
    // Sequence space the segment took: its data, and one each for SYN and FIN.
    let end = word(t, SEQUENCE)
        .wrapping_add((segment - data_off) as u32)
        .wrapping_add(u32::from(flags & SYN != 0))
        .wrapping_add(u32::from(flags & FIN != 0));
    let (seq, ack, out_flags) = if flags & ACK != 0 {
        (word(t, ACKNOWLEDGMENT), 0, RST)
    } else {
        (0, end, RST | ACK)
    };
    let mut r = Vec::with_capacity(l3 + 40);
    ethernet::put_header(&mut r, eth.source(), eth.destination(), ethernet::IPV4);
    r.extend_from_slice(&[0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, ip_proto::TCP, 0, 0]);
    r.extend_from_slice(&ip.destination().octets());
    r.extend_from_slice(&ip.source().octets());
    let c = checksum::checksum(&r[l3..l3 + 20]);
    r[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
    let at = r.len();
    r.extend_from_slice(&t[DESTINATION_PORT]);
    r.extend_from_slice(&t[SOURCE_PORT]);
    r.extend_from_slice(&seq.to_be_bytes());
    r.extend_from_slice(&ack.to_be_bytes());
    r.extend_from_slice(&[0x50, out_flags, 0, 0, 0, 0, 0, 0]);
    let pseudo = checksum::add(
        checksum::add(0, &r[l3 + 12..l3 + 20]),
        &[0, ip_proto::TCP, 0, 20],
    );
    let c = checksum::fold(checksum::add(pseudo, &r[at..]));
    r[at + 16..at + 18].copy_from_slice(&c.to_be_bytes());
    Some(r)
}
