//! `show route` from the RIB, in Junos's shapes: every candidate per prefix (`*` active,
//! `-` last active, blank inactive), hidden routes apart (`show route hidden`), a longest-prefix
//! match for a bare address, `exact`, `longer`, `protocol NAME`, `detail`, `summary`.
//!
//! It runs on the thread that asks, not the control thread (which answers ARP), and reads the
//! RIB a chunk of prefixes at a time under its read lock: between chunks the control thread
//! may write (a commit, a link change), so a full-table listing never holds them up for more
//! than one chunk. As on Junos, a listing taken while routes change may show some of each.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::{RwLock, RwLockReadGuard};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use savin_rib::{
    Addr, Candidate, Entry, Hop, Inactive, NextHopTable, Prefix, Protocol, Rib, Summary, Table,
};
use serde_json::{json, Value};

use crate::control::host_len;
use crate::show::{age, logical, pretty};

/// Prefixes read under one hold of the read lock.
const CHUNK: usize = 2048;

/// The RIB and what its renderers need, shared between the control thread (the writer) and
/// the threads that answer `show route`.
#[derive(Default)]
pub struct RibShared {
    pub rib: RwLock<Rib>,
    /// Each port slot's netdev name (empty: no port).
    pub names: ArcSwap<Vec<String>>,
}

impl RibShared {
    pub fn read(&self) -> RwLockReadGuard<'_, Rib> {
        self.rib.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, Rib> {
        self.rib.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// What `show route` was asked for.
#[derive(Default)]
struct Query {
    /// (prefix address, length, given as a bare address)
    filter: Option<(IpAddr, u8, bool)>,
    exact: bool,
    longer: bool,
    detail: bool,
    hidden: bool,
    summary: bool,
    table: Option<String>,
    protocols: Option<&'static [Protocol]>,
}

impl Query {
    fn parse(args: &[String]) -> Result<Query, String> {
        let mut q = Query::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "exact" => q.exact = true,
                "longer" => q.longer = true,
                "detail" => q.detail = true,
                "hidden" => q.hidden = true,
                "summary" => q.summary = true,
                "protocol" => {
                    let p = it.next().ok_or("syntax error: protocol name expected")?;
                    q.protocols = Some(Protocol::from_name(p).ok_or_else(|| {
                        format!("syntax error: unknown protocol '{p}' (direct, local, static, ospf, aggregate, bgp)")
                    })?);
                }
                "table" => {
                    let t = it.next().ok_or("syntax error: table name expected")?;
                    if t != "inet.0" && t != "inet6.0" {
                        return Err(format!("error: table {t} does not exist"));
                    }
                    q.table = Some(t.clone());
                }
                p => {
                    let (addr, len) = match p.split_once('/') {
                        Some((a, l)) => (a, Some(l)),
                        None => (p, None),
                    };
                    let ip: IpAddr = addr
                        .parse()
                        .map_err(|_| format!("syntax error: unexpected '{p}'"))?;
                    let max = host_len(ip);
                    let l: u8 = match len {
                        Some(l) => l
                            .parse()
                            .ok()
                            .filter(|l| *l <= max)
                            .ok_or_else(|| format!("invalid prefix length in '{p}'"))?,
                        None => max,
                    };
                    q.filter = Some((crate::mask(ip, l), l, len.is_none()));
                }
            }
        }
        Ok(q)
    }

    /// Whether the query shows candidate `c` of `e`.
    fn shows(&self, e: &Entry, c: &Candidate, nhs: &NextHopTable) -> bool {
        let hidden = !e.is_active(c) && nhs.usable(c.nh) == 0;
        hidden == self.hidden
            && self
                .protocols
                .is_none_or(|p| p.contains(&c.source.protocol))
    }
}

/// Junos's mark in front of a route: `*` active, `-` last active, blank otherwise.
fn mark(e: &Entry, c: &Candidate) -> char {
    if e.is_active(c) {
        '*'
    } else if e.is_last_active(c) {
        '-'
    } else {
        ' '
    }
}

fn since(c: &Candidate) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(c.since)
}

/// Renders routes: the RIB under a read lock, and the port names.
struct View<'a> {
    nhs: &'a NextHopTable,
    names: &'a [String],
}

impl View<'_> {
    fn ifl(&self, port: u32) -> String {
        match self.names.get(port as usize) {
            Some(n) if !n.is_empty() => logical(n),
            _ => format!("port{port}"),
        }
    }

    /// The hops of a candidate as shown: a route that carries traffic shows its usable
    /// members (selected); a hidden one shows all it has.
    fn shown_hops(&self, c: &Candidate) -> Vec<(Hop, bool)> {
        let mask = self.nhs.usable(c.nh);
        self.nhs
            .hops(c.nh)
            .hops()
            .iter()
            .enumerate()
            .filter(|(i, _)| mask == 0 || mask & (1 << i) != 0)
            .map(|(i, h)| (*h, mask & (1 << i) != 0))
            .collect()
    }

    fn hop_text(&self, h: Hop, selected: bool) -> String {
        let sel = if selected { '>' } else { ' ' };
        match h {
            Hop::Connected(p) => format!("{sel}  via {}", self.ifl(p)),
            Hop::Gateway(p, gw) => format!("{sel}  to {gw} via {}", self.ifl(p)),
            Hop::Local(p) => format!("   Local via {}", self.ifl(p)),
            Hop::Discard => "   Discard".into(),
            Hop::Reject => "   Reject".into(),
            Hop::Unresolved(gw) => format!("   to {gw} (unresolved)"),
        }
    }

    fn hop_json(&self, h: Hop, selected: bool) -> Value {
        let mut v = match h {
            Hop::Connected(p) => json!({"via": self.ifl(p)}),
            Hop::Gateway(p, gw) => json!({"to": gw.to_string(), "via": self.ifl(p)}),
            Hop::Local(p) => json!({"nh-local-interface": self.ifl(p)}),
            Hop::Discard => json!({"nh-type": "Discard"}),
            Hop::Reject => json!({"nh-type": "Reject"}),
            Hop::Unresolved(gw) => json!({"to": gw.to_string(), "nh-type": "Unusable"}),
        };
        if selected && matches!(h, Hop::Connected(_) | Hop::Gateway(..)) {
            v["selected-next-hop"] = json!(true);
        }
        v
    }

    /// One destination, in the brief text form.
    fn text(&self, out: &mut String, dst: &str, e: &Entry, q: &Query) {
        let shown: Vec<&Candidate> = e
            .candidates()
            .iter()
            .filter(|c| q.shows(e, c, self.nhs))
            .collect();
        if q.detail {
            self.detail(out, dst, e, &shown);
            return;
        }
        // Junos moves the rest to the next line when the prefix is too long.
        if dst.len() > 18 {
            let _ = writeln!(out, "{dst}");
            let _ = write!(out, "{:<18}", "");
        } else {
            let _ = write!(out, "{dst:<18}");
        }
        for (i, c) in shown.iter().enumerate() {
            if i > 0 {
                let _ = write!(out, "{:<18}", "");
            }
            let _ = writeln!(
                out,
                " {}[{}/{}] {}",
                mark(e, c),
                c.source.protocol.name(),
                c.preference,
                age(since(c))
            );
            for (h, sel) in self.shown_hops(c) {
                let _ = writeln!(out, "                    {}", self.hop_text(h, sel));
            }
        }
    }

    /// One destination as JSON.
    fn json(&self, dst: &str, e: &Entry, q: &Query) -> Value {
        let entries: Vec<Value> = e
            .candidates()
            .iter()
            .filter(|c| q.shows(e, c, self.nhs))
            .map(|c| self.entry_json(e, c))
            .collect();
        json!({"rt-destination": dst, "rt-entry": entries})
    }

    fn entry_json(&self, e: &Entry, c: &Candidate) -> Value {
        let nh: Vec<Value> = self
            .shown_hops(c)
            .into_iter()
            .map(|(h, sel)| self.hop_json(h, sel))
            .collect();
        let mut v = json!({
            "active-tag": mark(e, c).to_string(),
            "protocol-name": c.source.protocol.name(),
            "preference": c.preference,
            "age": age(since(c)),
            "nh": nh,
        });
        if e.is_active(c) {
            v["current-active"] = json!(true);
        }
        if e.is_last_active(c) {
            v["last-active"] = json!(true);
        }
        if c.metric != 0 {
            v["metric"] = json!(c.metric);
        }
        if let Some(r) = e.inactive_reason(c, self.nhs) {
            v["inactive-reason"] = json!(inactive_text(r));
        }
        v
    }

    /// `show route detail`: one block per prefix, one paragraph per route.
    fn detail(&self, out: &mut String, dst: &str, e: &Entry, shown: &[&Candidate]) {
        let announced = usize::from(e.active().is_some());
        let n = e.candidates().len();
        let entries = if n == 1 { "entry" } else { "entries" };
        let _ = writeln!(out, "{dst} ({n} {entries}, {announced} announced)");
        for c in shown {
            let _ = writeln!(
                out,
                "        {}{:<7}Preference: {}",
                if e.is_active(c) { '*' } else { ' ' },
                c.source.protocol.name(),
                c.preference
            );
            let hops = self.shown_hops(c);
            let kind = match hops.first().map(|(h, _)| *h) {
                Some(Hop::Gateway(..)) => "Router",
                Some(Hop::Connected(_)) => "Interface",
                Some(Hop::Local(_)) => "Local",
                Some(Hop::Discard) => "Discard",
                Some(Hop::Reject) => "Reject",
                Some(Hop::Unresolved(_)) | None => "Unusable",
            };
            let _ = writeln!(out, "                Next hop type: {kind}");
            for (h, sel) in hops {
                let text = self.hop_text(h, false);
                let text = text.trim_start();
                let sel = if sel && matches!(h, Hop::Gateway(..) | Hop::Connected(_)) {
                    ", selected"
                } else {
                    ""
                };
                let _ = writeln!(out, "                Next hop: {text}{sel}");
            }
            let state = if e.is_active(c) {
                "<Active Int>"
            } else {
                "<Int>"
            };
            let _ = writeln!(out, "                State: {state}");
            if let Some(r) = e.inactive_reason(c, self.nhs) {
                let _ = writeln!(out, "                Inactive reason: {}", inactive_text(r));
            }
            let _ = writeln!(out, "                Age: {}", age(since(c)));
        }
    }
}

/// One family's table within the RIB.
type Pick<A> = fn(&Rib) -> &Table<A>;

/// A table's counts, read a chunk at a time.
fn count<A: Addr>(shared: &RibShared, pick: Pick<A>) -> Summary {
    let mut s = Summary::default();
    let all = Prefix::new(A::masked(first_addr::<A>(), 0), 0);
    let mut after = None;
    loop {
        let rib = shared.read();
        let mut n = 0;
        for (p, e) in pick(&rib).within_after(all, after).take(CHUNK) {
            s.add(e, rib.next_hops());
            after = Some(*p);
            n += 1;
        }
        if n < CHUNK {
            return s;
        }
    }
}

/// The zero address of a family (`Addr` has no constructor of its own).
fn first_addr<A: Addr>() -> A {
    let ip = if A::BITS == 32 {
        IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
    };
    A::from_ip(ip).expect("the family's own zero address")
}

/// What a table shows: rendered text or JSON rows, and how many destinations.
enum Rows {
    Text(String),
    Json(Vec<Value>),
}

/// Where rendered rows go: a chunk's worth under the read lock, then appended to the whole
/// after the lock is released (growing a large output copies it; not while writers wait).
struct Sink<'q> {
    q: &'q Query,
    json_out: bool,
    chunk_text: String,
    chunk_js: Vec<Value>,
    text: String,
    js: Vec<Value>,
    shown: usize,
}

impl Sink<'_> {
    fn row<A: Addr>(&mut self, view: &View, p: Prefix<A>, e: &Entry) {
        let dst = p.to_string();
        if self.json_out {
            self.chunk_js.push(view.json(&dst, e, self.q));
        } else {
            view.text(&mut self.chunk_text, &dst, e, self.q);
        }
        self.shown += 1;
    }

    fn flush(&mut self) {
        self.text.push_str(&self.chunk_text);
        self.chunk_text.clear();
        self.js.append(&mut self.chunk_js);
    }

    fn finish(mut self) -> (usize, Rows) {
        self.flush();
        let rows = if self.json_out {
            Rows::Json(self.js)
        } else {
            Rows::Text(self.text)
        };
        (self.shown, rows)
    }
}

fn rows<A: Addr>(
    shared: &RibShared,
    pick: Pick<A>,
    q: &Query,
    names: &[String],
    json_out: bool,
) -> (usize, Rows) {
    let mut sink = Sink {
        q,
        json_out,
        chunk_text: String::new(),
        chunk_js: Vec::new(),
        text: String::new(),
        js: Vec::new(),
        shown: 0,
    };
    let Some((ip, len, bare)) = q.filter else {
        let all = Prefix::new(first_addr::<A>(), 0);
        walk(shared, pick, all, names, &mut sink);
        return sink.finish();
    };
    let Some(addr) = A::from_ip(ip) else {
        return sink.finish();
    };
    let p = Prefix::new(addr, len);
    if bare || q.exact {
        let rib = shared.read();
        let nhs = rib.next_hops();
        let view = View { nhs, names };
        let table = pick(&rib);
        let visible = |e: &Entry| e.candidates().iter().any(|c| q.shows(e, c, nhs));
        // Junos: an address alone is the longest match.
        let hit = if q.exact {
            table.get(p).filter(|e| visible(e)).map(|e| (p, e))
        } else {
            table.longest_match(addr, visible)
        };
        if let Some((p, e)) = hit {
            sink.row(&view, p, e);
        }
        drop(rib);
        return sink.finish();
    }
    walk(shared, pick, p, names, &mut sink);
    sink.finish()
}

/// Walks the destinations inside `outer` that the query shows, a chunk per read lock.
fn walk<A: Addr>(
    shared: &RibShared,
    pick: Pick<A>,
    outer: Prefix<A>,
    names: &[String],
    sink: &mut Sink,
) {
    let q = sink.q;
    let mut after = None;
    loop {
        let rib = shared.read();
        let nhs = rib.next_hops();
        let view = View { nhs, names };
        let mut n = 0;
        for (p, e) in pick(&rib).within_after(outer, after).take(CHUNK) {
            n += 1;
            after = Some(*p);
            let longer_ok = !q.longer || p.length() > outer.length();
            if longer_ok && e.candidates().iter().any(|c| q.shows(e, c, nhs)) {
                sink.row(&view, *p, e);
            }
        }
        drop(rib);
        sink.flush();
        if n < CHUNK {
            return;
        }
    }
}

/// `show route ...`, on the caller's thread.
pub fn show_route(shared: &RibShared, args: &[String], json_out: bool) -> Result<String, String> {
    let q = Query::parse(args)?;
    let names = shared.names.load_full();
    let v4: Pick<u32> = |r| &r.inet;
    let v6: Pick<u128> = |r| &r.inet6;
    let wanted = |name: &str| q.table.as_deref().is_none_or(|t| t == name);
    let mut tables: Vec<(&str, Summary, usize, Rows)> = Vec::new();
    fn table<A: Addr>(
        shared: &RibShared,
        pick: Pick<A>,
        q: &Query,
        names: &[String],
        json_out: bool,
    ) -> (Summary, usize, Rows) {
        let s = count(shared, pick);
        let (n, r) = if q.summary {
            (0, Rows::Text(String::new()))
        } else {
            rows(shared, pick, q, names, json_out)
        };
        (s, n, r)
    }
    if wanted("inet.0") {
        let (s, n, r) = table(shared, v4, &q, &names, json_out);
        tables.push(("inet.0", s, n, r));
    }
    if wanted("inet6.0") {
        let (s, n, r) = table(shared, v6, &q, &names, json_out);
        tables.push(("inet6.0", s, n, r));
    }
    if q.summary {
        return Ok(summary(
            tables.into_iter().map(|(n, s, ..)| (n, s)).collect(),
            json_out,
        ));
    }
    // Junos prints only the tables with something to show.
    tables.retain(|(_, s, n, _)| *n > 0 || (q.filter.is_none() && s.destinations > 0));
    if json_out {
        let list: Vec<Value> = tables
            .into_iter()
            .map(|(name, s, _, r)| {
                let rt = match r {
                    Rows::Json(v) => v,
                    Rows::Text(_) => Vec::new(),
                };
                {
                    let mut t = table_json(name, &s);
                    t["rt"] = json!(rt);
                    t
                }
            })
            .collect();
        return Ok(pretty(json!({"route-information": {"route-table": list}})));
    }
    let mut out = String::new();
    for (name, s, _, r) in tables {
        out.push_str(&table_header(name, &s));
        if !q.detail {
            out.push_str("+ = Active Route, - = Last Active, * = Both\n\n");
        }
        if let Rows::Text(t) = r {
            out.push_str(&t);
        }
    }
    Ok(out)
}

/// A table's counts as `show route` and `show route summary` name them.
fn table_json(name: &str, s: &Summary) -> Value {
    json!({
        "table-name": name,
        "destination-count": s.destinations,
        "total-route-count": s.routes,
        "active-route-count": s.active,
        "holddown-route-count": 0,
        "hidden-route-count": s.hidden,
    })
}

/// A table's header line, as Junos prints it above its routes and in the summary.
fn table_header(name: &str, s: &Summary) -> String {
    format!(
        "\n{name}: {} destinations, {} routes ({} active, 0 holddown, {} hidden)\n",
        s.destinations, s.routes, s.active, s.hidden
    )
}

/// `show route summary`.
fn summary(tables: Vec<(&str, Summary)>, json_out: bool) -> String {
    // By protocol name (OSPF internal and external are one line, as on Junos).
    let by_name = |s: &Summary| {
        let mut m: BTreeMap<(Protocol, &str), (usize, usize)> = BTreeMap::new();
        let mut seen: BTreeMap<&str, Protocol> = BTreeMap::new();
        for (p, (r, a)) in &s.protocols {
            let first = *seen.entry(p.name()).or_insert(*p);
            let e = m.entry((first, p.name())).or_default();
            e.0 += r;
            e.1 += a;
        }
        m.into_iter().map(|((_, n), c)| (n, c)).collect::<Vec<_>>()
    };
    if json_out {
        let list: Vec<Value> = tables
            .iter()
            .map(|(name, s)| {
                let protocols: Vec<Value> = by_name(s)
                    .into_iter()
                    .map(|(n, (r, a))| {
                        json!({"protocol-name": n, "protocol-route-count": r, "active-route-count": a})
                    })
                    .collect();
                {
                    let mut t = table_json(name, s);
                    t["protocols"] = json!(protocols);
                    t
                }
            })
            .collect();
        return pretty(json!({"route-summary-information": {"route-table": list}}));
    }
    let mut out = String::new();
    for (name, s) in tables {
        out.push_str(&table_header(name, &s));
        for (n, (r, a)) in by_name(&s) {
            let _ = writeln!(out, "{n:>20}: {r:>6} routes, {a:>6} active");
        }
    }
    out
}

fn inactive_text(r: Inactive) -> &'static str {
    match r {
        Inactive::Unusable => "Unusable path",
        Inactive::Preference => "Route Preference",
        Inactive::Metric => "Route Metric or MED comparison",
        Inactive::Tie => "Not Best in its group",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use savin_rib::{IpPrefix, NextHops, Route, Source};

    use super::*;

    /// A listing of a million routes lets the writer (the control thread applying a commit or
    /// a link change) in between its chunks: no wait for the write lock is more than a small
    /// part of the listing. With one read lock over the whole listing the writer would wait
    /// for most of it at once.
    #[test]
    fn a_full_table_listing_lets_the_writer_in_between_chunks() {
        let shared = Arc::new(RibShared::default());
        {
            let mut rib = shared.write();
            for i in 0..1_000_000u32 {
                let p = IpPrefix::new(IpAddr::V4((0x0100_0000 + (i << 8)).into()), 24);
                rib.update(
                    p,
                    Source::new(Protocol::Static, 5),
                    Some(Route::new(Protocol::Static, NextHops::one(Hop::Discard))),
                );
            }
            assert_eq!(rib.drain_fib_updates().len(), 1_000_000);
        }
        let done = Arc::new(AtomicBool::new(false));
        let listing = {
            let (shared, done) = (shared.clone(), done.clone());
            std::thread::spawn(move || {
                let out = show_route(&shared, &[], false).unwrap();
                done.store(true, Ordering::SeqCst);
                out
            })
        };
        let started = std::time::Instant::now();
        let (mut writes, mut longest) = (0u64, Duration::ZERO);
        while !done.load(Ordering::SeqCst) {
            let t = std::time::Instant::now();
            shared.write().set_time(writes);
            longest = longest.max(t.elapsed());
            writes += 1;
            std::thread::sleep(Duration::from_millis(1));
        }
        let listing_took = started.elapsed();
        let out = listing.join().unwrap();
        assert!(
            out.contains("inet.0: 1000000 destinations"),
            "{}",
            &out[..200]
        );
        assert_eq!(out.matches("*[Static/5]").count(), 1_000_000);
        eprintln!("listing {listing_took:?}, {writes} writes, the longest wait {longest:?}");
        assert!(
            longest * 4 < listing_took,
            "the writer waited {longest:?} at once during a listing of {listing_took:?}"
        );
    }
}
