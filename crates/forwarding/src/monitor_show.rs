//! `show services rtp-monitoring streams [detail]` and `... statistics`: what the workers'
//! monitors published (about once a second), as a table, a block per stream, or
//! `rtp-monitoring-information` in JSON and XML.

use std::fmt::Write as _;

use savin_config::subsystem::State;
use savin_monitor::stage::{Published, StreamView, ALARMS};
use serde_json::{json, Value};

use crate::control::Control;

/// What `show services rtp-monitoring` answers.
pub struct RtpMonitoring {
    published: Published,
    detail: bool,
    /// `history`: each stream's last intervals.
    history: Option<Vec<(savin_monitor::table::StreamKey, Vec<HistoryRow>)>>,
    /// Only the counters (`statistics`).
    statistics: bool,
    /// The monitor is configured.
    on: bool,
}

fn endpoint(ip: std::net::IpAddr, port: u16) -> String {
    match ip {
        std::net::IpAddr::V4(a) => format!("{a}:{port}"),
        std::net::IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// A delivery index as `show` prints it, DF:MLR ("-" before a delay factor is known).
fn df_mlr(df_ms: Option<f64>, mlr: f64) -> String {
    df_ms.map_or("-".into(), |d| format!("{d:.0}:{mlr:.0}"))
}

fn stream_json(s: &StreamView, now_ms: u64) -> Value {
    let st = &s.stats;
    let mut v = json!({
        "source-address": s.key.src.to_string(), "source-port": s.key.sport,
        "destination-address": s.key.dst.to_string(), "destination-port": s.key.dport,
        "ssrc": format!("0x{:08x}", s.key.ssrc),
        "state": if s.ended { "ended" } else { "active" },
        "codec": s.codec.unwrap_or("unknown"), "payload-type": s.payload_type,
        "clock-rate": s.clock_rate,
        "call-id": s.call_id,
        "duration-seconds": s.last_ms.saturating_sub(s.first_ms) / 1000,
        "idle-seconds": now_ms.saturating_sub(s.last_ms) / 1000,
        "packets": st.packets, "expected": st.expected, "lost": st.lost,
        "loss-percent": format!("{:.2}", st.loss_percent()),
        "duplicates": st.duplicates, "out-of-order": st.out_of_order,
        "sequence-errors": st.sequence_errors,
        "jitter-ms": format!("{:.3}", st.jitter_ms),
        "mean-jitter-ms": format!("{:.3}", st.mean_jitter_ms),
        "max-jitter-ms": format!("{:.3}", st.max_jitter_ms),
        "max-delta-ms": format!("{:.3}", st.max_delta_ms),
        "burst-density-percent": format!("{:.1}", s.burst.burst_density * 100.0),
        "gap-density-percent": format!("{:.1}", s.burst.gap_density * 100.0),
        "burst-length-packets": format!("{:.1}", s.burst.burst_packets),
        "gap-length-packets": format!("{:.1}", s.burst.gap_packets),
        "burst-ratio": format!("{:.2}", s.burst_ratio),
    });
    v["transport"] = json!(if s.rtp { "rtp" } else { "udp" });
    if let Some(t) = &s.ts {
        let (c, m) = (&t.counters, &t.mdi);
        v["mpeg-ts"] = json!({
            "packets": c.packets, "continuity-errors": c.cc_errors, "lost": c.lost,
            "duplicates": c.duplicates, "transport-errors": c.transport_errors,
            "sync-errors": c.sync_errors, "untracked-pid-packets": c.untracked,
            "mdi-intervals": m.intervals,
            "delay-factor-ms": m.df_ms.map(|d| format!("{d:.3}")),
            "media-loss-rate": format!("{:.1}", m.mlr),
            "max-delay-factor-ms": format!("{:.3}", m.max_df_ms),
            "max-media-loss-rate": format!("{:.1}", m.max_mlr),
            "media-rate-bps": format!("{:.0}", m.rate_bps),
        });
    }
    if let Some(q) = &s.quality {
        v["r-factor-lq"] = json!(format!("{:.1}", q.r_lq));
        v["r-factor-cq"] = json!(format!("{:.1}", q.r_cq));
        v["mos-lq"] = json!(format!("{:.2}", q.mos_lq));
        v["mos-cq"] = json!(format!("{:.2}", q.mos_cq));
    }
    v
}

impl State for RtpMonitoring {
    fn json(&self) -> Value {
        let p = &self.published;
        let c = &p.counters;
        let mut v = json!({"rtp-monitoring-information": {
            "monitoring": if self.on { "enabled" } else { "disabled" },
            "calls": p.calls,
            "statistics": {
                "sip-messages": c.sip_messages, "sip-errors": c.sip_errors,
                "calls-followed": c.calls, "calls-refused": c.calls_refused,
                "rtp-packets": c.rtp_packets, "rtp-errors": c.rtp_errors,
                "ts-datagrams": c.ts_datagrams, "unreadable-datagrams": c.unreadable,
                "streams": c.streams, "streams-refused": c.streams_refused,
                "streams-ended": c.streams_ended,
            },
        }});
        if let Some(h) = &self.history {
            v["rtp-monitoring-information"]["rtp-stream-history"] = h
                .iter()
                .map(|(k, rows)| {
                    json!({
                        "source-address": k.src.to_string(), "source-port": k.sport,
                        "destination-address": k.dst.to_string(), "destination-port": k.dport,
                        "ssrc": format!("0x{:08x}", k.ssrc),
                        "interval": rows.iter().rev().map(|r| json!({
                            "seconds-ago": p.at_ms.saturating_sub(r.end_ms) / 1000,
                            "seconds": r.seconds,
                            "packets": r.packets, "lost": r.lost,
                            "loss-percent": format!("{:.2}", r.loss_percent()),
                            "jitter-ms": format!("{:.3}", r.jitter_ms),
                            "mos-lq": r.mos_lq.map(|m| format!("{m:.2}")),
                            "delay-factor-ms": r.df_ms.map(|d| format!("{d:.3}")),
                            "media-loss-rate": r.mlr.map(|m| format!("{m:.1}")),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect::<Vec<_>>()
                .into();
            return v;
        }
        if !self.statistics {
            v["rtp-monitoring-information"]["rtp-stream"] = p
                .streams
                .iter()
                .map(|s| stream_json(s, p.at_ms))
                .collect::<Vec<_>>()
                .into();
        }
        v
    }

    fn text(&self) -> String {
        let p = &self.published;
        let mut out = String::new();
        if !self.on {
            return "RTP monitoring is not enabled (services rtp-monitoring)\n".into();
        }
        if self.statistics {
            let c = &p.counters;
            let _ = writeln!(out, "RTP monitoring statistics:");
            for (k, v) in [
                ("SIP messages", c.sip_messages),
                ("SIP messages malformed", c.sip_errors),
                ("Calls followed", c.calls),
                ("Calls refused (table full)", c.calls_refused),
                ("Calls active", p.calls as u64),
                ("RTP packets", c.rtp_packets),
                ("MPEG-TS datagrams over UDP", c.ts_datagrams),
                ("Fragmented or cut short", c.unreadable),
                ("Not RTP on RTP ports", c.rtp_errors),
                ("Streams", c.streams),
                ("Streams refused (table full)", c.streams_refused),
                ("Streams ended", c.streams_ended),
            ] {
                let _ = writeln!(out, "  {k:<30} {v}");
            }
            return out;
        }
        if let Some(h) = &self.history {
            for (k, rows) in h {
                let _ = writeln!(
                    out,
                    "Stream: {} -> {}, SSRC 0x{:08x}",
                    endpoint(k.src, k.sport),
                    endpoint(k.dst, k.dport),
                    k.ssrc
                );
                let _ = writeln!(
                    out,
                    "  {:>9} {:>8} {:>6} {:>6} {:>8} {:>6} {:>9}",
                    "Ended", "Packets", "Lost", "Loss%", "Jitter", "MOS", "DF:MLR"
                );
                for r in rows.iter().rev() {
                    let _ = writeln!(
                        out,
                        "  {:>9} {:>8} {:>6} {:>6.2} {:>8.3} {:>6} {:>9}",
                        format!("{}s ago", p.at_ms.saturating_sub(r.end_ms) / 1000),
                        r.packets,
                        r.lost,
                        r.loss_percent(),
                        r.jitter_ms,
                        r.mos_lq.map_or("-".into(), |m| format!("{m:.2}")),
                        df_mlr(r.df_ms, r.mlr.unwrap_or(0.0)),
                    );
                }
                out.push('\n');
            }
            return out;
        }
        if self.detail {
            for s in &p.streams {
                let st = &s.stats;
                let _ = writeln!(
                    out,
                    "Stream: {} -> {}, SSRC 0x{:08x}, {}",
                    endpoint(s.key.src, s.key.sport),
                    endpoint(s.key.dst, s.key.dport),
                    s.key.ssrc,
                    if s.ended { "ended" } else { "active" }
                );
                let _ = writeln!(
                    out,
                    "  Codec: {} (payload type {}, clock {} Hz){}",
                    s.codec.unwrap_or("unknown"),
                    s.payload_type,
                    s.clock_rate,
                    s.call_id
                        .as_ref()
                        .map(|c| format!(", call {c}"))
                        .unwrap_or_default()
                );
                let _ = writeln!(
                    out,
                    "  Packets: {}, expected: {}, lost: {} ({:.2}%), duplicates: {}, out of order: {}, sequence errors: {}",
                    st.packets, st.expected, st.lost, st.loss_percent(), st.duplicates,
                    st.out_of_order, st.sequence_errors
                );
                let _ = writeln!(
                    out,
                    "  Jitter: {:.3} ms (mean {:.3}, max {:.3}), max delta: {:.3} ms",
                    st.jitter_ms, st.mean_jitter_ms, st.max_jitter_ms, st.max_delta_ms
                );
                let _ = writeln!(
                    out,
                    "  Bursts: density {:.1}%, length {:.1} packets; gaps: density {:.1}%, length {:.1} packets; burst ratio {:.2}",
                    s.burst.burst_density * 100.0,
                    s.burst.burst_packets,
                    s.burst.gap_density * 100.0,
                    s.burst.gap_packets,
                    s.burst_ratio
                );
                if let Some(t) = &s.ts {
                    let (c, m) = (&t.counters, &t.mdi);
                    let _ = writeln!(
                        out,
                        "  MPEG-TS{}: packets: {}, continuity errors: {}, lost: {}, duplicates: {}, transport errors: {}, sync errors: {}, packets of untracked PIDs: {}",
                        if s.rtp { " over RTP" } else { " over UDP" },
                        c.packets, c.cc_errors, c.lost, c.duplicates, c.transport_errors,
                        c.sync_errors, c.untracked
                    );
                    let _ = writeln!(
                        out,
                        "  MDI (RFC 4445): DF {} ms, MLR {:.1} packets/s (last interval); max DF {:.3} ms, max MLR {:.1}; media rate {:.3} Mbit/s over {} intervals",
                        m.df_ms.map_or("-".into(), |d| format!("{d:.3}")),
                        m.mlr, m.max_df_ms, m.max_mlr, m.rate_bps / 1e6, m.intervals
                    );
                }
                match &s.quality {
                    Some(q) => {
                        let _ = writeln!(
                            out,
                            "  R-factor: {:.1} (listening), {:.1} (conversational); MOS-LQ {:.2}, MOS-CQ {:.2}",
                            q.r_lq, q.r_cq, q.mos_lq, q.mos_cq
                        );
                    }
                    None => {
                        let _ = writeln!(
                            out,
                            "  MOS: not rated (not a narrowband voice codec G.113 rates)"
                        );
                    }
                }
                out.push('\n');
            }
            return out;
        }
        let _ = writeln!(
            out,
            "{:<23} {:<23} {:<10} {:<6} {:>8} {:>8} {:>6} {:>8} {:>8} {:>8}",
            "Source",
            "Destination",
            "SSRC",
            "Codec",
            "Packets",
            "Lost",
            "Loss%",
            "Jitter",
            "MaxJit",
            "MOS/MDI"
        );
        for s in &p.streams {
            let mut st = s.stats;
            (st.packets, st.lost) = s.packets_lost();
            st.expected = st.packets + st.lost;
            // Video is rated by its delivery index, DF:MLR.
            let rating = match (&s.quality, &s.ts) {
                (Some(q), _) => format!("{:.2}", q.mos_cq),
                (None, Some(t)) => df_mlr(t.mdi.df_ms, t.mdi.mlr),
                _ => "-".into(),
            };
            let _ = writeln!(
                out,
                "{:<23} {:<23} {:<10} {:<6} {:>8} {:>8} {:>6.2} {:>8.3} {:>8.3} {:>8}{}",
                endpoint(s.key.src, s.key.sport),
                endpoint(s.key.dst, s.key.dport),
                format!("{:08x}", s.key.ssrc),
                s.codec.unwrap_or("?"),
                st.packets,
                st.lost,
                st.loss_percent(),
                st.jitter_ms,
                st.max_jitter_ms,
                rating,
                if s.ended { " (ended)" } else { "" }
            );
        }
        out
    }
}

impl Control {
    /// `show services rtp-monitoring streams [detail]` / `statistics`.
    pub fn show_rtp_monitoring(
        &self,
        what: &str,
        args: &[String],
    ) -> Result<RtpMonitoring, String> {
        let (mut detail, mut history) = (false, false);
        for a in args {
            match a.as_str() {
                "detail" if what == "streams" => detail = true,
                "history" if what == "streams" => history = true,
                "brief" | "terse" if what == "streams" => {}
                other => return Err(format!("syntax error: unexpected '{other}'")),
            }
        }
        let published = self
            .stats
            .lock()
            .map(|s| s.feature.0.clone())
            .unwrap_or_else(|e| e.into_inner().feature.0.clone());
        let history = history.then(|| {
            let mut h: Vec<_> = self
                .history
                .iter()
                .map(|(k, h)| (*k, h.rows.iter().copied().collect()))
                .collect();
            h.sort_by_key(
                |(k, _): &(savin_monitor::table::StreamKey, Vec<HistoryRow>)| {
                    (k.dst, k.dport, k.src, k.sport, k.ssrc)
                },
            );
            h
        });
        Ok(RtpMonitoring {
            published,
            detail,
            history,
            statistics: what == "statistics",
            on: self.monitor.load().is_some(),
        })
    }
}

/// Readings in a row back within a threshold before its alarm clears: a per-second figure
/// hovering at the threshold would otherwise log a pair of messages every second.
const CLEAR_AFTER: u8 = 3;

/// A stream's alarm state: bit i set while past `ALARMS[i]`, and how many readings
/// in a row each has been back within it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AlarmState {
    past: u8,
    within: [u8; 4],
}

impl AlarmState {
    /// One reading of a stream's figures (per metric: value, threshold, past it; None: no
    /// figure to judge, the alarm stays as it was): the new state and the alarms raised
    /// (true) or cleared (false).
    fn step(mut self, values: &[Option<(f64, f64, bool)>; 4]) -> (AlarmState, Vec<(usize, bool)>) {
        let mut changes = Vec::new();
        for (m, v) in values.iter().enumerate() {
            let bit = 1u8 << m;
            let Some((_, _, past)) = *v else {
                continue;
            };
            match (past, self.past & bit != 0) {
                (true, false) => {
                    self.past |= bit;
                    self.within[m] = 0;
                    changes.push((m, true));
                }
                (true, true) => self.within[m] = 0,
                (false, true) => {
                    self.within[m] = self.within[m].saturating_add(1);
                    if self.within[m] >= CLEAR_AFTER {
                        self.past &= !bit;
                        self.within[m] = 0;
                        changes.push((m, false));
                    }
                }
                (false, false) => {}
            }
        }
        (self, changes)
    }
}

/// An alarm to log: the stream, the metric, raised or cleared, and why.
struct AlarmEvent {
    key: savin_monitor::table::StreamKey,
    codec: String,
    call_id: String,
    metric: usize,
    raised: bool,
    value: Option<f64>,
    threshold: Option<f64>,
    why: &'static str,
}

impl AlarmEvent {
    fn log(&self) {
        let (event, level_warn) = if self.raised {
            ("RTPMON_THRESHOLD_EXCEEDED", true)
        } else {
            ("RTPMON_THRESHOLD_CLEARED", false)
        };
        let fmt = |v: Option<f64>| v.map_or("N/A".to_string(), |v| format!("{v:.2}"));
        let (value, threshold) = (fmt(self.value), fmt(self.threshold));
        let k = &self.key;
        let text = format!(
            "{event}: stream {} -> {} SSRC 0x{:08x} {}: {} {value} ({}; threshold {threshold})",
            endpoint(k.src, k.sport),
            endpoint(k.dst, k.dport),
            k.ssrc,
            self.codec,
            ALARMS[self.metric].0,
            self.why,
        );
        macro_rules! alarm {
            ($level:ident) => {
                tracing::$level!(
                    target: "RTPMON",
                    event_id = event,
                    source_address = %k.src,
                    source_port = k.sport,
                    destination_address = %k.dst,
                    destination_port = k.dport,
                    ssrc = %format_args!("0x{:08x}", k.ssrc),
                    codec = %self.codec,
                    call_id = %self.call_id,
                    metric = ALARMS[self.metric].0,
                    value = %value,
                    threshold = %threshold,
                    reason = self.why,
                    "{text}"
                )
            };
        }
        if level_warn {
            alarm!(warn);
        } else {
            alarm!(info);
        }
    }
}

impl Control {
    /// Judges the streams the workers last published against the monitor's `thresholds`
    /// and logs each crossing once: RTPMON_THRESHOLD_EXCEEDED (warning) when a stream goes
    /// past one, RTPMON_THRESHOLD_CLEARED (info) when it has been back within for
    /// [`CLEAR_AFTER`] readings, when it ends, or when the thresholds go; the stream's
    /// figures as fields (structured data for RFC 5424 hosts). Logged after the workers'
    /// statistics are let go.
    pub(crate) fn monitor_alarms(&mut self) {
        let thresholds = self.monitor.load().as_ref().map(|s| s.thresholds);
        let mut events = Vec::new();
        let clear_all = |alarms: &std::collections::HashMap<_, AlarmState>,
                         why: &'static str,
                         events: &mut Vec<AlarmEvent>| {
            for (key, st) in alarms {
                for m in 0..ALARMS.len() {
                    if st.past & (1 << m) != 0 {
                        events.push(AlarmEvent {
                            key: *key,
                            codec: "unknown".into(),
                            call_id: "N/A".into(),
                            metric: m,
                            raised: false,
                            value: None,
                            threshold: None,
                            why,
                        });
                    }
                }
            }
        };
        let Some(t) = thresholds.filter(|t| *t != Default::default()) else {
            clear_all(&self.alarms, "thresholds removed", &mut events);
            self.alarms.clear();
            events.iter().for_each(AlarmEvent::log);
            return;
        };
        {
            let Ok(stats) = self.stats.try_lock() else {
                return;
            };
            let p = &stats.feature.0;
            if p.at_ms == self.alarms_at_ms {
                return;
            }
            self.alarms_at_ms = p.at_ms;
            let mut next = std::collections::HashMap::new();
            for s in p.streams.iter().filter(|s| !s.ended) {
                let was = self.alarms.remove(&s.key).unwrap_or_default();
                let values = s.alarm_values(&t);
                let (st, changes) = was.step(&values);
                for (m, raised) in changes {
                    let (value, threshold, _) = values[m].unwrap_or_default();
                    events.push(AlarmEvent {
                        key: s.key,
                        codec: s.codec.unwrap_or("unknown").into(),
                        call_id: s.call_id.clone().unwrap_or_else(|| "N/A".into()),
                        metric: m,
                        raised,
                        value: Some(value),
                        threshold: Some(threshold),
                        why: match (raised, ALARMS[m].1) {
                            (true, true) => "below",
                            (true, false) => "above",
                            (false, _) => "back within",
                        },
                    });
                }
                if st.past != 0 {
                    next.insert(s.key, st);
                }
            }
            // What is left: alarmed streams that ended (or went from the table); their
            // alarms clear.
            clear_all(&self.alarms, "stream ended", &mut events);
            self.alarms = next;
        }
        events.iter().for_each(AlarmEvent::log);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_takes_a_row_an_interval_with_what_came_in_it() {
        let mut view = StreamView {
            key: savin_monitor::table::StreamKey {
                src: "192.0.2.1".parse().unwrap(),
                dst: "192.0.2.2".parse().unwrap(),
                sport: 1,
                dport: 2,
                ssrc: 3,
            },
            codec: Some("PCMU"),
            payload_type: 0,
            clock_rate: 8000,
            call_id: None,
            stats: Default::default(),
            burst: Default::default(),
            burst_ratio: 1.0,
            quality: None,
            ts: None,
            rtp: true,
            first_ms: 1_000,
            last_ms: 1_000,
            ended: false,
        };
        let mut h = StreamHistory {
            start_ms: view.first_ms,
            ..StreamHistory::default()
        };
        // Published every second for 25 s: 50 packets a second, one lost every 5 s.
        for sec in 1..=25u64 {
            view.stats.packets = 50 * sec;
            view.stats.lost = sec / 5;
            h.sample(&view, 1_000 + sec * 1000);
        }
        let rows: Vec<(u64, u64, i64)> = h
            .rows
            .iter()
            .map(|r| (r.seconds, r.packets, r.lost))
            .collect();
        assert_eq!(rows, vec![(10, 500, 2), (10, 500, 2)]);
        assert!((h.rows[0].loss_percent() - 200.0 / 502.0).abs() < 1e-9);
        for sec in 26..=200u64 {
            h.sample(&view, 1_000 + sec * 1000);
        }
        assert_eq!(h.rows.len(), HISTORY_ROWS);
    }

    #[test]
    fn an_alarm_is_raised_once_and_clears_after_readings_back_within() {
        let past = Some((3.2, 3.6, true));
        let within = Some((4.1, 3.6, false));
        let mut st = AlarmState::default();
        let mut log = Vec::new();
        // Past, past, no figure, back once, past again, then back three times.
        for v in [
            past, past, None, within, past, within, within, within, within,
        ] {
            let (next, changes) = st.step(&[v, None, None, None]);
            st = next;
            log.push(changes);
        }
        let raised: Vec<usize> = log
            .iter()
            .enumerate()
            .filter(|(_, c)| c.contains(&(0, true)))
            .map(|(i, _)| i)
            .collect();
        let cleared: Vec<usize> = log
            .iter()
            .enumerate()
            .filter(|(_, c)| c.contains(&(0, false)))
            .map(|(i, _)| i)
            .collect();
        assert_eq!((raised, cleared), (vec![0], vec![7]), "{log:?}");
        assert_eq!(st.past, 0);
    }
}

/// How often a stream's history takes a row, on the workers' clock.
pub const HISTORY_INTERVAL_MS: u64 = 10_000;
/// Rows kept per stream: two minutes.
pub const HISTORY_ROWS: usize = 12;

/// One interval of a stream's history: what arrived and was lost in it, and the quality at
/// its end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryRow {
    /// The interval's end, on the workers' clock, and its length.
    pub end_ms: u64,
    pub seconds: u64,
    pub packets: u64,
    /// Packets lost in the interval (negative when late packets filled earlier gaps).
    pub lost: i64,
    pub jitter_ms: f64,
    pub mos_lq: Option<f64>,
    pub df_ms: Option<f64>,
    pub mlr: Option<f64>,
}

impl HistoryRow {
    pub fn loss_percent(&self) -> f64 {
        let expected = self.packets as i64 + self.lost;
        if expected <= 0 {
            0.0
        } else {
            self.lost.max(0) as f64 * 100.0 / expected as f64
        }
    }
}

/// A stream's history: the figures at the last row, and the rows.
#[derive(Debug, Clone, Default)]
pub(crate) struct StreamHistory {
    start_ms: u64,
    packets: u64,
    lost: u64,
    rows: std::collections::VecDeque<HistoryRow>,
}

impl StreamHistory {
    /// Takes a row if an interval has passed since the last (`s` as published at `at_ms`).
    fn sample(&mut self, s: &StreamView, at_ms: u64) {
        if at_ms.saturating_sub(self.start_ms) < HISTORY_INTERVAL_MS {
            return;
        }
        let (packets, lost) = s.packets_lost();
        let mdi = s.ts.as_ref().map(|t| t.mdi);
        self.rows.push_back(HistoryRow {
            end_ms: at_ms,
            seconds: at_ms.saturating_sub(self.start_ms) / 1000,
            packets: packets.saturating_sub(self.packets),
            lost: lost as i64 - self.lost as i64,
            jitter_ms: s.stats.jitter_ms,
            mos_lq: s.quality.map(|q| q.mos_lq),
            df_ms: mdi.and_then(|m| m.df_ms),
            mlr: mdi.and_then(|m| m.last_mlr()),
        });
        if self.rows.len() > HISTORY_ROWS {
            self.rows.pop_front();
        }
        (self.start_ms, self.packets, self.lost) = (at_ms, packets, lost);
    }
}

impl Control {
    /// Samples every live stream the workers published into its history (a row every
    /// [`HISTORY_INTERVAL_MS`]); streams gone from what is published lose theirs.
    pub(crate) fn monitor_history(&mut self) {
        if self.monitor.load().is_none() {
            self.history.clear();
            return;
        }
        let Ok(stats) = self.stats.try_lock() else {
            return;
        };
        let p = &stats.feature.0;
        if p.at_ms == self.history_at_ms {
            return;
        }
        self.history_at_ms = p.at_ms;
        // Streams gone from what is published are left behind in the old map.
        let mut next = std::collections::HashMap::with_capacity(p.streams.len());
        for s in &p.streams {
            // (A key may be published twice: live, and ended before it came back.)
            let h = next.entry(s.key).or_insert_with(|| {
                self.history
                    .remove(&s.key)
                    .unwrap_or_else(|| StreamHistory {
                        start_ms: s.first_ms,
                        ..StreamHistory::default()
                    })
            });
            if !s.ended {
                h.sample(s, p.at_ms);
            }
        }
        self.history = next;
    }
}
