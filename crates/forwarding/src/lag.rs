//! How long protocol routes wait between the RIB's door and the FIB: a fixed histogram of
//! power-of-two microsecond buckets (no allocation, no lock; the control thread alone
//! writes it), weighted by routes, for `show system statistics` and the churn benchmark.

/// Buckets: [0, 1 µs), [1, 2), [2, 4), ... up to about 2^31 µs (36 minutes).
const BUCKETS: usize = 32;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LagHistogram {
    counts: [u64; BUCKETS],
    pub routes: u64,
    pub batches: u64,
    pub max_us: u64,
}

impl LagHistogram {
    /// `routes` routes waited `us` microseconds.
    pub fn record(&mut self, us: u64, routes: u64) {
        let b = (64 - us.leading_zeros() as usize).min(BUCKETS - 1);
        self.counts[b] += routes;
        self.routes += routes;
        self.batches += 1;
        self.max_us = self.max_us.max(us);
    }

    /// The buckets that hold routes: (upper bound in µs, routes), for a reader that wants
    /// the difference between two moments (a benchmark's window).
    pub fn buckets(&self) -> Vec<(u64, u64)> {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(b, n)| (1u64 << b, *n))
            .collect()
    }

    /// The upper bound (µs) of the bucket that holds quantile `q` (0..=1) of the routes;
    /// None before any.
    pub fn quantile_us(&self, q: f64) -> Option<u64> {
        if self.routes == 0 {
            return None;
        }
        let want = ((self.routes as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (b, n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= want {
                // Bucket b holds [2^(b-1), 2^b): its upper bound, but never past the max.
                return Some((1u64 << b).min(self.max_us.max(1)));
            }
        }
        Some(self.max_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_bucket_bounds_weighted_by_routes() {
        let mut h = LagHistogram::default();
        assert_eq!(h.quantile_us(0.99), None);
        h.record(100, 98); // bucket [64, 128)
        h.record(5000, 2); // bucket [4096, 8192)
        assert_eq!(h.quantile_us(0.5), Some(128));
        assert_eq!(h.quantile_us(0.98), Some(128));
        assert_eq!(
            h.quantile_us(0.99),
            Some(5000),
            "capped at the largest seen"
        );
        assert_eq!((h.routes, h.batches, h.max_us), (100, 2, 5000));
    }
}
