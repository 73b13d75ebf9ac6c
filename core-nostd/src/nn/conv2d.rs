//! 2-D convolution: `i8` HWC input, OHWI `i8` weights, `i32` bias, per-channel requantization,
//! fused ReLU through the clamp; any kernel size, stride and zero padding.
//!
//! # The definition ([`conv2d_reference`])
//!
//! ```text
//! out[oy][ox][o] = finish_o( bias[o] + Σ_{ky, kx, c} w[o][ky][kx][c] · (in[oy·sy + ky − py][ox·sx + kx − px][c] − z_in) )
//! ```
//!
//! where taps outside the input read `z_in` (zero padding in real terms) and `finish_o` is the
//! requantizer of channel `o` followed by the output zero point and clamp. The output is
//! `Ho × Wo × O` with `Ho = ⌊(H + 2·py − kh) / sy⌋ + 1` (likewise `Wo`).
//!
//! # How it is fast ([`conv2d`])
//!
//! 1. Patch rows are zero-padded to a multiple of [`PATCH_ALIGN`] = 32 `i16` (`Kp ≥ K = kh·kw·C`).
//! 2. For each output row, an **im2col row panel** is built: for each output column, its patch as
//!    `Kp` values `in − z_in` in `i16` (0 for padding taps and the tail). In HWC the patch is `kh`
//!    contiguous runs of `kw·C` bytes, so this is `kh` vectorized widening copies per column; the
//!    input zero point is subtracted here, once per patch element, so the inner loop needs no
//!    zero-point correction (and padding is exactly 0).
//! 3. Channel by channel, the channel's weights are widened to `i16` (one row of `Kp`, which then
//!    stays in L1 for the whole output row), and each output is a dot product of two contiguous
//!    `i16` rows, four output columns at a time (sharing the weight loads), stopping at `K`
//!    rounded up to 16 (the rest of the tail is zeros). Each product fits in 16 bits (see the
//!    [scheme](super#quantization-scheme-tflite--cmsis-nn-int8)), which is what `pmaddwd` (x86)
//!    and `SMLAD` (Arm) need:
//!    - **x86_64** (the private module `nn::x86`): explicit `pmaddwd` with vector accumulators and one
//!      horizontal sum per four outputs, compiled twice, SSE2 (every x86_64) and AVX2, and chosen
//!      at run time ([`dispatch`]: CPUID, cached), so a default `cargo build --release` runs AVX2
//!      where the CPU has it. Left to LLVM, the blocks below compiled to a seven-instruction
//!      horizontal add per 32 products (the whole network measured 1.25× slower with AVX2).
//!    - **elsewhere** (Cortex-M4): the same rows as sums of fixed 32-element blocks (`dot`) or
//!      consecutive pairs, the shape LLVM's ARM parallel-DSP pass turns into `SMLAD`.
//!
//!    The `i32` sums wrap, so every version gives the same bits (tested against the reference on
//!    random shapes at every level the CPU runs).
//! 4. The accumulator plus bias goes through the requantizer fused with the output stage
//!    ([`OutputRequantizer`]: one 64-bit multiply, two shifts, a clamp), its constants hoisted per
//!    channel.
//!
//! The portable block shape was measured, not guessed (x86_64, SSE2, before the explicit
//! version): 16-element blocks were about 15% slower, 64-element blocks about 2× slower, four
//! columns per weight row or 2×2 tiles 2.5–8× slower (LLVM fell back to narrow or scalar code), and
//! a plain whole-row `sum()` vectorized well or badly depending on where it was inlined;
//! `benches/inference.rs` times each layer at each level, so a regression shows there.
//!
//! Cost: `Ho·Wo·O·K16` multiply-adds (`K16` = `K` rounded up to 16, at most `Kp`) plus `Ho·Wo·Kp` panel writes (`1/O` of the work) and
//! `Ho·O·Kp` weight widenings (`1/Wo`). Workspace: `(1 + Wo) · Kp` `i16` (one weight row, one
//! panel; [`Conv2d::workspace_len`]), at most 30 KiB for the reference network's layers.
//! Widening all the weights once per call instead measured 1–2% faster on the host but needs
//! `O · Kp` `i16` (147 KiB for the last layer), too much for a microcontroller.

use super::dispatch::{self, Isa};
use super::requant::OutputRequantizer;
#[cfg(target_arch = "x86_64")]
use super::x86;
use super::{LayerError, Requantization, Shape, to_u64};
use crate::model::spec::Conv2dSpec;

/// Patch rows are zero-padded to a multiple of this many `i16` (the dot products' block).
pub const PATCH_ALIGN: usize = 32;

/// A validated convolution layer: geometry, weights (borrowed from the model file) and
/// quantization. Constructed only by [`Conv2d::new`], so the kernels never re-check it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2d<'a> {
    input: Shape,
    output: Shape,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    /// OHWI: `[out][ky][kx][in]`.
    weights: &'a [i8],
    quant: Requantization<'a>,
    /// `K = kh · kw · C_in`, at least 1.
    patch_len: usize,
    /// `K` rounded up to a multiple of [`PATCH_ALIGN`].
    padded_patch_len: usize,
}

impl<'a> Conv2d<'a> {
    /// Checks `spec` against the shape and zero point of its input.
    ///
    /// # Errors
    /// [`LayerError::Shape`] if the geometry does not fit `input` (or overflows),
    /// [`LayerError::WeightsLength`] for parameter slices of the wrong length,
    /// [`LayerError::Quantization`] for out-of-range requantization parameters or a wrong input
    /// zero point.
    pub fn new(
        spec: &Conv2dSpec<'a>,
        input: Shape,
        input_zero_point: i8,
    ) -> Result<Self, LayerError> {
        let channels = to_usize(spec.in_channels)?;
        let out_channels = to_usize(spec.out_channels)?;
        let [kh, kw] = spec.kernel.map(to_usize);
        let [sy, sx] = spec.stride.map(to_usize);
        let [py, px] = spec.padding.map(to_usize);
        let (kh, kw, sy, sx, py, px) = (kh?, kw?, sy?, sx?, py?, px?);
        if channels != input.channels
            || channels == 0
            || out_channels == 0
            || input.is_empty()
            || py >= kh
            || px >= kw
        {
            return Err(LayerError::Shape);
        }
        let height = output_extent(input.height, kh, sy, py)?;
        let width = output_extent(input.width, kw, sx, px)?;
        let output = Shape::new(height, width, out_channels);
        output.checked_len().ok_or(LayerError::Shape)?;
        let patch_len = kh
            .checked_mul(kw)
            .and_then(|n| n.checked_mul(channels))
            .ok_or(LayerError::Shape)?;
        let padded_patch_len = patch_len
            .checked_next_multiple_of(PATCH_ALIGN)
            .ok_or(LayerError::Shape)?;
        if Some(spec.weights.len()) != out_channels.checked_mul(patch_len) {
            return Err(LayerError::WeightsLength);
        }
        let quant = Requantization::new(&spec.quant, out_channels, input_zero_point)?;
        Ok(Self {
            input,
            output,
            kernel: [kh, kw],
            stride: [sy, sx],
            padding: [py, px],
            weights: bytemuck::must_cast_slice(spec.weights),
            quant,
            patch_len,
            padded_patch_len,
        })
    }

    /// Shape of the input.
    #[must_use]
    pub const fn input_shape(&self) -> Shape {
        self.input
    }

    /// Shape of the output.
    #[must_use]
    pub const fn output_shape(&self) -> Shape {
        self.output
    }

    /// `[kh, kw]`.
    #[must_use]
    pub const fn kernel(&self) -> [usize; 2] {
        self.kernel
    }

    /// `[sy, sx]`.
    #[must_use]
    pub const fn stride(&self) -> [usize; 2] {
        self.stride
    }

    /// `[py, px]` (zero padding on both sides).
    #[must_use]
    pub const fn padding(&self) -> [usize; 2] {
        self.padding
    }

    /// The requantization parameters and output stage.
    #[must_use]
    pub const fn quantization(&self) -> &Requantization<'a> {
        &self.quant
    }

    /// Multiply-accumulates of one call: `Ho · Wo · O · kh · kw · C`.
    #[must_use]
    pub fn macs(&self) -> u64 {
        to_u64(self.output.len()).saturating_mul(to_u64(self.patch_len))
    }

    /// Bytes of parameters (weights, biases, multipliers, shifts).
    #[must_use]
    pub const fn parameter_bytes(&self) -> usize {
        self.weights
            .len()
            .saturating_add(self.quant.parameter_bytes())
    }

    /// The weights, OHWI (`[out][ky][kx][in]`), borrowed from the model file.
    #[must_use]
    pub const fn weights(&self) -> &'a [i8] {
        self.weights
    }

    /// Taps per output value: `K = kh · kw · C_in`.
    #[must_use]
    pub const fn patch_len(&self) -> usize {
        self.patch_len
    }

    /// `i16` elements of workspace [`conv2d`] needs: `(1 + Wo) · Kp` (one widened weight row and
    /// one output row's panel).
    #[must_use]
    pub const fn workspace_len(&self) -> usize {
        self.output
            .width
            .saturating_add(1)
            .saturating_mul(self.padded_patch_len)
    }
}

/// `⌊(n + 2·pad − k) / stride⌋ + 1`, or a shape error if the kernel does not fit or a value is 0.
fn output_extent(n: usize, k: usize, stride: usize, pad: usize) -> Result<usize, LayerError> {
    let padded = pad
        .checked_mul(2)
        .and_then(|p| p.checked_add(n))
        .ok_or(LayerError::Shape)?;
    padded
        .checked_sub(k)
        .and_then(|span| span.checked_div(stride))
        .and_then(|steps| steps.checked_add(1))
        .filter(|_| k > 0)
        .ok_or(LayerError::Shape)
}

/// A file's `u32` size as `usize` (a shape error where it does not fit).
pub(crate) fn to_usize(n: u32) -> Result<usize, LayerError> {
    usize::try_from(n).map_err(|_| LayerError::Shape)
}

/// The convolution, written as the definition: seven nested loops, the `i128` requantizer.
///
/// `input` is `H × W × C` (HWC), `output` is `Ho × Wo × O`. Slices shorter than the shapes say
/// leave the missing outputs untouched (the inference code always passes exact lengths).
pub fn conv2d_reference(layer: &Conv2d<'_>, input: &[i8], output: &mut [i8]) {
    let Shape {
        height,
        width,
        channels,
    } = layer.input;
    let [kh, kw] = layer.kernel;
    let [sy, sx] = layer.stride;
    let [py, px] = layer.padding;
    let zero_point = layer.quant.input_zero_point();
    // Index arithmetic saturates (it cannot overflow for a validated layer).
    let at = |y: usize, x: usize, c: usize, w: usize, cs: usize| {
        y.saturating_mul(w)
            .saturating_add(x)
            .saturating_mul(cs)
            .saturating_add(c)
    };
    let mut outputs = output.iter_mut();
    for oy in 0..layer.output.height {
        for ox in 0..layer.output.width {
            for (o, channel) in layer.quant.channels().enumerate() {
                let mut acc = channel.bias;
                for ky in 0..kh {
                    for kx in 0..kw {
                        for c in 0..channels {
                            // Input coordinates; `None` is a padding tap, which reads z_in.
                            let iy = (oy.saturating_mul(sy).saturating_add(ky))
                                .checked_sub(py)
                                .filter(|&iy| iy < height);
                            let ix = (ox.saturating_mul(sx).saturating_add(kx))
                                .checked_sub(px)
                                .filter(|&ix| ix < width);
                            let x = match (iy, ix) {
                                (Some(iy), Some(ix)) => input
                                    .get(at(iy, ix, c, width, channels))
                                    .copied()
                                    .unwrap_or(zero_point),
                                _ => zero_point,
                            };
                            let w = layer
                                .weights
                                .get(at(
                                    o.saturating_mul(kh).saturating_add(ky),
                                    kx,
                                    c,
                                    kw,
                                    channels,
                                ))
                                .copied()
                                .unwrap_or(0);
                            let centred = i32::from(x).wrapping_sub(i32::from(zero_point));
                            acc = acc.wrapping_add(i32::from(w).wrapping_mul(centred));
                        }
                    }
                }
                if let Some(out) = outputs.next() {
                    *out = layer.quant.finish_reference(acc, channel);
                }
            }
        }
    }
}

/// The convolution, optimized (see the [module docs](self)); same result as
/// [`conv2d_reference`], bit for bit.
///
/// `input` is `H × W × C` (HWC), `output` is `Ho × Wo × O`, `workspace` holds at least
/// [`Conv2d::workspace_len`] `i16` (its contents are overwritten). Slices shorter than that leave
/// outputs untouched (the inference code always passes exact lengths).
pub fn conv2d(layer: &Conv2d<'_>, input: &[i8], output: &mut [i8], workspace: &mut [i16]) {
    conv2d_on(dispatch::detected(), layer, input, output, workspace);
}

/// [`conv2d`] compiled for instruction-set level `isa`, or for the best level below it that this
/// CPU runs ([`dispatch::usable`]): the same bits whatever the level (for tests and benchmarks;
/// [`conv2d`] picks the best level itself).
pub fn conv2d_on(
    isa: Isa,
    layer: &Conv2d<'_>,
    input: &[i8],
    output: &mut [i8],
    workspace: &mut [i16],
) {
    #[cfg(target_arch = "x86_64")]
    conv2d_x86(dispatch::usable(isa), layer, input, output, workspace);
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = isa;
        conv2d_body(layer, input, output, workspace, dot4, dot);
    }
}

/// Enters the x86_64 version for `isa`, which must be [`dispatch::usable`].
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn conv2d_x86(
    isa: Isa,
    layer: &Conv2d<'_>,
    input: &[i8],
    output: &mut [i8],
    workspace: &mut [i16],
) {
    const { assert!(cfg!(target_feature = "sse2")) };
    match isa {
        // SAFETY: SSE2 is part of every x86_64 target (asserted at compile time above); the
        // `target_feature` function only needs a call site that vouches for it.
        Isa::Baseline => unsafe { conv2d_sse2(layer, input, output, workspace) },
        // SAFETY: the caller passes `dispatch::usable(..)`, which is `Avx2` only when CPUID
        // reports AVX2 and XGETBV says the OS saves the YMM registers (or the build target
        // already enables AVX2), so the CPU can execute AVX2 instructions.
        Isa::Avx2 => unsafe { conv2d_avx2(layer, input, output, workspace) },
    }
}

/// [`conv2d_body`] with SSE2's `pmaddwd` dot products ([`x86::dot4_sse2`]), x86_64's baseline.
/// The closures inherit the function's target features, so they call the SSE2 dot products
/// safely.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn conv2d_sse2(layer: &Conv2d<'_>, input: &[i8], output: &mut [i8], workspace: &mut [i16]) {
    conv2d_body(
        layer,
        input,
        output,
        workspace,
        |a, b| x86::dot4_sse2(a, b),
        |a, b| x86::dot_sse2(a, b),
    );
}

/// [`conv2d_body`] compiled with AVX2 enabled, with [`x86::dot4_avx2`] (256-bit `vpmaddwd`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn conv2d_avx2(layer: &Conv2d<'_>, input: &[i8], output: &mut [i8], workspace: &mut [i16]) {
    conv2d_body(
        layer,
        input,
        output,
        workspace,
        |a, b| x86::dot4_avx2(a, b),
        |a, b| x86::dot_avx2(a, b),
    );
}

/// The body of [`conv2d`], inlined into one function per instruction-set level with that level's
/// dot products: `dot4(w, [p0, p1, p2, p3])` = `[dot(w, p0), …, dot(w, p3)]` (four patches per
/// weight load) and `dot1(w, p)`.
#[inline(always)]
fn conv2d_body(
    layer: &Conv2d<'_>,
    input: &[i8],
    output: &mut [i8],
    workspace: &mut [i16],
    dot4: impl Fn(&[i16], [&[i16]; 4]) -> [i32; 4],
    dot1: impl Fn(&[i16], &[i16]) -> i32,
) {
    let kp = layer.padded_patch_len;
    let out_channels = layer.output.channels;
    let Some((weights, panel)) = workspace.split_at_mut_checked(kp) else {
        return;
    };
    let Some(panel) = panel.get_mut(..layer.output.width.saturating_mul(kp)) else {
        return;
    };
    // The tails (K..Kp) of the weight row and of every panel row stay zero; 0..K is rewritten.
    weights.fill(0);
    panel.fill(0);
    let patch_len = layer.patch_len.min(kp);
    // The dot products stop at K rounded up to DOT_ALIGN (the rest of the tail is zeros).
    let dot_len = patch_len.next_multiple_of(DOT_ALIGN).min(kp);
    let row_len = layer.output.width.saturating_mul(out_channels);
    let stage = layer.quant.output();
    for (oy, out_row) in output
        .chunks_exact_mut(row_len.max(1))
        .take(layer.output.height)
        .enumerate()
    {
        // 1. The im2col panel of this output row.
        fill_panel(layer, input, oy, panel);
        // 2-4. Channel by channel: its weights widened to i16 (they stay in L1 for the row),
        // one dot product per output column, then requantization.
        for (o, (source, channel)) in layer
            .weights
            .chunks_exact(layer.patch_len.max(1))
            .zip(layer.quant.channels())
            .enumerate()
        {
            for (w, &s) in weights.iter_mut().take(patch_len).zip(source) {
                *w = i16::from(s);
            }
            let weights = weights.get(..dot_len).unwrap_or_default();
            let requantizer = channel.output_requantizer(stage);
            let outputs = out_row.iter_mut().skip(o).step_by(out_channels.max(1));
            let row = ChannelRow {
                weights,
                panel,
                kp,
                bias: channel.bias,
                requantizer: &requantizer,
            };
            if requantizer.shifts_left() {
                row.run::<true>(outputs, &dot4, &dot1);
            } else {
                row.run::<false>(outputs, &dot4, &dot1);
            }
        }
    }
}

/// The dot products stop at `K` rounded up to this many `i16` (one AVX2 vector; the weight row's
/// and the panel rows' tails up to `Kp` are zeros).
const DOT_ALIGN: usize = 16;

/// One output channel along one output row.
struct ChannelRow<'r> {
    /// The channel's weights widened to `i16`, `dot_len` of them.
    weights: &'r [i16],
    /// The row's patches, `Kp` `i16` each.
    panel: &'r [i16],
    kp: usize,
    bias: i32,
    requantizer: &'r OutputRequantizer,
}

impl ChannelRow<'_> {
    /// A dot product of the channel's weights with each patch (four patches at a time, sharing
    /// the weight loads), bias, requantization, clamp. `LEFT` is
    /// [`OutputRequantizer::shifts_left`], decided once per channel.
    #[inline(always)]
    fn run<'o, const LEFT: bool>(
        &self,
        mut outputs: impl Iterator<Item = &'o mut i8>,
        dot4: &impl Fn(&[i16], [&[i16]; 4]) -> [i32; 4],
        dot1: &impl Fn(&[i16], &[i16]) -> i32,
    ) {
        let n = self.weights.len();
        let kp = self.kp.max(1);
        let quads = self.panel.chunks_exact(kp.saturating_mul(4));
        let rest = quads.remainder();
        for quad in quads {
            let (p01, p23) = quad.split_at(kp.saturating_mul(2).min(quad.len()));
            let (p0, p1) = p01.split_at(kp.min(p01.len()));
            let (p2, p3) = p23.split_at(kp.min(p23.len()));
            let patches = [p0, p1, p2, p3].map(|p| p.get(..n).unwrap_or_default());
            for acc in dot4(self.weights, patches) {
                if let Some(out) = outputs.next() {
                    *out = self.requantizer.apply::<LEFT>(self.bias.wrapping_add(acc));
                }
            }
        }
        for patch in rest.chunks_exact(kp) {
            let acc = dot1(self.weights, patch.get(..n).unwrap_or_default());
            if let Some(out) = outputs.next() {
                *out = self.requantizer.apply::<LEFT>(self.bias.wrapping_add(acc));
            }
        }
    }
}

/// Writes the patches of output row `oy` into `panel` (one row of `Kp` `i16` per output column):
/// `in − z_in` for taps inside the input, 0 for padding taps; the tail past `K` is not touched.
#[inline(always)]
fn fill_panel(layer: &Conv2d<'_>, input: &[i8], oy: usize, panel: &mut [i16]) {
    let Shape {
        height,
        width,
        channels,
    } = layer.input;
    let [kh, kw] = layer.kernel;
    let [sy, sx] = layer.stride;
    let [py, px] = layer.padding;
    let zero_point = i16::from(layer.quant.input_zero_point());
    let run = kw.saturating_mul(channels);
    let input_row = width.saturating_mul(channels);
    for (ox, patch) in panel
        .chunks_exact_mut(layer.padded_patch_len.max(1))
        .enumerate()
    {
        // Taps kx in [lo, hi) fall inside the input row: px ≤ ox·sx + kx < px + W.
        let x0 = ox.saturating_mul(sx);
        let lo = px.saturating_sub(x0).min(kw);
        let hi = px.saturating_add(width).saturating_sub(x0).min(kw).max(lo);
        // First input column read; lo ≥ px − x0, so this does not underflow.
        let ix = x0.saturating_add(lo).saturating_sub(px);
        for (ky, segment) in patch.chunks_exact_mut(run.max(1)).take(kh).enumerate() {
            let iy = oy
                .saturating_mul(sy)
                .saturating_add(ky)
                .checked_sub(py)
                .filter(|&iy| iy < height);
            let Some(iy) = iy else {
                segment.fill(0);
                continue;
            };
            let (left, rest) = segment.split_at_mut(lo.saturating_mul(channels).min(run));
            let (middle, right) = rest.split_at_mut(
                hi.saturating_sub(lo)
                    .saturating_mul(channels)
                    .min(rest.len()),
            );
            if !left.is_empty() {
                left.fill(0);
            }
            if !right.is_empty() {
                right.fill(0);
            }
            let start = iy
                .saturating_mul(input_row)
                .saturating_add(ix.saturating_mul(channels));
            if let Some(source) = input.get(start..start.saturating_add(middle.len())) {
                for (x, &code) in middle.iter_mut().zip(source) {
                    *x = i16::from(code).wrapping_sub(zero_point);
                }
            }
        }
    }
}

/// `Σ a[i] · b[i]` over the common length, `i32` wrapping: the kernel's dot product, in the loop
/// shape each target's compiler turns into its multiply-accumulate instructions
/// ([`dot_pairs`] on 32-bit Arm, [`dot_blocks`] elsewhere). Wrapping sums do not depend on the
/// order of the terms, so both give the same bits (tested against each other on the host).
// On x86_64 the kernel uses `nn::x86`'s dot products; these portable ones are still tested there.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
pub(crate) fn dot(a: &[i16], b: &[i16]) -> i32 {
    if cfg!(target_arch = "arm") {
        dot_pairs(a, b)
    } else {
        dot_blocks(a, b)
    }
}

/// Two dot products sharing their first operand: `[dot(a, b0), dot(a, b1)]`.
#[inline(always)]
pub(crate) fn dot2(a: &[i16], b0: &[i16], b1: &[i16]) -> [i32; 2] {
    if cfg!(target_arch = "arm") {
        // Fused into one loop, LLVM no longer forms SMLAD on thumbv7em (measured).
        [dot_pairs(a, b0), dot_pairs(a, b1)]
    } else {
        dot2_blocks(a, b0, b1)
    }
}

/// Four dot products sharing their first operand: `[dot(a, b[0]), …, dot(a, b[3])]` (the
/// portable version: two [`dot2`]s).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
pub(crate) fn dot4(a: &[i16], b: [&[i16]; 4]) -> [i32; 4] {
    let [b0, b1, b2, b3] = b;
    let [s0, s1] = dot2(a, b0, b1);
    let [s2, s3] = dot2(a, b2, b3);
    [s0, s1, s2, s3]
}

/// The dot product as consecutive pairs, `acc + a0·b0 + a1·b1`: the chain LLVM's ARM
/// parallel-DSP pass turns into `SMLAD` (two 16×16 multiply-accumulates per instruction, `i16`
/// pairs loaded as words) on a Cortex-M4.
#[inline(always)]
fn dot_pairs(a: &[i16], b: &[i16]) -> i32 {
    let (a2, a_tail) = a.as_chunks::<2>();
    let (b2, b_tail) = b.as_chunks::<2>();
    let mut sum = 0_i32;
    for (&[x0, x1], &[y0, y1]) in a2.iter().zip(b2) {
        sum = sum
            .wrapping_add(i32::from(x0).wrapping_mul(i32::from(y0)))
            .wrapping_add(i32::from(x1).wrapping_mul(i32::from(y1)));
    }
    if a2.len() == b2.len() {
        sum = sum.wrapping_add(dot_scalar(a_tail, b_tail));
    }
    sum
}

/// The dot product in fixed blocks of 32 elements, which LLVM turns into `pmaddwd` chains on
/// x86_64 (one `reduce.add` of 32 products per block); a tail (none in the kernel, whose rows are
/// multiples of 32) in a block of 16 and then one by one.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn dot_blocks(a: &[i16], b: &[i16]) -> i32 {
    let (a32, a_rest) = a.as_chunks::<32>();
    let (b32, b_rest) = b.as_chunks::<32>();
    let mut sum = 0_i32;
    for (x, y) in a32.iter().zip(b32) {
        sum = sum.wrapping_add(dot_block(x, y));
    }
    // Past the common 32-blocks, `a_rest`/`b_rest` are aligned only if both had as many blocks.
    if a32.len() == b32.len() {
        let (a16, a_tail) = a_rest.as_chunks::<16>();
        let (b16, b_tail) = b_rest.as_chunks::<16>();
        for (x, y) in a16.iter().zip(b16) {
            sum = sum.wrapping_add(dot_block(x, y));
        }
        if a16.len() == b16.len() {
            sum = sum.wrapping_add(dot_scalar(a_tail, b_tail));
        }
    }
    sum
}

/// [`dot_blocks`] of `a` with `b0` and with `b1` in one pass (one load of `a` for both).
#[inline(always)]
fn dot2_blocks(a: &[i16], b0: &[i16], b1: &[i16]) -> [i32; 2] {
    let (a32, a_rest) = a.as_chunks::<32>();
    let (b32, b_rest) = b0.as_chunks::<32>();
    let (c32, c_rest) = b1.as_chunks::<32>();
    let mut sums = [0_i32; 2];
    for ((x, y), z) in a32.iter().zip(b32).zip(c32) {
        sums[0] = sums[0].wrapping_add(dot_block(x, y));
        sums[1] = sums[1].wrapping_add(dot_block(x, z));
    }
    if a32.len() == b32.len() && a32.len() == c32.len() {
        let (a16, a_tail) = a_rest.as_chunks::<16>();
        let (b16, b_tail) = b_rest.as_chunks::<16>();
        let (c16, c_tail) = c_rest.as_chunks::<16>();
        for ((x, y), z) in a16.iter().zip(b16).zip(c16) {
            sums[0] = sums[0].wrapping_add(dot_block(x, y));
            sums[1] = sums[1].wrapping_add(dot_block(x, z));
        }
        if a16.len() == b16.len() && a16.len() == c16.len() {
            sums[0] = sums[0].wrapping_add(dot_scalar(a_tail, b_tail));
            sums[1] = sums[1].wrapping_add(dot_scalar(a_tail, c_tail));
        }
    }
    sums
}

/// One fixed-size block of a dot product (a single reduction LLVM can lower to `pmaddwd`).
#[inline(always)]
fn dot_block<const N: usize>(a: &[i16; N], b: &[i16; N]) -> i32 {
    dot_scalar(a, b)
}

/// The plain dot product loop.
#[inline(always)]
pub(crate) fn dot_scalar(a: &[i16], b: &[i16]) -> i32 {
    let mut sum = 0_i32;
    for (&x, &y) in a.iter().zip(b) {
        sum = sum.wrapping_add(i32::from(x).wrapping_mul(i32::from(y)));
    }
    sum
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::model::spec::QuantSpec;
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    /// Owned bytes of a random convolution layer.
    #[derive(Debug, Clone)]
    pub(crate) struct ConvCase {
        pub input: Shape,
        pub out_channels: usize,
        pub kernel: [usize; 2],
        pub stride: [usize; 2],
        pub padding: [usize; 2],
        pub weights: Vec<u8>,
        pub bias: Vec<u8>,
        pub multipliers: Vec<u8>,
        pub shifts: Vec<u8>,
        pub zero_points: (i8, i8),
        pub range: (i8, i8),
        pub data: Vec<i8>,
    }

    impl ConvCase {
        fn spec(&self) -> Conv2dSpec<'_> {
            let u = |n: usize| u32::try_from(n).unwrap();
            Conv2dSpec {
                in_channels: u(self.input.channels),
                out_channels: u(self.out_channels),
                kernel: self.kernel.map(u),
                stride: self.stride.map(u),
                padding: self.padding.map(u),
                weights: &self.weights,
                quant: QuantSpec {
                    bias: &self.bias,
                    multipliers: &self.multipliers,
                    shifts: &self.shifts,
                    input_zero_point: self.zero_points.0,
                    output_zero_point: self.zero_points.1,
                    activation_min: self.range.0,
                    activation_max: self.range.1,
                },
            }
        }

        fn run(&self) -> (Vec<i8>, Vec<i8>) {
            let spec = self.spec();
            let layer = Conv2d::new(&spec, self.input, self.zero_points.0).unwrap();
            let n = layer.output_shape().len();
            let mut reference = vec![0_i8; n];
            conv2d_reference(&layer, &self.data, &mut reference);
            let mut fast = vec![0x55_i8; n];
            let mut workspace = vec![0x1234_i16; layer.workspace_len()];
            conv2d(&layer, &self.data, &mut fast, &mut workspace);
            // Every level this CPU runs (see `every_isa_level_is_tested`) gives the same bits.
            for isa in Isa::ALL {
                let mut other = vec![0x55_i8; n];
                let mut workspace = vec![0x1234_i16; layer.workspace_len()];
                conv2d_on(isa, &layer, &self.data, &mut other, &mut workspace);
                assert_eq!(other, fast, "{isa:?} differs from the dispatched kernel");
            }
            (reference, fast)
        }
    }

    /// A random case: geometry from the strategy, parameters from a seeded generator (realistic
    /// multipliers so outputs are not all clamped).
    fn case(
        input: Shape,
        out_channels: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        seed: u64,
    ) -> ConvCase {
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let patch = kernel[0] * kernel[1] * input.channels;
        let weights = (0..out_channels * patch).map(|_| next() as u8).collect();
        let bias = (0..out_channels)
            .flat_map(|_| ((next() % 20_001) as i32 - 10_000).to_le_bytes())
            .collect();
        // Real multiplier about 1 / (200 · √patch): the accumulator's spread is about
        // 7,000 · √patch, so outputs spread over the int8 range.
        let multipliers = (0..out_channels)
            .flat_map(|_| ((1_i32 << 30) + (next() % (1 << 30)) as i32).to_le_bytes())
            .collect();
        let base_shift = -((patch as f64).sqrt() * 200.0).log2().ceil() as i8;
        let shifts = (0..out_channels)
            .map(|_| (base_shift + (next() % 3) as i8 - 1).clamp(-31, 30) as u8)
            .collect();
        let zin = next() as i8;
        let zout = next() as i8;
        let relu = next() % 2 == 0;
        let range = if relu { (zout, 127) } else { (-128, 127) };
        let data = (0..input.len()).map(|_| next() as i8).collect();
        ConvCase {
            input,
            out_channels,
            kernel,
            stride,
            padding,
            weights,
            bias,
            multipliers,
            shifts,
            zero_points: (zin, zout),
            range,
            data,
        }
    }

    #[test]
    fn the_reference_networks_layers_agree() {
        // Reduced heights (the row loop is the same for every row) but real widths and channels.
        let layers = [
            (Shape::new(6, 312, 4), 16, [3, 7], [1, 2], [1, 3]),
            (Shape::new(6, 156, 16), 16, [3, 5], [2, 2], [1, 2]),
            (Shape::new(5, 78, 16), 32, [3, 3], [1, 1], [1, 1]),
            (Shape::new(4, 39, 32), 64, [3, 3], [1, 1], [1, 1]),
            (Shape::new(3, 19, 64), 128, [3, 3], [1, 1], [1, 1]),
        ];
        for (i, &(input, out, kernel, stride, padding)) in layers.iter().enumerate() {
            let mut case = case(input, out, kernel, stride, padding, 1000 + i as u64);
            // Realistic zero points (a ReLU output's zero point sits near the bottom).
            case.zero_points = (-100 + 20 * i as i8, -110);
            case.range = (-110, 127);
            let (reference, fast) = case.run();
            assert_eq!(reference, fast, "layer {i}");
            // Not degenerate: the outputs take many values.
            let distinct: std::collections::BTreeSet<i8> = reference.iter().copied().collect();
            assert!(
                distinct.len() > 20,
                "layer {i}: {} distinct",
                distinct.len()
            );
        }
    }

    /// The bit-equality tests above run every level the CPU has; a CPU without one would test
    /// less, so that fails here, loudly, unless `CORE_NOSTD_ALLOW_MISSING_ISA=1` says it is known.
    #[test]
    fn every_isa_level_is_tested() {
        let best = if cfg!(target_arch = "x86_64") {
            Isa::Avx2
        } else {
            Isa::Baseline
        };
        let detected = dispatch::detected();
        if detected < best {
            std::eprintln!(
                "WARNING: this CPU runs kernels up to {detected:?} only; the {best:?} kernels are \
                 NOT tested against the reference here"
            );
            assert!(
                std::env::var_os("CORE_NOSTD_ALLOW_MISSING_ISA").is_some(),
                "CPU lacks {best:?}: its kernels are untested on this machine (set \
                 CORE_NOSTD_ALLOW_MISSING_ISA=1 to accept that)"
            );
        }
    }

    #[test]
    fn hand_computed_3x3() {
        // 1 channel 3×3 input, 2×2 kernel of ones, stride 1, padding 0 → 2×2 sums; multiplier 0.5.
        let spec = Conv2dSpec {
            in_channels: 1,
            out_channels: 1,
            kernel: [2, 2],
            stride: [1, 1],
            padding: [0, 0],
            weights: &[1, 1, 1, 1],
            quant: QuantSpec {
                bias: &1_i32.to_le_bytes(),
                multipliers: &(1_i32 << 30).to_le_bytes(),
                shifts: &[0],
                input_zero_point: 1,
                output_zero_point: -3,
                activation_min: -128,
                activation_max: 127,
            },
        };
        let layer = Conv2d::new(&spec, Shape::new(3, 3, 1), 1).unwrap();
        let input = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        // Patch sums minus 4·z_in, plus bias 1: 12−4+1 = 9, 16−4+1 = 13, 24−4+1 = 21, 28−4+1 = 25;
        // halved with ties up: 5, 7, 11, 13; plus z_out −3.
        let mut out = [0_i8; 4];
        conv2d_reference(&layer, &input, &mut out);
        assert_eq!(out, [2, 4, 8, 10]);
        let mut fast = [0_i8; 4];
        conv2d(
            &layer,
            &input,
            &mut fast,
            &mut vec![0; layer.workspace_len()],
        );
        assert_eq!(fast, out);
        assert_eq!(layer.macs(), 16);
    }

    #[test]
    fn shapes_are_checked() {
        let weights = [0_u8; 2 * 3 * 3 * 4];
        let bias = [0_u8; 8];
        let shifts = [0_u8; 2];
        let mut spec = Conv2dSpec {
            in_channels: 4,
            out_channels: 2,
            kernel: [3, 3],
            stride: [1, 1],
            padding: [1, 1],
            weights: &weights,
            quant: QuantSpec {
                bias: &bias,
                multipliers: &bias,
                shifts: &shifts,
                input_zero_point: 0,
                output_zero_point: 0,
                activation_min: -128,
                activation_max: 127,
            },
        };
        let input = Shape::new(5, 5, 4);
        assert!(Conv2d::new(&spec, input, 0).is_ok());
        assert_eq!(
            Conv2d::new(&spec, Shape::new(5, 5, 3), 0),
            Err(LayerError::Shape)
        );
        assert_eq!(Conv2d::new(&spec, input, 1), Err(LayerError::Quantization));
        assert_eq!(
            Conv2d::new(&spec, Shape::new(0, 5, 4), 0),
            Err(LayerError::Shape)
        );
        spec.padding = [3, 1];
        assert_eq!(Conv2d::new(&spec, input, 0), Err(LayerError::Shape));
        spec.padding = [0, 0];
        assert_eq!(
            Conv2d::new(&spec, Shape::new(2, 5, 4), 0),
            Err(LayerError::Shape)
        );
        spec.stride = [0, 1];
        assert_eq!(Conv2d::new(&spec, input, 0), Err(LayerError::Shape));
        spec.stride = [1, 1];
        spec.weights = &weights[1..];
        assert_eq!(Conv2d::new(&spec, input, 0), Err(LayerError::WeightsLength));
        spec.weights = &weights;
        spec.quant.shifts = &shifts[1..];
        assert_eq!(Conv2d::new(&spec, input, 0), Err(LayerError::WeightsLength));
        spec.quant.shifts = &[31, 0];
        assert_eq!(Conv2d::new(&spec, input, 0), Err(LayerError::Quantization));
        spec.quant.shifts = &shifts;
        spec.quant.activation_min = 5;
        spec.quant.activation_max = 4;
        assert_eq!(Conv2d::new(&spec, input, 0), Err(LayerError::Quantization));
    }

    #[test]
    fn dot_handles_any_length() {
        for n in 0..100 {
            let a: Vec<i16> = (0..n).map(|i| (i * 37 % 255) as i16 - 127).collect();
            let b: Vec<i16> = (0..n).map(|i| (i * 91 % 511) as i16 - 255).collect();
            let c: Vec<i16> = (0..n).map(|i| (i * 53 % 511) as i16 - 255).collect();
            let want = |b: &[i16]| -> i32 {
                a.iter()
                    .zip(b)
                    .map(|(&x, &y)| i32::from(x) * i32::from(y))
                    .sum()
            };
            assert_eq!(dot(&a, &b), want(&b), "n = {n}");
            assert_eq!(dot_pairs(&a, &b), want(&b), "n = {n}");
            assert_eq!(dot_blocks(&a, &b), want(&b), "n = {n}");
            assert_eq!(dot2(&a, &b, &c), [want(&b), want(&c)], "n = {n}");
            assert_eq!(dot2_blocks(&a, &b, &c), [want(&b), want(&c)], "n = {n}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn optimized_equals_reference(
            height in 1_usize..12,
            width in 1_usize..40,
            channels in 1_usize..20,
            out_channels in 1_usize..20,
            kh in 1_usize..8,
            kw in 1_usize..8,
            sy in 1_usize..4,
            sx in 1_usize..4,
            pad_y in 0_usize..8,
            pad_x in 0_usize..8,
            seed in any::<u64>(),
        ) {
            let padding = [pad_y % kh, pad_x % kw];
            let input = Shape::new(height.max(kh), width.max(kw), channels);
            let case = case(input, out_channels, [kh, kw], [sy, sx], padding, seed);
            let (reference, fast) = case.run();
            prop_assert_eq!(reference, fast);
        }
    }
}
