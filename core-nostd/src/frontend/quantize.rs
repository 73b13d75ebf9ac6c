//! Log-power quantization: `clamp(round(6 · log2(P + 1)) − 128, −128, 127)`.
//!
//! Two implementations that must agree bit for bit (tested exhaustively at every decision
//! threshold and on random values): [`quantize_log_power`], which reads the answer off the float's
//! exponent and mantissa, and [`quantize_log_power_reference`], which counts table thresholds.

use super::tables::{LOG_THRESHOLDS, OCTAVE_THRESHOLD_MANTISSAS};
use super::{FEATURE_OFFSET, STEPS_PER_OCTAVE};

/// Exponent bias of f32.
const EXPONENT_BIAS: i32 = 127;
/// Mask of the 23 mantissa bits of f32.
const MANTISSA_MASK: u32 = 0x007f_ffff;

/// Quantizes one bin's power to a feature code (fast version).
///
/// For `x = power + 1` (f32) with exponent `e` and mantissa bits `m`, the code before offset is
/// `6·e + #{j : m ≥ M_j}` where `M_j` are the mantissa bits of the six in-octave thresholds
/// `2^((j + 0.5)/6)`. Values below 1 (including NaN) give −128; +∞ gives 127.
/// Cost: an add, a few integer operations and six comparisons; no branches, no table walk.
#[must_use]
#[inline]
pub fn quantize_log_power(power: f32) -> i8 {
    let x = power + 1.0;
    if x.is_nan() || x < 1.0 {
        return i8::MIN;
    }
    let bits = x.to_bits();
    // x >= 1 and positive, so the exponent field is in 127..=255; the cast is lossless.
    let octave = ((bits >> 23) as i32).wrapping_sub(EXPONENT_BIAS);
    let mantissa = bits & MANTISSA_MASK;
    let mut steps: i32 = 0;
    for &threshold in &OCTAVE_THRESHOLD_MANTISSAS {
        steps = steps.wrapping_add(i32::from(mantissa >= threshold));
    }
    // octave <= 128, so 6 * octave + 6 fits easily in i32.
    let code = octave
        .wrapping_mul(STEPS_PER_OCTAVE)
        .wrapping_add(steps)
        .wrapping_sub(FEATURE_OFFSET);
    clamp_to_i8(code)
}

/// Quantizes one bin's power to a feature code (reference version).
///
/// Counts the thresholds `T_k` (the smallest f32 ≥ `2^((k − 0.5)/6)`, k = 1..=255) that
/// `power + 1` reaches, then subtracts 128. This is the definition written as plainly as possible;
/// it costs up to 255 comparisons. Use [`quantize_log_power`] outside tests.
#[must_use]
pub fn quantize_log_power_reference(power: f32) -> i8 {
    let x = power + 1.0;
    let reached = LOG_THRESHOLDS.iter().filter(|&&t| x >= t).count();
    // reached <= 255, so the conversion cannot fail.
    let code = i32::try_from(reached)
        .unwrap_or(i32::MAX)
        .wrapping_sub(FEATURE_OFFSET);
    clamp_to_i8(code)
}

/// Saturates an `i32` to the `i8` range.
#[inline]
fn clamp_to_i8(code: i32) -> i8 {
    // Infallible after the clamp.
    i8::try_from(code.clamp(i32::from(i8::MIN), i32::from(i8::MAX))).unwrap_or(i8::MAX)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;

    fn both(power: f32) -> (i8, i8) {
        (
            quantize_log_power(power),
            quantize_log_power_reference(power),
        )
    }

    #[test]
    fn agree_around_every_threshold() {
        for &t in LOG_THRESHOLDS.iter() {
            // Probe x = P + 1 just below, at and just above each threshold. P = x - 1 is exact
            // for x in [1, 2^24) (Sterbenz-like), and above that P + 1 rounds back to x or its
            // neighbours, which the comparison covers either way.
            let mut x = t.next_down().next_down();
            for _ in 0..5 {
                let p = x - 1.0;
                let (fast, reference) = both(p);
                assert_eq!(fast, reference, "power {p:e} (x = {x:e}, threshold {t:e})");
                x = x.next_up();
            }
        }
    }

    #[test]
    fn agree_on_special_values() {
        let specials = [
            0.0,
            -0.0,
            f32::MIN_POSITIVE,
            1e-30,
            0.5,
            1.0,
            -0.5,
            -1.0,
            -2.0,
            f32::MAX,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            16_777_216.0,
            1.759_218_6e13,
        ];
        for p in specials {
            let (fast, reference) = both(p);
            assert_eq!(fast, reference, "power {p:e}");
        }
    }

    #[test]
    fn known_codes() {
        assert_eq!(quantize_log_power(0.0), -128, "silence is the floor");
        assert_eq!(
            quantize_log_power(1.0),
            -122,
            "P + 1 = 2: one octave = 6 steps"
        );
        // A full-scale sine on a bin centre: |X| = 32767 * 128 / 2, P ≈ 2^42 → 252 − 128.
        let peak = 32767.0_f32 * 64.0;
        assert_eq!(quantize_log_power(peak * peak), 124);
        assert_eq!(quantize_log_power(f32::INFINITY), 127);
        assert_eq!(quantize_log_power(f32::NAN), -128);
    }

    #[test]
    fn monotonic_in_power() {
        let mut previous = i8::MIN;
        let mut p = 0.0_f32;
        while p < 1e14 {
            let q = quantize_log_power(p);
            assert!(q >= previous, "not monotonic at {p:e}");
            previous = q;
            p = p * 1.01 + 0.01;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn agree_on_random_bit_patterns(bits in any::<u32>()) {
            let p = f32::from_bits(bits);
            let (fast, reference) = both(p);
            prop_assert_eq!(fast, reference, "power {:e}", p);
        }

        #[test]
        fn agree_on_random_powers(p in 0.0_f32..2e13) {
            let (fast, reference) = both(p);
            prop_assert_eq!(fast, reference, "power {:e}", p);
        }
    }
}
