//! Screens: the SRX's stateless and rate-based attack checks, run on every IPv4 packet that
//! enters a zone with an `ids-option` (before the session lookup), and on the first packet
//! of a flow (SYN flood, port scan, session limits). A screened packet is dropped and
//! counted per zone and attack.
//!
//! All state is fixed-size and allocated when the tables change: rates in direct-mapped
//! per-second counters (a collision restarts a count: approximate, never unbounded),
//! fragments and scans in small direct-mapped tables, session counts per address in an
//! open-addressing table sized from the session capacity.

/// The attacks counted, in `show security screen statistics` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Attack {
    IcmpFlood,
    UdpFlood,
    PortScan,
    TearDrop,
    SynFlood,
    Spoofing,
    PingOfDeath,
    Land,
    NoFlag,
    SynFin,
    SourceLimit,
    DestinationLimit,
    BlockFrag,
    SourceRouteOption,
    LooseSourceRoute,
    StrictSourceRoute,
    RecordRoute,
    TimestampOption,
    SecurityOption,
    StreamOption,
    BadOption,
    UnknownProtocol,
    IcmpFragment,
    IcmpLarge,
    IpSweep,
    UdpSweep,
    TcpSweep,
    WinNuke,
    SynFrag,
}

impl Attack {
    pub const N: usize = 29;
    pub const ALL: [Attack; Attack::N] = [
        Attack::IcmpFlood,
        Attack::UdpFlood,
        Attack::PortScan,
        Attack::TearDrop,
        Attack::SynFlood,
        Attack::Spoofing,
        Attack::PingOfDeath,
        Attack::Land,
        Attack::NoFlag,
        Attack::SynFin,
        Attack::SourceLimit,
        Attack::DestinationLimit,
        Attack::BlockFrag,
        Attack::SourceRouteOption,
        Attack::LooseSourceRoute,
        Attack::StrictSourceRoute,
        Attack::RecordRoute,
        Attack::TimestampOption,
        Attack::SecurityOption,
        Attack::StreamOption,
        Attack::BadOption,
        Attack::UnknownProtocol,
        Attack::IcmpFragment,
        Attack::IcmpLarge,
        Attack::IpSweep,
        Attack::UdpSweep,
        Attack::TcpSweep,
        Attack::WinNuke,
        Attack::SynFrag,
    ];

    /// The label `show security screen statistics` prints.
    pub fn label(self) -> &'static str {
        match self {
            Attack::IcmpFlood => "ICMP flood",
            Attack::UdpFlood => "UDP flood",
            Attack::PortScan => "TCP port scan",
            Attack::TearDrop => "IP tear drop",
            Attack::SynFlood => "TCP SYN flood",
            Attack::Spoofing => "IP spoofing",
            Attack::PingOfDeath => "ICMP ping of death",
            Attack::Land => "TCP land attack",
            Attack::NoFlag => "TCP no flag",
            Attack::SynFin => "TCP SYN FIN",
            Attack::SourceLimit => "Session source limit",
            Attack::DestinationLimit => "Session destination limit",
            Attack::BlockFrag => "IP block fragment",
            Attack::SourceRouteOption => "IP source route option",
            Attack::LooseSourceRoute => "IP loose source route option",
            Attack::StrictSourceRoute => "IP strict source route option",
            Attack::RecordRoute => "IP record route option",
            Attack::TimestampOption => "IP timestamp option",
            Attack::SecurityOption => "IP security option",
            Attack::StreamOption => "IP stream option",
            Attack::BadOption => "IP bad option",
            Attack::UnknownProtocol => "IP unknown protocol",
            Attack::IcmpFragment => "ICMP fragment",
            Attack::IcmpLarge => "Large ICMP packet",
            Attack::IpSweep => "IP sweep",
            Attack::UdpSweep => "UDP sweep",
            Attack::TcpSweep => "TCP sweep",
            Attack::WinNuke => "WinNuke attack",
            Attack::SynFrag => "TCP SYN fragment",
        }
    }

    /// The JSON member name (Junos XML style).
    pub fn key(self) -> &'static str {
        match self {
            Attack::IcmpFlood => "icmp-flood",
            Attack::UdpFlood => "udp-flood",
            Attack::PortScan => "tcp-port-scan",
            Attack::TearDrop => "ip-tear-drop",
            Attack::SynFlood => "tcp-syn-flood",
            Attack::Spoofing => "ip-spoofing",
            Attack::PingOfDeath => "icmp-ping-of-death",
            Attack::Land => "tcp-land-attack",
            Attack::NoFlag => "tcp-no-flag",
            Attack::SynFin => "tcp-syn-fin",
            Attack::SourceLimit => "session-source-limit",
            Attack::DestinationLimit => "session-destination-limit",
            Attack::BlockFrag => "ip-block-frag",
            Attack::SourceRouteOption => "ip-source-route-option",
            Attack::LooseSourceRoute => "ip-loose-source-route-option",
            Attack::StrictSourceRoute => "ip-strict-source-route-option",
            Attack::RecordRoute => "ip-record-route-option",
            Attack::TimestampOption => "ip-timestamp-option",
            Attack::SecurityOption => "ip-security-option",
            Attack::StreamOption => "ip-stream-option",
            Attack::BadOption => "ip-bad-option",
            Attack::UnknownProtocol => "ip-unknown-protocol",
            Attack::IcmpFragment => "icmp-fragment",
            Attack::IcmpLarge => "icmp-large",
            Attack::IpSweep => "ip-sweep",
            Attack::UdpSweep => "udp-sweep",
            Attack::TcpSweep => "tcp-sweep",
            Attack::WinNuke => "tcp-winnuke",
            Attack::SynFrag => "tcp-syn-frag",
        }
    }
}

pub use savin_security_tables::screen::{Screen, ScreenOption, SynFlood};

/// The first IP-layer check of `on` that `p` fails: fragments, options, protocol.
fn option_attack(on: u16, p: &Packet) -> Option<Attack> {
    if on & ScreenOption::BLOCK_FRAG != 0 && p.is_fragment() {
        return Some(Attack::BlockFrag);
    }
    // Junos's unknown protocols: numbers above 137 (IPv4).
    if on & ScreenOption::UNKNOWN_PROTOCOL != 0 && p.proto > 137 {
        return Some(Attack::UnknownProtocol);
    }
    if p.options == 0 {
        return None;
    }
    let has = |screen: u16, option: u8| on & screen != 0 && p.options & option != 0;
    let source_route = IpOptions::LOOSE_SOURCE_ROUTE | IpOptions::STRICT_SOURCE_ROUTE;
    [
        (ScreenOption::BAD_OPTION, IpOptions::BAD, Attack::BadOption),
        (
            ScreenOption::SOURCE_ROUTE,
            source_route,
            Attack::SourceRouteOption,
        ),
        (
            ScreenOption::LOOSE_SOURCE_ROUTE,
            IpOptions::LOOSE_SOURCE_ROUTE,
            Attack::LooseSourceRoute,
        ),
        (
            ScreenOption::STRICT_SOURCE_ROUTE,
            IpOptions::STRICT_SOURCE_ROUTE,
            Attack::StrictSourceRoute,
        ),
        (
            ScreenOption::RECORD_ROUTE,
            IpOptions::RECORD_ROUTE,
            Attack::RecordRoute,
        ),
        (
            ScreenOption::TIMESTAMP,
            IpOptions::TIMESTAMP,
            Attack::TimestampOption,
        ),
        (
            ScreenOption::SECURITY,
            IpOptions::SECURITY,
            Attack::SecurityOption,
        ),
        (
            ScreenOption::STREAM,
            IpOptions::STREAM,
            Attack::StreamOption,
        ),
    ]
    .into_iter()
    .find(|&(screen, option, _)| has(screen, option))
    .map(|(_, _, a)| a)
}

#[inline(always)]
fn mix(k: u64) -> u64 {
    let x = (k ^ (k >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^ (x >> 29)
}

/// Per-second counts by key, direct-mapped.
#[derive(Clone)]
struct Rates {
    slots: Vec<(u64, u32, u32)>,
}

impl Rates {
    const SLOTS: usize = 4096;

    fn new() -> Rates {
        Rates {
            slots: vec![(u64::MAX, 0, 0); Rates::SLOTS],
        }
    }

    /// Counts one for `key` in second `now`; the count so far this second.
    #[inline]
    fn count(&mut self, key: u64, now: u32) -> u32 {
        let s = &mut self.slots[mix(key) as usize & (Rates::SLOTS - 1)];
        if s.0 != key || s.1 != now {
            *s = (key, now, 0);
        }
        s.2 = s.2.saturating_add(1);
        s.2
    }
}

/// Port-scan windows per (source, destination).
#[derive(Clone, Copy)]
struct Scan {
    kind: u8,
    key: u64,
    start_us: u64,
    /// The distinct ports (a port scan) or addresses (a sweep) seen in the window.
    values: [u32; 10],
    n: u8,
}

/// What a [`Scan`] window counts.
const SCAN_PORTS: u8 = 1;
const SWEEP_TCP: u8 = 2;
const SWEEP_UDP: u8 = 3;
const SWEEP_ICMP: u8 = 4;

/// Fragments seen per datagram: up to four byte ranges, merged when they touch.
#[derive(Clone, Copy, Default)]
struct Frags {
    key: u128,
    at_ms: u64,
    ranges: [(u32, u32); 4],
    n: u8,
}

/// Open addressing, linear probing, backward-shift removal: live sessions per address.
#[derive(Clone)]
struct Counts {
    keys: Vec<u64>,
    vals: Vec<u32>,
    mask: usize,
}

impl Counts {
    fn new(capacity: usize) -> Counts {
        let slots = (capacity * 2).next_power_of_two().max(16);
        Counts {
            keys: vec![0; slots],
            vals: vec![0; slots],
            mask: slots - 1,
        }
    }

    fn slot(&self, a: u32) -> (usize, bool) {
        let k = u64::from(a) | 1 << 32;
        let mut i = mix(k) as usize & self.mask;
        loop {
            if self.keys[i] == k {
                return (i, true);
            }
            if self.keys[i] == 0 {
                return (i, false);
            }
            i = (i + 1) & self.mask;
        }
    }

    fn get(&self, a: u32) -> u32 {
        match self.slot(a) {
            (i, true) => self.vals[i],
            _ => 0,
        }
    }

    fn add(&mut self, a: u32) {
        let (i, found) = self.slot(a);
        if !found {
            self.keys[i] = u64::from(a) | 1 << 32;
            self.vals[i] = 0;
        }
        self.vals[i] += 1;
    }

    fn sub(&mut self, a: u32) {
        let (i, found) = self.slot(a);
        if !found {
            return;
        }
        self.vals[i] -= 1;
        if self.vals[i] > 0 {
            return;
        }
        let empty = savin_session::probe::close_hole(
            self,
            self.mask,
            i,
            |t, j| (t.keys[j] != 0).then(|| mix(t.keys[j]) as usize & t.mask),
            |t, from, to| {
                t.keys[to] = t.keys[from];
                t.vals[to] = t.vals[from];
            },
        );
        self.keys[empty] = 0;
    }
}

/// What the screens need to know of a packet.
#[derive(Debug, Clone, Copy, Default)]
pub struct Packet {
    pub src: u32,
    pub dst: u32,
    pub proto: u8,
    pub id: u16,
    /// Fragment offset in bytes, and whether more fragments follow.
    pub frag_offset: u32,
    pub more_fragments: bool,
    /// IP header and payload lengths.
    pub ihl: u32,
    pub payload: u32,
    /// TCP flags (first fragment of a TCP packet), and the destination port.
    pub tcp_flags: Option<u8>,
    pub dport: u16,
    /// The IP options present, as [`IpOptions`] bits.
    pub options: u8,
    /// An ICMP echo request (first fragment).
    pub icmp_echo: bool,
}

/// IP options found in a header, as bits of [`Packet::options`].
pub struct IpOptions;

impl IpOptions {
    pub const RECORD_ROUTE: u8 = 1;
    pub const TIMESTAMP: u8 = 2;
    pub const SECURITY: u8 = 4;
    pub const LOOSE_SOURCE_ROUTE: u8 = 8;
    pub const STRICT_SOURCE_ROUTE: u8 = 16;
    pub const STREAM: u8 = 32;
    /// An option whose length runs past the header or is too short (RFC 791).
    pub const BAD: u8 = 64;

    /// Walks the options area of an IPv4 header (the bytes after the fixed 20).
    pub fn of(area: &[u8]) -> u8 {
        let mut bits = 0;
        let mut i = 0;
        while i < area.len() {
            let kind = area[i];
            match kind {
                0 => break,
                1 => {
                    i += 1;
                    continue;
                }
                _ => {}
            }
            let len = usize::from(area.get(i + 1).copied().unwrap_or(0));
            if len < 2 || i + len > area.len() {
                return bits | IpOptions::BAD;
            }
            bits |= match kind {
                7 => IpOptions::RECORD_ROUTE,
                68 => IpOptions::TIMESTAMP,
                130 | 133 => IpOptions::SECURITY,
                131 => IpOptions::LOOSE_SOURCE_ROUTE,
                136 => IpOptions::STREAM,
                137 => IpOptions::STRICT_SOURCE_ROUTE,
                _ => 0,
            };
            i += len;
        }
        bits
    }
}

impl Packet {
    /// Reads a checked IPv4 frame (`l3` is where the IP header starts).
    pub fn of(f: &[u8], l3: usize) -> Packet {
        let ihl = u32::from(f[l3] & 0x0f) * 4;
        let total = u32::from(u16::from_be_bytes([f[l3 + 2], f[l3 + 3]]));
        let frag = u16::from_be_bytes([f[l3 + 6], f[l3 + 7]]);
        let proto = f[l3 + 9];
        let offset = u32::from(frag & 0x1fff) * 8;
        let l4 = l3 + ihl as usize;
        let tcp_flags = (proto == 6 && offset == 0)
            .then(|| f.get(l4 + 13).copied())
            .flatten();
        let dport = if offset == 0 && matches!(proto, 6 | 17) {
            f.get(l4 + 2..l4 + 4)
                .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]))
        } else {
            0
        };
        Packet {
            src: u32::from_be_bytes([f[l3 + 12], f[l3 + 13], f[l3 + 14], f[l3 + 15]]),
            dst: u32::from_be_bytes([f[l3 + 16], f[l3 + 17], f[l3 + 18], f[l3 + 19]]),
            proto,
            id: u16::from_be_bytes([f[l3 + 4], f[l3 + 5]]),
            frag_offset: offset,
            more_fragments: frag & 0x2000 != 0,
            ihl,
            payload: total.saturating_sub(ihl),
            tcp_flags,
            dport,
            icmp_echo: proto == 1 && offset == 0 && f.get(l4) == Some(&8),
            options: if ihl > 20 {
                f.get(l3 + 20..l3 + ihl as usize)
                    .map_or(IpOptions::BAD, IpOptions::of)
            } else {
                0
            },
        }
    }

    fn is_fragment(&self) -> bool {
        self.more_fragments || self.frag_offset != 0
    }

    /// A SYN without ACK: the first packet of a TCP connection.
    pub fn is_syn(&self) -> bool {
        self.tcp_flags.is_some_and(|f| f & 0x12 == 0x02)
    }
}

/// Where the route back to a packet's source leads, for the spoofing check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceRoute {
    /// No route: not judged (as an SRX, which checks only sources it has a route for).
    Unknown,
    /// Out of these ports (one, or the members of an equal-cost group).
    Ports([u16; 4], u8),
    /// One of the box's own addresses.
    Local,
}

/// A worker's screen state and counters.
pub struct ScreenState {
    icmp: Rates,
    udp: Rates,
    syn_port: Rates,
    syn_src: Rates,
    syn_dst: Rates,
    scans: Vec<Scan>,
    frags: Vec<Frags>,
    sources: Option<Counts>,
    destinations: Option<Counts>,
    /// SYN-flood alarms raised (the alarm threshold passed, once per second and target).
    pub alarms: u64,
}

/// An attack found by screen `s`: counted through `alarm` when the screen only alarms (and
/// the checks go on), else the packet's verdict.
macro_rules! attack {
    ($s:expr, $alarm:expr, $a:expr) => {{
        if $s.alarm_only {
            $alarm($a)
        } else {
            return Err($a);
        }
    }};
}

impl ScreenState {
    const SCANS: usize = 1024;
    const FRAGS: usize = 1024;

    /// State for screens; session counts only if some screen limits sessions, sized for
    /// `sessions` concurrent sessions.
    pub fn new(limits: bool, sessions: usize) -> ScreenState {
        ScreenState {
            icmp: Rates::new(),
            udp: Rates::new(),
            syn_port: Rates::new(),
            syn_src: Rates::new(),
            syn_dst: Rates::new(),
            scans: vec![
                Scan {
                    kind: 0,
                    key: u64::MAX,
                    start_us: 0,
                    values: [0; 10],
                    n: 0
                };
                ScreenState::SCANS
            ],
            frags: vec![Frags::default(); ScreenState::FRAGS],
            sources: limits.then(|| Counts::new(sessions)),
            destinations: limits.then(|| Counts::new(sessions)),
            alarms: 0,
        }
    }

    pub fn limits(&self) -> bool {
        self.sources.is_some()
    }

    /// The checks every packet entering the zone gets. `route` answers the spoofing check.
    /// Err: the first attack found (the packet is dropped); an `alarm-without-drop` screen
    /// runs every check and gives each attack found to `alarm` instead.
    pub fn packet_with(
        &mut self,
        s: &Screen,
        p: &Packet,
        in_port: u16,
        now_ms: u64,
        route: impl FnOnce(u32) -> SourceRoute,
        alarm: &mut impl FnMut(Attack),
    ) -> Result<(), Attack> {
        let now_s = (now_ms / 1000) as u32;
        if s.options != 0 {
            if let Some(a) = option_attack(s.options, p) {
                attack!(s, alarm, a);
            }
        }
        if let Some(flags) = p.tcp_flags {
            if s.syn_fin && flags & 0x03 == 0x03 {
                attack!(s, alarm, Attack::SynFin);
            }
            if s.no_flag && flags & 0x3f == 0 {
                attack!(s, alarm, Attack::NoFlag);
            }
            if s.land && p.is_syn() && p.src == p.dst {
                attack!(s, alarm, Attack::Land);
            }
            if s.winnuke && p.dport == 139 && flags & 0x20 != 0 {
                attack!(s, alarm, Attack::WinNuke);
            }
            if s.syn_frag && flags & 0x02 != 0 && p.more_fragments {
                attack!(s, alarm, Attack::SynFrag);
            }
        }
        if s.ping_death && p.proto == 1 && p.ihl + p.frag_offset + p.payload > 65_535 {
            attack!(s, alarm, Attack::PingOfDeath);
        }
        if p.proto == 1 {
            if s.icmp_fragment && p.is_fragment() {
                attack!(s, alarm, Attack::IcmpFragment);
            }
            if s.icmp_large && p.ihl + p.payload > 1024 {
                attack!(s, alarm, Attack::IcmpLarge);
            }
        }
        if s.tear_drop && p.is_fragment() && self.overlaps(p, now_ms) {
            attack!(s, alarm, Attack::TearDrop);
        }
        if s.spoofing {
            let spoofed = match route(p.src) {
                SourceRoute::Unknown => false,
                SourceRoute::Local => true,
                SourceRoute::Ports(ports, n) => !ports[..usize::from(n)].contains(&in_port),
            };
            if spoofed {
                attack!(s, alarm, Attack::Spoofing);
            }
        }
        let now_us = now_ms * 1000;
        match (p.proto, s.ip_sweep_us, s.udp_sweep_us) {
            (1, Some(w), _)
                if p.icmp_echo && self.scan(SWEEP_ICMP, p.src.into(), p.dst, now_us, w) =>
            {
                attack!(s, alarm, Attack::IpSweep)
            }
            (17, _, Some(w)) if p.frag_offset == 0 => {
                let key = u64::from(p.src) << 16 | u64::from(p.dport);
                if self.scan(SWEEP_UDP, key, p.dst, now_us, w) {
                    attack!(s, alarm, Attack::UdpSweep);
                }
            }
            _ => {}
        }
        match (p.proto, s.icmp_flood, s.udp_flood) {
            (1, Some(t), _) if self.icmp.count(u64::from(p.dst), now_s) > t => {
                attack!(s, alarm, Attack::IcmpFlood)
            }
            (17, _, Some(t)) if self.udp.count(u64::from(p.dst), now_s) > t => {
                attack!(s, alarm, Attack::UdpFlood)
            }
            _ => {}
        }
        Ok(())
    }

    /// The checks a SYN that would start a session gets: SYN flood and port scan (each
    /// attack to `alarm` when the screen only alarms, as [`ScreenState::packet`]).
    pub fn new_syn_with(
        &mut self,
        s: &Screen,
        p: &Packet,
        now_us: u64,
        alarm: &mut impl FnMut(Attack),
    ) -> Result<(), Attack> {
        let now_s = (now_us / 1_000_000) as u32;
        if let Some(f) = s.syn_flood {
            let to_port = self
                .syn_port
                .count(u64::from(p.dst) << 16 | u64::from(p.dport), now_s);
            if to_port == f.alarm + 1 {
                self.alarms += 1;
            }
            let from = self.syn_src.count(u64::from(p.src), now_s);
            let to = self.syn_dst.count(u64::from(p.dst), now_s);
            if to_port > f.attack || from > f.source || to > f.destination {
                attack!(s, alarm, Attack::SynFlood);
            }
        }
        if let Some(window) = s.port_scan_us {
            let key = u64::from(p.src) << 32 | u64::from(p.dst);
            if self.scan(SCAN_PORTS, key, u32::from(p.dport), now_us, window) {
                attack!(s, alarm, Attack::PortScan);
            }
        }
        if let Some(window) = s.tcp_sweep_us {
            let key = u64::from(p.src) << 16 | u64::from(p.dport);
            if self.scan(SWEEP_TCP, key, p.dst, now_us, window) {
                attack!(s, alarm, Attack::TcpSweep);
            }
        }
        Ok(())
    }

    /// [`ScreenState::packet_with`], alarms dropped (tests).
    #[cfg(test)]
    pub fn packet(
        &mut self,
        s: &Screen,
        p: &Packet,
        in_port: u16,
        now_ms: u64,
        route: impl FnOnce(u32) -> SourceRoute,
    ) -> Result<(), Attack> {
        self.packet_with(s, p, in_port, now_ms, route, &mut |_| {})
    }

    /// [`ScreenState::new_syn_with`], alarms dropped (tests).
    #[cfg(test)]
    pub fn new_syn(&mut self, s: &Screen, p: &Packet, now_us: u64) -> Result<(), Attack> {
        self.new_syn_with(s, p, now_us, &mut |_| {})
    }

    /// Counts `value` in the window of `(kind, key)`: whether ten distinct values were seen
    /// within `window_us` (the rest of the window is refused too).
    fn scan(&mut self, kind: u8, key: u64, value: u32, now_us: u64, window_us: u32) -> bool {
        let slot = mix(key ^ u64::from(kind) << 56) as usize & (ScreenState::SCANS - 1);
        let e = &mut self.scans[slot];
        if e.kind != kind
            || e.key != key
            || now_us.saturating_sub(e.start_us) > u64::from(window_us)
        {
            *e = Scan {
                kind,
                key,
                start_us: now_us,
                values: [0; 10],
                n: 0,
            };
        }
        if usize::from(e.n) >= e.values.len() {
            return true;
        }
        if !e.values[..usize::from(e.n)].contains(&value) {
            e.values[usize::from(e.n)] = value;
            e.n += 1;
            return usize::from(e.n) == e.values.len();
        }
        false
    }

    /// Whether fragment `p` overlaps one seen before of the same datagram (a tear-drop).
    fn overlaps(&mut self, p: &Packet, now_ms: u64) -> bool {
        let key = 1u128 << 127
            | u128::from(p.src) << 64
            | u128::from(p.dst) << 32
            | u128::from(p.id) << 8
            | u128::from(p.proto);
        let e = &mut self.frags
            [mix((key >> 64) as u64 ^ key as u64) as usize & (ScreenState::FRAGS - 1)];
        if e.key != key || now_ms.saturating_sub(e.at_ms) > 2000 {
            *e = Frags {
                key,
                at_ms: now_ms,
                ..Frags::default()
            };
        }
        let (lo, hi) = (p.frag_offset, p.frag_offset + p.payload);
        let n = usize::from(e.n);
        if e.ranges[..n].iter().any(|(a, b)| lo < *b && *a < hi) {
            return true;
        }
        // Merge with a range it touches, else keep it if there is room (a datagram in more
        // than four separate pieces is no longer followed: never a false alarm).
        if let Some(r) = e.ranges[..n].iter_mut().find(|(a, b)| *b == lo || hi == *a) {
            *r = (r.0.min(lo), r.1.max(hi));
        } else if n < e.ranges.len() {
            e.ranges[n] = (lo, hi);
            e.n += 1;
        }
        false
    }

    /// Whether one more session from `src` and to `dst` stays within the limits.
    pub fn session_allowed(&self, s: &Screen, src: u32, dst: u32) -> Result<(), Attack> {
        if let (Some(l), Some(c)) = (s.limit_source, &self.sources) {
            if c.get(src) >= l {
                return Err(Attack::SourceLimit);
            }
        }
        if let (Some(l), Some(c)) = (s.limit_destination, &self.destinations) {
            if c.get(dst) >= l {
                return Err(Attack::DestinationLimit);
            }
        }
        Ok(())
    }

    pub fn session_added(&mut self, src: u32, dst: u32) {
        if let (Some(s), Some(d)) = (&mut self.sources, &mut self.destinations) {
            s.add(src);
            d.add(dst);
        }
    }

    pub fn session_removed(&mut self, src: u32, dst: u32) {
        if let (Some(s), Some(d)) = (&mut self.sources, &mut self.destinations) {
            s.sub(src);
            d.sub(dst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen() -> Screen {
        Screen {
            icmp_flood: Some(3),
            syn_flood: Some(SynFlood {
                attack: 100,
                alarm: 50,
                source: 5,
                destination: 100,
            }),
            port_scan_us: Some(5000),
            tear_drop: true,
            ping_death: true,
            land: true,
            syn_fin: true,
            no_flag: true,
            spoofing: true,
            limit_source: Some(2),
            ..Screen::default()
        }
    }

    fn pkt(proto: u8) -> Packet {
        Packet {
            src: 1,
            dst: 2,
            proto,
            ihl: 20,
            payload: 100,
            ..Packet::default()
        }
    }

    #[test]
    fn an_alarm_only_screen_runs_every_check_and_reports_each_attack() {
        let s = Screen {
            alarm_only: true,
            ..screen()
        };
        let mut st = ScreenState::new(true, 16);
        // SYN and FIN, to itself, spoofed: three attacks in one packet, all reported, and the
        // packet passes.
        let p = Packet {
            tcp_flags: Some(0x03),
            dst: 1,
            ..pkt(6)
        };
        let mut seen = Vec::new();
        let r = st.packet_with(&s, &p, 1, 0, |_| SourceRoute::Local, &mut |a| seen.push(a));
        assert_eq!(r, Ok(()));
        assert_eq!(seen, [Attack::SynFin, Attack::Land, Attack::Spoofing]);
        // The same packet through a dropping screen: the first attack, and no more checks.
        let mut seen = Vec::new();
        let r = st.packet_with(&screen(), &p, 1, 0, |_| SourceRoute::Local, &mut |a| {
            seen.push(a)
        });
        assert_eq!((r, seen.len()), (Err(Attack::SynFin), 0));
    }

    #[test]
    fn malformed_and_spoofed_packets_are_caught() {
        let s = screen();
        let mut st = ScreenState::new(true, 16);
        let ok = |_| SourceRoute::Unknown;
        let tcp = |flags| Packet {
            tcp_flags: Some(flags),
            ..pkt(6)
        };
        assert_eq!(st.packet(&s, &tcp(0x03), 1, 0, ok), Err(Attack::SynFin));
        assert_eq!(st.packet(&s, &tcp(0), 1, 0, ok), Err(Attack::NoFlag));
        let land = Packet {
            dst: 1,
            ..tcp(0x02)
        };
        assert_eq!(st.packet(&s, &land, 1, 0, ok), Err(Attack::Land));
        assert_eq!(st.packet(&s, &tcp(0x02), 1, 0, ok), Ok(()));
        let death = Packet {
            frag_offset: 65_528,
            payload: 100,
            ..pkt(1)
        };
        assert_eq!(st.packet(&s, &death, 1, 0, ok), Err(Attack::PingOfDeath));
        let first = Packet {
            more_fragments: true,
            payload: 48,
            ..pkt(17)
        };
        let overlapping = Packet {
            frag_offset: 24,
            payload: 40,
            ..pkt(17)
        };
        let next = Packet {
            frag_offset: 48,
            payload: 40,
            ..pkt(17)
        };
        assert_eq!(st.packet(&s, &first, 1, 0, ok), Ok(()));
        assert_eq!(st.packet(&s, &next, 1, 0, ok), Ok(()), "adjacent is fine");
        assert_eq!(st.packet(&s, &overlapping, 1, 0, ok), Err(Attack::TearDrop));
        let elsewhere = |_| SourceRoute::Ports([7, 0, 0, 0], 1);
        assert_eq!(
            st.packet(&s, &tcp(0x10), 1, 0, elsewhere),
            Err(Attack::Spoofing)
        );
        let here = |_| SourceRoute::Ports([7, 1, 0, 0], 2);
        assert_eq!(st.packet(&s, &tcp(0x10), 1, 0, here), Ok(()));
        assert_eq!(
            st.packet(&s, &tcp(0x10), 1, 0, |_| SourceRoute::Local),
            Err(Attack::Spoofing)
        );
    }

    #[test]
    fn ip_options_fragments_and_unknown_protocols_are_caught_when_screened() {
        // Options area: NOP, loose source route (len 7), record route (len 7), EOL.
        let mut area = vec![1, 131, 7, 4, 10, 0, 0, 1, 7, 7, 4, 0, 0, 0, 0, 0];
        assert_eq!(
            IpOptions::of(&area),
            IpOptions::LOOSE_SOURCE_ROUTE | IpOptions::RECORD_ROUTE
        );
        area[2] = 40; // runs past the header
        assert_eq!(IpOptions::of(&area), IpOptions::BAD);
        assert_eq!(IpOptions::of(&[68, 1]), IpOptions::BAD, "length below 2");
        assert_eq!(IpOptions::of(&[0, 131, 200]), 0, "nothing after EOL");

        let ok = |_| SourceRoute::Unknown;
        let with = |options| Packet { options, ..pkt(17) };
        let mut st = ScreenState::new(false, 16);
        let off = Screen::default();
        assert_eq!(
            st.packet(&off, &with(IpOptions::STRICT_SOURCE_ROUTE), 1, 0, ok),
            Ok(())
        );
        let s = Screen {
            options: ScreenOption::SOURCE_ROUTE | ScreenOption::TIMESTAMP,
            ..Screen::default()
        };
        assert_eq!(
            st.packet(&s, &with(IpOptions::STRICT_SOURCE_ROUTE), 1, 0, ok),
            Err(Attack::SourceRouteOption)
        );
        assert_eq!(
            st.packet(&s, &with(IpOptions::TIMESTAMP), 1, 0, ok),
            Err(Attack::TimestampOption)
        );
        assert_eq!(
            st.packet(&s, &with(IpOptions::RECORD_ROUTE), 1, 0, ok),
            Ok(())
        );
        let s = Screen {
            options: ScreenOption::BLOCK_FRAG | ScreenOption::UNKNOWN_PROTOCOL,
            ..Screen::default()
        };
        let fragment = Packet {
            more_fragments: true,
            ..pkt(17)
        };
        assert_eq!(st.packet(&s, &fragment, 1, 0, ok), Err(Attack::BlockFrag));
        assert_eq!(
            st.packet(&s, &pkt(138), 1, 0, ok),
            Err(Attack::UnknownProtocol)
        );
        assert_eq!(st.packet(&s, &pkt(137), 1, 0, ok), Ok(()));
    }

    #[test]
    fn sweeps_are_ten_destinations_from_one_source_within_the_window() {
        let s = Screen {
            ip_sweep_us: Some(5000),
            tcp_sweep_us: Some(5000),
            udp_sweep_us: Some(5000),
            ..Screen::default()
        };
        let ok = |_| SourceRoute::Unknown;
        let mut st = ScreenState::new(false, 16);
        let echo = |dst| Packet {
            dst,
            icmp_echo: true,
            ..pkt(1)
        };
        for dst in 10..19 {
            assert_eq!(st.packet(&s, &echo(dst), 1, 1, ok), Ok(()));
        }
        assert_eq!(
            st.packet(&s, &echo(10), 1, 1, ok),
            Ok(()),
            "a repeat is no sweep"
        );
        assert_eq!(st.packet(&s, &echo(19), 1, 2, ok), Err(Attack::IpSweep));
        let mut udp = |dst, ms| {
            let p = Packet {
                dst,
                dport: 53,
                ..pkt(17)
            };
            st.packet(&s, &p, 1, ms, ok)
        };
        // One destination every 10 ms is slower than the 5 ms window.
        for dst in 10..30 {
            assert_eq!(udp(dst, u64::from(dst) * 10), Ok(()));
        }
        let mut st = ScreenState::new(false, 16);
        let syn = |dst| Packet {
            dst,
            dport: 22,
            tcp_flags: Some(0x02),
            ..pkt(6)
        };
        for dst in 10..19 {
            assert_eq!(st.new_syn(&s, &syn(dst), 100), Ok(()));
        }
        assert_eq!(st.new_syn(&s, &syn(19), 100), Err(Attack::TcpSweep));
        let nuke = Packet {
            dport: 139,
            tcp_flags: Some(0x38),
            ..pkt(6)
        };
        let s = Screen {
            winnuke: true,
            ..Screen::default()
        };
        assert_eq!(st.packet(&s, &nuke, 1, 0, ok), Err(Attack::WinNuke));
    }

    #[test]
    fn floods_pass_up_to_the_threshold_each_second() {
        let s = screen();
        let mut st = ScreenState::new(false, 16);
        let ping = pkt(1);
        let r = |st: &mut ScreenState, ms| st.packet(&s, &ping, 1, ms, |_| SourceRoute::Unknown);
        for _ in 0..3 {
            assert_eq!(r(&mut st, 10), Ok(()));
        }
        assert_eq!(r(&mut st, 20), Err(Attack::IcmpFlood));
        assert_eq!(r(&mut st, 1010), Ok(()), "a new second");
        let syn = Packet {
            tcp_flags: Some(0x02),
            dport: 80,
            ..pkt(6)
        };
        for _ in 0..5 {
            assert_eq!(st.new_syn(&s, &syn, 5_000_000), Ok(()));
        }
        assert_eq!(st.new_syn(&s, &syn, 5_000_000), Err(Attack::SynFlood));
        let other = Packet { src: 9, ..syn };
        assert_eq!(st.new_syn(&s, &other, 5_000_000), Ok(()), "another source");
    }

    #[test]
    fn ten_ports_within_the_window_is_a_scan() {
        let s = Screen {
            port_scan_us: Some(5000),
            ..Screen::default()
        };
        let mut st = ScreenState::new(false, 16);
        let syn = |port| Packet {
            tcp_flags: Some(0x02),
            dport: port,
            ..pkt(6)
        };
        for port in 1..10 {
            assert_eq!(st.new_syn(&s, &syn(port), 1000 + u64::from(port)), Ok(()));
        }
        assert_eq!(st.new_syn(&s, &syn(10), 1011), Err(Attack::PortScan));
        assert_eq!(st.new_syn(&s, &syn(1), 1012), Err(Attack::PortScan));
        // Slowly, the same ten ports are no scan.
        let mut st = ScreenState::new(false, 16);
        for port in 1..=10 {
            assert_eq!(st.new_syn(&s, &syn(port), u64::from(port) * 10_000), Ok(()));
        }
    }

    #[test]
    fn session_counts_limit_and_release() {
        let s = screen();
        let mut st = ScreenState::new(true, 16);
        for _ in 0..2 {
            assert_eq!(st.session_allowed(&s, 1, 2), Ok(()));
            st.session_added(1, 2);
        }
        assert_eq!(st.session_allowed(&s, 1, 3), Err(Attack::SourceLimit));
        assert_eq!(st.session_allowed(&s, 4, 2), Ok(()));
        st.session_removed(1, 2);
        assert_eq!(st.session_allowed(&s, 1, 2), Ok(()));
        // Many addresses come and go: the table never fills.
        for a in 100..10_000u32 {
            st.session_added(a, a);
            st.session_removed(a, a);
        }
        assert_eq!(st.session_allowed(&s, 1, 2), Ok(()));
    }
}
