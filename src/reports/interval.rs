//! Reading a rate with its uncertainty: the Wilson score interval for a proportion, and the
//! funnel plot's control limits, by which an area's rate is compared with the partnership's.
//!
//! Sources: E. B. Wilson (1927), "Probable inference, the law of succession, and statistical
//! inference", JASA 22; Public Health England / OHID, "Technical guide: confidence intervals"
//! and "Funnel plots" (the Fingertips methods), which use the Wilson score method for
//! proportions and draw the funnel's limits as the interval of the partnership's proportion
//! at each denominator: 95 % (z = 1.96) and 99.8 % (z = 3.09).

/// z for a two-sided 95 % interval.
pub const Z95: f64 = 1.959_963_985;
/// z for a two-sided 99.8 % interval (the funnel's outer limits).
pub const Z998: f64 = 3.090_232_306;

/// The Wilson score interval of `p` observed on `n` at `z`, as proportions from 0 to 1.
/// `None` when `n` is not positive or `p` is outside 0 to 1.
pub fn wilson_p(p: f64, n: f64, z: f64) -> Option<(f64, f64)> {
    if n <= 0.0 || !(0.0..=1.0).contains(&p) || !n.is_finite() {
        return None;
    }
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let spread = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let scale = 1.0 + z2 / n;
    Some((
        ((centre - spread) / scale).max(0.0),
        ((centre + spread) / scale).min(1.0),
    ))
}

/// The Wilson 95 % interval of `k` out of `n`, as proportions. `None` without a denominator
/// or when `k` is out of range.
pub fn wilson(k: i64, n: i64) -> Option<(f64, f64)> {
    if n <= 0 || k < 0 || k > n {
        return None;
    }
    wilson_p(k as f64 / n as f64, n as f64, Z95)
}

/// Where an area's rate lies against the partnership's, read from the funnel's limits at
/// its own denominator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placing {
    /// Beyond the 99.8 % limit above.
    WellAbove,
    /// Between the 95 % and 99.8 % limits above.
    Above,
    /// Inside the 95 % limits: the difference could well be chance.
    Within,
    Below,
    WellBelow,
}

impl Placing {
    pub fn words(self) -> &'static str {
        match self {
            Placing::WellAbove => "well above the expected range (beyond 99.8% limits)",
            Placing::Above => "above the expected range (beyond 95% limits)",
            Placing::Within => "within the expected range",
            Placing::Below => "below the expected range (beyond 95% limits)",
            Placing::WellBelow => "well below the expected range (beyond 99.8% limits)",
        }
    }

    /// "well above", "within" …: the placing without its limits, for a sentence.
    pub fn short(self) -> &'static str {
        match self {
            Placing::WellAbove => "well above",
            Placing::Above => "above",
            Placing::Within => "within",
            Placing::Below => "below",
            Placing::WellBelow => "well below",
        }
    }

    pub fn outside(self) -> bool {
        self != Placing::Within
    }
}

/// Where `k` out of `n` lies against the partnership's proportion `mean`. `None` without a
/// denominator.
pub fn placing(k: i64, n: i64, mean: f64) -> Option<Placing> {
    if n <= 0 || k < 0 || k > n {
        return None;
    }
    let p = k as f64 / n as f64;
    let (lo95, hi95) = wilson_p(mean, n as f64, Z95)?;
    let (lo998, hi998) = wilson_p(mean, n as f64, Z998)?;
    Some(if p > hi998 {
        Placing::WellAbove
    } else if p > hi95 {
        Placing::Above
    } else if p < lo998 {
        Placing::WellBelow
    } else if p < lo95 {
        Placing::Below
    } else {
        Placing::Within
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 0.000_5
    }

    #[test]
    fn the_wilson_interval_matches_hand_worked_figures() {
        // 8 of 10, by hand: centre (0.8 + 3.8415/20) / (1 + 0.38415) = 0.71683; spread
        // 1.96 × √(0.016 + 0.009604) / 1.38415 = 0.22658: 0.4902 to 0.9433.
        let (lo, hi) = wilson(8, 10).unwrap();
        assert!(close(lo, 0.4902) && close(hi, 0.9433), "{lo} {hi}");
        // 0 of 20: the lower limit is 0, the upper 3.8415 / 23.8415 = 0.1611.
        let (lo, hi) = wilson(0, 20).unwrap();
        assert_eq!(lo, 0.0);
        assert!(close(hi, 0.1611), "{hi}");
        // All of 20: the mirror image.
        let (lo, hi) = wilson(20, 20).unwrap();
        assert!(close(lo, 0.8389) && close(hi, 1.0), "{lo} {hi}");
        // 50 of 100: 0.4038 to 0.5962.
        let (lo, hi) = wilson(50, 100).unwrap();
        assert!(close(lo, 0.4038) && close(hi, 0.5962), "{lo} {hi}");
    }

    #[test]
    fn no_interval_without_a_denominator_or_with_an_impossible_count() {
        assert_eq!(wilson(0, 0), None);
        assert_eq!(wilson(3, 2), None);
        assert_eq!(wilson(-1, 5), None);
    }

    #[test]
    fn an_interval_narrows_as_the_denominator_grows_and_holds_the_rate() {
        let mut last = 1.0;
        for n in [5, 20, 80, 320, 1280] {
            let (lo, hi) = wilson(n * 3 / 5, n).unwrap();
            assert!(lo <= 0.6 && 0.6 <= hi);
            assert!(hi - lo < last);
            last = hi - lo;
        }
    }

    #[test]
    fn an_area_is_placed_against_the_funnel_at_its_own_size() {
        // Partnership 60 %. 12 of 20 sits on it.
        assert_eq!(placing(12, 20, 0.6), Some(Placing::Within));
        // 17 of 20 is 85 %: the 95 % limits at 20 are 0.3866 to 0.7812, the 99.8 % ones
        // 0.2873 to 0.8480, so above both.
        assert_eq!(placing(17, 20, 0.6), Some(Placing::WellAbove));
        // 16 of 20 is 80 %: above 95 %, inside 99.8 %.
        assert_eq!(placing(16, 20, 0.6), Some(Placing::Above));
        // 7 of 20 is 35 %: below 95 %, inside 99.8 %.
        assert_eq!(placing(7, 20, 0.6), Some(Placing::Below));
        // The same 35 % on 400 is far outside.
        assert_eq!(placing(140, 400, 0.6), Some(Placing::WellBelow));
        // A small area's 80 % on 5 is inside: too few to tell.
        assert_eq!(placing(4, 5, 0.6), Some(Placing::Within));
        assert_eq!(placing(0, 0, 0.6), None);
    }
}
