//! IPv4 header fields, as offsets from the start of the header; a view over a packet; and the
//! fragmentation of a frame (RFC 791).

use std::net::Ipv4Addr;
use std::ops::Range;

use crate::{checksum, ethernet, Truncated};

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

/// Flag bits in the flags-and-offset word.
pub const DONT_FRAGMENT: u16 = 0x4000;
pub const MORE_FRAGMENTS: u16 = 0x2000;
pub const OFFSET_MASK: u16 = 0x1fff;

/// An IPv4 packet: a buffer checked to hold version 4, a header of at least 20 bytes, and
/// the total length the header claims (bytes after it, Ethernet padding, are left out of
/// `payload`). The header checksum is not checked: see [`Packet::checksum_ok`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buf: T) -> Result<Packet<T>, Truncated> {
        let p = Packet::new_quoted(buf)?;
        if p.total_len() > p.b().len() {
            return Err(Truncated);
        }
        Ok(p)
    }

    /// The view of a packet whose header is whole but whose payload may be cut short (the
    /// copy an error quotes): `payload` is what there is of it.
    pub fn new_quoted(buf: T) -> Result<Packet<T>, Truncated> {
        let b = buf.as_ref();
        if b.len() < MIN_HEADER_LEN || b[0] >> 4 != 4 {
            return Err(Truncated);
        }
        let ihl = usize::from(b[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([b[2], b[3]]));
        if ihl < MIN_HEADER_LEN || total < ihl || ihl > b.len() {
            return Err(Truncated);
        }
        Ok(Packet { buf })
    }

    fn b(&self) -> &[u8] {
        self.buf.as_ref()
    }

    pub fn header_len(&self) -> usize {
        usize::from(self.b()[0] & 0x0f) * 4
    }

    pub fn total_len(&self) -> usize {
        usize::from(u16::from_be_bytes([self.b()[2], self.b()[3]]))
    }

    /// The flags-and-offset word.
    pub fn flags_fragment(&self) -> u16 {
        u16::from_be_bytes([self.b()[6], self.b()[7]])
    }

    /// The offset of this fragment, in bytes.
    pub fn fragment_offset(&self) -> usize {
        usize::from(self.flags_fragment() & OFFSET_MASK) * 8
    }

    pub fn ttl(&self) -> u8 {
        self.b()[TTL]
    }

    pub fn protocol(&self) -> u8 {
        self.b()[PROTOCOL]
    }

    pub fn source(&self) -> Ipv4Addr {
        let s = &self.b()[SOURCE];
        Ipv4Addr::new(s[0], s[1], s[2], s[3])
    }

    pub fn destination(&self) -> Ipv4Addr {
        let d = &self.b()[DESTINATION];
        Ipv4Addr::new(d[0], d[1], d[2], d[3])
    }

    pub fn header(&self) -> &[u8] {
        &self.b()[..self.header_len()]
    }

    /// The payload the total length claims (as much of it as there is, for a quote).
    pub fn payload(&self) -> &[u8] {
        let end = self.total_len().min(self.b().len());
        &self.b()[self.header_len()..end]
    }

    pub fn checksum_ok(&self) -> bool {
        checksum::sum(self.header()) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Recomputes the header checksum.
    pub fn fill_checksum(&mut self) {
        let n = self.header_len();
        let b = self.buf.as_mut();
        b[CHECKSUM].copy_from_slice(&[0, 0]);
        let c = checksum::checksum(&b[..n]);
        b[CHECKSUM].copy_from_slice(&c.to_be_bytes());
    }
}

/// Splits an IPv4 frame into frames whose IP packets fit `mtu` (RFC 791 section 3.2): data
/// in multiples of 8 bytes, MF on all but the last (and on the last if the original was
/// itself a non-final fragment), offsets relative to the original's, and only the options
/// with the copied flag repeated after the first fragment. Returns nothing if the frame is
/// not a whole IPv4 packet or `mtu` leaves no room for 8 bytes of data.
pub fn fragment(frame: &[u8], mtu: u16) -> Vec<Vec<u8>> {
    let l3 = ethernet::HEADER_LEN;
    let Some(p) = frame.get(l3..).and_then(|b| Packet::new_checked(b).ok()) else {
        return Vec::new();
    };
    let header = p.header();
    let payload = p.payload();
    let flags_off = p.flags_fragment();
    let orig_mf = flags_off & MORE_FRAGMENTS != 0;
    let orig_off = usize::from(flags_off & OFFSET_MASK);
    // Fragments must not run past the 16-bit offset space (a hostile fragment with a high
    // offset would otherwise carry into the flag bits).
    if orig_off * 8 + payload.len() > usize::from(u16::MAX) {
        return Vec::new();
    }
    let later = later_header(header);
    let mtu = usize::from(mtu);
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < payload.len() {
        let hdr: &[u8] = if pos == 0 { header } else { &later };
        let room = mtu.saturating_sub(hdr.len()) / 8 * 8;
        if room == 0 {
            return Vec::new();
        }
        let len = room.min(payload.len() - pos);
        let last = pos + len == payload.len();
        let mut f = Vec::with_capacity(l3 + hdr.len() + len);
        f.extend_from_slice(&frame[..l3]);
        f.extend_from_slice(hdr);
        f.extend_from_slice(&payload[pos..pos + len]);
        let ip = &mut f[l3..];
        ip[VERSION_IHL] = 0x40 | (hdr.len() / 4) as u8;
        ip[TOTAL_LEN].copy_from_slice(&((hdr.len() + len) as u16).to_be_bytes());
        let mf = !last || orig_mf;
        let fo = (flags_off & DONT_FRAGMENT)
            | if mf { MORE_FRAGMENTS } else { 0 }
            | (orig_off + pos / 8) as u16;
        ip[FLAGS_FRAGMENT].copy_from_slice(&fo.to_be_bytes());
        ip[CHECKSUM].copy_from_slice(&[0, 0]);
        let c = checksum::checksum(&ip[..hdr.len()]);
        ip[CHECKSUM].copy_from_slice(&c.to_be_bytes());
        out.push(f);
        pos += len;
    }
    out
}

/// The header of the second and later fragments: the fixed part and the options whose copied
/// flag is set, padded to a multiple of 4 bytes.
fn later_header(header: &[u8]) -> Vec<u8> {
    let mut h = header[..MIN_HEADER_LEN].to_vec();
    let mut i = MIN_HEADER_LEN;
    while i < header.len() {
        let t = header[i];
        match t {
            0 => break,
            1 => i += 1,
            _ => {
                let Some(&l) = header.get(i + 1) else { break };
                let l = usize::from(l);
                if l < 2 || i + l > header.len() {
                    break;
                }
                if t & 0x80 != 0 {
                    h.extend_from_slice(&header[i..i + l]);
                }
                i += l;
            }
        }
    }
    while !h.len().is_multiple_of(4) {
        h.push(0);
    }
    h
}
