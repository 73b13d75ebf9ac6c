//! From int8 logits to probabilities with integers only: softmax over the composers, a sigmoid
//! per instrument, both as Q15 fixed point (`u16`, `32768` = 1.0).
//!
//! A logit code `q` means the real logit `s · (q − z)` (the network's logit scale `s`, a
//! [`Ratio`], and zero point `z`). Both functions need `exp(−y)` for `y = s · d ≥ 0` where `d` is
//! a code difference (at most 255), which [`exp_neg_q30`] computes exactly enough in fixed point:
//!
//! 1. `y = d · num / den` in Q62 after dividing by 64 (`x = y / 64 < 0.375`; `y ≥ 24` gives 0,
//!    since `exp(−24) · 2^30 < 0.05`);
//! 2. `exp(−x)` by its Taylor series in `i128` Q62 (about 20 terms);
//! 3. squared six times (`exp(−y) = exp(−x)^64`), rounding each square to Q62;
//! 4. rounded to Q30.
//!
//! The error before the last rounding is below `2^−50` (relative), so the Q30 value is
//! `exp(−y) · 2^30` rounded to nearest (tested against `f64`), and it is the same integer on every
//! machine. The probabilities are then integer divisions rounded to nearest (ties up):
//!
//! - softmax: `p_i = round(2^15 · E_i / Σ_j E_j)` with `E_i = exp_neg_q30(q_max − q_i)`;
//! - sigmoid: `p = round(2^15 · 2^30 / (2^30 + E))` for `q ≥ z`, `round(2^15 · E / (2^30 + E))`
//!   below, with `E = exp_neg_q30(|q − z|)`.
//!
//! Softmax probabilities are each within one unit (2^−15) of the exact value, so they sum to
//! 32768 ± the number of classes. Cost: one series per class (`i128` arithmetic; a few
//! microseconds on a Cortex-M4 for 17 classes), no tables.

use super::Ratio;

/// 1.0 in Q15, the largest probability.
pub const Q15_ONE: u16 = 1 << 15;
/// 1.0 in Q30, `exp(0)`.
pub const Q30_ONE: u32 = 1 << 30;

/// 1.0 in Q62, the series' fixed point.
const Q62_ONE: i128 = 1 << 62;
/// Range reduction: `exp(−y) = exp(−y / 2^SQUARINGS)^(2^SQUARINGS)`.
const SQUARINGS: u32 = 6;
/// `y` at or above this gives 0 in Q30.
const Y_CUTOFF: u128 = 24;

/// `exp(−steps · scale)` in Q30 (`2^30` = 1.0), rounded to nearest; integer arithmetic only.
/// A zero denominator counts as an infinite scale (0 unless `steps` is 0).
#[must_use]
pub fn exp_neg_q30(steps: u32, scale: Ratio) -> u32 {
    if steps == 0 || scale.num == 0 {
        return Q30_ONE;
    }
    let den = u128::from(scale.den);
    // numer / den = y; numer < 2^64.
    let numer = u128::from(steps).wrapping_mul(u128::from(scale.num));
    if den == 0 || numer >= Y_CUTOFF.wrapping_mul(den) {
        return 0;
    }
    // x = y / 64 in Q62 = numer · 2^56 / den < 24 · 2^56 (numer < 24 · den keeps this < 2^128).
    let x = (numer << (62 - SQUARINGS))
        .checked_div(den)
        .and_then(|x| i128::try_from(x).ok())
        .unwrap_or(0);
    // Taylor series of exp(−x); |term| ≤ 2^62 and x < 2^61, so term · x < 2^123.
    let mut sum = Q62_ONE;
    let mut term = Q62_ONE;
    let mut n: i128 = 1;
    while term != 0 && n < 40 {
        term = term
            .wrapping_mul(x)
            .wrapping_div(Q62_ONE)
            .checked_div(n)
            .unwrap_or(0)
            .wrapping_neg();
        sum = sum.wrapping_add(term);
        n = n.wrapping_add(1);
    }
    // 0 < sum ≤ 2^62, so sum² ≤ 2^124.
    for _ in 0..SQUARINGS {
        sum = sum.wrapping_mul(sum).wrapping_add(1 << 61) >> 62;
    }
    u32::try_from(sum.wrapping_add(1 << 31) >> 32).unwrap_or(Q30_ONE)
}

/// Softmax of `logits` (codes of one scale; the zero point cancels) into `out` as Q15
/// probabilities. Writes `min(logits.len(), out.len())` values; empty input does nothing.
pub fn softmax_q15(logits: &[i8], scale: Ratio, out: &mut [u16]) {
    let Some(&max) = logits.iter().max() else {
        return;
    };
    let exp_of = |q: i8| {
        let steps = i32::from(max).wrapping_sub(i32::from(q)).unsigned_abs();
        u64::from(exp_neg_q30(steps, scale))
    };
    // The maximum contributes 2^30, so total ≥ 2^30; at most 2^30 per class.
    let total = logits
        .iter()
        .fold(0_u64, |sum, &q| sum.saturating_add(exp_of(q)))
        .max(1);
    for (p, &q) in out.iter_mut().zip(logits) {
        let scaled = (exp_of(q) << 15)
            .saturating_add(total / 2)
            .checked_div(total)
            .unwrap_or(0);
        *p = u16::try_from(scaled).unwrap_or(Q15_ONE);
    }
}

/// Sigmoid of one logit code as a Q15 probability.
#[must_use]
pub fn sigmoid_q15(logit: i8, zero_point: i8, scale: Ratio) -> u16 {
    let diff = i32::from(logit).wrapping_sub(i32::from(zero_point));
    let e = u64::from(exp_neg_q30(diff.unsigned_abs(), scale));
    let den = u64::from(Q30_ONE).wrapping_add(e);
    let num = if diff >= 0 { u64::from(Q30_ONE) } else { e };
    let p = (num << 15)
        .wrapping_add(den / 2)
        .checked_div(den)
        .unwrap_or(0);
    u16::try_from(p).unwrap_or(Q15_ONE)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;

    fn exact_exp_q30(steps: u32, scale: Ratio) -> f64 {
        (-(f64::from(steps) * f64::from(scale.num) / f64::from(scale.den))).exp() * 2f64.powi(30)
    }

    #[test]
    fn exp_is_rounded_to_nearest() {
        let scales = [
            Ratio::new(1, 16),
            Ratio::new(1, 128),
            Ratio::new(3, 7),
            Ratio::new(1, 1),
            Ratio::new(12_345_678, 1 << 30),
            Ratio::new(u32::MAX, u32::MAX - 1),
            Ratio::new(1, u32::MAX),
        ];
        for scale in scales {
            for steps in 0..=510 {
                let got = exp_neg_q30(steps, scale);
                let want = exact_exp_q30(steps, scale);
                assert!(
                    (f64::from(got) - want).abs() <= 0.5 + want * 1e-12,
                    "exp(-{steps}·{scale:?}): {got} vs {want}"
                );
            }
        }
        assert_eq!(exp_neg_q30(0, Ratio::new(5, 1)), Q30_ONE);
        assert_eq!(exp_neg_q30(24, Ratio::new(1, 1)), 0);
        assert_eq!(exp_neg_q30(1, Ratio::new(1, 0)), 0);
    }

    #[test]
    fn sigmoid_values() {
        let s = Ratio::new(1, 8);
        assert_eq!(sigmoid_q15(10, 10, s), 16384);
        for q in i8::MIN..=i8::MAX {
            let x = f64::from(i32::from(q) - 3) / 8.0;
            let want = 32768.0 / (1.0 + (-x).exp());
            let got = f64::from(sigmoid_q15(q, 3, s));
            assert!((got - want).abs() <= 0.5 + 1e-6, "q {q}: {got} vs {want}");
        }
        // Symmetric: p(z + d) + p(z − d) = 1 to within the two roundings.
        for d in 0..100_i8 {
            let sum = u32::from(sigmoid_q15(d, 0, s)) + u32::from(sigmoid_q15(-d, 0, s));
            assert!((32767..=32769).contains(&sum), "d {d}: {sum}");
        }
    }

    #[test]
    fn softmax_values() {
        let mut out = [0_u16; 4];
        softmax_q15(&[5, 5, 5, 5], Ratio::new(1, 10), &mut out);
        assert_eq!(out, [8192; 4]);
        softmax_q15(&[127, -128, -128, -128], Ratio::new(1, 2), &mut out);
        assert_eq!(out, [32768, 0, 0, 0]);
        softmax_q15(&[], Ratio::new(1, 2), &mut out);
    }

    proptest! {
        #[test]
        fn softmax_matches_f64(logits in proptest::collection::vec(any::<i8>(), 1..32), num in 1_u32..1000, den in 1_u32..1000) {
            let scale = Ratio::new(num, den);
            let mut out = [0_u16; 32];
            softmax_q15(&logits, scale, &mut out);
            let s = f64::from(num) / f64::from(den);
            let max = logits.iter().copied().max().unwrap();
            let e: std::vec::Vec<f64> = logits.iter().map(|&q| (-(f64::from(max) - f64::from(q)) * s).exp()).collect();
            let total: f64 = e.iter().sum();
            for (i, &ei) in e.iter().enumerate() {
                let want = ei / total * 32768.0;
                prop_assert!((f64::from(out[i]) - want).abs() <= 1.0, "class {}: {} vs {}", i, out[i], want);
            }
        }
    }
}
