//! Checkpoints: everything needed to continue training exactly where an epoch ended.
//!
//! ```text
//! OUT/
//!   checkpoint.json                  CheckpointInfo: epoch, folder, config, settings, history
//!   checkpoints/epoch-0007/
//!     composer.bpk, instruments.bpk  network weights and BatchNorm statistics (burnpack,
//!                                    with parameter ids, which key the optimizer states)
//!     composer-adam.bpk, instruments-adam.bpk   Adam moments and step counts
//! ```
//!
//! An epoch's folder is written first (each file atomically, by burnpack: temporary file,
//! fsync, rename); `checkpoint.json` is then replaced atomically to point at it, and only then
//! are older folders removed. `checkpoint.json` is the commit: a process killed at any moment
//! leaves the previous complete checkpoint in force and loses at most the epoch in progress.

use super::metrics::EpochMetrics;
use super::schedule::{Keep, LrSchedule, kept_epoch};
use super::step::Optimizers;
use crate::model::{ModelConfig, Networks};
use crate::sampler::SamplerConfig;
use anyhow::Context;
use burn::module::Module;
use burn::store::{BurnpackStore, ModuleSnapshot};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The commit file in the output folder.
pub const CHECKPOINT_FILE: &str = "checkpoint.json";
/// Folder of the per-epoch checkpoint folders.
pub const CHECKPOINT_DIR: &str = "checkpoints";
/// Version of the checkpoint layout.
pub const CHECKPOINT_FORMAT_VERSION: u32 = 1;

/// What must stay the same for a resumed run to continue the same training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// The run's seed.
    pub seed: u64,
    /// Examples per batch.
    pub batch_size: usize,
    /// Examples per epoch.
    pub examples_per_epoch: usize,
    /// Adam learning rate of the composer network.
    pub lr_composer: f64,
    /// Adam learning rate of the instrument network.
    pub lr_instruments: f64,
    /// Windows per example, label mode, augmentation of training examples.
    pub sampler: SamplerConfig,
    /// Validation stacks per validation recording.
    pub validation_stacks: usize,
    /// Composer classes, in class order.
    pub composers: Vec<String>,
    /// Instrument classes (GM programs), in class order.
    pub instruments: Vec<u8>,
    /// How the learning rates move over the run (absent in older checkpoints: constant).
    #[serde(default)]
    pub lr_schedule: LrSchedule,
    /// Which epoch's networks the run keeps (absent in older checkpoints: the last).
    #[serde(default)]
    pub keep: Keep,
    /// The cache the validation recordings come from, when not the training cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_cache: Option<PathBuf>,
}

/// `checkpoint.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointInfo {
    /// [`CHECKPOINT_FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// Epochs completed.
    pub epoch: usize,
    /// The epoch's folder, relative to the output folder.
    pub folder: PathBuf,
    /// The networks' configuration.
    pub config: ModelConfig,
    /// The run's settings.
    pub settings: RunSettings,
    /// Metrics of every completed epoch.
    pub history: Vec<EpochMetrics>,
}

/// Files of one checkpoint folder.
struct Files {
    composer: PathBuf,
    instruments: PathBuf,
    composer_adam: PathBuf,
    instruments_adam: PathBuf,
}

impl Files {
    fn in_folder(folder: &Path) -> Self {
        Self {
            composer: folder.join("composer.bpk"),
            instruments: folder.join("instruments.bpk"),
            composer_adam: folder.join("composer-adam.bpk"),
            instruments_adam: folder.join("instruments-adam.bpk"),
        }
    }
}

/// Saves one network's weights to `path` (burnpack, atomic). Cost: one read-back of the
/// weights and one file write.
pub fn save_network(network: &crate::model::Classifier, path: &Path) -> anyhow::Result<()> {
    let mut store = BurnpackStore::from_file(path).overwrite(true);
    network
        .save_into(&mut store)
        .map_err(|e| anyhow::anyhow!("{}: cannot save the network: {e}", path.display()))
}

/// Loads weights (and parameter ids) saved by [`save_network`] into `network`, which must have
/// the same configuration. Cost: one file read and upload.
pub fn load_network(network: &mut crate::model::Classifier, path: &Path) -> anyhow::Result<()> {
    let mut store = BurnpackStore::from_file(path);
    network
        .load_from(&mut store)
        .map_err(|e| anyhow::anyhow!("{}: cannot load the network: {e}", path.display()))?;
    Ok(())
}

/// Writes the checkpoint of `info.epoch` into `out` (see the module docs) and removes older
/// checkpoint folders, except the one of the epoch `--keep best` has chosen so far. Cost: two
/// networks and two Adam states (three times the weights) written and fsynced.
pub fn save(
    out: &Path,
    networks: &Networks,
    optimizers: &Optimizers,
    info: &CheckpointInfo,
) -> anyhow::Result<()> {
    let folder = out.join(&info.folder);
    if folder.exists() {
        // Left by a run killed before its commit: never referenced, safe to redo.
        std::fs::remove_dir_all(&folder)
            .with_context(|| format!("removing the stale {}", folder.display()))?;
    }
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    let files = Files::in_folder(&folder);
    // The validation-mode copy has BatchNorm's running statistics synchronized (the training
    // copy may hold the last update in a per-thread slot); parameter ids are the same.
    let synced = networks.valid();
    save_network(&synced.composer, &files.composer)?;
    save_network(&synced.instruments, &files.instruments)?;
    optimizers
        .composer
        .save(&files.composer_adam)
        .map_err(|e| anyhow::anyhow!("{}: {e}", files.composer_adam.display()))?;
    optimizers
        .instruments
        .save(&files.instruments_adam)
        .map_err(|e| anyhow::anyhow!("{}: {e}", files.instruments_adam.display()))?;
    let commit = out.join(CHECKPOINT_FILE);
    crate::atomic::write_atomically(&commit, |w| {
        serde_json::to_writer_pretty(&mut *w, info).map_err(std::io::Error::other)
    })
    .with_context(|| format!("writing {}", commit.display()))?;
    let mut keep = vec![out.join(&info.folder)];
    if let Some(kept) = kept_epoch(info.settings.keep, &info.history) {
        keep.push(out.join(folder_for(kept)));
    }
    remove_other_folders(out, &keep)
}

/// Removes checkpoint folders other than those in `keep`.
fn remove_other_folders(out: &Path, keep: &[PathBuf]) -> anyhow::Result<()> {
    let dir = out.join(CHECKPOINT_DIR);
    for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if !keep.contains(&path) && path.is_dir() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("removing the old {}", path.display()))?;
        }
    }
    Ok(())
}

/// The folder (relative to the output folder) of epoch `epoch`'s checkpoint.
#[must_use]
pub fn folder_for(epoch: usize) -> PathBuf {
    Path::new(CHECKPOINT_DIR).join(format!("epoch-{epoch:04}"))
}

/// Reads `checkpoint.json` of `out`; `None` if there is none. Cost: one small file.
pub fn read_info(out: &Path) -> anyhow::Result<Option<CheckpointInfo>> {
    let path = out.join(CHECKPOINT_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let info: CheckpointInfo =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    if info.format_version != CHECKPOINT_FORMAT_VERSION {
        anyhow::bail!(
            "{}: checkpoint format {} (this trainer reads {CHECKPOINT_FORMAT_VERSION})",
            path.display(),
            info.format_version
        );
    }
    Ok(Some(info))
}

/// Newly initialized networks of a run with `config` and `settings` (classes and seed) on
/// `device`. Cost: one random initialization of both networks.
pub fn fresh_networks(
    config: &ModelConfig,
    settings: &RunSettings,
    device: &Device,
) -> anyhow::Result<Networks> {
    Ok(Networks::new(
        config,
        settings.composers.len(),
        settings.instruments.len(),
        settings.seed,
        device,
    )?)
}

/// Loads only the networks of the checkpoint folder `folder` (relative to `out`) of a run with
/// `config` and `settings` onto `device`, e.g. the best epoch's for `--keep best`. Cost: reading
/// two weight files.
pub fn load_networks(
    out: &Path,
    folder: &Path,
    config: &ModelConfig,
    settings: &RunSettings,
    device: &Device,
) -> anyhow::Result<Networks> {
    let files = Files::in_folder(&out.join(folder));
    let mut networks = fresh_networks(config, settings, device)?;
    load_network(&mut networks.composer, &files.composer)?;
    load_network(&mut networks.instruments, &files.instruments)?;
    Ok(networks)
}

/// Loads the networks and optimizers of checkpoint `info` from `out` onto `device` (an autodiff
/// device to continue training). Cost: reading the checkpoint's files.
pub fn load(
    out: &Path,
    info: &CheckpointInfo,
    device: &Device,
) -> anyhow::Result<(Networks, Optimizers)> {
    let files = Files::in_folder(&out.join(&info.folder));
    let networks = load_networks(out, &info.folder, &info.config, &info.settings, device)?;
    let fresh = Optimizers::new();
    let composer = fresh
        .composer
        .load(&files.composer_adam)
        .map_err(|e| anyhow::anyhow!("{}: {e}", files.composer_adam.display()))?;
    let instruments = fresh
        .instruments
        .load(&files.instruments_adam)
        .map_err(|e| anyhow::anyhow!("{}: {e}", files.instruments_adam.display()))?;
    Ok((
        networks,
        Optimizers {
            composer,
            instruments,
        },
    ))
}
