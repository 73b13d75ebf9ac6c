//! The payload schema: what the postcard part of a model file contains, field by field.
//!
//! [`ModelSpec`] is the writer's view (plain slices, so an exporter builds it from `Vec`s) and is
//! what [`encode`](super::encode) serializes. The reader decodes the same bytes into private twins
//! whose lists are bounded (at most [`MAX_LAYERS`] layers and [`MAX_CLASSES`] labels are kept;
//! longer lists are counted and refused as too large), then validates them into a
//! [`Model`](super::Model).
//!
//! postcard writes a struct as its fields in order, with no names or tags: unsigned integers as
//! LEB128 varints, signed ones zigzag-encoded, `i8`/`u8` as one byte, `[T; 2]` as two `T`, `&str`
//! and `&[u8]` as a varint length and the raw bytes, slices as a varint count and the elements,
//! enums as a varint variant index (in declaration order) and the variant's fields. Changing
//! any of that is a new [`FORMAT_VERSION`](super::FORMAT_VERSION).

use core::fmt;
use core::marker::PhantomData;

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::{MAX_CLASSES, MAX_LAYERS};
use crate::frontend;
use crate::nn::Ratio;

/// The whole payload, in file order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ModelSpec<'a> {
    /// Composer names, in the order of the composer network's outputs.
    pub composers: &'a [&'a str],
    /// Instrument names, in the order of the instrument network's outputs.
    pub instruments: &'a [&'a str],
    /// The front end the model was trained on (must equal this crate's).
    pub front_end: FrontEndSpec,
    /// The network input: how many windows are stacked and how codes map to reals.
    pub input: InputSpec,
    /// The composer network (softmax over its outputs).
    pub composer_network: NetworkSpec<'a>,
    /// The instrument network (one sigmoid per output).
    pub instrument_network: NetworkSpec<'a>,
}

/// The front-end parameters a model was trained with. [`FrontEndSpec::CURRENT`] is this crate's
/// [`frontend`]; a model with anything else is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FrontEndSpec {
    /// Sample rate in Hz.
    pub sample_rate_hz: u32,
    /// Samples per frame (FFT size).
    pub frame_len: u32,
    /// Samples between frames.
    pub hop_len: u32,
    /// Frequency bins per frame.
    pub bins: u32,
    /// Frames per window.
    pub window_frames: u32,
    /// Feature steps per octave of power (the feature scale).
    pub steps_per_octave: i32,
    /// Offset subtracted from the log code (the feature offset).
    pub feature_offset: i32,
}

impl FrontEndSpec {
    /// This crate's front end ([`frontend`]'s constants).
    pub const CURRENT: Self = Self {
        sample_rate_hz: frontend::SAMPLE_RATE_HZ,
        frame_len: frontend::FRAME_LEN as u32,
        hop_len: frontend::HOP_LEN as u32,
        bins: frontend::BINS as u32,
        window_frames: frontend::WINDOW_FRAMES as u32,
        steps_per_octave: frontend::STEPS_PER_OCTAVE,
        feature_offset: frontend::FEATURE_OFFSET,
    };
}

/// The network input: `stack` windows of `bins × window_frames` feature codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InputSpec {
    /// Windows stacked as input channels (4 in the reference model).
    pub stack: u32,
    /// Real value of one code step; must be 1/128 (the codes are the input as they are).
    pub scale: Ratio,
    /// Code of real 0; must be 0.
    pub zero_point: i8,
}

impl InputSpec {
    /// The input quantization every model must declare: scale 1/128, zero point 0.
    pub const SCALE: Ratio = Ratio::new(1, 128);
    /// See [`InputSpec::SCALE`].
    pub const ZERO_POINT: i8 = 0;
}

/// One network: its layers in order and the scale of its output logits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct NetworkSpec<'a> {
    /// Layers, input first; the last one is a [`LayerSpec::Linear`] with one output per label.
    pub layers: &'a [LayerSpec<'a>],
    /// Real value of one logit code step (the logits' zero point is the last layer's output zero
    /// point).
    pub logit_scale: Ratio,
}

/// One layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LayerSpec<'a> {
    /// 2-D convolution.
    Conv2d(#[serde(borrow)] Conv2dSpec<'a>),
    /// Max pooling.
    MaxPool2d(MaxPool2dSpec),
    /// `H × W × C` → `1 × 1 × (H·W·C)`, HWC order (no data movement).
    Flatten,
    /// Fully connected.
    Linear(#[serde(borrow)] LinearSpec<'a>),
}

/// A convolution layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conv2dSpec<'a> {
    /// Input channels.
    pub in_channels: u32,
    /// Output channels.
    pub out_channels: u32,
    /// `[kh, kw]`.
    pub kernel: [u32; 2],
    /// `[sy, sx]`.
    pub stride: [u32; 2],
    /// `[py, px]`: zero padding on both sides, smaller than the kernel.
    pub padding: [u32; 2],
    /// `out · kh · kw · in` bytes of `i8`, OHWI order.
    pub weights: &'a [u8],
    /// Bias, requantization and output range.
    #[serde(borrow)]
    pub quant: QuantSpec<'a>,
}

/// A max-pooling layer (no padding, floor).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MaxPool2dSpec {
    /// `[kh, kw]`.
    pub kernel: [u32; 2],
    /// `[sy, sx]`.
    pub stride: [u32; 2],
}

/// A fully connected layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinearSpec<'a> {
    /// Inputs (the flattened size of the previous activation).
    pub in_features: u32,
    /// Outputs.
    pub out_features: u32,
    /// `out · in` bytes of `i8`, `[out][in]`, inputs in HWC flatten order.
    pub weights: &'a [u8],
    /// Bias, requantization and output range.
    #[serde(borrow)]
    pub quant: QuantSpec<'a>,
}

/// Per-output-channel quantization of a convolution or linear layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantSpec<'a> {
    /// `4 · out` bytes: `i32` little-endian biases (scale `s_in · s_w[c]`).
    pub bias: &'a [u8],
    /// `4 · out` bytes: `i32` little-endian Q31 multipliers, each ≥ 0.
    pub multipliers: &'a [u8],
    /// `out` bytes: `i8` shifts in `[−31, 30]` (positive: left).
    pub shifts: &'a [u8],
    /// Zero point of the input (must equal the previous layer's output zero point).
    pub input_zero_point: i8,
    /// Zero point of the output.
    pub output_zero_point: i8,
    /// Lowest output code (the output zero point for a fused ReLU).
    pub activation_min: i8,
    /// Highest output code.
    pub activation_max: i8,
}

/// The reader's twin of [`ModelSpec`] (same fields, same order, bounded lists).
#[derive(Deserialize)]
pub(crate) struct RawModel<'a> {
    #[serde(borrow)]
    pub composers: Bounded<&'a str, MAX_CLASSES>,
    #[serde(borrow)]
    pub instruments: Bounded<&'a str, MAX_CLASSES>,
    pub front_end: FrontEndSpec,
    pub input: InputSpec,
    #[serde(borrow)]
    pub composer_network: RawNetwork<'a>,
    #[serde(borrow)]
    pub instrument_network: RawNetwork<'a>,
}

/// The reader's twin of [`NetworkSpec`].
#[derive(Deserialize)]
pub(crate) struct RawNetwork<'a> {
    #[serde(borrow)]
    pub layers: Bounded<LayerSpec<'a>, MAX_LAYERS>,
    pub logit_scale: Ratio,
}

/// A sequence decoded into at most `N` items without allocating. Items past `N` are still decoded
/// (so the rest of the payload stays in step) but dropped; `len` counts them all, so the
/// validator can say "too large" instead of "malformed".
pub(crate) struct Bounded<T, const N: usize> {
    pub items: heapless::Vec<T, N>,
    pub len: usize,
}

impl<'de, T: Deserialize<'de>, const N: usize> Deserialize<'de> for Bounded<T, N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(BoundedVisitor(PhantomData))
    }
}

/// serde visitor of [`Bounded`].
struct BoundedVisitor<T, const N: usize>(PhantomData<T>);

impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for BoundedVisitor<T, N> {
    type Value = Bounded<T, N>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = heapless::Vec::new();
        let mut len = 0_usize;
        while let Some(item) = seq.next_element::<T>()? {
            len = len.saturating_add(1);
            // Past capacity the item is dropped; `len` records it.
            let _ = items.push(item);
        }
        Ok(Bounded { items, len })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_front_end_is_the_crates() {
        let c = FrontEndSpec::CURRENT;
        assert_eq!(c.frame_len as usize, frontend::FRAME_LEN);
        assert_eq!(c.hop_len as usize, frontend::HOP_LEN);
        assert_eq!(c.bins as usize, frontend::BINS);
        assert_eq!(c.window_frames as usize, frontend::WINDOW_FRAMES);
    }
}
