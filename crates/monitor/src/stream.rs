//! One RTP stream's statistics, updated packet by packet in fixed-size state (no allocation:
//! the monitor holds thousands of these per core).
//!
//! The figures are the ones `tshark -z rtp,streams` reports, computed the same way so the
//! two agree on the same traffic (RFC 3550 Appendix A.1 and A.8, as Wireshark applies them):
//! - sequence numbers are extended across wraps; `expected` is the span from the lowest to
//!   the highest extended number seen, and `lost` what of it never arrived. Unlike tshark,
//!   a duplicate is counted as a duplicate and not as a received packet, so it does not hide
//!   a loss;
//! - jitter is the RFC 3550 estimator (J += (|D| - J) / 16) in milliseconds, D measured
//!   against the last packet whose timestamp was not behind; the mean and maximum leave out
//!   the packets tshark leaves out (marker, comfort noise and the packet after it, a
//!   timestamp going backwards);
//! - max delta is the longest time between two consecutive arrivals, over the same packets.
//!
//! A jump of more than 3000 sequence numbers that the next packet confirms is a restarted
//! source (RFC 3550 A.1): the statistics start again, and the restart is counted.

use crate::burst::BurstGap;

/// RFC 3550 A.1: a jump this far ahead is not loss.
const MAX_DROPOUT: i64 = 3000;
/// RFC 3550 A.1: this far behind is a late packet, further a jump.
const MAX_MISORDER: i64 = 100;
/// Sequence numbers remembered behind the highest, to tell a duplicate from a late packet.
const WINDOW: i64 = 128;

/// Comfort noise payload types (RFC 3389 and the old G.711 CN).
fn comfort_noise(pt: u8) -> bool {
    pt == 13 || pt == 19
}

/// One packet as the monitor sees it.
#[derive(Debug, Clone, Copy)]
pub struct Packet {
    pub sequence: u16,
    pub timestamp: u32,
    pub payload_type: u8,
    pub marker: bool,
    /// Arrival time, nanoseconds on a monotonic clock.
    pub arrival_ns: u64,
}

/// A stream's figures (what `show services monitor rtp streams` shows).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    /// Packets received, duplicates included.
    pub packets: u64,
    /// Sequence numbers from the lowest to the highest seen.
    pub expected: u64,
    /// Expected and never received (duplicates do not fill a gap).
    pub lost: u64,
    pub duplicates: u64,
    /// Arrived after a higher sequence number.
    pub out_of_order: u64,
    /// Jumps that restarted the stream (RFC 3550 A.1), and packets too far off to count.
    pub sequence_errors: u64,
    /// RFC 3550 jitter now, its mean and maximum, in milliseconds.
    pub jitter_ms: f64,
    pub mean_jitter_ms: f64,
    pub max_jitter_ms: f64,
    /// Longest time between consecutive packets, milliseconds.
    pub max_delta_ms: f64,
}

impl Stats {
    /// Lost as a percentage of expected.
    pub fn loss_percent(&self) -> f64 {
        if self.expected == 0 {
            0.0
        } else {
            self.lost as f64 * 100.0 / self.expected as f64
        }
    }
}

/// The state of one stream. The fields every packet in order reads and writes come first
/// (`repr(C)` keeps the order), so that the monitor asks memory for [`Stream::HOT_BYTES`]
/// of it and not for the counters of losses, reordering and jumps behind them.
#[derive(Debug, Clone)]
#[repr(C)]
pub struct Stream {
    /// Extended sequence numbers: the highest seen (for the extension of the next).
    highest: i64,
    /// The jitter's reference: the last packet whose timestamp was not behind.
    ref_arrival_ns: u64,
    /// Bit i: `highest - i` was received.
    seen: u128,
    last_arrival_ns: u64,
    ref_timestamp: i64,
    /// The timestamp extended across wraps.
    last_timestamp: i64,
    /// Sequence numbers received (a duplicate counts once).
    unique: u64,
    /// Packets the mean jitter is over.
    regular: u64,
    jitter_ms: f64,
    /// The sum of the jitter over the regular packets: the mean without a division a
    /// packet.
    sum_jitter_ms: f64,
    max_jitter_ms: f64,
    max_delta_ns: u64,
    /// Milliseconds per timestamp tick (0: clock rate unknown, no jitter).
    tick_ms: f64,
    last_payload_type: u8,
    started: bool,
    /// Its own hot fields first.
    burst: BurstGap,
    // Cold from here.
    clock_rate: u32,
    /// The last packet of any kind (a stray far off included): the stream is not idle.
    last_seen_ns: u64,
    lowest: i64,
    /// A jump waiting for the packet that confirms it: the number after it, and the
    /// packets counted when it came (the very next packet must confirm it).
    pending_jump: Option<(i64, u64)>,
    duplicates: u64,
    out_of_order: u64,
    sequence_errors: u64,
}

impl Stream {
    /// The leading bytes of a stream that a packet in order touches.
    pub const HOT_BYTES: usize = std::mem::offset_of!(Stream, burst) + BurstGap::HOT_BYTES;

    /// A stream whose timestamps tick at `clock_rate` Hz (0: unknown, no jitter).
    pub fn new(clock_rate: u32) -> Stream {
        Stream {
            highest: 0,
            ref_arrival_ns: 0,
            seen: 0,
            last_arrival_ns: 0,
            ref_timestamp: 0,
            last_timestamp: 0,
            unique: 0,
            regular: 0,
            jitter_ms: 0.0,
            sum_jitter_ms: 0.0,
            max_jitter_ms: 0.0,
            max_delta_ns: 0,
            tick_ms: if clock_rate == 0 {
                0.0
            } else {
                1000.0 / f64::from(clock_rate)
            },
            clock_rate,
            last_seen_ns: 0,
            last_payload_type: 0,
            started: false,
            burst: BurstGap::default(),
            lowest: 0,
            pending_jump: None,
            duplicates: 0,
            out_of_order: 0,
            sequence_errors: 0,
        }
    }

    pub fn stats(&self) -> Stats {
        let expected = if self.started {
            (self.highest - self.lowest + 1) as u64
        } else {
            0
        };
        Stats {
            packets: self.unique + self.duplicates,
            expected,
            lost: expected.saturating_sub(self.unique),
            duplicates: self.duplicates,
            out_of_order: self.out_of_order,
            sequence_errors: self.sequence_errors,
            jitter_ms: self.jitter_ms,
            mean_jitter_ms: if self.regular == 0 || self.tick_ms == 0.0 {
                0.0
            } else {
                self.sum_jitter_ms / self.regular as f64
            },
            max_jitter_ms: self.max_jitter_ms,
            max_delta_ms: self.max_delta_ns as f64 / 1e6,
        }
    }

    pub fn burst(&self) -> &BurstGap {
        &self.burst
    }

    pub fn clock_rate(&self) -> u32 {
        self.clock_rate
    }

    /// The payload type of the last packet.
    pub fn last_payload_type(&self) -> u8 {
        self.last_payload_type
    }

    /// Arrival of the last packet (counted or not), nanoseconds on the monitor's clock.
    pub fn last_arrival_ns(&self) -> u64 {
        self.last_arrival_ns.max(self.last_seen_ns)
    }

    /// A datagram of the stream without an RTP header (a transport stream over bare UDP):
    /// it keeps the stream alive; the RTP figures stay empty.
    pub fn seen_without_rtp(&mut self, arrival_ns: u64) {
        self.last_seen_ns = self.last_seen_ns.max(arrival_ns);
    }

    /// The clock of a stream that had none (its codec learnt late); a known one stays.
    pub fn set_clock_rate(&mut self, clock_rate: u32) {
        if self.clock_rate == 0 && clock_rate != 0 {
            self.clock_rate = clock_rate;
            self.tick_ms = 1000.0 / f64::from(clock_rate);
        }
    }

    /// The sequence number extended to the one nearest the highest so far.
    fn extend_seq(&self, seq: u16) -> i64 {
        let base = self.highest & !0xffff;
        let mut s = base | i64::from(seq);
        if s - self.highest > 0x8000 {
            s -= 0x1_0000;
        } else if self.highest - s > 0x8000 {
            s += 0x1_0000;
        }
        s
    }

    fn extend_ts(&self, ts: u32) -> i64 {
        let base = self.last_timestamp & !0xffff_ffff;
        let mut t = base | i64::from(ts);
        if t - self.last_timestamp > 0x8000_0000 {
            t -= 0x1_0000_0000;
        } else if self.last_timestamp - t > 0x8000_0000 {
            t += 0x1_0000_0000;
        }
        t
    }

    fn restart(&mut self, seq: i64, p: &Packet) {
        *self = Stream {
            sequence_errors: self.sequence_errors,
            ..Stream::new(self.clock_rate)
        };
        self.burst.received();
        self.lowest = seq;
        self.highest = seq;
        self.seen = 1;
        self.unique = 1;
        self.started = true;
        self.ref_arrival_ns = p.arrival_ns;
        self.last_timestamp = i64::from(p.timestamp);
        self.ref_timestamp = self.last_timestamp;
        self.last_arrival_ns = p.arrival_ns;
        self.last_payload_type = p.payload_type;
    }

    /// Takes one packet of the stream.
    pub fn add(&mut self, p: &Packet) {
        if !self.started {
            self.restart(i64::from(p.sequence), p);
            return;
        }
        let seq = self.extend_seq(p.sequence);
        let ahead = seq - self.highest;
        if ahead > MAX_DROPOUT || -ahead > MAX_MISORDER {
            // Too far off: a restarted source if the next packet follows this one.
            let counted = self.unique + self.duplicates + self.sequence_errors;
            self.sequence_errors += 1;
            self.last_seen_ns = p.arrival_ns;
            if self.pending_jump == Some((seq, counted)) {
                self.restart(seq, p);
            } else {
                self.pending_jump = Some((seq + 1, counted + 1));
            }
            return;
        }
        if ahead > 0 {
            if ahead > 1 {
                for _ in 1..ahead {
                    self.burst.lost();
                }
            }
            self.burst.received();
            self.seen = if ahead >= 128 { 0 } else { self.seen << ahead };
            self.seen |= 1;
            self.highest = seq;
            self.unique += 1;
        } else {
            let back = -ahead;
            let bit = if back < WINDOW {
                Some(1u128 << back)
            } else {
                None
            };
            match bit {
                Some(b) if self.seen & b != 0 => {
                    self.duplicates += 1;
                    return self.timing(p, false);
                }
                Some(b) => self.seen |= b,
                None => {}
            }
            self.out_of_order += 1;
            self.unique += 1;
            if seq < self.lowest {
                self.lowest = seq;
            }
        }
        self.timing(p, true);
    }

    /// Jitter and delta, as tshark computes them.
    fn timing(&mut self, p: &Packet, counted: bool) {
        let ts = self.extend_ts(p.timestamp);
        let in_time = ts >= self.ref_timestamp;
        let delta_ns = p.arrival_ns.saturating_sub(self.last_arrival_ns);
        // Multiplications only: a division a packet costs more than the rest of the update.
        let jitter = self.tick_ms != 0.0;
        if jitter {
            let arrival_ms = (p.arrival_ns as f64 - self.ref_arrival_ns as f64) * 1e-6;
            let ts_ms = (ts - self.ref_timestamp) as f64 * self.tick_ms;
            let d = (arrival_ms - ts_ms).abs();
            self.jitter_ms += (d - self.jitter_ms) * (1.0 / 16.0);
        }
        let regular = counted
            && in_time
            && !p.marker
            && !comfort_noise(p.payload_type)
            && !comfort_noise(self.last_payload_type);
        if regular {
            self.regular += 1;
            self.max_delta_ns = self.max_delta_ns.max(delta_ns);
            if jitter {
                self.max_jitter_ms = self.max_jitter_ms.max(self.jitter_ms);
                self.sum_jitter_ms += self.jitter_ms;
            }
        }
        if in_time {
            self.ref_arrival_ns = p.arrival_ns;
            self.ref_timestamp = ts;
        }
        self.last_timestamp = self.last_timestamp.max(ts);
        self.last_arrival_ns = p.arrival_ns;
        self.last_payload_type = p.payload_type;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// G.711 at 20 ms: 160 timestamp units a packet, 8000 Hz.
    fn pkt(seq: u16, n: u32, at_ms: f64) -> Packet {
        Packet {
            sequence: seq,
            timestamp: 1000u32.wrapping_add(n * 160),
            payload_type: 0,
            marker: false,
            arrival_ns: (at_ms * 1e6) as u64,
        }
    }

    #[test]
    fn a_clean_stream_has_no_loss_and_no_jitter() {
        let mut s = Stream::new(8000);
        for i in 0..500u32 {
            s.add(&pkt(
                65_000u16.wrapping_add(i as u16),
                i,
                f64::from(i) * 20.0,
            ));
        }
        let st = s.stats();
        assert_eq!(
            (st.packets, st.expected, st.lost, st.duplicates),
            (500, 500, 0, 0)
        );
        assert!(st.jitter_ms.abs() < 1e-9 && st.max_jitter_ms.abs() < 1e-9);
        assert!((st.max_delta_ms - 20.0).abs() < 1e-6);
    }

    #[test]
    fn loss_reordering_and_duplicates_are_told_apart() {
        let mut s = Stream::new(8000);
        let order = [0u16, 1, 2, 4, 3, 3, 5, 8, 9, 9, 10];
        for (k, &q) in order.iter().enumerate() {
            s.add(&pkt(q, u32::from(q), k as f64 * 20.0));
        }
        let st = s.stats();
        // 0..=10 expected; 6 and 7 never came; 3 and 9 twice; 3 late.
        assert_eq!(st.expected, 11);
        assert_eq!(st.lost, 2);
        assert_eq!(st.duplicates, 2);
        assert_eq!(st.out_of_order, 1);
        assert_eq!(st.packets, 11);
        assert!((st.loss_percent() - 200.0 / 11.0).abs() < 1e-9);
    }

    #[test]
    fn jitter_follows_the_rfc_estimator_in_milliseconds() {
        // Every other packet 4 ms late: |D| alternates 4, 4 (late, then back on time).
        let mut s = Stream::new(8000);
        let mut want = 0.0f64;
        for i in 0..200u32 {
            let late = if i % 2 == 1 { 4.0 } else { 0.0 };
            s.add(&pkt(i as u16, i, f64::from(i) * 20.0 + late));
            if i > 0 {
                want += (4.0 - want) / 16.0;
            }
        }
        let st = s.stats();
        assert!(
            (st.jitter_ms - want).abs() < 1e-6,
            "{} vs {want}",
            st.jitter_ms
        );
        assert!((st.max_jitter_ms - want).abs() < 1e-6);
        assert!((st.max_delta_ms - 24.0).abs() < 1e-6);
    }

    #[test]
    fn a_restarted_source_starts_the_figures_again() {
        let mut s = Stream::new(8000);
        for i in 0..10u16 {
            s.add(&pkt(i, u32::from(i), f64::from(i) * 20.0));
        }
        // One stray packet far ahead: counted as an error, not as 20000 lost.
        s.add(&pkt(20_000, 10, 200.0));
        s.add(&pkt(10, 10, 220.0));
        assert_eq!(s.stats().lost, 0);
        assert_eq!(s.stats().sequence_errors, 1);
        // Two in a row far away: the source restarted.
        s.add(&pkt(40_000, 11, 240.0));
        s.add(&pkt(40_001, 12, 260.0));
        let st = s.stats();
        assert_eq!(
            (st.packets, st.expected, st.lost, st.sequence_errors),
            (1, 1, 0, 3)
        );
    }

    #[test]
    fn marker_and_comfort_noise_stay_out_of_the_maxima() {
        let mut s = Stream::new(8000);
        s.add(&pkt(0, 0, 0.0));
        s.add(&pkt(1, 1, 20.0));
        // Silence: a comfort noise packet 500 ms later, then talk resumes with the marker.
        let mut cn = pkt(2, 2, 520.0);
        cn.payload_type = 13;
        s.add(&cn);
        let mut talk = pkt(3, 30, 620.0);
        talk.marker = true;
        s.add(&talk);
        s.add(&pkt(4, 31, 640.0));
        assert!(
            (s.stats().max_delta_ms - 20.0).abs() < 1e-6,
            "{:?}",
            s.stats()
        );
    }
}
