//! The CNN: a stack of conv blocks over the front end's feature planes, then one linear layer.
//! The composer network and the instrument network share this shape and differ only in their
//! number of outputs (and their loss, see `training`).
//!
//! # Architecture
//! Input: `stack` channels × 128 bins × 312 frames, the feature codes of `stack` 5 s windows
//! scaled to floats by [`INPUT_SCALE`] (`code / 128`, so the int8 codes map exactly onto int8
//! with scale 1/128 when the model is quantized). Each block is
//! `conv → BatchNorm → ReLU → (maxpool 2×2)`, then the map is flattened channel-major
//! (`[c][bin][frame]`) into a linear layer that outputs logits.
//!
//! **Padding.** Every convolution pads `kernel / 2` on each side (kernels are odd), so a
//! stride-1 convolution keeps the map size and a stride-`s` one gives `ceil(n / s)` — the
//! reference's quoted first map (16 × 128 × 156) is exactly this. Pools are 2×2, stride 2, no
//! padding, rounding down.
//!
//! **Reference** ([`ModelConfig::reference`], 4 × 128 × 312 input):
//!
//! | layer | output | values |
//! |---|---|---|
//! | input | 4 × 128 × 312 | 159,744 |
//! | conv 4→16 k(3,7) s(1,2) | 16 × 128 × 156 | 319,488 |
//! | conv 16→16 k(3,5) s(2,2) | 16 × 64 × 78 | 79,872 |
//! | conv 16→32 k3, pool | 32 × 64 × 78 → 32 × 32 × 39 | 159,744 → 39,936 |
//! | conv 32→64 k3, pool | 64 × 32 × 39 → 64 × 16 × 19 | 79,872 → 19,456 |
//! | conv 64→128 k3, pool | 128 × 16 × 19 → 128 × 8 × 9 | 38,912 → 9,216 |
//!
//! so the linear layer is **9216 → classes**, not the reference notebook's 8192 (= 128 × 8 × 8):
//! with 312 frames and this padding the last time axis has 9 columns (156 → 78 → 39 → 19 → 9);
//! 8 would need a narrower input or unpadded convolutions, which lose the edges of the window.
//! Largest map 319,488 values; peak live activations (input + output of the worst layer, what
//! a layer-by-layer int8 runtime must hold) 479,232 values = 468 KiB at int8 (conv 1).
//! About 114 M multiply-accumulates per network per stack.
//!
//! **Compact** ([`ModelConfig::compact`], for microcontrollers): one 5 s window (1 × 128 × 312),
//! conv 1→12 k(3,7) s(2,4) → 12 × 64 × 78; 12→16 k(3,5) s(2,2) → 16 × 32 × 39; 16→32 k3 + pool
//! → 32 × 16 × 19; 32→64 k3 + pool → 64 × 8 × 9; 64→64 k3 + pool → 64 × 4 × 4; linear 1024 →
//! classes. Largest map 59,904 values (18.8 % of the reference's); peak live activations
//! 99,840 values = 97.5 KiB at int8 (20.8 % of the reference's, conv 1); about 19 M MACs. The
//! single window is what a device that *hears* 5 s has; it is also why the input no longer
//! dominates the memory (a 4-window input alone is 156 KiB).
//! [`ModelConfig::activations`] computes these figures for any configuration.
//!
//! # Initialization
//! Weights and biases of convolutions and the linear layer are drawn uniformly from
//! `±1/sqrt(fan_in)` (PyTorch's and Burn's default bound) from a ChaCha8 stream of the run seed,
//! on the host, so a seed gives the same initial model on every device and backend; BatchNorm
//! starts at γ = 1, β = 0, running mean 0, running variance 1.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Feature code → float input: `x = code × INPUT_SCALE`, so `[-128, 127]` maps to `[-1, 0.99]`.
pub const INPUT_SCALE: f32 = 1.0 / 128.0;

/// Random-stream code of model initialization; `crate::seed::Purpose` numbers its streams 1–6,
/// this continues the sequence with the same mixing as `rng_for`.
const INIT_STREAM: u64 = 7;

/// One convolution block: `conv → BatchNorm → ReLU → optional 2×2 max pool`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvLayer {
    /// Output channels.
    pub out_channels: usize,
    /// Kernel size `[bins, frames]`; both odd (padding is `kernel / 2`).
    pub kernel: [usize; 2],
    /// Stride `[bins, frames]`.
    pub stride: [usize; 2],
    /// Whether a 2×2, stride-2 max pool follows the ReLU.
    pub pool: bool,
}

impl ConvLayer {
    /// A block with `out_channels`, `kernel` and `stride` (`[bins, frames]`), pooled or not.
    #[must_use]
    pub const fn new(
        out_channels: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
        pool: bool,
    ) -> Self {
        Self {
            out_channels,
            kernel,
            stride,
            pool,
        }
    }
}

/// The named configurations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// The reference notebook's CNN on 4-window stacks.
    #[default]
    Reference,
    /// A quarter of the reference's activation memory or less, on one window, for
    /// microcontrollers.
    Compact,
}

/// Everything that fixes the network's shape; saved with every model (`model.json`) and
/// checkpoint, and read by the exporter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// The preset this was built from (informational).
    pub preset: Preset,
    /// Windows stacked as input channels.
    pub stack: usize,
    /// Frequency bins per frame (the front end's).
    pub bins: usize,
    /// Frames per window (the front end's).
    pub frames: usize,
    /// The convolution blocks, in order.
    pub layers: Vec<ConvLayer>,
    /// BatchNorm's ε (needed again when folding BatchNorm into the convolutions).
    pub batch_norm_epsilon: f64,
    /// BatchNorm's running-statistics momentum.
    pub batch_norm_momentum: f64,
}

/// A configuration that cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// Zero channels, kernel or stride, or an even kernel.
    #[error("layer {layer}: {reason}")]
    Layer {
        /// 0-based layer index.
        layer: usize,
        /// What is wrong.
        reason: String,
    },
    /// The input is too small for the layers (a map would vanish).
    #[error("the input {stack} × {bins} × {frames} shrinks to nothing at layer {layer}")]
    Vanishes {
        /// Input channels.
        stack: usize,
        /// Input bins.
        bins: usize,
        /// Input frames.
        frames: usize,
        /// 0-based layer index.
        layer: usize,
    },
    /// No layers or no input.
    #[error("a model needs an input of at least 1 × 1 × 1 and at least one layer")]
    Empty,
}

/// A feature map's shape `[channels, bins, frames]`.
pub type MapShape = [usize; 3];

/// The shapes one block produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BlockShapes {
    /// What the block reads.
    pub input: MapShape,
    /// After conv (and BatchNorm, ReLU).
    pub conv: MapShape,
    /// After the pool (equal to `conv` without one).
    pub output: MapShape,
}

/// Activation memory of a configuration, in values (bytes at int8, ×4 at f32).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Activations {
    /// The largest single feature map, the input included.
    pub largest_map: usize,
    /// The most values alive at once in a layer-by-layer runtime: input + output of the worst
    /// step (convolutions and pools counted as separate steps).
    pub peak_live: usize,
    /// Multiply-accumulates of the convolutions and the linear layer per example.
    pub macs: u64,
}

/// Output size of a padded (`kernel / 2`) convolution along one axis.
fn conv_len(n: usize, kernel: usize, stride: usize) -> usize {
    (n + 2 * (kernel / 2)).saturating_sub(kernel) / stride + 1
}

fn product(shape: MapShape) -> usize {
    shape.iter().product()
}

impl ModelConfig {
    /// The reference CNN on 4-window stacks (see the module docs for its shapes).
    #[must_use]
    pub fn reference() -> Self {
        let layer = ConvLayer::new;
        Self {
            preset: Preset::Reference,
            stack: 4,
            bins: core_nostd::frontend::BINS,
            frames: core_nostd::frontend::WINDOW_FRAMES,
            layers: vec![
                layer(16, [3, 7], [1, 2], false),
                layer(16, [3, 5], [2, 2], false),
                layer(32, [3, 3], [1, 1], true),
                layer(64, [3, 3], [1, 1], true),
                layer(128, [3, 3], [1, 1], true),
            ],
            batch_norm_epsilon: 1e-5,
            batch_norm_momentum: 0.1,
        }
    }

    /// The microcontroller preset: one window, at most a quarter of the reference's activation
    /// memory (see the module docs).
    #[must_use]
    pub fn compact() -> Self {
        let layer = ConvLayer::new;
        Self {
            preset: Preset::Compact,
            stack: 1,
            layers: vec![
                layer(12, [3, 7], [2, 4], false),
                layer(16, [3, 5], [2, 2], false),
                layer(32, [3, 3], [1, 1], true),
                layer(64, [3, 3], [1, 1], true),
                layer(64, [3, 3], [1, 1], true),
            ],
            ..Self::reference()
        }
    }

    /// The configuration of a preset.
    #[must_use]
    pub fn from_preset(preset: Preset) -> Self {
        match preset {
            Preset::Reference => Self::reference(),
            Preset::Compact => Self::compact(),
        }
    }

    /// The input shape `[stack, bins, frames]`.
    #[must_use]
    pub fn input_shape(&self) -> MapShape {
        [self.stack, self.bins, self.frames]
    }

    /// Every block's shapes, or why the configuration cannot be built. Cost: arithmetic.
    pub fn blocks(&self) -> Result<Vec<BlockShapes>, ConfigError> {
        if self.layers.is_empty() || product(self.input_shape()) == 0 {
            return Err(ConfigError::Empty);
        }
        let mut input = self.input_shape();
        let mut shapes = Vec::with_capacity(self.layers.len());
        for (index, layer) in self.layers.iter().enumerate() {
            let bad = |reason: &str| ConfigError::Layer {
                layer: index,
                reason: reason.to_string(),
            };
            if layer.out_channels == 0 {
                return Err(bad("zero output channels"));
            }
            if layer.kernel.contains(&0) || layer.kernel.iter().any(|k| k % 2 == 0) {
                return Err(bad("kernels must be odd and non-zero"));
            }
            if layer.stride.contains(&0) {
                return Err(bad("zero stride"));
            }
            let conv = [
                layer.out_channels,
                conv_len(input[1], layer.kernel[0], layer.stride[0]),
                conv_len(input[2], layer.kernel[1], layer.stride[1]),
            ];
            let output = if layer.pool {
                [conv[0], conv[1] / 2, conv[2] / 2]
            } else {
                conv
            };
            if product(output) == 0 {
                return Err(ConfigError::Vanishes {
                    stack: self.stack,
                    bins: self.bins,
                    frames: self.frames,
                    layer: index,
                });
            }
            shapes.push(BlockShapes {
                input,
                conv,
                output,
            });
            input = output;
        }
        Ok(shapes)
    }

    /// Values entering the linear layer (`channels × bins × frames` of the last block).
    pub fn flatten_size(&self) -> Result<usize, ConfigError> {
        let blocks = self.blocks()?;
        Ok(blocks.last().map_or(0, |b| product(b.output)))
    }

    /// Activation memory and compute of one example (see [`Activations`]).
    pub fn activations(&self, classes: usize) -> Result<Activations, ConfigError> {
        let blocks = self.blocks()?;
        let mut largest_map = product(self.input_shape());
        let mut peak_live = 0;
        let mut macs = 0_u64;
        for (block, layer) in blocks.iter().zip(&self.layers) {
            let (input, conv, output) = (
                product(block.input),
                product(block.conv),
                product(block.output),
            );
            largest_map = largest_map.max(conv).max(output);
            peak_live = peak_live.max(input + conv);
            if layer.pool {
                peak_live = peak_live.max(conv + output);
            }
            macs += (conv * block.input[0] * layer.kernel[0] * layer.kernel[1]) as u64;
        }
        let flatten = blocks.last().map_or(0, |b| product(b.output));
        macs += (flatten * classes) as u64;
        Ok(Activations {
            largest_map,
            peak_live,
            macs,
        })
    }

    /// Trainable parameters of a network with `classes` outputs: convolution weights and
    /// biases, BatchNorm γ and β, linear weights and biases (BatchNorm's running statistics are
    /// state, not parameters).
    pub fn trainable_parameters(&self, classes: usize) -> Result<usize, ConfigError> {
        let blocks = self.blocks()?;
        let mut count = 0;
        for (block, layer) in blocks.iter().zip(&self.layers) {
            let c_in = block.input[0];
            let c_out = layer.out_channels;
            count += c_out * c_in * layer.kernel[0] * layer.kernel[1] + c_out; // conv
            count += 2 * c_out; // γ, β
        }
        let flatten = blocks.last().map_or(0, |b| product(b.output));
        Ok(count + flatten * classes + classes)
    }
}

/// One block's modules.
#[derive(Module, Debug)]
pub struct ConvBlock {
    /// The convolution (with bias).
    pub conv: Conv2d,
    /// Batch normalization of its output.
    pub norm: BatchNorm,
    /// The 2×2 max pool, if any.
    pub pool: Option<MaxPool2d>,
}

/// A network: conv blocks and a linear head producing logits.
#[derive(Module, Debug)]
pub struct Classifier {
    /// The conv blocks, in order.
    pub blocks: Vec<ConvBlock>,
    /// The linear layer over the flattened map.
    pub head: Linear,
}

/// `n` values uniform in `±bound` from `rng`.
fn uniform(n: usize, bound: f32, rng: &mut impl Rng) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-bound..=bound)).collect()
}

/// A parameter holding `values` shaped `shape` on `device`.
fn param<const D: usize>(values: Vec<f32>, shape: [usize; D], device: &Device) -> Param<Tensor<D>> {
    Param::from_data(TensorData::new(values, shape), device)
}

impl Classifier {
    /// A freshly initialized network with `classes` outputs on `device` (an autodiff device to
    /// train it). `network` separates the random streams of networks built from one `seed`.
    /// Cost: drawing and uploading every parameter once.
    pub fn new(
        config: &ModelConfig,
        classes: usize,
        seed: u64,
        network: u64,
        device: &Device,
    ) -> Result<Self, ConfigError> {
        use crate::seed::splitmix64;
        let blocks_shapes = config.blocks()?;
        let stream = splitmix64(splitmix64(seed ^ splitmix64(INIT_STREAM)) ^ network);
        let mut rng = ChaCha8Rng::seed_from_u64(stream);
        let mut blocks = Vec::with_capacity(config.layers.len());
        for (shapes, layer) in blocks_shapes.iter().zip(&config.layers) {
            let c_in = shapes.input[0];
            let [kh, kw] = layer.kernel;
            let fan_in = c_in * kh * kw;
            let bound = 1.0 / (fan_in as f32).sqrt();
            let weight = param(
                uniform(layer.out_channels * fan_in, bound, &mut rng),
                [layer.out_channels, c_in, kh, kw],
                device,
            );
            let bias = param(
                uniform(layer.out_channels, bound, &mut rng),
                [layer.out_channels],
                device,
            );
            let mut conv = Conv2dConfig::new([c_in, layer.out_channels], layer.kernel)
                .with_stride(layer.stride)
                .with_padding(PaddingConfig2d::Explicit(kh / 2, kw / 2, kh / 2, kw / 2))
                .with_initializer(Initializer::Zeros)
                .init(device);
            conv.weight = weight;
            conv.bias = Some(bias);
            let norm = BatchNormConfig::new(layer.out_channels)
                .with_epsilon(config.batch_norm_epsilon)
                .with_momentum(config.batch_norm_momentum)
                .init(device);
            let pool = layer
                .pool
                .then(|| MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init());
            blocks.push(ConvBlock { conv, norm, pool });
        }
        let flatten = blocks_shapes.last().map_or(0, |b| product(b.output));
        let bound = 1.0 / (flatten as f32).sqrt();
        let mut head = LinearConfig::new(flatten, classes)
            .with_initializer(Initializer::Zeros)
            .init(device);
        head.weight = param(
            uniform(flatten * classes, bound, &mut rng),
            [flatten, classes],
            device,
        );
        head.bias = Some(param(uniform(classes, bound, &mut rng), [classes], device));
        Ok(Self { blocks, head })
    }

    /// Logits `[batch, classes]` of an input `[batch, stack, bins, frames]` (already scaled by
    /// [`INPUT_SCALE`]). Cost: see [`ModelConfig::activations`] (`macs` per example).
    pub fn forward(&self, input: Tensor<4>) -> Tensor<2> {
        let mut x = input;
        for block in &self.blocks {
            x = relu(block.norm.forward(block.conv.forward(x)));
            if let Some(pool) = &block.pool {
                x = pool.forward(x);
            }
        }
        self.head.forward(x.flatten(1, 3))
    }
}

/// The two networks trained together on the same batches.
#[derive(Module, Debug)]
pub struct Networks {
    /// Composer classes (softmax cross-entropy).
    pub composer: Classifier,
    /// Instrument labels (independent sigmoids, binary cross-entropy).
    pub instruments: Classifier,
}

impl Networks {
    /// Both networks, freshly initialized from `seed` (independent streams).
    pub fn new(
        config: &ModelConfig,
        composers: usize,
        instruments: usize,
        seed: u64,
        device: &Device,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            composer: Classifier::new(config, composers, seed, 0, device)?,
            instruments: Classifier::new(config, instruments, seed, 1, device)?,
        })
    }
}

/// A batch of stacked feature codes (`[c][bin][frame]` per example, `shape` = one example's
/// `[stack, bins, frames]`) as the float input tensor `[batch, stack, bins, frames]` on `device`.
/// Returns `None` if an example has the wrong length. Cost: one pass converting codes, one upload.
#[must_use]
pub fn input_tensor<'a>(
    examples: impl ExactSizeIterator<Item = &'a [i8]>,
    shape: MapShape,
    device: &Device,
) -> Option<Tensor<4>> {
    let batch = examples.len();
    let per_example = product(shape);
    let mut values = Vec::with_capacity(batch * per_example);
    for features in examples {
        if features.len() != per_example {
            return None;
        }
        values.extend(features.iter().map(|&c| f32::from(c) * INPUT_SCALE));
    }
    let data = TensorData::new(values, [batch, shape[0], shape[1], shape[2]]);
    Some(Tensor::from_data(data, device))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_shapes_match_the_documented_table() {
        let config = ModelConfig::reference();
        let blocks = config.blocks().unwrap();
        let outputs: Vec<MapShape> = blocks.iter().map(|b| b.output).collect();
        assert_eq!(
            outputs,
            vec![
                [16, 128, 156],
                [16, 64, 78],
                [32, 32, 39],
                [64, 16, 19],
                [128, 8, 9]
            ]
        );
        assert_eq!(config.flatten_size().unwrap(), 9216);
        let a = config.activations(7).unwrap();
        assert_eq!(a.largest_map, 319_488);
        assert_eq!(a.peak_live, 159_744 + 319_488);
        assert_eq!(config.trainable_parameters(7).unwrap(), 167_239);
    }

    #[test]
    fn compact_needs_at_most_a_quarter_of_the_reference_memory() {
        let reference = ModelConfig::reference().activations(7).unwrap();
        let compact = ModelConfig::compact();
        assert_eq!(compact.flatten_size().unwrap(), 1024);
        let a = compact.activations(7).unwrap();
        assert_eq!((a.largest_map, a.peak_live), (59_904, 99_840));
        assert!(4 * a.peak_live <= reference.peak_live);
        assert!(4 * a.largest_map <= reference.largest_map);
        assert!(a.macs * 5 < reference.macs);
    }

    #[test]
    fn bad_configurations_are_refused() {
        let mut even = ModelConfig::reference();
        even.layers[1].kernel = [4, 5];
        assert!(matches!(
            even.blocks(),
            Err(ConfigError::Layer { layer: 1, .. })
        ));
        let mut tiny = ModelConfig::reference();
        tiny.frames = 8;
        assert!(matches!(
            tiny.blocks(),
            Err(ConfigError::Vanishes { layer: 3, .. })
        ));
        let mut empty = ModelConfig::reference();
        empty.layers.clear();
        assert_eq!(empty.blocks(), Err(ConfigError::Empty));
    }

    #[test]
    fn built_networks_have_the_computed_shapes_and_parameter_counts() {
        let device = Device::flex();
        for (config, expected) in [
            (ModelConfig::reference(), 167_239),
            (ModelConfig::compact(), 70_775),
        ] {
            assert_eq!(config.trainable_parameters(7).unwrap(), expected);
            let network = Classifier::new(&config, 7, 1, 0, &device).unwrap();
            let running: usize = config.layers.iter().map(|l| 2 * l.out_channels).sum();
            assert_eq!(
                network.num_params(),
                expected + running,
                "{:?}",
                config.preset
            );
            let [c, h, w] = config.input_shape();
            let logits = network.forward(Tensor::zeros([2, c, h, w], &device));
            assert_eq!(logits.dims(), [2, 7]);
        }
    }

    #[test]
    fn initialization_is_seeded_and_bounded() {
        let device = Device::flex();
        let config = ModelConfig::compact();
        let weights = |seed, network| {
            let model = Classifier::new(&config, 3, seed, network, &device).unwrap();
            model.blocks[0]
                .conv
                .weight
                .val()
                .into_data()
                .iter::<f32>()
                .collect::<Vec<_>>()
        };
        let a = weights(5, 0);
        assert_eq!(a, weights(5, 0));
        assert_ne!(a, weights(5, 1), "networks draw from separate streams");
        assert_ne!(a, weights(6, 0));
        let bound = 1.0 / 21.0_f32.sqrt(); // fan-in 1 × 3 × 7
        assert!(a.iter().all(|w| w.abs() <= bound));
    }

    #[test]
    fn input_codes_map_to_code_over_128() {
        let device = Device::flex();
        let codes: Vec<i8> = vec![-128, 0, 64, 127];
        let x = input_tensor([codes.as_slice()].into_iter(), [1, 2, 2], &device).unwrap();
        let values: Vec<f32> = x.into_data().iter::<f32>().collect();
        assert_eq!(values, vec![-1.0, 0.0, 0.5, 127.0 / 128.0]);
        assert!(input_tensor([codes.as_slice()].into_iter(), [1, 1, 2], &device).is_none());
    }

    #[test]
    fn configs_round_trip_through_json() {
        let config = ModelConfig::compact();
        let text = serde_json::to_string(&config).unwrap();
        assert_eq!(serde_json::from_str::<ModelConfig>(&text).unwrap(), config);
    }
}
