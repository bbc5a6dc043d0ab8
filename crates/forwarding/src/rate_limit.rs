//! The control plane's limit on the ICMP errors and resets it sends (RFC 1812 4.3.2.8).

/// A token bucket: `rate` messages a second, bursts of `burst`. Time is passed in (ms).
#[derive(Debug, Clone)]
pub struct RateLimit {
    rate_per_s: u64,
    burst: u64,
    /// Tokens in thousandths.
    milli_tokens: u64,
    last_ms: u64,
    pub suppressed: u64,
}

impl RateLimit {
    pub fn new(rate_per_s: u64, burst: u64) -> RateLimit {
        RateLimit {
            rate_per_s,
            burst,
            milli_tokens: burst * 1000,
            last_ms: 0,
            suppressed: 0,
        }
    }

    /// Whether one more message may be sent at `now_ms`.
    pub fn allow(&mut self, now_ms: u64) -> bool {
        let elapsed = now_ms.saturating_sub(self.last_ms);
        self.last_ms = self.last_ms.max(now_ms);
        self.milli_tokens = (self.milli_tokens + elapsed * self.rate_per_s).min(self.burst * 1000);
        if self.milli_tokens >= 1000 {
            self.milli_tokens -= 1000;
            true
        } else {
            self.suppressed += 1;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimit;

    #[test]
    fn the_rate_limit_allows_a_burst_then_the_rate() {
        let mut r = RateLimit::new(10, 5);
        let first: usize = (0..20).filter(|_| r.allow(0)).count();
        assert_eq!(first, 5);
        assert!(!r.allow(50));
        assert!(r.allow(100), "one token per 100 ms at 10/s");
        assert!(!r.allow(150));
        let later: usize = (0..100).filter(|i| r.allow(1000 + i * 10)).count();
        assert_eq!(
            later,
            5 + 9,
            "the burst (capped at 5) plus 0.99 s of tokens at 10/s"
        );
        assert!(r.suppressed > 0);
    }
}
