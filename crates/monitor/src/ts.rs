//! Video carried as an MPEG-2 transport stream (over UDP, or over RTP as RFC 2250's payload
//! type 33): continuity-counter errors per PID (ISO/IEC 13818-1 §2.4.3.3, the first check of
//! ETSI TR 101 290's priority 1) and RFC 4445's Media Delivery Index, DF:MLR, per interval.
//!
//! Fixed size per stream: a program carries a handful of PIDs (PAT, PMT, video, audio, PCR);
//! the first [`MAX_PIDS`] are followed and packets of others only counted.

use savin_wire::mpegts::{TsError, TsHeader, NULL_PID, PACKET_LEN};

/// PIDs followed per stream.
pub const MAX_PIDS: usize = 16;
/// RFC 4445's measurement interval (its examples use one second).
pub const MDI_INTERVAL_NS: u64 = 1_000_000_000;

/// A followed PID: its last continuity counter.
#[derive(Debug, Clone, Copy, Default)]
struct Pid {
    pid: u16,
    cc: u8,
    used: bool,
    /// The last packet repeated the one before (a second repeat is an error).
    duplicate: bool,
}

/// Counts over a stream's life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TsCounters {
    /// Transport stream packets (188 bytes each).
    pub packets: u64,
    /// Continuity-counter errors (a gap, or a counter repeated more than once).
    pub cc_errors: u64,
    /// Packets missing by the counters' gaps (a gap of 16 or more is not seen).
    pub lost: u64,
    /// Packets sent twice, as the standard allows once.
    pub duplicates: u64,
    /// Packets whose transport error indicator is set.
    pub transport_errors: u64,
    /// 188-byte units that do not start with the sync byte, or whose adaptation field
    /// runs past them.
    pub sync_errors: u64,
    /// Packets of PIDs past the first [`MAX_PIDS`] (not checked).
    pub untracked: u64,
}

/// RFC 4445 §3's virtual buffer over the current interval, and the last intervals' DF:MLR.
#[derive(Debug, Clone, Copy, Default)]
struct Mdi {
    /// Start of the current interval (its first packet's arrival); 0: none yet.
    start_ns: u64,
    /// Bytes received in the interval so far.
    bytes: u64,
    /// Lowest VB before a packet and highest after one, in bytes (may be negative: the
    /// buffer drains from the interval's start).
    vb_min: f64,
    vb_max: f64,
    /// Packets lost (by the counters) in the interval.
    lost: u64,
    /// The media rate the buffer drains at, bytes per ns: the previous interval's average
    /// (RFC 4445 wants the nominal rate; a constant-rate stream's average is that).
    rate: f64,
}

/// The last complete interval's index and the worst of the stream's life.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MdiView {
    /// Delay factor of the last interval, ms (None before a rate is known: the first
    /// interval only measures it).
    pub df_ms: Option<f64>,
    /// Media loss rate of the last interval: packets lost per second.
    pub mlr: f64,
    pub max_df_ms: f64,
    pub max_mlr: f64,
    /// Intervals completed.
    pub intervals: u64,
    /// Media rate measured over the last interval, bits per second.
    pub rate_bps: f64,
}

impl MdiView {
    /// The last interval's media loss rate, once an interval has completed.
    pub fn last_mlr(&self) -> Option<f64> {
        (self.intervals > 0).then_some(self.mlr)
    }
}

/// One transport stream's state.
#[derive(Debug, Clone, Default)]
pub struct TsStream {
    pids: [Pid; MAX_PIDS],
    counters: TsCounters,
    mdi: Mdi,
    view: MdiView,
}

impl TsStream {
    pub fn counters(&self) -> &TsCounters {
        &self.counters
    }

    pub fn mdi(&self) -> &MdiView {
        &self.view
    }

    /// One datagram's transport stream packets (`payload`: a whole number of them), which
    /// arrived at `arrival_ns`.
    pub fn add(&mut self, payload: &[u8], arrival_ns: u64) {
        self.interval(arrival_ns);
        let lost_before = self.counters.lost;
        for p in payload.chunks(PACKET_LEN) {
            self.packet(p);
        }
        self.mdi.lost += self.counters.lost - lost_before;
        // RFC 4445: VB(pre) before the packet counts, VB(post) after it.
        let m = &mut self.mdi;
        let drained = m.rate * arrival_ns.saturating_sub(m.start_ns) as f64;
        let pre = m.bytes as f64 - drained;
        m.bytes += payload.len() as u64;
        let post = m.bytes as f64 - drained;
        m.vb_min = m.vb_min.min(pre);
        m.vb_max = m.vb_max.max(post);
    }

    /// Closes the interval `arrival_ns` falls past, and opens the next at it.
    fn interval(&mut self, arrival_ns: u64) {
        let m = &mut self.mdi;
        if m.start_ns != 0 && arrival_ns < m.start_ns + MDI_INTERVAL_NS {
            return;
        }
        if m.start_ns != 0 {
            // The interval ran its nominal length (a longer silence is not media rate).
            let secs = MDI_INTERVAL_NS as f64 / 1e9;
            let v = &mut self.view;
            v.df_ms = (m.rate > 0.0).then(|| (m.vb_max - m.vb_min) / m.rate / 1e6);
            v.mlr = m.lost as f64 / secs;
            v.max_df_ms = v.max_df_ms.max(v.df_ms.unwrap_or(0.0));
            v.max_mlr = v.max_mlr.max(v.mlr);
            v.intervals += 1;
            // After a silence of a whole interval or more the stream's average says nothing
            // of its media rate: the next interval measures it again (no DF for it).
            m.rate = if arrival_ns >= m.start_ns + 2 * MDI_INTERVAL_NS {
                0.0
            } else {
                m.bytes as f64 / MDI_INTERVAL_NS as f64
            };
            v.rate_bps = m.rate * 8e9;
        }
        *m = Mdi {
            start_ns: arrival_ns.max(1),
            rate: m.rate,
            vb_min: 0.0,
            vb_max: 0.0,
            ..Mdi::default()
        };
    }

    fn packet(&mut self, b: &[u8]) {
        self.counters.packets += 1;
        let h = match TsHeader::parse(b) {
            Ok(h) => h,
            Err(TsError::Sync | TsError::AdaptationLength | TsError::Truncated) => {
                self.counters.sync_errors += 1;
                return;
            }
        };
        if h.transport_error {
            // Its header cannot be trusted, the PID included.
            self.counters.transport_errors += 1;
            return;
        }
        // Stuffing and reserved control carry no counter.
        if h.pid == NULL_PID || h.adaptation_control == 0 {
            return;
        }
        let Some(i) = self.pid_slot(h.pid) else {
            self.counters.untracked += 1;
            return;
        };
        let p = &mut self.pids[i];
        if !p.used {
            *p = Pid {
                pid: h.pid,
                cc: h.continuity_counter,
                used: true,
                duplicate: false,
            };
            return;
        }
        let cc = h.continuity_counter;
        if !h.has_payload() {
            // The counter does not advance without a payload; a different one is an error
            // (the packets with payloads between were lost) unless the discontinuity
            // indicator says otherwise.
            if cc != p.cc {
                if !h.discontinuity {
                    self.counters.cc_errors += 1;
                    self.counters.lost += u64::from(cc.wrapping_sub(p.cc) & 0x0f);
                }
                p.cc = cc;
            }
            return;
        }
        let expected = (p.cc + 1) & 0x0f;
        if h.discontinuity || cc == expected {
            p.duplicate = false;
        } else if cc == p.cc && !p.duplicate {
            p.duplicate = true;
            self.counters.duplicates += 1;
        } else if cc == p.cc {
            // Sent a third time: an error, but nothing is missing.
            self.counters.cc_errors += 1;
        } else {
            self.counters.cc_errors += 1;
            self.counters.lost += u64::from(cc.wrapping_sub(expected) & 0x0f);
            p.duplicate = false;
        }
        p.cc = cc;
    }

    /// The slot of `pid`: its own, else a free one; None when all are taken by others.
    fn pid_slot(&self, pid: u16) -> Option<usize> {
        let mut free = None;
        for (i, p) in self.pids.iter().enumerate() {
            if p.used && p.pid == pid {
                return Some(i);
            }
            if !p.used && free.is_none() {
                free = Some(i);
            }
        }
        free
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use savin_wire::mpegts::put_packet;

    fn packet(pid: u16, cc: u8) -> Vec<u8> {
        datagram(&[(pid, cc)])
    }

    fn datagram(pkts: &[(u16, u8)]) -> Vec<u8> {
        let mut d = Vec::new();
        for &(pid, cc) in pkts {
            put_packet(&mut d, pid, 0b01, cc, &[]);
        }
        d
    }

    #[test]
    fn counter_gaps_count_the_packets_missing() {
        let mut s = TsStream::default();
        s.add(&datagram(&[(0x100, 0), (0x100, 1), (0x101, 5)]), 1);
        // 0x100 skips 2, 3, 4; 0x101 wraps 15 -> 0 cleanly after 6..=15 are missing.
        s.add(&datagram(&[(0x100, 5), (0x101, 0)]), 2);
        let c = s.counters();
        assert_eq!(c.packets, 5);
        assert_eq!(c.cc_errors, 2);
        assert_eq!(c.lost, 3 + 10);
    }

    #[test]
    fn one_repeat_is_a_duplicate_and_a_second_is_an_error() {
        let mut s = TsStream::default();
        s.add(&datagram(&[(0x100, 3), (0x100, 3)]), 1);
        assert_eq!((s.counters().duplicates, s.counters().cc_errors), (1, 0));
        s.add(&datagram(&[(0x100, 3)]), 2);
        assert_eq!((s.counters().cc_errors, s.counters().lost), (1, 0));
    }

    #[test]
    fn a_discontinuity_on_a_packet_without_payload_moves_the_counter() {
        let mut s = TsStream::default();
        let mut splice = packet(0x100, 9);
        splice[3] = 0x20 | 9;
        splice[4] = 183;
        splice[5] = 0x80;
        let mut bytes = datagram(&[(0x100, 0)]);
        bytes.extend_from_slice(&splice);
        bytes.extend(datagram(&[(0x100, 10)]));
        s.add(&bytes, 1);
        assert_eq!((s.counters().cc_errors, s.counters().lost), (0, 0));
    }

    /// A stream that pauses for seconds: the interval it comes back in has no rate to drain
    /// at (the average over the pause is not the media rate), so no absurd DF.
    #[test]
    fn a_pause_does_not_make_an_absurd_delay_factor() {
        let d = datagram(&[(0x100, 0); 7]);
        let ms = 1_000_000u64;
        let mut s = TsStream::default();
        let mut t = 1_000 * ms;
        for _ in 0..220 {
            s.add(&d, t);
            t += 5 * ms;
        }
        // 5 s of silence 0.1 s into the second interval, then 2 s of the same rate.
        t += 5_000 * ms;
        for _ in 0..400 {
            s.add(&d, t);
            t += 5 * ms;
        }
        s.add(&d, t);
        let v = s.mdi();
        assert!(v.max_df_ms < 10.0, "{v:?}");
    }

    #[test]
    fn stuffing_discontinuities_and_damaged_packets_are_not_counter_errors() {
        let mut s = TsStream::default();
        let mut disc = packet(0x100, 9);
        disc[3] = 0x30 | 9;
        disc[4] = 1;
        disc[5] = 0x80;
        let mut damaged = packet(0x100, 2);
        damaged[1] |= 0x80;
        let mut bytes = datagram(&[(0x100, 0), (NULL_PID, 7), (NULL_PID, 1)]);
        bytes.extend_from_slice(&disc);
        bytes.extend_from_slice(&damaged);
        bytes.extend(datagram(&[(0x100, 10)]));
        s.add(&bytes, 1);
        let c = s.counters();
        assert_eq!((c.cc_errors, c.lost, c.transport_errors), (0, 0, 1));
        let mut bad = packet(0x100, 11);
        bad[0] = 0;
        s.add(&bad, 2);
        assert_eq!(s.counters().sync_errors, 1);
    }

    #[test]
    fn a_gap_before_a_packet_without_payload_counts_as_lost() {
        let mut s = TsStream::default();
        let mut pcr_only = packet(0x100, 4);
        pcr_only[3] = 0x20 | 4;
        pcr_only[4] = 183;
        pcr_only[5] = 0x10;
        let mut bytes = datagram(&[(0x100, 0), (0x100, 1)]);
        // 2, 3 and 4 lost; the adaptation-only packet repeats the last counter, 4.
        bytes.extend_from_slice(&pcr_only);
        bytes.extend(datagram(&[(0x100, 5)]));
        s.add(&bytes, 1);
        let c = s.counters();
        assert_eq!((c.cc_errors, c.lost), (1, 3));
    }

    #[test]
    fn pids_past_the_limit_are_counted_not_followed() {
        let mut s = TsStream::default();
        let all: Vec<(u16, u8)> = (0..MAX_PIDS as u16 + 3).map(|p| (p, 0)).collect();
        s.add(&datagram(&all), 1);
        assert_eq!(s.counters().untracked, 3);
    }

    /// A constant-rate stream: 7 packets (1316 bytes) every 5 ms, 2.1 Mbit/s. Evenly
    /// spaced, the buffer swings by one datagram: DF = 1316 B / rate = 5 ms. Held back
    /// 30 ms and then sent at once, it empties by 30 ms and refills: DF = 30 + 5 ms.
    #[test]
    fn delay_factor_follows_rfc_4445() {
        // Datagram n carries packets 7n .. 7n + 6 of one PID, counters in order.
        let d = |n: u64| -> Vec<u8> {
            let pkts: Vec<(u16, u8)> = (0..7).map(|k| (0x100, ((7 * n + k) % 16) as u8)).collect();
            datagram(&pkts)
        };
        let mut n = 0u64;
        let mut d = move || {
            n += 1;
            d(n - 1)
        };
        let mut s = TsStream::default();
        let ms = 1_000_000u64;
        let mut t = 1_000 * ms;
        // Two clean intervals: the first measures the rate, the second the DF.
        for _ in 0..400 {
            s.add(&d(), t);
            t += 5 * ms;
        }
        s.add(&d(), t);
        let v = *s.mdi();
        assert_eq!(v.intervals, 2);
        let df = v.df_ms.unwrap();
        assert!((df - 5.0).abs() < 0.05, "{df}");
        assert!((v.rate_bps - 1316.0 * 8.0 * 200.0).abs() < 1.0);
        // A third (it began with that packet) with six datagrams held for 30 ms and then
        // sent at once with the seventh.
        let base = t;
        for i in 1..200u64 {
            let i = if (100..106).contains(&i) { 106 } else { i };
            s.add(&d(), base + i * 5 * ms);
        }
        s.add(&d(), base + 200 * 5 * ms);
        assert_eq!(s.mdi().intervals, 3);
        let df = s.mdi().df_ms.unwrap();
        assert!((df - 35.0).abs() < 0.1, "{df}");
        assert_eq!(s.mdi().max_df_ms, df);
        assert_eq!(s.mdi().mlr, 0.0);
    }
}
