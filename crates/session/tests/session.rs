//! Sessions: both directions found, TCP state and window, SYN check, timeouts on an injected
//! clock, the capacity limit, and the index against a map under random churn.

use std::collections::HashMap;

use proptest::prelude::*;
use savin_session::{
    Dir, FlowKey, SessionConfig, SessionTable, State, TcpSeg, Timeouts, TrackError,
};

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;
const RST: u8 = 0x04;

fn key(sport: u16) -> FlowKey {
    FlowKey {
        src: 0x0a00_0102,
        dst: 0x0a00_0202,
        sport,
        dport: 80,
        proto: 6,
    }
}

fn seg(flags: u8, seq: u32, ack: u32, win: u16, len: u32) -> TcpSeg {
    TcpSeg {
        flags,
        seq,
        ack,
        win,
        wscale: None,
        len,
    }
}

/// A handshake as Linux does it (window scaling 7 both ways), then data each way.
fn handshake(t: &mut SessionTable, k: FlowKey, now: u64) -> u32 {
    let syn = TcpSeg {
        wscale: Some(7),
        ..seg(SYN, 1000, 0, 64240, 0)
    };
    let id = t
        .create(k, k.reversed(), 7, None, Some(&syn), 60, now)
        .unwrap();
    let synack = TcpSeg {
        wscale: Some(7),
        ..seg(SYN | ACK, 5000, 1001, 65160, 0)
    };
    assert_eq!(t.lookup(&k.reversed()), Some((id, Dir::Reverse)));
    t.track(id, Dir::Reverse, Some(&synack), 60, now).unwrap();
    t.track(
        id,
        Dir::Forward,
        Some(&seg(ACK, 1001, 5001, 502, 0)),
        52,
        now,
    )
    .unwrap();
    assert_eq!(t.info(id, now).unwrap().state, State::Established);
    // 30 kB of data forward (inside 502 << 7), acknowledged.
    t.track(
        id,
        Dir::Forward,
        Some(&seg(ACK, 1001, 5001, 502, 30_000)),
        30_052,
        now,
    )
    .unwrap();
    t.track(
        id,
        Dir::Reverse,
        Some(&seg(ACK, 5001, 31_001, 1000, 0)),
        52,
        now,
    )
    .unwrap();
    id
}

#[test]
fn a_tcp_session_tracks_handshake_data_and_close_and_refuses_what_is_outside_the_window() {
    let mut t = SessionTable::new(SessionConfig::default(), 0);
    let k = key(40000);
    let id = handshake(&mut t, k, 0);
    assert_eq!(t.lookup(&k), Some((id, Dir::Forward)));
    // Far beyond what the server advertised: refused, counted, nothing changes.
    let far = seg(ACK, 31_001 + 10_000_000, 5001, 502, 100);
    assert_eq!(
        t.track(id, Dir::Forward, Some(&far), 152, 0),
        Err(TrackError::Window)
    );
    // Acknowledging data the server never sent: refused.
    let bad_ack = seg(ACK, 31_001, 900_000, 502, 0);
    assert_eq!(
        t.track(id, Dir::Forward, Some(&bad_ack), 52, 0),
        Err(TrackError::Window)
    );
    assert_eq!(t.counters().window, 2);
    let i = t.info(id, 0).unwrap();
    assert_eq!(i.packets, [3, 2]);
    // Close: FIN each way, then the session lingers 2 s.
    t.track(
        id,
        Dir::Forward,
        Some(&seg(FIN | ACK, 31_001, 5001, 502, 0)),
        52,
        0,
    )
    .unwrap();
    assert_eq!(t.info(id, 0).unwrap().state, State::Closing);
    t.track(
        id,
        Dir::Reverse,
        Some(&seg(FIN | ACK, 5001, 31_002, 1000, 0)),
        52,
        0,
    )
    .unwrap();
    assert_eq!(t.info(id, 0).unwrap().state, State::Closed);
    assert_eq!(t.tick(1_999), 0);
    assert_eq!(t.tick(2_000), 1);
    assert_eq!(t.lookup(&k), None);
    assert_eq!(t.lookup(&k.reversed()), None);
    assert!(t.is_empty());
}

#[test]
fn without_the_sequence_check_out_of_window_segments_pass() {
    let cfg = SessionConfig {
        sequence_check: false,
        ..SessionConfig::default()
    };
    let mut t = SessionTable::new(cfg, 0);
    let id = handshake(&mut t, key(1), 0);
    let far = seg(ACK, 10_000_000, 5001, 502, 100);
    assert_eq!(t.track(id, Dir::Forward, Some(&far), 152, 0), Ok(()));
}

#[test]
fn a_new_tcp_session_needs_a_syn_unless_the_check_is_off() {
    let mut t = SessionTable::new(SessionConfig::default(), 0);
    let k = key(2);
    let ack = seg(ACK, 1, 1, 100, 0);
    assert_eq!(
        t.create(k, k.reversed(), 0, None, Some(&ack), 52, 0),
        Err(TrackError::NotSyn)
    );
    let synack = seg(SYN | ACK, 1, 1, 100, 0);
    assert_eq!(
        t.create(k, k.reversed(), 0, None, Some(&synack), 52, 0),
        Err(TrackError::NotSyn)
    );
    assert_eq!(t.counters().not_syn, 2);
    assert!(t.is_empty());
    let mut t = SessionTable::new(
        SessionConfig {
            syn_check: false,
            ..SessionConfig::default()
        },
        0,
    );
    let id = t
        .create(k, k.reversed(), 0, None, Some(&ack), 52, 0)
        .unwrap();
    // Mid-stream: the window was never learnt, so any segment passes.
    t.track(id, Dir::Reverse, Some(&seg(ACK, 77, 1, 100, 10)), 62, 0)
        .unwrap();
    t.track(
        id,
        Dir::Forward,
        Some(&seg(ACK, 9_999_999, 87, 100, 10)),
        62,
        0,
    )
    .unwrap();
    assert_eq!(t.info(id, 0).unwrap().state, State::Established);
}

#[test]
fn idle_timeouts_expire_sessions_on_the_injected_clock_and_traffic_refreshes_them() {
    let mut t = SessionTable::new(SessionConfig::default(), 5_000);
    let udp = FlowKey {
        proto: 17,
        ..key(53)
    };
    let id = t
        .create(udp, udp.reversed(), 1, None, None, 80, 5_000)
        .unwrap();
    assert_eq!(t.tick(5_000 + 59_000), 0);
    // A reply at 50 s restarts the 60 s.
    t.track(id, Dir::Reverse, None, 120, 5_000 + 50_000)
        .unwrap();
    assert_eq!(t.tick(5_000 + 100_000), 0, "refreshed at 50 s");
    assert_eq!(t.info(id, 5_000 + 100_000).unwrap().remaining, 10);
    assert_eq!(t.tick(5_000 + 110_000), 1);
    assert_eq!(t.lookup(&udp), None);
    // TCP that never finishes its handshake: 20 s.
    let syn = seg(SYN, 1, 0, 100, 0);
    t.create(key(3), key(3).reversed(), 0, None, Some(&syn), 60, 200_000)
        .unwrap();
    assert_eq!(t.tick(219_000), 0);
    assert_eq!(t.tick(220_000), 1);
    // An application's own timeout (established TCP here): 3600 s, beyond the wheel's span.
    let id = t
        .create(
            key(4),
            key(4).reversed(),
            0,
            Some(3600),
            Some(&syn),
            60,
            300_000,
        )
        .unwrap();
    t.track(
        id,
        Dir::Reverse,
        Some(&seg(SYN | ACK, 50, 2, 100, 0)),
        60,
        300_000,
    )
    .unwrap();
    t.track(
        id,
        Dir::Forward,
        Some(&seg(ACK, 2, 51, 100, 0)),
        60,
        300_000,
    )
    .unwrap();
    for s in (301..3_900).step_by(7) {
        assert_eq!(t.tick(s * 1000), 0, "at {s} s");
    }
    assert_eq!(t.tick(3_900_000), 1);
    // A RST closes at once: 2 s, whatever the application's timeout.
    let id = t
        .create(
            key(5),
            key(5).reversed(),
            0,
            Some(3600),
            Some(&syn),
            60,
            4_000_000,
        )
        .unwrap();
    t.track(
        id,
        Dir::Reverse,
        Some(&seg(RST | ACK, 0, 2, 0, 0)),
        60,
        4_000_000,
    )
    .unwrap();
    assert_eq!(t.tick(4_001_000), 0);
    assert_eq!(t.tick(4_002_000), 1);
    assert_eq!(t.counters().expired, 4);
}

#[test]
fn a_full_table_refuses_and_counts_and_a_reply_key_after_nat_finds_the_session() {
    let mut t = SessionTable::new(
        SessionConfig {
            capacity: 2,
            timeouts: Timeouts::default(),
            ..SessionConfig::default()
        },
        0,
    );
    let syn = seg(SYN, 1, 0, 100, 0);
    // Source NAT: the reply comes back to the pool address 192.0.2.1 port 1024.
    let k = key(10);
    let reply = FlowKey {
        src: k.dst,
        dst: 0xc000_0201,
        sport: 80,
        dport: 1024,
        proto: 6,
    };
    let id = t.create(k, reply, 0, None, Some(&syn), 60, 0).unwrap();
    assert_eq!(t.lookup(&reply), Some((id, Dir::Reverse)));
    assert_eq!(t.lookup(&k.reversed()), None);
    assert_eq!(
        t.create(k, k.reversed(), 0, None, Some(&syn), 60, 0),
        Err(TrackError::Exists)
    );
    t.create(key(11), key(11).reversed(), 0, None, Some(&syn), 60, 0)
        .unwrap();
    assert_eq!(
        t.create(key(12), key(12).reversed(), 0, None, Some(&syn), 60, 0),
        Err(TrackError::Full)
    );
    assert_eq!(t.counters().full, 1);
    assert!(t.remove(id));
    t.create(key(12), key(12).reversed(), 0, None, Some(&syn), 60, 0)
        .unwrap();
    let big = SessionTable::new(SessionConfig::default(), 0);
    assert!(
        big.bytes_per_session() <= 256,
        "{}",
        big.bytes_per_session()
    );
}

proptest! {
    /// Under random creates, removals and time passing, every key finds exactly the session
    /// a plain map says it should.
    #[test]
    fn the_index_agrees_with_a_map_under_churn(ops in prop::collection::vec((0u8..4, 0u16..64, 0u64..90), 1..400)) {
        let mut t = SessionTable::new(SessionConfig { capacity: 40, ..SessionConfig::default() }, 0);
        let mut model: HashMap<FlowKey, (u32, u64)> = HashMap::new();
        let mut now = 0u64;
        for (op, port, dt) in ops {
            let k = FlowKey { proto: 17, ..key(port) };
            match op {
                0 | 1 => {
                    let r = t.create(k, k.reversed(), 0, None, None, 10, now);
                    match r {
                        Ok(id) => { model.insert(k, (id, now)); }
                        Err(TrackError::Exists) => prop_assert!(model.contains_key(&k)),
                        Err(TrackError::Full) => prop_assert_eq!(model.len(), 40),
                        Err(e) => prop_assert!(false, "{:?}", e),
                    }
                }
                2 => {
                    if let Some((id, _)) = model.remove(&k) {
                        prop_assert!(t.remove(id));
                    }
                }
                _ => {
                    now += dt * 1000;
                    t.tick(now);
                    model.retain(|_, (_, at)| now < *at + 60_000);
                }
            }
            prop_assert_eq!(t.len(), model.len());
            for (k, (id, _)) in &model {
                prop_assert_eq!(t.lookup(k), Some((*id, Dir::Forward)));
                prop_assert_eq!(t.lookup(&k.reversed()), Some((*id, Dir::Reverse)));
            }
        }
    }
}

#[test]
fn expiry_in_bounded_steps_loses_no_session_and_keeps_later_ones() {
    let mut t = SessionTable::new(SessionConfig::default(), 0);
    for p in 0..1000u16 {
        let k = FlowKey {
            proto: 17,
            ..key(p)
        };
        t.create(k, k.reversed(), 0, None, None, 10, 0).unwrap();
    }
    // One more, refreshed later: it must survive the sweep.
    let keep = FlowKey {
        proto: 17,
        ..key(5000)
    };
    let id = t
        .create(keep, keep.reversed(), 0, None, None, 10, 0)
        .unwrap();
    t.track(id, Dir::Reverse, None, 10, 50_000).unwrap();
    let mut steps = 0;
    let mut expired = 0;
    while t.len() > 1 {
        let n = t.tick_bounded(61_000, 64);
        assert!(n <= 64, "{n}");
        expired += n;
        steps += 1;
        assert!(steps < 100, "no progress");
    }
    assert_eq!(expired, 1000);
    assert!(steps >= 16, "{steps} steps of at most 64");
    assert_eq!(t.lookup(&keep), Some((id, Dir::Forward)));
    assert_eq!(t.tick(110_000), 1);
}

#[test]
fn a_session_translates_only_when_its_keys_are_not_mirror_images() {
    let mut t = SessionTable::new(SessionConfig::default(), 0);
    let k = FlowKey {
        proto: 17,
        ..key(5000)
    };
    let plain = t.create(k, k.reversed(), 0, None, None, 64, 0).unwrap();
    let k2 = FlowKey {
        proto: 17,
        ..key(5001)
    };
    let natted = FlowKey {
        dst: 0xcb00_710a,
        dport: 20000,
        ..k2.reversed()
    };
    let nat = t.create(k2, natted, 0, None, None, 64, 0).unwrap();
    for d in [Dir::Forward, Dir::Reverse] {
        assert!(!t.translates(plain, d));
        assert!(t.translates(nat, d));
        assert_eq!(t.translation(plain, d), None);
        assert_eq!(t.translation(nat, d), Some(t.translated(nat, d)));
        assert_eq!(t.translated(plain, d), t.key(plain, d));
    }
    assert_eq!(t.translated(nat, Dir::Forward).src, 0xcb00_710a);
    assert_eq!(t.translated(nat, Dir::Forward).sport, 20000);
    assert_eq!(t.translated(nat, Dir::Reverse).dst, k2.src);
}

#[test]
fn a_syn_on_a_closed_session_asks_for_a_new_one_and_the_old_slot_waits_for_the_batch_end() {
    let mut t = SessionTable::new(SessionConfig::default(), 0);
    let k = key(40001);
    let id = handshake(&mut t, k, 0);
    // Open: a SYN from the client is no new connection (out of window), and from the server
    // side never is.
    let syn = seg(SYN, 123_456_789, 0, 64240, 0);
    assert_eq!(
        t.track(id, Dir::Forward, Some(&syn), 60, 0),
        Err(TrackError::Window)
    );
    t.track(
        id,
        Dir::Forward,
        Some(&seg(RST | ACK, 31_001, 5001, 502, 0)),
        52,
        0,
    )
    .unwrap();
    assert_eq!(t.info(id, 0).unwrap().state, State::Closed);
    assert_ne!(
        t.track(id, Dir::Reverse, Some(&syn), 60, 0),
        Err(TrackError::Reopen)
    );
    // Closed: the client's SYN reopens, whatever its sequence number.
    assert_eq!(
        t.track(id, Dir::Forward, Some(&syn), 60, 0),
        Err(TrackError::Reopen)
    );
    t.mark(id, false, true);
    t.retire(id);
    assert_eq!(t.counters().reopened, 1);
    assert_eq!(t.lookup(&k), None);
    assert_eq!(t.lookup(&k.reversed()), None);
    assert!(t.is_empty());
    let mut gone = Vec::new();
    t.take_freed(|g| gone.push(g));
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].reason, savin_session::CloseReason::Rst);
    // The new session takes the tuple; the retired slot is not given out before the tick
    // (a packet of the same batch may still name it).
    let new = t
        .create(k, k.reversed(), 7, None, Some(&syn), 60, 0)
        .unwrap();
    assert_ne!(new, id);
    assert_eq!(t.lookup(&k), Some((new, Dir::Forward)));
    assert_eq!(t.len(), 1);
    t.tick(0);
    assert_eq!(t.len(), 1);
    let third = t
        .create(
            key(40002),
            key(40002).reversed(),
            7,
            None,
            Some(&syn),
            60,
            0,
        )
        .unwrap();
    assert_eq!(third, id, "the released slot is the next one given out");
    assert_eq!(t.lookup(&k), Some((new, Dir::Forward)));
}

#[test]
fn before_the_syn_ack_a_segment_of_an_older_connection_is_refused_and_leaves_no_trace() {
    let mut t = SessionTable::new(SessionConfig::default(), 0);
    let k = key(40003);
    let syn = TcpSeg {
        wscale: Some(7),
        ..seg(SYN, 3_261_785_379, 0, 64240, 0)
    };
    let id = t
        .create(k, k.reversed(), 7, None, Some(&syn), 60, 0)
        .unwrap();
    // The server's FIN of the connection the tuple had before (its sequence space, an ack
    // of the old client's): refused, and not taken as the server's first view.
    let old_fin = seg(FIN | ACK, 3_882_925_713, 3_245_798_091, 502, 0);
    assert_eq!(
        t.track(id, Dir::Reverse, Some(&old_fin), 52, 0),
        Err(TrackError::Window)
    );
    let synack = TcpSeg {
        wscale: Some(7),
        ..seg(SYN | ACK, 3_898_913_079, 3_261_785_380, 65160, 0)
    };
    assert_eq!(t.track(id, Dir::Reverse, Some(&synack), 60, 0), Ok(()));
    t.track(
        id,
        Dir::Forward,
        Some(&seg(ACK, 3_261_785_380, 3_898_913_080, 502, 0)),
        52,
        0,
    )
    .unwrap();
    assert_eq!(t.info(id, 0).unwrap().state, State::Established);
}

#[test]
fn an_ipv6_flow_key_reverses_as_an_ipv4_one_does() {
    let k: FlowKey<u128> = FlowKey {
        src: u128::from("2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap()),
        dst: u128::from("2001:db8::2".parse::<std::net::Ipv6Addr>().unwrap()),
        sport: 40000,
        dport: 443,
        proto: 6,
    };
    let r = k.reversed();
    assert_eq!(
        (r.src, r.dst, r.sport, r.dport, r.proto),
        (k.dst, k.src, 443, 40000, 6)
    );
    assert_eq!(r.reversed(), k);
}
