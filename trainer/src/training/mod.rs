//! `trainer fit`: train the composer and instrument networks together on a prepared cache.
//!
//! - [`data`]: audio in memory, per-example seeded drawing, the fixed validation set;
//! - [`step`]: batch tensors, one Adam step of both networks, logits for validation;
//! - [`metrics`]: losses, accuracy, samples-F1, exact match, the per-epoch record;
//! - [`checkpoint`]: atomic per-epoch checkpoints and `--resume`;
//! - [`schedule`]: the learning-rate schedule and which epoch's networks are kept;
//! - [`curves`]: learning-curve PNGs.
//!
//! Every epoch draws its examples afresh (one stack per training slot by default), trains on
//! them in batches, scores the fixed validation set, writes a checkpoint and redraws the
//! curves; the final networks go to `composer.bpk` / `instruments.bpk` with `model.json`
//! (see `crate::inference`). On the CPU the run is deterministic: the same arguments give the
//! same weights, whether run straight or killed and resumed (tested).

pub mod checkpoint;
pub mod curves;
pub mod data;
pub mod metrics;
pub mod schedule;
pub mod step;

use crate::augment::AugmentConfig;
use crate::device::DeviceChoice;
use crate::inference::{ModelInfo, save_trained};
use crate::model::{ModelConfig, Networks, Preset};
use crate::progress::Progress;
use crate::sampler::{LabelMode, SamplerConfig};
use anyhow::Context;
use burn::module::Module;
use checkpoint::{CheckpointInfo, RunSettings};
use data::{Corpus, draw_training, draw_validation, epoch_slots, mix_batch};
use metrics::{EpochMetrics, Scorer};
use schedule::{Keep, ScheduleKind, kept_epoch};
use std::path::PathBuf;
use std::time::Instant;
use step::{LearningRates, Losses, Optimizers, batch_tensors, logits, train_step};

/// Options of `trainer fit`.
#[derive(clap::Args, Clone, Debug)]
pub struct FitArgs {
    /// A cache folder written by `trainer prepare` (its selection says what to train on).
    pub cache: PathBuf,
    /// Output folder: checkpoints, curves, and the final `composer.bpk`, `instruments.bpk`,
    /// `model.json`.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Where the networks run (cuda needs a build with the `cuda` feature).
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
    /// Epochs to train in total (a resumed run continues up to this number).
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    /// Examples (stacks) per batch.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Examples per epoch (default: one per training slot of the selection).
    #[arg(long)]
    pub examples_per_epoch: Option<usize>,
    /// Seed of initialization, example drawing and the validation set.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Adam learning rate of the composer network.
    #[arg(long, default_value_t = 1e-3)]
    pub lr_composer: f64,
    /// Adam learning rate of the instrument network.
    #[arg(long, default_value_t = 1e-4)]
    pub lr_instruments: f64,
    /// Instrument labels: those sounding in the windows, or the whole recording's.
    #[arg(long, value_enum, default_value_t = LabelMode::Window)]
    pub label_mode: LabelMode,
    /// Network shape: the reference CNN (4-window stacks) or the compact one (1 window, a
    /// quarter of the activation memory, for microcontrollers).
    #[arg(long, value_enum, default_value_t = Preset::Reference)]
    pub config: Preset,
    /// Audio augmentation of training windows: `off`, `default` (everything on at the
    /// preset's ranges), or a JSON file of `AugmentConfig` (missing fields are off).
    /// Validation windows are never augmented.
    #[arg(long, default_value = "off")]
    pub augment: String,
    /// Validation stacks drawn (once) from every validation recording.
    #[arg(long, default_value_t = 20)]
    pub validation_stacks: usize,
    /// Take the validation recordings from this prepared cache instead of CACHE: for instance
    /// the same pieces rendered with a SoundFont the run does not train on, so that `--keep
    /// best` chooses by sounds the networks have not heard. Its classes must be CACHE's.
    #[arg(long)]
    pub validation_cache: Option<PathBuf>,
    /// Learning-rate schedule: `constant` (the reference's) or `cosine` (annealed from the
    /// rates given to 1% of them at the last step of `--epochs`).
    #[arg(long, value_enum, default_value_t = ScheduleKind::Constant)]
    pub lr_schedule: ScheduleKind,
    /// Which epoch's networks become the model: the `last`, or the `best` by validation (mean
    /// of composer accuracy and instrument samples-F1; its checkpoint is kept until the end).
    #[arg(long, value_enum, default_value_t = Keep::Last)]
    pub keep: Keep,
    /// Continue from the output folder's last complete checkpoint (same settings required).
    #[arg(long)]
    pub resume: bool,
    /// Threads drawing examples (default: all cores). The networks use rayon's global pool
    /// (`RAYON_NUM_THREADS`).
    #[arg(long)]
    pub jobs: Option<usize>,
}

/// What `fit` did.
#[derive(Debug)]
pub struct FitSummary {
    /// The output folder.
    pub out: PathBuf,
    /// Epochs completed in total.
    pub epochs: usize,
    /// The epoch the run resumed after (`None`: started fresh).
    pub resumed_after: Option<usize>,
    /// Metrics of every epoch.
    pub history: Vec<EpochMetrics>,
    /// The final model's files.
    pub model_files: Vec<PathBuf>,
    /// The curve PNGs.
    pub curves: Vec<PathBuf>,
    /// Wall-clock seconds of this run.
    pub wall_seconds: f64,
}

impl std::fmt::Display for FitSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "trained {} epochs{} in {:.0} s -> {}",
            self.epochs,
            self.resumed_after
                .map(|e| format!(" (resumed after epoch {e})"))
                .unwrap_or_default(),
            self.wall_seconds,
            self.out.display()
        )?;
        if let Some(last) = self.history.last() {
            write!(f, "\n  last {last}")?;
        }
        for path in self.model_files.iter().chain(&self.curves) {
            write!(f, "\n  wrote {}", path.display())?;
        }
        Ok(())
    }
}

/// Largest `--examples-per-epoch`: example indices of an epoch share the window stream space
/// with the next epoch beyond it.
const MAX_EXAMPLES_PER_EPOCH: usize = data::EPOCH_STRIDE as usize;

/// Runs `trainer fit`. Errors say which argument or file is at fault.
pub fn run(args: &FitArgs) -> anyhow::Result<FitSummary> {
    let started = Instant::now();
    check_args(args)?;
    let augment = augment_config(&args.augment)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
        .context("starting the example-drawing threads")?;
    let device = crate::device::open(args.device)?;
    let train_device = device.clone().autodiff();
    let corpus = Corpus::load(&args.cache, &pool)?;
    let selection = &corpus.selection;
    if selection.train.is_empty() || selection.composers.is_empty() {
        anyhow::bail!(
            "{}: the selection has no training recordings or no composer classes",
            args.cache.display()
        );
    }
    if selection.instruments.is_empty() {
        anyhow::bail!(
            "{}: the selection has no instrument classes (lower --min-instrument-recordings \
             in `trainer prepare`)",
            args.cache.display()
        );
    }
    let validation_corpus = match &args.validation_cache {
        Some(dir) => Some(load_validation_corpus(dir, &args.cache, &corpus, &pool)?),
        None => None,
    };
    let config = ModelConfig::from_preset(args.config);
    let sampler = SamplerConfig {
        stack: config.stack,
        label_mode: args.label_mode,
        augment,
    };
    let settings = RunSettings {
        seed: args.seed,
        batch_size: args.batch_size,
        examples_per_epoch: args.examples_per_epoch.unwrap_or(selection.train.len()),
        lr_composer: args.lr_composer,
        lr_instruments: args.lr_instruments,
        sampler: sampler.clone(),
        validation_stacks: args.validation_stacks,
        composers: selection.composers.clone(),
        instruments: selection.instruments.clone(),
        lr_schedule: args.lr_schedule.over(args.epochs),
        keep: args.keep,
        validation_cache: args.validation_cache.clone(),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let (mut networks, mut optimizers, mut history) =
        start_or_resume(args, &config, &settings, &train_device)?;
    let resumed_after = (!history.is_empty()).then_some(history.len());
    let unaugmented = SamplerConfig {
        augment: AugmentConfig::default(),
        ..sampler.clone()
    };
    let validation = draw_validation(
        validation_corpus.as_ref().unwrap_or(&corpus),
        args.validation_stacks,
        args.seed,
        &unaugmented,
        &pool,
    );
    eprintln!(
        "fit: {} recordings ({:.2} h) in memory, {} examples per epoch, {} validation \
         examples, {} config, {}",
        corpus.len(),
        corpus.seconds() / 3600.0,
        settings.examples_per_epoch,
        validation.len(),
        match args.config {
            Preset::Reference => "reference",
            Preset::Compact => "compact",
        },
        crate::device::describe(args.device)
    );
    let losses = Losses::new(&train_device);
    let mut curves = Vec::new();
    for epoch in history.len()..args.epochs {
        let epoch_started = Instant::now();
        let slots = epoch_slots(
            &selection.train,
            settings.examples_per_epoch,
            args.seed,
            epoch as u64,
        );
        let batches = slots.len().div_ceil(args.batch_size);
        let progress = Progress::new(
            &format!("epoch {}/{}", epoch + 1, args.epochs),
            batches as u64,
        );
        let (mut sum_composer, mut sum_instruments, mut seen) = (0.0, 0.0, 0_usize);
        for (index, chunk) in slots.chunks(args.batch_size).enumerate() {
            let mut examples = draw_training(
                &corpus,
                chunk,
                index * args.batch_size,
                epoch as u64,
                args.seed,
                &sampler,
                &pool,
            );
            mix_batch(
                &mut examples,
                &sampler.augment,
                args.seed,
                epoch as u64,
                index,
            );
            let batch = batch_tensors(
                &examples,
                &config,
                settings.composers.len(),
                settings.instruments.len(),
                &train_device,
            )?;
            let factor = settings.lr_schedule.factor(epoch, index, batches);
            let rates = LearningRates {
                composer: args.lr_composer * factor,
                instruments: args.lr_instruments * factor,
            };
            let (updated, step) = train_step(networks, &mut optimizers, rates, &losses, batch);
            networks = updated;
            sum_composer += step.composer * examples.len() as f64;
            sum_instruments += step.instruments * examples.len() as f64;
            seen += examples.len();
            progress.inc(&format!(
                "loss {:.3} / {:.3}",
                sum_composer / seen as f64,
                sum_instruments / seen as f64
            ));
        }
        progress.finish();
        let train_seconds = epoch_started.elapsed().as_secs_f64();
        let scores = validate(&networks, &validation, &config, args.batch_size, &device)?;
        let metrics = EpochMetrics {
            epoch: epoch + 1,
            train_loss_composer: sum_composer / seen.max(1) as f64,
            train_loss_instruments: sum_instruments / seen.max(1) as f64,
            validation: scores,
            train_windows_per_second: (seen * config.stack) as f64 / train_seconds.max(1e-9),
            seconds: epoch_started.elapsed().as_secs_f64(),
        };
        eprintln!("{metrics}");
        history.push(metrics);
        let info = CheckpointInfo {
            format_version: checkpoint::CHECKPOINT_FORMAT_VERSION,
            epoch: epoch + 1,
            folder: checkpoint::folder_for(epoch + 1),
            config: config.clone(),
            settings: settings.clone(),
            history: history.clone(),
        };
        checkpoint::save(&args.out, &networks, &optimizers, &info)?;
        curves = curves::write_curves(&args.out, &history)?;
    }
    if curves.is_empty() && !history.is_empty() {
        curves = curves::write_curves(&args.out, &history)?; // resumed a finished run
    }
    let kept = kept_epoch(args.keep, &history).filter(|&e| e != history.len());
    if let Some(epoch) = kept {
        networks = checkpoint::load_networks(
            &args.out,
            &checkpoint::folder_for(epoch),
            &config,
            &settings,
            &train_device,
        )?;
        eprintln!("fit: keeping the networks of epoch {epoch} (best validation)");
    }
    let info = ModelInfo {
        format_version: crate::inference::MODEL_FORMAT_VERSION,
        config,
        composers: settings.composers.clone(),
        instruments: settings.instruments.clone(),
        instrument_names: settings
            .instruments
            .iter()
            .map(|&p| crate::musicnet::instruments::instrument_name(p))
            .collect(),
        label_mode: args.label_mode,
        seed: args.seed,
        epochs: history.len(),
        kept_epoch: kept,
        history: history.clone(),
        imported_from: None,
    };
    let model_files = save_trained(&args.out, &networks, &info)?;
    Ok(FitSummary {
        out: args.out.clone(),
        epochs: history.len(),
        resumed_after,
        history,
        model_files,
        curves,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Loads the validation side of `dir` (`--validation-cache`) and checks that it can validate a
/// run on `train_corpus` (from `train_dir`): the same composer and instrument classes in the
/// same order, at least one validation recording, none of them a training recording.
fn load_validation_corpus(
    dir: &std::path::Path,
    train_dir: &std::path::Path,
    train_corpus: &Corpus,
    pool: &rayon::ThreadPool,
) -> anyhow::Result<Corpus> {
    let corpus = Corpus::load_validation(dir, pool)
        .with_context(|| format!("--validation-cache {}", dir.display()))?;
    let (theirs, ours) = (&corpus.selection, &train_corpus.selection);
    if theirs.composers != ours.composers || theirs.instruments != ours.instruments {
        anyhow::bail!(
            "--validation-cache {}: its classes differ from {}'s (composers {:?} vs {:?}, \
             instruments {:?} vs {:?}); prepare both with the same selection rules",
            dir.display(),
            train_dir.display(),
            theirs.composers,
            ours.composers,
            theirs.instruments,
            ours.instruments
        );
    }
    if theirs.validation.is_empty() {
        anyhow::bail!(
            "--validation-cache {}: no validation recordings",
            dir.display()
        );
    }
    if let Some(id) = theirs.validation.iter().find(|id| ours.train.contains(id)) {
        anyhow::bail!(
            "--validation-cache {}: validation recording {id} is a training recording of {}",
            dir.display(),
            train_dir.display()
        );
    }
    Ok(corpus)
}

/// The augmentation named by `--augment`: `off`, `default`, or a JSON file.
fn augment_config(spec: &str) -> anyhow::Result<AugmentConfig> {
    match spec {
        "off" => Ok(AugmentConfig::default()),
        "default" => Ok(AugmentConfig::preset_default_on()),
        path => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--augment {path}: reading the file"))?;
            serde_json::from_str(&text).with_context(|| format!("--augment {path}: parsing"))
        }
    }
}

/// Refuses arguments that cannot work, naming the flag.
fn check_args(args: &FitArgs) -> anyhow::Result<()> {
    if args.batch_size == 0 {
        anyhow::bail!("--batch-size must be at least 1");
    }
    if args.epochs == 0 {
        anyhow::bail!("--epochs must be at least 1");
    }
    if let Some(n) = args.examples_per_epoch
        && (n == 0 || n >= MAX_EXAMPLES_PER_EPOCH)
    {
        anyhow::bail!("--examples-per-epoch must be between 1 and {MAX_EXAMPLES_PER_EPOCH}");
    }
    for (flag, rate) in [
        ("--lr-composer", args.lr_composer),
        ("--lr-instruments", args.lr_instruments),
    ] {
        if !(rate.is_finite() && rate > 0.0) {
            anyhow::bail!("{flag} must be a positive number, not {rate}");
        }
    }
    Ok(())
}

/// Fresh networks, or (with `--resume` and a checkpoint) the checkpoint's networks, optimizers
/// and history. Refuses to overwrite a checkpoint without `--resume`, and to resume with other
/// settings.
fn start_or_resume(
    args: &FitArgs,
    config: &ModelConfig,
    settings: &RunSettings,
    device: &burn::tensor::Device,
) -> anyhow::Result<(Networks, Optimizers, Vec<EpochMetrics>)> {
    let existing = checkpoint::read_info(&args.out)?;
    match (existing, args.resume) {
        (Some(info), true) => {
            if &info.config != config {
                anyhow::bail!(
                    "--resume: the checkpoint in {} was trained with another --config",
                    args.out.display()
                );
            }
            if &info.settings != settings {
                anyhow::bail!(
                    "--resume: the checkpoint in {} was trained with other settings \
                     (checkpoint: {:?}; now: {:?})",
                    args.out.display(),
                    info.settings,
                    settings
                );
            }
            let (networks, optimizers) = checkpoint::load(&args.out, &info, device)?;
            eprintln!("fit: resuming after epoch {}", info.epoch);
            Ok((networks, optimizers, info.history))
        }
        (Some(info), false) => anyhow::bail!(
            "{} already holds a checkpoint (epoch {}); pass --resume to continue it, or choose \
             another --out",
            args.out.display(),
            info.epoch
        ),
        (None, resume) => {
            if resume {
                eprintln!(
                    "fit: no checkpoint in {}, starting afresh",
                    args.out.display()
                );
            }
            let networks = checkpoint::fresh_networks(config, settings, device)?;
            Ok((networks, Optimizers::new(), Vec::new()))
        }
    }
}

/// Scores `examples` with the validation-mode copy of `networks` on `device` in batches.
/// Cost: one forward of both networks per example.
fn validate(
    networks: &Networks,
    examples: &[crate::sampler::Example],
    config: &ModelConfig,
    batch_size: usize,
    device: &burn::tensor::Device,
) -> anyhow::Result<Option<metrics::Validation>> {
    if examples.is_empty() {
        return Ok(None);
    }
    let inference = networks.valid();
    let mut scorer = Scorer::default();
    for chunk in examples.chunks(batch_size) {
        let logits = logits(&inference, chunk, config, device)?;
        for ((example, c), i) in chunk.iter().zip(&logits.composer).zip(&logits.instruments) {
            scorer.add(c, example.composer, i, &example.instruments);
        }
    }
    Ok(scorer.finish())
}
