//! `show route` from the RIB, in Junos's shapes: every candidate per prefix (`*` active,
//! `-` last active, blank inactive), hidden routes apart (`show route hidden`), a longest-prefix
//! match for a bare address, `exact`, `longer`, `protocol NAME`, `detail`, `summary`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use savin_rib::{Addr, Candidate, Entry, Hop, Inactive, NextHopTable, Prefix, Protocol, Table};
use serde_json::{json, Value};

use crate::control::{host_len, Control};
use crate::show::{age, pretty};

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

    /// The prefixes of `table` the query selects, in order.
    fn rows<'t, A: Addr>(
        &self,
        table: &'t Table<A>,
        nhs: &NextHopTable,
    ) -> Vec<(Prefix<A>, &'t Entry)> {
        let visible = |e: &Entry| e.candidates().iter().any(|c| self.shows(e, c, nhs));
        let Some((ip, len, bare)) = self.filter else {
            return table
                .iter()
                .filter(|(_, e)| visible(e))
                .map(|(p, e)| (*p, e))
                .collect();
        };
        let Some(addr) = A::from_ip(ip) else {
            return Vec::new();
        };
        let p = Prefix::new(addr, len);
        if bare && !self.exact {
            // Junos: an address alone is the longest match (and what lies under a host route).
            return table.longest_match(addr, visible).into_iter().collect();
        }
        if self.exact {
            return table
                .get(p)
                .filter(|e| visible(e))
                .map(|e| (p, e))
                .into_iter()
                .collect();
        }
        table
            .within(p)
            .filter(|(q, e)| (!self.longer || q.length() > len) && visible(e))
            .map(|(q, e)| (*q, e))
            .collect()
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

/// A table's header counts.
struct Counts {
    destinations: usize,
    routes: usize,
    active: usize,
    hidden: usize,
}

impl Control {
    /// The hops of a candidate as shown: a route that carries traffic shows its usable
    /// members (selected); a hidden one shows all it has.
    fn shown_hops(&self, c: &Candidate) -> Vec<(Hop, bool)> {
        let nhs = self.rib.next_hops();
        let mask = nhs.usable(c.nh);
        nhs.hops(c.nh)
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
            Hop::Connected(p) => format!("{sel}  via {}", self.ifl(p as u16)),
            Hop::Gateway(p, gw) => format!("{sel}  to {gw} via {}", self.ifl(p as u16)),
            Hop::Local(p) => format!("   Local via {}", self.ifl(p as u16)),
            Hop::Discard => "   Discard".into(),
            Hop::Reject => "   Reject".into(),
            Hop::Unresolved(gw) => format!("   to {gw} (unresolved)"),
        }
    }

    fn hop_json(&self, h: Hop, selected: bool) -> Value {
        let mut v = match h {
            Hop::Connected(p) => json!({"via": self.ifl(p as u16)}),
            Hop::Gateway(p, gw) => json!({"to": gw.to_string(), "via": self.ifl(p as u16)}),
            Hop::Local(p) => json!({"nh-local-interface": self.ifl(p as u16)}),
            Hop::Discard => json!({"nh-type": "Discard"}),
            Hop::Reject => json!({"nh-type": "Reject"}),
            Hop::Unresolved(gw) => json!({"to": gw.to_string(), "nh-type": "Unusable"}),
        };
        if selected && matches!(h, Hop::Connected(_) | Hop::Gateway(..)) {
            v["selected-next-hop"] = json!(true);
        }
        v
    }

    pub fn show_route(&self, args: &[String], json_out: bool) -> Result<String, String> {
        let q = Query::parse(args)?;
        let nhs = self.rib.next_hops();
        if q.summary {
            return Ok(self.route_summary(&q, json_out));
        }
        // (name, counts, rows as (prefix text, entry))
        let rows4: Vec<(String, &Entry)> = q
            .rows(&self.rib.inet, nhs)
            .into_iter()
            .map(|(p, e)| (p.to_string(), e))
            .collect();
        let rows6: Vec<(String, &Entry)> = q
            .rows(&self.rib.inet6, nhs)
            .into_iter()
            .map(|(p, e)| (p.to_string(), e))
            .collect();
        type Shown<'e> = (&'static str, Counts, Vec<(String, &'e Entry)>);
        let mut tables: Vec<Shown> = Vec::new();
        for (name, s, rows) in [
            ("inet.0", self.rib.inet.summary(nhs), rows4),
            ("inet6.0", self.rib.inet6.summary(nhs), rows6),
        ] {
            if q.table.as_deref().is_some_and(|t| t != name) {
                continue;
            }
            // Junos prints only the tables with something to show.
            if rows.is_empty() && (q.filter.is_some() || s.destinations == 0) {
                continue;
            }
            let c = Counts {
                destinations: s.destinations,
                routes: s.routes,
                active: s.active,
                hidden: s.hidden,
            };
            tables.push((name, c, rows));
        }

        if json_out {
            let list: Vec<Value> = tables
                .iter()
                .map(|(name, c, rows)| {
                    let rt: Vec<Value> = rows
                        .iter()
                        .map(|(dst, e)| {
                            let entries: Vec<Value> = e
                                .candidates()
                                .iter()
                                .filter(|c| q.shows(e, c, nhs))
                                .map(|c| self.entry_json(e, c))
                                .collect();
                            json!({"rt-destination": dst, "rt-entry": entries})
                        })
                        .collect();
                    json!({
                        "table-name": name,
                        "destination-count": c.destinations,
                        "total-route-count": c.routes,
                        "active-route-count": c.active,
                        "holddown-route-count": 0,
                        "hidden-route-count": c.hidden,
                        "rt": rt,
                    })
                })
                .collect();
            return Ok(pretty(json!({"route-information": {"route-table": list}})));
        }
        let mut out = String::new();
        for (name, c, rows) in tables {
            let _ = writeln!(
                out,
                "\n{name}: {} destinations, {} routes ({} active, 0 holddown, {} hidden)",
                c.destinations, c.routes, c.active, c.hidden
            );
            if !q.detail {
                out.push_str("+ = Active Route, - = Last Active, * = Both\n\n");
            }
            for (dst, e) in rows {
                let shown: Vec<&Candidate> = e
                    .candidates()
                    .iter()
                    .filter(|c| q.shows(e, c, nhs))
                    .collect();
                if q.detail {
                    self.entry_detail(&mut out, &dst, e, &shown);
                    continue;
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
        }
        Ok(out)
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
        if let Some(r) = e.inactive_reason(c, self.rib.next_hops()) {
            v["inactive-reason"] = json!(inactive_text(r));
        }
        v
    }

    /// `show route detail`: one block per prefix, one paragraph per route.
    fn entry_detail(&self, out: &mut String, dst: &str, e: &Entry, shown: &[&Candidate]) {
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
            if let Some(r) = e.inactive_reason(c, self.rib.next_hops()) {
                let _ = writeln!(out, "                Inactive reason: {}", inactive_text(r));
            }
            let _ = writeln!(out, "                Age: {}", age(since(c)));
        }
    }

    /// `show route summary`.
    fn route_summary(&self, q: &Query, json_out: bool) -> String {
        let nhs = self.rib.next_hops();
        let mut tables = vec![("inet.0", self.rib.inet.summary(nhs))];
        tables.push(("inet6.0", self.rib.inet6.summary(nhs)));
        tables.retain(|(name, _)| q.table.as_deref().is_none_or(|t| t == *name));
        // By protocol name (OSPF internal and external are one line, as on Junos).
        let by_name = |s: &savin_rib::Summary| {
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
                    json!({
                        "table-name": name,
                        "destination-count": s.destinations,
                        "total-route-count": s.routes,
                        "active-route-count": s.active,
                        "holddown-route-count": 0,
                        "hidden-route-count": s.hidden,
                        "protocols": protocols,
                    })
                })
                .collect();
            return pretty(json!({"route-summary-information": {"route-table": list}}));
        }
        let mut out = String::new();
        for (name, s) in tables {
            let _ = writeln!(
                out,
                "\n{name}: {} destinations, {} routes ({} active, 0 holddown, {} hidden)",
                s.destinations, s.routes, s.active, s.hidden
            );
            for (n, (r, a)) in by_name(&s) {
                let _ = writeln!(out, "{n:>20}: {r:>6} routes, {a:>6} active");
            }
        }
        out
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
