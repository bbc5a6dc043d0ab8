//! Session limits across commits: when a commit binds a limiting screen again (or turns
//! the limit on), the sessions that already exist are counted against it, so the limit
//! holds at once instead of starting from zero.

use std::sync::Arc;

use savin_dataplane::screen::Screen;
use savin_dataplane::security::{HostInbound, SecurityTables};
use savin_dataplane::{Adjacency, DropReason, NextHop, Pipeline, Tables};
use savin_fib::Fib;
use savin_io::FrameBatch;

const CONFIG: &str = "\
set interfaces eth1 unit 0 family inet address 10.0.1.1/24
set interfaces eth2 unit 0 family inet address 203.0.113.1/24
set security zones security-zone trust interfaces eth1.0
set security zones security-zone untrust interfaces eth2.0
set security policies global policy any match source-address any
set security policies global policy any match destination-address any
set security policies global policy any match application any
set security policies global policy any then permit
set security screen ids-option lim limit-session source-ip-based 3
set security zones security-zone trust screen lim
";

/// The security tables, with the trust zone's limiting screen bound or not.
fn security(bound: bool) -> Arc<SecurityTables> {
    let cfg = savin_config::Configuration::parse_set(CONFIG, None)
        .unwrap()
        .check()
        .unwrap();
    let policy = Arc::new(savin_security::Compiled::new(&cfg).unwrap());
    let nat = savin_security::Nat::new(&cfg, &|z| policy.zone_id(z)).unwrap();
    let screens: Vec<Screen> = if bound {
        cfg.security
            .screen
            .ids_option
            .iter()
            .map(Screen::new)
            .collect()
    } else {
        Vec::new()
    };
    let trust = policy.zone_id("trust").unwrap();
    let mut screen_of_zone = vec![None; usize::from(trust) + 2];
    if bound {
        screen_of_zone[usize::from(trust)] = Some(0);
    }
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
        screens,
        screen_of_zone,
    })
}

/// Sends one UDP frame from 10.0.1.2:`sport` in from port 0; whether it left.
fn flow(p: &mut Pipeline, t: &Tables, sport: u16) -> bool {
    let mut f = savin_dataplane::ipv4::test_frame([10, 0, 1, 2], [198, 51, 100, 7], 64, 60);
    f[34..36].copy_from_slice(&sport.to_be_bytes());
    f[40..42].copy_from_slice(&[0, 0]); // no UDP checksum
    let mut batch = FrameBatch::with_capacity(4);
    assert!(batch.push(&f));
    p.process(&mut batch, t, 0);
    p.tx[1].len() == 1
}

#[test]
fn a_limit_bound_again_counts_the_sessions_that_exist() {
    let mut fib = Fib::new();
    fib.insert(0, 0, 1);
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
    t.security.store(Some(security(true)));
    let mut p = Pipeline::new(2, 4);
    p.now_ms = 1000;
    for sport in 1..=3 {
        assert!(flow(&mut p, &t, sport), "session {sport} within the limit");
    }
    assert!(!flow(&mut p, &t, 4), "a fourth session from the source");
    assert_eq!(p.counters.dropped(DropReason::Screen), 1);
    // The screen unbound: nothing limits; a fourth session is made.
    t.security.store(Some(security(false)));
    assert!(flow(&mut p, &t, 4));
    // Bound again: the four live sessions count, so a fifth is refused at once.
    t.security.store(Some(security(true)));
    assert!(!flow(&mut p, &t, 5), "the limit holds across the commits");
    assert_eq!(p.counters.dropped(DropReason::Screen), 2);
    // The sessions' own packets still pass.
    assert!(flow(&mut p, &t, 2));
}
