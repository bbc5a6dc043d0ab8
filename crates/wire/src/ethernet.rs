//! Ethernet II: field ranges, EtherTypes, and a view over a frame.

use std::ops::Range;

use crate::Truncated;

pub const HEADER_LEN: usize = 14;
pub const DESTINATION: Range<usize> = 0..6;
pub const SOURCE: Range<usize> = 6..12;
pub const ETHERTYPE: Range<usize> = 12..14;

pub const IPV4: u16 = 0x0800;
pub const ARP: u16 = 0x0806;
pub const VLAN: u16 = 0x8100;
pub const QINQ: u16 = 0x88a8;
pub const IPV6: u16 = 0x86dd;

/// The EtherType of a frame (None if it is too short to have one).
#[inline]
pub fn ethertype(frame: &[u8]) -> Option<u16> {
    frame
        .get(ETHERTYPE)
        .map(|t| u16::from_be_bytes([t[0], t[1]]))
}

/// Whether the destination is a group (multicast or broadcast) address.
#[inline]
pub fn is_group(frame: &[u8]) -> bool {
    frame.first().is_some_and(|b| b & 1 == 1)
}

/// An Ethernet II frame: a buffer checked to hold the header, so no accessor panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// The view, if `buf` holds a whole header.
    pub fn new_checked(buf: T) -> Result<Frame<T>, Truncated> {
        if buf.as_ref().len() < HEADER_LEN {
            return Err(Truncated);
        }
        Ok(Frame { buf })
    }

    pub fn destination(&self) -> [u8; 6] {
        let mut m = [0; 6];
        m.copy_from_slice(&self.buf.as_ref()[DESTINATION]);
        m
    }

    pub fn source(&self) -> [u8; 6] {
        let mut m = [0; 6];
        m.copy_from_slice(&self.buf.as_ref()[SOURCE]);
        m
    }

    pub fn ethertype(&self) -> u16 {
        let b = self.buf.as_ref();
        u16::from_be_bytes([b[12], b[13]])
    }

    /// Whether the destination is a group (multicast or broadcast) address.
    pub fn is_group(&self) -> bool {
        self.buf.as_ref()[0] & 1 == 1
    }

    /// What follows the header.
    pub fn payload(&self) -> &[u8] {
        &self.buf.as_ref()[HEADER_LEN..]
    }

    pub fn into_inner(self) -> T {
        self.buf
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    pub fn set_destination(&mut self, mac: [u8; 6]) {
        self.buf.as_mut()[DESTINATION].copy_from_slice(&mac);
    }

    pub fn set_source(&mut self, mac: [u8; 6]) {
        self.buf.as_mut()[SOURCE].copy_from_slice(&mac);
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buf.as_mut()[HEADER_LEN..]
    }
}

/// The header of a frame: `dst`, `src`, `ethertype`, appended to `out`.
pub fn put_header(out: &mut Vec<u8>, dst: [u8; 6], src: [u8; 6], ethertype: u16) {
    out.extend_from_slice(&dst);
    out.extend_from_slice(&src);
    out.extend_from_slice(&ethertype.to_be_bytes());
}
