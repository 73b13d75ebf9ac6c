//! int8 kernels: one module per operator, each a plain `*_reference` version first and an
//! optimized one tested against it bit for bit.
//!
//! # Quantization scheme (TFLite / CMSIS-NN int8)
//!
//! A real value `r` is stored as an `i8` code `q` with a scale `s > 0` and a zero point `z`:
//!
//! ```text
//! r = s · (q − z)
//! ```
//!
//! - **Activations**: `i8`, one `(s, z)` per tensor. The network input is the front end's feature
//!   codes as they are: `s = 1/128`, `z = 0` (checked when a model is loaded).
//! - **Weights**: `i8`, symmetric, one scale per output channel `c`: `r = s_w[c] · q` (`z = 0`).
//! - **Bias**: `i32` per output channel, scale `s_in · s_w[c]`, zero point 0.
//! - **Accumulator** of output channel `c` at one position, over its receptive field:
//!   `acc = bias[c] + Σ q_w · (q_in − z_in)`. Zero padding pads with the real value 0, i.e. with the
//!   code `z_in`, so a padded tap contributes exactly 0. Each product fits in 16 bits
//!   (`|q_w · (q_in − z_in)| ≤ 128 · 255 = 32,640`), which is what makes the `i16` dot products
//!   of the optimized kernels exact.
//! - **Requantization** ([`requant`]): the real multiplier `m[c] = s_in · s_w[c] / s_out` is stored
//!   as a Q31 fixed-point multiplier `M ∈ [2^30, 2^31)` (or 0) and a shift `n ∈ [−31, 30]` with
//!   `m ≈ M · 2^(n − 31)` (TFLite's `QuantizeMultiplier`; `n > 0` shifts left). Then
//!
//!   ```text
//!   q_out = clamp(z_out + RDBPOT(SRDHM(sat32(acc · 2^max(n, 0)), M), max(−n, 0)), act_min, act_max)
//!   ```
//!
//!   where `SRDHM(a, b)` = `a·b / 2^31` rounded to nearest with ties toward +∞, saturated (its one
//!   overflow, `a = b = i32::MIN`, gives `i32::MAX`) and `RDBPOT(x, e)` = `x / 2^e` rounded to
//!   nearest with ties away from zero: gemmlowp's `SaturatingRoundingDoublingHighMul` and
//!   `RoundingDivideByPOT`, i.e. TFLite's `MultiplyByQuantizedMultiplier` with its default double
//!   rounding (not `TFLITE_SINGLE_ROUNDING`). `sat32` saturates the left shift to `i32` (C++ TFLite
//!   leaves that overflow undefined; with a multiplier of at least `2^30` it changes nothing after the
//!   clamp). The sum with `z_out` and the clamp are exact.
//! - **Fused ReLU**: `act_min = z_out` (the code of real 0); no activation: `[−128, 127]`.
//! - **Max pooling** works on codes; its output keeps the input's `(s, z)` (max commutes with the
//!   increasing map `q ↦ s · (q − z)`).
//! - **Linear**: a convolution with one output position over the flattened input. The last layer of
//!   a network is a linear layer whose `i8` output is the **logits**, with the network's logit scale
//!   and zero point ([`output`] turns them into Q15 probabilities without floats).
//! - **Accumulation is `i32` with wrapping (mod 2^32) addition**. Wrapping addition is associative
//!   and commutative, so every loop order (reference or optimized) gives the same bits; with at most
//!   [`MAX_PATCH`](crate::model::MAX_PATCH) = 65,536 taps (`65,536 · 32,640 < 2^31`) and a sane bias
//!   it never wraps at all.
//!
//! # Memory layout: channels last
//!
//! Activations are **HWC** (`[y][x][c]`, TFLite's NHWC without the batch): the `kh × kw × C` patch
//! under one output position is `kh` contiguous runs of `kw · C` bytes, so the optimized convolution
//! copies long runs and its dot products walk contiguous memory. Convolution weights are **OHWI**
//! (`[out][ky][kx][in]`), the same order as a patch. Linear weights are `[out][in]` with the inputs
//! in HWC flatten order. The model input arrives in the front end's plane layout
//! (`[window][bin][frame]`, CHW) and is transposed once (see [`crate::inference`]);
//! [`crate::model::layout`] converts PyTorch's OIHW weights and CHW-flatten columns for export.
//!
//! # Kernels
//!
//! | module | operator | optimized version |
//! |---|---|---|
//! | [`conv2d`](mod@conv2d) | convolution, any kernel/stride/zero padding, per-channel requant, fused ReLU | im2col row panel in `i16`, four columns per weight row; x86_64: explicit `pmaddwd` in SSE2 and AVX2 versions chosen at run time ([`dispatch`]); elsewhere 32-element `i16` blocks; fused requantizer |
//! | [`maxpool`] | max pooling, no padding, floor | contiguous channel runs |
//! | [`linear`](mod@linear) | fully connected | zero point folded out of the inner loop |
//! | [`output`] | softmax / sigmoid of the logits in Q15, integer only | (one implementation) |
//! | [`column`](mod@column) | one output column of a convolution or max pooling from a ring of input columns (for [`crate::streaming`]) | panel of patches in `[kx][ky][c]` order widened to `i16` pairs, two channels × two patches per pass ([`dsp::dot_panel`]: a hand-written `SMLAD` loop on Cortex-M4 with the `dsp` feature), bounded 32-bit requantizer |
//! | [`requant`] | the requantizer | branch-free 64-bit form, constants hoisted (reference: the definition in `i128`; gemmlowp's two functions ported and tested against both) |

pub mod column;
pub mod conv2d;
pub mod dispatch;
pub mod dsp;
pub mod linear;
pub mod maxpool;
pub mod output;
pub mod requant;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use conv2d::{Conv2d, conv2d, conv2d_reference};
pub use linear::{Linear, linear, linear_reference};
pub use maxpool::{MaxPool2d, maxpool2d, maxpool2d_reference};

use crate::model::spec::QuantSpec;
use requant::{MAX_SHIFT, MIN_SHIFT};
use serde::{Deserialize, Serialize};

/// The shape of an activation tensor, stored channels last (HWC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    /// Rows (`y`; frequency bins for the network input).
    pub height: usize,
    /// Columns (`x`; frames for the network input).
    pub width: usize,
    /// Channels (`c`; stacked windows for the network input).
    pub channels: usize,
}

impl Shape {
    /// A shape of `height × width × channels`.
    #[must_use]
    pub const fn new(height: usize, width: usize, channels: usize) -> Self {
        Self {
            height,
            width,
            channels,
        }
    }

    /// Number of elements (= bytes of `i8`), or `None` if it overflows `usize`.
    #[must_use]
    pub const fn checked_len(&self) -> Option<usize> {
        match self.height.checked_mul(self.width) {
            Some(plane) => plane.checked_mul(self.channels),
            None => None,
        }
    }

    /// Number of elements, saturating (exact for every shape of a validated layer).
    #[must_use]
    pub const fn len(&self) -> usize {
        match self.checked_len() {
            Some(len) => len,
            None => usize::MAX,
        }
    }

    /// Whether the tensor has no elements.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A positive rational number `num / den`: how the model file stores real scales exactly
/// (the network input's `1/128`, the logits' scale). Any `f32` scale can be written exactly as
/// `mantissa / 2^k` when `k ≤ 31`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ratio {
    /// Numerator.
    pub num: u32,
    /// Denominator.
    pub den: u32,
}

impl Ratio {
    /// `num / den`.
    #[must_use]
    pub const fn new(num: u32, den: u32) -> Self {
        Self { num, den }
    }

    /// Whether both parts are non-zero (the only ratios a model accepts as scales).
    #[must_use]
    pub const fn is_positive(&self) -> bool {
        self.num != 0 && self.den != 0
    }

    /// Whether `self` and `other` are the same number (cross-multiplied, exact).
    #[must_use]
    pub fn same_value(&self, other: &Self) -> bool {
        u64::from(self.num).wrapping_mul(u64::from(other.den))
            == u64::from(other.num).wrapping_mul(u64::from(self.den))
    }

    /// The value as `f64` (for hosts that dequantize logits; not used by the integer path).
    #[must_use]
    pub fn to_f64(&self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }
}

/// Why a layer description was refused (the model loader adds which network and layer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerError {
    /// The layer does not fit its input shape (channel count, a kernel larger than the padded
    /// input, padding not smaller than the kernel, a zero size, an arithmetic overflow).
    Shape,
    /// A weight, bias, multiplier or shift slice does not have the length the shapes require.
    WeightsLength,
    /// A requantization parameter is out of range (multiplier < 0, shift outside [−31, 30],
    /// `act_min > act_max`) or the input zero point is not the previous layer's output zero point.
    Quantization,
}

/// The output stage of a layer: zero point and activation range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OutputStage {
    zero_point: i8,
    min: i8,
    max: i8,
}

impl OutputStage {
    /// The output zero point.
    #[must_use]
    pub const fn zero_point(&self) -> i8 {
        self.zero_point
    }

    /// The activation range `[min, max]` the output is clamped to.
    #[must_use]
    pub const fn range(&self) -> (i8, i8) {
        (self.min, self.max)
    }

    /// Whether the range starts at the zero point (a fused ReLU).
    #[must_use]
    pub const fn is_relu(&self) -> bool {
        self.min == self.zero_point
    }

    /// `clamp(scaled + zero_point, min, max)`, exact (the sum saturates, which the clamp hides).
    #[inline(always)]
    #[must_use]
    pub fn finish(&self, scaled: i32) -> i8 {
        self.finish_wide(i64::from(scaled))
    }

    /// [`finish`](Self::finish) of a value in `i32`'s range held in an `i64` (no overflow).
    #[inline(always)]
    #[must_use]
    pub fn finish_wide(&self, scaled: i64) -> i8 {
        let code = scaled
            .wrapping_add(i64::from(self.zero_point))
            .max(i64::from(self.min))
            .min(i64::from(self.max));
        // Within [min, max] ⊂ i8 now, so the cast is exact.
        code as i8
    }
}

/// One output channel's integer parameters, decoded from the file's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelParams {
    /// The `i32` bias.
    pub bias: i32,
    /// The Q31 multiplier.
    pub multiplier: i32,
    /// The shift (TFLite's sign convention: positive shifts left).
    pub shift: i8,
}

impl ChannelParams {
    /// This channel's requantizer, constants precomputed.
    #[inline(always)]
    #[must_use]
    pub fn requantizer(&self) -> requant::Requantizer {
        requant::Requantizer::new(self.multiplier, self.shift)
    }

    /// This channel's requantizer fused with the layer's output stage.
    #[inline(always)]
    #[must_use]
    pub fn output_requantizer(&self, stage: OutputStage) -> requant::OutputRequantizer {
        requant::OutputRequantizer::new(self.requantizer(), stage.zero_point, stage.min, stage.max)
    }
}

/// Validated per-output-channel quantization of a convolution or linear layer: `i32` biases,
/// multipliers and `i8` shifts, read in place from the file (little-endian bytes), and the output
/// stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requantization<'a> {
    bias: &'a [u8],
    multipliers: &'a [u8],
    shifts: &'a [i8],
    input_zero_point: i8,
    output: OutputStage,
}

impl<'a> Requantization<'a> {
    /// Checks `spec` for `channels` output channels fed by activations with zero point
    /// `input_zero_point`.
    ///
    /// # Errors
    /// [`LayerError::WeightsLength`] for slices of the wrong length, [`LayerError::Quantization`]
    /// for out-of-range values or a wrong input zero point.
    pub fn new(
        spec: &QuantSpec<'a>,
        channels: usize,
        input_zero_point: i8,
    ) -> Result<Self, LayerError> {
        let words = channels.checked_mul(4).ok_or(LayerError::Shape)?;
        if spec.bias.len() != words
            || spec.multipliers.len() != words
            || spec.shifts.len() != channels
        {
            return Err(LayerError::WeightsLength);
        }
        let shifts: &'a [i8] = bytemuck::must_cast_slice(spec.shifts);
        let multipliers_ok = spec
            .multipliers
            .chunks_exact(4)
            .all(|bytes| read_i32(bytes) >= 0);
        let shifts_ok = shifts
            .iter()
            .all(|shift| (MIN_SHIFT..=MAX_SHIFT).contains(shift));
        if !multipliers_ok
            || !shifts_ok
            || spec.activation_min > spec.activation_max
            || spec.input_zero_point != input_zero_point
        {
            return Err(LayerError::Quantization);
        }
        Ok(Self {
            bias: spec.bias,
            multipliers: spec.multipliers,
            shifts,
            input_zero_point,
            output: OutputStage {
                zero_point: spec.output_zero_point,
                min: spec.activation_min,
                max: spec.activation_max,
            },
        })
    }

    /// The parameters of each output channel, in order.
    pub fn channels(&self) -> impl Iterator<Item = ChannelParams> + '_ {
        self.bias
            .chunks_exact(4)
            .zip(self.multipliers.chunks_exact(4))
            .zip(self.shifts)
            .map(|((bias, multiplier), &shift)| ChannelParams {
                bias: read_i32(bias),
                multiplier: read_i32(multiplier),
                shift,
            })
    }

    /// The zero point of the layer's input.
    #[must_use]
    pub const fn input_zero_point(&self) -> i8 {
        self.input_zero_point
    }

    /// The output zero point and activation range.
    #[must_use]
    pub const fn output(&self) -> OutputStage {
        self.output
    }

    /// Bytes of parameters (biases, multipliers, shifts).
    #[must_use]
    pub const fn parameter_bytes(&self) -> usize {
        self.bias
            .len()
            .saturating_add(self.multipliers.len())
            .saturating_add(self.shifts.len())
    }

    /// The optimized output path of one channel: requantize, add zero point, clamp (kernels
    /// hoist [`ChannelParams::requantizer`] out of their loops instead).
    #[inline(always)]
    #[must_use]
    pub fn finish(&self, acc: i32, channel: ChannelParams) -> i8 {
        self.output.finish(channel.requantizer().apply(acc))
    }

    /// The reference output path of one channel (the `i128` requantizer).
    #[must_use]
    pub fn finish_reference(&self, acc: i32, channel: ChannelParams) -> i8 {
        self.output.finish(requant::requantize_reference(
            acc,
            channel.multiplier,
            channel.shift,
        ))
    }
}

/// Little-endian `i32` from the first four bytes of `bytes` (0 if there are fewer; callers pass
/// `chunks_exact(4)` items).
#[inline(always)]
fn read_i32(bytes: &[u8]) -> i32 {
    match bytes.first_chunk::<4>() {
        Some(word) => i32::from_le_bytes(*word),
        None => 0,
    }
}

/// Converts a validated size (at most a few MiB) to `u64` for MAC counts.
#[inline]
fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
