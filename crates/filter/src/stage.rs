//! The filter stage on the pipeline's arcs: an interface's input filters on ip4-unicast
//! (before the route lookup), its output filters on ip4-output, and `lo0`'s input filters on
//! ip4-output for frames addressed to the box, whatever port they came in on.
//!
//! The control plane publishes [`FilterTables`] (the compiled filters with interfaces turned
//! into port slots); the worker keeps the counters and the policers' buckets, and publishes
//! the counters with its statistics.

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use savin_classify::Header;
use savin_dataplane::counters::DropReason;
use savin_dataplane::punt::PuntReason;
use savin_dataplane::{Cx, Feature, Routes, Tables};
use savin_io::FrameBatch;
use savin_wire::ethernet::HEADER_LEN as ETH_HDR;

use crate::compile::{Action, Extra, Filter, FilterSpec, Frag, PolicerSpec};

/// What the data plane runs: the compiled filters and, per port slot, the filters applied.
#[derive(Debug, Default)]
pub struct FilterTables {
    pub spec: Arc<FilterSpec>,
    /// Per port slot: its input and output filters, in order.
    pub input: Vec<Vec<u32>>,
    pub output: Vec<Vec<u32>>,
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
        let mut input = vec![Vec::new(); slots];
        let mut output = vec![Vec::new(); slots];
        for (name, fs) in &spec.input {
            if let Some(s) = slot(name).filter(|s| usize::from(*s) < slots) {
                input[usize::from(s)].clone_from(fs);
            }
        }
        for (name, fs) in &spec.output {
            if let Some(s) = slot(name).filter(|s| usize::from(*s) < slots) {
                output[usize::from(s)].clone_from(fs);
            }
        }
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
            input,
            output,
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
    pub src: u32,
    pub dst: u32,
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

    /// Decides frame `i` by the filters `list` (in order). False: dropped (counted, and for
    /// a reject answered).
    fn run(
        &mut self,
        cx: &mut Cx,
        batch: &FrameBatch,
        i: u16,
        list: &[u32],
        tables: &FilterTables,
    ) -> bool {
        let Some(pkt) = Packet::read(batch.frame(usize::from(i))) else {
            // Shorter than its headers: the IPv4 checks passed it, so it has no transport
            // header to match on; filters see it with zero ports.
            return true;
        };
        let in_port = cx.meta.in_port.get(usize::from(i)).copied().unwrap_or(0);
        for &fi in list {
            let f = &tables.spec.filters[fi as usize];
            match self.decide(f, fi, &pkt, in_port, tables) {
                None => continue,
                Some(Action::Accept | Action::Next) => return true,
                Some(Action::Discard) => {
                    cx.drop(DropReason::FilterDiscarded);
                    return false;
                }
                Some(Action::Reject { .. }) => {
                    cx.drop(DropReason::FilterRejected);
                    cx.punt_error(i, PuntReason::PolicyReject);
                    return false;
                }
            }
        }
        // The implicit discard at the end of a filter (of the last, for a list).
        cx.drop(DropReason::FilterDiscarded);
        false
    }

    /// The action of the first term of `f` that matches (after `next term`s), with its
    /// counter and policer applied; a policer out of spec discards. None: no term matched.
    fn decide(
        &mut self,
        f: &Filter,
        fi: u32,
        pkt: &Packet,
        in_port: u16,
        tables: &FilterTables,
    ) -> Option<Action> {
        let mut cand = f
            .classifier
            .classify(&pkt.header)
            .map(|r| f.rule_term[r as usize] as usize);
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
                        src: pkt.header.src,
                        dst: pkt.header.dst,
                        sport: pkt.header.sport,
                        dport: pkt.header.dport,
                        syslog: term.syslog,
                    });
                }
                if action != Action::Next {
                    return Some(action);
                }
            }
            cand = scan(f, t + 1, &pkt.header);
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
}

/// The next term from `from` whose classifier rules match `h` (terms after a `next term`
/// or after one whose other conditions failed: rare, so a scan).
fn scan(f: &Filter, from: usize, h: &Header) -> Option<usize> {
    (from..f.terms.len()).find(|&t| {
        let (a, b) = f.terms[t].rules;
        f.rules[a..b].iter().any(|r| r.matches(h))
    })
}

fn extra_ok(e: &Extra, p: &Packet, in_port: u16, slots: &[u16]) -> bool {
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
    if e.except_src.iter().any(|x| x.contains(p.header.src))
        || e.except_dst.iter().any(|x| x.contains(p.header.dst))
    {
        return false;
    }
    if !e.interfaces.is_empty() && !slots.contains(&in_port) {
        return false;
    }
    true
}

/// What a filter reads of an IPv4 frame.
struct Packet {
    header: Header,
    len: u32,
    tcp_flags: Option<u8>,
    dscp: u8,
    offset: u16,
    more: bool,
    df: bool,
}

impl Packet {
    fn len16(&self) -> u16 {
        self.len.min(u32::from(u16::MAX)) as u16
    }

    /// Reads a frame the IPv4 checks passed (so its IP header is whole).
    #[inline]
    fn read(f: &[u8]) -> Option<Packet> {
        let l3 = ETH_HDR;
        let ip = f.get(l3..l3 + 20)?;
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = u16::from_be_bytes([ip[2], ip[3]]);
        let frag = u16::from_be_bytes([ip[6], ip[7]]);
        let offset = frag & 0x1fff;
        let proto = ip[9];
        let src = u32::from_be_bytes([ip[12], ip[13], ip[14], ip[15]]);
        let dst = u32::from_be_bytes([ip[16], ip[17], ip[18], ip[19]]);
        let l4 = f.get(l3 + ihl..).unwrap_or(&[]);
        let (mut sport, mut dport, mut tcp_flags) = (0, 0, None);
        if offset == 0 {
            match proto {
                6 | 17 | 132 if l4.len() >= 4 => {
                    sport = u16::from_be_bytes([l4[0], l4[1]]);
                    dport = u16::from_be_bytes([l4[2], l4[3]]);
                    if proto == 6 {
                        tcp_flags = l4.get(13).copied();
                    }
                }
                1 if l4.len() >= 2 => dport = u16::from(l4[0]) << 8 | u16::from(l4[1]),
                _ => {}
            }
        }
        Some(Packet {
            header: Header {
                src,
                dst,
                sport,
                dport,
                proto,
            },
            len: u32::from(total),
            tcp_flags,
            dscp: ip[1] >> 2,
            offset,
            more: frag & 0x2000 != 0,
            df: frag & 0x4000 != 0,
        })
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
            let Some(list) = tables.input.get(usize::from(port)) else {
                continue;
            };
            if list.is_empty() {
                continue;
            }
            if !self.run(cx, batch, i, list, &tables) {
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
        if v6 {
            return true;
        }
        let Some(tables) = self.tables.take() else {
            return true;
        };
        let list = match out {
            Some(p) => tables.output.get(usize::from(p)).map(Vec::as_slice),
            None => Some(tables.spec.lo0_input.as_slice()),
        };
        let ok = match list {
            Some(l) if !l.is_empty() => self.run(cx, batch, i, l, &tables),
            _ => true,
        };
        self.tables = Some(tables);
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_the_newest_entries_oldest_first() {
        let mut s = FilterStats::default();
        let e = |n: u64| LogEntry {
            time_ms: n,
            filter: 0,
            action: b'A',
            in_port: 0,
            proto: 17,
            src: 0,
            dst: 0,
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
