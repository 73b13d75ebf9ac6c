//! A trained model on disk and inference with it (for `trainer eval` and the exporter).
//!
//! ```text
//! OUT/
//!   composer.bpk      the composer network (burnpack)
//!   instruments.bpk   the instrument network (burnpack)
//!   model.json        ModelInfo: configuration, class names, label mode, metrics history
//! ```

use crate::model::{ModelConfig, Networks};
use crate::sampler::{Example, LabelMode};
use crate::training::checkpoint::{load_network, save_network};
use crate::training::metrics::{EpochMetrics, sigmoid, softmax};
use crate::training::step::logits;
use anyhow::Context;
use burn::module::Module;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The description file beside the weights.
pub const MODEL_JSON: &str = "model.json";
/// The composer network's weights.
pub const COMPOSER_FILE: &str = "composer.bpk";
/// The instrument network's weights.
pub const INSTRUMENTS_FILE: &str = "instruments.bpk";
/// Version of `model.json`'s layout.
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// `model.json`: what the weights mean.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// [`MODEL_FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// The networks' configuration (input shape, layers, BatchNorm ε).
    pub config: ModelConfig,
    /// Composer class names, in output order.
    pub composers: Vec<String>,
    /// Instrument classes as 1-based GM programs, in output order.
    pub instruments: Vec<u8>,
    /// Instrument names, in output order.
    pub instrument_names: Vec<String>,
    /// The instrument labels trained on.
    pub label_mode: LabelMode,
    /// The training seed.
    pub seed: u64,
    /// Epochs trained.
    pub epochs: usize,
    /// The epoch whose networks these are, when not the last (`trainer fit --keep best`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_epoch: Option<usize>,
    /// Metrics of every epoch.
    pub history: Vec<EpochMetrics>,
    /// The PyTorch files the weights came from (`trainer import`; composer's, then the
    /// instruments'); absent for a model trained here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_from: Option<Vec<PathBuf>>,
}

/// Writes both networks and `model.json` into `out` (each file atomically) and returns the
/// paths. Cost: one read-back and write of the weights.
pub fn save_trained(
    out: &Path,
    networks: &Networks,
    info: &ModelInfo,
) -> anyhow::Result<Vec<PathBuf>> {
    let composer = out.join(COMPOSER_FILE);
    let instruments = out.join(INSTRUMENTS_FILE);
    let json = out.join(MODEL_JSON);
    let synced = networks.valid(); // BatchNorm statistics synchronized, see checkpoint::save
    save_network(&synced.composer, &composer)?;
    save_network(&synced.instruments, &instruments)?;
    crate::atomic::write_atomically(&json, |w| {
        serde_json::to_writer_pretty(&mut *w, info).map_err(std::io::Error::other)
    })
    .with_context(|| format!("writing {}", json.display()))?;
    Ok(vec![composer, instruments, json])
}

/// Probabilities (and logits) of a batch, `[example][class]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Predictions {
    /// Composer probabilities (softmax; each row sums to 1).
    pub composer: Vec<Vec<f32>>,
    /// Instrument probabilities (independent sigmoids).
    pub instruments: Vec<Vec<f32>>,
    /// The composer network's logits.
    pub composer_logits: Vec<Vec<f32>>,
    /// The instrument network's logits.
    pub instrument_logits: Vec<Vec<f32>>,
}

/// A trained model loaded for inference.
pub struct TrainedModel {
    /// `model.json`.
    pub info: ModelInfo,
    /// Both networks in validation mode.
    pub networks: Networks,
    device: Device,
}

impl TrainedModel {
    /// Loads `model.json` and the weights from `dir` onto `device` (a plain device, e.g. from
    /// `crate::device::open`). Cost: reading the files, uploading the weights.
    pub fn load(dir: &Path, device: &Device) -> anyhow::Result<Self> {
        let json = dir.join(MODEL_JSON);
        let text = std::fs::read_to_string(&json)
            .with_context(|| format!("reading {}", json.display()))?;
        let info: ModelInfo =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", json.display()))?;
        if info.format_version != MODEL_FORMAT_VERSION {
            anyhow::bail!(
                "{}: model format {} (this program reads {MODEL_FORMAT_VERSION})",
                json.display(),
                info.format_version
            );
        }
        let mut networks = Networks::new(
            &info.config,
            info.composers.len(),
            info.instruments.len(),
            info.seed,
            device,
        )?;
        load_network(&mut networks.composer, &dir.join(COMPOSER_FILE))?;
        load_network(&mut networks.instruments, &dir.join(INSTRUMENTS_FILE))?;
        Ok(Self {
            info,
            networks: networks.valid(),
            device: device.clone(),
        })
    }

    /// Composer and instrument probabilities of `examples` (features of
    /// `info.config.stack` windows each). Run it on batches of a few dozen examples: the input
    /// and activations of the whole batch are held at once. Cost: one forward of both networks.
    pub fn predict(&self, examples: &[Example]) -> anyhow::Result<Predictions> {
        predict(&self.networks, &self.info.config, examples, &self.device)
    }
}

/// Probabilities of `examples` from `networks` (in validation mode) on `device`.
/// Cost: one forward of both networks.
pub fn predict(
    networks: &Networks,
    config: &ModelConfig,
    examples: &[Example],
    device: &Device,
) -> anyhow::Result<Predictions> {
    let logits = logits(networks, examples, config, device)?;
    Ok(Predictions {
        composer: logits.composer.iter().map(|l| softmax(l)).collect(),
        instruments: logits.instruments.iter().map(|l| sigmoid(l)).collect(),
        composer_logits: logits.composer,
        instrument_logits: logits.instruments,
    })
}
