//! Arbitrary bytes as MPEG transport stream datagrams on one stream: each record is a count
//! of 188-byte packets (1-7), a gap in milliseconds, and the packets' bytes (their first byte
//! forced to the sync byte half the time, so headers get past it). Nothing panics, and the
//! figures hold together: counts within the packets seen, the delivery index finite.
#![no_main]

use libfuzzer_sys::fuzz_target;
use savin_monitor::ts::TsStream;
use savin_wire::mpegts::{TsHeader, PACKET_LEN, SYNC_BYTE};

fuzz_target!(|data: &[u8]| {
    let mut s = TsStream::default();
    let mut rest = data;
    let mut at_ns = 1u64;
    let mut seen = 0u64;
    while let [count, gap, tail @ ..] = rest {
        let n = (usize::from(*count % 7) + 1) * PACKET_LEN;
        if tail.len() < n {
            break;
        }
        let mut gram = tail[..n].to_vec();
        if count & 0x80 != 0 {
            for p in gram.chunks_mut(PACKET_LEN) {
                p[0] = SYNC_BYTE;
            }
        }
        for p in gram.chunks(PACKET_LEN) {
            let _ = TsHeader::parse(p);
        }
        at_ns += u64::from(*gap) * 1_000_000;
        s.add(&gram, at_ns);
        seen += (n / PACKET_LEN) as u64;
        rest = &tail[n..];
    }
    let c = s.counters();
    assert_eq!(c.packets, seen);
    assert!(c.cc_errors + c.duplicates + c.transport_errors + c.sync_errors + c.untracked <= seen);
    assert!(c.lost <= 15 * c.cc_errors);
    let m = s.mdi();
    for v in [
        m.df_ms.unwrap_or(0.0),
        m.mlr,
        m.max_df_ms,
        m.max_mlr,
        m.rate_bps,
    ] {
        assert!(v.is_finite() && v >= 0.0, "{m:?}");
    }
});
