//! Arbitrary bytes as RTP packets on one stream: each record is a length byte, a gap in
//! milliseconds and that many bytes of UDP payload. Headers that do not parse are counted
//! apart; those that do feed the stream. Nothing panics, and the figures stay consistent
//! (loss within what was expected, finite jitter, burst metrics in range, a MOS in 1..4.5).
#![no_main]

use libfuzzer_sys::fuzz_target;
use savin_monitor::codec::Codec;
use savin_monitor::emodel;
use savin_monitor::stream::{Packet, Stream};
use savin_wire::rtp::Header;

fuzz_target!(|data: &[u8]| {
    let Some((&rate, mut rest)) = data.split_first() else {
        return;
    };
    let clock = [0u32, 8000, 16000, 48000, 90000][usize::from(rate % 5)];
    let mut s = Stream::new(clock);
    let mut at_ns = 0u64;
    while let [len, gap, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        at_ns += u64::from(*gap) * 1_000_000;
        if let Ok(h) = Header::parse(&tail[..n]) {
            s.add(&Packet {
                sequence: h.sequence,
                timestamp: h.timestamp,
                payload_type: h.payload_type,
                marker: h.marker,
                arrival_ns: at_ns,
            });
        }
        rest = &tail[n..];
    }
    let st = s.stats();
    assert!(st.lost <= st.expected);
    assert!(
        st.jitter_ms.is_finite() && st.max_jitter_ms.is_finite() && st.max_delta_ms.is_finite()
    );
    let m = s.burst().metrics();
    for f in [m.burst_density, m.gap_density] {
        assert!((0.0..=1.0).contains(&f), "{m:?}");
    }
    let r = s.burst().burst_ratio();
    assert!(r.is_finite() && r >= 1.0);
    if let Some(imp) = Codec::of_static(0).and_then(|c| c.impairment) {
        let q = emodel::quality(imp, st.loss_percent(), r, Some(f64::from(rate) * 3.0));
        assert!((1.0..=4.5).contains(&q.mos_cq) && q.mos_cq <= q.mos_lq);
    }
});
