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
use std::sync::RwLockReadGuard;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use savin_rib::{
    Addr, Candidate, Entry, Hop, Inactive, NextHopTable, Prefix, Protocol, Rib, Summary, Table,
};
use serde_json::{json, Value};

use crate::control::host_len;
use savin_config::subsystem::State;

use crate::show::{age, logical};

/// Prefixes read under one hold of the read lock.
const CHUNK: usize = 2048;

/// The RIB and what its renderers need, shared between the control thread (the writer) and
/// the threads that answer `show route`.
#[derive(Default)]
pub struct RibShared {
    /// The hub's: it outlives an engine (BGP keeps its paths in it).
    pub rib: std::sync::Arc<savin_rib::SharedRib>,
    /// Each port slot's netdev name (empty: no port).
    pub names: ArcSwap<Vec<String>>,
    /// The committed routing policies (`test policy`).
    pub policies: ArcSwap<savin_policy::Policies>,
    /// Routing protocols' notes on their routes (`show route detail`).
    pub hub: std::sync::Arc<crate::routes::RouteHub>,
}

impl RibShared {
    pub fn read(&self) -> RwLockReadGuard<'_, Rib> {
        self.rib.read()
    }

    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, Rib> {
        self.rib.write()
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
                // Savin's detail view carries what `extensive` adds on Junos that it keeps.
                "detail" | "extensive" => q.detail = true,
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

/// `show route`: the typed reply (`route-information`), rendered as text, JSON and XML from
/// the same rows. Rows are compact copies of what the RIB holds (names and ages are rendered
/// when shown), taken a chunk at a time under the read lock.
pub struct RouteInformation {
    tables: Vec<RouteTable>,
    detail: bool,
    /// Each port slot's netdev name, for the hops' interfaces.
    names: std::sync::Arc<Vec<String>>,
}

struct RouteTable {
    name: &'static str,
    counts: Summary,
    rows: Vec<Rt>,
}

/// One destination and its shown candidates.
struct Rt {
    dst: (IpAddr, u8),
    /// Candidates in all (`show route detail`: "N entries"), and whether one is active.
    total: usize,
    announced: bool,
    entries: Vec<RtEntry>,
}

struct RtEntry {
    /// The candidate's source id (a protocol's candidate order).
    id: u32,
    /// What its protocol says about it (`show route detail`).
    notes: Option<crate::routes::RouteNotes>,
    mark: char,
    /// The last active route (also the active one when it came back: JSON says both).
    last_active: bool,
    protocol: Protocol,
    preference: u32,
    metric: u32,
    /// When it became what it is (seconds since the epoch).
    since: u64,
    /// The hops as shown, and whether each is selected (carries traffic).
    hops: Vec<(Hop, bool)>,
    /// A recursive route's protocol next hops (BGP's), which `hops` resolve.
    via: Vec<IpAddr>,
    inactive: Option<Inactive>,
}

impl RtEntry {
    fn of(e: &Entry, c: &Candidate, nhs: &NextHopTable) -> RtEntry {
        // A route that carries traffic shows its usable members (selected); a hidden one
        // shows all it has.
        let mask = nhs.usable(c.nh);
        let hops = nhs
            .hops(c.nh)
            .hops()
            .iter()
            .enumerate()
            .filter(|(i, _)| mask == 0 || mask & (1 << i) != 0)
            .map(|(i, h)| (*h, mask & (1 << i) != 0))
            .collect();
        RtEntry {
            id: c.source.id,
            notes: None,
            mark: mark(e, c),
            last_active: e.is_last_active(c),
            protocol: c.source.protocol,
            preference: c.preference,
            metric: c.metric,
            since: u64::from(c.since),
            hops,
            via: nhs.via(c.nh).map(<[IpAddr]>::to_vec).unwrap_or_default(),
            inactive: e.inactive_reason(c, nhs),
        }
    }

    fn age(&self) -> String {
        age(SystemTime::UNIX_EPOCH + Duration::from_secs(self.since))
    }
}

impl RouteInformation {
    fn ifl(&self, port: u32) -> String {
        match self.names.get(port as usize) {
            Some(n) if !n.is_empty() => logical(n),
            _ => format!("port{port}"),
        }
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
    fn text_row(&self, out: &mut String, rt: &Rt) {
        let dst = format!("{}/{}", rt.dst.0, rt.dst.1);
        // Junos moves the rest to the next line when the prefix is too long.
        if dst.len() > 18 {
            let _ = writeln!(out, "{dst}");
            let _ = write!(out, "{:<18}", "");
        } else {
            let _ = write!(out, "{dst:<18}");
        }
        for (i, c) in rt.entries.iter().enumerate() {
            if i > 0 {
                let _ = write!(out, "{:<18}", "");
            }
            let _ = writeln!(
                out,
                " {}[{}/{}] {}",
                c.mark,
                c.protocol.name(),
                c.preference,
                c.age()
            );
            for &(h, sel) in &c.hops {
                let _ = writeln!(out, "                    {}", self.hop_text(h, sel));
            }
        }
    }

    /// `show route detail`: one block per prefix, one paragraph per route.
    fn detail_row(&self, out: &mut String, rt: &Rt) {
        let n = rt.total;
        let entries = if n == 1 { "entry" } else { "entries" };
        let _ = writeln!(
            out,
            "{}/{} ({n} {entries}, {} announced)",
            rt.dst.0,
            rt.dst.1,
            usize::from(rt.announced)
        );
        for c in &rt.entries {
            let active = c.mark == '*';
            let _ = writeln!(
                out,
                "        {}{:<7}Preference: {}",
                if active { '*' } else { ' ' },
                c.protocol.name(),
                c.preference
            );
            let kind = match c.hops.first().map(|(h, _)| *h) {
                Some(Hop::Gateway(..)) => "Router",
                Some(Hop::Connected(_)) => "Interface",
                Some(Hop::Local(_)) => "Local",
                Some(Hop::Discard) => "Discard",
                Some(Hop::Reject) => "Reject",
                Some(Hop::Unresolved(_)) | None => "Unusable",
            };
            let _ = writeln!(out, "                Next hop type: {kind}");
            for &(h, sel) in &c.hops {
                let text = self.hop_text(h, false);
                let text = text.trim_start();
                let sel = if sel && matches!(h, Hop::Gateway(..) | Hop::Connected(_)) {
                    ", selected"
                } else {
                    ""
                };
                let _ = writeln!(out, "                Next hop: {text}{sel}");
            }
            for a in &c.via {
                let _ = writeln!(out, "                Protocol next hop: {a}");
            }
            let state = if active { "<Active Int>" } else { "<Int>" };
            let _ = writeln!(out, "                State: {state}");
            if let Some(r) = c.inactive {
                let _ = writeln!(out, "                Inactive reason: {}", inactive_text(r));
            }
            let _ = writeln!(out, "                Age: {}", c.age());
            for l in c.notes.iter().flat_map(|n| &n.text) {
                let _ = writeln!(out, "                {l}");
            }
        }
    }

    fn entry_json(&self, c: &RtEntry) -> Value {
        let nh: Vec<Value> = c.hops.iter().map(|&(h, s)| self.hop_json(h, s)).collect();
        let mut v = json!({
            "active-tag": c.mark.to_string(),
            "protocol-name": c.protocol.name(),
            "preference": c.preference,
            // Junos's JSON form of an element with an attribute: XML gets
            // `<age junos:seconds="N">1w2d 03:04:05</age>` (NAPALM reads the seconds).
            "age": {"data": c.age(), "attributes": {"junos:seconds": SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
                .saturating_sub(c.since)
                .to_string()}},
            "nh": nh,
        });
        if !c.via.is_empty() {
            let via: Vec<Value> = c.via.iter().map(|a| json!({"to": a.to_string()})).collect();
            v["protocol-nh"] = json!(via);
        }
        if c.mark == '*' {
            v["current-active"] = json!(true);
        }
        if c.last_active {
            v["last-active"] = json!(true);
        }
        // BGP's metric is its candidate order, not a metric to show.
        if c.metric != 0 && c.protocol != Protocol::Bgp {
            v["metric"] = json!(c.metric);
        }
        for (k, val) in c.notes.iter().flat_map(|n| &n.json) {
            v[k.as_str()] = val.clone();
        }
        if let Some(r) = c.inactive {
            v["inactive-reason"] = json!(inactive_text(r));
        }
        v
    }
}

impl State for RouteInformation {
    fn text(&self) -> String {
        let mut out = String::new();
        for t in &self.tables {
            out.push_str(&table_header(t.name, &t.counts));
            if !self.detail {
                out.push_str("+ = Active Route, - = Last Active, * = Both\n\n");
            }
            for rt in &t.rows {
                if self.detail {
                    self.detail_row(&mut out, rt);
                } else {
                    self.text_row(&mut out, rt);
                }
            }
        }
        out
    }

    fn json(&self) -> Value {
        let list: Vec<Value> = self
            .tables
            .iter()
            .map(|t| {
                let rt: Vec<Value> = t
                    .rows
                    .iter()
                    .map(|rt| {
                        let entries: Vec<Value> =
                            rt.entries.iter().map(|c| self.entry_json(c)).collect();
                        // The detail view names the length apart, as Junos's does.
                        if self.detail {
                            json!({"rt-destination": rt.dst.0.to_string(),
                                "rt-prefix-length": rt.dst.1, "rt-entry": entries})
                        } else {
                            json!({"rt-destination": format!("{}/{}", rt.dst.0, rt.dst.1),
                                "rt-entry": entries})
                        }
                    })
                    .collect();
                let mut v = table_json(t.name, &t.counts);
                v["rt"] = json!(rt);
                v
            })
            .collect();
        json!({"route-information": {"route-table": list}})
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
            after = Some(p);
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

/// Copies the shown rows of one destination.
fn row<A: Addr>(q: &Query, nhs: &NextHopTable, p: Prefix<A>, e: &Entry) -> Rt {
    let entries: Vec<RtEntry> = e
        .candidates()
        .iter()
        .filter(|c| q.shows(e, c, nhs))
        .map(|c| RtEntry::of(e, c, nhs))
        .collect();
    Rt {
        dst: (p.addr().to_ip(), p.length()),
        total: e.candidates().len(),
        announced: e.active().is_some(),
        entries,
    }
}

fn rows<A: Addr>(shared: &RibShared, pick: Pick<A>, q: &Query) -> Vec<Rt> {
    let mut out = Vec::new();
    let Some((ip, len, bare)) = q.filter else {
        let all = Prefix::new(first_addr::<A>(), 0);
        walk(shared, pick, all, q, &mut out);
        return out;
    };
    let Some(addr) = A::from_ip(ip) else {
        return out;
    };
    let p = Prefix::new(addr, len);
    if bare || q.exact {
        let rib = shared.read();
        let nhs = rib.next_hops();
        let table = pick(&rib);
        let visible = |e: &Entry| e.candidates().iter().any(|c| q.shows(e, c, nhs));
        // Junos: an address alone is the longest match.
        let hit = if q.exact {
            table.get(p).filter(|e| visible(e)).map(|e| (p, e))
        } else {
            table.longest_match(addr, visible)
        };
        if let Some((p, e)) = hit {
            out.push(row(q, nhs, p, e));
        }
        return out;
    }
    walk(shared, pick, p, q, &mut out);
    out
}

/// Walks the destinations inside `outer` that the query shows, a chunk per read lock; rows
/// are copied under the lock and rendered after it.
fn walk<A: Addr>(
    shared: &RibShared,
    pick: Pick<A>,
    outer: Prefix<A>,
    q: &Query,
    out: &mut Vec<Rt>,
) {
    let mut after = None;
    let mut chunk = Vec::with_capacity(CHUNK);
    loop {
        let rib = shared.read();
        let nhs = rib.next_hops();
        let mut n = 0;
        for (p, e) in pick(&rib).within_after(outer, after).take(CHUNK) {
            n += 1;
            after = Some(p);
            let longer_ok = !q.longer || p.length() > outer.length();
            if longer_ok && e.candidates().iter().any(|c| q.shows(e, c, nhs)) {
                chunk.push(row(q, nhs, p, e));
            }
        }
        drop(rib);
        // Appended after the lock is released (growing a large list copies it).
        out.append(&mut chunk);
        if n < CHUNK {
            return;
        }
    }
}

/// `show route ...`, on the caller's thread.
pub fn show_route(shared: &RibShared, args: &[String]) -> Result<Box<dyn State>, String> {
    let q = Query::parse(args)?;
    let names = shared.names.load_full();
    let v4: Pick<u32> = |r| &r.inet;
    let v6: Pick<u128> = |r| &r.inet6;
    let wanted = |name: &str| q.table.as_deref().is_none_or(|t| t == name);
    let mut tables = Vec::new();
    if wanted("inet.0") {
        let counts = count(shared, v4);
        let rows = if q.summary {
            Vec::new()
        } else {
            rows(shared, v4, &q)
        };
        tables.push(RouteTable {
            name: "inet.0",
            counts,
            rows,
        });
    }
    if wanted("inet6.0") {
        let counts = count(shared, v6);
        let rows = if q.summary {
            Vec::new()
        } else {
            rows(shared, v6, &q)
        };
        tables.push(RouteTable {
            name: "inet6.0",
            counts,
            rows,
        });
    }
    if q.summary {
        return Ok(Box::new(RouteSummaryInformation(
            tables.into_iter().map(|t| (t.name, t.counts)).collect(),
        )));
    }
    // Junos prints only the tables with something to show.
    tables.retain(|t| !t.rows.is_empty() || (q.filter.is_none() && t.counts.destinations > 0));
    // The protocols' notes on their routes, asked outside the RIB's lock (a protocol answers
    // from its own thread).
    if q.detail {
        for t in &mut tables {
            for rt in &mut t.rows {
                let mut protos: Vec<Protocol> = rt.entries.iter().map(|e| e.protocol).collect();
                protos.sort();
                protos.dedup();
                for p in protos {
                    if !shared.hub.has_annotator(p) {
                        continue;
                    }
                    let notes = shared
                        .hub
                        .notes(p, savin_rib::IpPrefix::new(rt.dst.0, rt.dst.1));
                    for e in rt.entries.iter_mut().filter(|e| e.protocol == p) {
                        e.notes = notes.get(e.id as usize).cloned();
                    }
                }
            }
        }
    }
    Ok(Box::new(RouteInformation {
        tables,
        detail: q.detail,
        names,
    }))
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

/// `show route summary`: `route-summary-information`, each table's counts and its routes
/// by protocol.
pub struct RouteSummaryInformation(Vec<(&'static str, Summary)>);

impl RouteSummaryInformation {
    /// By protocol name (OSPF internal and external are one line, as on Junos).
    fn by_name(s: &Summary) -> Vec<(&'static str, (usize, usize))> {
        let mut m: BTreeMap<(Protocol, &'static str), (usize, usize)> = BTreeMap::new();
        let mut seen: BTreeMap<&'static str, Protocol> = BTreeMap::new();
        for (p, (r, a)) in &s.protocols {
            let first = *seen.entry(p.name()).or_insert(*p);
            let e = m.entry((first, p.name())).or_default();
            e.0 += r;
            e.1 += a;
        }
        m.into_iter().map(|((_, n), c)| (n, c)).collect()
    }
}

impl State for RouteSummaryInformation {
    fn text(&self) -> String {
        let mut out = String::new();
        for (name, s) in &self.0 {
            out.push_str(&table_header(name, s));
            for (n, (r, a)) in Self::by_name(s) {
                let _ = writeln!(out, "{n:>20}: {r:>6} routes, {a:>6} active");
            }
        }
        out
    }

    fn json(&self) -> Value {
        let list: Vec<Value> = self
            .0
            .iter()
            .map(|(name, s)| {
                let protocols: Vec<Value> = Self::by_name(s)
                    .into_iter()
                    .map(|(n, (r, a))| {
                        json!({"protocol-name": n, "protocol-route-count": r, "active-route-count": a})
                    })
                    .collect();
                let mut t = table_json(name, s);
                t["protocols"] = json!(protocols);
                t
            })
            .collect();
        json!({"route-summary-information": {"route-table": list}})
    }
}

fn inactive_text(r: Inactive) -> &'static str {
    match r {
        Inactive::Unusable => "Unusable path",
        Inactive::Preference => "Route Preference",
        Inactive::Metric => "Route Metric or MED comparison",
        Inactive::Tie => "Not Best in its group",
    }
}

/// `test policy NAME PREFIX`: the routes in PREFIX (and more specific) that policy NAME
/// accepts, as `show route` shows them, then how many it accepted and rejected. Each
/// destination's active route is tested; a route no term decides is accepted, as Junos's
/// `test policy` does.
pub struct PolicyTest {
    routes: RouteInformation,
    name: String,
    accepted: usize,
    rejected: usize,
}

impl State for PolicyTest {
    fn text(&self) -> String {
        let mut out = self.routes.text();
        let _ = writeln!(
            out,
            "\nPolicy {}: {} prefix accepted, {} prefix rejected",
            self.name, self.accepted, self.rejected
        );
        out
    }

    fn json(&self) -> Value {
        let mut v = self.routes.json();
        v["policy-test"] = json!({
            "policy-name": self.name,
            "prefixes-accepted": self.accepted,
            "prefixes-rejected": self.rejected,
        });
        v
    }
}

pub fn test_policy(shared: &RibShared, args: &[String]) -> Result<Box<dyn State>, String> {
    let [name, prefix] = args else {
        return Err("syntax error: expected test policy NAME PREFIX".into());
    };
    let policies = shared.policies.load_full();
    if !policies.has(name) {
        return Err(format!("error: policy '{name}' is not defined"));
    }
    let (addr, len) = match prefix.split_once('/') {
        Some((a, l)) => (
            a,
            l.parse::<u8>()
                .map_err(|_| format!("invalid prefix '{prefix}'"))?,
        ),
        None => (prefix.as_str(), if prefix.contains(':') { 128 } else { 32 }),
    };
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| format!("invalid prefix '{prefix}'"))?;
    if len > if ip.is_ipv6() { 128 } else { 32 } {
        return Err(format!("invalid prefix '{prefix}': length out of range"));
    }
    let q = Query {
        filter: Some((ip, len, false)),
        ..Query::default()
    };
    let names = shared.names.load_full();
    let chain = vec![name.clone()];
    let (mut accepted, mut rejected) = (0, 0);
    // The table of the prefix's family.
    let (table, all, counts) = if ip.is_ipv6() {
        (
            "inet6.0",
            rows(shared, |r| &r.inet6, &q),
            count(shared, |r| &r.inet6),
        )
    } else {
        (
            "inet.0",
            rows(shared, |r| &r.inet, &q),
            count(shared, |r| &r.inet),
        )
    };
    let mut kept = Vec::new();
    for rt in all {
        // The destination's active route (one without is not tested).
        let Some(e) = rt.entries.iter().find(|e| matches!(e.mark, '*' | '+')) else {
            continue;
        };
        // A recursive route's next hops are its protocol next hops (`from next-hop`).
        let next_hops: Vec<IpAddr> = if e.via.is_empty() {
            e.hops
                .iter()
                .filter_map(|(h, _)| match h {
                    Hop::Gateway(_, a) | Hop::Unresolved(a) => Some(*a),
                    _ => None,
                })
                .collect()
        } else {
            e.via.clone()
        };
        let interfaces: Vec<String> = e
            .hops
            .iter()
            .filter_map(|(h, _)| h.interface())
            .filter_map(|i| names.get(i as usize).filter(|n| !n.is_empty()))
            .map(|n| logical(n))
            .collect();
        let protocol = e.protocol.name().to_ascii_lowercase();
        let route = savin_policy::RouteIn {
            prefix: savin_policy::Net::new(rt.dst.0, rt.dst.1),
            protocol: &protocol,
            neighbor: None,
            next_hops: &next_hops,
            interfaces: &interfaces,
            rib: table,
        };
        let mut attrs = savin_policy::Attrs {
            preference: e.preference,
            metric: e.metric,
            ..savin_policy::Attrs::default()
        };
        let ok = policies
            .evaluate(&chain, savin_policy::Action::Accept, &route, &mut attrs)
            .map_err(|e| format!("error: {e}"))?;
        if ok {
            accepted += 1;
            kept.push(rt);
        } else {
            rejected += 1;
        }
    }
    Ok(Box::new(PolicyTest {
        routes: RouteInformation {
            tables: vec![RouteTable {
                name: table,
                counts,
                rows: kept,
            }],
            detail: false,
            names,
        },
        name: name.clone(),
        accepted,
        rejected,
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use savin_rib::{IpPrefix, NextHops, Route, Source};

    use super::*;

    /// A route that went unusable and came back is both the active and the last active
    /// route: the JSON says both (`current-active`, `last-active`), the text marks it `*`.
    #[test]
    fn a_route_back_from_unusable_is_active_and_last_active() {
        let shared = RibShared::default();
        {
            let mut rib = shared.write();
            rib.set_interface(1, true);
            let p = IpPrefix::new(IpAddr::V4([10, 9, 0, 0].into()), 16);
            let gw = IpAddr::V4([10, 2, 0, 2].into());
            rib.update(
                p,
                Source::new(Protocol::Static, 5),
                Some(Route::new(
                    Protocol::Static,
                    NextHops::one(Hop::Gateway(1, gw)),
                )),
            );
            rib.drain_fib_updates();
            rib.set_interface(1, false);
            rib.drain_fib_updates();
            rib.set_interface(1, true);
            rib.drain_fib_updates();
        }
        let state = show_route(&shared, &["10.9.0.0/16".into(), "exact".into()]).unwrap();
        let e = &state.json()["route-information"]["route-table"][0]["rt"][0]["rt-entry"][0];
        assert_eq!(e["current-active"], true, "{e}");
        assert_eq!(e["last-active"], true, "{e}");
        assert!(state.text().contains("*[Static/5]"), "{}", state.text());
    }

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
                let out = show_route(&shared, &[]).unwrap().text();
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
