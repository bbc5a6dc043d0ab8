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
    /// The IP-layer checks on (`block-frag`, the option screens, `unknown-protocol`), as
    /// [`ScreenOption`] bits: one test on the hot path when none is.
    pub options: u16,
    pub icmp_fragment: bool,
    pub icmp_large: bool,
    pub winnuke: bool,
    pub syn_frag: bool,
    /// Sweeps: ten destinations from one source (ICMP echo; TCP SYN or UDP to one port)
    /// within this many microseconds.
    pub ip_sweep_us: Option<u32>,
    pub tcp_sweep_us: Option<u32>,
    pub udp_sweep_us: Option<u32>,
    /// `alarm-without-drop`: attacks are counted and passed.
    pub alarm_only: bool,
}

/// The IP-layer checks of a screen, as bits of [`Screen::options`].
pub struct ScreenOption;

impl ScreenOption {
    pub const BLOCK_FRAG: u16 = 1;
    pub const SOURCE_ROUTE: u16 = 2;
    pub const LOOSE_SOURCE_ROUTE: u16 = 4;
    pub const STRICT_SOURCE_ROUTE: u16 = 8;
    pub const RECORD_ROUTE: u16 = 16;
    pub const TIMESTAMP: u16 = 32;
    pub const SECURITY: u16 = 64;
    pub const STREAM: u16 = 128;
    pub const BAD_OPTION: u16 = 256;
    pub const UNKNOWN_PROTOCOL: u16 = 512;
}

impl Screen {
    pub fn limits_sessions(&self) -> bool {
        self.limit_source.is_some() || self.limit_destination.is_some()
    }
}
