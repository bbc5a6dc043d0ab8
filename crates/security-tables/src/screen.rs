//! Screens (`ids-option`), compiled: which checks are on and their thresholds, the thresholds (the compiler in
//! `savin_security` fills in the SRX defaults). The data plane runs them
//! (`savin_dataplane::screen`).

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
    pub fn limits_sessions(&self) -> bool {
        self.limit_source.is_some() || self.limit_destination.is_some()
    }
}
