//! Operational `show` commands that do not belong to a subsystem: version, uptime, commits.

use serde_json::json;

use crate::engine::Engine;

fn when(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| secs.to_string())
}

/// `01:02:03` or `3d 01:02` style elapsed time, as Junos prints it.
fn ago(secs: i64) -> String {
    let s = secs.max(0);
    let (d, h, m, sec) = (s / 86400, (s / 3600) % 24, (s / 60) % 60, s % 60);
    if d > 0 {
        format!("{d}d {h:02}:{m:02}")
    } else {
        format!("{h:02}:{m:02}:{sec:02}")
    }
}

pub fn version(host: &str, as_json: bool) -> String {
    let v = env!("CARGO_PKG_VERSION");
    if as_json {
        return pretty(json!({"software-information": {
            "host-name": host, "product-model": "savin", "product-name": "savin", "savin-version": v
        }}));
    }
    format!("Hostname: {host}\nModel: savin\nSavin [{v}]\n")
}

fn boot_time() -> Option<i64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

pub fn uptime(engine: &Engine, started_ms: i64, now_ms: i64, as_json: bool) -> String {
    let now = now_ms / 1000;
    let started = started_ms / 1000;
    let boot = boot_time();
    let last = engine.history().first();
    if as_json {
        return pretty(json!({"system-uptime-information": {
            "current-time": when(now),
            "system-booted-time": boot.map(when),
            "protocols-started-time": when(started),
            "last-configured-time": last.map(|r| when(r.time)),
            "last-configured-by": last.map(|r| r.user.clone()),
            "uptime-seconds": boot.map(|b| now - b),
        }}));
    }
    let mut out = format!("Current time: {}\n", when(now));
    if let Some(b) = boot {
        out.push_str(&format!(
            "System booted: {} ({} ago)\n",
            when(b),
            ago(now - b)
        ));
    }
    out.push_str(&format!(
        "Protocols started: {} ({} ago)\n",
        when(started),
        ago(now - started)
    ));
    if let Some(r) = last {
        out.push_str(&format!(
            "Last configured: {} ({} ago) by {}\n",
            when(r.time),
            ago(now - r.time),
            r.user
        ));
    }
    out
}

pub fn commits(engine: &Engine, now_ms: i64, as_json: bool) -> String {
    let pending = engine.pending();
    if as_json {
        let list: Vec<_> = engine
            .history()
            .iter()
            .enumerate()
            .map(|(i, r)| {
                json!({
                    "sequence-number": i, "commit-id": r.seq, "user": r.user, "client": r.via,
                    "date-time": when(r.time), "comment": r.comment,
                    "confirm-minutes": r.confirm_minutes,
                    "pending-confirmation": pending.is_some_and(|p| p.seq == r.seq),
                })
            })
            .collect();
        return pretty(json!({"commit-information": {"commit-history": list}}));
    }
    let mut out = String::new();
    for (i, r) in engine.history().iter().enumerate() {
        out.push_str(&format!(
            "{i:<4}{} by {} via {}",
            when(r.time),
            r.user,
            r.via
        ));
        if let Some(m) = r.confirm_minutes {
            out.push_str(&format!(" commit confirmed, rollback in {m}mins"));
            if let Some(p) = pending.filter(|p| p.seq == r.seq) {
                let left = (p.deadline_ms - now_ms).max(0) / 1000;
                out.push_str(&format!(" ({left}s left, unconfirmed)"));
            }
        }
        out.push('\n');
        if let Some(c) = &r.comment {
            out.push_str(&format!("    {c}\n"));
        }
    }
    out
}

pub fn pretty(v: serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(&v).expect("json");
    s.push('\n');
    s
}

/// Junos XML from the JSON a command prints (the JSON already uses Junos's element names):
/// an object's members become elements, an array repeats its element, `true` and `[null]` are
/// empty elements (`<current-active/>`), `false` and `null` are left out, and members whose
/// name starts with `@` (configuration metadata) are not elements. Wrapped in `<rpc-reply>`
/// as the CLI's `| display xml` shows it.
pub fn json_to_xml(v: &serde_json::Value) -> String {
    let mut out =
        String::from("<rpc-reply xmlns:junos=\"http://xml.juniper.net/junos/*/junos\">\n");
    if let serde_json::Value::Object(m) = v {
        for (k, v) in m {
            xml_member(&mut out, k, v, 1);
        }
    }
    out.push_str("</rpc-reply>\n");
    out
}

fn xml_member(out: &mut String, name: &str, v: &serde_json::Value, depth: usize) {
    use serde_json::Value;
    if name.starts_with('@') {
        return;
    }
    let pad = "    ".repeat(depth);
    match v {
        Value::Null | Value::Bool(false) => {}
        Value::Bool(true) => out.push_str(&format!("{pad}<{name}/>\n")),
        Value::Array(a) if a.len() == 1 && a[0].is_null() => {
            out.push_str(&format!("{pad}<{name}/>\n"))
        }
        Value::Array(a) => {
            for e in a {
                xml_member(out, name, e, depth);
            }
        }
        Value::Object(m) => {
            out.push_str(&format!("{pad}<{name}>\n"));
            for (k, v) in m {
                xml_member(out, k, v, depth + 1);
            }
            out.push_str(&format!("{pad}</{name}>\n"));
        }
        Value::String(s) => out.push_str(&format!("{pad}<{name}>{}</{name}>\n", xml_escape(s))),
        Value::Number(n) => out.push_str(&format!("{pad}<{name}>{n}</{name}>\n")),
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod xml_tests {
    use super::json_to_xml;

    #[test]
    fn json_becomes_junos_xml() {
        let v = serde_json::json!({"route-information": {"route-table": [
            {"table-name": "inet.0", "rt": [
                {"rt-destination": "10.0.0.0/8", "rt-entry": [
                    {"active-tag": "*", "current-active": true, "last-active": false,
                     "preference": 5, "nh": [{"to": "a<b&c"}]}]}]}]}});
        let x = json_to_xml(&v);
        assert!(x.starts_with("<rpc-reply xmlns:junos="), "{x}");
        for want in [
            "    <route-information>\n        <route-table>\n",
            "            <table-name>inet.0</table-name>",
            "<rt-destination>10.0.0.0/8</rt-destination>",
            "<current-active/>",
            "<preference>5</preference>",
            "<to>a&lt;b&amp;c</to>",
        ] {
            assert!(x.contains(want), "{want:?} in\n{x}");
        }
        assert!(!x.contains("last-active"), "{x}");
        assert!(x.ends_with("</rpc-reply>\n"));
    }
}
