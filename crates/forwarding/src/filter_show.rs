//! `show firewall [filter NAME]` and `clear firewall`: the filters' counters and policers,
//! as the worker last published them.

use std::fmt::Write as _;
use std::sync::mpsc::sync_channel;
use std::time::Duration;

use savin_config::subsystem::State;
use savin_dataplane::ToWorker;
use serde_json::{json, Value};

use crate::control::{Control, Features};

/// One filter's counters and policers: (name, bytes, packets).
pub struct FilterRows {
    name: String,
    counters: Vec<(String, u64, u64)>,
    policers: Vec<(String, u64, u64)>,
}

/// `show firewall`: `firewall-information`.
pub struct FirewallInformation(Vec<FilterRows>);

impl State for FirewallInformation {
    fn json(&self) -> Value {
        let rows = |v: &[(String, u64, u64)], key: &str| -> Vec<Value> {
            v.iter()
                .map(|(n, b, p)| json!({key: n, "byte-count": b, "packet-count": p}))
                .collect()
        };
        json!({"firewall-information": {"filter-information": self.0.iter().map(|f| json!({
            "filter-name": f.name,
            "counter": rows(&f.counters, "counter-name"),
            "policer": rows(&f.policers, "policer-name"),
        })).collect::<Vec<_>>()}})
    }

    fn text(&self) -> String {
        let mut out = String::new();
        for f in &self.0 {
            let _ = writeln!(out, "\nFilter: {}", f.name);
            for (title, rows) in [("Counters:", &f.counters), ("Policers:", &f.policers)] {
                if rows.is_empty() {
                    continue;
                }
                let _ = writeln!(out, "{title}");
                let _ = writeln!(out, "{:<48}{:>20}{:>21}", "Name", "Bytes", "Packets");
                for (n, b, p) in rows {
                    let _ = writeln!(out, "{n:<48}{b:>20}{p:>21}");
                }
            }
        }
        out
    }
}

/// One line of the firewall log.
pub struct LogRow {
    time: String,
    filter: String,
    action: char,
    interface: String,
    protocol: String,
    src: String,
    dst: String,
}

/// `show firewall log`: `firewall-log-information`, newest first as Junos shows it.
pub struct FirewallLog(Vec<LogRow>);

impl State for FirewallLog {
    fn json(&self) -> Value {
        json!({"firewall-log-information": {"log-information": self.0.iter().map(|r| json!({
            "time": r.time, "filter-name": r.filter, "action-name": r.action.to_string(),
            "interface-name": r.interface, "protocol-name": r.protocol,
            "source-address": r.src, "destination-address": r.dst,
        })).collect::<Vec<_>>()}})
    }

    fn text(&self) -> String {
        let mut out = String::from(
            "Log :
",
        );
        let _ = writeln!(
            out,
            "{:<9} {:<16} {:<6} {:<19} {:<8} {:<24} Dest Addr",
            "Time", "Filter", "Action", "Interface", "Protocol", "Src Addr"
        );
        for r in &self.0 {
            let _ = writeln!(
                out,
                "{:<9} {:<16} {:<6} {:<19} {:<8} {:<24} {}",
                r.time, r.filter, r.action, r.interface, r.protocol, r.src, r.dst
            );
        }
        out
    }
}

impl Control {
    /// Writes the firewall log entries of `syslog` terms published since the last call to
    /// the daemon's log (target `savin_filter`: `system syslog` facility firewall), as
    /// Junos's PFE_FW_SYSLOG_IP lines. At most the ring's worth a call.
    pub(crate) fn syslog_filters(&mut self) {
        let (generation, logged, entries) = match self.stats.try_lock() {
            Ok(s) => {
                let f = &s.feature.1 .0;
                let (g, n) = (f.generation, f.logged);
                if (g, n) == self.filter_log_seen || f.log.is_empty() {
                    self.filter_log_seen = (g, n);
                    return;
                }
                (g, n, f.log_in_order())
            }
            Err(_) => return,
        };
        let seen = if self.filter_log_seen.0 == generation {
            self.filter_log_seen.1
        } else {
            0
        };
        self.filter_log_seen = (generation, logged);
        let new = (logged.saturating_sub(seen) as usize).min(entries.len());
        for e in &entries[entries.len() - new..] {
            if !e.syslog {
                continue;
            }
            let proto = match e.proto {
                1 => "icmp".to_string(),
                58 => "icmp6".into(),
                6 => "tcp".into(),
                17 => "udp".into(),
                p => p.to_string(),
            };
            // As the PFE tags them: IPv4 one way, IPv6 by what it carries.
            let tag = match (e.src.is_ipv6(), e.proto) {
                (false, _) => "PFE_FW_SYSLOG_IP",
                (true, 6 | 17) => "PFE_FW_SYSLOG_IP6_TCP_UDP",
                (true, 58) => "PFE_FW_SYSLOG_IP6_ICMP",
                (true, _) => "PFE_FW_SYSLOG_IP6_GEN",
            };
            let iface = self
                .port(e.in_port)
                .map(|p| format!("{}.0", p.name))
                .unwrap_or_default();
            tracing::info!(
                target: "savin_filter",
                "{tag}: FW: {iface} {} {proto} {} {} {} {} (1 packets)",
                char::from(e.action),
                e.src,
                e.dst,
                e.sport,
                e.dport
            );
        }
    }

    /// `show firewall log`: the packets `log` and `syslog` terms matched, newest first.
    pub fn show_firewall_log(&self, args: &[String]) -> Result<FirewallLog, String> {
        if let Some(a) = args.first() {
            return Err(format!("syntax error: unexpected '{a}'"));
        }
        let Some(tables) = self.filters.load_full() else {
            return Ok(FirewallLog(Vec::new()));
        };
        let stats = self
            .stats
            .lock()
            .map(|s| s.feature.1 .0.clone())
            .unwrap_or_default();
        if stats.generation != tables.generation {
            return Ok(FirewallLog(Vec::new()));
        }
        let mut rows: Vec<LogRow> = stats
            .log_in_order()
            .into_iter()
            .map(|e| {
                let with_port = |a: std::net::IpAddr, p: u16| match (
                    matches!(e.proto, 6 | 17 | 132),
                    a.is_ipv6(),
                ) {
                    (true, false) => format!("{a}:{p}"),
                    (true, true) => format!("[{a}]:{p}"),
                    (false, _) => a.to_string(),
                };
                // The worker's clock counts from the engine's start, as the control
                // thread's does: the entry's age gives its wall-clock time.
                let age = self.now().saturating_sub(e.time_ms);
                let at = chrono::Local::now() - chrono::Duration::milliseconds(age as i64);
                LogRow {
                    time: at.format("%H:%M:%S").to_string(),
                    filter: tables
                        .spec
                        .filters
                        .get(e.filter as usize)
                        .map(|f| f.name.clone())
                        .unwrap_or_default(),
                    action: char::from(e.action),
                    interface: self
                        .port(e.in_port)
                        .map(|p| format!("{}.0", p.name))
                        .unwrap_or_default(),
                    protocol: match e.proto {
                        1 => "ICMP".into(),
                        58 => "ICMPv6".into(),
                        6 => "TCP".into(),
                        17 => "UDP".into(),
                        p => p.to_string(),
                    },
                    src: with_port(e.src, e.sport),
                    dst: with_port(e.dst, e.dport),
                }
            })
            .collect();
        rows.reverse();
        Ok(FirewallLog(rows))
    }

    /// `show firewall [filter NAME]`.
    pub fn show_firewall(&self, args: &[String]) -> Result<FirewallInformation, String> {
        let only = match args {
            [] => None,
            [f, name] if f == "filter" => Some(name.as_str()),
            [a, ..] => return Err(format!("syntax error: unexpected '{a}'")),
        };
        let Some(tables) = self.filters.load_full() else {
            return match only {
                Some(n) => Err(format!("error: filter {n} is not applied to any interface")),
                None => Ok(FirewallInformation(Vec::new())),
            };
        };
        let stats = self
            .stats
            .lock()
            .map(|s| s.feature.1 .0.clone())
            .unwrap_or_default();
        // Counts for other filters (not yet published for these) read as zero.
        let fresh = stats.generation == tables.generation;
        let at = |v: &Vec<(u64, u64)>, i: usize| {
            if fresh {
                v.get(i).copied().unwrap_or_default()
            } else {
                (0, 0)
            }
        };
        let spec = &tables.spec;
        let mut out = Vec::new();
        for (fi, f) in spec.filters.iter().enumerate() {
            if only.is_some_and(|n| n != f.name) {
                continue;
            }
            let counters = spec
                .counters
                .iter()
                .enumerate()
                .filter(|(_, (owner, _))| *owner as usize == fi)
                .map(|(i, (_, c))| {
                    let (p, b) = at(&stats.counters, i);
                    (c.clone(), b, p)
                })
                .collect();
            // Each policer instance once (a filter-specific one serves several terms), named
            // as Junos names it: by the policer and its term (or filter).
            let mut policers = Vec::new();
            let mut seen = Vec::new();
            for pi in f.terms.iter().filter_map(|t| t.policer) {
                if seen.contains(&pi) {
                    continue;
                }
                seen.push(pi);
                let (p, b) = at(&stats.policed, pi as usize);
                policers.push((spec.policers[pi as usize].0.clone(), b, p));
            }
            out.push(FilterRows {
                name: f.name.clone(),
                counters,
                policers,
            });
        }
        if let Some(n) = only {
            if out.is_empty() {
                return Err(format!("error: filter {n} is not applied to any interface"));
            }
        }
        Ok(FirewallInformation(out))
    }

    /// `clear firewall [all]`: every counter and policer count from zero.
    pub fn clear_firewall(&self, args: &[String]) -> Result<String, String> {
        match args {
            [] => {}
            [a] if a == "all" => {}
            [a, ..] => return Err(format!("syntax error: unexpected '{a}'")),
        }
        let (tx, rx) = sync_channel(1);
        self.to_worker
            .send(ToWorker::Feature(Box::new(
                move |f: &mut Features, _now_ms| {
                    f.b.a.clear();
                    let _ = tx.try_send(());
                },
            )))
            .map_err(|_| "error: the forwarding worker is not running".to_string())?;
        rx.recv_timeout(Duration::from_secs(2))
            .map_err(|_| "error: the forwarding worker did not answer".to_string())?;
        // The published counters follow with the worker's next publication; clear them here
        // too so a `show` right after reads zero.
        if let Ok(mut s) = self.stats.lock() {
            s.feature.1 .0.counters.iter_mut().for_each(|c| *c = (0, 0));
            s.feature.1 .0.policed.iter_mut().for_each(|c| *c = (0, 0));
        }
        Ok(String::new())
    }
}
