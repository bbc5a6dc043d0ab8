//! Screens (`ids-option`), compiled: which checks are on and their thresholds, with the SRX
//! defaults filled in for the thresholds the configuration leaves out. The data plane runs
//! them (`savin_dataplane::screen`).

use savin_config::model::screen::IdsOption;

/// SYN flood thresholds, SYNs per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynFlood {
    /// To one destination address and port. An SRX answers beyond it with a SYN proxy;
    /// Savin drops (a SYN-cookie proxy is future work).
    pub attack: u32,
    /// Logged when passed (counted in `alarms`).
    pub alarm: u32,
    /// From one source address.
    pub source: u32,
    /// To one destination address.
    pub destination: u32,
}

/// One `ids-option`, compiled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Screen {
    pub name: String,
    pub icmp_flood: Option<u32>,
    pub udp_flood: Option<u32>,
    pub syn_flood: Option<SynFlood>,
    /// Ten ports from one source to one destination within this many microseconds.
    pub port_scan_us: Option<u32>,
    pub ping_death: bool,
    pub tear_drop: bool,
    pub spoofing: bool,
    pub syn_fin: bool,
    pub no_flag: bool,
    pub land: bool,
    pub limit_source: Option<u32>,
    pub limit_destination: Option<u32>,
}

impl Screen {
    /// With the SRX defaults for thresholds left out.
    pub fn new(o: &IdsOption) -> Screen {
        Screen {
            name: o.name.clone(),
            icmp_flood: o.icmp.flood.as_ref().map(|f| f.threshold.unwrap_or(1000)),
            udp_flood: o.udp.flood.as_ref().map(|f| f.threshold.unwrap_or(1000)),
            syn_flood: o.tcp.syn_flood.as_ref().map(|s| SynFlood {
                attack: s.attack_threshold.unwrap_or(200),
                alarm: s.alarm_threshold.unwrap_or(512),
                source: s.source_threshold.unwrap_or(4000),
                destination: s.destination_threshold.unwrap_or(4000),
            }),
            port_scan_us: o
                .tcp
                .port_scan
                .as_ref()
                .map(|p| p.threshold.unwrap_or(5000)),
            ping_death: o.icmp.ping_death.0,
            tear_drop: o.ip.tear_drop.0,
            spoofing: o.ip.spoofing.0,
            syn_fin: o.tcp.syn_fin.0,
            no_flag: o.tcp.tcp_no_flag.0,
            land: o.tcp.land.0,
            limit_source: o.limit_session.source_ip_based,
            limit_destination: o.limit_session.destination_ip_based,
        }
    }

    pub fn limits_sessions(&self) -> bool {
        self.limit_source.is_some() || self.limit_destination.is_some()
    }
}
