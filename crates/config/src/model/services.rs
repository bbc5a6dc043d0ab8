//! `services`: the service monitor. `rtp-monitoring` measures the voice and video that Savin
//! forwards: streams found from SIP (and its SDP) and on configured UDP ports, with their
//! loss, jitter and estimated MOS.

use serde::Deserialize;

use super::{Config, Flag, ValidationError};
use crate::schema::{container, flag, leaf, leaf_list, Node};
use crate::value::Type;

pub const DEFAULT_SIP_PORT: u16 = 5060;

pub fn schema() -> Node {
    container(
        "services",
        "Service PIC applications settings",
        vec![container(
            "rtp-monitoring",
            "Voice and video quality of the RTP streams Savin forwards",
            vec![
                leaf_list(
                    "sip-port",
                    "UDP ports SIP is followed on to find calls' media (default 5060)",
                    Type::Uint { min: 1, max: 65535 },
                ),
                flag(
                    "no-sip",
                    "Do not follow SIP; only udp-port traffic is measured",
                ),
                leaf_list(
                    "udp-port",
                    "UDP ports or ranges (16384-32767) whose traffic is taken for RTP",
                    Type::Name,
                ),
                leaf(
                    "max-streams",
                    "Streams measured at once, per forwarding thread (default 10000)",
                    Type::Uint {
                        min: 1,
                        max: 1_000_000,
                    },
                ),
                leaf(
                    "max-calls",
                    "SIP calls followed at once, per forwarding thread (default 5000)",
                    Type::Uint {
                        min: 1,
                        max: 1_000_000,
                    },
                ),
                leaf(
                    "inactivity-timeout",
                    "Seconds without a packet after which a stream has ended (default 10)",
                    Type::Uint {
                        min: 1,
                        max: 86_400,
                    },
                ),
                leaf(
                    "history-size",
                    "Ended streams kept for show, per forwarding thread (default 100)",
                    Type::Uint {
                        min: 0,
                        max: 100_000,
                    },
                ),
                flag(
                    "no-packet-loss-concealment",
                    "The endpoints do not conceal lost packets (G.711 scored without PLC)",
                ),
                container(
                    "thresholds",
                    "Alarms (logged as RTPMON_THRESHOLD_EXCEEDED, then _CLEARED) when a stream crosses these",
                    vec![
                        leaf(
                            "mos-lq",
                            "Voice whose MOS-LQ falls below this (1-4.5, e.g. 3.6)",
                            Type::Name,
                        ),
                        leaf(
                            "loss-percent",
                            "Streams losing more than this percentage of their packets",
                            Type::Name,
                        ),
                        leaf(
                            "delay-factor",
                            "MPEG-TS whose last second's delay factor exceeds this (ms)",
                            Type::Name,
                        ),
                        leaf(
                            "media-loss-rate",
                            "MPEG-TS losing more than this many packets in its last second",
                            Type::Name,
                        ),
                    ],
                ),
            ],
        )
        .presence()],
    )
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Services {
    pub rtp_monitoring: Option<RtpMonitoring>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RtpMonitoring {
    #[serde(default)]
    pub sip_port: Vec<u16>,
    #[serde(default)]
    pub no_sip: Flag,
    #[serde(default)]
    pub udp_port: Vec<String>,
    pub max_streams: Option<u32>,
    pub max_calls: Option<u32>,
    pub inactivity_timeout: Option<u32>,
    pub history_size: Option<u32>,
    #[serde(default)]
    pub no_packet_loss_concealment: Flag,
    pub thresholds: Option<Thresholds>,
}

/// `thresholds`: decimals as written (validated to two places).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Thresholds {
    pub mos_lq: Option<String>,
    pub loss_percent: Option<String>,
    pub delay_factor: Option<String>,
    pub media_loss_rate: Option<String>,
}

impl Thresholds {
    /// Each threshold in hundredths (validation refused any that does not read).
    pub fn hundredths(&self) -> [Option<u32>; 4] {
        [
            &self.mos_lq,
            &self.loss_percent,
            &self.delay_factor,
            &self.media_loss_rate,
        ]
        .map(|v| v.as_deref().and_then(|t| hundredths(t).ok()))
    }
}

/// `3.6` -> 360: a decimal with at most two places, below a million.
pub fn hundredths(s: &str) -> Result<u32, String> {
    let bad = || format!("'{s}' is not a number with at most two decimal places");
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty()
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || whole.len() > 6
    {
        return Err(bad());
    }
    let w: u32 = whole.parse().map_err(|_| bad())?;
    let f: u32 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    Ok(w * 100 + f)
}

impl RtpMonitoring {
    /// The SIP ports followed (none with `no-sip`).
    pub fn sip_ports(&self) -> Vec<u16> {
        match (self.no_sip.0, self.sip_port.is_empty()) {
            (true, _) => Vec::new(),
            (false, true) => vec![DEFAULT_SIP_PORT],
            (false, false) => self.sip_port.clone(),
        }
    }

    /// The `udp-port` ranges (validation refused any that does not read).
    pub fn port_ranges(&self) -> Vec<std::ops::RangeInclusive<u16>> {
        self.udp_port
            .iter()
            .filter_map(|p| port_range(p).ok())
            .collect()
    }
}

/// `5004` or `16384-32767`.
pub fn port_range(s: &str) -> Result<std::ops::RangeInclusive<u16>, String> {
    let num = |t: &str| {
        t.parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("'{t}' is not a UDP port (1-65535)"))
    };
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(s)?, num(s)?),
    };
    if lo > hi {
        return Err(format!("range {s} runs backwards"));
    }
    Ok(lo..=hi)
}

pub(super) fn validate(cfg: &Config, errors: &mut Vec<ValidationError>) {
    let Some(r) = &cfg.services.rtp_monitoring else {
        return;
    };
    for p in &r.udp_port {
        if let Err(e) = port_range(p) {
            errors.push(ValidationError::new(
                &["services", "rtp-monitoring"],
                format!("udp-port {p}"),
                e,
            ));
        }
    }
    if let Some(t) = &r.thresholds {
        for (name, v, max) in [
            ("mos-lq", &t.mos_lq, Some(450)),
            ("loss-percent", &t.loss_percent, Some(10_000)),
            ("delay-factor", &t.delay_factor, None),
            ("media-loss-rate", &t.media_loss_rate, None),
        ] {
            let Some(v) = v else { continue };
            let err = match (hundredths(v), max) {
                (Err(e), _) => Some(e),
                (Ok(n), Some(m)) if n > m || (name == "mos-lq" && n < 100) => Some(format!(
                    "{v} is out of range ({})",
                    if name == "mos-lq" { "1-4.5" } else { "0-100" }
                )),
                _ => None,
            };
            if let Some(e) = err {
                errors.push(ValidationError::new(
                    &["services", "rtp-monitoring", "thresholds"],
                    format!("{name} {v}"),
                    e,
                ));
            }
        }
    }
    if r.no_sip.0 && !r.sip_port.is_empty() {
        errors.push(ValidationError::new(
            &["services", "rtp-monitoring"],
            "no-sip",
            "no-sip and sip-port exclude each other",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_read_as_firewall_ports_do() {
        assert_eq!(port_range("5004"), Ok(5004..=5004));
        assert_eq!(port_range("16384-32767"), Ok(16384..=32767));
        for bad in ["0", "70000", "10-5", "a-b", "", "-5", "5-"] {
            assert!(port_range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn thresholds_read_to_the_hundredth() {
        assert_eq!(hundredths("3.6"), Ok(360));
        assert_eq!(hundredths("3.65"), Ok(365));
        assert_eq!(hundredths("50"), Ok(5000));
        assert_eq!(hundredths("0.05"), Ok(5));
        for bad in ["", ".5", "3.655", "-1", "1e3", "3,6", "x", "1234567"] {
            assert!(hundredths(bad).is_err(), "{bad}");
        }
    }
}
