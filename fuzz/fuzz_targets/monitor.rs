//! A worker's monitor fed hostile UDP: SIP, RTP and MPEG-TS payloads between a few addresses and
//! ports (SIP, a port range, others), measured in batches as the stage measures them, with
//! streams expiring in between. Never a panic; the tables stay within their limits; every
//! stream's figures hold together.
//!
//! Input: records of 4 header bytes (flags and address choice, ports, milliseconds
//! elapsed, payload length) and the payload.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use savin_monitor::table::{Monitor, Settings};

const ADDRS: [[u8; 4]; 4] = [
    [198, 51, 100, 1],
    [198, 51, 100, 2],
    [203, 0, 113, 5],
    [10, 0, 0, 1],
];
const PORTS: [u16; 8] = [5060, 16384, 16385, 16391, 20000, 40000, 49170, 443];

fuzz_target!(|data: &[u8]| {
    let settings = Settings {
        port_ranges: vec![16384..=16391],
        max_streams: 8,
        max_calls: 4,
        history: 3,
        idle_ms: 100,
        ..Settings::default()
    };
    let mut m = Monitor::new(settings);
    let mut batch = Vec::new();
    let mut now_us = 0u64;
    let mut rest = data;
    while rest.len() >= 4 {
        let (h, tail) = rest.split_at(4);
        let len = usize::from(h[3]).min(tail.len());
        let (payload, tail) = tail.split_at(len);
        rest = tail;
        now_us += u64::from(h[2]) * 1000;
        let src = (
            IpAddr::from(ADDRS[usize::from(h[0] & 3)]),
            PORTS[usize::from(h[1] & 7)],
        );
        let dst = (
            IpAddr::from(ADDRS[usize::from((h[0] >> 2) & 3)]),
            PORTS[usize::from((h[1] >> 3) & 7)],
        );
        if let Some(p) = m.classify(src, dst, payload, now_us) {
            batch.push(p);
        }
        if h[0] & 0x10 != 0 || batch.len() == 256 {
            m.apply(&mut batch, now_us / 1000);
            batch.clear();
        }
        if h[0] & 0x20 != 0 {
            m.expire(now_us / 1000);
        }
        assert!(m.streams().count() <= 8 && m.calls() <= 4 && m.ended().count() <= 3);
    }
    m.apply(&mut batch, now_us / 1000);
    for (_, e) in m.streams().chain(m.ended().map(|(k, e)| (k, e))) {
        let st = e.stream.stats();
        // A transport stream over bare UDP has no RTP figures, only its TS state.
        assert!(st.packets >= 1 || e.ts.is_some(), "{st:?}");
        assert!(st.lost <= st.expected, "{st:?}");
        assert!(st.jitter_ms.is_finite() && st.mean_jitter_ms.is_finite());
        let _ = e.quality(true);
    }
});
