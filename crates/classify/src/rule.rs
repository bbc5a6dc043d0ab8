//! Rules, packet headers, and the linear first-match scan that defines what is right.

/// An IPv4 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    pub addr: u32,
    pub len: u8,
}

impl Prefix {
    pub const ANY: Prefix = Prefix { addr: 0, len: 0 };

    /// The prefix with host bits cleared; `len` is capped at 32.
    pub fn new(addr: u32, len: u8) -> Prefix {
        let len = len.min(32);
        Prefix {
            addr: addr & mask(len),
            len,
        }
    }

    #[inline(always)]
    pub fn contains(&self, a: u32) -> bool {
        a & mask(self.len) == self.addr
    }
}

#[inline(always)]
pub(crate) fn mask(len: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(len.min(32)))
        .unwrap_or(0)
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
pub struct Rule {
    pub src: Prefix,
    pub dst: Prefix,
    pub sport: PortRange,
    pub dport: PortRange,
    /// None: any protocol.
    pub proto: Option<u8>,
}

impl Rule {
    pub const ANY: Rule = Rule {
        src: Prefix::ANY,
        dst: Prefix::ANY,
        sport: PortRange::ANY,
        dport: PortRange::ANY,
        proto: None,
    };

    /// A header this rule matches, drawn with `next` (random u32s): for tests and benchmarks.
    /// A protocol the rule leaves open is one of TCP, UDP, ICMP and GRE.
    pub fn sample(&self, next: &mut impl FnMut() -> u32) -> Header {
        let mut addr = |p: Prefix| p.addr | (next() & !mask(p.len));
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
    pub fn matches(&self, h: &Header) -> bool {
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
pub struct Header {
    pub src: u32,
    pub dst: u32,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
}

/// The definition: the first rule that matches, by scanning them all in order.
pub struct Linear {
    rules: Vec<Rule>,
}

impl Linear {
    pub fn new(rules: &[Rule]) -> Linear {
        Linear {
            rules: rules.to_vec(),
        }
    }

    pub fn classify(&self, h: &Header) -> Option<u32> {
        self.rules
            .iter()
            .position(|r| r.matches(h))
            .map(|i| i as u32)
    }
}
