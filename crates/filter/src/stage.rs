//! The filter stage on the pipeline's arcs, as on an MX or EX:
//! - `family inet`: an interface's input filters on ip4-unicast (before the route lookup), its
//!   output filters on ip4-output, and `lo0`'s input filters on ip4-output for frames
//!   addressed to the box, whatever port they came in on;
//! - `family inet6`: input filters on ip6-unicast (before the route lookup and security),
//!   output and `lo0` filters on ip6-output;
//! - link-scoped traffic for the box (no route: IPv4 link-local multicast, IPv6 link-local
//!   and Neighbor Discovery): the interface's input filters, then `lo0`'s;
//! - `family ethernet-switching`: on switched ports, input filters as a frame arrives (before
//!   it is learnt), output filters as it leaves a member port, flooded or not.
//!
//! The control plane publishes [`FilterTables`] (the compiled filters with interfaces turned
//! into port slots); the worker keeps the counters and the policers' buckets, and publishes
//! the counters with its statistics.

use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use savin_classify::{Header, Prefix};
use savin_config::model::firewall::Fam;
use savin_dataplane::counters::DropReason;
use savin_dataplane::punt::PuntReason;
use savin_dataplane::{Cx, Feature, Routes, Tables};
use savin_io::FrameBatch;
use savin_wire::ethernet::HEADER_LEN as ETH_HDR;

use crate::compile::{
    longest_is_match, Action, BodyOf, Extra, Filter, FilterSpec, Frag, PolicerSpec, Wide,
};

/// A family's filters by port slot: input and output, in order.
#[derive(Debug, Default)]
pub struct Bound {
    pub input: Vec<Vec<u32>>,
    pub output: Vec<Vec<u32>>,
}

/// What the data plane runs: the compiled filters and, per family and port slot, the filters
/// applied.
#[derive(Debug, Default)]
pub struct FilterTables {
    pub spec: Arc<FilterSpec>,
    pub inet: Bound,
    pub inet6: Bound,
    pub ethernet: Bound,
    /// Per term with `from interface`: the slots it names (filter, term) → slots.
    pub interface_slots: Vec<Vec<Vec<u16>>>,
    /// Changes whenever the filters change (the counters restart).
    pub generation: u64,
}

impl FilterTables {
    /// Binds `spec` to port slots: `slot(name)` is the slot of a configured interface.
    pub fn bind(
        spec: Arc<FilterSpec>,
        slots: usize,
        generation: u64,
        slot: &dyn Fn(&str) -> Option<u16>,
    ) -> FilterTables {
        let bound = |fam: Fam| {
            let applied = spec.applied(fam);
            let mut b = Bound {
                input: vec![Vec::new(); slots],
                output: vec![Vec::new(); slots],
            };
            for (to, from) in [
                (&mut b.input, &applied.input),
                (&mut b.output, &applied.output),
            ] {
                for (name, fs) in from {
                    if let Some(s) = slot(name).filter(|s| usize::from(*s) < slots) {
                        to[usize::from(s)].clone_from(fs);
                    }
                }
            }
            b
        };
        let (inet, inet6, ethernet) = (
            bound(Fam::Inet),
            bound(Fam::Inet6),
            bound(Fam::EthernetSwitching),
        );
        let interface_slots = spec
            .filters
            .iter()
            .map(|f| {
                f.terms
                    .iter()
                    .map(|t| t.extra.interfaces.iter().filter_map(|n| slot(n)).collect())
                    .collect()
            })
            .collect();
        FilterTables {
            spec,
            inet,
            inet6,
            ethernet,
            interface_slots,
            generation,
        }
    }
}

/// What the worker publishes: per counter (packets, bytes), per policer the (packets, bytes)
/// it found out of spec, for the tables of `generation`, and the firewall log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterStats {
    pub generation: u64,
    pub counters: Vec<(u64, u64)>,
    pub policed: Vec<(u64, u64)>,
    /// The last [`LOG_SIZE`] packets of `log` terms, oldest first once it wrapped (`log_next`
    /// is where the next goes).
    pub log: Vec<LogEntry>,
    pub log_next: usize,
    /// Entries logged since the tables came (the control plane tells new ones by it).
    pub logged: u64,
}

/// Packets the firewall log keeps (a ring, as the PFE's).
pub const LOG_SIZE: usize = 256;

/// A packet a `log` term matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEntry {
    pub time_ms: u64,
    pub filter: u32,
    /// 'A' accepted, 'D' discarded, 'R' rejected.
    pub action: u8,
    pub in_port: u16,
    pub proto: u8,
    /// IPv4 or IPv6 (an Ethernet filter's non-IP frame: 0.0.0.0).
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    /// From a `syslog` term: the control plane writes it to `system syslog` too.
    pub syslog: bool,
}

impl FilterStats {
    /// The log, oldest first.
    pub fn log_in_order(&self) -> Vec<LogEntry> {
        let (a, b) = self.log.split_at(self.log_next.min(self.log.len()));
        b.iter().chain(a).copied().collect()
    }

    fn push_log(&mut self, e: LogEntry) {
        self.logged += 1;
        if self.log.len() < LOG_SIZE {
            self.log.push(e);
            self.log_next = self.log.len() % LOG_SIZE;
        } else {
            self.log[self.log_next] = e;
            self.log_next = (self.log_next + 1) % LOG_SIZE;
        }
    }
}

/// A token bucket in bytes, refilled by elapsed microseconds.
#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    tokens: u64,
    last_us: u64,
}

/// The filter feature of a worker.
pub struct FilterStage {
    handle: Arc<ArcSwapOption<FilterTables>>,
    tables: Option<Arc<FilterTables>>,
    stats: FilterStats,
    buckets: Vec<Bucket>,
    now_us: u64,
}

/// How a filter list ended for a frame.
enum Verdict {
    Pass,
    Discard,
    Reject,
}

impl FilterStage {
    /// A stage reading its tables from `handle` (the control plane stores new ones there).
    pub fn new(handle: Arc<ArcSwapOption<FilterTables>>) -> FilterStage {
        FilterStage {
            handle,
            tables: None,
            stats: FilterStats::default(),
            buckets: Vec::new(),
            now_us: 0,
        }
    }

    /// `clear firewall`: the counters start again from zero.
    pub fn clear(&mut self) {
        self.stats.counters.iter_mut().for_each(|c| *c = (0, 0));
        self.stats.policed.iter_mut().for_each(|c| *c = (0, 0));
    }

    /// Decides a packet by the filters `list` (in order), counting a drop in `cx`.
    fn run<A: BodyOf>(
        &mut self,
        cx: &mut Cx,
        pkt: &Packet<A>,
        in_port: u16,
        list: &[u32],
        tables: &FilterTables,
    ) -> Verdict {
        for &fi in list {
            let f = &tables.spec.filters[fi as usize];
            match self.decide(f, fi, pkt, in_port, tables) {
                None => continue,
                Some(Action::Accept | Action::Next) => return Verdict::Pass,
                Some(Action::Discard) => {
                    cx.drop(DropReason::FilterDiscarded);
                    return Verdict::Discard;
                }
                Some(Action::Reject { .. }) => {
                    cx.drop(DropReason::FilterRejected);
                    return Verdict::Reject;
                }
            }
        }
        // The implicit discard at the end of a filter (of the last, for a list).
        cx.drop(DropReason::FilterDiscarded);
        Verdict::Discard
    }

    /// An IP frame `i` by `list`: false when dropped (a reject answered).
    fn run_ip<A: ReadIp>(
        &mut self,
        cx: &mut Cx,
        batch: &FrameBatch,
        i: u16,
        list: &[u32],
        tables: &FilterTables,
    ) -> bool {
        self.run_ip_at::<A>(cx, batch, i, ETH_HDR, list, tables)
    }

    /// [`FilterStage::run_ip`] for an IP header at `l3`.
    #[allow(clippy::too_many_arguments)]
    fn run_ip_at<A: ReadIp>(
        &mut self,
        cx: &mut Cx,
        batch: &FrameBatch,
        i: u16,
        l3: usize,
        list: &[u32],
        tables: &FilterTables,
    ) -> bool {
        // No whole IP header (the IP checks let none through), or IPv6 whose ports cannot be
        // found: fail closed (a deny term could not see them).
        let Some(pkt) = A::read(batch.frame(usize::from(i)), l3).filter(|p| !p.unresolved) else {
            cx.drop(DropReason::FilterDiscarded);
            return false;
        };
        let in_port = cx.meta.in_port.get(usize::from(i)).copied().unwrap_or(0);
        match self.run(cx, &pkt, in_port, list, tables) {
            Verdict::Pass => true,
            Verdict::Discard => false,
            Verdict::Reject => {
                cx.punt_error(i, PuntReason::PolicyReject);
                false
            }
        }
    }

    /// The action of the first term of `f` that matches (after `next term`s), with its
    /// counter and policer applied; a policer out of spec discards. None: no term matched.
    fn decide<A: BodyOf>(
        &mut self,
        f: &Filter,
        fi: u32,
        pkt: &Packet<A>,
        in_port: u16,
        tables: &FilterTables,
    ) -> Option<Action> {
        let rules = A::rules(&f.body)?;
        let mut cand = rules
            .classifier
            .classify(&pkt.header)
            .map(|r| rules.rule_term[r as usize] as usize);
        while let Some(t) = cand {
            let term = &f.terms[t];
            let ok = !term.checks
                || extra_ok(
                    &term.extra,
                    pkt,
                    in_port,
                    &tables.interface_slots[fi as usize][t],
                );
            if ok {
                if let Some(c) = term.count {
                    let c = &mut self.stats.counters[c as usize];
                    c.0 += 1;
                    c.1 += u64::from(pkt.len);
                }
                let mut action = term.action;
                if let Some(p) = term.policer {
                    if !self.conform(p as usize, pkt.len, tables) {
                        let c = &mut self.stats.policed[p as usize];
                        c.0 += 1;
                        c.1 += u64::from(pkt.len);
                        action = Action::Discard;
                    }
                }
                if term.log {
                    self.stats.push_log(LogEntry {
                        time_ms: self.now_us / 1000,
                        filter: fi,
                        action: match action {
                            Action::Discard => b'D',
                            Action::Reject { .. } => b'R',
                            Action::Accept | Action::Next => b'A',
                        },
                        in_port,
                        proto: pkt.header.proto,
                        src: pkt.header.src.ip(),
                        dst: pkt.header.dst.ip(),
                        sport: pkt.header.sport,
                        dport: pkt.header.dport,
                        syslog: term.syslog,
                    });
                }
                if action != Action::Next {
                    return Some(action);
                }
            }
            cand = scan(f, rules, t + 1, &pkt.header);
        }
        None
    }

    /// Takes `len` bytes from policer `p`'s bucket: false when it has too few.
    fn conform(&mut self, p: usize, len: u32, tables: &FilterTables) -> bool {
        let PolicerSpec {
            bits_per_second,
            burst_bytes,
        } = tables.spec.policers[p].1;
        let b = &mut self.buckets[p];
        let elapsed = self.now_us.saturating_sub(b.last_us);
        b.last_us = self.now_us;
        let refill = u128::from(elapsed) * u128::from(bits_per_second) / 8_000_000;
        b.tokens = (u128::from(b.tokens) + refill).min(u128::from(burst_bytes)) as u64;
        if b.tokens >= u64::from(len) {
            b.tokens -= u64::from(len);
            true
        } else {
            false
        }
    }

    /// A switched frame by the Ethernet filters `list`: false when dropped.
    fn run_l2(
        &mut self,
        cx: &mut Cx,
        frame: &[u8],
        port: u16,
        vid: u16,
        list: &[u32],
        tables: &FilterTables,
    ) -> bool {
        let Some(pkt) = Packet::ethernet(frame, vid) else {
            return true;
        };
        // Ethernet filters have no reject (validation refuses it): a reject is a discard.
        matches!(self.run(cx, &pkt, port, list, tables), Verdict::Pass)
    }
}

/// The next term from `from` whose classifier rules match `h` (terms after a `next term`
/// or after one whose other conditions failed: rare, so a scan).
fn scan<A: BodyOf>(
    f: &Filter,
    rules: &crate::compile::Rules<A>,
    from: usize,
    h: &Header<A>,
) -> Option<usize> {
    (from..f.terms.len()).find(|&t| {
        let (a, b) = f.terms[t].rules;
        rules.rules[a..b].iter().any(|r| r.matches(h))
    })
}

fn extra_ok<A: Wide>(e: &Extra, p: &Packet<A>, in_port: u16, slots: &[u16]) -> bool {
    if e.ip && !p.ip {
        return false;
    }
    if !e.payload.is_empty() && !e.payload.contains(&p.payload) {
        return false;
    }
    if let Some(tcp) = &e.tcp {
        let Some(flags) = p.tcp_flags else {
            return false;
        };
        if !tcp.iter().any(|(mask, want)| flags & mask == *want) {
            return false;
        }
    }
    if let Some(d) = e.dscp {
        if d & (1 << p.dscp) == 0 {
            return false;
        }
    }
    if !e.length.is_empty() && !e.length.iter().any(|(a, b)| (*a..=*b).contains(&p.len16())) {
        return false;
    }
    if let Some(fr) = e.fragment {
        let ok = match fr {
            Frag::Later => p.offset != 0,
            Frag::First => p.offset == 0 && p.more,
            Frag::More => p.more,
            Frag::DontFragment => p.df,
        };
        if !ok {
            return false;
        }
    }
    if !e.icmp_code.is_empty()
        && (!p.icmp || !e.icmp_code.contains(&((p.header.dport & 0xff) as u8)))
    {
        return false;
    }
    if !e.except_src.is_empty() || !e.except_dst.is_empty() || !e.except_either.is_empty() {
        let (src, dst) = (p.header.src.wide(), p.header.dst.wide());
        let field_ok =
            |list: &[(Prefix<u128>, bool)], a| list.is_empty() || longest_is_match(list, a);
        if !field_ok(&e.except_src, src)
            || !field_ok(&e.except_dst, dst)
            || !(e.except_either.is_empty()
                || longest_is_match(&e.except_either, src)
                || longest_is_match(&e.except_either, dst))
        {
            return false;
        }
    }
    if !e.interfaces.is_empty() && !slots.contains(&in_port) {
        return false;
    }
    let mac_ok =
        |list: &[(u64, u64)], m: u64| list.is_empty() || list.iter().any(|(v, k)| m & k == *v);
    if !mac_ok(&e.mac_src, p.mac_src) || !mac_ok(&e.mac_dst, p.mac_dst) {
        return false;
    }
    if !e.ether_types.is_empty() && !e.ether_types.contains(&p.ether_type) {
        return false;
    }
    if !e.vlans.is_empty() && !e.vlans.contains(&p.vlan) {
        return false;
    }
    true
}

/// How a family's IP header is read from a frame: static calls on the per-packet path.
trait ReadIp: BodyOf {
    fn read(f: &[u8], l3: usize) -> Option<Packet<Self>>;
}

impl ReadIp for u32 {
    #[inline]
    fn read(f: &[u8], l3: usize) -> Option<Packet<u32>> {
        Packet::ipv4(f, l3)
    }
}

impl ReadIp for u128 {
    #[inline]
    fn read(f: &[u8], l3: usize) -> Option<Packet<u128>> {
        Packet::ipv6(f, l3)
    }
}

/// What a filter reads of a frame: the IP header's fields (IPv4 or IPv6), and for Ethernet
/// filters the frame's own.
struct Packet<A: Wide> {
    header: Header<A>,
    len: u32,
    tcp_flags: Option<u8>,
    /// ICMP or ICMPv6 (the destination port holds type and code).
    icmp: bool,
    /// The payload's protocol: IPv4's protocol; IPv6's past its extension headers.
    payload: u8,
    /// IPv6 whose extension headers could not be walked to the payload (cut short, or more
    /// than eight): dropped by any filter, which could not tell its ports.
    unresolved: bool,
    dscp: u8,
    offset: u16,
    more: bool,
    df: bool,
    /// Whether it is an IP packet (Ethernet filters see others too).
    ip: bool,
    mac_src: u64,
    mac_dst: u64,
    ether_type: u16,
    vlan: u16,
}

fn mac48(b: &[u8]) -> u64 {
    b.iter().take(6).fold(0u64, |a, x| a << 8 | u64::from(*x))
}

impl<A: Wide> Packet<A> {
    fn len16(&self) -> u16 {
        self.len.min(u32::from(u16::MAX)) as u16
    }

    fn with_header(header: Header<A>, len: u32) -> Packet<A> {
        Packet {
            header,
            len,
            tcp_flags: None,
            icmp: false,
            payload: header.proto,
            unresolved: false,
            dscp: 0,
            offset: 0,
            more: false,
            df: false,
            ip: true,
            mac_src: 0,
            mac_dst: 0,
            ether_type: 0,
            vlan: 0,
        }
    }

    /// Ports, TCP flags and ICMP type and code from the payload's transport header at `l4`.
    fn transport(&mut self, l4: &[u8], icmp_proto: u8) {
        let proto = self.payload;
        match proto {
            6 | 17 | 132 if l4.len() >= 4 => {
                self.header.sport = u16::from_be_bytes([l4[0], l4[1]]);
                self.header.dport = u16::from_be_bytes([l4[2], l4[3]]);
                if proto == 6 {
                    self.tcp_flags = l4.get(13).copied();
                }
            }
            p if p == icmp_proto && l4.len() >= 2 => {
                self.header.dport = u16::from(l4[0]) << 8 | u16::from(l4[1]);
                self.icmp = true;
            }
            _ => {}
        }
    }
}

impl Packet<u32> {
    /// Reads the IPv4 header at `l3` (checked whole by the IPv4 stage, or, for an Ethernet
    /// filter, not at all: every read here is bounded).
    #[inline]
    fn ipv4(f: &[u8], l3: usize) -> Option<Packet<u32>> {
        let ip = f.get(l3..l3 + 20)?;
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = u16::from_be_bytes([ip[2], ip[3]]);
        let frag = u16::from_be_bytes([ip[6], ip[7]]);
        let offset = frag & 0x1fff;
        let mut p = Packet::with_header(
            Header {
                src: u32::from_be_bytes([ip[12], ip[13], ip[14], ip[15]]),
                dst: u32::from_be_bytes([ip[16], ip[17], ip[18], ip[19]]),
                sport: 0,
                dport: 0,
                proto: ip[9],
            },
            u32::from(total),
        );
        p.dscp = ip[1] >> 2;
        p.offset = offset;
        p.more = frag & 0x2000 != 0;
        p.df = frag & 0x4000 != 0;
        if offset == 0 {
            p.transport(f.get(l3 + ihl.max(20)..).unwrap_or(&[]), 1);
        }
        Some(p)
    }

    /// Reads a switched frame of VLAN `vid`: its addresses, Ethernet type and, for IPv4, the
    /// IP fields (a non-IPv4 frame has a zero header, which IP conditions never match).
    fn ethernet(f: &[u8], vid: u16) -> Option<Packet<u32>> {
        let mut et = u16::from_be_bytes([*f.get(12)?, *f.get(13)?]);
        let mut l3 = ETH_HDR;
        // A tag cut short leaves a frame of type 0x8100 that carries nothing IP.
        if let (0x8100, Some(inner)) = (et, f.get(16..18)) {
            et = u16::from_be_bytes([inner[0], inner[1]]);
            l3 += 4;
        }
        let ip = if et == 0x0800 {
            Packet::ipv4(f, l3)
        } else {
            None
        };
        let mut p = match ip {
            Some(p) => p,
            None => {
                let mut p = Packet::with_header(Header::default(), f.len() as u32);
                p.ip = false;
                p
            }
        };
        p.mac_dst = mac48(&f[..6]);
        p.mac_src = mac48(&f[6..12]);
        p.ether_type = et;
        p.vlan = vid;
        Some(p)
    }
}

impl Packet<u128> {
    /// Reads the IPv6 header at `l3` (checked by the IPv6 stage), following extension
    /// headers (hop-by-hop, routing, fragment, destination options, AH; at most eight) to
    /// the payload's protocol and ports.
    #[inline]
    fn ipv6(f: &[u8], l3: usize) -> Option<Packet<u128>> {
        let ip = f.get(l3..l3 + 40)?;
        let addr = |at: usize| {
            let mut b = [0u8; 16];
            b.copy_from_slice(&ip[at..at + 16]);
            u128::from_be_bytes(b)
        };
        let payload_len = u16::from_be_bytes([ip[4], ip[5]]);
        let mut p = Packet::with_header(
            Header {
                src: addr(8),
                dst: addr(24),
                sport: 0,
                dport: 0,
                proto: ip[6],
            },
            40 + u32::from(payload_len),
        );
        let tclass = (ip[0] & 0x0f) << 4 | ip[1] >> 4;
        p.dscp = tclass >> 2;
        // The classifier matches `next-header` on the first header, as Junos does; the
        // payload's protocol (`payload-protocol`, ports, ICMPv6 type) is past the extension
        // headers. A chain cut short, or longer than eight, leaves the payload unresolved
        // (its protocol the extension header where the walk stopped, no ports): catch-all
        // terms still see the packet.
        let mut at = l3 + 40;
        let mut resolved = false;
        for _ in 0..8 {
            let here = p.payload;
            let step = match here {
                0 | 43 | 60 => f
                    .get(at..at + 2)
                    .map(|h| (h[0], (usize::from(h[1]) + 1) * 8)),
                51 => f
                    .get(at..at + 2)
                    .map(|h| (h[0], (usize::from(h[1]) + 2) * 4)),
                44 => f.get(at..at + 8).map(|h| {
                    let fo = u16::from_be_bytes([h[2], h[3]]);
                    p.offset = fo >> 3;
                    p.more = fo & 1 != 0;
                    (h[0], 8)
                }),
                _ => {
                    resolved = true;
                    break;
                }
            };
            // The header must be whole: one that runs past the frame leaves it unresolved.
            let Some((nh, len)) = step.filter(|(_, len)| at + len <= f.len()) else {
                break;
            };
            p.payload = nh;
            at += len;
            if p.offset != 0 {
                // A later fragment: what follows is data, not headers.
                break;
            }
        }
        if !resolved && !matches!(p.payload, 0 | 43 | 44 | 51 | 60) {
            resolved = true;
        }
        p.unresolved = !resolved;
        if resolved && p.offset == 0 {
            p.transport(f.get(at..).unwrap_or(&[]), 58);
        }
        Some(p)
    }
}

impl Feature for FilterStage {
    const NAME: &'static str = "filter";
    type Published = FilterStats;

    fn publish(&mut self, into: &mut FilterStats) {
        into.clone_from(&self.stats);
    }

    fn begin(&mut self, _tables: &Tables, now_ms: u64) {
        self.now_us = now_ms.saturating_mul(1000);
        let cur = self.handle.load();
        let same = match (&*cur, &self.tables) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        if same {
            return;
        }
        self.tables = cur.clone();
        if let Some(t) = &self.tables {
            // New filters: counters and buckets start again (a full bucket, as at start).
            if self.stats.generation != t.generation {
                self.stats = FilterStats {
                    generation: t.generation,
                    counters: vec![(0, 0); t.spec.counters.len()],
                    policed: vec![(0, 0); t.spec.policers.len()],
                    ..FilterStats::default()
                };
                self.buckets = t
                    .spec
                    .policers
                    .iter()
                    .map(|(_, p)| Bucket {
                        tokens: p.burst_bytes,
                        last_us: self.now_us,
                    })
                    .collect();
            }
        }
    }

    #[inline]
    fn active(&self) -> bool {
        self.tables.is_some()
    }

    fn ip4_unicast(
        &mut self,
        cx: &mut Cx,
        batch: &mut FrameBatch,
        passed: &[u16],
        _keys: &mut [u32],
        _routes: Routes,
    ) {
        // Taken for the batch and put back (a clone would be an atomic add per call).
        let Some(tables) = self.tables.take() else {
            return;
        };
        for &i in passed {
            let port = cx.meta.in_port.get(usize::from(i)).copied().unwrap_or(0);
            let Some(list) = tables.inet.input.get(usize::from(port)) else {
                continue;
            };
            if list.is_empty() {
                continue;
            }
            if !self.run_ip::<u32>(cx, batch, i, list, &tables) {
                cx.meta.taken[usize::from(i)] = true;
            }
        }
        self.tables = Some(tables);
    }

    fn to_box_link(&mut self, cx: &mut Cx, batch: &FrameBatch, i: u16) -> bool {
        // IP only; an IRB's frames may still carry their tag.
        let f = batch.frame(usize::from(i));
        let (et, l3) = match f.get(12..14).map(|b| u16::from_be_bytes([b[0], b[1]])) {
            Some(0x8100) => match f.get(16..18) {
                Some(b) => (u16::from_be_bytes([b[0], b[1]]), ETH_HDR + 4),
                None => return true,
            },
            Some(et) => (et, ETH_HDR),
            None => return true,
        };
        let v6 = match et {
            0x0800 => false,
            0x86dd => true,
            _ => return true,
        };
        let Some(tables) = self.tables.take() else {
            return true;
        };
        let port = cx.meta.in_port.get(usize::from(i)).copied().unwrap_or(0);
        let fam = if v6 { Fam::Inet6 } else { Fam::Inet };
        let bound = if v6 { &tables.inet6 } else { &tables.inet };
        let input = bound
            .input
            .get(usize::from(port))
            .map_or(&[][..], Vec::as_slice);
        let lo0 = tables.spec.applied(fam).lo0_input.as_slice();
        let mut ok = true;
        for list in [input, lo0] {
            if !ok || list.is_empty() {
                continue;
            }
            ok = if v6 {
                self.run_ip_at::<u128>(cx, batch, i, l3, list, &tables)
            } else {
                self.run_ip_at::<u32>(cx, batch, i, l3, list, &tables)
            };
        }
        self.tables = Some(tables);
        ok
    }

    fn ip6_unicast(&mut self, cx: &mut Cx, batch: &mut FrameBatch, passed: &[u16]) {
        let Some(tables) = self.tables.take() else {
            return;
        };
        for &i in passed {
            let port = cx.meta.in_port.get(usize::from(i)).copied().unwrap_or(0);
            let Some(list) = tables.inet6.input.get(usize::from(port)) else {
                continue;
            };
            if !list.is_empty() && !self.run_ip::<u128>(cx, batch, i, list, &tables) {
                cx.meta.taken[usize::from(i)] = true;
            }
        }
        self.tables = Some(tables);
    }

    fn ip4_output(
        &mut self,
        cx: &mut Cx,
        batch: &mut FrameBatch,
        i: u16,
        out: Option<u16>,
        v6: bool,
    ) -> bool {
        let Some(tables) = self.tables.take() else {
            return true;
        };
        let bound = if v6 { &tables.inet6 } else { &tables.inet };
        let list = match out {
            Some(p) => bound.output.get(usize::from(p)).map(Vec::as_slice),
            None => Some(
                tables
                    .spec
                    .applied(if v6 { Fam::Inet6 } else { Fam::Inet })
                    .lo0_input
                    .as_slice(),
            ),
        };
        let ok = match list {
            Some(l) if !l.is_empty() => {
                if v6 {
                    self.run_ip::<u128>(cx, batch, i, l, &tables)
                } else {
                    self.run_ip::<u32>(cx, batch, i, l, &tables)
                }
            }
            _ => true,
        };
        self.tables = Some(tables);
        ok
    }

    fn l2_input(&mut self, cx: &mut Cx, frame: &[u8], port: u16, vid: u16) -> bool {
        let Some(tables) = self.tables.take() else {
            return true;
        };
        let ok = match tables.ethernet.input.get(usize::from(port)) {
            Some(l) if !l.is_empty() => self.run_l2(cx, frame, port, vid, l, &tables),
            _ => true,
        };
        self.tables = Some(tables);
        ok
    }

    fn l2_output(&mut self, cx: &mut Cx, frame: &[u8], port: u16, out: u16, vid: u16) -> bool {
        let Some(tables) = self.tables.take() else {
            return true;
        };
        let ok = match tables.ethernet.output.get(usize::from(out)) {
            Some(l) if !l.is_empty() => self.run_l2(cx, frame, port, vid, l, &tables),
            _ => true,
        };
        self.tables = Some(tables);
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(text: &str) -> Arc<FilterTables> {
        let c = savin_config::Configuration::parse(text, None).unwrap_or_else(|e| panic!("{e}"));
        let cfg = c.check().unwrap_or_else(|e| panic!("{e:?}"));
        let spec = Arc::new(crate::compile(&cfg).unwrap());
        // Slots: eth1 is 1, eth2 is 2.
        let slot = |n: &str| n.strip_prefix("eth").and_then(|d| d.parse().ok());
        Arc::new(FilterTables::bind(spec, 4, 1, &slot))
    }

    fn stage(t: &Arc<FilterTables>) -> FilterStage {
        let mut s = FilterStage::new(Arc::new(ArcSwapOption::from(Some(t.clone()))));
        s.tables = Some(t.clone());
        s.stats.counters = vec![(0, 0); t.spec.counters.len()];
        s
    }

    /// The action `filter` (by name) takes on `pkt` from `port`, and the filter's counters.
    fn verdict<A: BodyOf>(
        s: &mut FilterStage,
        t: &FilterTables,
        filter: &str,
        pkt: &Packet<A>,
        port: u16,
    ) -> Option<Action> {
        let fi = t
            .spec
            .filters
            .iter()
            .position(|f| f.name == filter)
            .unwrap();
        s.decide(&t.spec.filters[fi], fi as u32, pkt, port, t)
    }

    fn eth(dst: [u8; 6], src: [u8; 6], et: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend(dst);
        f.extend(src);
        f.extend(et.to_be_bytes());
        f.extend(payload);
        f
    }

    fn ipv6(next: u8, src: u128, dst: u128, payload: &[u8]) -> Vec<u8> {
        let mut h = vec![0x6b, 0x80, 0, 0]; // traffic class 0xb8: DSCP 46 (ef)
        h.extend((payload.len() as u16).to_be_bytes());
        h.extend([next, 64]);
        h.extend(src.to_be_bytes());
        h.extend(dst.to_be_bytes());
        h.extend(payload);
        eth([2; 6], [4; 6], 0x86dd, &h)
    }

    const A1: u128 = 0x2001_0db8_0001_0000_0000_0000_0000_0002;
    const A2: u128 = 0x2001_0db8_0002_0000_0000_0000_0000_0002;

    #[test]
    fn ipv6_filters_read_through_extension_headers_to_the_payload() {
        let t = tables(
            "firewall { family inet6 { filter v6 {
                term frags { from { is-fragment; } then { count later-fragments; discard; } }
                term hbh { from { next-header 0; icmp-type echo-reply; } then { count hbh; accept; } }
                term ping { from { payload-protocol icmp6; icmp-type echo-request; source-address 2001:db8:1::/64; }
                            then { count pings; accept; } }
                term ef { from { traffic-class ef; payload-protocol udp; destination-port 5000; } then { count ef; accept; } }
                term first-udp { from { next-header udp; } then { count first-udp; accept; } }
                term web { from { next-header tcp; destination-port 80; source-address { 2001:db8::/32; 2001:db8:1::2/128 except; } }
                           then accept; }
                term rest { then { count other; discard; } } } } }
             interfaces { eth1 { unit 0 { family inet6 { filter { input v6; } } } } }",
        );
        let mut s = stage(&t);
        // Echo request behind a hop-by-hop options header (8 bytes: next 58, length 0).
        let mut hbh = vec![58, 0, 1, 4, 0, 0, 0, 0];
        hbh.extend([128, 0, 0, 0, 0, 1, 0, 1]);
        let f = ipv6(0, A1, A2, &hbh);
        let p = Packet::ipv6(&f, ETH_HDR).unwrap();
        assert_eq!(
            (p.header.proto, p.payload, p.header.dport >> 8),
            (0, 58, 128)
        );
        assert_eq!(verdict(&mut s, &t, "v6", &p, 1), Some(Action::Accept));
        // From another prefix: not the ping term, so the last one.
        let f = ipv6(0, A2, A1, &hbh);
        let p = Packet::ipv6(&f, ETH_HDR).unwrap();
        assert_eq!(verdict(&mut s, &t, "v6", &p, 1), Some(Action::Discard));
        // `next-header` is the first header's (hop-by-hop here), as on Junos.
        let mut reply = vec![58, 0, 1, 4, 0, 0, 0, 0];
        reply.extend([129, 0, 0, 0, 0, 1, 0, 1]);
        let f = ipv6(0, A2, A1, &reply);
        let p = Packet::ipv6(&f, ETH_HDR).unwrap();
        assert_eq!(verdict(&mut s, &t, "v6", &p, 1), Some(Action::Accept));
        // UDP to 5000 with DSCP ef, through a destination-options header.
        let mut dst_opts = vec![17, 0, 1, 4, 0, 0, 0, 0];
        dst_opts.extend([0x13, 0x88, 0x13, 0x88, 0, 8, 0, 0]);
        let f = ipv6(60, A1, A2, &dst_opts);
        let p = Packet::ipv6(&f, ETH_HDR).unwrap();
        assert_eq!((p.payload, p.header.dport, p.dscp), (17, 5000, 46));
        assert_eq!(verdict(&mut s, &t, "v6", &p, 1), Some(Action::Accept));
        // A later fragment (offset 1480): no ports, caught by is-fragment.
        let frag = [6, 0, 0x05, 0xc8, 0, 0, 0, 7, 1, 2, 3, 4];
        let f = ipv6(44, A1, A2, &frag);
        let p = Packet::ipv6(&f, ETH_HDR).unwrap();
        assert_eq!((p.payload, p.offset, p.header.dport), (6, 185, 0));
        assert_eq!(verdict(&mut s, &t, "v6", &p, 1), Some(Action::Discard));
        // TCP to 80: from 2001:db8:1::5 accepted, from the excepted host not.
        let syn = |src| {
            let mut tcp = vec![
                0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff,
            ];
            tcp.extend([0, 0, 0, 0]);
            ipv6(6, src, A2, &tcp)
        };
        let f = syn(A1 + 3);
        let p = Packet::ipv6(&f, ETH_HDR).unwrap();
        assert_eq!(verdict(&mut s, &t, "v6", &p, 1), Some(Action::Accept));
        let f = syn(A1);
        let p = Packet::ipv6(&f, ETH_HDR).unwrap();
        assert_eq!(
            verdict(&mut s, &t, "v6", &p, 1),
            Some(Action::Discard),
            "except"
        );
        // Plain UDP: its first header is UDP (not port 5000: not the ef term).
        let f = ipv6(17, A1, A2, &[0, 53, 0, 53, 0, 8, 0, 0]);
        let p = Packet::ipv6(&f, ETH_HDR).unwrap();
        assert_eq!(verdict(&mut s, &t, "v6", &p, 1), Some(Action::Accept));
        // An extension header chain cut short (a hop-by-hop header claiming 40 bytes, then
        // TCP): read as far as it goes, never past the frame; the payload is unresolved, so
        // only catch-all terms match it, and it is not let through unseen.
        let f = ipv6(0, A1, A2, &[6, 4, 0, 0]);
        let p = Packet::ipv6(&f, ETH_HDR).unwrap();
        assert_eq!((p.payload, p.header.dport, p.unresolved), (0, 0, true));
        assert_eq!(verdict(&mut s, &t, "v6", &p, 1), Some(Action::Discard));
        // Nine destination-options headers: past the walk's eight, unresolved too.
        let mut chain = Vec::new();
        for _ in 0..8 {
            chain.extend([60, 0, 1, 4, 0, 0, 0, 0]);
        }
        chain.extend([6, 0, 1, 4, 0, 0, 0, 0]);
        chain.extend([
            0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
        ]);
        let f = ipv6(60, A1 + 3, A2, &chain);
        let p = Packet::ipv6(&f, ETH_HDR).unwrap();
        // (The stage drops an unresolved packet before any term: a deny term could not see
        // its ports. The terms alone would not let it match the web term either.)
        assert_eq!((p.payload, p.header.dport, p.unresolved), (60, 0, true));
        assert_eq!(
            verdict(&mut s, &t, "v6", &p, 1),
            Some(Action::Discard),
            "not the web term"
        );
        let count = |name: &str| {
            let i = t.spec.counters.iter().position(|(_, c)| c == name).unwrap();
            s.stats.counters[i].0
        };
        assert_eq!(
            (
                count("pings"),
                count("ef"),
                count("hbh"),
                count("first-udp"),
                count("later-fragments"),
                count("other")
            ),
            (1, 1, 1, 1, 1, 4)
        );
    }

    #[test]
    fn except_prefixes_take_the_longest_match_and_address_needs_either_side() {
        let t = tables(
            "firewall { family inet { filter f {
                term either { from { address { 10.0.0.0/8; 10.1.0.0/16 except; 10.1.1.0/24; } } then { count either; accept; } }
                term broad { from { source-address { 0.0.0.0/0 except; 192.168.0.0/16; } } then { count broad; accept; } }
                term nothing { from { source-address { 172.16.0.0/12 except; } } then { count nothing; accept; } }
                term rest { then discard; } } } }
             interfaces { eth1 { unit 0 { family inet { filter { input f; } } } } }",
        );
        let mut s = stage(&t);
        let pkt = |src: [u8; 4], dst: [u8; 4]| {
            let mut h = vec![0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0];
            h.extend(src);
            h.extend(dst);
            h.extend([0, 53, 0, 53, 0, 8, 0, 0]);
            eth([2; 6], [4; 6], 0x0800, &h)
        };
        let run = |s: &mut FilterStage, src, dst| {
            let f = pkt(src, dst);
            verdict(s, &t, "f", &Packet::ipv4(&f, ETH_HDR).unwrap(), 1)
        };
        // Either side in 10/8 outside 10.1/16.
        assert_eq!(
            run(&mut s, [10, 2, 0, 1], [172, 16, 0, 1]),
            Some(Action::Accept)
        );
        assert_eq!(
            run(&mut s, [172, 16, 0, 1], [10, 2, 0, 1]),
            Some(Action::Accept)
        );
        // Both sides in the exception: not this term (nor the next: a 10.1 source).
        assert_eq!(
            run(&mut s, [10, 1, 0, 1], [10, 1, 0, 2]),
            Some(Action::Discard)
        );
        // One side excepted, the other matched: matched.
        assert_eq!(
            run(&mut s, [10, 1, 0, 1], [10, 3, 0, 2]),
            Some(Action::Accept)
        );
        // A longer prefix inside the exception is matched again.
        assert_eq!(
            run(&mut s, [10, 1, 1, 5], [10, 1, 0, 2]),
            Some(Action::Accept)
        );
        // The longer prefix wins over a broader except: 192.168/16 matches, others not.
        assert_eq!(
            run(&mut s, [192, 168, 1, 1], [172, 16, 0, 9]),
            Some(Action::Accept)
        );
        assert_eq!(
            run(&mut s, [172, 17, 1, 1], [172, 16, 0, 9]),
            Some(Action::Discard)
        );
        let count = |name: &str| {
            let i = t.spec.counters.iter().position(|(_, c)| c == name).unwrap();
            s.stats.counters[i].0
        };
        assert_eq!((count("either"), count("broad")), (4, 1));
        assert_eq!(
            count("nothing"),
            0,
            "a list of exceptions alone matches no address"
        );
    }

    #[test]
    fn ethernet_filters_match_addresses_types_vlans_and_ipv4_fields() {
        let t = tables(
            "vlans { office { vlan-id 100; } lab { vlan-id 200; } }
             firewall { family ethernet-switching { filter edge {
                term no-lldp { from { ether-type lldp; } then { count lldp; discard; } }
                term vendor { from { source-mac-address 00:11:22:00:00:00/24; vlan lab; } then { count vendor; discard; } }
                term telnet { from { ip-protocol tcp; destination-port 23; } then { count telnet; discard; } }
                term to-gw { from { destination-mac-address 02:00:00:00:00:01; ip-destination-address 10.0.100.1/32; }
                             then { count gw; accept; } }
                term any-ip { from { ip-source-address 0.0.0.0/0; } then { count any-ip; accept; } }
                term rest { then accept; } } } }
             interfaces { eth1 { unit 0 { family ethernet-switching { interface-mode trunk; vlan { members [ office lab ]; } filter { input edge; } } } } }",
        );
        let mut s = stage(&t);
        let ipv4 = |proto: u8, dst: [u8; 4], l4: &[u8]| {
            let mut h = vec![
                0x45,
                0,
                0,
                20 + l4.len() as u8,
                0,
                0,
                0,
                0,
                64,
                proto,
                0,
                0,
                10,
                0,
                100,
                9,
            ];
            h.extend(dst);
            h.extend(l4);
            h
        };
        let run = |s: &mut FilterStage, f: &[u8], vid| {
            verdict(s, &t, "edge", &Packet::ethernet(f, vid).unwrap(), 1)
        };
        let lldp = eth(
            [1, 0x80, 0xc2, 0, 0, 0x0e],
            [0x00, 0x11, 0x22, 1, 2, 3],
            0x88cc,
            &[0; 40],
        );
        assert_eq!(run(&mut s, &lldp, 100), Some(Action::Discard));
        let arp = eth([0xff; 6], [0x00, 0x11, 0x22, 1, 2, 3], 0x0806, &[0; 28]);
        assert_eq!(
            run(&mut s, &arp, 200),
            Some(Action::Discard),
            "vendor MAC in lab"
        );
        assert_eq!(
            run(&mut s, &arp, 100),
            Some(Action::Accept),
            "not in office"
        );
        let telnet = ipv4(
            6,
            [10, 0, 100, 7],
            &[0x9c, 0x40, 0, 23, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 2, 0, 0],
        );
        let f = eth([2, 0, 0, 0, 0, 7], [2, 0, 0, 0, 0, 9], 0x0800, &telnet);
        assert_eq!(run(&mut s, &f, 100), Some(Action::Discard));
        // Tagged as it came from a trunk: the type and the IPv4 fields are behind the tag.
        let mut tagged = f[..12].to_vec();
        tagged.extend([0x81, 0x00, 0, 100]);
        tagged.extend(&f[12..]);
        assert_eq!(run(&mut s, &tagged, 100), Some(Action::Discard));
        let ping = ipv4(1, [10, 0, 100, 1], &[8, 0, 0, 0, 0, 1, 0, 1]);
        let f = eth([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 9], 0x0800, &ping);
        assert_eq!(run(&mut s, &f, 100), Some(Action::Accept));
        // An IP condition never matches a frame that is not IPv4 (its header reads as zero).
        let not_ip = eth([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 9], 0x86dd, &[0; 60]);
        let p = Packet::ethernet(&not_ip, 100).unwrap();
        assert!(!p.ip);
        assert_eq!(run(&mut s, &not_ip, 100), Some(Action::Accept));
        // A tag cut short: a frame of type 0x8100 carrying nothing IP, read, not passed by.
        let short = eth([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 9], 0x8100, &[0, 100]);
        let p = Packet::ethernet(&short, 100).unwrap();
        assert_eq!((p.ether_type, p.ip), (0x8100, false));
        let count = |name: &str| {
            let i = t.spec.counters.iter().position(|(_, c)| c == name).unwrap();
            s.stats.counters[i].0
        };
        assert_eq!(
            (count("lldp"), count("vendor"), count("telnet"), count("gw")),
            (1, 1, 2, 1)
        );
        assert_eq!(count("any-ip"), 0, "the IPv6 frame went to the last term");
        assert!(
            Packet::ethernet(&[0; 10], 1).is_none(),
            "runt frames are not read"
        );
    }

    #[test]
    fn the_log_keeps_the_newest_entries_oldest_first() {
        let mut s = FilterStats::default();
        let e = |n: u64| LogEntry {
            time_ms: n,
            filter: 0,
            action: b'A',
            in_port: 0,
            proto: 17,
            src: IpAddr::from([0, 0, 0, 0]),
            dst: IpAddr::from([0, 0, 0, 0]),
            sport: 0,
            dport: 0,
            syslog: false,
        };
        for n in 0..3 {
            s.push_log(e(n));
        }
        assert_eq!(
            s.log_in_order()
                .iter()
                .map(|x| x.time_ms)
                .collect::<Vec<_>>(),
            [0, 1, 2]
        );
        for n in 3..(LOG_SIZE as u64 + 10) {
            s.push_log(e(n));
        }
        let order: Vec<u64> = s.log_in_order().iter().map(|x| x.time_ms).collect();
        assert_eq!(order.len(), LOG_SIZE);
        assert_eq!(order[0], 10);
        assert_eq!(*order.last().unwrap(), LOG_SIZE as u64 + 9);
        assert!(order.windows(2).all(|w| w[0] < w[1]));
    }
}
