//! `show services rtp-monitoring streams [detail]` and `... statistics`: what the workers'
//! monitors published (about once a second), as a table, a block per stream, or
//! `rtp-monitoring-information` in JSON and XML.

use std::fmt::Write as _;

use savin_config::subsystem::State;
use savin_monitor::stage::{Published, StreamView, ALARM_METRICS};
use serde_json::{json, Value};

use crate::control::Control;

/// What `show services rtp-monitoring` answers.
pub struct RtpMonitoring {
    published: Published,
    detail: bool,
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
            // A transport stream over bare UDP has no RTP figures: its TS packets instead.
            if let (false, Some(t)) = (s.rtp, &s.ts) {
                st.packets = t.counters.packets;
                st.lost = t.counters.lost;
                st.expected = t.counters.packets + t.counters.lost;
            }
            // Video is rated by its delivery index, DF:MLR.
            let rating = match (&s.quality, &s.ts) {
                (Some(q), _) => format!("{:.2}", q.mos_cq),
                (None, Some(t)) => t
                    .mdi
                    .df_ms
                    .map_or("-".into(), |d| format!("{d:.0}:{:.0}", t.mdi.mlr)),
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
        let mut detail = false;
        for a in args {
            match a.as_str() {
                "detail" if what == "streams" => detail = true,
                "brief" | "terse" if what == "streams" => {}
                other => return Err(format!("syntax error: unexpected '{other}'")),
            }
        }
        let published = self
            .stats
            .lock()
            .map(|s| s.feature.0.clone())
            .unwrap_or_else(|e| e.into_inner().feature.0.clone());
        Ok(RtpMonitoring {
            published,
            detail,
            statistics: what == "statistics",
            on: self.monitor.load().is_some(),
        })
    }
}

impl Control {
    /// Judges the streams the workers last published against `thresholds` and logs each
    /// crossing once: RTPMON_THRESHOLD_EXCEEDED (warning) when a stream goes past one,
    /// RTPMON_THRESHOLD_CLEARED (notice-level info) when it comes back; the stream's
    /// figures as fields (structured data for RFC 5424 hosts).
    pub(crate) fn monitor_alarms(&mut self) {
        let thresholds = self.monitor.load().as_ref().map(|s| s.thresholds);
        let Some(t) = thresholds.filter(|t| *t != Default::default()) else {
            self.alarms.clear();
            return;
        };
        let stats = match self.stats.try_lock() {
            Ok(s) => s,
            Err(_) => return,
        };
        let p = &stats.feature.0;
        if p.at_ms == self.alarms_at_ms {
            return;
        }
        self.alarms_at_ms = p.at_ms;
        let mut next = std::collections::HashMap::new();
        for s in p.streams.iter().filter(|s| !s.ended) {
            let was = self.alarms.get(&s.key).copied().unwrap_or(0);
            let mut now = 0u8;
            for (i, v) in s.alarm_values(&t).into_iter().enumerate() {
                let Some((value, threshold, past)) = v else {
                    continue;
                };
                let bit = 1u8 << i;
                if past {
                    now |= bit;
                }
                if past == (was & bit != 0) {
                    continue;
                }
                let (event, word) = if past {
                    ("RTPMON_THRESHOLD_EXCEEDED", "past")
                } else {
                    ("RTPMON_THRESHOLD_CLEARED", "back within")
                };
                let text = format!(
                    "{event}: stream {} -> {} SSRC 0x{:08x} {}: {} {value:.2} {word} {threshold:.2}",
                    endpoint(s.key.src, s.key.sport),
                    endpoint(s.key.dst, s.key.dport),
                    s.key.ssrc,
                    s.codec.unwrap_or("unknown"),
                    ALARM_METRICS[i],
                );
                macro_rules! alarm {
                    ($level:ident) => {
                        tracing::$level!(
                            target: "RTPMON",
                            event_id = event,
                            source_address = %s.key.src,
                            source_port = s.key.sport,
                            destination_address = %s.key.dst,
                            destination_port = s.key.dport,
                            ssrc = %format_args!("0x{:08x}", s.key.ssrc),
                            codec = s.codec.unwrap_or("unknown"),
                            call_id = s.call_id.as_deref().unwrap_or("N/A"),
                            metric = ALARM_METRICS[i],
                            value = %format_args!("{value:.2}"),
                            threshold = %format_args!("{threshold:.2}"),
                            "{text}"
                        )
                    };
                }
                if past {
                    alarm!(warn);
                } else {
                    alarm!(info);
                }
            }
            if now != 0 {
                next.insert(s.key, now);
            }
        }
        self.alarms = next;
    }
}
