//! Arbitrary frames into a switch with access, trunk and routed ports and an IRB: never a
//! panic, every frame accounted for exactly once, the MAC table bounded by the VLAN limits,
//! and nothing leaves a port outside the frame's VLAN.
#![no_main]

use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use libfuzzer_sys::fuzz_target;
use savin_dataplane::bridge::{L2Tables, PortMode, VlanInfo};
use savin_dataplane::{Adjacency, NextHop, Pipeline, Tables};
use savin_fib::Fib;
use savin_io::FrameBatch;

fn tables() -> &'static (Fib<u32>, Tables) {
    static T: OnceLock<(Fib<u32>, Tables)> = OnceLock::new();
    T.get_or_init(|| {
        let mut l2 = L2Tables {
            ports: vec![
                PortMode::Access { vlan: 10 },
                PortMode::Trunk { native: Some(10) },
                PortMode::Access { vlan: 20 },
                PortMode::Irb { vlan: 10 },
                PortMode::Routed,
            ],
            ..L2Tables::default()
        };
        l2.vlans[10] = Some(VlanInfo {
            members: vec![(0, false), (1, false)],
            irb: Some((3, [2, 0, 0, 0, 0, 3])),
            mac_limit: 16,
        });
        l2.vlans[20] = Some(VlanInfo {
            members: vec![(1, true), (2, false)],
            irb: None,
            mac_limit: 16,
        });
        let mut fib = Fib::new();
        fib.insert(0, 1, 1).expect("next hop in range");
        fib.insert(0x8000_0000, 1, 2).expect("next hop in range");
        let fwd = |port| {
            NextHop::Forward(Adjacency {
                port,
                dst_mac: [2; 6],
                src_mac: [4; 6],
                mtu: 1500,
            })
        };
        let adj = vec![NextHop::Unresolved, fwd(4), fwd(3)];
        let t = Tables {
            fib4: fib.reader(),
            fib6: Fib::<u128>::new().reader(),
            adjacencies: Arc::new(ArcSwap::from_pointee(adj)),
            l2: Arc::new(ArcSwap::from_pointee(l2)),
            security: Default::default(),
        };
        (fib, t)
    })
}

fuzz_target!(|data: &[u8]| {
    let (_, t) = tables();
    let mut p = Pipeline::new(5, 8);
    for (n, chunk) in data.split(|b| *b == 0xa5).take(16).enumerate() {
        let port = (chunk.first().copied().unwrap_or(0) % 3) as u16;
        let mut batch = FrameBatch::with_capacity(8);
        for f in chunk.split(|b| *b == 0x5a).take(8) {
            batch.push(f);
        }
        p.now_ms = n as u64 * 1000;
        let before = p.counters.clone();
        p.process(&mut batch, t, port);
        let c = &p.counters;
        let handled = (c.forwarded - before.forwarded)
            + (c.bridged - before.bridged)
            + (c.flooded - before.flooded)
            + (c.punted - before.punted)
            + (c.total_drops() - before.total_drops());
        // A broadcast copied to the IRB is also flooded: punts of those are extra.
        let irb_copies = p
            .punt
            .iter()
            .filter(|(i, _)| p.meta.in_port[usize::from(*i)] == 3)
            .count() as u64;
        assert!(
            handled <= batch.len() as u64 + irb_copies
                && handled + irb_copies >= batch.len() as u64
        );
        // Nothing from VLAN 20's access port reaches VLAN 10's access port, and vice versa.
        if port == 2 {
            assert!(p.tx[0].is_empty() && p.tx_extra[0].is_empty());
        }
        if port == 0 {
            assert!(p.tx[2].is_empty() && p.tx_extra[2].is_empty());
        }
        assert!(p.fdb.len() <= 32);
    }
});
