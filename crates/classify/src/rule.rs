//! Rules, packet headers, and the linear first-match scan that defines what is right. IPv4
//! by default; the same types over `u128` are IPv6.

use crate::addr::Addr;

/// A prefix: IPv4 (`u32`) or IPv6 (`u128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix<A: Addr = u32> {
    pub addr: A,
    pub len: u8,
}

impl<A: Addr> Prefix<A> {
    pub const ANY: Prefix<A> = Prefix {
        addr: A::ZERO,
        len: 0,
    };

    /// The prefix with host bits cleared; `len` is capped at the address's bits.
    pub fn new(addr: A, len: u8) -> Prefix<A> {
        let len = len.min(A::BITS);
        Prefix {
            addr: addr & A::mask(len),
            len,
        }
    }

    #[inline(always)]
    pub fn contains(&self, a: A) -> bool {
        a & A::mask(self.len) == self.addr
    }
}

/// An inclusive port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

impl PortRange {
    pub const ANY: PortRange = PortRange {
        lo: 0,
        hi: u16::MAX,
    };

    pub fn exact(p: u16) -> PortRange {
        PortRange { lo: p, hi: p }
    }

    #[inline(always)]
    pub fn contains(&self, p: u16) -> bool {
        self.lo <= p && p <= self.hi
    }

    /// Bits fixed by the longest prefix that covers the range (16 for one port, 0 when the
    /// range straddles the top bit).
    pub(crate) fn prefix_len(&self) -> u8 {
        (self.lo ^ self.hi).leading_zeros() as u8
    }
}

/// A 5-tuple rule. Which action it stands for is the caller's (the rule's index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rule<A: Addr = u32> {
    pub src: Prefix<A>,
    pub dst: Prefix<A>,
    pub sport: PortRange,
    pub dport: PortRange,
    /// None: any protocol.
    pub proto: Option<u8>,
}

impl<A: Addr> Rule<A> {
    pub const ANY: Rule<A> = Rule {
        src: Prefix::ANY,
        dst: Prefix::ANY,
        sport: PortRange::ANY,
        dport: PortRange::ANY,
        proto: None,
    };

    /// A header this rule matches, drawn with `next` (random u32s): for tests and benchmarks.
    /// A protocol the rule leaves open is one of TCP, UDP, ICMP and GRE.
    pub fn sample(&self, next: &mut impl FnMut() -> u32) -> Header<A> {
        let mut addr = |p: Prefix<A>| {
            let host = A::from_words(next);
            // The prefix's bits, and the rest from `host`.
            p.addr | (host & !A::mask(p.len))
        };
        let (src, dst) = (addr(self.src), addr(self.dst));
        let mut port = |r: PortRange| r.lo + (next() % (u32::from(r.hi - r.lo) + 1)) as u16;
        let (sport, dport) = (port(self.sport), port(self.dport));
        Header {
            src,
            dst,
            sport,
            dport,
            proto: self.proto.unwrap_or([6, 17, 1, 47][next() as usize % 4]),
        }
    }

    #[inline(always)]
    pub fn matches(&self, h: &Header<A>) -> bool {
        self.src.contains(h.src)
            && self.dst.contains(h.dst)
            && self.sport.contains(h.sport)
            && self.dport.contains(h.dport)
            && match self.proto {
                Some(p) => p == h.proto,
                None => true,
            }
    }
}

/// What a packet is classified by. Ports are 0 for protocols without them (ICMP type and
/// code may be carried in them by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Header<A: Addr = u32> {
    pub src: A,
    pub dst: A,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
}

/// The definition: the first rule that matches, by scanning them all in order.
pub struct Linear<A: Addr = u32> {
    rules: Vec<Rule<A>>,
}

impl<A: Addr> Linear<A> {
    pub fn new(rules: &[Rule<A>]) -> Linear<A> {
        Linear {
            rules: rules.to_vec(),
        }
    }

    pub fn classify(&self, h: &Header<A>) -> Option<u32> {
        self.rules
            .iter()
            .position(|r| r.matches(h))
            .map(|i| i as u32)
    }
}
