//! Operational `show` commands that do not belong to a subsystem: version, uptime, commits.

use savin_config::subsystem::State;
use serde_json::json;

use savin_config::print::xml_escape;

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

/// `show version`: `software-information`.
pub struct SoftwareInformation {
    host: String,
}

pub fn version(host: &str) -> SoftwareInformation {
    SoftwareInformation {
        host: host.to_string(),
    }
}

impl State for SoftwareInformation {
    fn text(&self) -> String {
        let v = env!("CARGO_PKG_VERSION");
        format!("Hostname: {}\nModel: savin\nSavin [{v}]\n", self.host)
    }

    fn json(&self) -> serde_json::Value {
        // `junos-version` in Junos's form: PyEZ parses it into its version facts.
        let junos = savin_netconf::reply::JUNOS_RELEASE;
        json!({"software-information": {
            "host-name": self.host, "product-model": "savin", "product-name": "savin",
            "savin-version": env!("CARGO_PKG_VERSION"),
            "junos-version": junos,
            "package-information": {
                "name": "junos",
                "comment": format!("Savin {} [{junos}]", env!("CARGO_PKG_VERSION")),
            },
        }})
    }
}

/// `show chassis hardware`: `chassis-inventory`. Savin's chassis is the box it runs on; its
/// serial number is the one made at first start (inventories key boxes by it).
pub struct ChassisInventory {
    serial: String,
}

pub fn chassis_inventory(serial: &str) -> ChassisInventory {
    ChassisInventory {
        serial: serial.to_string(),
    }
}

impl State for ChassisInventory {
    fn text(&self) -> String {
        format!(
            "Hardware inventory:\n{:<16} {:<8} {:<12} {:<17} Description\n{:<16} {:<8} {:<12} {:<17} savin\n",
            "Item", "Version", "Part number", "Serial number", "Chassis", "", "", self.serial
        )
    }

    fn json(&self) -> serde_json::Value {
        json!({"chassis-inventory": {"chassis": {
            "name": "Chassis", "serial-number": self.serial, "description": "savin"}}})
    }
}

/// `show chassis routing-engine`: `route-engine-information`, the one routing engine (the
/// host): its memory and load as the kernel counts them, and how long Savin has run.
pub struct RouteEngine {
    now: i64,
    started: i64,
    /// Total and available memory in kB (`/proc/meminfo`).
    memory_kb: Option<(u64, u64)>,
    load: Option<[String; 3]>,
}

pub fn route_engine(started_ms: i64, now_ms: i64) -> RouteEngine {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |name: &str| {
        meminfo
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
    };
    let load = std::fs::read_to_string("/proc/loadavg").ok().and_then(|l| {
        let mut w = l.split_whitespace().map(str::to_string);
        Some([w.next()?, w.next()?, w.next()?])
    });
    RouteEngine {
        now: now_ms / 1000,
        started: started_ms / 1000,
        memory_kb: field("MemTotal:").zip(field("MemAvailable:")),
        load,
    }
}

impl RouteEngine {
    /// Junos's long form: `1 day, 2 hours, 3 minutes, 4 seconds`.
    fn uptime(&self) -> String {
        let s = (self.now - self.started).max(0);
        let parts = [
            (s / 86_400, "day"),
            ((s / 3600) % 24, "hour"),
            ((s / 60) % 60, "minute"),
            (s % 60, "second"),
        ];
        let words: Vec<String> = parts
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, u)| format!("{n} {u}{}", if *n == 1 { "" } else { "s" }))
            .collect();
        if words.is_empty() {
            "0 seconds".into()
        } else {
            words.join(", ")
        }
    }

    fn used_percent(&self) -> Option<u64> {
        self.memory_kb
            .filter(|(t, _)| *t > 0)
            .map(|(t, a)| (t.saturating_sub(a)) * 100 / t)
    }
}

impl State for RouteEngine {
    fn text(&self) -> String {
        let mut out = String::from("Routing Engine status:\n");
        let row = |out: &mut String, k: &str, v: &str| out.push_str(&format!("    {k:<31}{v}\n"));
        row(&mut out, "Slot", "0");
        row(&mut out, "Current state", "Master");
        if let Some((t, _)) = self.memory_kb {
            row(&mut out, "DRAM", &format!("{} MB", t / 1024));
        }
        if let Some(p) = self.used_percent() {
            row(&mut out, "Memory utilization", &format!("{p} percent"));
        }
        row(&mut out, "Model", "savin");
        row(&mut out, "Start time", &when(self.started));
        row(&mut out, "Uptime", &self.uptime());
        if let Some([a, b, c]) = &self.load {
            out.push_str(&format!("    Load averages:                 1 minute   5 minute  15 minute\n{:<35}{a:<11}{b:<11}{c}\n", ""));
        }
        out
    }

    fn json(&self) -> serde_json::Value {
        let up = (self.now - self.started).max(0);
        let mut re = json!({
            "slot": 0, "mastership-state": "master", "status": "OK", "model": "savin",
            "start-time": {"data": when(self.started),
                "attributes": {"junos:seconds": self.started}},
            "up-time": {"data": self.uptime(), "attributes": {"junos:seconds": up}},
        });
        if let Some((t, _)) = self.memory_kb {
            re["memory-dram-size"] = json!(format!("{} MB", t / 1024));
        }
        if let Some(p) = self.used_percent() {
            re["memory-buffer-utilization"] = json!(p);
        }
        if let Some([a, b, c]) = &self.load {
            re["load-average-one"] = json!(a);
            re["load-average-five"] = json!(b);
            re["load-average-fifteen"] = json!(c);
        }
        json!({"route-engine-information": {"route-engine": re}})
    }
}

fn boot_time() -> Option<i64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// `show system uptime`: `system-uptime-information` (times in seconds since the epoch).
pub struct SystemUptime {
    now: i64,
    boot: Option<i64>,
    started: i64,
    /// The last commit: when, and by whom.
    last: Option<(i64, String)>,
}

pub fn uptime(engine: &Engine, started_ms: i64, now_ms: i64) -> SystemUptime {
    SystemUptime {
        now: now_ms / 1000,
        boot: boot_time(),
        started: started_ms / 1000,
        last: engine.history().first().map(|r| (r.time, r.user.clone())),
    }
}

impl State for SystemUptime {
    fn text(&self) -> String {
        let now = self.now;
        let mut out = format!("Current time: {}\n", when(now));
        if let Some(b) = self.boot {
            out.push_str(&format!(
                "System booted: {} ({} ago)\n",
                when(b),
                ago(now - b)
            ));
        }
        out.push_str(&format!(
            "Protocols started: {} ({} ago)\n",
            when(self.started),
            ago(now - self.started)
        ));
        if let Some((t, user)) = &self.last {
            out.push_str(&format!(
                "Last configured: {} ({} ago) by {user}\n",
                when(*t),
                ago(now - t),
            ));
        }
        out
    }

    fn json(&self) -> serde_json::Value {
        json!({"system-uptime-information": {
            "current-time": when(self.now),
            "system-booted-time": self.boot.map(when),
            "protocols-started-time": when(self.started),
            "last-configured-time": self.last.as_ref().map(|(t, _)| when(*t)),
            "last-configured-by": self.last.as_ref().map(|(_, u)| u.clone()),
            "uptime-seconds": self.boot.map(|b| self.now - b),
        }})
    }
}

impl SystemUptime {
    /// `get-system-uptime-information` as Junos answers it: each time a `date-time` with
    /// `junos:seconds` since the epoch, and how long ago in `time-length` (PyEZ's
    /// `Device.uptime` reads the boot time's).
    pub fn xml(&self) -> String {
        let at = |name: &str, t: i64, extra: &str| {
            format!(
                "<{name}>\n<date-time junos:seconds=\"{t}\">{}</date-time>\n<time-length junos:seconds=\"{}\">{}</time-length>\n{extra}</{name}>\n",
                when(t),
                (self.now - t).max(0),
                ago(self.now - t)
            )
        };
        let mut out = String::from("<system-uptime-information>\n");
        out.push_str(&format!(
            "<current-time>\n<date-time junos:seconds=\"{n}\">{}</date-time>\n</current-time>\n",
            when(self.now),
            n = self.now
        ));
        if let Some(b) = self.boot {
            out.push_str(&at("system-booted-time", b, ""));
        }
        out.push_str(&at("protocols-started-time", self.started, ""));
        if let Some((t, user)) = &self.last {
            out.push_str(&at(
                "last-configured-time",
                *t,
                &format!("<user>{}</user>\n", xml_escape(user)),
            ));
        }
        out.push_str("</system-uptime-information>");
        out
    }
}

/// One commit as `show system commit` lists it.
struct CommitRow {
    seq: u64,
    user: String,
    via: String,
    time: i64,
    comment: Option<String>,
    confirm_minutes: Option<u32>,
    /// Seconds left before the rollback, for the commit confirmed still pending.
    pending_s: Option<i64>,
}

/// `show system commit`: `commit-information`, newest first.
pub struct CommitInformation(Vec<CommitRow>);

pub fn commits(engine: &Engine, now_ms: i64) -> CommitInformation {
    let pending = engine.pending();
    CommitInformation(
        engine
            .history()
            .iter()
            .map(|r| CommitRow {
                seq: r.seq,
                user: r.user.clone(),
                via: r.via.to_string(),
                time: r.time,
                comment: r.comment.clone(),
                confirm_minutes: r.confirm_minutes,
                pending_s: pending
                    .filter(|p| p.seq == r.seq)
                    .map(|p| (p.deadline_ms - now_ms).max(0) / 1000),
            })
            .collect(),
    )
}

impl State for CommitInformation {
    fn text(&self) -> String {
        let mut out = String::new();
        for (i, r) in self.0.iter().enumerate() {
            out.push_str(&format!(
                "{i:<4}{} by {} via {}",
                when(r.time),
                r.user,
                r.via
            ));
            if let Some(m) = r.confirm_minutes {
                out.push_str(&format!(" commit confirmed, rollback in {m}mins"));
                if let Some(left) = r.pending_s {
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

    fn json(&self) -> serde_json::Value {
        let list: Vec<_> = self
            .0
            .iter()
            .enumerate()
            .map(|(i, r)| {
                json!({
                    "sequence-number": i, "commit-id": r.seq, "user": r.user, "client": r.via,
                    "date-time": when(r.time), "comment": r.comment,
                    "confirm-minutes": r.confirm_minutes,
                    "pending-confirmation": r.pending_s.is_some(),
                })
            })
            .collect();
        json!({"commit-information": {"commit-history": list}})
    }
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
    json_to_xml_body(v, 1, &mut out);
    out.push_str("</rpc-reply>\n");
    out
}

/// The elements of [`json_to_xml`] without the `<rpc-reply>` around them (what a NETCONF
/// reply carries), indented from `depth`.
pub fn json_to_xml_body(v: &serde_json::Value, depth: usize, out: &mut String) {
    if let serde_json::Value::Object(m) = v {
        for (k, v) in m {
            xml_member(out, k, v, depth);
        }
    }
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
        // Junos's JSON for an element with attributes: {"data": text, "attributes": {...}}.
        Value::Object(m)
            if m.len() == 2 && m.contains_key("data") && m["attributes"].is_object() =>
        {
            let attrs: String = m["attributes"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    format!(" {k}=\"{}\"", xml_escape(&v))
                })
                .collect();
            let text = m["data"]
                .as_str()
                .map_or_else(|| m["data"].to_string(), str::to_string);
            out.push_str(&format!(
                "{pad}<{name}{attrs}>{}</{name}>\n",
                xml_escape(&text)
            ));
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
