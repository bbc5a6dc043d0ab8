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
}
