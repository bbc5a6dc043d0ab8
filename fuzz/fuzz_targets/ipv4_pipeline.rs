//! Arbitrary frames through the IPv4 forwarding pipeline: never a panic, every frame either
//! forwarded or counted under one drop reason, and forwarded frames keep a valid checksum;
//! the ICMP builders, fragmentation and checksum completion on the same input; the punt
//! queue's sorting of what is for the box's sockets on what the pipeline punts.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use savin_dataplane::{checksum, Adjacency, NextHop, Pipeline, Tables};
use savin_fib::Fib;
use savin_io::FrameBatch;

fn tables() -> &'static (Fib<u32>, Tables) {
    static T: OnceLock<(Fib<u32>, Tables)> = OnceLock::new();
    T.get_or_init(|| {
        let mut fib = Fib::new();
        fib.insert(0, 1, 1).expect("next hop in range");
        fib.insert(0x8000_0000, 2, 2).expect("next hop in range");
        let adj = vec![
            NextHop::Unresolved,
            NextHop::Forward(Adjacency {
                port: 0,
                dst_mac: [2; 6],
                src_mac: [4; 6],
                mtu: 1500,
            }),
            NextHop::Unresolved,
        ];
        let t = Tables::routed(fib.reader(), adj);
        (fib, t)
    })
}

fuzz_target!(|data: &[u8]| {
    let (_, t) = tables();
    let mut batch = FrameBatch::with_capacity(8);
    for chunk in data.split(|b| *b == 0xa5).take(8) {
        batch.push(chunk);
    }
    // The ICMP builders on whatever passes the header checks.
    for i in 0..batch.len() {
        let f = batch.frame(i);
        if f.len() >= 14 && savin_dataplane::ipv4::check(f, 14).is_ok() {
            if savin_wire::icmp::may_send_error_about(f) {
                let e = savin_wire::icmp::error(f, 11, 0, std::net::Ipv4Addr::new(10, 0, 0, 1), 0);
                assert!(savin_dataplane::ipv4::check(&e, 14).is_ok());
            }
            let mut copy = f.to_vec();
            savin_wire::icmp::echo_reply_in_place(&mut copy);
            // Fragmentation: every fragment fits and has a valid header.
            let mtu = 68 + u16::from(f[f.len() - 1]) * 4;
            for fr in savin_wire::ipv4::fragment(f, mtu) {
                assert!(fr.len() - 14 <= usize::from(mtu));
                assert!(savin_dataplane::ipv4::check(&fr, 14).is_ok());
            }
        }
        // The driver's checksum completion takes any frame.
        let mut copy = f.to_vec();
        savin_io::csum::complete_l4_checksum(&mut copy);
        assert_eq!(copy.len(), f.len());
    }
    let mut p = Pipeline::new(1, 8);
    p.process(&mut batch, t, 0);
    let c = &p.counters;
    assert_eq!(c.forwarded + c.punted + c.total_drops(), batch.len() as u64);
    for &i in &p.tx[0] {
        let f = batch.frame(i as usize);
        let ihl = usize::from(f[14] & 0x0f) * 4;
        assert_eq!(checksum::sum(&f[14..14 + ihl]), 0xffff);
    }
    for &(i, reason) in &p.punt {
        let punted = savin_dataplane::Punted {
            port: 0,
            reason,
            frame: batch.frame(usize::from(i)).to_vec(),
        };
        let _ = punted.for_sockets();
    }
});
