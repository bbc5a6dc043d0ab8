//! Voice quality from packet loss, its burstiness and delay: the ITU-T G.107 E-model with
//! G.107's default values (R = 93.2 before the impairments of the call), its Idd delay
//! impairment, Ie,eff with the burst ratio (equation 7-29), and Annex B's R to MOS.
//! MOS-LQ (listening quality) leaves delay out, MOS-CQ (conversational) takes it in, as
//! RFC 3611 §4.7.5 defines them.

/// R with G.107's default values and no impairment of the call itself (Ro - Is - Idte -
/// Idle with the defaults).
pub const R_DEFAULT: f64 = 93.2;

/// A codec's equipment impairment and its robustness against packet loss (G.113 Appendix I).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Impairment {
    pub ie: f64,
    pub bpl: f64,
}

/// G.107 7-27/7-28, the default delay-sensitivity class (sT 1, mT 100 ms): no impairment up
/// to 100 ms one-way, then growing with log2 of the delay.
pub fn idd(one_way_ms: f64) -> f64 {
    if one_way_ms <= 100.0 {
        return 0.0;
    }
    let x = (one_way_ms / 100.0).log2();
    25.0 * ((1.0 + x.powi(6)).powf(1.0 / 6.0) - 3.0 * (1.0 + (x / 3.0).powi(6)).powf(1.0 / 6.0)
        + 2.0)
}

/// G.107 7-29: the effective equipment impairment for `loss_percent` of packets lost (or
/// discarded) with burst ratio `burst_r` (1: random loss).
pub fn ie_eff(codec: Impairment, loss_percent: f64, burst_r: f64) -> f64 {
    let ppl = loss_percent.clamp(0.0, 100.0);
    let burst_r = burst_r.max(1.0);
    codec.ie + (95.0 - codec.ie) * ppl / (ppl / burst_r + codec.bpl)
}

/// G.107 Annex B: MOS from R, held to 1..4.5 (the polynomial dips under 1 near R = 3).
pub fn mos(r: f64) -> f64 {
    if r <= 0.0 {
        return 1.0;
    }
    if r >= 100.0 {
        return 4.5;
    }
    (1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6).clamp(1.0, 4.5)
}

/// A call's estimated quality.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quality {
    /// R and MOS without delay (listening quality) and with it (conversational).
    pub r_lq: f64,
    pub r_cq: f64,
    pub mos_lq: f64,
    pub mos_cq: f64,
}

/// The quality of a narrowband call with this codec, loss and burstiness; `one_way_ms`: the
/// mouth-to-ear delay if known (None: no delay impairment, CQ equals LQ).
pub fn quality(
    codec: Impairment,
    loss_percent: f64,
    burst_r: f64,
    one_way_ms: Option<f64>,
) -> Quality {
    let r_lq = (R_DEFAULT - ie_eff(codec, loss_percent, burst_r)).max(0.0);
    let r_cq = (r_lq - one_way_ms.map_or(0.0, idd)).max(0.0);
    Quality {
        r_lq,
        r_cq,
        mos_lq: mos(r_lq),
        mos_cq: mos(r_cq),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G711: Impairment = Impairment { ie: 0.0, bpl: 4.3 };
    const G711_PLC: Impairment = Impairment { ie: 0.0, bpl: 25.1 };
    const G729A: Impairment = Impairment {
        ie: 11.0,
        bpl: 19.0,
    };

    fn near(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn annex_b_table() {
        // G.107 Annex B's points (the formula's values, to three places).
        for (r, m) in [
            (90.0, 4.339),
            (80.0, 4.024),
            (70.0, 3.597),
            (60.0, 3.100),
            (50.0, 2.575),
        ] {
            assert!(near(mos(r), m, 0.001), "R {r}: {}", mos(r));
        }
        assert!(near(mos(R_DEFAULT), 4.409, 0.001));
        assert_eq!(mos(-5.0), 1.0);
        assert_eq!(mos(120.0), 4.5);
        assert!(mos(3.2) >= 1.0);
    }

    #[test]
    fn delay_impairment_starts_at_100_ms() {
        assert_eq!(idd(80.0), 0.0);
        assert_eq!(idd(100.0), 0.0);
        for (ta, want) in [
            (150.0, 0.164),
            (200.0, 3.044),
            (300.0, 14.761),
            (500.0, 30.636),
        ] {
            assert!(near(idd(ta), want, 0.001), "Ta {ta}: {}", idd(ta));
        }
    }

    #[test]
    fn loss_lowers_the_score_and_bursts_lower_it_more() {
        // Worked values (R0 93.2, random loss).
        let q = quality(G711, 1.0, 1.0, None);
        assert!(
            near(q.r_lq, 75.2755, 1e-3) && near(q.mos_lq, 3.8337, 1e-3),
            "{q:?}"
        );
        let q = quality(G711, 2.0, 1.0, None);
        assert!(
            near(q.r_lq, 63.0413, 1e-3) && near(q.mos_lq, 3.2560, 1e-3),
            "{q:?}"
        );
        let q = quality(G711_PLC, 1.0, 1.0, None);
        assert!(
            near(q.r_lq, 89.5602, 1e-3) && near(q.mos_lq, 4.3281, 1e-3),
            "{q:?}"
        );
        let q = quality(G711_PLC, 2.0, 2.0, None);
        assert!(near(q.r_lq, 85.9203, 1e-3), "{q:?}");
        let q = quality(G729A, 1.0, 1.0, None);
        assert!(
            near(q.r_lq, 78.0, 0.01) && near(q.mos_lq, 3.9462, 1e-3),
            "{q:?}"
        );
        // Delay: conversational quality only.
        let q = quality(G711_PLC, 1.0, 1.0, Some(200.0));
        assert!(
            near(q.r_cq, 86.5157, 1e-3) && near(q.mos_lq, 4.3281, 1e-3),
            "{q:?}"
        );
        // More loss, more burstiness: never better.
        let mut last = f64::MAX;
        for loss in [0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0] {
            let m = quality(G711_PLC, loss, 1.0, None).mos_lq;
            assert!(m < last || loss == 0.0, "{loss}: {m}");
            assert!(quality(G711_PLC, loss, 3.0, None).mos_lq <= m);
            last = m;
        }
    }
}
