//! IPv6 header fields, as offsets from the start of the header, and a view over a packet.

use std::net::Ipv6Addr;
use std::ops::Range;

use crate::Truncated;

pub const HEADER_LEN: usize = 40;
pub const PAYLOAD_LEN: Range<usize> = 4..6;
pub const NEXT_HEADER: usize = 6;
pub const HOP_LIMIT: usize = 7;
pub const SOURCE: Range<usize> = 8..24;
pub const DESTINATION: Range<usize> = 24..40;

/// An IPv6 packet: a buffer checked to hold version 6, the fixed header and the payload the
/// header claims (extra bytes after it, Ethernet padding, are left out of `payload`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buf: T) -> Result<Packet<T>, Truncated> {
        let p = Packet::new_quoted(buf)?;
        if HEADER_LEN + p.payload_len() > p.buf.as_ref().len() {
            return Err(Truncated);
        }
        Ok(p)
    }

    /// The view of a packet whose fixed header is whole but whose payload may be cut short
    /// (the copy an error quotes): `payload` is what there is of it.
    pub fn new_quoted(buf: T) -> Result<Packet<T>, Truncated> {
        let b = buf.as_ref();
        if b.len() < HEADER_LEN || b[0] >> 4 != 6 {
            return Err(Truncated);
        }
        Ok(Packet { buf })
    }

    pub fn payload_len(&self) -> usize {
        let b = self.buf.as_ref();
        usize::from(u16::from_be_bytes([b[4], b[5]]))
    }

    pub fn next_header(&self) -> u8 {
        self.buf.as_ref()[NEXT_HEADER]
    }

    pub fn hop_limit(&self) -> u8 {
        self.buf.as_ref()[HOP_LIMIT]
    }

    pub fn source(&self) -> Ipv6Addr {
        addr(&self.buf.as_ref()[SOURCE])
    }

    pub fn destination(&self) -> Ipv6Addr {
        addr(&self.buf.as_ref()[DESTINATION])
    }

    /// The payload the header claims (as much of it as there is, for a quote).
    pub fn payload(&self) -> &[u8] {
        let b = self.buf.as_ref();
        &b[HEADER_LEN..(HEADER_LEN + self.payload_len()).min(b.len())]
    }
}

/// The address in a 16-byte field.
pub fn addr(b: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    Ipv6Addr::from(a)
}
