//! Prefixes as policies compare them: one representation for both families.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A network: IPv4 in the low 32 bits, or IPv6; host bits clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Net {
    pub addr: u128,
    pub len: u8,
    pub v6: bool,
}

impl Net {
    /// The network of `addr/len` (host bits cleared, length capped at the family's).
    pub fn new(addr: IpAddr, len: u8) -> Net {
        let (a, v6) = match addr {
            IpAddr::V4(a) => (u128::from(u32::from(a)), false),
            IpAddr::V6(a) => (u128::from(a), true),
        };
        let max = if v6 { 128 } else { 32 };
        let len = len.min(max);
        Net {
            addr: a & Net::mask(len, max),
            len,
            v6,
        }
    }

    pub fn of(p: &savin_config::model::Prefix) -> Net {
        Net::new(p.addr, p.len)
    }

    pub fn max_len(&self) -> u8 {
        if self.v6 {
            128
        } else {
            32
        }
    }

    fn mask(len: u8, max: u8) -> u128 {
        if len == 0 {
            0
        } else {
            let ones = u128::MAX << (128 - u32::from(len));
            ones >> (128 - u32::from(max))
        }
    }

    /// Whether `other` lies within this network (same family, at least as long).
    pub fn covers(&self, other: &Net) -> bool {
        self.v6 == other.v6
            && other.len >= self.len
            && other.addr & Net::mask(self.len, self.max_len()) == self.addr
    }

    pub fn ip(&self) -> IpAddr {
        if self.v6 {
            IpAddr::V6(Ipv6Addr::from(self.addr))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.addr as u32))
        }
    }
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.ip(), self.len)
    }
}
