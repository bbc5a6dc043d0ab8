//! `system services prometheus`: the box's state as Prometheus metrics (text exposition
//! format 0.0.4) on `GET /metrics`. Off unless configured; the port (9100 unless set) is
//! bound at commit (a port in use refuses the commit) and reached like the box's other
//! services, through host-inbound traffic (`system-services prometheus`).
//!
//! The metrics are read from the same typed state as `show ... | display json` (interfaces,
//! `show system statistics`' counters and drop reasons, sessions, routes, the service
//! monitor's streams), so the two never disagree.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use savin_config::subsystem::{Changes, PrepareError, Staged, Subsystem};
use savin_config::Config;
use savin_mgmt::server::Server;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use tracing::{info, warn};

pub const DEFAULT_PORT: u16 = 9100;
/// A request larger than this is refused (a scrape is a few hundred bytes).
const MAX_REQUEST: usize = 8 * 1024;
/// Scrapes served at once; more wait for the listener.
const MAX_CLIENTS: usize = 4;
/// A client that has not sent its request within this is dropped (a scraper sends it at
/// once; idle connections must not hold the few client slots).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// The operational commands the metrics are read from.
pub const SOURCES: &[&[&str]] = &[
    &["show", "interfaces"],
    &["show", "system", "statistics"],
    &["show", "security", "flow", "session", "summary"],
    &["show", "route", "summary"],
    &["show", "services", "rtp-monitoring", "streams"],
];

/// A metric family: its type, help and samples (labels written out, value).
type Family = (&'static str, &'static str, Vec<(String, f64)>);

/// Metric families, written in the exposition format.
#[derive(Default)]
pub struct Exposition {
    families: BTreeMap<String, Family>,
}

/// A label value escaped as the format asks (`\`, `"`, newline).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Exposition {
    /// One sample of `name` (help and type given with its first sample).
    pub fn add(
        &mut self,
        name: &str,
        kind: &'static str,
        help: &'static str,
        labels: &[(&str, &str)],
        value: f64,
    ) {
        let labels = if labels.is_empty() {
            String::new()
        } else {
            let l: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            format!("{{{}}}", l.join(","))
        };
        self.families
            .entry(format!("savin_{name}"))
            .or_insert_with(|| (kind, help, Vec::new()))
            .2
            .push((labels, value));
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        for (name, (kind, help, samples)) in &self.families {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, v) in samples {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        }
        out
    }
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// The metrics from the sources' JSON (`sources[i]` answers `SOURCES[i]`; None: that part of
/// the box is not running).
pub fn render(sources: &[Option<Value>]) -> String {
    let mut e = Exposition::default();
    let get = |i: usize| sources.get(i).and_then(|v| v.as_ref());
    if let Some(v) = get(0) {
        for p in v["interface-information"]["physical-interface"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let name = p["name"].as_str().unwrap_or("?");
            let l = [("interface", name)];
            let t = &p["traffic-statistics"];
            for (key, metric, help) in [
                (
                    "input-packets",
                    "interface_receive_packets_total",
                    "Packets received",
                ),
                (
                    "input-bytes",
                    "interface_receive_bytes_total",
                    "Bytes received",
                ),
                (
                    "output-packets",
                    "interface_transmit_packets_total",
                    "Packets sent",
                ),
                (
                    "output-bytes",
                    "interface_transmit_bytes_total",
                    "Bytes sent",
                ),
            ] {
                if let Some(n) = num(&t[key]) {
                    e.add(metric, "counter", help, &l, n);
                }
            }
            if let Some(n) = num(&p["input-error-list"]["input-errors"]) {
                e.add(
                    "interface_receive_errors_total",
                    "counter",
                    "Input errors",
                    &l,
                    n,
                );
            }
            let up = f64::from(u8::from(p["oper-status"] == "up"));
            e.add("interface_up", "gauge", "1 if the link is up", &l, up);
        }
    }
    if let Some(v) = get(1) {
        let ip = &v["statistics"]["ip"];
        for (key, kind) in [
            ("packets-received", "received"),
            ("packets-forwarded", "forwarded"),
            ("packets-sent", "sent"),
            ("packets-to-host", "to-host"),
            ("packets-from-host", "from-host"),
            ("packets-originated", "originated"),
            ("packets-punted", "punted"),
        ] {
            if let Some(n) = num(&ip[key]) {
                e.add(
                    "ip_packets_total",
                    "counter",
                    "IP packets by what the data plane did with them",
                    &[("kind", kind)],
                    n,
                );
            }
        }
        for (reason, n) in ip["drops"].as_object().into_iter().flatten() {
            if let Some(n) = num(n) {
                e.add(
                    "ip_drops_total",
                    "counter",
                    "IP packets dropped, by reason (show system statistics)",
                    &[("reason", reason)],
                    n,
                );
            }
        }
    }
    if let Some(v) = get(2) {
        let s = &v["flow-session-summary-information"];
        if let Some(n) = num(&s["active-sessions"]) {
            e.add(
                "security_sessions",
                "gauge",
                "Security flow sessions",
                &[],
                n,
            );
        }
        if let Some(n) = num(&s["max-sessions"]) {
            e.add(
                "security_sessions_max",
                "gauge",
                "Session table size",
                &[],
                n,
            );
        }
    }
    if let Some(v) = get(3) {
        for t in v["route-summary-information"]["route-table"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let table = t["table-name"].as_str().unwrap_or("?");
            if let Some(n) = num(&t["destination-count"]) {
                e.add(
                    "route_destinations",
                    "gauge",
                    "Destinations in a routing table",
                    &[("table", table)],
                    n,
                );
            }
            for p in t["protocols"].as_array().into_iter().flatten() {
                let proto = p["protocol-name"].as_str().unwrap_or("?");
                let l = [("table", table), ("protocol", proto)];
                if let Some(n) = num(&p["protocol-route-count"]) {
                    e.add("routes", "gauge", "Routes by table and protocol", &l, n);
                }
                if let Some(n) = num(&p["active-route-count"]) {
                    e.add(
                        "routes_active",
                        "gauge",
                        "Active routes by table and protocol",
                        &l,
                        n,
                    );
                }
            }
        }
    }
    if let Some(v) = get(4) {
        let m = &v["rtp-monitoring-information"];
        for (key, n) in m["statistics"].as_object().into_iter().flatten() {
            if let Some(n) = num(n) {
                e.add(
                    "rtp_monitor_events_total",
                    "counter",
                    "The service monitor's counts (show services rtp-monitoring statistics)",
                    &[("counter", key)],
                    n,
                );
            }
        }
        for s in m["rtp-stream"].as_array().into_iter().flatten() {
            if s["state"] != "active" {
                continue;
            }
            let text = |k: &str| match &s[k] {
                Value::String(t) => t.clone(),
                other => other.to_string(),
            };
            let (src, sport, dst, dport, ssrc, codec) = (
                text("source-address"),
                text("source-port"),
                text("destination-address"),
                text("destination-port"),
                text("ssrc"),
                text("codec"),
            );
            let l = [
                ("source", src.as_str()),
                ("source_port", sport.as_str()),
                ("destination", dst.as_str()),
                ("destination_port", dport.as_str()),
                ("ssrc", ssrc.as_str()),
                ("codec", codec.as_str()),
            ];
            for (key, metric, kind, help) in [
                (
                    "packets",
                    "rtp_stream_packets_total",
                    "counter",
                    "RTP packets of a stream",
                ),
                // Expected less received: it falls when a late packet comes (a gauge).
                (
                    "lost",
                    "rtp_stream_lost_packets",
                    "gauge",
                    "RTP packets lost so far",
                ),
                (
                    "jitter-ms",
                    "rtp_stream_jitter_ms",
                    "gauge",
                    "RFC 3550 interarrival jitter, ms",
                ),
                (
                    "max-jitter-ms",
                    "rtp_stream_max_jitter_ms",
                    "gauge",
                    "Highest jitter, ms",
                ),
                (
                    "mos-lq",
                    "rtp_stream_mos_lq",
                    "gauge",
                    "G.107 MOS, listening quality",
                ),
                (
                    "mos-cq",
                    "rtp_stream_mos_cq",
                    "gauge",
                    "G.107 MOS, conversational quality",
                ),
            ] {
                if let Some(n) = num(&s[key]) {
                    e.add(metric, kind, help, &l, n);
                }
            }
            let ts = &s["mpeg-ts"];
            for (key, metric, kind, help) in [
                (
                    "continuity-errors",
                    "ts_continuity_errors_total",
                    "counter",
                    "MPEG-TS continuity errors",
                ),
                (
                    "delay-factor-ms",
                    "ts_delay_factor_ms",
                    "gauge",
                    "RFC 4445 delay factor, last second, ms",
                ),
                (
                    "media-loss-rate",
                    "ts_media_loss_rate",
                    "gauge",
                    "RFC 4445 media loss rate, last second",
                ),
            ] {
                if let Some(n) = num(&ts[key]) {
                    e.add(metric, kind, help, &l, n);
                }
            }
        }
    }
    e.text()
}

/// The endpoint as a configuration subsystem: the port follows `system services
/// prometheus`.
#[derive(Clone, Default)]
pub struct Prometheus(Arc<Mutex<Inner>>);

#[derive(Default)]
struct Inner {
    port: Option<u16>,
    /// Bound, not yet served (before the runtime starts).
    pending: Option<std::net::TcpListener>,
    task: Option<JoinHandle<()>>,
    runtime: Option<(tokio::runtime::Handle, Arc<Server>)>,
}

fn lock(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn wanted(c: &Config) -> Option<u16> {
    c.system
        .services
        .prometheus
        .as_ref()
        .map(|p| p.port.unwrap_or(DEFAULT_PORT))
}

impl Prometheus {
    pub fn new() -> Prometheus {
        Prometheus::default()
    }

    /// Starts serving (the listener bound so far, and those later commits bind).
    pub fn start(&self, rt: tokio::runtime::Handle, server: Arc<Server>) {
        let mut inner = lock(&self.0);
        inner.runtime = Some((rt, server));
        spawn_pending(&mut inner);
    }
}

fn spawn_pending(inner: &mut Inner) {
    let Some((rt, server)) = inner.runtime.clone() else {
        return;
    };
    let Some(std_listener) = inner.pending.take() else {
        return;
    };
    let port = inner.port;
    if let Some(t) = inner.task.take() {
        t.abort();
    }
    inner.task = Some(rt.spawn(async move {
        let listener = match tokio::net::TcpListener::from_std(std_listener) {
            Ok(l) => l,
            Err(e) => {
                warn!(?port, %e, "Prometheus listener failed");
                return;
            }
        };
        info!(?port, "Prometheus endpoint listening");
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CLIENTS));
        loop {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let (stream, _) = match listener.accept().await {
                Ok(a) => a,
                Err(e) => {
                    warn!(%e, "Prometheus accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let server = server.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let _ = tokio::time::timeout(REQUEST_TIMEOUT * 2, serve(stream, server)).await;
            });
        }
    }));
}

/// The request line of an HTTP request, once its head is in (None: too large, too slow,
/// or closed first).
async fn request_line(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    let read = async {
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 || buf.len() + n > MAX_REQUEST {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Some(())
    };
    tokio::time::timeout(REQUEST_TIMEOUT, read).await.ok()??;
    let head = String::from_utf8_lossy(&buf);
    head.lines().next().map(str::to_string)
}

async fn serve(mut stream: tokio::net::TcpStream, server: Arc<Server>) {
    let Some(line) = request_line(&mut stream).await else {
        return;
    };
    let mut words = line.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, body) = match (method, path) {
        ("GET", "/metrics") => {
            // Who answers, under the management lock; the answers, away from it.
            let queries = server
                .with_shared(|sh| SOURCES.iter().map(|c| sh.op_query(c)).collect::<Vec<_>>())
                .await;
            let sources = match queries {
                Some(q) => tokio::task::spawn_blocking(move || {
                    q.iter()
                        .map(|q| q.as_ref().and_then(|q| q.json()))
                        .collect::<Vec<_>>()
                })
                .await
                .ok(),
                None => None,
            };
            match sources {
                Some(s) => ("200 OK", render(&s)),
                None => ("500 Internal Server Error", String::new()),
            }
        }
        ("GET", _) => ("404 Not Found", "metrics are at /metrics\n".to_string()),
        _ => ("405 Method Not Allowed", String::new()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

struct StagedPrometheus {
    svc: Prometheus,
    port: Option<u16>,
    bound: Option<std::net::TcpListener>,
}

impl Staged for StagedPrometheus {
    fn apply(self: Box<Self>) -> Result<(), String> {
        let mut inner = lock(&self.svc.0);
        if inner.port == self.port && self.bound.is_none() {
            return Ok(());
        }
        if let Some(t) = inner.task.take() {
            t.abort();
        }
        // A port that could not be bound (taken at start-up) is not recorded: the next
        // commit tries again.
        inner.port = if self.bound.is_some() {
            self.port
        } else {
            None
        };
        inner.pending = self.bound;
        spawn_pending(&mut inner);
        Ok(())
    }
}

impl Subsystem for Prometheus {
    fn name(&self) -> &'static str {
        "prometheus"
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
        let port = wanted(new);
        let inner = lock(&self.0);
        let bound = match port {
            Some(p) if inner.port != Some(p) => match savin_mgmt::server::bind_service(p) {
                Ok(l) => Some(l),
                // At start-up the last commit applies whole but for this listener.
                Err(e) if inner.runtime.is_none() => {
                    tracing::error!(port = p, %e, "Prometheus endpoint not started");
                    None
                }
                Err(e) => {
                    return Err(PrepareError::at(
                        "system services prometheus",
                        format!("port {p}: {e}"),
                    ))
                }
            },
            _ => None,
        };
        Ok(Box::new(StagedPrometheus {
            svc: self.clone(),
            port,
            bound,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn show_state_becomes_metrics() {
        let ifs = json!({"interface-information": {"physical-interface": [
            {"name": "ge-0/0/0", "oper-status": "up",
             "traffic-statistics": {"input-packets": 12, "input-bytes": 1500,
                                    "output-packets": 3, "output-bytes": 300},
             "input-error-list": {"input-errors": 1}},
        ]}});
        let stats = json!({"statistics": {"ip": {"packets-received": 20,
            "drops": {"no-route": 2, "policy-denied": 0}}}});
        let streams = json!({"rtp-monitoring-information": {
        "statistics": {"streams": 1},
        "rtp-stream": [
            {"state": "active", "source-address": "10.0.1.2", "source-port": 20001,
             "destination-address": "10.0.2.2", "destination-port": 20000,
             "ssrc": "0x00001000", "codec": "PCMU", "packets": 591, "lost": 9,
             "jitter-ms": "1.250", "max-jitter-ms": "1.866", "mos-lq": "4.28"},
            {"state": "ended", "source-address": "a\"b", "packets": 1},
        ]}});
        let text = render(&[Some(ifs), Some(stats), None, None, Some(streams)]);
        for want in [
            "# TYPE savin_interface_receive_packets_total counter",
            "savin_interface_receive_packets_total{interface=\"ge-0/0/0\"} 12",
            "savin_interface_up{interface=\"ge-0/0/0\"} 1",
            "savin_interface_receive_errors_total{interface=\"ge-0/0/0\"} 1",
            "savin_ip_packets_total{kind=\"received\"} 20",
            "savin_ip_drops_total{reason=\"no-route\"} 2",
            "savin_rtp_stream_lost_packets{source=\"10.0.1.2\",source_port=\"20001\",destination=\"10.0.2.2\",destination_port=\"20000\",ssrc=\"0x00001000\",codec=\"PCMU\"} 9",
            "savin_rtp_stream_mos_lq{",
            "savin_rtp_monitor_events_total{counter=\"streams\"} 1",
        ] {
            assert!(text.contains(want), "{want}\n{text}");
        }
        // Ended streams are history, not series; nothing from the parts not running.
        assert!(
            !text.contains("a\\\"b") && !text.contains("security_sessions"),
            "{text}"
        );
        // Every family has its HELP and TYPE once.
        assert_eq!(text.matches("# TYPE savin_ip_drops_total").count(), 1);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
