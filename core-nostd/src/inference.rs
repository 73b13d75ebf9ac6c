//! Running a validated [`Model`] over one input in caller-provided scratch memory.
//!
//! # The scratch plan (ping-pong at the two ends)
//!
//! Both networks run one after the other in the same scratch; within a network, each layer reads
//! its input at one end of the scratch and writes its output at the other end, and the kernel
//! workspace (the convolution's `i16` weights and im2col panel) is whatever lies between:
//!
//! ```text
//! step 0 (input CHW → HWC):  [ input (HWC)                      ......................... ]
//! layer 1:                   [ input (HWC) | workspace ......... |             activation 1 ]
//! layer 2:                   [ activation 2 | workspace ......... |            activation 1 ]
//! layer 3:                   [ activation 2 | workspace ......... |            activation 3 ]
//! ```
//!
//! So a network needs `max over layers (input + workspace + output)` bytes
//! ([`network_scratch_bytes`]), and a model the larger of its two networks ([`scratch_bytes`]).
//! Flatten moves no data (activations are HWC, and a flatten keeps that order). The input is
//! copied once into the scratch, transposed from the front end's `[window][bin][frame]` (CHW) to
//! HWC (`[bin][frame][window]`, the kernels' layout).
//!
//! For the reference architecture (input 4 × 128 × 312) the peak is the first convolution:
//! 159,744 bytes of input + 319,488 of output + 30,145 of workspace = **509,377 bytes**; the other
//! layers need less (the second: 439,809). That suits a host or a large MCU, not a 128 KiB one.
//! Because the convolution works one output row at a time from a few input rows (its panel is one
//! output row), a later streaming mode can run the first layers band by band (input rows in,
//! output rows out, each band in a ring buffer) in tens of KiB without changing the kernels'
//! arithmetic; that is a separate issue.
//!
//! # Example
//!
//! A toy model (the loudest feature code of the plane, times +1 and −1), written, read back and
//! run:
//!
//! ```
//! use core_nostd::frontend::{BINS, WINDOW_FRAMES};
//! use core_nostd::inference::{classify, scratch_bytes};
//! use core_nostd::model::spec::{
//!     FrontEndSpec, InputSpec, LayerSpec, LinearSpec, MaxPool2dSpec, ModelSpec, NetworkSpec,
//!     QuantSpec,
//! };
//! use core_nostd::model::{Model, encode, encoded_len};
//! use core_nostd::nn::Ratio;
//!
//! // Multiplier 1.0 = 2^30 · 2^(1 − 31): Q31 value 2^30, shift +1.
//! let multipliers = [(1_i32 << 30).to_le_bytes(); 2].concat();
//! let layers = [
//!     LayerSpec::MaxPool2d(MaxPool2dSpec {
//!         kernel: [BINS as u32, WINDOW_FRAMES as u32],
//!         stride: [1, 1],
//!     }),
//!     LayerSpec::Flatten,
//!     LayerSpec::Linear(LinearSpec {
//!         in_features: 1,
//!         out_features: 2,
//!         weights: &[1, (-1_i8) as u8],
//!         quant: QuantSpec {
//!             bias: &[0; 8],
//!             multipliers: &multipliers,
//!             shifts: &[1, 1],
//!             input_zero_point: 0,
//!             output_zero_point: 0,
//!             activation_min: -128,
//!             activation_max: 127,
//!         },
//!     }),
//! ];
//! let network = NetworkSpec { layers: &layers, logit_scale: Ratio::new(1, 16) };
//! let spec = ModelSpec {
//!     composers: &["Bach", "Mozart"],
//!     instruments: &["piano", "violin"],
//!     front_end: FrontEndSpec::CURRENT,
//!     input: InputSpec { stack: 1, scale: InputSpec::SCALE, zero_point: InputSpec::ZERO_POINT },
//!     composer_network: network,
//!     instrument_network: network,
//! };
//! let mut file = vec![0; encoded_len(&spec)?];
//! encode(&spec, &mut file)?;
//!
//! let model = Model::parse(&file)?;
//! let mut features = vec![0_i8; model.input_len()];
//! features[1000] = 32;
//! let mut scratch = vec![0; scratch_bytes(&model)];
//! let output = classify(&model, &features, &mut scratch)?;
//! assert_eq!(output.composers.logits(), [32, -32]); // real logits ±2
//! assert_eq!(output.composers.best(), Some(0)); // Bach
//! // softmax(2, −2) = (0.982, 0.018) and sigmoid(±2) = (0.881, 0.119), in Q15:
//! assert_eq!(output.composers.probabilities_q15(), [32179, 589]);
//! assert_eq!(output.instruments.probabilities_q15(), [28862, 3906]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Errors instead of panics
//!
//! [`classify`] refuses an input of the wrong length or a scratch that is too small with an
//! [`InferenceError`]; after those two checks nothing can fail, because the model was validated
//! when it was parsed.

use core::fmt;

use crate::model::layout::chw_to_hwc;
use crate::model::{Layer, MAX_CLASSES, Model, Network};
use crate::nn::{self, Shape, output};

/// Which kernels to run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Kernels {
    /// The optimized kernels (the default; what [`classify`] uses).
    #[default]
    Optimized,
    /// The plain reference kernels: same bits, several times slower. For tests and benchmarks.
    Reference,
}

/// Why [`classify`] refused to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InferenceError {
    /// The input is not `stack × BINS × WINDOW_FRAMES` codes long.
    WrongInputLength {
        /// Codes the model expects.
        expected: usize,
        /// Codes provided.
        provided: usize,
    },
    /// The scratch buffer is smaller than [`scratch_bytes`].
    ScratchTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes provided.
        provided: usize,
    },
}

impl fmt::Display for InferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::WrongInputLength { expected, provided } => write!(
                f,
                "model input needs {expected} feature codes, got {provided}"
            ),
            Self::ScratchTooSmall { needed, provided } => write!(
                f,
                "inference needs {needed} bytes of scratch, buffer has {provided}"
            ),
        }
    }
}

impl core::error::Error for InferenceError {}

/// The scores of one network: its int8 logits and their Q15 probabilities (softmax for the
/// composers, one sigmoid per instrument), in label order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Scores {
    logits: heapless::Vec<i8, MAX_CLASSES>,
    probabilities: heapless::Vec<u16, MAX_CLASSES>,
}

impl Scores {
    /// The int8 logit codes (real value `scale · (code − zero_point)`, see [`Network`]).
    #[must_use]
    pub fn logits(&self) -> &[i8] {
        &self.logits
    }

    /// Probabilities in Q15 (`32768` = 1.0).
    #[must_use]
    pub fn probabilities_q15(&self) -> &[u16] {
        &self.probabilities
    }

    /// Index of the largest logit (the first on ties); `None` if there are no classes.
    #[must_use]
    pub fn best(&self) -> Option<usize> {
        let max = self.logits.iter().max()?;
        self.logits.iter().position(|l| l == max)
    }
}

/// Both networks' scores for one input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Output {
    /// Composer scores, in the order of [`Model::composers`].
    pub composers: Scores,
    /// Instrument scores, in the order of [`Model::instruments`].
    pub instruments: Scores,
}

/// Scratch bytes [`classify`] needs for `model`: the larger of the two networks'.
#[must_use]
pub fn scratch_bytes(model: &Model<'_>) -> usize {
    network_scratch_bytes(model.composer_network())
        .max(network_scratch_bytes(model.instrument_network()))
}

/// Scratch bytes one network needs: the maximum over its layers of input + workspace + output
/// (see the [module docs](self)).
#[must_use]
pub fn network_scratch_bytes(network: &Network<'_>) -> usize {
    network
        .layers()
        .iter()
        .map(|layer| {
            layer
                .input_shape()
                .len()
                .saturating_add(workspace_bytes(layer))
                .saturating_add(layer.output_shape().len())
        })
        .fold(network.input_shape().len(), usize::max)
}

/// Workspace bytes between a layer's input and output: the convolution's `i16` elements plus one
/// byte of alignment slack.
fn workspace_bytes(layer: &Layer<'_>) -> usize {
    match layer {
        Layer::Conv2d(conv) => conv.workspace_len().saturating_mul(2).saturating_add(1),
        Layer::MaxPool2d(_) | Layer::Flatten { .. } | Layer::Linear(_) => 0,
    }
}

/// Multiply-accumulates of one pass of `network` (see also [`Network::macs`]).
#[must_use]
pub fn macs(network: &Network<'_>) -> u64 {
    network.macs()
}

/// Flash the model needs: the whole file, since weights are used in place (code not included).
#[must_use]
pub const fn flash_bytes(model: &Model<'_>) -> usize {
    model.file_len()
}

/// Classifies one input with the optimized kernels.
///
/// `input` is `stack` windows of features in the front end's layout, `[window][bin][frame]`
/// (`stack × 128 × 312` codes, e.g. consecutive [`FeaturePlane`](crate::frontend::FeaturePlane)s).
/// `scratch` must hold at least [`scratch_bytes`] bytes; its contents are overwritten.
///
/// # Errors
/// [`InferenceError::WrongInputLength`], [`InferenceError::ScratchTooSmall`].
pub fn classify(
    model: &Model<'_>,
    input: &[i8],
    scratch: &mut [u8],
) -> Result<Output, InferenceError> {
    classify_with(model, input, scratch, Kernels::Optimized)
}

/// [`classify`] with a choice of kernels (the results are the same bits).
///
/// # Errors
/// As [`classify`].
pub fn classify_with(
    model: &Model<'_>,
    input: &[i8],
    scratch: &mut [u8],
    kernels: Kernels,
) -> Result<Output, InferenceError> {
    check(model.input_len(), input, scratch_bytes(model), scratch)?;
    let composer_logits = run_network(model.composer_network(), input, scratch, kernels)?;
    let instrument_logits = run_network(model.instrument_network(), input, scratch, kernels)?;
    Ok(output_of(model, composer_logits, instrument_logits))
}

/// Both networks' logits turned into [`Output`]: softmax for the composers, one sigmoid per
/// instrument (integer only, [`output`]). Shared by [`classify`] and [`crate::streaming`].
pub(crate) fn output_of(
    model: &Model<'_>,
    composer_logits: heapless::Vec<i8, MAX_CLASSES>,
    instrument_logits: heapless::Vec<i8, MAX_CLASSES>,
) -> Output {
    let composer = model.composer_network();
    let mut probabilities = heapless::Vec::new();
    // Same length as the logits, at most MAX_CLASSES.
    let _ = probabilities.resize(composer_logits.len(), 0);
    output::softmax_q15(&composer_logits, composer.logit_scale(), &mut probabilities);
    let composers = Scores {
        logits: composer_logits,
        probabilities,
    };

    let instrument = model.instrument_network();
    let probabilities =
        bounded(instrument_logits.iter().map(|&q| {
            output::sigmoid_q15(q, instrument.logit_zero_point(), instrument.logit_scale())
        }));
    let instruments = Scores {
        logits: instrument_logits,
        probabilities,
    };
    Output {
        composers,
        instruments,
    }
}

/// Runs one network and returns its int8 logits.
///
/// # Errors
/// As [`classify`], against this network's input length and [`network_scratch_bytes`].
pub fn run_network(
    network: &Network<'_>,
    input: &[i8],
    scratch: &mut [u8],
    kernels: Kernels,
) -> Result<heapless::Vec<i8, MAX_CLASSES>, InferenceError> {
    let needed = network_scratch_bytes(network);
    check(network.input_shape().len(), input, needed, scratch)?;
    let too_small = InferenceError::ScratchTooSmall {
        needed,
        provided: scratch.len(),
    };
    let buffer: &mut [i8] =
        bytemuck::must_cast_slice_mut(scratch.get_mut(..needed).ok_or(too_small)?);

    // Step 0: the input, transposed to HWC, at the front.
    let Shape {
        height,
        width,
        channels,
    } = network.input_shape();
    let mut len = input.len();
    let first = buffer.get_mut(..len).ok_or(too_small)?;
    chw_to_hwc(input, first, [channels, height, width]).map_err(|_| too_small)?;

    let mut at_front = true;
    for layer in network.layers() {
        let out_len = layer.output_shape().len();
        if let Layer::Flatten { .. } = layer {
            continue;
        }
        let (input, workspace, output) = split(buffer, at_front, len, out_len).ok_or(too_small)?;
        run_layer(layer, input, workspace, output, kernels);
        at_front = !at_front;
        len = out_len;
    }
    let (logits, _, _) = split(buffer, at_front, len, 0).ok_or(too_small)?;
    Ok(bounded(logits.iter().copied()))
}

/// Collects at most [`MAX_CLASSES`] items (a validated network has at most that many outputs).
pub(crate) fn bounded<T>(items: impl Iterator<Item = T>) -> heapless::Vec<T, MAX_CLASSES> {
    let mut vec = heapless::Vec::new();
    for item in items.take(MAX_CLASSES) {
        // Cannot fail after `take`.
        let _ = vec.push(item);
    }
    vec
}

/// The two length checks every entry point makes.
fn check(
    expected: usize,
    input: &[i8],
    needed: usize,
    scratch: &[u8],
) -> Result<(), InferenceError> {
    if input.len() != expected {
        return Err(InferenceError::WrongInputLength {
            expected,
            provided: input.len(),
        });
    }
    if scratch.len() < needed {
        return Err(InferenceError::ScratchTooSmall {
            needed,
            provided: scratch.len(),
        });
    }
    Ok(())
}

/// Splits `buffer` into (input, workspace, output) with the input of `in_len` bytes at the front
/// (`input_at_front`) or at the back, and the output of `out_len` bytes at the other end.
fn split(
    buffer: &mut [i8],
    input_at_front: bool,
    in_len: usize,
    out_len: usize,
) -> Option<(&[i8], &mut [i8], &mut [i8])> {
    if input_at_front {
        let (input, rest) = buffer.split_at_mut_checked(in_len)?;
        let middle = rest.len().checked_sub(out_len)?;
        let (workspace, output) = rest.split_at_mut_checked(middle)?;
        Some((input, workspace, output))
    } else {
        let start = buffer.len().checked_sub(in_len)?;
        let (rest, input) = buffer.split_at_mut_checked(start)?;
        let (output, workspace) = rest.split_at_mut_checked(out_len)?;
        Some((input, workspace, output))
    }
}

/// Runs one layer with the chosen kernels.
fn run_layer(
    layer: &Layer<'_>,
    input: &[i8],
    workspace: &mut [i8],
    output: &mut [i8],
    kernels: Kernels,
) {
    match (layer, kernels) {
        (Layer::Conv2d(conv), Kernels::Optimized) => {
            let (_, workspace, _) = bytemuck::pod_align_to_mut::<i8, i16>(workspace);
            nn::conv2d(conv, input, output, workspace);
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
