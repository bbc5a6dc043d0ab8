//! `system syslog`: the daemon's own events (commits, interfaces, sessions, filters) written to
//! local files and sent to remote hosts, selected by facility and severity as on Junos.
//!
//! The daemon's `tracing` events are the messages: a [`SyslogLayer`] sits beside the console
//! log and routes each event by the facility its source stands for (commits are
//! `interactive-commands`, security session logs `security`, filters `firewall`, the rest
//! `daemon`) and its severity. The [`Syslog`] subsystem swaps the destinations at commit.
//! Files live in one directory (`STATE_DIR/log` unless the daemon is told otherwise), named as
//! configured; `archive size S files N` rotates them. Hosts get RFC 3164 datagrams, or RFC
//! 5424 with `structured-data`.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use savin_config::model::system::SyslogDest;
use savin_config::model::Config;
use savin_config::subsystem::{
    Changes, Message, OpCommand, Operational, PrepareError, Staged, State, Subsystem,
};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

/// Junos severities, most severe first (RFC 5424 numbering: emergency 0 ... info 6).
const SEVERITIES: &[&str] = &[
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "info",
];

/// RFC 5424 facility codes of the Junos facilities Savin emits.
fn facility_code(f: &str) -> u8 {
    match f {
        "kernel" => 0,
        "user" => 1,
        "daemon" => 3,
        "authorization" => 4,
        "interactive-commands" | "change-log" => 23, // local7, as Junos maps them
        "security" => 13,
        "firewall" => 22,
        _ => 3,
    }
}

/// A selection's threshold: messages at this severity or more severe pass. `any`: all;
/// `none`: nothing.
fn threshold(level: &str) -> Option<usize> {
    match level {
        "any" => Some(SEVERITIES.len() - 1),
        "none" => None,
        l => SEVERITIES.iter().position(|s| *s == l),
    }
}

/// What a destination takes: (facility, threshold) pairs; `any` matches every facility.
#[derive(Debug, Clone, Default)]
struct Selection(Vec<(String, Option<usize>)>);

impl Selection {
    fn of(d: &SyslogDest) -> Selection {
        Selection(
            d.selections()
                .into_iter()
                .map(|(f, l)| (f.to_string(), threshold(l)))
                .collect(),
        )
    }

    /// Whether a message of `facility` at `severity` goes here. A facility's own statement
    /// wins over `any` (`any notice; security info;`).
    fn wants(&self, facility: &str, severity: usize) -> bool {
        let own = self.0.iter().find(|(f, _)| f == facility);
        let rule = own.or_else(|| self.0.iter().find(|(f, _)| f == "any"));
        matches!(rule, Some((_, Some(t))) if severity <= *t)
    }
}

#[derive(Debug, Clone)]
struct FileDest {
    name: String,
    sel: Selection,
    structured: bool,
    /// (bytes, files) for `archive size S files N`.
    archive: Option<(u64, u32)>,
}

#[derive(Debug, Clone)]
struct HostDest {
    to: SocketAddr,
    sel: Selection,
    structured: bool,
    /// `source-address` (the host's, else `system syslog`'s): the datagrams' source.
    from: Option<IpAddr>,
}

/// The destinations in force.
#[derive(Debug, Clone, Default)]
pub struct Destinations {
    files: Vec<FileDest>,
    hosts: Vec<HostDest>,
    host_name: String,
}

fn size(text: &str) -> Result<u64, String> {
    let (n, m) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 1 << 10),
        Some((i, 'm' | 'M')) => (&text[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&text[..i], 1 << 30),
        _ => (text, 1),
    };
    n.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(m))
        .filter(|n| *n >= 64 << 10)
        .ok_or_else(|| format!("archive size '{text}': expected 64k to 1g (k, m or g)"))
}

impl Destinations {
    /// The destinations `cfg` configures, or what is wrong with them.
    pub fn from_config(cfg: &Config) -> Result<Destinations, PrepareError> {
        let sys = &cfg.system;
        let mut d = Destinations {
            host_name: sys.host_name.clone().unwrap_or_else(|| "savin".into()),
            ..Destinations::default()
        };
        for f in &sys.syslog.file {
            if f.name.is_empty()
                || f.name.contains('/')
                || f.name.starts_with('.')
                || f.name.len() > 128
            {
                return Err(PrepareError::at(
                    format!("system syslog file {}", f.name),
                    "a log file name has no '/' and does not start with '.'",
                ));
            }
            let archive = match f.statements.get("archive") {
                Some(a) => {
                    let bytes = match a.get("size").and_then(|s| s.as_str()) {
                        Some(s) => size(s).map_err(|e| {
                            PrepareError::at(format!("system syslog file {}", f.name), e)
                        })?,
                        None => 128 << 10,
                    };
                    let files = a.get("files").and_then(|n| n.as_u64()).unwrap_or(10) as u32;
                    Some((bytes, files))
                }
                None => None,
            };
            d.files.push(FileDest {
                name: f.name.clone(),
                sel: Selection::of(f),
                structured: f.has("structured-data"),
                archive,
            });
        }
        for h in &sys.syslog.host {
            let addr: IpAddr = h.name.parse().map_err(|_| {
                PrepareError::at(
                    format!("system syslog host {}", h.name),
                    "a syslog host is an address here (Savin does not resolve names yet)",
                )
            })?;
            let port = h
                .statements
                .get("port")
                .and_then(|p| p.as_u64())
                .unwrap_or(514) as u16;
            let from = h
                .statements
                .get("source-address")
                .and_then(|a| a.as_str())
                .and_then(|a| a.parse::<IpAddr>().ok())
                .or(sys.syslog.source_address);
            if from.is_some_and(|f| f.is_ipv4() != addr.is_ipv4()) {
                return Err(PrepareError::at(
                    format!("system syslog host {}", h.name),
                    "source-address and host are of different address families",
                ));
            }
            d.hosts.push(HostDest {
                to: SocketAddr::new(addr, port),
                sel: Selection::of(h),
                structured: h.has("structured-data"),
                from,
            });
        }
        Ok(d)
    }
}

/// Where the layer writes, shared with the subsystem that swaps the destinations.
#[derive(Clone)]
pub struct Shared {
    dest: Arc<RwLock<Arc<Destinations>>>,
    dir: PathBuf,
    files: Arc<Mutex<HashMap<String, File>>>,
    udp: Arc<Option<UdpSocket>>,
    /// Sockets bound to the configured source addresses (made when the destinations are
    /// set, not per message).
    bound: Arc<RwLock<HashMap<IpAddr, UdpSocket>>>,
}

impl Shared {
    /// Files go into `dir` (made when the first one is written).
    pub fn new(dir: &Path) -> Shared {
        Shared {
            dest: Arc::default(),
            dir: dir.to_path_buf(),
            files: Arc::default(),
            udp: Arc::new(
                UdpSocket::bind("[::]:0")
                    .or_else(|_| UdpSocket::bind("0.0.0.0:0"))
                    .ok(),
            ),
            bound: Arc::default(),
        }
    }

    /// The layer to add to the daemon's subscriber.
    pub fn layer(&self) -> SyslogLayer {
        SyslogLayer(self.clone())
    }

    fn set(&self, d: Destinations) {
        // Sockets for the source addresses, bound before the destinations change (a warning
        // is logged after, outside the locks the log itself takes).
        let mut sockets = HashMap::new();
        let mut unbound = Vec::new();
        for from in d.hosts.iter().filter_map(|h| h.from) {
            if sockets.contains_key(&from) {
                continue;
            }
            match UdpSocket::bind(SocketAddr::new(from, 0)) {
                Ok(sock) => {
                    sockets.insert(from, sock);
                }
                Err(e) => unbound.push((from, e)),
            }
        }
        *self.bound.write().unwrap_or_else(|e| e.into_inner()) = sockets;
        self.set_destinations(d);
        for (from, e) in unbound {
            tracing::warn!(
                "system syslog source-address {from}: {e}; sending from the box's own choice"
            );
        }
    }

    fn set_destinations(&self, d: Destinations) {
        let mut w = self.dest.write().unwrap_or_else(|e| e.into_inner());
        *w = Arc::new(d);
        // Files no longer configured are closed.
        let names: Vec<String> = w.files.iter().map(|f| f.name.clone()).collect();
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|n, _| names.contains(n));
    }

    fn write_file(&self, f: &FileDest, line: &str) {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let path = self.dir.join(&f.name);
        if !files.contains_key(&f.name) {
            let _ = std::fs::create_dir_all(&self.dir);
            match OpenOptions::new().create(true).append(true).open(&path) {
                Ok(file) => {
                    files.insert(f.name.clone(), file);
                }
                Err(_) => return,
            }
        }
        let Some(file) = files.get_mut(&f.name) else {
            return;
        };
        let _ = file.write_all(line.as_bytes());
        if let Some((max, keep)) = f.archive {
            if file.metadata().map(|m| m.len()).unwrap_or(0) >= max {
                files.remove(&f.name);
                rotate(&path, keep);
            }
        }
    }

    /// `show log NAME`.
    fn read(&self, name: &str) -> Result<String, String> {
        if name.contains('/') || name.starts_with('.') {
            return Err(format!("error: could not resolve file: {name}"));
        }
        std::fs::read_to_string(self.dir.join(name))
            .map_err(|_| format!("error: could not resolve file: {name}"))
    }
}

/// `messages` → `messages.0.gz`-less Junos-like `messages.0`, `messages.1`, ... keeping `keep`.
fn rotate(path: &Path, keep: u32) {
    let name = |i: u32| PathBuf::from(format!("{}.{i}", path.display()));
    let _ = std::fs::remove_file(name(keep.saturating_sub(1)));
    for i in (0..keep.saturating_sub(1)).rev() {
        let _ = std::fs::rename(name(i), name(i + 1));
    }
    let _ = std::fs::rename(path, name(0));
}

/// The facility an event's source stands for.
fn facility_of(target: &str) -> &'static str {
    if target == "RT_FLOW" || target.contains("flow_log") || target.starts_with("savin_security") {
        "security"
    } else if target.contains("filter") {
        "firewall"
    } else if target.starts_with("savin_mgmt") {
        "interactive-commands"
    } else {
        "daemon"
    }
}

/// The severity of an event: tracing's levels, with the management plane's info events
/// (commits, rollbacks) as notices, as Junos logs UI_COMMIT.
fn severity_of(level: &Level, facility: &str) -> usize {
    let name = match *level {
        Level::ERROR => "error",
        Level::WARN => "warning",
        Level::INFO if facility == "interactive-commands" => "notice",
        _ => "info",
    };
    SEVERITIES.iter().position(|s| *s == name).unwrap_or(6)
}

/// An event's words: its message, and its other fields. An event with an `event_id`
/// field is a structured one (RT_FLOW_SESSION_CREATE, RTPMON_THRESHOLD_EXCEEDED, ...): its
/// fields become RFC 5424 structured data (names with `-` for `_`, as Junos writes them)
/// and its ID the MSGID; its text stays the message alone.
#[derive(Default)]
struct Text {
    message: String,
    event_id: Option<String>,
    fields: Vec<(&'static str, String)>,
}

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message.push_str(value),
            "event_id" => self.event_id = Some(value.to_string()),
            name => self.fields.push((name, value.to_string())),
        }
    }
}

impl Text {
    /// The message as files and RFC 3164 hosts get it: a structured event's text alone,
    /// another's with its fields after it.
    fn line(&self) -> String {
        let mut out = self.message.clone();
        if self.event_id.is_none() {
            for (k, v) in &self.fields {
                out.push_str(&format!(" {k}={v}"));
            }
        }
        out.replace(['\n', '\r'], " ")
    }

    /// RFC 5424's structured data: one element, the facility and the event's fields.
    fn structured_data(&self, facility: &str) -> String {
        let mut sd = format!("[savin@2636 facility=\"{facility}\"");
        if self.event_id.is_some() {
            for (k, v) in &self.fields {
                sd.push_str(&format!(" {}=\"{}\"", k.replace('_', "-"), sd_escape(v)));
            }
        }
        sd.push(']');
        sd
    }
}

/// A PARAM-VALUE with `"`, `\` and `]` escaped (RFC 5424 §6.3.3).
fn sd_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        if c != '\n' && c != '\r' {
            out.push(c);
        }
    }
    out
}

/// Routes the daemon's events to the configured destinations.
pub struct SyslogLayer(Shared);

impl<S: Subscriber> Layer<S> for SyslogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() > Level::INFO {
            return;
        }
        let dest = self
            .0
            .dest
            .read()
            .map(|d| d.clone())
            .unwrap_or_else(|e| e.into_inner().clone());
        if dest.files.is_empty() && dest.hosts.is_empty() {
            return;
        }
        let facility = facility_of(meta.target());
        let severity = severity_of(meta.level(), facility);
        let mut text = Text::default();
        event.record(&mut text);
        let msg = text.line();
        let now = chrono::Utc::now();
        let pid = std::process::id();
        let pri = u32::from(facility_code(facility)) * 8 + severity as u32;
        let bsd = format!(
            "{} {} savin[{pid}]: {msg}",
            now.format("%b %e %H:%M:%S"),
            dest.host_name
        );
        // A structured event names itself: its target as APP-NAME (RT_FLOW), its ID as
        // MSGID, as Junos writes RT_FLOW_SESSION_CREATE.
        let header_word = |w: &str, max: usize| {
            (!w.is_empty() && w.len() <= max && w.bytes().all(|b| (33..=126).contains(&b)))
                .then(|| w.to_string())
        };
        let (app, msgid) = match &text.event_id {
            // RFC 5424 6.2: APP-NAME at most 48, MSGID at most 32 printable characters.
            Some(id) => (
                header_word(meta.target(), 48).unwrap_or_else(|| "savin".into()),
                header_word(id, 32).unwrap_or_else(|| "-".into()),
            ),
            None => ("savin".into(), "-".into()),
        };
        let rfc5424 = format!(
            "<{pri}>1 {} {} {app} {pid} {msgid} {} {msg}",
            now.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            dest.host_name,
            text.structured_data(facility)
        );
        for f in &dest.files {
            if f.sel.wants(facility, severity) {
                let line = if f.structured { &rfc5424 } else { &bsd };
                self.0.write_file(f, &format!("{line}\n"));
            }
        }
        let bound = self.0.bound.read().unwrap_or_else(|e| e.into_inner());
        for h in &dest.hosts {
            if let Some(sock) = h.from.and_then(|f| bound.get(&f)) {
                if h.sel.wants(facility, severity) {
                    let body = if h.structured {
                        rfc5424.clone()
                    } else {
                        format!("<{pri}>{bsd}")
                    };
                    let _ = sock.send_to(body.as_bytes(), h.to);
                }
            }
        }
        if let Some(udp) = self.0.udp.as_ref() {
            for h in dest
                .hosts
                .iter()
                .filter(|h| h.from.is_none_or(|f| !bound.contains_key(&f)))
            {
                if h.sel.wants(facility, severity) {
                    let body = if h.structured {
                        rfc5424.clone()
                    } else {
                        format!("<{pri}>{bsd}")
                    };
                    let to = match h.to {
                        SocketAddr::V4(a) => {
                            SocketAddr::new(IpAddr::V6(a.ip().to_ipv6_mapped()), a.port())
                        }
                        v6 => v6,
                    };
                    if udp.send_to(body.as_bytes(), to).is_err() {
                        let _ = udp.send_to(body.as_bytes(), h.to);
                    }
                }
            }
        }
    }
}

/// The `system syslog` subsystem: new destinations at each commit.
pub struct Syslog(Shared);

impl Syslog {
    pub fn new(shared: Shared) -> Syslog {
        Syslog(shared)
    }

    pub fn operational(&self) -> Arc<dyn Operational> {
        Arc::new(ShowLog(self.0.clone()))
    }
}

struct Apply(Shared, Destinations);

impl Staged for Apply {
    fn apply(self: Box<Self>) -> Result<(), String> {
        self.0.set(self.1);
        Ok(())
    }
}

impl Subsystem for Syslog {
    fn name(&self) -> &'static str {
        "syslog"
    }

    fn hierarchies(&self) -> &'static [&'static str] {
        &["system"]
    }

    fn prepare(
        &mut self,
        _old: &Config,
        new: &Config,
        _changed: &Changes,
    ) -> Result<Box<dyn Staged>, PrepareError> {
        Ok(Box::new(Apply(
            self.0.clone(),
            Destinations::from_config(new)?,
        )))
    }
}

/// `show log NAME`: a log file's lines.
struct ShowLog(Shared);

const COMMANDS: &[OpCommand] = &[(&["show", "log"], "Show contents of a log file")];

impl Operational for ShowLog {
    fn commands(&self) -> &'static [OpCommand] {
        COMMANDS
    }

    fn run(&self, _command: &[&str], args: &[String]) -> Result<Box<dyn State>, String> {
        match args {
            [name] => Ok(Box::new(Message(self.0.read(name)?))),
            [] => Err("syntax error: show log NAME".into()),
            [_, extra, ..] => Err(format!("syntax error: unexpected '{extra}'")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_facility_s_own_statement_wins_over_any() {
        let s = Selection(vec![
            ("any".into(), threshold("notice")),
            ("security".into(), threshold("info")),
            ("firewall".into(), threshold("none")),
        ]);
        assert!(s.wants("daemon", 4)); // warning
        assert!(!s.wants("daemon", 6)); // info
        assert!(s.wants("security", 6));
        assert!(!s.wants("firewall", 0));
    }

    #[test]
    fn a_structured_event_s_fields_become_structured_data() {
        let t = Text {
            message: "RT_FLOW_SESSION_CREATE: session created 10.0.1.2/1->10.0.2.2/80".into(),
            event_id: Some("RT_FLOW_SESSION_CREATE".into()),
            fields: vec![
                ("source_address", "10.0.1.2".into()),
                ("policy_name", "a \"b\" [c] \\d".into()),
            ],
        };
        assert_eq!(
            t.structured_data("security"),
            "[savin@2636 facility=\"security\" source-address=\"10.0.1.2\" \
             policy-name=\"a \\\"b\\\" [c\\] \\\\d\"]"
        );
        // The text alone: the fields are in the structured data.
        assert_eq!(t.line(), t.message);
        // Another event's fields follow its text, and its structured data is the facility.
        let plain = Text {
            event_id: None,
            ..t
        };
        assert!(plain
            .line()
            .ends_with(" source_address=10.0.1.2 policy_name=a \"b\" [c] \\d"));
        assert_eq!(
            plain.structured_data("daemon"),
            "[savin@2636 facility=\"daemon\"]"
        );
    }

    #[test]
    fn archives_rotate_keeping_the_count_asked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("messages");
        for i in 0..4 {
            std::fs::write(&p, format!("{i}")).unwrap();
            rotate(&p, 2);
        }
        assert_eq!(
            std::fs::read_to_string(dir.path().join("messages.0")).unwrap(),
            "3"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("messages.1")).unwrap(),
            "2"
        );
        assert!(!dir.path().join("messages.2").exists());
    }
}
