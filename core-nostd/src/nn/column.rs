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
//! 1. A **panel** of patches (output rows `oy`) is copied out of the ring as raw codes in the
//!    order `[kx][ky][c]` (per tap column, its `kh` tap rows: in an input column the rows under
//!    one patch are contiguous, so each tap column of a patch is one run of `kh · C` codes, a
//!    word at a time when `kh · C` is a multiple of 4), padding taps set to the input zero point
//!    `z_in`, `Kc` = `K` rounded up to [`COLUMN_PATCH_ALIGN`] codes, and **widened to `i16`
//!    halves** as it is copied ([`dsp::unpack`]: two `SXTB16` per word). Patches go two by two,
//!    interleaved word by word into pair blocks (see [`dsp`]). A panel holds as many patches as
//!    the workspace does (up to [`MAX_PANEL_ROWS`]): the network's largest layer sizes the
//!    workspace, the others get longer panels from it.
//! 2. The zero point is folded out of the dot products: `Σ w·(x − z_in) = Σ w·x − z_in · Σ w`,
//!    with `Σ w` per channel computed once per stream ([`conv2d_weight_sums`]) and subtracted
//!    from the bias (a padding tap holds `z_in`, so it still contributes exactly 0).
//! 3. Output channels go **two at a time**: their two weight rows, read from the model file, are
//!    prepared once per panel in the panel's order ([`dsp::unpack_weight_runs`]: even and odd
//!    bytes as `i16` halves, interleaved, zero past `K`; `4·Kc` bytes), then [`dsp::dot_panel`]
//!    gives the four dot products of every pair of patches: on a Cortex-M4 with the `dsp`
//!    feature a hand-written loop of `LDRD` and `SMLAD`, 12.25 instructions per 16 MACs.
//! 4. Bias and the requantizer fused with the output stage, per output, in 32-bit arithmetic
//!    ([`BoundedRequantizer`], `SMMULR` and a rounding
//!    shift, 14 instructions per output in [`dsp::requantize_rows`]; channels with huge biases
//!    or left shifts fall back to [`NarrowRequantizer`]).
//!
//! Cost per output column: `Ho · O · Kc` multiply-accumulates, `Ho · K` codes copied and widened
//! (`1/O` of the MACs), `O · Kc · ⌈Ho / rows⌉` weight codes prepared (`1/rows`), `Ho · O`
//! requantizations. On a Cortex-M4 (QEMU count, bench/RESULTS.md) the reference network's
//! convolutions take 1.09 instructions per MAC: 0.79 in the dot products, 0.15 copying and
//! widening patches (with the per-panel bookkeeping), 0.07 preparing weights, 0.08
//! requantizing. Workspace: `(4 + panel_rows) ·
//! Kc` bytes, at least `8 · Kc` (rows rounded up to even; [`conv2d_column_workspace`], in `u32`
//! words): room for `panel_rows / 2` widened patches. State: `O` weight sums per layer.

use super::conv2d::Conv2d;
use super::dsp;
use super::maxpool::MaxPool2d;
use super::requant::{BoundedRequantizer, NarrowRequantizer};
use super::{ChannelParams, OutputStage, Shape};

/// Patches of the column convolution's panel are whole words: `K` is rounded up to a multiple of
/// this many codes. The same on every target, so that a build host computes the exact workspace
/// a microcontroller needs ([`conv2d_column_workspace`]).
pub const COLUMN_PATCH_ALIGN: usize = 4;

/// Most patches in one panel (the accumulators of a panel live on the stack: 8 bytes each).
pub const MAX_PANEL_ROWS: usize = 64;

/// Largest `|w · x|` of two `i8` codes: bounds the dot products the requantizer sees.
const MAX_PRODUCT: u32 = 128 * 128;

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

/// `K` rounded up to [`COLUMN_PATCH_ALIGN`]: the codes of one patch in [`conv2d_column`]'s
/// panel.
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

/// `u32` words of workspace [`conv2d_column`] needs with a budget of `panel_rows` raw patches:
/// `(4 + rows) · Kc / 4` words (`Kc` bytes per raw patch, `4 · Kc` for the prepared weight pair),
/// where `rows` is `panel_rows` clamped to `1..=min(Ho, MAX_PANEL_ROWS)` and rounded up to even,
/// and at least `2 · Kc` words (the weight pair and two patches). The kernel widens patches to
/// `i16` (`2 · Kc` bytes each) and puts as many in a panel as the workspace it is given holds.
#[must_use]
pub const fn conv2d_column_workspace(layer: &Conv2d<'_>, panel_rows: usize) -> usize {
    let rows = panel_rows_of(layer, panel_rows).saturating_add(4);
    let rows = if rows < 8 { 8 } else { rows };
    rows.saturating_mul(column_patch_len(layer) / 4)
}

/// `Σ_k w[o][k]` for every output channel `o` into `sums` (at least `O` long): what
/// [`conv2d_column`] needs to fold the input zero point out of its dot products.
/// Cost: one pass over the weights (once per stream, not per column).
pub fn conv2d_weight_sums(layer: &Conv2d<'_>, sums: &mut [i32]) {
    for (row, sum) in layer
        .weights()
        .chunks_exact(layer.patch_len().max(1))
        .zip(sums.iter_mut())
    {
        *sum = row
            .iter()
            .fold(0_i32, |acc, &w| acc.wrapping_add(i32::from(w)));
    }
}

/// Patches per panel: `panel_rows` clamped to `1..=min(Ho, MAX_PANEL_ROWS)`, rounded up to even.
const fn panel_rows_of(layer: &Conv2d<'_>, panel_rows: usize) -> usize {
    let height = layer.output_shape().height;
    let limit = if height < MAX_PANEL_ROWS {
        height
    } else {
        MAX_PANEL_ROWS
    };
    let rows = if panel_rows == 0 {
        1
    } else if panel_rows < limit {
        panel_rows
    } else {
        limit
    };
    rows.saturating_add(rows & 1)
}

/// Widened patches per panel with `available` words of workspace: as many as fit after the
/// weight pair (`Kc` words; `Kc / 2` words per patch), even, at most `min(Ho, MAX_PANEL_ROWS)`
/// rounded up to even; `None` when `available` is below [`conv2d_column_workspace`] (which
/// guarantees two). A layer with small patches thus fills the workspace its network's largest
/// layer needs, and prepares its weights for fewer, longer panels.
fn panel_rows_in(layer: &Conv2d<'_>, panel_rows: usize, available: usize) -> Option<usize> {
    if available < conv2d_column_workspace(layer, panel_rows) {
        return None;
    }
    let kc = column_patch_len(layer);
    let fit = available
        .saturating_sub(kc)
        .checked_div(kc / 2)
        .unwrap_or(0);
    Some((fit & !1).min(panel_rows_of(layer, MAX_PANEL_ROWS)).max(2))
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
/// overwritten; more makes panels longer, up to [`MAX_PANEL_ROWS`]) and `weight_sums` the layer's
/// [`conv2d_weight_sums`]; with less of either, nothing is written. Cost: see the module docs.
#[allow(clippy::too_many_arguments)] // The ring, the output column and the two buffers.
pub fn conv2d_column(
    layer: &Conv2d<'_>,
    input: Columns<'_>,
    ox: usize,
    output: &mut [i8],
    stride: usize,
    workspace: &mut [u32],
    panel_rows: usize,
    weight_sums: &[i32],
) {
    let kc = column_patch_len(layer);
    let words = kc / 4;
    let k = layer.patch_len();
    let height = layer.output_shape().height;
    let out_channels = layer.output_shape().channels;
    let Some(rows) = panel_rows_in(layer, panel_rows, workspace.len()) else {
        return;
    };
    let Some((weight_pair, panel)) = workspace.split_at_mut_checked(kc) else {
        return;
    };
    let Some(weight_sums) = weight_sums.get(..out_channels) else {
        return;
    };
    let quant = layer.quantization();
    let stage = quant.output();
    let zero_point = i32::from(quant.input_zero_point());
    // |Σ w·x| over K raw codes (K ≤ MAX_PATCH = 2^16, so the bound fits).
    let bound = u32::try_from(k).map_or(u32::MAX, |k| k.saturating_mul(MAX_PRODUCT));
    let [kh, kw] = layer.kernel();
    let geometry = [kh, kw, layer.input_shape().channels];
    let mut accumulators = [[0_i32; 2]; MAX_PANEL_ROWS];
    let mut oy0 = 0;
    while oy0 < height {
        let block = rows.min(height.saturating_sub(oy0));
        let even = block.saturating_add(block & 1);
        let used = even.saturating_mul(words).saturating_mul(2);
        let Some(panel) = panel.get_mut(..used) else {
            return;
        };
        fill_panel(layer, input, ox, oy0, block, panel, words);
        let panel: &[u32] = panel;
        let accumulators = accumulators.get_mut(..even).unwrap_or_default();
        let mut channels = layer
            .weights()
            .chunks_exact(k.max(1))
            .zip(quant.channels())
            .zip(weight_sums)
            .enumerate();
        while let Some((o, ((w0, channel0), &sum0))) = channels.next() {
            let first = Channel::new(channel0, sum0, zero_point, bound, stage);
            let second = channels.next().map(|(_, ((w1, channel1), &sum1))| {
                (w1, Channel::new(channel1, sum1, zero_point, bound, stage))
            });
            interleave_weights(w0, second.map(|(w1, _)| w1), geometry, weight_pair);
            dsp::dot_panel(weight_pair, panel, accumulators);
            let start = oy0.saturating_mul(stride).saturating_add(o);
            let rows = output.get_mut(start..).unwrap_or_default();
            let accumulators = accumulators.get(..block).unwrap_or_default();
            store(accumulators, first, second.map(|(_, c)| c), rows, stride);
        }
        oy0 = oy0.saturating_add(block);
    }
}

/// One output channel's bias (with the zero point's share folded in) and fused 32-bit
/// requantizer: the short [`BoundedRequantizer`] when the channel's accumulators are small
/// enough for it (every channel of a sane model), else [`NarrowRequantizer`].
#[derive(Clone, Copy)]
enum Channel {
    Bounded(BoundedRequantizer),
    Narrow {
        bias: i32,
        requantizer: NarrowRequantizer,
    },
}

impl Channel {
    /// `bias − z_in · Σ w` (the accumulator of raw codes plus this is the centred accumulator)
    /// and the requantizer for dot products of raw codes up to `bound` in magnitude.
    #[inline(always)]
    fn new(
        params: ChannelParams,
        weight_sum: i32,
        zero_point: i32,
        bound: u32,
        stage: OutputStage,
    ) -> Self {
        let (min, max) = stage.range();
        let bias = params
            .bias
            .wrapping_sub(zero_point.wrapping_mul(weight_sum));
        let (multiplier, shift, zero) = (params.multiplier, params.shift, stage.zero_point());
        match BoundedRequantizer::new(bias, bound, multiplier, shift, zero, min, max) {
            Some(requantizer) => Self::Bounded(requantizer),
            None => Self::Narrow {
                bias,
                requantizer: NarrowRequantizer::new(multiplier, shift, zero, min, max),
            },
        }
    }
}

/// Requantizes a panel's accumulators of channels `o` (and `o + 1`) into their output rows:
/// the accumulator of patch `j` goes to `output[j · stride + o]` (`output` starts at the panel's
/// first row).
fn store(
    accumulators: &[[i32; 2]],
    first: Channel,
    second: Option<Channel>,
    output: &mut [i8],
    stride: usize,
) {
    store_channel::<0>(accumulators, first, output, stride);
    if let Some(second) = second {
        let output = output.get_mut(1..).unwrap_or_default();
        store_channel::<1>(accumulators, second, output, stride);
    }
}

/// [`store`] of one channel (`SIDE` 0 or 1 of the accumulator pairs), one channel at a time so
/// that the requantizer's constants stay in registers.
fn store_channel<const SIDE: usize>(
    accumulators: &[[i32; 2]],
    channel: Channel,
    output: &mut [i8],
    stride: usize,
) {
    match channel {
        Channel::Bounded(requantizer) => {
            store_bounded::<SIDE>(accumulators, requantizer, output, stride);
        }
        Channel::Narrow { bias, requantizer } => {
            store_narrow::<SIDE>(accumulators, bias, requantizer, output, stride);
        }
    }
}

/// One side of an accumulator pair.
#[inline(always)]
fn side<const SIDE: usize>(pair: &[i32; 2]) -> i32 {
    let [first, second] = *pair;
    if SIDE == 0 { first } else { second }
}

/// The loop of [`store_channel`] with a [`BoundedRequantizer`]: [`dsp::requantize_rows`], 14
/// instructions per output on a Cortex-M4 with `dsp`.
fn store_bounded<const SIDE: usize>(
    accumulators: &[[i32; 2]],
    requantizer: BoundedRequantizer,
    output: &mut [i8],
    stride: usize,
) {
    let constants = requantizer.constants();
    dsp::requantize_rows(accumulators, SIDE, constants, output, stride, |sum| {
        requantizer.apply(sum)
    });
}

/// The loop of [`store_channel`] with a [`NarrowRequantizer`] (channels with very large biases
/// or left shifts).
#[inline(never)]
fn store_narrow<const SIDE: usize>(
    accumulators: &[[i32; 2]],
    bias: i32,
    requantizer: NarrowRequantizer,
    output: &mut [i8],
    stride: usize,
) {
    for (slot, pair) in output.iter_mut().step_by(stride.max(1)).zip(accumulators) {
        *slot = requantizer.apply(bias.wrapping_add(side::<SIDE>(pair)));
    }
}

/// The taps of a patch in the column kernel's order, `[kx][ky][c]`: per tap column `kx`, its
/// `kh` tap rows, each a run of `C` codes. In an input column the `kh` rows under one patch are
/// contiguous, so this order makes every tap column one contiguous run of `kh · C` codes in the
/// column and in the patch. `(kx, ky)` pairs in that order.
fn taps_in_order(kh: usize, kw: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..kw).flat_map(move |kx| (0..kh).map(move |ky| (kx, ky)))
}

/// Prepares two weight rows (OHWI, `[ky][kx][c]`) for [`dsp::dot_panel`] in the panel's order
/// (`[kx][ky][c]`, [`taps_in_order`]): word by word, [`dsp::unpack_weights`] of the two rows'
/// words, zero past `K`; no second row (an odd channel count's last channel) reads as zeros.
/// Four `u32` per word of a row. With `C` a multiple of 4 each run of `C` codes is whole words
/// ([`dsp::unpack_weight_rows`], 9 instructions per word on a Cortex-M4); otherwise code by code.
fn interleave_weights(
    first: &[i8],
    second: Option<&[i8]>,
    [kh, kw, channels]: [usize; 3],
    prepared: &mut [u32],
) {
    let (slots, rest) = prepared.as_chunks_mut::<4>();
    rest.fill(0);
    fn tap_of(row: &[i8], [kw, channels]: [usize; 2], kx: usize, ky: usize) -> &[i8] {
        let start = ky.wrapping_mul(kw).wrapping_add(kx).wrapping_mul(channels);
        row.get(start..start.wrapping_add(channels))
            .unwrap_or_default()
    }
    let tap_of = |row, kx, ky| tap_of(row, [kw, channels], kx, ky);
    if let Some(second) = second
        && channels.is_multiple_of(4)
        && first.len() == second.len()
    {
        // Tap column kx: kh runs of C codes, kw · C bytes apart, from byte kx · C of the rows.
        let run = channels / 4;
        let geometry = [run, kh, kw.wrapping_mul(channels)];
        let mut columns = slots.chunks_mut(run.wrapping_mul(kh).max(1));
        for kx in 0..kw {
            let start = kx.wrapping_mul(channels);
            let (a, b) = (first.get(start..), second.get(start..));
            if let (Some(a), Some(b), Some(out)) = (a, b, columns.next()) {
                dsp::unpack_weight_runs(a, b, geometry, out);
            }
        }
        for column in columns {
            column.fill([0; 4]);
        }
        return;
    }
    // Code by code: the rows' codes in the panel's order, four to a word.
    let mut slots = slots.iter_mut();
    let (mut a, mut b, mut filled) = (0_u32, 0_u32, 0_u32);
    for (kx, ky) in taps_in_order(kh, kw) {
        let run_a = tap_of(first, kx, ky);
        let run_b = second.map(|row| tap_of(row, kx, ky)).unwrap_or_default();
        for c in 0..channels {
            let shift = filled.wrapping_mul(8);
            let x = run_a.get(c).map_or(0, |&x| u32::from(x as u8));
            let y = run_b.get(c).map_or(0, |&y| u32::from(y as u8));
            a |= x.wrapping_shl(shift);
            b |= y.wrapping_shl(shift);
            filled = filled.wrapping_add(1);
            if filled == 4 {
                if let Some(slot) = slots.next() {
                    *slot = dsp::unpack_weights(a, b);
                }
                (a, b, filled) = (0, 0, 0);
            }
        }
    }
    if filled > 0
        && let Some(slot) = slots.next()
    {
        *slot = dsp::unpack_weights(a, b);
    }
    for slot in slots {
        *slot = [0; 4];
    }
}

/// Writes the patches of output rows `oy0 .. oy0 + block` of column `ox` into `panel`, widened
/// to `i16` halves ([`dsp::unpack`]) and paired (see [`dsp`]): patches `2q` and `2q + 1` in pair
/// block `q` (`4 · words` words), in the order `[kx][ky][c]` ([`taps_in_order`]), raw codes,
/// `z_in` for padding taps (and for the missing partner of an odd last patch), zero past `K`.
///
/// A pair whose tap rows all lie inside the input (every pair but one or two at the edges) is
/// copied a tap column at a time: one contiguous run of `kh · C` codes per patch, a word at a
/// time when `kh · C` is a multiple of 4 (a load and two `SXTB16` per word of each patch).
fn fill_panel<'a>(
    layer: &Conv2d<'_>,
    input: Columns<'a>,
    ox: usize,
    oy0: usize,
    block: usize,
    panel: &mut [u32],
    words: usize,
) {
    let Shape {
        height,
        width,
        channels,
    } = layer.input_shape();
    let [kh, kw] = layer.kernel();
    let [sy, sx] = layer.stride();
    let [py, px] = layer.padding();
    let zero_point = layer.quantization().input_zero_point();
    let zero = u32::from_le_bytes([zero_point as u8; 4]);
    // The ring columns under the kernel's tap columns (None: padding columns).
    let mut columns: [Option<&'a [i8]>; crate::model::MAX_KERNEL as usize] =
        [None; crate::model::MAX_KERNEL as usize];
    for (kx, slot) in columns.iter_mut().enumerate().take(kw) {
        *slot = ox
            .saturating_mul(sx)
            .saturating_add(kx)
            .checked_sub(px)
            .filter(|&ix| ix < width)
            .map(|ix| input.column(ix));
    }
    let columns = columns.get(..kw).unwrap_or_default();
    // Input row of tap row ky for output row oy (None: padding).
    let row_of = |oy: usize, ky: usize| {
        oy.saturating_mul(sy)
            .saturating_add(ky)
            .checked_sub(py)
            .filter(|&iy| iy < height)
    };
    // The codes of one tap column of a patch (kh · C), words at a time when whole.
    let run = kh.saturating_mul(channels);
    let whole = run.is_multiple_of(4);
    // One patch's codes (byte path), zero past K: written below K only.
    let mut codes = [0_i8; CODE_BUFFER];
    let block_len = words.saturating_mul(4).max(1);
    for (q, pair) in panel.chunks_exact_mut(block_len).enumerate() {
        let first = q.saturating_mul(2);
        if first >= block {
            break;
        }
        let (oy_p, has_q) = (oy0.saturating_add(first), first.saturating_add(1) < block);
        let (slots, _) = pair.as_chunks_mut::<4>();
        // Both patches' tap rows inside the input (the common case).
        let interior = oy_p
            .saturating_mul(sy)
            .checked_sub(py)
            .filter(|&top| has_q && top.saturating_add(sy).saturating_add(kh) <= height);
        if let Some(top) = interior {
            let start_p = top.saturating_mul(channels);
            let start_q = top.saturating_add(sy).saturating_mul(channels);
            if whole {
                fill_pair_words(slots, columns, [start_p, start_q], run / 4, zero);
                continue;
            }
            if let Some(codes) = codes.get_mut(..words.saturating_mul(4)) {
                fill_patch_interior(codes, columns, start_p, run, zero_point);
                put_codes(slots, 0, codes);
                fill_patch_interior(codes, columns, start_q, run, zero_point);
                put_codes(slots, 2, codes);
                continue;
            }
        }
        if channels.is_multiple_of(4) {
            let rows_q = |ky| row_of(oy_p.saturating_add(1), ky).filter(|_| has_q);
            fill_pair_runs(
                slots,
                columns,
                |ky| row_of(oy_p, ky),
                rows_q,
                kh,
                channels,
                zero,
            );
            continue;
        }
        let rows_p = |ky| row_of(oy_p, ky);
        fill_patch_codes(slots, 0, kh, columns, rows_p, channels, zero);
        if has_q {
            let rows_q = |ky| row_of(oy_p.saturating_add(1), ky);
            fill_patch_codes(slots, 2, kh, columns, rows_q, channels, zero);
        } else {
            for slot in slots.iter_mut() {
                let [_, _, e, o] = slot;
                [*e, *o] = dsp::unpack(zero);
            }
        }
    }
}

/// Largest patch (`Kc` codes) whose interior patches the byte path (`kh · C` not a multiple of
/// 4) assembles in a stack buffer; larger ones go code by code.
const CODE_BUFFER: usize = 256;

/// Both patches of an interior pair block when a tap column is whole words (`run` words): for
/// every tap column, the runs from `starts` (`[p, q]`) of the input column are the next `run`
/// words of each patch (a padding column: the zero point's word `zero`). Cost per word of each
/// patch on a Cortex-M4: a load, two `SXTB16` and half of two `STRD`, plus about 15 instructions
/// per tap column.
fn fill_pair_words(
    slots: &mut [[u32; 4]],
    columns: &[Option<&[i8]>],
    [start_p, start_q]: [usize; 2],
    run: usize,
    zero: u32,
) {
    let word = |codes: &[i8; 4]| u32::from_le_bytes(codes.map(|c| c as u8));
    let [ze, zo] = dsp::unpack(zero);
    let len = run.wrapping_mul(4);
    for (slots, &column) in slots.chunks_exact_mut(run.max(1)).zip(columns) {
        let runs = column.and_then(|c| {
            let p = c.get(start_p..start_p.wrapping_add(len))?;
            Some((p, c.get(start_q..start_q.wrapping_add(len))?))
        });
        match runs {
            Some((p, q)) => {
                let (p, _) = p.as_chunks::<4>();
                let (q, _) = q.as_chunks::<4>();
                for ((slot, p), q) in slots.iter_mut().zip(p).zip(q) {
                    let ([pe, po], [qe, qo]) = (dsp::unpack(word(p)), dsp::unpack(word(q)));
                    *slot = [pe, po, qe, qo];
                }
            }
            None => slots.fill([ze, zo, ze, zo]),
        }
    }
}

/// Both patches of a pair block at the input's edges, `C` a multiple of 4: tap by tap in the
/// order `[kx][ky][c]`, a run of `C / 4` words from each patch's input row (`None`: padding, the
/// zero point's word `zero`).
fn fill_pair_runs(
    slots: &mut [[u32; 4]],
    columns: &[Option<&[i8]>],
    rows_p: impl Fn(usize) -> Option<usize>,
    rows_q: impl Fn(usize) -> Option<usize>,
    kh: usize,
    channels: usize,
    zero: u32,
) {
    let word = |codes: &[i8; 4]| u32::from_le_bytes(codes.map(|c| c as u8));
    fn run_of(column: Option<&[i8]>, iy: Option<usize>, channels: usize) -> &[[i8; 4]] {
        let run = iy.and_then(|iy| {
            let start = iy.wrapping_mul(channels);
            column?.get(start..start.wrapping_add(channels))
        });
        run.unwrap_or_default().as_chunks::<4>().0
    }
    let mut runs = slots.chunks_exact_mut((channels / 4).max(1));
    for (kx, ky) in taps_in_order(kh, columns.len()) {
        let column = columns.get(kx).copied().flatten();
        let p = run_of(column, rows_p(ky), channels);
        let q = run_of(column, rows_q(ky), channels);
        let Some(run) = runs.next() else {
            return;
        };
        for (i, slot) in run.iter_mut().enumerate() {
            let p = p.get(i).map_or(zero, word);
            let q = q.get(i).map_or(zero, word);
            let ([pe, po], [qe, qo]) = (dsp::unpack(p), dsp::unpack(q));
            *slot = [pe, po, qe, qo];
        }
    }
}

/// One interior patch's codes into `codes` (its first `K` bytes, `[kx][ky][c]`): per tap column
/// the run of `run` codes from `start` of the input column, or the zero point for a padding
/// column.
fn fill_patch_interior(
    codes: &mut [i8],
    columns: &[Option<&[i8]>],
    start: usize,
    run: usize,
    zero_point: i8,
) {
    for (codes, &column) in codes.chunks_exact_mut(run.max(1)).zip(columns) {
        match column.and_then(|c| c.get(start..start.wrapping_add(run))) {
            Some(source) => copy_codes(codes, source, zero_point),
            None => codes.fill(zero_point),
        }
    }
}

/// `source` into `destination` (same length, else the zero point): short runs (a one- to
/// three-channel layer's tap column) by hand, longer ones by `copy_from_slice`.
#[inline(always)]
fn copy_codes(destination: &mut [i8], source: &[i8], zero_point: i8) {
    match (destination, source) {
        ([d], [s]) => *d = *s,
        ([d0, d1], [s0, s1]) => (*d0, *d1) = (*s0, *s1),
        ([d0, d1, d2], [s0, s1, s2]) => (*d0, *d1, *d2) = (*s0, *s1, *s2),
        (destination, source) if destination.len() == source.len() => {
            destination.copy_from_slice(source);
        }
        (destination, _) => destination.fill(zero_point),
    }
}

/// The words of `codes` widened into halves `at`, `at + 1` of `slots` (0: the first patch of
/// the pair block, 2: the second).
fn put_codes(slots: &mut [[u32; 4]], at: usize, codes: &[i8]) {
    let (words, _) = codes.as_chunks::<4>();
    for (slot, codes) in slots.iter_mut().zip(words) {
        let [e, o] = dsp::unpack(u32::from_le_bytes(codes.map(|c| c as u8)));
        if let Some([even, odd]) = slot.get_mut(at..at.wrapping_add(2)) {
            (*even, *odd) = (e, o);
        }
    }
}

/// One patch of any channel count and position, code by code in the order `[kx][ky][c]`: its
/// words widened into halves `at`, `at + 1` of `slots` (0: the first patch of the pair block,
/// 2: the second); input rows from `row_of(ky)` (None: padding); zero past `K`. For the pairs at
/// the input's edges and patches too large for [`CODE_BUFFER`].
fn fill_patch_codes(
    slots: &mut [[u32; 4]],
    at: usize,
    kh: usize,
    columns: &[Option<&[i8]>],
    row_of: impl Fn(usize) -> Option<usize>,
    channels: usize,
    zero: u32,
) {
    let zero_point = zero as u8;
    let mut slots = slots.iter_mut();
    let mut put = |word: u32| {
        let Some(slot) = slots.next() else {
            return false;
        };
        let [e, o] = dsp::unpack(word);
        if let Some([even, odd]) = slot.get_mut(at..at.saturating_add(2)) {
            (*even, *odd) = (e, o);
        }
        true
    };
    let (mut word, mut filled) = (0_u32, 0_u32);
    for (kx, ky) in taps_in_order(kh, columns.len()) {
        let start = row_of(ky).map(|iy| iy.saturating_mul(channels));
        let run = match (columns.get(kx).copied().flatten(), start) {
            (Some(column), Some(start)) => column.get(start..start.saturating_add(channels)),
            _ => None,
        };
        for c in 0..channels {
            let code = run
                .and_then(|run| run.get(c))
                .map_or(zero_point, |&x| x as u8);
            word |= u32::from(code).wrapping_shl(filled.wrapping_mul(8));
            filled = filled.wrapping_add(1);
            if filled == 4 {
                put(word);
                (word, filled) = (0, 0);
            }
        }
    }
    if filled > 0 {
        put(word);
    }
    // Past K (nothing left: Kc is K rounded up to a word).
    while put(0) {}
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
        let mut sums = vec![0; out_channels];
        conv2d_weight_sums(&layer, &mut sums);
        let (whole, streamed) = by_columns(&data, input, out, slots, needed, |c, ox, o, s| {
            conv2d_column(&layer, c, ox, o, s, &mut workspace, panel_rows, &sums)
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
        let ring = Columns::new(&ring, 3, 3);
        conv2d_column(&layer, ring, 0, &mut out, 1, &mut workspace, 2, &[4]);
        assert_eq!(out, [9, 9]);
        // Missing weight sums: nothing written either.
        let mut workspace = vec![0; conv2d_column_workspace(&layer, 2)];
        conv2d_column(&layer, ring, 0, &mut out, 1, &mut workspace, 2, &[]);
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
