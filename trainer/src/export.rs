//! `trainer export`: a trained Burn model → the int8 model file (`core_nostd::model`) and the
//! float-vs-int8 agreement report on held-out windows.
//!
//! Steps: read both networks' weights into [`FloatNetwork`]s with BatchNorm folded (checked
//! against Burn's own forward pass on a real example), calibrate activation ranges on training
//! windows, quantize, encode and write the file atomically, then score the float model (Burn)
//! and the int8 model (`core-nostd`, the path the CLI and firmware run) on the same evaluation
//! examples and compare.

use crate::device::DeviceChoice;
use crate::evaluate::float_predictions;
use crate::evaluation::{
    DEFAULT_STACKS_PER_RECORDING, EvalSet, EvalSplit, MAX_STACKS_PER_RECORDING, ModelClasses,
    report_of, write_report,
};
use crate::inference::TrainedModel;
use crate::model::{Classifier, INPUT_SCALE, ModelConfig};
use crate::progress::Progress;
use crate::quantize::agreement::{Agreement, int8_predictions};
use crate::quantize::calibrate::{ActivationRanges, RangeMethod, calibrate};
use crate::quantize::float::{BatchNormParams, FloatConv, FloatNetwork};
use crate::quantize::int8::{encode_model, quantize};
use anyhow::Context;
use burn::tensor::Tensor;
use core_nostd::model::Model;
use serde::Serialize;
use std::path::PathBuf;

/// Options of `trainer export`.
#[derive(Clone, Debug, clap::Args)]
pub struct ExportArgs {
    /// A model folder written by `trainer fit`.
    pub model: PathBuf,
    /// The prepared cache the model was trained on: training windows calibrate the ranges, test
    /// windows measure the agreement.
    pub cache: PathBuf,
    /// The model file to write.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Range method: `minmax` or `percentile:P` (e.g. `percentile:99.99`).
    #[arg(long, default_value = "minmax")]
    pub calibration: RangeMethod,
    /// Training stacks to calibrate on.
    #[arg(long, default_value_t = 64)]
    pub calibration_stacks: usize,
    /// Recordings the agreement is measured on.
    #[arg(long, value_enum, default_value_t = EvalSplit::Test)]
    pub split: EvalSplit,
    /// Stacks per recording for the agreement report (0: skip the report).
    #[arg(long, default_value_t = DEFAULT_STACKS_PER_RECORDING)]
    pub stacks: usize,
    /// Seed of the calibration and evaluation windows.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Instrument decision threshold.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f32,
    /// Print the agreement as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also write agreement.json, and the int8 model's report.json and plots, into this folder.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

/// What `trainer export` measured.
#[derive(Clone, Debug, Serialize)]
pub struct ExportSummary {
    /// The model file written.
    pub file: PathBuf,
    /// Its size in bytes.
    pub file_bytes: usize,
    /// The range method used.
    pub calibration: String,
    /// The calibrated ranges of the composer network.
    pub composer_ranges: ActivationRanges,
    /// The calibrated ranges of the instrument network.
    pub instrument_ranges: ActivationRanges,
    /// Largest difference between Burn's logits and the folded float network's on a check
    /// example (BatchNorm folding and weight extraction are right when this is ~1e-5).
    pub folding_error: f32,
    /// Float vs int8 on the test split (absent with `--stacks 0`).
    pub agreement: Option<Agreement>,
}

/// All values of a tensor, in row-major order. Cost: one read-back.
fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data().iter::<f32>().collect()
}

/// A trained network as plain arrays with BatchNorm folded. Cost: one read-back of the weights.
#[must_use]
pub fn float_network(network: &Classifier, config: &ModelConfig) -> FloatNetwork {
    let convs = network
        .blocks
        .iter()
        .zip(&config.layers)
        .map(|(block, layer)| {
            let [out_channels, in_channels, kh, kw] = block.conv.weight.val().dims();
            let mut conv = FloatConv {
                in_channels,
                out_channels,
                kernel: [kh, kw],
                stride: layer.stride,
                weight: values(block.conv.weight.val()),
                bias: block
                    .conv
                    .bias
                    .as_ref()
                    .map_or_else(|| vec![0.0; out_channels], |b| values(b.val())),
                pool: layer.pool,
            };
            conv.fold_batch_norm(&BatchNormParams {
                gamma: values(block.norm.gamma.val()),
                beta: values(block.norm.beta.val()),
                mean: values(block.norm.running_mean.value()),
                variance: values(block.norm.running_var.value()),
                epsilon: block.norm.epsilon,
            });
            conv
        })
        .collect();
    // Burn's linear weight is [in, out]; the float network wants [out][in].
    let [inputs, classes] = network.head.weight.val().dims();
    let head_weight = values(network.head.weight.val().transpose());
    debug_assert_eq!(head_weight.len(), inputs * classes);
    let head_bias = network
        .head
        .bias
        .as_ref()
        .map_or_else(|| vec![0.0; classes], |b| values(b.val()));
    FloatNetwork {
        input: config.input_shape(),
        convs,
        head_weight,
        head_bias,
    }
}

/// Feature codes → the float input (`code × INPUT_SCALE`).
fn float_input(codes: &[i8]) -> Vec<f32> {
    codes.iter().map(|&c| f32::from(c) * INPUT_SCALE).collect()
}

/// Runs `trainer export`. Cost: calibration (one float forward per stack and network, about
/// 0.1 s each), then the agreement evaluation (Burn and core on every test stack).
pub fn run(args: &ExportArgs) -> anyhow::Result<ExportSummary> {
    anyhow::ensure!(
        args.calibration_stacks > 0,
        "--calibration-stacks must be at least 1"
    );
    anyhow::ensure!(
        args.stacks <= MAX_STACKS_PER_RECORDING,
        "--stacks must be at most {MAX_STACKS_PER_RECORDING}"
    );
    let device = crate::device::open(DeviceChoice::Cpu)?;
    let model = TrainedModel::load(&args.model, &device)?;
    let info = &model.info;
    let classes = ModelClasses {
        composers: info.composers.clone(),
        instruments: info.instruments.clone(),
    };
    let composer = float_network(&model.networks.composer, &info.config);
    let instrument = float_network(&model.networks.instruments, &info.config);
    composer.check()?;
    instrument.check()?;

    // Calibration windows: stacks spread over the training recordings.
    let train = EvalSet::load(&args.cache, EvalSplit::Train, &classes)?;
    let per_recording = args
        .calibration_stacks
        .div_ceil(train.len())
        .min(MAX_STACKS_PER_RECORDING);
    let mut calibration_examples = Vec::new();
    for n in 0..train.len() {
        let mut drawn = train.examples_of(
            n,
            per_recording,
            info.config.stack,
            info.label_mode,
            args.seed,
        );
        calibration_examples.append(&mut drawn);
    }
    // Keep an even spread of exactly the number asked for (or all, when fewer were drawn).
    let drawn = calibration_examples.len();
    let wanted = args.calibration_stacks.min(drawn);
    let calibration_examples: Vec<_> = (0..wanted)
        .map(|k| calibration_examples[k * drawn / wanted].clone())
        .collect();
    let inputs: Vec<Vec<f32>> = calibration_examples
        .iter()
        .map(|e| float_input(&e.features))
        .collect();
    eprintln!(
        "calibrating ({}) on {} training stacks of {} recordings",
        args.calibration,
        inputs.len(),
        train.len()
    );

    // The folded float network must reproduce Burn's logits.
    let check = model.predict(&calibration_examples[..1])?;
    let folded = composer.forward(&inputs[0]);
    let folding_error = check.composer_logits[0]
        .iter()
        .zip(&folded)
        .fold(0.0_f32, |m, (a, b)| m.max((a - b).abs()));
    anyhow::ensure!(
        folding_error < 1e-2,
        "the extracted float network differs from Burn's by {folding_error} in a logit"
    );

    let (composer_ranges, instrument_ranges) = rayon::join(
        || calibrate(&composer, &inputs, args.calibration),
        || calibrate(&instrument, &inputs, args.calibration),
    );
    let q_composer = quantize(&composer, &composer_ranges)?;
    let q_instrument = quantize(&instrument, &instrument_ranges)?;
    let bytes = encode_model(
        &classes.composers,
        &info.instrument_names,
        info.config.stack,
        &q_composer,
        &q_instrument,
    )?;
    crate::atomic::write_atomically(&args.out, |w| w.write_all(&bytes))
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("wrote {} ({} bytes)", args.out.display(), bytes.len());

    let agreement = if args.stacks == 0 {
        None
    } else {
        Some(agreement(args, &model, &classes, &bytes)?)
    };
    let summary = ExportSummary {
        file: args.out.clone(),
        file_bytes: bytes.len(),
        calibration: args.calibration.to_string(),
        composer_ranges,
        instrument_ranges,
        folding_error,
        agreement,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else if let Some(agreement) = &summary.agreement {
        println!("{agreement}");
    }
    Ok(summary)
}

/// Scores the float and int8 models on the same test stacks and compares them; writes the
/// reports when `--report` is given.
fn agreement(
    args: &ExportArgs,
    model: &TrainedModel,
    classes: &ModelClasses,
    bytes: &[u8],
) -> anyhow::Result<Agreement> {
    let parsed = Model::parse(bytes).map_err(|e| anyhow::anyhow!("{}: {e}", args.out.display()))?;
    let test = EvalSet::load(&args.cache, args.split, classes)?;
    let info = &model.info;
    let float = float_predictions(model, &test, args.stacks, args.seed, 32)?;
    let progress = Progress::new("int8", test.len() as u64);
    let mut int8 = Vec::with_capacity(float.len());
    for (n, id) in test.recording_ids().into_iter().enumerate() {
        let examples = test.examples_of(
            n,
            args.stacks,
            info.config.stack,
            info.label_mode,
            args.seed,
        );
        int8.extend(int8_predictions(&parsed, &examples)?);
        progress.inc(&id.to_string());
    }
    progress.finish();
    let float_report = report_of(classes, &float, args.threshold)?;
    let int8_report = report_of(classes, &int8, args.threshold)?;
    let agreement = Agreement::compare(&float, &int8, &float_report, &int8_report, args.threshold);
    if let Some(dir) = &args.report {
        let json = dir.join("agreement.json");
        crate::atomic::write_atomically(&json, |w| {
            serde_json::to_writer_pretty(&mut *w, &agreement).map_err(std::io::Error::other)?;
            writeln!(w)
        })
        .with_context(|| format!("writing {}", json.display()))?;
        for path in write_report(&int8_report, dir)? {
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(agreement)
}
