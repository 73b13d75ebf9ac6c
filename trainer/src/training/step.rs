//! One optimization step of both networks on one batch, and the batch's tensors.
//!
//! Both networks see the same input. Their losses are added and differentiated once (their
//! parameters are disjoint, so each network's gradients are exactly those of its own loss),
//! then each network takes an Adam step with its own learning rate.

use crate::model::{ModelConfig, Networks, input_tensor};
use crate::sampler::Example;
use burn::module::Module;
use burn::nn::loss::{
    BinaryCrossEntropyLoss, BinaryCrossEntropyLossConfig, CrossEntropyLoss, CrossEntropyLossConfig,
};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};

/// Adam as the reference trained: β1 0.5, β2 0.999, ε 1e-8 (PyTorch's; Burn's default is 1e-5).
#[must_use]
pub fn adam() -> ModuleOptimizer {
    AdamConfig::new()
        .with_beta_1(0.5)
        .with_beta_2(0.999)
        .with_epsilon(1e-8)
        .init()
}

/// One Adam optimizer per network (their states are keyed by parameter id).
#[derive(Clone)]
pub struct Optimizers {
    /// The composer network's.
    pub composer: ModuleOptimizer,
    /// The instrument network's.
    pub instruments: ModuleOptimizer,
}

impl Optimizers {
    /// Fresh optimizers (no moments yet).
    #[must_use]
    pub fn new() -> Self {
        Self {
            composer: adam(),
            instruments: adam(),
        }
    }
}

impl Default for Optimizers {
    fn default() -> Self {
        Self::new()
    }
}

/// Learning rates of the two networks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LearningRates {
    /// The composer network's.
    pub composer: f64,
    /// The instrument network's.
    pub instruments: f64,
}

/// A batch on the device.
pub struct BatchTensors {
    /// `[batch, stack, bins, frames]`, codes × 1/128.
    pub input: Tensor<4>,
    /// Composer class per example, `[batch]`.
    pub composer: Tensor<1, Int>,
    /// Instrument flags as 0/1, `[batch, instruments]`.
    pub instruments: Tensor<2, Int>,
}

/// Why a batch cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BatchError {
    /// No examples.
    #[error("an empty batch")]
    Empty,
    /// An example's features or labels do not fit the model.
    #[error("example {index}: {reason}")]
    Shape {
        /// Position in the batch.
        index: usize,
        /// What does not fit.
        reason: String,
    },
}

/// The input tensor of `examples` for `config` (checks their feature lengths).
pub fn batch_input(
    examples: &[Example],
    config: &ModelConfig,
    device: &Device,
) -> Result<Tensor<4>, BatchError> {
    if examples.is_empty() {
        return Err(BatchError::Empty);
    }
    let shape = config.input_shape();
    let expected: usize = shape.iter().product();
    if let Some(index) = examples.iter().position(|e| e.features.len() != expected) {
        return Err(BatchError::Shape {
            index,
            reason: format!(
                "{} feature codes, the model reads {} × {} × {} = {expected}",
                examples[index].features.len(),
                shape[0],
                shape[1],
                shape[2]
            ),
        });
    }
    input_tensor(
        examples.iter().map(|e| e.features.as_slice()),
        shape,
        device,
    )
    .ok_or(BatchError::Shape {
        index: 0,
        reason: "feature length".into(),
    })
}

/// Input and label tensors of `examples` (`composers` / `instruments`: class counts).
/// Cost: converting `stack × 40k` codes per example and one upload.
pub fn batch_tensors(
    examples: &[Example],
    config: &ModelConfig,
    composers: usize,
    instruments: usize,
    device: &Device,
) -> Result<BatchTensors, BatchError> {
    let input = batch_input(examples, config, device)?;
    let mut composer = Vec::with_capacity(examples.len());
    let mut flags = Vec::with_capacity(examples.len() * instruments);
    for (index, example) in examples.iter().enumerate() {
        if example.composer >= composers || example.instruments.len() != instruments {
            return Err(BatchError::Shape {
                index,
                reason: format!(
                    "composer {} of {composers}, {} instrument flags of {instruments}",
                    example.composer,
                    example.instruments.len()
                ),
            });
        }
        composer.push(example.composer as i64);
        flags.extend(example.instruments.iter().map(|&f| i64::from(f)));
    }
    let batch = examples.len();
    Ok(BatchTensors {
        input,
        composer: Tensor::from_data(TensorData::new(composer, [batch]), device),
        instruments: Tensor::from_data(TensorData::new(flags, [batch, instruments]), device),
    })
}

/// The two losses, for the composer (`softmax` cross-entropy) and instrument (binary
/// cross-entropy on logits, averaged over labels and examples) networks.
pub struct Losses {
    composer: CrossEntropyLoss,
    instruments: BinaryCrossEntropyLoss,
}

impl Losses {
    /// The loss modules (stateless).
    #[must_use]
    pub fn new(device: &Device) -> Self {
        Self {
            composer: CrossEntropyLossConfig::new().init(device),
            instruments: BinaryCrossEntropyLossConfig::new()
                .with_logits(true)
                .init(device),
        }
    }
}

/// Mean losses of one step, as read back from the device.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepLosses {
    /// Composer cross-entropy.
    pub composer: f64,
    /// Instrument binary cross-entropy.
    pub instruments: f64,
}

/// One training step: forward both networks on `batch`, backward, one Adam step each. The
/// networks must live on an autodiff device. Returns the updated networks and the batch's
/// losses. Cost: forward and backward of both networks (see `ModelConfig::activations`).
pub fn train_step(
    networks: Networks,
    optimizers: &mut Optimizers,
    rates: LearningRates,
    losses: &Losses,
    batch: BatchTensors,
) -> (Networks, StepLosses) {
    let Networks {
        composer,
        instruments,
    } = networks;
    let composer_logits = composer.forward(batch.input.clone());
    let instrument_logits = instruments.forward(batch.input);
    let loss_composer = losses.composer.forward(composer_logits, batch.composer);
    let loss_instruments = losses
        .instruments
        .forward(instrument_logits, batch.instruments);
    let mut gradients = (loss_composer.clone() + loss_instruments.clone()).backward();
    let composer_gradients = GradientsParams::from_module(&mut gradients, &composer);
    let instrument_gradients = GradientsParams::from_module(&mut gradients, &instruments);
    let composer = optimizers
        .composer
        .step(rates.composer, composer, composer_gradients);
    let instruments =
        optimizers
            .instruments
            .step(rates.instruments, instruments, instrument_gradients);
    let step = StepLosses {
        composer: f64::from(loss_composer.into_scalar::<f32>()),
        instruments: f64::from(loss_instruments.into_scalar::<f32>()),
    };
    (
        Networks {
            composer,
            instruments,
        },
        step,
    )
}

/// Both networks' logits for a batch, on the host, `[example][class]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Logits {
    /// The composer network's.
    pub composer: Vec<Vec<f32>>,
    /// The instrument network's.
    pub instruments: Vec<Vec<f32>>,
}

/// Logits of both networks for `examples`, read back to the host. `networks` should be in
/// validation mode (`Module::valid`, BatchNorm on running statistics). Cost: one forward of
/// both networks.
pub fn logits(
    networks: &Networks,
    examples: &[Example],
    config: &ModelConfig,
    device: &Device,
) -> Result<Logits, BatchError> {
    let input = batch_input(examples, config, device)?;
    Ok(Logits {
        composer: rows(networks.composer.forward(input.clone())),
        instruments: rows(networks.instruments.forward(input)),
    })
}

/// A `[rows, columns]` tensor as host rows.
fn rows(tensor: Tensor<2>) -> Vec<Vec<f32>> {
    let [_, columns] = tensor.dims();
    let values: Vec<f32> = tensor.into_data().iter::<f32>().collect();
    values.chunks(columns.max(1)).map(<[f32]>::to_vec).collect()
}

/// The validation-mode copy of `networks` (no autodiff, BatchNorm on running statistics).
#[must_use]
pub fn for_inference(networks: &Networks) -> Networks {
    networks.valid()
}
