//! Arbitrary text into the ClassBench parser, and arbitrary rules and headers (from raw
//! bytes) into the classifier: never a panic, and the classifier always agrees with the
//! linear first-match scan.
#![no_main]

use libfuzzer_sys::fuzz_target;
use savin_classify::{parse_classbench, Classifier, Header, Linear, PortRange, Prefix, Rule};

fn u32_at(d: &[u8], i: usize) -> u32 {
    let mut b = [0u8; 4];
    for (j, x) in b.iter_mut().enumerate() {
        *x = d.get(i + j).copied().unwrap_or(0);
    }
    u32::from_be_bytes(b)
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_classbench(text);
    }
    // 16 bytes a rule: src, dst (with lengths from their low bits), two port ranges, protocol.
    let rules: Vec<Rule> = data
        .chunks_exact(16)
        .take(64)
        .map(|c| {
            let (s, d) = (u32_at(c, 0), u32_at(c, 4));
            let range = |a: u8, b: u8| {
                let (lo, hi) = (u16::from(a.min(b)) * 257, u16::from(a.max(b)) * 257);
                PortRange { lo, hi }
            };
            Rule {
                src: Prefix::new(s & !0x3f, (s & 0x3f) as u8 % 33),
                dst: Prefix::new(d & !0x3f, (d & 0x3f) as u8 % 33),
                sport: range(c[8], c[9]),
                dport: range(c[10], c[11]),
                proto: (c[12] & 1 == 1).then_some(c[13] % 3 * 11),
            }
        })
        .collect();
    let c = Classifier::new(&rules);
    let l = Linear::new(&rules);
    for w in data.chunks_exact(13).take(64) {
        let h = Header {
            src: u32_at(w, 0),
            dst: u32_at(w, 4),
            sport: u16::from(w[8]) * 257,
            dport: u16::from(w[9]) * 257,
            proto: w[10] % 3 * 11,
        };
        assert_eq!(c.classify(&h), l.classify(&h));
    }
});
