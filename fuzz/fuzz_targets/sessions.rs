//! Arbitrary TCP headers into the parser and the tracker, with sessions created, tracked,
//! removed and expired in any order: never a panic, and the table never exceeds its capacity.
#![no_main]

use libfuzzer_sys::fuzz_target;
use savin_session::{Dir, FlowKey, SessionConfig, SessionTable, TcpSeg};

fuzz_target!(|data: &[u8]| {
    let mut t = SessionTable::new(
        SessionConfig {
            capacity: 16,
            ..SessionConfig::default()
        },
        0,
    );
    let mut now = 0u64;
    for chunk in data.chunks(24).take(256) {
        if chunk.len() < 4 {
            break;
        }
        let k = FlowKey {
            src: u32::from(chunk[0] & 7),
            dst: 9,
            sport: u16::from(chunk[1] & 7),
            dport: 80,
            proto: [6, 17, 1][usize::from(chunk[2]) % 3],
        };
        let seg = TcpSeg::parse(&chunk[4..], chunk.len() as u32);
        let tcp = if k.proto == 6 { seg.as_ref() } else { None };
        match chunk[3] % 5 {
            0 | 1 => {
                let _ = t.create(k, k.reversed(), 0, None, tcp, 60, now);
            }
            2 => {
                if let Some((id, dir)) = t.lookup(&k).or_else(|| t.lookup(&k.reversed())) {
                    let _ = t.track(id, dir, tcp, 60, now);
                    let _ = t.track(id, Dir::Reverse, tcp, 60, now);
                }
            }
            3 => {
                if let Some((id, _)) = t.lookup(&k) {
                    t.remove(id);
                }
            }
            _ => {
                now += u64::from(chunk[2]) * 500;
                t.tick_bounded(now, usize::from(chunk[1]));
            }
        }
        assert!(t.len() <= 16);
    }
});
