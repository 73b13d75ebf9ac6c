//! The requantizer: `i32` accumulator → scaled `i32`, TFLite's `MultiplyByQuantizedMultiplier`.
//!
//! `requantize(acc, M, n) = RDBPOT(SRDHM(sat32(acc · 2^max(n, 0)), M), max(−n, 0))` (see the
//! [module docs](super) for the scheme). Two implementations that must agree bit for bit (tested on
//! random inputs and on gemmlowp's and TFLite's edge cases): [`requantize`] / [`Requantizer`], the
//! kernels' branch-free 64-bit form with per-channel constants hoisted, and
//! [`requantize_reference`], the definition written with `i128` arithmetic and explicit rounding
//! rules. Literal ports of gemmlowp's two primitives ([`saturating_rounding_doubling_high_mul`],
//! [`rounding_divide_by_pot`]) are tested against both, tying the definition to gemmlowp's code.
//!
//! [`quantize_multiplier`] turns a real multiplier into `(M, n)` for exporters (TFLite's
//! `QuantizeMultiplier`, computed from the `f64` bit pattern with integer operations only).

/// The smallest accepted shift: a right shift by 31.
pub const MIN_SHIFT: i8 = -31;
/// The largest accepted shift: a left shift by 30.
pub const MAX_SHIFT: i8 = 30;

/// gemmlowp's `SaturatingRoundingDoublingHighMul`, bit for bit: the high 32 bits of `2·a·b`,
/// rounded: `a·b / 2^31` to nearest, ties toward +∞; `a = b = i32::MIN` (the one overflow) gives
/// `i32::MAX`.
#[inline(always)]
#[must_use]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    // |a·b| ≤ 2^62: no i64 overflow.
    let ab = i64::from(a).wrapping_mul(i64::from(b));
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // C's truncating division, as in gemmlowp. |quotient| < 2^31 except for the case above.
    let high = ab.wrapping_add(nudge).wrapping_div(1 << 31);
    i32::try_from(high).unwrap_or(i32::MAX)
}

/// gemmlowp's `RoundingDivideByPOT`, bit for bit: `x / 2^exponent` rounded to nearest, ties away
/// from zero. `exponent` is clamped to `0..=31`.
#[inline(always)]
#[must_use]
pub fn rounding_divide_by_pot(x: i32, exponent: u32) -> i32 {
    let exponent = exponent.min(31);
    // (1 << exponent) − 1 computed in i64 so that exponent 31 gives i32::MAX.
    let mask = i32::try_from(1_i64.wrapping_shl(exponent).wrapping_sub(1)).unwrap_or(i32::MAX);
    let remainder = x & mask;
    let threshold = (mask >> 1).wrapping_add(i32::from(x < 0));
    // x >> exponent (arithmetic, floor) plus one when the remainder is above the threshold:
    // never overflows since the floor is at most i32::MAX >> exponent... except exponent 0, where
    // the mask is 0 and nothing is added.
    x.wrapping_shr(exponent)
        .wrapping_add(i32::from(remainder > threshold))
}

/// Requantizes an accumulator with a Q31 `multiplier` and a `shift` (TFLite convention: positive
/// shifts left before the multiplication, negative shifts right after it, with rounding).
/// `shift` is clamped to [`MIN_SHIFT`]`..=`[`MAX_SHIFT`]. Same as
/// `RDBPOT(SRDHM(sat32(acc << left), multiplier), right)` with gemmlowp's functions above, bit for
/// bit (tested); kernels hoist the per-channel part with [`Requantizer`].
#[inline(always)]
#[must_use]
pub fn requantize(acc: i32, multiplier: i32, shift: i8) -> i32 {
    Requantizer::new(multiplier, shift).apply(acc)
}

/// One channel's requantizer with its constants precomputed, for the kernels' inner loops:
/// a 64-bit multiply, two rounding shifts and no branches per value.
///
/// With `s = sat32(acc · 2^left)` (a clamp in `i64`), `SRDHM(s, M) = ⌊(s·M + 2^30) / 2^31⌋`, an
/// arithmetic shift, clamped to `i32::MAX` for the one overflow (`s = M = i32::MIN`); and for
/// `right > 0`, `RDBPOT(h, right) = (h + 2^(right−1) − [h < 0]) >> right`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requantizer {
    multiplier: i64,
    left: u32,
    right: u32,
    /// `2^(right − 1)`, or 0 when `right = 0`.
    round: i64,
    /// 1 when `right > 0` (negative values round down one more), else 0.
    fix: i64,
}

impl Requantizer {
    /// The requantizer of a Q31 `multiplier` and a `shift` (clamped to
    /// [`MIN_SHIFT`]`..=`[`MAX_SHIFT`]).
    #[inline(always)]
    #[must_use]
    pub fn new(multiplier: i32, shift: i8) -> Self {
        let shift = shift.clamp(MIN_SHIFT, MAX_SHIFT);
        let left = u32::from(shift.max(0).unsigned_abs());
        let right = u32::from(shift.min(0).unsigned_abs());
        Self {
            multiplier: i64::from(multiplier),
            left,
            right,
            round: 1_i64.wrapping_shl(right) >> 1,
            fix: i64::from(right > 0),
        }
    }

    /// Requantizes one accumulator.
    #[inline(always)]
    #[must_use]
    pub fn apply(&self, acc: i32) -> i32 {
        let wide = if self.shifts_left() {
            self.apply_wide::<true>(acc)
        } else {
            self.apply_wide::<false>(acc)
        };
        // |wide| ≤ 2^31 − 1.
        i32::try_from(wide).unwrap_or(i32::MAX)
    }

    /// Whether the shift is a left shift (a real multiplier of at least 1; rare).
    #[inline(always)]
    #[must_use]
    pub const fn shifts_left(&self) -> bool {
        self.left != 0
    }

    /// [`apply`](Self::apply) without the final conversion: the result is in `i32`'s range, as
    /// `i64`. `LEFT` must be [`shifts_left`](Self::shifts_left); with `LEFT = false` the left
    /// shift and its saturation are skipped (they are the identity when the shift is not left).
    #[inline(always)]
    fn apply_wide<const LEFT: bool>(&self, acc: i32) -> i64 {
        const MIN: i64 = i32::MIN as i64;
        const MAX: i64 = i32::MAX as i64;
        // |acc · 2^left| ≤ 2^61 and |s · M| ≤ 2^62: no i64 overflow anywhere.
        let scaled = if LEFT {
            i64::from(acc).wrapping_shl(self.left).clamp(MIN, MAX)
        } else {
            i64::from(acc)
        };
        let high = (scaled.wrapping_mul(self.multiplier).wrapping_add(1 << 30) >> 31).min(MAX);
        high.wrapping_add(self.round)
            .wrapping_sub((high >> 63) & self.fix)
            >> self.right
    }
}

/// A [`Requantizer`] fused with an output stage (zero point, clamp): accumulator in, `i8` out,
/// for the kernels' inner loops. Same result as [`Requantizer::apply`] followed by
/// `clamp(· + zero_point, min, max)`, bit for bit (tested), in fewer operations:
///
/// - the zero point is added before the rounding shift, as `zero_point · 2^right` in the rounding
///   constant (adding a multiple of `2^right` before an arithmetic shift adds `zero_point` after
///   it);
/// - the saturation of `SRDHM`'s one overflow (`i32::MIN · i32::MIN`, only possible with a
///   negative multiplier) is left to the final clamp: `2^31` instead of `2^31 − 1` is clamped to
///   `max` all the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputRequantizer {
    multiplier: i64,
    left: u32,
    right: u32,
    /// `2^(right − 1) + zero_point · 2^right` (the first term 0 when `right = 0`).
    round: i64,
    fix: i64,
    min: i64,
    max: i64,
}

impl OutputRequantizer {
    /// Fuses `requantizer` with an output zero point and activation range `[min, max]`.
    #[inline(always)]
    #[must_use]
    pub fn new(requantizer: Requantizer, zero_point: i8, min: i8, max: i8) -> Self {
        Self {
            multiplier: requantizer.multiplier,
            left: requantizer.left,
            right: requantizer.right,
            round: requantizer
                .round
                .wrapping_add(i64::from(zero_point).wrapping_shl(requantizer.right)),
            fix: requantizer.fix,
            min: i64::from(min),
            max: i64::from(max),
        }
    }

    /// Whether the shift is a left shift (see [`Requantizer::shifts_left`]).
    #[inline(always)]
    #[must_use]
    pub const fn shifts_left(&self) -> bool {
        self.left != 0
    }

    /// Requantizes, offsets and clamps one accumulator. `LEFT` must be
    /// [`shifts_left`](Self::shifts_left) (with `false` the left shift is skipped).
    #[inline(always)]
    #[must_use]
    pub fn apply<const LEFT: bool>(&self, acc: i32) -> i8 {
        const MIN: i64 = i32::MIN as i64;
        const MAX: i64 = i32::MAX as i64;
        let scaled = if LEFT {
            i64::from(acc).wrapping_shl(self.left).clamp(MIN, MAX)
        } else {
            i64::from(acc)
        };
        // |s · M| ≤ 2^62; the sums stay below 2^40.
        let high = scaled.wrapping_mul(self.multiplier).wrapping_add(1 << 30) >> 31;
        let code = (high
            .wrapping_add(self.round)
            .wrapping_sub((high >> 63) & self.fix)
            >> self.right)
            .max(self.min)
            .min(self.max);
        // Within [min, max] ⊂ i8, so the cast is exact.
        code as i8
    }
}

/// The fused output requantizer in 32-bit arithmetic, for the kernels of 32-bit targets
/// ([`super::column`]): on a Cortex-M4 the 64-bit shifts, adds and clamps of
/// [`OutputRequantizer`] cost about three times as many instructions. Same bits as
/// [`OutputRequantizer`] and [`requantize_reference`] followed by the output stage (tested on
/// extreme and random operands).
///
/// `s = sat32(acc · 2^left)`; `h = (s·M + 2^30) >> 31` from one 32 × 32 → 64-bit multiply
/// (`SMULL`), saturated to `i32` (only `s = M = i32::MIN` overflows, and valid models have
/// `M ≥ 0`); gemmlowp's `RoundingDivideByPOT` in `i32` (mask, threshold, one compare); then the
/// zero point with a saturating add (`QADD`) and the clamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NarrowRequantizer {
    multiplier: i32,
    left: u32,
    right: u32,
    /// `2^right − 1`.
    mask: i32,
    /// `mask >> 1`.
    threshold: i32,
    zero_point: i32,
    min: i32,
    max: i32,
}

impl NarrowRequantizer {
    /// The requantizer of a Q31 `multiplier` and `shift` (clamped to
    /// [`MIN_SHIFT`]`..=`[`MAX_SHIFT`]) fused with an output zero point and range `[min, max]`.
    #[inline(always)]
    #[must_use]
    pub fn new(multiplier: i32, shift: i8, zero_point: i8, min: i8, max: i8) -> Self {
        let shift = shift.clamp(MIN_SHIFT, MAX_SHIFT);
        let left = u32::from(shift.max(0).unsigned_abs());
        let right = u32::from(shift.min(0).unsigned_abs());
        // right ≤ 31: 2^right − 1 fits (as u32, then i32 for right = 31: i32::MAX).
        let mask = (1_u32.wrapping_shl(right).wrapping_sub(1) & 0x7FFF_FFFF) as i32;
        Self {
            multiplier,
            left,
            right,
            mask,
            threshold: mask >> 1,
            zero_point: i32::from(zero_point),
            min: i32::from(min),
            max: i32::from(max),
        }
    }

    /// Whether the requantizer has no left shift and a multiplier `≥ 0`, the case of every
    /// layer of a typical model: then [`apply_plain`](Self::apply_plain) gives the same bits with
    /// neither the left shift nor the saturation of the high half.
    #[inline(always)]
    #[must_use]
    pub const fn is_plain(&self) -> bool {
        self.left == 0 && self.multiplier >= 0
    }

    /// [`apply`](Self::apply) for a requantizer that [`is_plain`](Self::is_plain) (for any other
    /// it gives a different result, still without panicking): one `SMULL`, the rounding shift,
    /// `QADD` and the clamp, about 16 instructions on a Cortex-M4.
    #[inline(always)]
    #[must_use]
    pub fn apply_plain(&self, acc: i32) -> i8 {
        // M ≥ 0: |acc·M| < 2^62, so the rounded high half lies in [−2^31, 2^31).
        let product = i64::from(acc).wrapping_mul(i64::from(self.multiplier));
        let high = (product.wrapping_add(1 << 30) >> 31) as i32;
        self.finish(high)
    }

    /// The shared last step of [`Self::apply`] and [`Self::apply_plain`]: `high` (the rounded
    /// doubling high half) divided by `2^right` rounding half away from zero, offset by the zero
    /// point and clamped.
    #[inline(always)]
    fn finish(&self, high: i32) -> i8 {
        let remainder = high & self.mask;
        let threshold = self.threshold.wrapping_add(i32::from(high < 0));
        let rounded = (high >> self.right).wrapping_add(i32::from(remainder > threshold));
        // Within [min, max] ⊂ i8 after the clamp, so the cast is exact.
        rounded
            .saturating_add(self.zero_point)
            .clamp(self.min, self.max) as i8
    }

    /// Requantizes, offsets and clamps one accumulator.
    #[inline(always)]
    #[must_use]
    pub fn apply(&self, acc: i32) -> i8 {
        let scaled = if self.left == 0 {
            acc
        } else {
            let wide = i64::from(acc).wrapping_shl(self.left);
            i32::try_from(wide).unwrap_or(if wide < 0 { i32::MIN } else { i32::MAX })
        };
        let product = i64::from(scaled).wrapping_mul(i64::from(self.multiplier));
        let high = i32::try_from(product.wrapping_add(1 << 30) >> 31).unwrap_or(i32::MAX);
        self.finish(high)
    }
}

/// The column convolution's requantizer for one channel whose accumulators are known to be small:
/// bias added, requantized, offset and clamped in about seven instructions on a Cortex-M4 with
/// the `dsp` feature, where [`NarrowRequantizer`] takes about sixteen. Same bits as
/// [`NarrowRequantizer::apply`] of `bias + sum` for every `|sum| ≤ bound` (tested).
///
/// [`new`](Self::new) accepts a channel only when `A = |bias| + bound` makes every step exact in
/// `i32`: a right shift `e ≥ 1` (`shift ≤ −1`), `M ≥ 0`, `2A < 2^31` and
/// `A + 2^(e−1) + 128 · 2^e < 2^31`. Then, with `x = 2 · (bias + sum)`:
///
/// - `h = (x · M + 2^31) >> 32` (`SMMULR`) is exactly `(acc · M + 2^30) >> 31`, the rounded high
///   half, and `|h| ≤ A`;
/// - gemmlowp's rounding division by `2^e` (ties away from zero) plus the zero point is
///   `(h + 2^(e−1) + z · 2^e − [h < 0]) >> e` (arithmetic shift): write `h = q · 2^e + r`; the
///   shifted sum is `q + z + [r ≥ 2^(e−1) + [h < 0]]`, which is gemmlowp's
///   `q + [r > (2^e − 1) / 2 + [h < 0]]` plus `z`, and no step overflows.
///
/// Trained and random models' channels qualify (accumulators below `2^26`, shifts near −10);
/// the column kernel falls back to [`NarrowRequantizer`] for any other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoundedRequantizer {
    /// `2 · bias`.
    bias2: i32,
    multiplier: i32,
    /// `2^(e−1) + z · 2^e`.
    round: i32,
    /// `e`.
    right: u32,
    min: i32,
    max: i32,
}

impl BoundedRequantizer {
    /// The requantizer of `bias + sum` for sums with `|sum| ≤ bound`, with a Q31 `multiplier`,
    /// `shift`, output zero point and range `[min, max]`; `None` when the conditions above do not
    /// hold (use [`NarrowRequantizer`]). Cost: a few dozen instructions, once per channel.
    #[must_use]
    pub fn new(
        bias: i32,
        bound: u32,
        multiplier: i32,
        shift: i8,
        zero_point: i8,
        min: i8,
        max: i8,
    ) -> Option<Self> {
        const LIMIT: i64 = 1 << 31;
        let right = u32::try_from(i32::from(shift).wrapping_neg())
            .ok()
            .filter(|e| (1..=31).contains(e))?;
        if multiplier < 0 {
            return None;
        }
        let bound = i64::from(bias)
            .wrapping_abs()
            .wrapping_add(i64::from(bound));
        let half = 1_i64.wrapping_shl(right.wrapping_sub(1));
        let offset = i64::from(zero_point).wrapping_shl(right);
        let slack = 128_i64.wrapping_shl(right);
        if bound.wrapping_mul(2) >= LIMIT || bound.wrapping_add(half).wrapping_add(slack) >= LIMIT {
            return None;
        }
        Some(Self {
            bias2: bias.wrapping_mul(2),
            multiplier,
            round: i32::try_from(half.wrapping_add(offset)).ok()?,
            right,
            min: i32::from(min),
            max: i32::from(max),
        })
    }

    /// The constants in the order [`dsp::requantize_rows`](super::dsp::requantize_rows) reads
    /// them: `[2 · bias, M, round, e, min, max]`.
    #[must_use]
    pub fn constants(&self) -> [i32; 6] {
        [
            self.bias2,
            self.multiplier,
            self.round,
            self.right as i32,
            self.min,
            self.max,
        ]
    }

    /// Requantizes, offsets and clamps `bias + sum` (valid for `|sum| ≤ bound`; any other sum
    /// gives some code without panicking).
    #[inline(always)]
    #[must_use]
    pub fn apply(&self, sum: i32) -> i8 {
        let x = self.bias2.wrapping_add(sum.wrapping_shl(1));
        let high = super::dsp::multiply_high_rounded(x, self.multiplier);
        let code = high.wrapping_add(self.round.wrapping_add(high >> 31)) >> self.right;
        // Within [min, max] ⊂ i8 after the clamp, so the cast is exact.
        code.max(self.min).min(self.max) as i8
    }
}

/// The requantizer written from its definition in `i128` (reference twin of [`requantize`]):
///
/// 1. `s = clamp(acc · 2^max(n, 0), i32::MIN, i32::MAX)`;
/// 2. `h = ⌊(s · M + 2^30) / 2^31⌋` (nearest, ties toward +∞), clamped to `i32`;
/// 3. `r = sign(h) · ⌊(|h| + 2^(e−1)) / 2^e⌋` for `e = max(−n, 0) > 0` (nearest, ties away from
///    zero), `r = h` for `e = 0`.
#[must_use]
pub fn requantize_reference(acc: i32, multiplier: i32, shift: i8) -> i32 {
    const I32_MIN: i128 = i32::MIN as i128;
    const I32_MAX: i128 = i32::MAX as i128;
    let shift = i32::from(shift.clamp(MIN_SHIFT, MAX_SHIFT));
    let left = shift.max(0).unsigned_abs();
    let right = shift.min(0).unsigned_abs();
    // Every intermediate is below 2^95 in magnitude: no i128 overflow.
    let scaled = (i128::from(acc).wrapping_shl(left)).clamp(I32_MIN, I32_MAX);
    let product = scaled.wrapping_mul(i128::from(multiplier));
    let high = product
        .wrapping_add(1 << 30)
        .div_euclid(1 << 31)
        .clamp(I32_MIN, I32_MAX);
    let result = if right == 0 {
        high
    } else {
        let divisor = 1_i128.wrapping_shl(right);
        let magnitude = high
            .wrapping_abs()
            .wrapping_add(divisor.wrapping_div(2))
            .checked_div(divisor)
            .unwrap_or(0);
        if high < 0 {
            magnitude.wrapping_neg()
        } else {
            magnitude
        }
    };
    // |result| ≤ 2^31 − 1 after the clamps, so the conversion is exact.
    i32::try_from(result).unwrap_or(i32::MAX)
}

/// A requantization multiplier: Q31 `multiplier` and `shift`, as stored per channel in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuantizedMultiplier {
    /// Q31 fixed point, in `[2^30, 2^31)`, or 0 for a zero multiplier.
    pub multiplier: i32,
    /// TFLite convention: positive shifts left.
    pub shift: i8,
}

/// TFLite's `QuantizeMultiplier` for exporters: `real ≈ multiplier · 2^(shift − 31)` with
/// `multiplier = round(frac · 2^31)` (ties away from zero) where `real = frac · 2^shift`,
/// `frac ∈ [0.5, 1)`; a rounding up to `2^31` is renormalized (`2^30`, `shift + 1`).
///
/// Computed from the bits of `real` with integer operations, so every machine gives the same
/// answer. Returns `None` for negative, NaN or infinite values and for values whose shift falls
/// outside [`MIN_SHIFT`]`..=`[`MAX_SHIFT`] (`real ≥ 2^30` or `real < 2^−32` and non-zero);
/// `0.0` gives `(0, 0)`.
#[must_use]
pub fn quantize_multiplier(real: f64) -> Option<QuantizedMultiplier> {
    const MANTISSA_BITS: u32 = 52;
    if real == 0.0 {
        return Some(QuantizedMultiplier {
            multiplier: 0,
            shift: 0,
        });
    }
    if !(real.is_finite() && real > 0.0) {
        return None;
    }
    let bits = real.to_bits();
    let biased = i32::try_from((bits >> MANTISSA_BITS) & 0x7ff).ok()?;
    let fraction = bits & ((1_u64 << MANTISSA_BITS) - 1);
    // real = significand · 2^(exponent − 52), significand < 2^53.
    let (significand, exponent) = if biased == 0 {
        (fraction, -1022_i32)
    } else {
        (
            fraction | (1_u64 << MANTISSA_BITS),
            biased.wrapping_sub(1023),
        )
    };
    // Normalize so that significand ∈ [2^52, 2^53) (subnormals: shift up).
    let lead = significand.leading_zeros().wrapping_sub(11);
    let significand = significand.wrapping_shl(lead);
    let exponent = exponent.wrapping_sub(i32::try_from(lead).ok()?);
    // frac = significand / 2^53 ∈ [0.5, 1), real = frac · 2^(exponent + 1).
    let mut shift = exponent.wrapping_add(1);
    // round(frac · 2^31) = round(significand / 2^22), ties away from zero (positive: half up).
    let mut q = significand.wrapping_add(1 << 21) >> 22;
    if q == 1 << 31 {
        q >>= 1;
        shift = shift.wrapping_add(1);
    }
    let shift = i8::try_from(shift)
        .ok()
        .filter(|s| (MIN_SHIFT..=MAX_SHIFT).contains(s))?;
    Some(QuantizedMultiplier {
        multiplier: i32::try_from(q).ok()?,
        shift,
    })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn srdhm_edge_cases_from_gemmlowp_and_tflite() {
        // The single overflow case saturates.
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
            i32::MAX
        );
        // MIN · MAX is representable: −(2^31 − 1) after rounding.
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX),
            -i32::MAX
        );
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MAX, i32::MAX),
            i32::MAX - 1
        );
        // Ties go toward +∞: ±0.5 → 1 and 0; ±1.5 → 2 and −1.
        assert_eq!(saturating_rounding_doubling_high_mul(1, 1 << 30), 1);
        assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 30), 0);
        assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 30), 2);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
        assert_eq!(saturating_rounding_doubling_high_mul(0, i32::MIN), 0);
        // Multiplying by 2^31 − 1 ≈ 1.0.
        assert_eq!(
            saturating_rounding_doubling_high_mul(123_456, i32::MAX),
            123_456
        );
    }

    #[test]
    fn rdbpot_rounds_half_away_from_zero() {
        let cases = [
            (5, 1, 3),
            (-5, 1, -3),
            (3, 1, 2),
            (-3, 1, -2),
            (1, 1, 1),
            (-1, 1, -1),
            (4, 2, 1),
            (6, 2, 2),
            (-6, 2, -2),
            (-7, 2, -2),
            (7, 0, 7),
            (i32::MAX, 31, 1),
            (i32::MIN, 31, -1),
            (i32::MIN, 1, i32::MIN / 2),
            (i32::MAX, 1, 1 << 30),
            (-(1 << 30), 31, -1),
            ((1 << 30) - 1, 31, 0),
        ];
        for (x, e, want) in cases {
            assert_eq!(rounding_divide_by_pot(x, e), want, "{x} / 2^{e}");
        }
    }

    #[test]
    fn requantize_known_values() {
        // 0.5 = 2^30 · 2^(0 − 31): 3 · 0.5 = 1.5 → 2.
        assert_eq!(requantize(3, 1 << 30, 0), 2);
        // 0.25: −6 · 0.25 = −1.5: SRDHM(−6, 2^30) = −3 exactly, then −3/2 → −2 (away from zero).
        assert_eq!(requantize(-6, 1 << 30, -1), -2);
        // Double rounding (TFLite's default): 5 · 0.25 = 1.25, but SRDHM rounds 2.5 up to 3 and
        // RDBPOT rounds 1.5 away from zero to 2; on the negative side −2.5 → −2 → −1.
        assert_eq!(requantize(5, 1 << 30, -1), 2);
        assert_eq!(requantize(-5, 1 << 30, -1), -1);
        // Left shifts saturate before the multiplication.
        assert_eq!(requantize(i32::MAX, 1 << 30, 30), i32::MAX / 2 + 1);
        assert_eq!(requantize(i32::MIN, 1 << 30, 30), i32::MIN / 2);
        assert_eq!(requantize(1 << 20, 1 << 30, 10), 1 << 29);
        // Shifts outside the range are clamped.
        assert_eq!(
            requantize(1 << 20, 1 << 30, 100),
            requantize(1 << 20, 1 << 30, 30)
        );
        assert_eq!(
            requantize(1 << 20, 1 << 30, -100),
            requantize(1 << 20, 1 << 30, -31)
        );
        for (acc, m, n) in [
            (3, 1 << 30, 0),
            (-6, 1 << 30, -1),
            (5, 1 << 30, -1),
            (i32::MIN, i32::MIN, 0),
        ] {
            assert_eq!(requantize(acc, m, n), requantize_reference(acc, m, n));
        }
    }

    #[test]
    fn agree_on_extreme_operands() {
        let values = [
            i32::MIN,
            i32::MIN + 1,
            -(1 << 30),
            -3,
            -1,
            0,
            1,
            2,
            (1 << 30) - 1,
            1 << 30,
            i32::MAX - 1,
            i32::MAX,
        ];
        for &acc in &values {
            for &multiplier in &values {
                for shift in MIN_SHIFT - 2..=MAX_SHIFT + 2 {
                    let want = requantize_reference(acc, multiplier, shift);
                    assert_eq!(
                        requantize(acc, multiplier, shift),
                        want,
                        "acc {acc} multiplier {multiplier} shift {shift}"
                    );
                    assert_eq!(gemmlowp(acc, multiplier, shift), want);
                }
            }
        }
    }

    #[test]
    fn quantize_multiplier_matches_tflite() {
        let q = |x: f64| quantize_multiplier(x).map(|q| (q.multiplier, q.shift));
        assert_eq!(q(0.0), Some((0, 0)));
        assert_eq!(q(0.5), Some((1 << 30, 0)));
        assert_eq!(q(1.0), Some((1 << 30, 1)));
        assert_eq!(q(0.25), Some((1 << 30, -1)));
        assert_eq!(q(0.75), Some((3 << 29, 0)));
        // Rounds up to 2^31 and renormalizes.
        assert_eq!(q(1.0 - 1e-12), Some((1 << 30, 1)));
        assert_eq!(q(-0.5), None);
        assert_eq!(q(f64::NAN), None);
        assert_eq!(q(f64::INFINITY), None);
        assert_eq!(q(2f64.powi(30)), None);
        assert_eq!(q(2f64.powi(29)), Some((1 << 30, 30)));
        assert_eq!(q(2f64.powi(-32)), Some((1 << 30, -31)));
        assert_eq!(q(2f64.powi(-33)), None);
        // Against frexp-and-round in f64 on a spread of values.
        for k in 1..2000 {
            let real = f64::from(k) * 0.000_731 + 1e-6;
            let (frac, exp) = frexp(real);
            let mut m = (frac * 2f64.powi(31)).round() as i64;
            let mut shift = exp;
            if m == 1 << 31 {
                m /= 2;
                shift += 1;
            }
            assert_eq!(q(real), Some((m as i32, shift as i8)), "{real}");
        }
    }

    fn frexp(x: f64) -> (f64, i32) {
        let mut e = x.log2().floor() as i32 + 1;
        let mut f = x / 2f64.powi(e);
        while f >= 1.0 {
            f /= 2.0;
            e += 1;
        }
        while f < 0.5 {
            f *= 2.0;
            e -= 1;
        }
        (f, e)
    }

    /// TFLite's `MultiplyByQuantizedMultiplier` composed from the gemmlowp ports, with the left
    /// shift saturated.
    fn gemmlowp(acc: i32, multiplier: i32, shift: i8) -> i32 {
        let shift = shift.clamp(MIN_SHIFT, MAX_SHIFT);
        let left = shift.max(0) as u32;
        let right = (-i32::from(shift)).max(0) as u32;
        rounding_divide_by_pot(
            saturating_rounding_doubling_high_mul(acc.saturating_mul(1 << left), multiplier),
            right,
        )
    }

    /// The reference requantizer followed by the output stage.
    fn finish_reference(acc: i32, multiplier: i32, shift: i8, zp: i8, min: i8, max: i8) -> i8 {
        (i64::from(requantize_reference(acc, multiplier, shift)) + i64::from(zp))
            .max(i64::from(min))
            .min(i64::from(max)) as i8
    }

    fn fused(acc: i32, multiplier: i32, shift: i8, zp: i8, min: i8, max: i8) -> i8 {
        let r = OutputRequantizer::new(Requantizer::new(multiplier, shift), zp, min, max);
        if r.shifts_left() {
            r.apply::<true>(acc)
        } else {
            r.apply::<false>(acc)
        }
    }

    fn narrow(acc: i32, multiplier: i32, shift: i8, zp: i8, min: i8, max: i8) -> i8 {
        NarrowRequantizer::new(multiplier, shift, zp, min, max).apply(acc)
    }

    #[test]
    fn fused_agrees_on_extreme_operands() {
        let values = [
            i32::MIN,
            i32::MIN + 1,
            -(1 << 30),
            -3,
            -1,
            0,
            1,
            3,
            1 << 30,
            i32::MAX,
        ];
        for &acc in &values {
            for &multiplier in &values {
                for shift in [-31, -30, -8, -1, 0, 1, 2, 29, 30] {
                    for (zp, min, max) in [
                        (0, -128, 127),
                        (-128, -128, 127),
                        (127, 127, 127),
                        (-5, -5, 100),
                    ] {
                        let want = finish_reference(acc, multiplier, shift, zp, min, max);
                        assert_eq!(
                            fused(acc, multiplier, shift, zp, min, max),
                            want,
                            "acc {acc} multiplier {multiplier} shift {shift} zp {zp}"
                        );
                        assert_eq!(
                            narrow(acc, multiplier, shift, zp, min, max),
                            want,
                            "narrow: acc {acc} multiplier {multiplier} shift {shift} zp {zp}"
                        );
                        let r = NarrowRequantizer::new(multiplier, shift, zp, min, max);
                        if r.is_plain() {
                            assert_eq!(r.apply_plain(acc), want, "plain: acc {acc} {multiplier}");
                        }
                    }
                }
            }
        }
    }

    /// `NarrowRequantizer` of `bias + sum` and `BoundedRequantizer` when it accepts the channel.
    fn bounded_case(
        bias: i32,
        sum: i32,
        bound: u32,
        multiplier: i32,
        shift: i8,
        stage: (i8, i8, i8),
    ) {
        let (zp, min, max) = stage;
        let want = narrow(bias.wrapping_add(sum), multiplier, shift, zp, min, max);
        assert_eq!(
            want,
            finish_reference(bias.wrapping_add(sum), multiplier, shift, zp, min, max)
        );
        if let Some(r) = BoundedRequantizer::new(bias, bound, multiplier, shift, zp, min, max) {
            assert_eq!(
                r.apply(sum),
                want,
                "bias {bias} sum {sum} M {multiplier} shift {shift}"
            );
        }
    }

    #[test]
    fn bounded_agrees_at_its_limits() {
        let stages = [
            (0, -128, 127),
            (-100, -100, 127),
            (127, 127, 127),
            (-5, -5, 100),
        ];
        for shift in [-31, -30, -22, -21, -13, -8, -2, -1] {
            for multiplier in [0, 1, 1 << 30, (1 << 30) + 12345, i32::MAX] {
                for bias in [0, 1, -1, 1 << 20, -(1 << 20), (1 << 29) - 5000, -(1 << 29)] {
                    for bound in [0_u32, 1, 4096, 1 << 20, 1 << 28] {
                        let b = bound as i32;
                        for sum in [0, 1, -1, b, -b, b / 2, -b / 3, b - 1] {
                            for &stage in &stages {
                                bounded_case(bias, sum, bound, multiplier, shift, stage);
                            }
                        }
                    }
                }
            }
        }
        // Refused: left shifts, shift 0, negative multipliers, bounds too large for i32 steps.
        let new =
            |bias, bound, m, shift| BoundedRequantizer::new(bias, bound, m, shift, 0, -128, 127);
        assert!(new(0, 100, 1 << 30, 0).is_none());
        assert!(new(0, 100, 1 << 30, 3).is_none());
        assert!(new(0, 100, -1, -8).is_none());
        assert!(new(0, 1 << 30, 1 << 30, -8).is_none());
        assert!(new(1 << 30, 0, 1 << 30, -8).is_none());
        assert!(new(0, 100, 1 << 30, -31).is_none());
        assert!(new(0, 100, 1 << 30, -8).is_some());
        assert!(new(-(1 << 20), 1 << 24, 1 << 30, -13).is_some());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn fused_agrees_on_random_inputs(
            acc in any::<i32>(), multiplier in any::<i32>(), shift in -40_i8..40,
            zp in any::<i8>(), a in any::<i8>(), b in any::<i8>(),
        ) {
            let (min, max) = (a.min(b), a.max(b));
            let want = finish_reference(acc, multiplier, shift, zp, min, max);
            prop_assert_eq!(fused(acc, multiplier, shift, zp, min, max), want);
            prop_assert_eq!(narrow(acc, multiplier, shift, zp, min, max), want);
        }

        #[test]
        fn agree_on_random_inputs(acc in any::<i32>(), multiplier in any::<i32>(), shift in -40_i8..40) {
            let want = requantize_reference(acc, multiplier, shift);
            prop_assert_eq!(requantize(acc, multiplier, shift), want);
            prop_assert_eq!(gemmlowp(acc, multiplier, shift), want);
        }

        #[test]
        fn agree_on_realistic_inputs(acc in -(1_i32 << 24)..(1 << 24), multiplier in (1_i32 << 30)..i32::MAX, shift in MIN_SHIFT..=0) {
            prop_assert_eq!(requantize(acc, multiplier, shift), requantize_reference(acc, multiplier, shift));
        }

        #[test]
        fn narrow_agrees_on_realistic_inputs(
            acc in -(1_i32 << 24)..(1 << 24), multiplier in (1_i32 << 30)..i32::MAX,
            shift in MIN_SHIFT..=2, zp in any::<i8>(), relu in any::<bool>(),
        ) {
            let min = if relu { zp } else { -128 };
            let want = finish_reference(acc, multiplier, shift, zp, min, 127);
            prop_assert_eq!(narrow(acc, multiplier, shift, zp, min, 127), want);
            let r = NarrowRequantizer::new(multiplier, shift, zp, min, 127);
            if shift <= 0 {
                prop_assert!(r.is_plain());
                prop_assert_eq!(r.apply_plain(acc), want);
            }
        }

        #[test]
        fn bounded_agrees_on_random_inputs(
            bias in -(1_i32 << 26)..(1 << 26), bound in 0_u32..(1 << 26),
            fraction in -1.0_f64..=1.0, multiplier in 0_i32..=i32::MAX, shift in -31_i8..=-1,
            zp in any::<i8>(), relu in any::<bool>(),
        ) {
            let sum = (f64::from(bound) * fraction) as i32;
            let min = if relu { zp } else { -128 };
            bounded_case(bias, sum, bound, multiplier, shift, (zp, min, 127));
        }

        #[test]
        fn srdhm_is_the_rounded_product(a in any::<i32>(), b in any::<i32>()) {
            let exact = i128::from(a) * i128::from(b);
            let want = ((exact + (1 << 30)).div_euclid(1 << 31)).clamp(i128::from(i32::MIN), i128::from(i32::MAX));
            prop_assert_eq!(i128::from(saturating_rounding_doubling_high_mul(a, b)), want);
        }
    }
}
