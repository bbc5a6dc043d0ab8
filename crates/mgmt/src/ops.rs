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
