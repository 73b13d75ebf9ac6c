//! `host-cli eval`: the evaluation protocol of DESIGN.md through the int8 path (`core-nostd`, as
//! `classify` and the firmware run it), with the same report as `trainer eval`.
//!
//! The data is read with the trainer's own reader and window drawing (`trainer::evaluation`),
//! so the windows are the ones `trainer eval` and `trainer export` score: the figures reproduce
//! the export's int8 column on the same cache and seed.

use crate::model_file::ModelBytes;
use anyhow::{Context, Result};
use std::path::PathBuf;
use trainer::evaluation::{
    DEFAULT_STACKS_PER_RECORDING, EvalSet, EvalSplit, MAX_STACKS_PER_RECORDING, ModelClasses,
    present_report, report_of,
};
use trainer::progress::Progress;
use trainer::quantize::agreement::int8_predictions;
use trainer::sampler::LabelMode;

/// Score a model on a MusicNet-layout folder (or a cache made by `trainer prepare`) with the
/// evaluation protocol: seeded stacks of every test recording, scikit-learn-style tables,
/// per-recording verdicts, `--json`, PNG plots.
#[derive(clap::Args)]
pub struct Args {
    /// A MusicNet-layout folder (`musicnet_metadata.csv`, `{train,test}_{data,labels}/`), or a
    /// cache folder written by `trainer prepare` (has `index.json`).
    data: PathBuf,
    /// Model file (default: the bundled model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Where a MusicNet folder is decoded to 8 kHz first (reused when it is there already);
    /// default: `<DATA>-cache` beside it.
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Which recordings to score.
    #[arg(long, value_enum, default_value_t = EvalSplit::Test)]
    split: EvalSplit,
    /// Stacks drawn per recording (the protocol's 100).
    #[arg(long, default_value_t = DEFAULT_STACKS_PER_RECORDING)]
    stacks: usize,
    /// Seed of the evaluation windows (`trainer eval`/`export` use 0 by default too).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Instrument labels: those sounding in the windows, or the whole recording's.
    #[arg(long, value_enum, default_value_t = LabelMode::Window)]
    label_mode: LabelMode,
    /// Instrument decision threshold on the probabilities.
    #[arg(long, default_value_t = 0.5)]
    threshold: f32,
    /// Print the report as JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Also write report.json and the PNG plots into this folder.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `host-cli eval`.
pub fn run(args: &Args) -> Result<()> {
    anyhow::ensure!(
        (1..=MAX_STACKS_PER_RECORDING).contains(&args.stacks),
        "--stacks must be 1..={MAX_STACKS_PER_RECORDING}"
    );
    let bytes = ModelBytes::load(args.model.as_deref())?;
    let model = bytes.parse()?;
    let classes = ModelClasses::from_names(model.composers(), model.instruments())
        .with_context(|| format!("{}: labels", bytes.name()))?;
    let cache = if args.data.join("index.json").is_file() {
        args.data.clone()
    } else {
        let cache = args.cache.clone().unwrap_or_else(|| {
            let mut name = args.data.file_name().unwrap_or_default().to_os_string();
            name.push("-cache");
            args.data.with_file_name(name)
        });
        eprintln!(
            "decoding {} to 8 kHz in {}",
            args.data.display(),
            cache.display()
        );
        trainer::prepare::run(&trainer::prepare::PrepareArgs {
            data: args.data.clone(),
            out: cache.clone(),
            lenient: false,
            force: false,
            jobs: None,
            rules: Default::default(),
        })?;
        cache
    };
    let set = EvalSet::load(&cache, args.split, &classes)?;
    eprintln!(
        "evaluating {} (int8) on {} {:?} recordings ({:.1} min), {} stacks each",
        bytes.name(),
        set.len(),
        args.split,
        set.seconds() / 60.0,
        args.stacks
    );
    let progress = Progress::new("eval", set.len() as u64);
    let mut predictions = Vec::with_capacity(set.len() * args.stacks);
    for (n, id) in set.recording_ids().into_iter().enumerate() {
        let examples = set.examples_of(n, args.stacks, model.stack(), args.label_mode, args.seed);
        predictions.extend(int8_predictions(&model, &examples)?);
        progress.inc(&id.to_string());
    }
    progress.finish();
    let report = report_of(&classes, &predictions, args.threshold)?;
    present_report(&report, args.json, args.out.as_deref())
}
