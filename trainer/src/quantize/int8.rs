//! Float network + measured ranges → the int8 layers of a model file (`core_nostd::model`), in
//! the scheme `core_nostd::nn` documents (TFLite / CMSIS-NN int8):
//!
//! - input: the feature codes, scale 1/128, zero point 0 (fixed by the format);
//! - weights: per output channel, symmetric, `s_w = max|w| / 127`, codes `round(w / s_w)` in
//!   `[−127, 127]` (round half away from zero);
//! - bias: `i32`, `round(b / (s_in · s_w))`;
//! - block outputs (after the fused ReLU): `s = max / 255`, zero point −128, so real 0 is the
//!   lowest code and the whole int8 range covers `[0, max]`; the pool keeps the scale;
//! - logits: asymmetric over the calibrated `[min, max]` (widened to contain 0), their scale
//!   stored exactly as a [`Ratio`] `num / 2^24`;
//! - requantization multipliers `s_in · s_w / s_out` through
//!   `core_nostd::nn::requant::quantize_multiplier` (TFLite's `QuantizeMultiplier`), applied by
//!   the core with TFLite's double rounding.

use super::calibrate::ActivationRanges;
use super::float::FloatNetwork;
use core_nostd::model::layout::{linear_chw_to_hwc, oihw_to_ohwi};
use core_nostd::model::spec::{
    Conv2dSpec, FrontEndSpec, InputSpec, LayerSpec, LinearSpec, MaxPool2dSpec, ModelSpec,
    NetworkSpec, QuantSpec,
};
use core_nostd::model::{encode, encoded_len};
use core_nostd::nn::Ratio;
use core_nostd::nn::requant::quantize_multiplier;

/// Denominator of the stored logit scale.
pub const LOGIT_SCALE_DENOMINATOR: u32 = 1 << 24;

/// Why a network cannot be quantized.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum QuantizeError {
    /// The float network is inconsistent.
    #[error(transparent)]
    Shape(#[from] super::float::ShapeError),
    /// The ranges were measured on another network.
    #[error("calibration has {found} block ranges for a network of {expected} blocks")]
    Ranges {
        /// Blocks of the network.
        expected: usize,
        /// Ranges given.
        found: usize,
    },
    /// A value is not finite (a diverged model).
    #[error("{0} is not finite")]
    NotFinite(String),
    /// A requantization multiplier is outside what the format stores.
    #[error("{what}: multiplier {value:e} is outside the requantizer's range")]
    Multiplier {
        /// Which layer and channel.
        what: String,
        /// The real multiplier.
        value: f64,
    },
    /// The core refused the encoded model.
    #[error("the model file could not be encoded: {0}")]
    Encode(String),
}

/// Owned bytes of one layer's quantization parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedQuant {
    /// `i32` biases, little-endian.
    pub bias: Vec<u8>,
    /// `i32` Q31 multipliers, little-endian.
    pub multipliers: Vec<u8>,
    /// `i8` shifts.
    pub shifts: Vec<u8>,
    /// Input zero point.
    pub input_zero_point: i8,
    /// Output zero point.
    pub output_zero_point: i8,
    /// Lowest output code.
    pub activation_min: i8,
    /// Highest output code.
    pub activation_max: i8,
}

impl OwnedQuant {
    /// The borrowed view the encoder takes.
    #[must_use]
    pub fn spec(&self) -> QuantSpec<'_> {
        QuantSpec {
            bias: &self.bias,
            multipliers: &self.multipliers,
            shifts: &self.shifts,
            input_zero_point: self.input_zero_point,
            output_zero_point: self.output_zero_point,
            activation_min: self.activation_min,
            activation_max: self.activation_max,
        }
    }
}

/// One quantized layer, owned.
#[derive(Clone, Debug, PartialEq)]
pub enum OwnedLayer {
    /// Convolution with fused ReLU; weights OHWI.
    Conv2d {
        /// `[in, out]` channels.
        channels: [u32; 2],
        /// `[kh, kw]`.
        kernel: [u32; 2],
        /// `[sy, sx]`.
        stride: [u32; 2],
        /// `[py, px]`.
        padding: [u32; 2],
        /// `i8` weights as bytes.
        weights: Vec<u8>,
        /// Quantization.
        quant: OwnedQuant,
    },
    /// 2 × 2 max pool, stride 2.
    MaxPool2x2,
    /// HWC flatten.
    Flatten,
    /// Linear head; weights `[out][in]`, inputs HWC.
    Linear {
        /// `[in, out]` features.
        features: [u32; 2],
        /// `i8` weights as bytes.
        weights: Vec<u8>,
        /// Quantization.
        quant: OwnedQuant,
    },
}

impl OwnedLayer {
    /// The borrowed view the encoder takes.
    #[must_use]
    pub fn spec(&self) -> LayerSpec<'_> {
        match self {
            Self::Conv2d {
                channels,
                kernel,
                stride,
                padding,
                weights,
                quant,
            } => LayerSpec::Conv2d(Conv2dSpec {
                in_channels: channels[0],
                out_channels: channels[1],
                kernel: *kernel,
                stride: *stride,
                padding: *padding,
                weights,
                quant: quant.spec(),
            }),
            Self::MaxPool2x2 => LayerSpec::MaxPool2d(MaxPool2dSpec {
                kernel: [2, 2],
                stride: [2, 2],
            }),
            Self::Flatten => LayerSpec::Flatten,
            Self::Linear {
                features,
                weights,
                quant,
            } => LayerSpec::Linear(LinearSpec {
                in_features: features[0],
                out_features: features[1],
                weights,
                quant: quant.spec(),
            }),
        }
    }
}

/// One network in int8.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedNetwork {
    /// Layers in order.
    pub layers: Vec<OwnedLayer>,
    /// Real value of one logit step (exactly `num / den`).
    pub logit_scale: Ratio,
}

/// Per-channel symmetric weight codes of `weights` (`channels` equal rows) and each row's scale.
fn quantize_weights(weights: &[f32], channels: usize) -> (Vec<i8>, Vec<f64>) {
    let per = weights.len() / channels;
    let mut codes = Vec::with_capacity(weights.len());
    let mut scales = Vec::with_capacity(channels);
    for row in weights.chunks_exact(per) {
        let max = row.iter().fold(0.0_f64, |m, &w| m.max(f64::from(w).abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        scales.push(scale);
        codes.extend(
            row.iter()
                .map(|&w| (f64::from(w) / scale).round().clamp(-127.0, 127.0) as i8),
        );
    }
    (codes, scales)
}

/// Biases and requantizers of one layer: input scale `s_in`, weight scales, output scale.
fn requantization(
    what: &str,
    bias: &[f32],
    s_in: f64,
    weight_scales: &[f64],
    s_out: f64,
    zero_points: (i8, i8),
    range: (i8, i8),
) -> Result<OwnedQuant, QuantizeError> {
    let mut quant = OwnedQuant {
        bias: Vec::with_capacity(4 * bias.len()),
        multipliers: Vec::with_capacity(4 * bias.len()),
        shifts: Vec::with_capacity(bias.len()),
        input_zero_point: zero_points.0,
        output_zero_point: zero_points.1,
        activation_min: range.0,
        activation_max: range.1,
    };
    for (c, (&b, &s_w)) in bias.iter().zip(weight_scales).enumerate() {
        let q_bias = (f64::from(b) / (s_in * s_w))
            .round()
            .clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32;
        let real = s_in * s_w / s_out;
        let m = quantize_multiplier(real).ok_or_else(|| QuantizeError::Multiplier {
            what: format!("{what} channel {c}"),
            value: real,
        })?;
        quant.bias.extend(q_bias.to_le_bytes());
        quant.multipliers.extend(m.multiplier.to_le_bytes());
        quant.shifts.push(m.shift as u8);
    }
    Ok(quant)
}

fn bytes_of(codes: &[i8]) -> Vec<u8> {
    codes.iter().map(|&c| c as u8).collect()
}

fn check_finite(what: &str, values: &[f32]) -> Result<(), QuantizeError> {
    if values.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(QuantizeError::NotFinite(what.to_owned()))
    }
}

/// Quantizes `network` with the ranges measured by
/// [`calibrate`](super::calibrate::calibrate). Cost: one pass over the weights.
///
/// # Errors
/// [`QuantizeError`] if shapes or ranges do not fit, a value is not finite, or a multiplier
/// falls outside the requantizer's range.
pub fn quantize(
    network: &FloatNetwork,
    ranges: &ActivationRanges,
) -> Result<QuantizedNetwork, QuantizeError> {
    network.check()?;
    if ranges.block_max.len() != network.convs.len() {
        return Err(QuantizeError::Ranges {
            expected: network.convs.len(),
            found: ranges.block_max.len(),
        });
    }
    let mut layers = Vec::new();
    // The input: feature codes, scale 1/128, zero point 0.
    let (mut s_in, mut z_in) = (1.0 / 128.0, 0_i8);
    for (i, (conv, &max)) in network.convs.iter().zip(&ranges.block_max).enumerate() {
        let what = format!("convolution {i}");
        check_finite(&what, &conv.weight)?;
        check_finite(&what, &conv.bias)?;
        check_finite(&what, &[max])?;
        let s_out = f64::from(max).max(1e-6) / 255.0;
        let (codes, scales) = quantize_weights(&conv.weight, conv.out_channels);
        let [kh, kw] = conv.kernel;
        let mut ohwi = vec![0_i8; codes.len()];
        oihw_to_ohwi(
            &codes,
            &mut ohwi,
            [conv.out_channels, conv.in_channels, kh, kw],
        )
        .map_err(|e| QuantizeError::Encode(e.to_string()))?;
        let quant = requantization(
            &what,
            &conv.bias,
            s_in,
            &scales,
            s_out,
            (z_in, -128),
            (-128, 127),
        )?;
        let u = |v: usize| v as u32;
        layers.push(OwnedLayer::Conv2d {
            channels: [u(conv.in_channels), u(conv.out_channels)],
            kernel: [u(kh), u(kw)],
            stride: conv.stride.map(u),
            padding: conv.padding().map(u),
            weights: bytes_of(&ohwi),
            quant,
        });
        if conv.pool {
            layers.push(OwnedLayer::MaxPool2x2);
        }
        (s_in, z_in) = (s_out, -128);
    }
    layers.push(OwnedLayer::Flatten);
    check_finite("head", &network.head_weight)?;
    check_finite("head", &network.head_bias)?;
    check_finite("logit range", &[ranges.logits.0, ranges.logits.1])?;
    let (low, high) = (ranges.logits.0.min(0.0), ranges.logits.1.max(0.0));
    let wanted = (f64::from(high) - f64::from(low)).max(1e-3) / 255.0;
    let num = (wanted * f64::from(LOGIT_SCALE_DENOMINATOR))
        .round()
        .clamp(1.0, f64::from(u32::MAX));
    let logit_scale = Ratio::new(num as u32, LOGIT_SCALE_DENOMINATOR);
    let s_out = logit_scale.to_f64();
    let z_out = (-128.0 - f64::from(low) / s_out)
        .round()
        .clamp(-128.0, 127.0) as i8;
    let classes = network.classes();
    let (codes, scales) = quantize_weights(&network.head_weight, classes);
    let [c, h, w] = network.last_map();
    let mut hwc = vec![0_i8; codes.len()];
    linear_chw_to_hwc(&codes, &mut hwc, classes, [c, h, w])
        .map_err(|e| QuantizeError::Encode(e.to_string()))?;
    let quant = requantization(
        "head",
        &network.head_bias,
        s_in,
        &scales,
        s_out,
        (z_in, z_out),
        (-128, 127),
    )?;
    layers.push(OwnedLayer::Linear {
        features: [(c * h * w) as u32, classes as u32],
        weights: bytes_of(&hwc),
        quant,
    });
    Ok(QuantizedNetwork {
        layers,
        logit_scale,
    })
}

/// Encodes both networks and the labels as model-file bytes (validated by the core's own
/// parser before they are returned). Cost: one copy of the weights, one CRC, one parse.
///
/// # Errors
/// [`QuantizeError::Encode`] if the core refuses the model (a label too long, a limit exceeded,
/// shapes that do not chain).
pub fn encode_model(
    composers: &[String],
    instruments: &[String],
    stack: usize,
    composer: &QuantizedNetwork,
    instrument: &QuantizedNetwork,
) -> Result<Vec<u8>, QuantizeError> {
    let composers: Vec<&str> = composers.iter().map(String::as_str).collect();
    let instruments: Vec<&str> = instruments.iter().map(String::as_str).collect();
    let composer_layers: Vec<LayerSpec<'_>> =
        composer.layers.iter().map(OwnedLayer::spec).collect();
    let instrument_layers: Vec<LayerSpec<'_>> =
        instrument.layers.iter().map(OwnedLayer::spec).collect();
    let spec = ModelSpec {
        composers: &composers,
        instruments: &instruments,
        front_end: FrontEndSpec::CURRENT,
        input: InputSpec {
            stack: stack as u32,
            scale: InputSpec::SCALE,
            zero_point: InputSpec::ZERO_POINT,
        },
        composer_network: NetworkSpec {
            layers: &composer_layers,
            logit_scale: composer.logit_scale,
        },
        instrument_network: NetworkSpec {
            layers: &instrument_layers,
            logit_scale: instrument.logit_scale,
        },
    };
    let fail = |e: core_nostd::model::ModelError| QuantizeError::Encode(e.to_string());
    let mut bytes = vec![0_u8; encoded_len(&spec).map_err(fail)?];
    let written = encode(&spec, &mut bytes).map_err(fail)?;
    bytes.truncate(written);
    core_nostd::model::Model::parse(&bytes).map_err(fail)?;
    Ok(bytes)
}
