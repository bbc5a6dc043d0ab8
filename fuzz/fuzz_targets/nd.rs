//! Arbitrary frames through Neighbor Discovery and the ICMPv6 builders: never a panic, a
//! bounded table, and every frame it sends is a valid ICMPv6 message.
#![no_main]

use std::net::Ipv6Addr;

use libfuzzer_sys::fuzz_target;
use savin_dataplane::nd::{Nd, NdAction, NdInterface};
use savin_dataplane::neighbor::NeighborConfig;
use savin_wire::icmp6;
use savin_wire::nd::link_local;

fuzz_target!(|data: &[u8]| {
    let ifc = NdInterface {
        port: 1,
        mac: [2, 0, 0, 0, 0, 1],
        addrs: vec![
            ("2001:db8::1".parse::<Ipv6Addr>().unwrap(), 64),
            (link_local([2, 0, 0, 0, 0, 1]), 64),
        ],
    };
    let mut nd = Nd::new(NeighborConfig {
        max_entries: 8,
        queue_per_neighbor: 2,
        ..NeighborConfig::default()
    });
    let mut now = 0;
    for chunk in data.split(|b| *b == 0xa5) {
        now += 300;
        let mut acts = nd.receive(&ifc, chunk, now);
        if chunk.len() >= 16 {
            let mut a = [0u8; 16];
            a.copy_from_slice(&chunk[..16]);
            acts.extend(nd.resolve(&ifc, Ipv6Addr::from(a), chunk.to_vec(), now));
        }
        acts.extend(nd.tick(std::slice::from_ref(&ifc), now));
        for a in acts {
            if let NdAction::Send { frame, .. } = a {
                if frame.len() >= 14 + 40 + 4 && frame[12..14] == [0x86, 0xdd] && frame[20] == 58 {
                    // Frames of ours (not released packets) are checksummed.
                    assert_eq!(icmp6::checksum(&frame), 0);
                }
            }
        }
        assert!(nd.entries(now).len() <= 8);
        // The builders on whatever comes in.
        if icmp6::may_send_error_about(chunk) && chunk.len() >= 54 {
            let e = icmp6::error(chunk, 3, 0, "2001:db8::1".parse().unwrap(), 0);
            assert!(e.len() <= 14 + 1280);
            assert_eq!(icmp6::checksum(&e), 0);
        }
        let mut copy = chunk.to_vec();
        if copy.len() >= 14 + 40
            && copy[12..14] == [0x86, 0xdd]
            && savin_dataplane::ipv6::check(&copy, 14).is_ok()
        {
            icmp6::echo_reply_in_place(&mut copy);
        }
    }
});
