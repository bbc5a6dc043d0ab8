//! The in-memory security set-up the pipeline tests share: a `set` configuration with zones
//! on eth1.0 (port 0, 10.0.1.1) and eth2.0 (port 1, 203.0.113.1), compiled as the control
//! plane does, and a default route out of port 1.

// Each test crate uses part of it.
#![allow(dead_code)]

use std::sync::Arc;

use savin_dataplane::{Adjacency, NextHop, Tables};
use savin_security::screen::Screen;
use savin_security::{HostInbound, SecurityStage, SecurityTables};

/// The pipeline with the security stage on its arcs, as the daemon runs it.
pub type Pipeline = savin_dataplane::Pipeline<SecurityStage>;

pub fn pipeline(ports: usize, batch: usize) -> Pipeline {
    Pipeline::with_feature(ports, batch, SecurityStage::new(batch))
}
use savin_fib::Fib;

/// The security tables of `config` (zones "trust" on port 0 and "untrust" on port 1);
/// without its screens when `screens` is false (as if the zones' `screen` were deleted).
pub fn security(config: &str, screens: bool) -> Arc<SecurityTables> {
    let cfg = savin_config::Configuration::parse_set(config, None)
        .unwrap()
        .check()
        .unwrap();
    let policy = Arc::new(savin_security::compile_policy(&cfg).unwrap());
    let nat = savin_security::compile_nat(&cfg, &|z| policy.zone_id(z)).unwrap();
    let sec = &cfg.security;
    let bound: Vec<Screen> = if screens {
        sec.screen
            .ids_option
            .iter()
            .map(savin_security::compile_screen)
            .collect()
    } else {
        Vec::new()
    };
    let screen_of_zone = sec
        .zones
        .security_zone
        .iter()
        .map(|z| {
            let name = z.screen.as_ref()?;
            bound.iter().position(|s| &s.name == name).map(|i| i as u16)
        })
        .collect();
    Arc::new(SecurityTables {
        policy: policy.clone(),
        zone_of_port: vec![policy.zone_id("trust"), policy.zone_id("untrust")],
        host_inbound: vec![HostInbound::default(); 2],
        sessions: savin_session::SessionConfig {
            capacity: 4096,
            ..Default::default()
        },
        nat: Arc::new(nat),
        port_addr: vec![0x0a00_0101, 0xcb00_7101],
        screens: bound,
        screen_of_zone,
        tcp_rst: Vec::new(),
        ipv6_packet_based: false,
    })
}

/// Tables routing everything out of port 1, with `sec` as their security stage. (The FIB is
/// returned to keep it alive.)
pub fn tables(sec: Arc<SecurityTables>) -> (Fib<u32>, Tables) {
    let mut fib = Fib::new();
    fib.insert(0, 0, 1).expect("next hop in range");
    let adj = vec![
        NextHop::Unresolved,
        NextHop::Forward(Adjacency {
            port: 1,
            dst_mac: [2; 6],
            src_mac: [4; 6],
            mtu: 1500,
        }),
    ];
    let t = Tables::routed(fib.reader(), adj);
    t.security.store(Some(sec));
    (fib, t)
}
