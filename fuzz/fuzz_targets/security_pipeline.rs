//! Arbitrary frames through the pipeline with the security stage on (zones, policies,
//! sessions, source/destination/static NAT, every screen): never a panic, every frame either
//! forwarded, punted or counted under one drop reason, and forwarded frames keep a valid IP
//! header checksum after translation.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use savin_dataplane::{checksum, Adjacency, NextHop, Pipeline, Tables};
use savin_fib::Fib;
use savin_io::FrameBatch;
use savin_security::{HostInbound, SecurityStage, SecurityTables};

const CONFIG: &str = "\
set interfaces eth1 unit 0 family inet address 10.0.1.1/24
set interfaces eth2 unit 0 family inet address 203.0.113.1/24
set security zones security-zone trust interfaces eth1.0
set security zones security-zone untrust interfaces eth2.0
set security zones security-zone untrust screen all
set security screen ids-option all icmp ping-death
set security screen ids-option all icmp flood threshold 5
set security screen ids-option all udp flood threshold 5
set security screen ids-option all ip spoofing
set security screen ids-option all ip tear-drop
set security screen ids-option all tcp land
set security screen ids-option all tcp syn-fin
set security screen ids-option all tcp tcp-no-flag
set security screen ids-option all tcp syn-flood source-threshold 5
set security screen ids-option all tcp port-scan
set security screen ids-option all limit-session source-ip-based 3
set security policies global policy any match source-address any
set security policies global policy any match destination-address any
set security policies global policy any match application any
set security policies global policy any then permit
set security nat source pool p address 203.0.113.10/32 to 203.0.113.11/32
set security nat source rule-set s from zone trust
set security nat source rule-set s to zone untrust
set security nat source rule-set s rule a match destination-port 80
set security nat source rule-set s rule a then source-nat pool p
set security nat source rule-set s rule b match source-address 0.0.0.0/0
set security nat source rule-set s rule b then source-nat interface
set security nat destination pool d address 10.0.1.5/32 port 8080
set security nat destination rule-set d from zone untrust
set security nat destination rule-set d rule a match destination-address 203.0.113.20/32
set security nat destination rule-set d rule a then destination-nat pool d
set security nat static rule-set st from zone untrust
set security nat static rule-set st rule a match destination-address 203.0.113.0/28
set security nat static rule-set st rule a then static-nat prefix 10.0.1.0/28
";

fn tables() -> &'static (Fib<u32>, Tables) {
    static T: OnceLock<(Fib<u32>, Tables)> = OnceLock::new();
    T.get_or_init(|| {
        let cfg = savin_config::Configuration::parse_set(CONFIG, None)
            .unwrap()
            .check()
            .unwrap();
        let policy = Arc::new(savin_security::compile_policy(&cfg).unwrap());
        let mut nat = savin_security::compile_nat(&cfg, &|z| policy.zone_id(z)).unwrap();
        nat.bind(&|_| None);
        let screens = vec![savin_security::compile_screen(
            &cfg.security.screen.ids_option[0],
        )];
        let sec = SecurityTables {
            policy: policy.clone(),
            zone_of_port: vec![policy.zone_id("trust"), policy.zone_id("untrust")],
            host_inbound: vec![HostInbound::default(); 2],
            sessions: savin_session::SessionConfig {
                capacity: 64,
                ..Default::default()
            },
            nat: Arc::new(nat),
            port_addr: vec![0x0a00_0101, 0xcb00_7101],
            screens,
            screen_of_zone: vec![None, Some(0)],
            tcp_rst: vec![false, true],
            ipv6_packet_based: false,
        };
        // 10.0.1.0/24 out of port 0, everything else out of port 1, 10.0.1.1 is the box.
        let mut fib = Fib::new();
        fib.insert(0, 0, 1).expect("next hop in range");
        fib.insert(0x0a00_0100, 24, 2).expect("next hop in range");
        fib.insert(0x0a00_0101, 32, 3).expect("next hop in range");
        let adj = vec![
            NextHop::Unresolved,
            NextHop::Forward(Adjacency {
                port: 1,
                dst_mac: [2; 6],
                src_mac: [4; 6],
                mtu: 1500,
            }),
            NextHop::Forward(Adjacency {
                port: 0,
                dst_mac: [6; 6],
                src_mac: [8; 6],
                mtu: 1500,
            }),
            NextHop::Local,
        ];
        let t = Tables::routed(fib.reader(), adj);
        t.security.store(Some(Arc::new(sec)));
        (fib, t)
    })
}

fuzz_target!(|data: &[u8]| {
    let (_, t) = tables();
    let mut p = Pipeline::with_feature(2, 8, SecurityStage::new(8));
    // Frames split on 0xa5; each group of eight alternates between the two ports, so
    // replies can meet the sessions the first group made.
    let frames: Vec<&[u8]> = data.split(|b| *b == 0xa5).take(32).collect();
    let mut total = 0u64;
    for (g, group) in frames.chunks(8).enumerate() {
        let mut batch = FrameBatch::with_capacity(8);
        for f in group {
            batch.push(f);
        }
        p.now_ms += 700;
        p.now_us += 700_000;
        p.process(&mut batch, t, (g % 2) as u16);
        total += batch.len() as u64;
        for port in 0..2 {
            for &i in &p.tx[port] {
                let f = batch.frame(i as usize);
                let ihl = usize::from(f[14] & 0x0f) * 4;
                assert_eq!(checksum::sum(&f[14..14 + ihl]), 0xffff);
            }
        }
    }
    let c = &p.counters;
    assert_eq!(c.forwarded + c.punted + c.total_drops(), total, "{c:?}");
});
