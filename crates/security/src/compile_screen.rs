//! From the typed `ids-option` configuration to screens, with the SRX default thresholds
//! for those the configuration leaves out.

use savin_config::model::screen::IdsOption;
use savin_security_tables::screen::{Screen, ScreenOption, SynFlood};

/// With the SRX defaults for thresholds left out.
pub fn compile_screen(o: &IdsOption) -> Screen {
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
        options: [
            (o.ip.block_frag.0, ScreenOption::BLOCK_FRAG),
            (o.ip.bad_option.0, ScreenOption::BAD_OPTION),
            (o.ip.source_route_option.0, ScreenOption::SOURCE_ROUTE),
            (
                o.ip.loose_source_route_option.0,
                ScreenOption::LOOSE_SOURCE_ROUTE,
            ),
            (
                o.ip.strict_source_route_option.0,
                ScreenOption::STRICT_SOURCE_ROUTE,
            ),
            (o.ip.record_route_option.0, ScreenOption::RECORD_ROUTE),
            (o.ip.timestamp_option.0, ScreenOption::TIMESTAMP),
            (o.ip.security_option.0, ScreenOption::SECURITY),
            (o.ip.stream_option.0, ScreenOption::STREAM),
            (o.ip.unknown_protocol.0, ScreenOption::UNKNOWN_PROTOCOL),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .fold(0, |bits, (_, bit)| bits | bit),
        icmp_fragment: o.icmp.fragment.0,
        icmp_large: o.icmp.large.0,
        winnuke: o.tcp.winnuke.0,
        syn_frag: o.tcp.syn_frag.0,
        // The SRX default for sweeps: 5000 microseconds.
        ip_sweep_us: o
            .icmp
            .ip_sweep
            .as_ref()
            .map(|t| t.threshold.unwrap_or(5000)),
        tcp_sweep_us: o
            .tcp
            .tcp_sweep
            .as_ref()
            .map(|t| t.threshold.unwrap_or(5000)),
        udp_sweep_us: o
            .udp
            .udp_sweep
            .as_ref()
            .map(|t| t.threshold.unwrap_or(5000)),
        alarm_only: o.alarm_without_drop.0,
    }
}
