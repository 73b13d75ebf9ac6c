//! Streaming inference: a network fed one input column (one frame of every stacked window) at a
//! time, each layer keeping only the input columns its kernel still needs. Bit for bit the same
//! logits as the layer-by-layer [`run_network`](crate::inference::run_network), in a small
//! fraction of its memory: what lets the reference network run on a 128 KiB microcontroller.
//!
//! # Why columns
//!
//! The network input is `bins × frames × stack` (HWC): frequency rows, time columns. Frames arrive
//! over time, so the natural order is by column: a layer with kernel width `kw` needs only its
//! last `kw` input columns to compute its next output column (patch-based inference for
//! microcontrollers, as in MCUNetV2, along the time axis). Nothing, not even the input, is ever
//! held whole:
//!
//! ```text
//! frame x of each window ─► input column x ─► ring of conv 1 (kw = 7 columns) ─► output column
//!   ─► ring of conv 2 (5 columns) ─► … ─► ring of the last pooling ─► final map (HWC, small)
//!   ─► flatten + linear (layer by layer, when the last column is in) ─► logits
//! ```
//!
//! # The plan
//!
//! The *spatial prefix* of a network (its leading convolutions and max poolings) streams; every
//! layer from the first flatten or linear on (the *tail*) runs layer by layer on the final map,
//! with the same kernels as [`crate::inference`]. Layer `i` of the prefix owns a ring of
//! `min(kw, W_i)` columns of `H_i × C_i` codes ([`nn::column::Columns`]). After a column arrives in
//! ring `i`, output column `ox` of layer `i` is computed as soon as its last input column
//! `min(ox·sx − px + kw, W_i) − 1` is in, and goes straight into ring `i + 1` (or the final map),
//! depth first, so no ring is overwritten while a column in it is still needed. Padding columns are
//! never stored (the kernels read the zero point for them).
//!
//! | region | bytes |
//! |---|---|
//! | linear accumulators, convolutions' weight sums (`i32`) | `4 · (outputs + Σ O_conv)` |
//! | ring of prefix layer `i` | `min(kw_i, W_i) · H_i · C_i` |
//! | staging column (the prefix's last output column) | `H · C` of the final map |
//! | tail | `max(linear outputs, max over later layers of input + output)` |
//! | workspace (shared by all networks of a [`StreamingClassifier`]) | [`workspace_bytes`] |
//!
//! For the reference architecture (4 × 128 × 312 input) that is 37,415 bytes of state per
//! network (35,328 of rings) and 11,520 bytes of workspace with the default
//! [`DEFAULT_PANEL_ROWS`]: both networks in lockstep in 86,369 bytes ([`scratch_bytes`]), against
//! 509,377 for [`crate::inference::classify`]. The compact architecture (1 × 128 × 312) needs
//! 37,953 bytes in all.
//!
//! # Cost
//!
//! The same multiply-accumulates as layer by layer (each output is computed once); per output
//! column the convolution's panel and weight widening (see [`nn::column`]). Bookkeeping per column
//! is a few comparisons per layer.
//!
//! # Same bits
//!
//! Every output value is the same sum of the same products, requantized the same way, as in
//! [`run_network`](crate::inference::run_network) (the `i32` sums wrap, so their order does not
//! matter); tests compare both on random networks and inputs, and on the reference and compact
//! architectures, with the optimized and the reference kernels.
//!
//! # Example
//!
//! ```
//! # use core_nostd::frontend::{BINS, WINDOW_FRAMES};
//! # use core_nostd::model::spec::*;
//! # use core_nostd::model::{Model, encode, encoded_len};
//! # use core_nostd::nn::Ratio;
//! use core_nostd::inference::classify;
//! use core_nostd::streaming::{StreamConfig, StreamingClassifier, scratch_bytes};
//! # let multipliers = [(1_i32 << 30).to_le_bytes(); 2].concat();
//! # let layers = [
//! #     LayerSpec::MaxPool2d(MaxPool2dSpec { kernel: [BINS as u32, 2], stride: [1, 2] }),
//! #     LayerSpec::Flatten,
//! #     LayerSpec::Linear(LinearSpec {
//! #         in_features: (WINDOW_FRAMES / 2) as u32,
//! #         out_features: 2,
//! #         weights: &[1; WINDOW_FRAMES],
//! #         quant: QuantSpec { bias: &[0; 8], multipliers: &multipliers, shifts: &[252, 251],
//! #             input_zero_point: 0, output_zero_point: 0, activation_min: -128,
//! #             activation_max: 127 },
//! #     }),
//! # ];
//! # let network = NetworkSpec { layers: &layers, logit_scale: Ratio::new(1, 16) };
//! # let spec = ModelSpec {
//! #     composers: &["Bach", "Mozart"], instruments: &["piano", "violin"],
//! #     front_end: FrontEndSpec::CURRENT,
//! #     input: InputSpec { stack: 1, scale: InputSpec::SCALE, zero_point: InputSpec::ZERO_POINT },
//! #     composer_network: network, instrument_network: network,
//! # };
//! # let mut file = vec![0; encoded_len(&spec)?];
//! # encode(&spec, &mut file)?;
//! let model = Model::parse(&file)?; // any model: here one window, a pooling and a linear layer
//! let features: Vec<i8> = (0..model.input_len()).map(|i| (i % 97) as i8).collect();
//!
//! let config = StreamConfig::default();
//! let mut scratch = vec![0; scratch_bytes(&model, &config)];
//! let mut stream = StreamingClassifier::new(&model, &mut scratch, config)?;
//! let mut column = vec![0_i8; stream.column_len()];
//! for x in 0..WINDOW_FRAMES {
//!     // Column x: frame x of each window (here one), one code per bin.
//!     for (bin, code) in column.iter_mut().enumerate() {
//!         *code = features[bin * WINDOW_FRAMES + x];
//!     }
//!     stream.push_column(&column)?;
//! }
//! let streamed = stream.finish()?;
//!
//! let mut big = vec![0; core_nostd::inference::scratch_bytes(&model)];
//! assert_eq!(streamed, classify(&model, &features, &mut big)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;

use crate::frontend::{BINS, Frame, WINDOW_FRAMES, WINDOW_SAMPLES};
use crate::inference::{Kernels, Output, bounded, output_of};
use crate::model::{Layer, MAX_CLASSES, MAX_LAYERS, MAX_STACK, Model, Network};
use crate::nn::column::{self, Columns};
use crate::nn::{self, Shape};

/// Default workspace of the column convolution ([`StreamConfig::panel_rows`]): room for 16 raw
/// patches and a prepared pair of weight rows of the largest layer, 11.5 KB for the reference
/// network. The kernel widens patches to `i16`, so its largest layer puts 8 in a panel and layers
/// with smaller patches more (up to [`column::MAX_PANEL_ROWS`]): most layers prepare each pair of
/// weight rows once or twice per column.
pub const DEFAULT_PANEL_ROWS: usize = 16;

/// The longest input column any valid model has: [`BINS`] × [`MAX_STACK`] codes.
pub const MAX_COLUMN_LEN: usize = BINS * MAX_STACK as usize;

/// How to run a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamConfig {
    /// The column convolutions' workspace, in raw patches (output rows) of the largest one: `Kc`
    /// bytes each, plus `4 · Kc` for a prepared pair of weight rows ([`workspace_bytes`]). More is
    /// faster (the kernel puts as many `i16`-widened patches in a panel as fit, and prepares the
    /// weights once per panel).
    pub panel_rows: usize,
    /// Optimized or reference kernels (same bits).
    pub kernels: Kernels,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            panel_rows: DEFAULT_PANEL_ROWS,
            kernels: Kernels::Optimized,
        }
    }
}

/// Why a stream refused an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamError {
    /// A pushed column does not have `height × channels` codes of the network input.
    WrongColumnLength {
        /// Codes the network expects per column.
        expected: usize,
        /// Codes provided.
        provided: usize,
    },
    /// All of the input's columns were pushed already ([`StreamingClassifier::reset`] starts a
    /// new input).
    TooManyColumns {
        /// Columns of the input.
        width: usize,
    },
    /// `finish` before every column was pushed.
    Incomplete {
        /// Columns of the input.
        width: usize,
        /// Columns pushed.
        pushed: usize,
    },
    /// The scratch (or state) buffer is smaller than [`scratch_bytes`] ([`state_bytes`]).
    ScratchTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes provided.
        provided: usize,
    },
    /// The workspace is smaller than [`workspace_bytes`].
    WorkspaceTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes provided.
        provided: usize,
    },
    /// A whole input for [`classify_streaming`] is not `stack × BINS × WINDOW_FRAMES` codes.
    WrongInputLength {
        /// Codes the model expects.
        expected: usize,
        /// Codes provided.
        provided: usize,
    },
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::WrongColumnLength { expected, provided } => {
                write!(f, "input column needs {expected} codes, got {provided}")
            }
            Self::TooManyColumns { width } => {
                write!(f, "all {width} input columns were pushed already")
            }
            Self::Incomplete { width, pushed } => {
                write!(f, "only {pushed} of {width} input columns were pushed")
            }
            Self::ScratchTooSmall { needed, provided } => write!(
                f,
                "streaming needs {needed} bytes of scratch, buffer has {provided}"
            ),
            Self::WorkspaceTooSmall { needed, provided } => write!(
                f,
                "streaming needs {needed} bytes of workspace, buffer has {provided}"
            ),
            Self::WrongInputLength { expected, provided } => write!(
                f,
                "model input needs {expected} feature codes, got {provided}"
            ),
        }
    }
}

impl core::error::Error for StreamError {}

/// One layer of the spatial prefix: its input ring, its weight sums and progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stage {
    /// Start of the ring in the state buffer.
    offset: usize,
    /// Columns the ring holds.
    slots: usize,
    /// Codes per column (`H × C` of the layer's input).
    column_len: usize,
    /// Start of a convolution's `O` weight sums (`i32`, 4-aligned; unused for a pooling).
    sums: usize,
    /// Input columns received.
    received: usize,
    /// Output columns computed.
    produced: usize,
}

/// Where everything of one network lives in its state buffer (whose start is 4-aligned, see
/// [`NetworkStream::new`]): the `i32` regions first (linear accumulators, the convolutions'
/// weight sums), then the rings, the staging column and the tail.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Plan {
    stages: heapless::Vec<Stage, MAX_LAYERS>,
    /// Index of the linear layer fed column by column (the one right after a flatten that ends
    /// the prefix), if the network has one.
    linear: Option<usize>,
    /// Bytes of the linear layer's `i32` accumulators (at offset 0; 0 without one).
    acc_len: usize,
    /// Start of the staging column: the prefix's last output column, read by the linear layer.
    staging_offset: usize,
    /// Start of the tail region.
    tail_offset: usize,
    /// Bytes of the tail region.
    tail_len: usize,
    /// Shape of the prefix's output (the input without a prefix): the flattened map.
    map: Shape,
}

impl Plan {
    fn new(network: &Network<'_>) -> Self {
        let layers = network.layers();
        let streamed = prefix(network).count();
        let linear = match (layers.get(streamed), layers.get(streamed.saturating_add(1))) {
            (Some(Layer::Flatten { .. }), Some(Layer::Linear(_))) => {
                Some(streamed.saturating_add(1))
            }
            _ => None,
        };
        let linear_out = linear
            .and_then(|index| layers.get(index))
            .map_or(0, |layer| layer.output_shape().len());
        let acc_len = linear_out.saturating_mul(4);
        // The weight sums of the prefix's convolutions, after the accumulators.
        let mut offset = acc_len;
        let mut sums = [0_usize; MAX_LAYERS];
        for (slot, layer) in sums.iter_mut().zip(prefix(network)) {
            if let Layer::Conv2d(conv) = layer {
                *slot = offset;
                offset = offset.saturating_add(conv.output_shape().channels.saturating_mul(4));
            }
        }
        // The rings.
        let mut stages = heapless::Vec::new();
        let mut map = network.input_shape();
        for (layer, &sums) in prefix(network).zip(&sums) {
            let input = layer.input_shape();
            let kw = match layer {
                Layer::Conv2d(conv) => conv.kernel()[1],
                Layer::MaxPool2d(pool) => pool.kernel()[1],
                Layer::Flatten { .. } | Layer::Linear(_) => 0,
            };
            let slots = kw.min(input.width).max(1);
            let column_len = input.height.saturating_mul(input.channels);
            // At most MAX_LAYERS layers, so the push cannot fail.
            let _ = stages.push(Stage {
                offset,
                slots,
                column_len,
                sums,
                received: 0,
                produced: 0,
            });
            offset = offset.saturating_add(slots.saturating_mul(column_len));
            map = layer.output_shape();
        }
        let staging_offset = offset;
        let (tail_offset, tail_from, first_len) = match linear {
            Some(index) => (
                offset.saturating_add(map.height.saturating_mul(map.channels)),
                index.saturating_add(1),
                linear_out,
            ),
            None => (offset, streamed, map.len()),
        };
        let tail_len = layers
            .get(tail_from..)
            .unwrap_or_default()
            .iter()
            .filter(|layer| !matches!(layer, Layer::Flatten { .. }))
            .map(|layer| {
                layer
                    .input_shape()
                    .len()
                    .saturating_add(layer.output_shape().len())
            })
            .fold(first_len, usize::max);
        Self {
            stages,
            linear,
            acc_len,
            staging_offset,
            tail_offset,
            tail_len,
            map,
        }
    }

    /// Bytes of the plan's regions rounded up to whole words, plus 3 bytes of slack for
    /// aligning the start.
    fn state_bytes(&self) -> usize {
        self.regions_len().saturating_add(3)
    }

    /// Bytes of the plan's regions rounded up to whole words.
    fn regions_len(&self) -> usize {
        self.tail_offset
            .saturating_add(self.tail_len)
            .checked_next_multiple_of(4)
            .unwrap_or(usize::MAX)
    }
}

/// The spatial prefix: the leading convolutions and max poolings.
fn prefix<'n, 'a>(network: &'n Network<'a>) -> impl Iterator<Item = &'n Layer<'a>> {
    network
        .layers()
        .iter()
        .take_while(|layer| matches!(layer, Layer::Conv2d(_) | Layer::MaxPool2d(_)))
}

/// Bytes of state (rings and tail) one [`NetworkStream`] of `network` needs (see the
/// [module docs](self) for the layout). Cost: a pass over the layers.
#[must_use]
pub fn state_bytes(network: &Network<'_>) -> usize {
    Plan::new(network).state_bytes()
}

/// Bytes of workspace one column step of `network` needs with `panel_rows` patches per panel:
/// the largest column convolution's [`column::conv2d_column_workspace`] (or a tail
/// convolution's), in whole `u32` words. Cost: a pass over the layers.
#[must_use]
pub fn workspace_bytes(network: &Network<'_>, panel_rows: usize) -> usize {
    workspace_words(network, panel_rows).saturating_mul(4)
}

/// [`workspace_bytes`] in `u32` words.
fn workspace_words(network: &Network<'_>, panel_rows: usize) -> usize {
    let streamed = prefix(network).count();
    network
        .layers()
        .iter()
        .enumerate()
        .map(|(i, layer)| match layer {
            Layer::Conv2d(conv) if i < streamed => {
                column::conv2d_column_workspace(conv, panel_rows)
            }
            Layer::Conv2d(conv) => conv.workspace_len().div_ceil(2),
            Layer::MaxPool2d(_) | Layer::Flatten { .. } | Layer::Linear(_) => 0,
        })
        .fold(0, usize::max)
}

/// Scratch bytes a [`StreamingClassifier`] of `model` needs: both networks' states, the shared
/// workspace and 3 bytes of alignment slack. Cost: two passes over the layers.
#[must_use]
pub fn scratch_bytes(model: &Model<'_>, config: &StreamConfig) -> usize {
    let networks = [model.composer_network(), model.instrument_network()];
    let states = networks
        .iter()
        .fold(0_usize, |sum, n| sum.saturating_add(state_bytes(n)));
    let workspace = networks
        .iter()
        .map(|n| workspace_bytes(n, config.panel_rows))
        .fold(0, usize::max);
    states.saturating_add(workspace).saturating_add(3)
}

/// One network run column by column in a caller's state buffer.
///
/// Push the input's columns in order ([`push_column`](Self::push_column), each `H × C` codes of
/// the network input, `[y][c]`), then [`finish`](Self::finish) returns the logits;
/// [`reset`](Self::reset) starts over. The workspace is passed to each call so that several
/// streams (the two networks of a [`StreamingClassifier`]) can share one.
#[derive(Debug)]
pub struct NetworkStream<'n, 'a, 's> {
    network: &'n Network<'a>,
    plan: Plan,
    state: &'s mut [i8],
    pushed: usize,
    config: StreamConfig,
}

impl<'n, 'a, 's> NetworkStream<'n, 'a, 's> {
    /// A stream of `network` in `state` (at least [`state_bytes`] long; its contents are
    /// overwritten). Cost: a pass over the layers.
    ///
    /// # Errors
    /// [`StreamError::ScratchTooSmall`].
    pub fn new(
        network: &'n Network<'a>,
        state: &'s mut [u8],
        config: StreamConfig,
    ) -> Result<Self, StreamError> {
        let plan = Plan::new(network);
        let needed = plan.state_bytes();
        let provided = state.len();
        let too_small = StreamError::ScratchTooSmall { needed, provided };
        let state = state.get_mut(..needed).ok_or(too_small)?;
        // The accumulators are `i32`: align the whole state (the 3 bytes of slack).
        let (_, aligned, _) = bytemuck::pod_align_to_mut::<u8, u32>(state);
        let state: &mut [i8] = bytemuck::must_cast_slice_mut(aligned);
        if state.len() < plan.regions_len() {
            return Err(too_small);
        }
        let mut stream = Self {
            network,
            plan,
            state,
            pushed: 0,
            config,
        };
        stream.reset();
        for (layer, stage) in prefix(network).zip(&stream.plan.stages) {
            if let Layer::Conv2d(conv) = layer {
                let len = conv.output_shape().channels.saturating_mul(4);
                let sums = stream
                    .state
                    .get_mut(stage.sums..stage.sums.saturating_add(len))
                    .and_then(|bytes| bytemuck::try_cast_slice_mut(bytes).ok())
                    .unwrap_or_default();
                nn::column::conv2d_weight_sums(conv, sums);
            }
        }
        Ok(stream)
    }

    /// Codes per input column: `height × channels` of the network input.
    #[must_use]
    pub const fn column_len(&self) -> usize {
        let input = self.network.input_shape();
        input.height.saturating_mul(input.channels)
    }

    /// Columns of the input (frames per window).
    #[must_use]
    pub const fn width(&self) -> usize {
        self.network.input_shape().width
    }

    /// Columns pushed since the start or the last [`reset`](Self::reset).
    #[must_use]
    pub const fn pushed(&self) -> usize {
        self.pushed
    }

    /// Forgets the current input: progress counters and the linear layer's accumulators to zero
    /// (ring slots need no clearing: each is written before it is read).
    pub fn reset(&mut self) {
        self.pushed = 0;
        for stage in &mut self.plan.stages {
            stage.received = 0;
            stage.produced = 0;
        }
        self.accumulators().fill(0);
    }

    /// The streamed linear layer's accumulators (empty without one).
    fn accumulators(&mut self) -> &mut [i32] {
        self.state
            .get_mut(..self.plan.acc_len)
            .and_then(|bytes| bytemuck::try_cast_slice_mut(bytes).ok())
            .unwrap_or_default()
    }

    /// Feeds the next input column and computes every output column of every layer it completes.
    /// `workspace` holds at least [`workspace_bytes`] (as `u32` words).
    ///
    /// Cost: the layers' column kernels for the columns completed (on average the network's
    /// MACs / width per column).
    ///
    /// # Errors
    /// [`StreamError::WrongColumnLength`], [`StreamError::TooManyColumns`],
    /// [`StreamError::WorkspaceTooSmall`].
    pub fn push_column(&mut self, column: &[i8], workspace: &mut [u32]) -> Result<(), StreamError> {
        let expected = self.column_len();
        if column.len() != expected {
            return Err(StreamError::WrongColumnLength {
                expected,
                provided: column.len(),
            });
        }
        let width = self.width();
        if self.pushed >= width {
            return Err(StreamError::TooManyColumns { width });
        }
        self.check_workspace(workspace)?;
        let x = self.pushed;
        self.pushed = x.saturating_add(1);
        if let Some(stage) = self.plan.stages.first_mut() {
            let slot = x.checked_rem(stage.slots).unwrap_or(0);
            let start = stage
                .offset
                .saturating_add(slot.saturating_mul(stage.column_len));
            if let Some(ring) = self
                .state
                .get_mut(start..start.saturating_add(stage.column_len))
            {
                ring.copy_from_slice(column);
            }
            stage.received = stage.received.saturating_add(1);
            self.cascade(workspace);
        } else if self.plan.linear.is_some() {
            // No spatial prefix: the input column is the flattened map's column.
            self.accumulate(x, column);
        } else {
            // No spatial prefix, no streamed linear layer: the input itself is the map (HWC).
            let channels = self.network.input_shape().channels;
            let tail = self
                .state
                .get_mut(self.plan.tail_offset..)
                .unwrap_or_default();
            scatter_column(tail, self.plan.map, x, column, channels);
        }
        Ok(())
    }

    /// After the last column: runs the tail (flatten, linear layers) on the final map and returns
    /// the logits. Cost: the tail layers' MACs.
    ///
    /// # Errors
    /// [`StreamError::Incomplete`] before every column was pushed,
    /// [`StreamError::WorkspaceTooSmall`].
    pub fn finish(
        &mut self,
        workspace: &mut [u32],
    ) -> Result<heapless::Vec<i8, MAX_CLASSES>, StreamError> {
        let width = self.width();
        if self.pushed != width {
            return Err(StreamError::Incomplete {
                width,
                pushed: self.pushed,
            });
        }
        self.check_workspace(workspace)?;
        let reference = self.config.kernels == Kernels::Reference;
        let layers = self.network.layers();
        let (first, mut len) = match self.plan.linear.and_then(|i| Some((i, layers.get(i)?))) {
            Some((index, Layer::Linear(linear))) => {
                let end = self.plan.tail_offset.min(self.state.len());
                let (before, tail) = self.state.split_at_mut(end);
                let acc: &[i32] = before
                    .get(..self.plan.acc_len)
                    .and_then(|bytes| bytemuck::try_cast_slice(bytes).ok())
                    .unwrap_or_default();
                nn::linear::linear_finish(linear, acc, tail, reference);
                (index.saturating_add(1), linear.output_shape().len())
            }
            _ => (self.plan.stages.len(), self.plan.map.len()),
        };
        let tail = self
            .state
            .get_mut(self.plan.tail_offset..)
            .unwrap_or_default();
        let mut at_front = true;
        for layer in layers.get(first..).unwrap_or_default() {
            let out_len = layer.output_shape().len();
            if let Layer::Flatten { .. } = layer {
                continue;
            }
            let Some((input, output)) = split(tail, at_front, len, out_len) else {
                break;
            };
            run_tail_layer(layer, input, output, workspace, self.config.kernels);
            at_front = !at_front;
            len = out_len;
        }
        let logits = split(tail, at_front, len, 0).map_or(&[][..], |(logits, _)| logits);
        Ok(bounded(logits.iter().copied()))
    }

    /// Adds the staging column (column `x` of the prefix's output) to the streamed linear
    /// layer's sums.
    fn accumulate_staged(&mut self, x: usize) {
        let Some(Layer::Linear(linear)) =
            self.plan.linear.and_then(|i| self.network.layers().get(i))
        else {
            return;
        };
        let (map, kernels) = (self.plan.map, self.config.kernels);
        let start = self.plan.staging_offset;
        let len = map.height.saturating_mul(map.channels);
        let acc_len = self.plan.acc_len;
        let Some((before, after)) = self.state.split_at_mut_checked(start) else {
            return;
        };
        let column: &[i8] = after.get(..len).unwrap_or_default();
        let acc: &mut [i32] = before
            .get_mut(..acc_len)
            .and_then(|bytes| bytemuck::try_cast_slice_mut(bytes).ok())
            .unwrap_or_default();
        match kernels {
            Kernels::Optimized => nn::linear::linear_column(linear, map, x, column, acc),
            Kernels::Reference => nn::linear::linear_column_reference(linear, map, x, column, acc),
        }
    }

    /// Adds column `x` of the flattened map (`[y][c]`) to the streamed linear layer's sums.
    fn accumulate(&mut self, x: usize, column: &[i8]) {
        let Some(Layer::Linear(linear)) =
            self.plan.linear.and_then(|i| self.network.layers().get(i))
        else {
            return;
        };
        let (map, kernels) = (self.plan.map, self.config.kernels);
        let acc = self.accumulators();
        match kernels {
            Kernels::Optimized => nn::linear::linear_column(linear, map, x, column, acc),
            Kernels::Reference => nn::linear::linear_column_reference(linear, map, x, column, acc),
        }
    }

    fn check_workspace(&self, workspace: &[u32]) -> Result<(), StreamError> {
        let needed = workspace_words(self.network, self.config.panel_rows);
        if workspace.len() < needed {
            return Err(StreamError::WorkspaceTooSmall {
                needed: needed.saturating_mul(4),
                provided: workspace.len().saturating_mul(4),
            });
        }
        Ok(())
    }

    /// Computes, depth first, every output column the columns received so far complete.
    fn cascade(&mut self, workspace: &mut [u32]) {
        let layers = self.network.layers();
        let count = self.plan.stages.len();
        let mut i = 0_usize;
        loop {
            let ready = match (layers.get(i), self.plan.stages.get(i)) {
                (Some(layer), Some(stage)) => next_output(layer, stage),
                _ => None,
            };
            if let Some(ox) = ready {
                self.produce(i, ox, workspace);
                let next = i.saturating_add(1);
                if let Some(stage) = self.plan.stages.get_mut(i) {
                    stage.produced = stage.produced.saturating_add(1);
                }
                if next < count {
                    if let Some(stage) = self.plan.stages.get_mut(next) {
                        stage.received = stage.received.saturating_add(1);
                    }
                    i = next;
                }
                continue;
            }
            match i.checked_sub(1) {
                Some(previous) => i = previous,
                None => break,
            }
        }
    }

    /// Computes output column `ox` of prefix layer `i` into the next ring or the final map.
    fn produce(&mut self, i: usize, ox: usize, workspace: &mut [u32]) {
        let (Some(layer), Some(&stage)) = (self.network.layers().get(i), self.plan.stages.get(i))
        else {
            return;
        };
        let out_shape = layer.output_shape();
        let last = self.plan.stages.get(i.saturating_add(1)).is_none();
        let (start, stride) = match self.plan.stages.get(i.saturating_add(1)) {
            Some(next) => {
                let slot = ox.checked_rem(next.slots).unwrap_or(0);
                (
                    next.offset
                        .saturating_add(slot.saturating_mul(next.column_len)),
                    out_shape.channels,
                )
            }
            // The streamed linear layer's staging column.
            None if self.plan.linear.is_some() => (self.plan.staging_offset, out_shape.channels),
            // Column ox of the whole map (HWC).
            None => (
                self.plan
                    .tail_offset
                    .saturating_add(ox.saturating_mul(out_shape.channels)),
                out_shape.width.saturating_mul(out_shape.channels),
            ),
        };
        let Some((before, output)) = self.state.split_at_mut_checked(start) else {
            return;
        };
        let ring_len = stage.slots.saturating_mul(stage.column_len);
        let before: &[i8] = before;
        let ring = before
            .get(stage.offset..stage.offset.saturating_add(ring_len))
            .unwrap_or_default();
        let input = Columns::new(ring, stage.column_len, stage.slots);
        let panel_rows = self.config.panel_rows;
        match (layer, self.config.kernels) {
            (Layer::Conv2d(conv), Kernels::Optimized) => {
                let len = conv.output_shape().channels.saturating_mul(4);
                let sums: &[i32] = before
                    .get(stage.sums..stage.sums.saturating_add(len))
                    .and_then(|bytes| bytemuck::try_cast_slice(bytes).ok())
                    .unwrap_or_default();
                column::conv2d_column(conv, input, ox, output, stride, workspace, panel_rows, sums);
            }
            (Layer::Conv2d(conv), Kernels::Reference) => {
                column::conv2d_column_reference(conv, input, ox, output, stride);
            }
            (Layer::MaxPool2d(pool), Kernels::Optimized) => {
                column::maxpool2d_column(pool, input, ox, output, stride);
            }
            (Layer::MaxPool2d(pool), Kernels::Reference) => {
                column::maxpool2d_column_reference(pool, input, ox, output, stride);
            }
            (Layer::Flatten { .. } | Layer::Linear(_), _) => {}
        }
        if last && self.plan.linear.is_some() {
            self.accumulate_staged(ox);
        }
    }
}

/// The next output column of prefix layer `layer` if the columns it needs have arrived.
fn next_output(layer: &Layer<'_>, stage: &Stage) -> Option<usize> {
    let ox = stage.produced;
    if ox >= layer.output_shape().width {
        return None;
    }
    let needed = match layer {
        Layer::Conv2d(conv) => {
            let [_, kw] = conv.kernel();
            let [_, sx] = conv.stride();
            let [_, px] = conv.padding();
            ox.saturating_mul(sx)
                .saturating_add(kw)
                .saturating_sub(px)
                .min(conv.input_shape().width)
        }
        Layer::MaxPool2d(pool) => {
            let [_, kw] = pool.kernel();
            let [_, sx] = pool.stride();
            ox.saturating_mul(sx).saturating_add(kw)
        }
        Layer::Flatten { .. } | Layer::Linear(_) => return None,
    };
    (stage.received >= needed).then_some(ox)
}

/// Writes input column `x` (`[y][c]`) into an HWC map of shape `map`.
fn scatter_column(map_bytes: &mut [i8], map: Shape, x: usize, column: &[i8], channels: usize) {
    let row = map.width.saturating_mul(channels);
    for (y, pixel) in column.chunks_exact(channels.max(1)).enumerate() {
        let start = y
            .saturating_mul(row)
            .saturating_add(x.saturating_mul(channels));
        if let Some(slot) = map_bytes.get_mut(start..start.saturating_add(channels)) {
            slot.copy_from_slice(pixel);
        }
    }
}

/// The tail region split into (input of `in_len` at the front or the back, output of `out_len`
/// at the other end), as in [`crate::inference`].
fn split(
    buffer: &mut [i8],
    input_at_front: bool,
    in_len: usize,
    out_len: usize,
) -> Option<(&[i8], &mut [i8])> {
    if input_at_front {
        let (input, rest) = buffer.split_at_mut_checked(in_len)?;
        let start = rest.len().checked_sub(out_len)?;
        Some((input, rest.get_mut(start..)?))
    } else {
        let start = buffer.len().checked_sub(in_len)?;
        let (rest, input) = buffer.split_at_mut_checked(start)?;
        Some((input, rest.get_mut(..out_len)?))
    }
}

/// Runs one tail layer on a whole activation, with the kernels of [`crate::inference`].
fn run_tail_layer(
    layer: &Layer<'_>,
    input: &[i8],
    output: &mut [i8],
    workspace: &mut [u32],
    kernels: Kernels,
) {
    match (layer, kernels) {
        (Layer::Conv2d(conv), Kernels::Optimized) => {
            nn::conv2d(
                conv,
                input,
                output,
                bytemuck::must_cast_slice_mut(workspace),
            );
        }
        (Layer::Conv2d(conv), Kernels::Reference) => nn::conv2d_reference(conv, input, output),
        (Layer::MaxPool2d(pool), Kernels::Optimized) => nn::maxpool2d(pool, input, output),
        (Layer::MaxPool2d(pool), Kernels::Reference) => {
            nn::maxpool2d_reference(pool, input, output);
        }
        (Layer::Linear(linear), Kernels::Optimized) => nn::linear(linear, input, output),
        (Layer::Linear(linear), Kernels::Reference) => {
            nn::linear_reference(linear, input, output);
        }
        (Layer::Flatten { .. }, _) => {}
    }
}

/// Both networks of a model run column by column in lockstep over one input stream, in one
/// caller-provided scratch buffer ([`scratch_bytes`]); [`finish`](Self::finish) gives the same
/// [`Output`] as [`crate::inference::classify`], bit for bit.
///
/// Input column `x` is frame `x` of every stacked window: `column[bin · stack + window]`
/// ([`put_frame`] writes one window's frame into it).
#[derive(Debug)]
pub struct StreamingClassifier<'m, 'a, 's> {
    model: &'m Model<'a>,
    composer: NetworkStream<'m, 'a, 's>,
    instruments: NetworkStream<'m, 'a, 's>,
    workspace: &'s mut [u32],
}

impl<'m, 'a, 's> StreamingClassifier<'m, 'a, 's> {
    /// A classifier of `model` in `scratch` (at least [`scratch_bytes`]; overwritten).
    /// Cost: two passes over the layers.
    ///
    /// # Errors
    /// [`StreamError::ScratchTooSmall`].
    pub fn new(
        model: &'m Model<'a>,
        scratch: &'s mut [u8],
        config: StreamConfig,
    ) -> Result<Self, StreamError> {
        let needed = scratch_bytes(model, &config);
        let provided = scratch.len();
        let too_small = StreamError::ScratchTooSmall { needed, provided };
        let scratch = scratch.get_mut(..needed).ok_or(too_small)?;
        let composer_network = model.composer_network();
        let instrument_network = model.instrument_network();
        let (first, rest) = scratch
            .split_at_mut_checked(state_bytes(composer_network))
            .ok_or(too_small)?;
        let (second, rest) = rest
            .split_at_mut_checked(state_bytes(instrument_network))
            .ok_or(too_small)?;
        let (_, workspace, _) = bytemuck::pod_align_to_mut::<u8, u32>(rest);
        let words = workspace_words(composer_network, config.panel_rows)
            .max(workspace_words(instrument_network, config.panel_rows));
        if workspace.len() < words {
            return Err(too_small);
        }
        Ok(Self {
            model,
            composer: NetworkStream::new(composer_network, first, config)?,
            instruments: NetworkStream::new(instrument_network, second, config)?,
            workspace,
        })
    }

    /// Codes per input column: `BINS × stack`.
    #[must_use]
    pub const fn column_len(&self) -> usize {
        self.composer.column_len()
    }

    /// Columns per input: [`WINDOW_FRAMES`].
    #[must_use]
    pub const fn width(&self) -> usize {
        self.composer.width()
    }

    /// Columns pushed since the start or the last [`reset`](Self::reset).
    #[must_use]
    pub const fn pushed(&self) -> usize {
        self.composer.pushed()
    }

    /// Feeds the next input column to both networks. Cost: see
    /// [`NetworkStream::push_column`], twice.
    ///
    /// # Errors
    /// [`StreamError::WrongColumnLength`], [`StreamError::TooManyColumns`].
    pub fn push_column(&mut self, column: &[i8]) -> Result<(), StreamError> {
        self.composer.push_column(column, self.workspace)?;
        self.instruments.push_column(column, self.workspace)
    }

    /// After the last column: both networks' tails, then the scores.
    ///
    /// # Errors
    /// [`StreamError::Incomplete`] before every column was pushed.
    pub fn finish(&mut self) -> Result<Output, StreamError> {
        let composer = self.composer.finish(self.workspace)?;
        let instruments = self.instruments.finish(self.workspace)?;
        Ok(output_of(self.model, composer, instruments))
    }

    /// Starts a new input.
    pub fn reset(&mut self) {
        self.composer.reset();
        self.instruments.reset();
    }
}

/// Writes window `window`'s frame into an input column of a `stack`-window model:
/// `column[bin · stack + window] = frame[bin]`. Cost: [`BINS`] stores.
pub fn put_frame(column: &mut [i8], stack: usize, window: usize, frame: &Frame) {
    for (&code, slot) in frame
        .iter()
        .zip(column.iter_mut().skip(window).step_by(stack.max(1)))
    {
        *slot = code;
    }
}

/// Classifies a whole input (`stack` feature planes, `[window][bin][frame]`, as for
/// [`crate::inference::classify`]) by streaming its columns: the twin of `classify` that the tests
/// compare with it. Cost: as the stream, plus a transposition of the input.
///
/// # Errors
/// [`StreamError::WrongInputLength`], [`StreamError::ScratchTooSmall`].
pub fn classify_streaming(
    model: &Model<'_>,
    input: &[i8],
    scratch: &mut [u8],
    config: StreamConfig,
) -> Result<Output, StreamError> {
    if input.len() != model.input_len() {
        return Err(StreamError::WrongInputLength {
            expected: model.input_len(),
            provided: input.len(),
        });
    }
    let stack = model.stack();
    let mut stream = StreamingClassifier::new(model, scratch, config)?;
    let mut buffer = [0_i8; MAX_COLUMN_LEN];
    let column = buffer.get_mut(..stream.column_len()).unwrap_or_default();
    for x in 0..WINDOW_FRAMES {
        for (window, plane) in input
            .chunks_exact(BINS.saturating_mul(WINDOW_FRAMES))
            .enumerate()
        {
            for (bin, slot) in column
                .iter_mut()
                .skip(window)
                .step_by(stack.max(1))
                .enumerate()
            {
                let index = bin.saturating_mul(WINDOW_FRAMES).saturating_add(x);
                *slot = plane.get(index).copied().unwrap_or(0);
            }
        }
        stream.push_column(column)?;
    }
    stream.finish()
}

/// Start samples of the `stack` windows of one input over a clip of `samples` samples: spread
/// evenly from the start to the end of the clip (consecutive windows when the clip is exactly
/// `stack` windows long; all at 0 when it is at most one window, which is then zero-padded).
/// `start_k = ⌊k · (samples − W) / (stack − 1)⌋` with `W` = [`WINDOW_SAMPLES`]. The firmware
/// and the host tests stack windows this way. Cost: `stack` divisions.
pub fn window_starts(samples: usize, stack: usize) -> impl Iterator<Item = usize> {
    let span = samples.saturating_sub(WINDOW_SAMPLES) as u64;
    let gaps = stack.saturating_sub(1).max(1) as u64;
    (0..stack).map(move |k| {
        let start = (k as u64)
            .saturating_mul(span)
            .checked_div(gaps)
            .unwrap_or(0);
        usize::try_from(start).unwrap_or(usize::MAX)
    })
}
