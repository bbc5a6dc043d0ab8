//! Loss patterns: RFC 3611's burst and gap metrics (§4.7.2, the algorithm of its Appendix
//! A.2 with Gmin 16), and the two-state Markov transition counts whose burst ratio (BurstR)
//! the E-model takes (G.107: 1 / (p + q), p the chance of a loss after a received packet,
//! q of a packet after a loss). Events come in sequence order, a lost packet for each
//! sequence number skipped. Fixed-size counters.

/// RFC 3611's default: a gap is at least 16 received packets between losses.
pub const GMIN: u64 = 16;

/// The counters, those a received packet touches first (`repr(C)` keeps the order: the
/// stream that holds them prefetches only [`BurstGap::HOT_BYTES`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[repr(C)]
pub struct BurstGap {
    /// RFC 3611 A.2's count of packets received since the last loss.
    pkt: u64,
    last_lost: Option<bool>,
    // The Markov model: transitions received->lost, lost->received, lost->lost (received
    // to received is what the other received packets are: see `rr`), and whether the
    // first event was a packet received.
    first_received: bool,
    rl: u64,
    lr: u64,
    ll: u64,
    // RFC 3611 A.2's other counters.
    lost: u64,
    c11: u64,
    c13: u64,
    c14: u64,
    c22: u64,
    c23: u64,
    c33: u64,
    loss_count: u64,
}

/// The burst and gap metrics, as RFC 3611 defines them (densities as fractions, not /256).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Metrics {
    /// Fraction of packets lost within bursts.
    pub burst_density: f64,
    /// Fraction of packets lost within gaps.
    pub gap_density: f64,
    /// Mean length of bursts and of gaps, in packets (RFC 3611 gives milliseconds: times the
    /// packet interval).
    pub burst_packets: f64,
    pub gap_packets: f64,
}

impl BurstGap {
    /// The leading bytes a received packet after a received one touches.
    pub const HOT_BYTES: usize = std::mem::offset_of!(BurstGap, last_lost) + 1;

    fn transition(&mut self, lost: bool) {
        match (self.last_lost, lost) {
            (Some(false), false) => {}
            (Some(false), true) => self.rl += 1,
            (Some(true), false) => self.lr += 1,
            (Some(true), true) => self.ll += 1,
            (None, _) => self.first_received = !lost,
        }
        self.last_lost = Some(lost);
    }

    /// Transitions from received to received: every packet received but the first event
    /// and those that followed a loss. The packets received are those A.2 counted into
    /// its gap and burst counters at each loss, and the run since the last one.
    fn rr(&self) -> u64 {
        let received = self.c11 + self.c22 + self.c23 + self.pkt;
        received.saturating_sub(self.lr + u64::from(self.first_received))
    }

    /// A packet received.
    pub fn received(&mut self) {
        self.transition(false);
        self.pkt += 1;
    }

    /// A packet lost (a sequence number skipped).
    pub fn lost(&mut self) {
        self.transition(true);
        self.loss_count += 1;
        if self.pkt >= GMIN {
            if self.lost == 1 {
                self.c14 += 1;
            } else {
                self.c13 += 1;
            }
            self.lost = 1;
            self.c11 += self.pkt;
        } else {
            self.lost += 1;
            if self.pkt == 0 {
                self.c33 += 1;
            } else {
                self.c23 += 1;
                self.c22 += self.pkt - 1;
            }
        }
        self.pkt = 0;
    }

    /// G.107's burst ratio: 1 for random loss, above it for losses that come in bursts
    /// (never below 1; 1 with no loss at all).
    pub fn burst_ratio(&self) -> f64 {
        let (from_r, from_l) = (self.rr() + self.rl, self.lr + self.ll);
        if self.rl == 0 || from_r == 0 {
            return 1.0;
        }
        let p = self.rl as f64 / from_r as f64;
        // A loss that nothing followed yet: q from what was seen, at least one return.
        let q = if from_l == 0 {
            1.0
        } else {
            self.lr.max(1) as f64 / from_l as f64
        };
        (1.0 / (p + q)).max(1.0)
    }

    /// RFC 3611 A.2's densities and lengths (zeros before any loss).
    pub fn metrics(&self) -> Metrics {
        // The packets since the last loss: a gap still open counts into the gap.
        let c11 = self.c11 + if self.pkt >= GMIN { self.pkt } else { 0 };
        let (c31, c32) = (self.c13, self.c23);
        let ctotal = c11 + self.c14 + self.c13 + self.c22 + self.c23 + c31 + c32 + self.c33;
        let gap_density = if c11 + self.c14 == 0 {
            0.0
        } else {
            self.c14 as f64 / (c11 + self.c14) as f64
        };
        // No gap ever ended in a burst (isolated losses only): no burst to describe.
        if self.c13 == 0 || ctotal == 0 {
            return Metrics {
                gap_density,
                ..Metrics::default()
            };
        }
        let into_burst = c31 + c32 + self.c33;
        let p32 = if into_burst == 0 {
            0.0
        } else {
            c32 as f64 / into_burst as f64
        };
        let p23 = if self.c22 + self.c23 < 1 {
            1.0
        } else {
            1.0 - self.c22 as f64 / (self.c22 + self.c23) as f64
        };
        let burst_density = if p23 + p32 == 0.0 {
            0.0
        } else {
            p23 / (p23 + p32)
        };
        let gap_packets = (c11 + self.c14 + self.c13) as f64 / self.c13 as f64;
        let burst_packets = ctotal as f64 / self.c13 as f64 - gap_packets;
        Metrics {
            burst_density,
            gap_density,
            burst_packets,
            gap_packets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pattern: &str) -> BurstGap {
        let mut b = BurstGap::default();
        for c in pattern.chars() {
            match c {
                'x' => b.lost(),
                '.' => b.received(),
                _ => {}
            }
        }
        b
    }

    proptest::proptest! {
        /// The received-to-received transitions, not counted but worked out from A.2's
        /// counters, are those of the pattern.
        #[test]
        fn received_to_received_is_worked_out_right(events in proptest::collection::vec(proptest::bool::weighted(0.2), 0..300)) {
            let mut b = BurstGap::default();
            for &lost in &events {
                if lost { b.lost() } else { b.received() }
            }
            let want = events.windows(2).filter(|w| !w[0] && !w[1]).count() as u64;
            proptest::prop_assert_eq!(b.rr(), want);
        }
    }

    #[test]
    fn no_loss_no_burst() {
        let b = run(&".".repeat(1000));
        assert_eq!(b.burst_ratio(), 1.0);
        assert_eq!(b.metrics(), Metrics::default());
    }

    #[test]
    fn a_dense_burst_inside_long_gaps() {
        // 100 received, a burst of 6 (lost, received, lost x4, ...), 100 received.
        let pattern = format!("{}x.xxxx.x{}", ".".repeat(100), ".".repeat(100));
        let b = run(&pattern);
        let m = b.metrics();
        // The burst: from the first loss to the last, 8 packets with 6 lost.
        assert!((m.burst_packets - 8.0).abs() < 1e-9, "{m:?}");
        assert!((m.burst_density - 0.75).abs() < 1e-9, "{m:?}");
        // The gaps hold no loss; their length is the received packets around the burst over
        // the one burst.
        assert_eq!(m.gap_density, 0.0);
        assert!((m.gap_packets - 201.0).abs() < 1e-9, "{m:?}");
    }

    #[test]
    fn isolated_losses_are_gap_losses() {
        // A loss every 50 packets: each is alone, in a gap (the first opens the count).
        let pattern = format!(".{}", "x".to_string() + &".".repeat(49)).repeat(20);
        let m = run(&pattern).metrics();
        assert!(m.gap_density > 0.015 && m.gap_density < 0.025, "{m:?}");
    }

    #[test]
    fn the_burst_ratio_tells_bursts_from_random_loss() {
        // Random-like: single losses spread out, about 1/(p+q) with q = 1.
        let spread = run(&format!("{}x", ".".repeat(19)).repeat(50));
        assert!(
            (spread.burst_ratio() - 1.0).abs() < 0.06,
            "{}",
            spread.burst_ratio()
        );
        // The same loss rate in runs of 5: p = 1/95, q = 1/5 -> BurstR = 1/(p+q) ~ 4.75.
        let bursty = run(&(format!("{}xxxxx", ".".repeat(95)).repeat(10) + "."));
        let want = 1.0 / (1.0 / 95.0 + 1.0 / 5.0);
        assert!(
            (bursty.burst_ratio() - want).abs() < 1e-9,
            "{}",
            bursty.burst_ratio()
        );
    }
}
