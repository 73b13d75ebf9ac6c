//! Building model files in tests and benches: owned layer data, the reference architecture with
//! seeded random weights, and encoding to bytes.
#![allow(dead_code)] // Each test binary uses a different part.

use core_nostd::model::spec::{
    Conv2dSpec, FrontEndSpec, InputSpec, LayerSpec, LinearSpec, MaxPool2dSpec, ModelSpec,
    NetworkSpec, QuantSpec,
};
use core_nostd::model::{encode, encoded_len};
use core_nostd::nn::Ratio;
use core_nostd::nn::requant::quantize_multiplier;

/// A small deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn i8(&mut self) -> i8 {
        (self.next_u64() >> 56) as i8
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Quantization bytes of one layer, owned.
#[derive(Clone, Debug)]
pub struct OwnedQuant {
    pub bias: Vec<u8>,
    pub multipliers: Vec<u8>,
    pub shifts: Vec<u8>,
    pub input_zero_point: i8,
    pub output_zero_point: i8,
    pub activation_min: i8,
    pub activation_max: i8,
}

impl OwnedQuant {
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

    /// Per-channel parameters from explicit values.
    pub fn new(
        bias: &[i32],
        multipliers: &[(i32, i8)],
        zero_points: (i8, i8),
        range: (i8, i8),
    ) -> Self {
        Self {
            bias: bias.iter().flat_map(|b| b.to_le_bytes()).collect(),
            multipliers: multipliers.iter().flat_map(|m| m.0.to_le_bytes()).collect(),
            shifts: multipliers.iter().map(|m| m.1 as u8).collect(),
            input_zero_point: zero_points.0,
            output_zero_point: zero_points.1,
            activation_min: range.0,
            activation_max: range.1,
        }
    }

    /// Random biases and multipliers about `1 / (gain · √taps)` per channel, so that outputs
    /// spread over the int8 range without saturating (`gain` ≈ 1.6 × the RMS of the input codes
    /// minus their zero point: the weights' RMS is 74, the target output spread about 45 codes).
    fn random(
        rng: &mut Rng,
        channels: usize,
        taps: usize,
        zero_points: (i8, i8),
        relu: bool,
        gain: f64,
    ) -> Self {
        let bias: Vec<i32> = (0..channels)
            .map(|_| (rng.unit() * 4000.0 - 2000.0) as i32)
            .collect();
        let multipliers: Vec<(i32, i8)> = (0..channels)
            .map(|_| {
                let real = (0.7 + 0.6 * rng.unit()) / (gain * (taps as f64).sqrt());
                let q = quantize_multiplier(real).expect("multiplier in range");
                (q.multiplier, q.shift)
            })
            .collect();
        let range = if relu {
            (zero_points.1, 127)
        } else {
            (-128, 127)
        };
        Self::new(&bias, &multipliers, zero_points, range)
    }
}

/// One layer, owned.
#[derive(Clone, Debug)]
pub enum OwnedLayer {
    Conv2d {
        in_channels: u32,
        out_channels: u32,
        kernel: [u32; 2],
        stride: [u32; 2],
        padding: [u32; 2],
        weights: Vec<u8>,
        quant: OwnedQuant,
    },
    /// Max pooling with stride = kernel.
    MaxPool2d([u32; 2]),
    /// Max pooling with its own stride: `(kernel, stride)`.
    MaxPool2dStrided([u32; 2], [u32; 2]),
    Flatten,
    Linear {
        in_features: u32,
        out_features: u32,
        weights: Vec<u8>,
        quant: OwnedQuant,
    },
}

impl OwnedLayer {
    pub fn spec(&self) -> LayerSpec<'_> {
        match self {
            Self::Conv2d {
                in_channels,
                out_channels,
                kernel,
                stride,
                padding,
                weights,
                quant,
            } => LayerSpec::Conv2d(Conv2dSpec {
                in_channels: *in_channels,
                out_channels: *out_channels,
                kernel: *kernel,
                stride: *stride,
                padding: *padding,
                weights,
                quant: quant.spec(),
            }),
            Self::MaxPool2d(k) => LayerSpec::MaxPool2d(MaxPool2dSpec {
                kernel: *k,
                stride: *k,
            }),
            Self::MaxPool2dStrided(k, s) => LayerSpec::MaxPool2d(MaxPool2dSpec {
                kernel: *k,
                stride: *s,
            }),
            Self::Flatten => LayerSpec::Flatten,
            Self::Linear {
                in_features,
                out_features,
                weights,
                quant,
            } => LayerSpec::Linear(LinearSpec {
                in_features: *in_features,
                out_features: *out_features,
                weights,
                quant: quant.spec(),
            }),
        }
    }

    /// A random convolution with ReLU (`gain` as in [`OwnedQuant::random`]).
    pub fn random_conv(
        rng: &mut Rng,
        channels: [u32; 2],
        kernel: [u32; 2],
        stride: [u32; 2],
        padding: [u32; 2],
        zero_points: (i8, i8),
        gain: f64,
    ) -> Self {
        let taps = (kernel[0] * kernel[1] * channels[0]) as usize;
        let weights = (0..taps * channels[1] as usize)
            .map(|_| rng.i8() as u8)
            .collect();
        Self::Conv2d {
            in_channels: channels[0],
            out_channels: channels[1],
            kernel,
            stride,
            padding,
            weights,
            quant: OwnedQuant::random(rng, channels[1] as usize, taps, zero_points, true, gain),
        }
    }

    /// A random linear layer without activation.
    pub fn random_linear(rng: &mut Rng, features: [u32; 2], zero_points: (i8, i8)) -> Self {
        let taps = features[0] as usize;
        let weights = (0..taps * features[1] as usize)
            .map(|_| rng.i8() as u8)
            .collect();
        Self::Linear {
            in_features: features[0],
            out_features: features[1],
            weights,
            quant: OwnedQuant::random(rng, features[1] as usize, taps, zero_points, false, 30.0),
        }
    }
}

/// The reference CNN (DESIGN.md, "Model"): conv 4→16 k(3,7) s(1,2) p(1,3); 16→16 k(3,5) s2 p(1,2);
/// 16→32 k3 p1 + maxpool 2; 32→64 k3 p1 + maxpool 2; 64→128 k3 p1 + maxpool 2; flatten (8·9·128 =
/// 9,216) → linear → `classes`. All convolutions with ReLU; seeded random int8 weights.
pub fn reference_architecture(seed: u64, classes: u32) -> Vec<OwnedLayer> {
    let mut rng = Rng::new(seed);
    let z = -100; // Output zero point of every ReLU layer (real 0 near the bottom of the range).
    vec![
        OwnedLayer::random_conv(&mut rng, [4, 16], [3, 7], [1, 2], [1, 3], (0, z), 80.0),
        OwnedLayer::random_conv(&mut rng, [16, 16], [3, 5], [2, 2], [1, 2], (z, z), 40.0),
        OwnedLayer::random_conv(&mut rng, [16, 32], [3, 3], [1, 1], [1, 1], (z, z), 40.0),
        OwnedLayer::MaxPool2d([2, 2]),
        OwnedLayer::random_conv(&mut rng, [32, 64], [3, 3], [1, 1], [1, 1], (z, z), 40.0),
        OwnedLayer::MaxPool2d([2, 2]),
        OwnedLayer::random_conv(&mut rng, [64, 128], [3, 3], [1, 1], [1, 1], (z, z), 40.0),
        OwnedLayer::MaxPool2d([2, 2]),
        OwnedLayer::Flatten,
        OwnedLayer::random_linear(&mut rng, [8 * 9 * 128, classes], (z, 0)),
    ]
}

/// The compact CNN (trainer `ModelConfig::compact`, one window): conv 1→12 k(3,7) s(2,4) p(1,3);
/// 12→16 k(3,5) s2 p(1,2); 16→32 k3 p1 + maxpool 2; 32→64 k3 p1 + maxpool 2; 64→64 k3 p1 +
/// maxpool 2; flatten (4·4·64 = 1,024) → linear → `classes`. Seeded random int8 weights.
pub fn compact_architecture(seed: u64, classes: u32) -> Vec<OwnedLayer> {
    let mut rng = Rng::new(seed);
    let z = -100;
    vec![
        OwnedLayer::random_conv(&mut rng, [1, 12], [3, 7], [2, 4], [1, 3], (0, z), 80.0),
        OwnedLayer::random_conv(&mut rng, [12, 16], [3, 5], [2, 2], [1, 2], (z, z), 40.0),
        OwnedLayer::random_conv(&mut rng, [16, 32], [3, 3], [1, 1], [1, 1], (z, z), 40.0),
        OwnedLayer::MaxPool2d([2, 2]),
        OwnedLayer::random_conv(&mut rng, [32, 64], [3, 3], [1, 1], [1, 1], (z, z), 40.0),
        OwnedLayer::MaxPool2d([2, 2]),
        OwnedLayer::random_conv(&mut rng, [64, 64], [3, 3], [1, 1], [1, 1], (z, z), 40.0),
        OwnedLayer::MaxPool2d([2, 2]),
        OwnedLayer::Flatten,
        OwnedLayer::random_linear(&mut rng, [4 * 4 * 64, classes], (z, 0)),
    ]
}

/// Encodes a model from owned layers; panics on any error (tests want valid files here).
pub fn encode_model(
    composers: &[&str],
    instruments: &[&str],
    stack: u32,
    composer_layers: &[OwnedLayer],
    instrument_layers: &[OwnedLayer],
    logit_scales: [Ratio; 2],
) -> Vec<u8> {
    let composer_specs: Vec<LayerSpec<'_>> = composer_layers.iter().map(OwnedLayer::spec).collect();
    let instrument_specs: Vec<LayerSpec<'_>> =
        instrument_layers.iter().map(OwnedLayer::spec).collect();
    let spec = ModelSpec {
        composers,
        instruments,
        front_end: FrontEndSpec::CURRENT,
        input: InputSpec {
            stack,
            scale: InputSpec::SCALE,
            zero_point: InputSpec::ZERO_POINT,
        },
        composer_network: NetworkSpec {
            layers: &composer_specs,
            logit_scale: logit_scales[0],
        },
        instrument_network: NetworkSpec {
            layers: &instrument_specs,
            logit_scale: logit_scales[1],
        },
    };
    encode_spec(&spec)
}

/// Encodes a spec; panics on any error.
pub fn encode_spec(spec: &ModelSpec<'_>) -> Vec<u8> {
    let mut bytes = vec![0; encoded_len(spec).expect("length")];
    let n = encode(spec, &mut bytes).expect("valid model");
    assert_eq!(n, bytes.len());
    bytes
}

/// Composer and instrument label names of the reference model.
pub const COMPOSERS: [&str; 7] = [
    "Bach",
    "Beethoven",
    "Brahms",
    "Cambini",
    "Dvorak",
    "Haydn",
    "Mozart",
];
pub const INSTRUMENTS: [&str; 10] = [
    "piano",
    "harpsichord",
    "violin",
    "viola",
    "cello",
    "contrabass",
    "horn",
    "oboe",
    "bassoon",
    "clarinet",
];

/// The reference model as file bytes (composers: seed, instruments: seed + 1).
pub fn reference_model(seed: u64) -> Vec<u8> {
    encode_model(
        &COMPOSERS,
        &INSTRUMENTS,
        4,
        &reference_architecture(seed, 7),
        &reference_architecture(seed + 1, 10),
        [Ratio::new(1, 16), Ratio::new(1, 16)],
    )
}

/// The compact model as file bytes (composers: seed, instruments: seed + 1).
pub fn compact_model(seed: u64) -> Vec<u8> {
    encode_model(
        &COMPOSERS,
        &INSTRUMENTS,
        1,
        &compact_architecture(seed, 7),
        &compact_architecture(seed + 1, 10),
        [Ratio::new(1, 16), Ratio::new(1, 16)],
    )
}

/// A deterministic pseudo-feature input of `stack` windows (`stack × 128 × 312`, CHW).
pub fn feature_input_of(stack: usize, seed: u64) -> Vec<i8> {
    let mut rng = Rng::new(seed);
    (0..stack * 128 * 312)
        .map(|i: usize| {
            let bin = ((i / 312) % 128) as i32;
            let level = 60 - bin / 2 + i32::from(rng.i8()) / 4;
            level.clamp(-128, 127) as i8
        })
        .collect()
}

/// A deterministic pseudo-feature input of the reference shape (4 × 128 × 312), CHW.
pub fn feature_input(seed: u64) -> Vec<i8> {
    let mut rng = Rng::new(seed);
    (0..4 * 128 * 312)
        .map(|i: usize| {
            // Smooth-ish "spectrogram": louder low bins, plus noise.
            let bin = ((i / 312) % 128) as i32;
            let level = 60 - bin / 2 + i32::from(rng.i8()) / 4;
            level.clamp(-128, 127) as i8
        })
        .collect()
}
