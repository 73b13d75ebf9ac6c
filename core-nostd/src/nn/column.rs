//! Column kernels: one output column (every row, every channel) of a convolution or a max pooling,
//! computed from a ring of the layer's most recent input columns. They are what
//! [`crate::streaming`] runs to push a network through its input one frame-column at a time.
//!
//! # Layout
//!
//! A column `x` of an `H × W × C` activation is its `H × C` codes in `[y][c]` order: in HWC the
//! codes of one column are strided, in a ring ([`Columns`]) each column is contiguous. Column
//! kernels write output row `oy`, channel `o` at `output[oy · stride + o]`, so the same kernel
//! fills a ring slot (`stride = O`) or one column of a whole HWC map (`stride = Wo · O`).
//!
//! # The definition
//!
//! Exactly [`conv2d_reference`](super::conv2d_reference) and
//! [`maxpool2d_reference`](super::maxpool2d_reference) restricted to output column `ox`: taps
//! outside the input read the input zero point (convolution; pooling has no padding). The
//! reference twins here ([`conv2d_column_reference`], [`maxpool2d_column_reference`]) are those
//! loops with the input read through the ring.
//!
//! # How the convolution is fast ([`conv2d_column`])
//!
//! 1. A **panel** of up to `panel_rows` patches (output rows `oy`) is built in `i16`, `in − z_in`,
//!    in `[kx][ky][c]` order: in a ring column the `kh` rows under a tap column `kx` are one
//!    contiguous run of `kh · C` codes, so a patch is `kw` widening copies. Patches are padded
//!    with zeros to [`COLUMN_PATCH_ALIGN`] elements (`Kc ≥ K`).
//! 2. Output channels go **two at a time**: both channels' weights are widened to `i16` in the
//!    same `[kx][ky][c]` order (one row of `Kc` each), then each pair of patches gets the four dot
//!    products of [`dsp::dot_2x2`]: on a Cortex-M4 with the `dsp` feature, `SMLAD` on words loaded
//!    once for two products.
//! 3. Bias and the requantizer fused with the output stage, per output, in 32-bit arithmetic
//!    ([`NarrowRequantizer`](super::requant::NarrowRequantizer)).
//!
//! Cost per output column: `Ho · O · Kc` multiply-accumulates, `Ho · Kc` panel writes (`1/O` of
//! the MACs), `O · Kc · ⌈Ho / panel_rows⌉` weight widenings (`1/panel_rows` of the MACs).
//! Workspace: `(2 + min(panel_rows, Ho)) · Kc` `i16` ([`conv2d_column_workspace`], in `u32`
//! words).

use super::conv2d::Conv2d;
use super::dsp;
use super::maxpool::MaxPool2d;
use super::requant::NarrowRequantizer;
use super::{ChannelParams, OutputStage, Shape};

/// Patches and weight rows of the column convolution are zero-padded to a multiple of this many
/// `i16`: two `SMLAD` words. The same on every target, so that a build host computes the exact
/// workspace a microcontroller needs ([`conv2d_column_workspace`]); the portable dot product
/// handles lengths that are not a multiple of its 32-element block.
pub const COLUMN_PATCH_ALIGN: usize = 4;

/// A ring of a layer's most recent input columns: column `x` (each `height × channels` codes,
/// `[y][c]`) lives in slot `x mod slots`. Which columns are present is the caller's bookkeeping
/// ([`crate::streaming`]); a kernel reads the slots its output column needs.
#[derive(Clone, Copy, Debug)]
pub struct Columns<'a> {
    data: &'a [i8],
    column_len: usize,
    slots: usize,
}

impl<'a> Columns<'a> {
    /// A ring of `slots` columns of `column_len` codes over `data` (at least
    /// `slots · column_len` long; a shorter slice reads missing columns as empty).
    #[must_use]
    pub const fn new(data: &'a [i8], column_len: usize, slots: usize) -> Self {
        Self {
            data,
            column_len,
            slots,
        }
    }

    /// The codes of column `x` (`[y][c]`). Cost: one division.
    #[must_use]
    pub fn column(&self, x: usize) -> &'a [i8] {
        let slot = x.checked_rem(self.slots).unwrap_or(0);
        let start = slot.saturating_mul(self.column_len);
        self.data
            .get(start..start.saturating_add(self.column_len))
            .unwrap_or_default()
    }
}

/// `K` rounded up to [`COLUMN_PATCH_ALIGN`]: the `i16` length of a patch in
/// [`conv2d_column`]'s panel.
#[must_use]
pub const fn column_patch_len(layer: &Conv2d<'_>) -> usize {
    match layer
        .patch_len()
        .checked_next_multiple_of(COLUMN_PATCH_ALIGN)
    {
        Some(n) => n,
        None => usize::MAX,
    }
}

/// `u32` words of workspace [`conv2d_column`] needs with `panel_rows` patches per panel:
/// `(2 + min(panel_rows, Ho)) · Kc / 2` (two weight rows and the panel).
#[must_use]
pub const fn conv2d_column_workspace(layer: &Conv2d<'_>, panel_rows: usize) -> usize {
    let rows = panel_rows_of(layer, panel_rows);
    rows.saturating_add(2)
        .saturating_mul(column_patch_len(layer) / 2)
}

/// Patches per panel: `panel_rows` clamped to `1..=Ho`.
const fn panel_rows_of(layer: &Conv2d<'_>, panel_rows: usize) -> usize {
    let height = layer.output_shape().height;
    if panel_rows == 0 {
        1
    } else if panel_rows < height {
        panel_rows
    } else {
        height
    }
}

/// Output column `ox` of the convolution from the ring `input`, written at
/// `output[oy · stride + o]` (reference twin: seven nested loops, the `i128` requantizer).
/// Padding taps and columns read the input zero point.
pub fn conv2d_column_reference(
    layer: &Conv2d<'_>,
    input: Columns<'_>,
    ox: usize,
    output: &mut [i8],
    stride: usize,
) {
    let Shape {
        height,
        width,
        channels,
    } = layer.input_shape();
    let [kh, kw] = layer.kernel();
    let [sy, sx] = layer.stride();
    let [py, px] = layer.padding();
    let quant = layer.quantization();
    let zero_point = quant.input_zero_point();
    let weights = layer.weights();
    for oy in 0..layer.output_shape().height {
        for (o, channel) in quant.channels().enumerate() {
            let mut acc = channel.bias;
            for ky in 0..kh {
                for kx in 0..kw {
                    let iy = (oy.saturating_mul(sy).saturating_add(ky))
                        .checked_sub(py)
                        .filter(|&iy| iy < height);
                    let ix = (ox.saturating_mul(sx).saturating_add(kx))
                        .checked_sub(px)
                        .filter(|&ix| ix < width);
                    for c in 0..channels {
                        let x = match (iy, ix) {
                            (Some(iy), Some(ix)) => input
                                .column(ix)
                                .get(iy.saturating_mul(channels).saturating_add(c))
                                .copied()
                                .unwrap_or(zero_point),
                            _ => zero_point,
                        };
                        let tap = o
                            .saturating_mul(kh)
                            .saturating_add(ky)
                            .saturating_mul(kw)
                            .saturating_add(kx)
                            .saturating_mul(channels)
                            .saturating_add(c);
                        let w = weights.get(tap).copied().unwrap_or(0);
                        let centred = i32::from(x).wrapping_sub(i32::from(zero_point));
                        acc = acc.wrapping_add(i32::from(w).wrapping_mul(centred));
                    }
                }
            }
            let index = oy.saturating_mul(stride).saturating_add(o);
            if let Some(out) = output.get_mut(index) {
                *out = quant.finish_reference(acc, channel);
            }
        }
    }
}

/// Output column `ox` of the convolution, optimized (see the [module docs](self)); the same bits
/// as [`conv2d_column_reference`].
///
/// `workspace` holds at least [`conv2d_column_workspace`]`(layer, panel_rows)` words (contents
/// overwritten); with less, nothing is written. Cost: see the module docs.
pub fn conv2d_column(
    layer: &Conv2d<'_>,
    input: Columns<'_>,
    ox: usize,
    output: &mut [i8],
    stride: usize,
    workspace: &mut [u32],
    panel_rows: usize,
) {
    let kc = column_patch_len(layer);
    let words = kc / 2;
    let height = layer.output_shape().height;
    let rows = panel_rows_of(layer, panel_rows);
    let Some((weights, panel)) = workspace.split_at_mut_checked(words.saturating_mul(2)) else {
        return;
    };
    let (w0, w1) = weights.split_at_mut(words);
    let Some(panel) = panel.get_mut(..rows.saturating_mul(words)) else {
        return;
    };
    let quant = layer.quantization();
    let stage = quant.output();
    let patch_len = layer.patch_len().max(1);
    let mut oy0 = 0;
    while oy0 < height {
        let block = rows.min(height.saturating_sub(oy0));
        let panel = panel
            .get_mut(..block.saturating_mul(words))
            .unwrap_or_default();
        fill_panel(
            layer,
            input,
            ox,
            oy0,
            bytemuck::must_cast_slice_mut(panel),
            kc,
        );
        let panel: &[u32] = panel;
        let mut channels = layer
            .weights()
            .chunks_exact(patch_len)
            .zip(quant.channels())
            .enumerate();
        while let Some((o, (source0, channel0))) = channels.next() {
            let rows = output.chunks_mut(stride.max(1)).skip(oy0);
            widen_weights(layer, source0, bytemuck::must_cast_slice_mut(w0));
            let first = Channel::new(channel0, stage);
            if let Some((_, (source1, channel1))) = channels.next() {
                widen_weights(layer, source1, bytemuck::must_cast_slice_mut(w1));
                let second = Channel::new(channel1, stage);
                channel_pair(w0, w1, panel, words, [first, second], o, rows);
            } else {
                single_channel(w0, panel, words, first, o, rows);
            }
        }
        oy0 = oy0.saturating_add(block);
    }
}

/// One output channel's bias and fused 32-bit requantizer.
#[derive(Clone, Copy)]
struct Channel {
    bias: i32,
    requantizer: NarrowRequantizer,
}

impl Channel {
    #[inline(always)]
    fn new(params: ChannelParams, stage: OutputStage) -> Self {
        let (min, max) = stage.range();
        Self {
            bias: params.bias,
            requantizer: NarrowRequantizer::new(
                params.multiplier,
                params.shift,
                stage.zero_point(),
                min,
                max,
            ),
        }
    }

    /// Bias, requantization, zero point and clamp of one accumulator.
    #[inline(always)]
    fn finish(&self, acc: i32) -> i8 {
        self.requantizer.apply(self.bias.wrapping_add(acc))
    }
}

/// Writes `values` at `row[o..]`, if the row is there.
#[inline(always)]
fn put<const N: usize>(row: Option<&mut [i8]>, o: usize, values: [i8; N]) {
    if let Some(slots) = row.and_then(|row| row.get_mut(o..o.saturating_add(N))) {
        for (slot, value) in slots.iter_mut().zip(values) {
            *slot = value;
        }
    }
}

/// Channels `o` and `o + 1` over every patch of the panel, two patches at a time; `rows` are the
/// output rows of the panel's patches.
#[inline(always)]
fn channel_pair<'r>(
    w0: &[u32],
    w1: &[u32],
    panel: &[u32],
    words: usize,
    [first, second]: [Channel; 2],
    o: usize,
    mut rows: impl Iterator<Item = &'r mut [i8]>,
) {
    let pairs = panel.chunks_exact(words.saturating_mul(2).max(1));
    let single = pairs.remainder();
    for pair in pairs {
        let (p0, p1) = pair.split_at(words.min(pair.len()));
        let [[a, b], [c, d]] = dsp::dot_2x2([w0, w1], [p0, p1]);
        put(rows.next(), o, [first.finish(a), second.finish(c)]);
        put(rows.next(), o, [first.finish(b), second.finish(d)]);
    }
    if !single.is_empty() {
        let [a, c] = dsp::dot_1x2(single, [w0, w1]);
        put(rows.next(), o, [first.finish(a), second.finish(c)]);
    }
}

/// Channel `o` over every patch of the panel, two patches at a time.
#[inline(always)]
fn single_channel<'r>(
    w: &[u32],
    panel: &[u32],
    words: usize,
    channel: Channel,
    o: usize,
    mut rows: impl Iterator<Item = &'r mut [i8]>,
) {
    let pairs = panel.chunks_exact(words.saturating_mul(2).max(1));
    let single = pairs.remainder();
    for pair in pairs {
        let (p0, p1) = pair.split_at(words.min(pair.len()));
        let [a, b] = dsp::dot_1x2(w, [p0, p1]);
        put(rows.next(), o, [channel.finish(a)]);
        put(rows.next(), o, [channel.finish(b)]);
    }
    if !single.is_empty() {
        put(rows.next(), o, [channel.finish(dsp::dot_1x1(w, single))]);
    }
}

/// One channel's OHWI weights (`[ky][kx][c]`) widened to `i16` in the panel's `[kx][ky][c]`
/// order, zero-padded to the row's length.
fn widen_weights(layer: &Conv2d<'_>, source: &[i8], row: &mut [i16]) {
    let channels = layer.input_shape().channels.max(1);
    let [kh, kw] = layer.kernel();
    let segment = kh.saturating_mul(channels).max(1);
    let (body, tail) = row.split_at_mut(layer.patch_len().min(row.len()));
    tail.fill(0);
    for (kx, column) in body.chunks_exact_mut(segment).enumerate() {
        for (ky, run) in column.chunks_exact_mut(channels).enumerate() {
            let start = ky
                .saturating_mul(kw)
                .saturating_add(kx)
                .saturating_mul(channels);
            if let Some(taps) = source.get(start..start.saturating_add(channels)) {
                for (w, &s) in run.iter_mut().zip(taps) {
                    *w = i16::from(s);
                }
            }
        }
    }
}

/// Writes the patches of output rows `oy0..` of column `ox` into `panel` (`kc` `i16` each,
/// `[kx][ky][c]`, `in − z_in`, 0 for padding taps and past `K`).
fn fill_panel(
    layer: &Conv2d<'_>,
    input: Columns<'_>,
    ox: usize,
    oy0: usize,
    panel: &mut [i16],
    kc: usize,
) {
    let Shape {
        height,
        width,
        channels,
    } = layer.input_shape();
    let [kh, _] = layer.kernel();
    let [sy, sx] = layer.stride();
    let [py, px] = layer.padding();
    let zero_point = i16::from(layer.quantization().input_zero_point());
    let segment = kh.saturating_mul(channels).max(1);
    let body_len = layer.patch_len();
    for (j, patch) in panel.chunks_exact_mut(kc.max(1)).enumerate() {
        // Taps ky in [lo, hi) fall inside the input: py ≤ oy·sy + ky < py + H.
        let y0 = oy0.saturating_add(j).saturating_mul(sy);
        let lo = py.saturating_sub(y0).min(kh);
        let hi = py.saturating_add(height).saturating_sub(y0).min(kh).max(lo);
        // First input row read; lo ≥ py − y0, so this does not underflow.
        let start = y0
            .saturating_add(lo)
            .saturating_sub(py)
            .saturating_mul(channels);
        let (body, tail) = patch.split_at_mut(body_len.min(patch.len()));
        tail.fill(0);
        for (kx, run) in body.chunks_exact_mut(segment).enumerate() {
            let ix = ox
                .saturating_mul(sx)
                .saturating_add(kx)
                .checked_sub(px)
                .filter(|&ix| ix < width);
            let Some(ix) = ix else {
                run.fill(0);
                continue;
            };
            let (top, rest) = run.split_at_mut(lo.saturating_mul(channels).min(segment));
            let (middle, bottom) = rest.split_at_mut(
                hi.saturating_sub(lo)
                    .saturating_mul(channels)
                    .min(rest.len()),
            );
            top.fill(0);
            bottom.fill(0);
            if let Some(source) = input
                .column(ix)
                .get(start..start.saturating_add(middle.len()))
            {
                for (x, &code) in middle.iter_mut().zip(source) {
                    *x = i16::from(code).wrapping_sub(zero_point);
                }
            }
        }
    }
}

/// Output column `ox` of the max pooling from the ring `input`, written at
/// `output[oy · stride + c]` (reference twin: one value at a time).
pub fn maxpool2d_column_reference(
    layer: &MaxPool2d,
    input: Columns<'_>,
    ox: usize,
    output: &mut [i8],
    stride: usize,
) {
    let channels = layer.input_shape().channels;
    let [kh, kw] = layer.kernel();
    let [sy, sx] = layer.stride();
    for oy in 0..layer.output_shape().height {
        for c in 0..channels {
            let mut best = i8::MIN;
            for ky in 0..kh {
                for kx in 0..kw {
                    let y = oy.saturating_mul(sy).saturating_add(ky);
                    let x = ox.saturating_mul(sx).saturating_add(kx);
                    let index = y.saturating_mul(channels).saturating_add(c);
                    if let Some(&v) = input.column(x).get(index) {
                        best = best.max(v);
                    }
                }
            }
            if let Some(out) = output.get_mut(oy.saturating_mul(stride).saturating_add(c)) {
                *out = best;
            }
        }
    }
}

/// Output column `ox` of the max pooling, optimized: contiguous channel runs, elementwise max.
/// Same bits as [`maxpool2d_column_reference`]. Cost: `Ho · kh · kw · C` comparisons.
pub fn maxpool2d_column(
    layer: &MaxPool2d,
    input: Columns<'_>,
    ox: usize,
    output: &mut [i8],
    stride: usize,
) {
    let channels = layer.input_shape().channels;
    let [kh, kw] = layer.kernel();
    let [sy, sx] = layer.stride();
    for oy in 0..layer.output_shape().height {
        let start = oy.saturating_mul(stride);
        let Some(pixel) = output.get_mut(start..start.saturating_add(channels)) else {
            continue;
        };
        pixel.fill(i8::MIN);
        for kx in 0..kw {
            let column = input.column(ox.saturating_mul(sx).saturating_add(kx));
            for ky in 0..kh {
                let row = oy
                    .saturating_mul(sy)
                    .saturating_add(ky)
                    .saturating_mul(channels);
                let Some(run) = column.get(row..row.saturating_add(channels)) else {
                    continue;
                };
                for (best, &v) in pixel.iter_mut().zip(run) {
                    *best = (*best).max(v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::model::spec::{Conv2dSpec, MaxPool2dSpec, QuantSpec};
    use crate::nn::{conv2d_reference, maxpool2d_reference};
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    /// xorshift64 bytes.
    fn bytes(n: usize, seed: u64) -> Vec<u8> {
        let mut state = seed | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect()
    }

    /// HWC map → ring of all its columns (`[x][y][c]`).
    fn columns_of(map: &[i8], shape: Shape) -> Vec<i8> {
        let mut ring = vec![0; map.len()];
        for y in 0..shape.height {
            for x in 0..shape.width {
                for c in 0..shape.channels {
                    ring[(x * shape.height + y) * shape.channels + c] =
                        map[(y * shape.width + x) * shape.channels + c];
                }
            }
        }
        ring
    }

    /// Runs `kernel` for every output column into an HWC map and also through a ring of only
    /// `slots` columns fed in order (as the streaming executor does).
    fn by_columns(
        input: &[i8],
        shape: Shape,
        out: Shape,
        slots: usize,
        needed: impl Fn(usize) -> usize,
        mut kernel: impl FnMut(Columns<'_>, usize, &mut [i8], usize),
    ) -> (Vec<i8>, Vec<i8>) {
        let all = columns_of(input, shape);
        let column_len = shape.height * shape.channels;
        let mut whole = vec![0x55_i8; out.len()];
        for ox in 0..out.width {
            let columns = Columns::new(&all, column_len, shape.width);
            kernel(
                columns,
                ox,
                &mut whole[ox * out.channels..],
                out.width * out.channels,
            );
        }
        let mut ring = vec![0_i8; slots * column_len];
        let mut streamed = vec![0x55_i8; out.len()];
        let mut ox = 0;
        for x in 0..shape.width {
            let slot = x % slots;
            ring[slot * column_len..(slot + 1) * column_len]
                .copy_from_slice(&all[x * column_len..(x + 1) * column_len]);
            while ox < out.width && needed(ox) <= x + 1 {
                let columns = Columns::new(&ring, column_len, slots);
                kernel(
                    columns,
                    ox,
                    &mut streamed[ox * out.channels..],
                    out.width * out.channels,
                );
                ox += 1;
            }
        }
        assert_eq!(ox, out.width);
        (whole, streamed)
    }

    #[allow(clippy::too_many_arguments)]
    fn conv_case(
        input: Shape,
        out_channels: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        panel_rows: usize,
        seed: u64,
    ) {
        let patch = kernel[0] * kernel[1] * input.channels;
        let weights = bytes(out_channels * patch, seed);
        let raw = bytes(out_channels * 6 + input.len() + 4, seed ^ 0xABCD);
        let bias: Vec<u8> = (0..out_channels)
            .flat_map(|o| (i32::from(raw[o] as i8) * 50).to_le_bytes())
            .collect();
        let multipliers: Vec<u8> = (0..out_channels)
            .flat_map(|o| ((1_i32 << 30) + (i32::from(raw[o + out_channels]) << 22)).to_le_bytes())
            .collect();
        let base = -((patch as f64).sqrt() * 200.0).log2().ceil() as i8;
        let shifts: Vec<u8> = (0..out_channels)
            .map(|o| (base + (raw[o + 2 * out_channels] % 3) as i8 - 1).clamp(-31, 30) as u8)
            .collect();
        let zin = raw[3 * out_channels] as i8;
        let zout = raw[3 * out_channels + 1] as i8;
        let relu = raw[3 * out_channels + 2].is_multiple_of(2);
        let data: Vec<i8> = raw[6 * out_channels..][..input.len()]
            .iter()
            .map(|&b| b as i8)
            .collect();
        let u = |n: usize| n as u32;
        let spec = Conv2dSpec {
            in_channels: u(input.channels),
            out_channels: u(out_channels),
            kernel: kernel.map(u),
            stride: stride.map(u),
            padding: padding.map(u),
            weights: &weights,
            quant: QuantSpec {
                bias: &bias,
                multipliers: &multipliers,
                shifts: &shifts,
                input_zero_point: zin,
                output_zero_point: zout,
                activation_min: if relu { zout } else { -128 },
                activation_max: 127,
            },
        };
        let layer = Conv2d::new(&spec, input, zin).unwrap();
        let out = layer.output_shape();
        let mut reference = vec![0_i8; out.len()];
        conv2d_reference(&layer, &data, &mut reference);
        let needed = |ox: usize| {
            (ox * stride[1] + kernel[1])
                .saturating_sub(padding[1])
                .min(input.width)
        };
        let slots = kernel[1].min(input.width);
        let (whole, streamed) = by_columns(&data, input, out, slots, needed, |c, ox, o, s| {
            conv2d_column_reference(&layer, c, ox, o, s)
        });
        assert_eq!(whole, reference, "reference column kernel, whole ring");
        assert_eq!(streamed, reference, "reference column kernel, streamed");
        let mut workspace = vec![0xDEAD_BEEF_u32; conv2d_column_workspace(&layer, panel_rows)];
        let (whole, streamed) = by_columns(&data, input, out, slots, needed, |c, ox, o, s| {
            conv2d_column(&layer, c, ox, o, s, &mut workspace, panel_rows)
        });
        assert_eq!(whole, reference, "optimized column kernel, whole ring");
        assert_eq!(streamed, reference, "optimized column kernel, streamed");
    }

    #[test]
    fn the_reference_networks_layers_agree_column_by_column() {
        let layers = [
            (Shape::new(10, 30, 4), 16, [3, 7], [1, 2], [1, 3]),
            (Shape::new(10, 20, 16), 16, [3, 5], [2, 2], [1, 2]),
            (Shape::new(7, 12, 16), 32, [3, 3], [1, 1], [1, 1]),
            (Shape::new(5, 9, 64), 128, [3, 3], [1, 1], [1, 1]),
            (Shape::new(9, 40, 1), 12, [3, 7], [2, 4], [1, 3]),
        ];
        for (i, &(input, out, kernel, stride, padding)) in layers.iter().enumerate() {
            for panel_rows in [1, 2, 3, 32] {
                conv_case(
                    input,
                    out,
                    kernel,
                    stride,
                    padding,
                    panel_rows,
                    77 + i as u64,
                );
            }
        }
    }

    #[test]
    fn short_workspace_writes_nothing() {
        let weights = [1_u8; 4];
        let words = [0_u8; 4];
        let spec = Conv2dSpec {
            in_channels: 1,
            out_channels: 1,
            kernel: [2, 2],
            stride: [1, 1],
            padding: [0, 0],
            weights: &weights,
            quant: QuantSpec {
                bias: &words,
                multipliers: &words,
                shifts: &[0],
                input_zero_point: 0,
                output_zero_point: 0,
                activation_min: -128,
                activation_max: 127,
            },
        };
        let layer = Conv2d::new(&spec, Shape::new(3, 3, 1), 0).unwrap();
        let ring = [1_i8; 9];
        let mut out = [9_i8; 2];
        let mut workspace = vec![0; conv2d_column_workspace(&layer, 2) - 1];
        conv2d_column(
            &layer,
            Columns::new(&ring, 3, 3),
            0,
            &mut out,
            1,
            &mut workspace,
            2,
        );
        assert_eq!(out, [9, 9]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn column_convolution_equals_the_whole_map_reference(
            height in 1_usize..12,
            width in 1_usize..24,
            channels in 1_usize..12,
            out_channels in 1_usize..9,
            kh in 1_usize..6,
            kw in 1_usize..8,
            sy in 1_usize..4,
            sx in 1_usize..4,
            pad_y in 0_usize..8,
            pad_x in 0_usize..8,
            panel_rows in 1_usize..6,
            seed in any::<u64>(),
        ) {
            let padding = [pad_y % kh, pad_x % kw];
            let input = Shape::new(height.max(kh), width.max(kw), channels);
            conv_case(input, out_channels, [kh, kw], [sy, sx], padding, panel_rows, seed);
        }

        #[test]
        fn column_pooling_equals_the_whole_map_reference(
            height in 1_usize..12,
            width in 1_usize..24,
            channels in 1_usize..40,
            kh in 1_usize..4,
            kw in 1_usize..4,
            sy in 1_usize..4,
            sx in 1_usize..4,
            seed in any::<u64>(),
        ) {
            let spec = MaxPool2dSpec { kernel: [kh as u32, kw as u32], stride: [sy as u32, sx as u32] };
            let input = Shape::new(height.max(kh), width.max(kw), channels);
            let layer = MaxPool2d::new(&spec, input).unwrap();
            let out = layer.output_shape();
            let data: Vec<i8> = bytes(input.len(), seed).into_iter().map(|b| b as i8).collect();
            let mut reference = vec![0_i8; out.len()];
            maxpool2d_reference(&layer, &data, &mut reference);
            let needed = |ox: usize| ox * sx + kw;
            let slots = kw.min(input.width);
            let (whole, streamed) = by_columns(&data, input, out, slots, needed, |c, ox, o, s| {
                maxpool2d_column_reference(&layer, c, ox, o, s)
            });
            prop_assert_eq!(&whole, &reference);
            prop_assert_eq!(&streamed, &reference);
            let (whole, streamed) = by_columns(&data, input, out, slots, needed, |c, ox, o, s| {
                maxpool2d_column(&layer, c, ox, o, s)
            });
            prop_assert_eq!(&whole, &reference);
            prop_assert_eq!(&streamed, &reference);
        }
    }
}
