//! `trainer eval`: a trained (float) model scored with the evaluation protocol
//! ([`crate::evaluation`]) and reported with the shared report (`host_common::report`): terminal
//! tables in scikit-learn's form, `--json`, and PNG plots (confusion matrix, ROC curves).

use crate::device::DeviceChoice;
use crate::evaluation::{
    DEFAULT_STACKS_PER_RECORDING, EvalSet, EvalSplit, MAX_STACKS_PER_RECORDING, ModelClasses,
    prediction, present_report, report_of,
};
use crate::inference::TrainedModel;
use crate::progress::Progress;
use host_common::report::{EvalReport, Prediction};
use std::path::PathBuf;

/// Options of `trainer eval`.
#[derive(Clone, Debug, clap::Args)]
pub struct EvalArgs {
    /// A model folder written by `trainer fit` (model.json, composer.bpk, instruments.bpk).
    pub model: PathBuf,
    /// A cache folder written by `trainer prepare` (may come from another SoundFont or from
    /// MusicNet: classes are matched by name).
    pub cache: PathBuf,
    /// Which recordings to score.
    #[arg(long, value_enum, default_value_t = EvalSplit::Test)]
    pub split: EvalSplit,
    /// Stacks drawn per recording (the protocol's 100).
    #[arg(long, default_value_t = DEFAULT_STACKS_PER_RECORDING)]
    pub stacks: usize,
    /// Seed of the evaluation windows.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Instrument decision threshold on the sigmoid output.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f32,
    /// Examples per forward pass.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Where the networks run.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
    /// Print the report as JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also write report.json and the PNG plots into this folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Scores `model` on every recording of `set` with the protocol and returns one prediction per
/// example. Cost: `set.len() × stacks` examples through the front end and both networks.
pub fn float_predictions(
    model: &TrainedModel,
    set: &EvalSet,
    stacks: usize,
    seed: u64,
    batch_size: usize,
) -> anyhow::Result<Vec<Prediction>> {
    let info = &model.info;
    let progress = Progress::new("eval", set.len() as u64);
    let mut predictions = Vec::with_capacity(set.len() * stacks);
    for (n, id) in set.recording_ids().into_iter().enumerate() {
        let examples = set.examples_of(n, stacks, info.config.stack, info.label_mode, seed);
        for batch in examples.chunks(batch_size.max(1)) {
            let out = model.predict(batch)?;
            for ((example, composer), instruments) in
                batch.iter().zip(out.composer).zip(out.instruments)
            {
                predictions.push(prediction(example, composer, instruments));
            }
        }
        progress.inc(&id.to_string());
    }
    progress.finish();
    Ok(predictions)
}

/// Runs `trainer eval`: loads the model and the split, scores it, prints the report (tables or
/// JSON) and writes `report.json` and the plots when `--out` is given. Returns the report.
pub fn run(args: &EvalArgs) -> anyhow::Result<EvalReport> {
    anyhow::ensure!(
        (1..=MAX_STACKS_PER_RECORDING).contains(&args.stacks),
        "--stacks must be 1..={MAX_STACKS_PER_RECORDING}"
    );
    anyhow::ensure!(args.threshold.is_finite(), "--threshold must be a number");
    let device = crate::device::open(args.device)?;
    let model = TrainedModel::load(&args.model, &device)?;
    let classes = ModelClasses {
        composers: model.info.composers.clone(),
        instruments: model.info.instruments.clone(),
    };
    let set = EvalSet::load(&args.cache, args.split, &classes)?;
    eprintln!(
        "evaluating {} on {} {:?} recordings of {} ({:.1} min), {} stacks each",
        args.model.display(),
        set.len(),
        args.split,
        args.cache.display(),
        set.seconds() / 60.0,
        args.stacks
    );
    let predictions = float_predictions(&model, &set, args.stacks, args.seed, args.batch_size)?;
    let report = report_of(&classes, &predictions, args.threshold)?;
    present_report(&report, args.json, args.out.as_deref())?;
    Ok(report)
}
