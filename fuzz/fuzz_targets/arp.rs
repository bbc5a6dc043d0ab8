//! Arbitrary frames into the ARP state machine, with time passing: never a panic, and the
//! table stays within its bound.
#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use savin_dataplane::arp::{Arp, ArpConfig, ArpInterface};

fuzz_target!(|data: &[u8]| {
    let ifc = ArpInterface {
        port: 0,
        mac: [2, 0, 0, 0, 0, 1],
        addrs: vec![(Ipv4Addr::new(10, 0, 0, 1), 8)],
        // A proxy-ARP range too, so requests for NAT addresses are fuzzed as well.
        proxy: vec![(0x0a00_0064, 0x0a00_0066)],
    };
    let mut arp = Arp::new(ArpConfig {
        max_entries: 8,
        ..ArpConfig::default()
    });
    let mut now = 0u64;
    for chunk in data.split(|b| *b == 0xa5).take(32) {
        now += 700;
        let _ = arp.receive(&ifc, chunk, now);
        if chunk.len() >= 4 {
            let ip = Ipv4Addr::new(10, chunk[1], chunk[2], chunk[3]);
            let _ = arp.resolve(&ifc, ip, chunk.to_vec(), now);
        }
        let _ = arp.tick(std::slice::from_ref(&ifc), now);
        assert!(arp.neighbors().len() <= 8);
    }
});
