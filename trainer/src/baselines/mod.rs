//! `trainer baselines`: the reference's baselines, measured under the CNN's evaluation protocol
//! and compared with it in one table.
//!
//! - **Online linear models** ([`online`], [`sgd`]): SGD with scikit-learn's `SGDClassifier`
//!   semantics (L2 α = 1e-6, η₀ = 1e-5, constant rate by default), trained one pass per epoch on
//!   freshly drawn 5 s windows; composer one-vs-rest with perceptron, hinge or modified Huber
//!   loss, instruments one binary model each with perceptron, log or modified Huber loss; on
//!   raw 8 kHz samples and on the spectrogram codes ([`data::InputKind`]), optionally
//!   standardised ([`scaler`]).
//! - **Offline models** ([`offline`]) on the first N windows of epoch 0 (a memory bound of
//!   4·N·D bytes, 160 MB for the default N = 1,000): KNN ([`knn`]), AdaBoost-SAMME over logistic
//!   regression ([`adaboost`], linfa-logistic), and both after PCA keeping 75 % of the variance
//!   ([`pca`], linfa-linalg's eigensolver), with learning curves.
//! - **The comparison** ([`protocol`], [`table`], [`plots`]): every model scored on the
//!   protocol's seeded 4-window stacks of every test recording (a stack's scores are the mean of
//!   its windows' scores), the CNN's row read from a `trainer eval` JSON report; a table, JSON,
//!   and PNGs.
//! - [`export`]: the exact windows as `.npy` for `bench/sklearn_baselines.py`.
//!
//! Crates do what they do well (linfa-logistic's L-BFGS, linfa-linalg's `eigh`, ndarray's
//! matrix products, npyz); hand-written, because no crate offers them: the SGD learner, the
//! AdaBoost loop, the standardiser, the PCA glue (variance cutoff over the full spectrum) and the
//! matrix-product KNN search (tested against linfa-nn's).

pub mod adaboost;
pub mod data;
pub mod export;
pub mod knn;
pub mod models;
pub mod offline;
pub mod online;
pub mod pca;
pub mod plots;
pub mod protocol;
pub mod scaler;
pub mod sgd;
pub mod table;

use crate::evaluation::{
    DEFAULT_STACKS_PER_RECORDING, EvalSet, EvalSplit, MAX_STACKS_PER_RECORDING,
};
use crate::sampler::LabelMode;
use adaboost::AdaBoostConfig;
use anyhow::Context;
use data::{Corpus, InputKind};
use export::Exporter;
use models::Baseline;
use offline::OfflineConfig;
use online::{OnlineConfig, WindowSet};
use protocol::{InputGroup, Protocol};
use scaler::Standardizer;
use sgd::{Loss, Schedule, SgdConfig};
use std::path::PathBuf;
use table::{Comparison, Row};

/// Options of `trainer baselines`.
#[derive(Clone, Debug, clap::Args)]
pub struct BaselinesArgs {
    /// A cache folder written by `trainer prepare` (its selection says what to train and test).
    pub cache: PathBuf,
    /// Write `baselines.json` and the PNG plots into this folder.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Print the comparison as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Inputs of the SGD models.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [InputKind::Raw, InputKind::Spectrogram])]
    pub inputs: Vec<InputKind>,
    /// Inputs of the offline models (each must also be in --inputs; empty: none).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [InputKind::Spectrogram])]
    pub offline_inputs: Vec<InputKind>,
    /// SGD epochs, each over freshly drawn windows.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Windows drawn per epoch.
    #[arg(long, default_value_t = 2000)]
    pub windows_per_epoch: usize,
    /// SGD L2 strength α.
    #[arg(long, default_value_t = 1e-6)]
    pub alpha: f64,
    /// SGD initial (constant) learning rate η₀.
    #[arg(long, default_value_t = 1e-5)]
    pub eta0: f64,
    /// SGD learning-rate schedule.
    #[arg(long, value_enum, default_value_t = Schedule::Constant)]
    pub schedule: Schedule,
    /// Exponent of the invscaling schedule.
    #[arg(long, default_value_t = 0.5)]
    pub power_t: f64,
    /// Do not standardise features (by default: per-feature mean and deviation of epoch 0).
    #[arg(long)]
    pub no_standardize: bool,
    /// Windows of the offline sample (the first of epoch 0; at most --windows-per-epoch).
    /// Memory: 4 bytes × 40,000 features per window (160 MB per 1,000).
    #[arg(long, default_value_t = 1000)]
    pub offline_windows: usize,
    /// Neighbours of KNN.
    #[arg(long, default_value_t = 5)]
    pub knn_k: usize,
    /// Variance share PCA keeps.
    #[arg(long, default_value_t = 0.75)]
    pub pca_variance: f64,
    /// AdaBoost rounds at most. Each round fits 1 + M logistic models on the whole sample
    /// (about 8 s each for 1,000 windows of 40,000 features), hence the small default.
    #[arg(long, default_value_t = 5)]
    pub boost_rounds: usize,
    /// L-BFGS iterations at most per logistic fit (scikit-learn's default is 100).
    #[arg(long, default_value_t = 20)]
    pub logistic_iterations: u64,
    /// Points of each learning curve (from 10 % to 100 % of the offline sample).
    #[arg(long, default_value_t = 5)]
    pub curve_points: usize,
    /// Windows drawn (once) from every validation recording for the curves.
    #[arg(long, default_value_t = 20)]
    pub validation_windows: usize,
    /// Stacks per test recording (the protocol's 100).
    #[arg(long, default_value_t = DEFAULT_STACKS_PER_RECORDING)]
    pub stacks: usize,
    /// Seed of the test windows (as `trainer eval --seed`).
    #[arg(long, default_value_t = 0)]
    pub eval_seed: u64,
    /// Seed of training windows and AdaBoost's resampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Instrument decision threshold.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f32,
    /// Instrument labels of training windows and test stacks. Default: the whole recording's
    /// (the reference's), the only mode host_common's report accepts today (it requires every
    /// stack of a recording to carry the same truth).
    #[arg(long, value_enum, default_value_t = LabelMode::Recording)]
    pub label_mode: LabelMode,
    /// The CNN's report (`trainer eval --json` output or its `--out` folder's report.json),
    /// for the table's CNN row.
    #[arg(long)]
    pub cnn_report: Option<PathBuf>,
    /// The CNN's training time in seconds, for its row.
    #[arg(long)]
    pub cnn_train_seconds: Option<f64>,
    /// The CNN's model size in bytes (e.g. its exported model file), for its row.
    #[arg(long)]
    pub cnn_size_bytes: Option<u64>,
    /// Export the exact windows and labels as .npy into this folder (for
    /// bench/sklearn_baselines.py; about 1-2 bytes per feature per window).
    #[arg(long)]
    pub export_npy: Option<PathBuf>,
}

/// Checks the arguments before any data is read.
fn check(args: &BaselinesArgs) -> anyhow::Result<()> {
    anyhow::ensure!(!args.inputs.is_empty(), "--inputs names no input");
    for input in &args.offline_inputs {
        anyhow::ensure!(
            args.inputs.contains(input),
            "--offline-inputs {} is not in --inputs",
            input.name()
        );
    }
    anyhow::ensure!(args.epochs >= 1, "--epochs must be at least 1");
    anyhow::ensure!(
        args.windows_per_epoch >= 2,
        "--windows-per-epoch must be at least 2"
    );
    anyhow::ensure!(
        args.offline_windows >= 2 && args.offline_windows <= args.windows_per_epoch,
        "--offline-windows must be 2..=--windows-per-epoch ({})",
        args.windows_per_epoch
    );
    anyhow::ensure!(
        (1..=MAX_STACKS_PER_RECORDING).contains(&args.stacks),
        "--stacks must be 1..={MAX_STACKS_PER_RECORDING}"
    );
    anyhow::ensure!(
        (1..=MAX_STACKS_PER_RECORDING).contains(&args.validation_windows),
        "--validation-windows must be 1..={MAX_STACKS_PER_RECORDING}"
    );
    anyhow::ensure!(
        args.alpha >= 0.0 && args.alpha.is_finite(),
        "--alpha must be a finite number ≥ 0"
    );
    anyhow::ensure!(
        args.eta0 > 0.0 && args.eta0.is_finite(),
        "--eta0 must be a finite number > 0"
    );
    anyhow::ensure!(
        args.schedule != Schedule::Optimal || args.alpha > 0.0,
        "--schedule optimal needs --alpha > 0"
    );
    anyhow::ensure!(
        args.pca_variance > 0.0 && args.pca_variance < 1.0,
        "--pca-variance must be in (0, 1)"
    );
    anyhow::ensure!(args.knn_k >= 1, "--knn-k must be at least 1");
    anyhow::ensure!(args.threshold.is_finite(), "--threshold must be a number");
    Ok(())
}

/// Runs `trainer baselines`: loads the cache, trains the SGD models on every input and the
/// offline models on theirs, scores all on the protocol, adds the CNN's row, prints the table
/// (or JSON) and writes `baselines.json` and the PNGs into `--out`. Errors name the argument or
/// file at fault. Cost: see the module docs; minutes on the corpus with the defaults.
pub fn run(args: &BaselinesArgs) -> anyhow::Result<Comparison> {
    check(args)?;
    let exporter = args.export_npy.as_deref().map(Exporter::new).transpose()?;
    let corpus = Corpus::load(&args.cache)?;
    let classes = protocol::classes_of(&corpus);
    let test = EvalSet::load(&args.cache, EvalSplit::Test, &classes)?;
    let validation = EvalSet::load(&args.cache, EvalSplit::Validation, &classes)
        .context("the curves need validation recordings")?;
    let val_examples: Vec<_> = (0..validation.len())
        .flat_map(|n| {
            validation.examples_of(
                n,
                args.validation_windows,
                1,
                args.label_mode,
                args.eval_seed,
            )
        })
        .collect();
    eprintln!(
        "baselines on {}: {} test and {} validation recordings, {} epochs × {} windows",
        args.cache.display(),
        test.len(),
        validation.len(),
        args.epochs,
        args.windows_per_epoch
    );
    let online_config = OnlineConfig {
        epochs: args.epochs,
        windows_per_epoch: args.windows_per_epoch,
        seed: args.seed,
        label_mode: args.label_mode,
        standardize: !args.no_standardize,
        sgd: SgdConfig {
            loss: Loss::Hinge,
            alpha: args.alpha,
            eta0: args.eta0,
            schedule: args.schedule,
            power_t: args.power_t,
        },
    };
    let offline_config = OfflineConfig {
        k: args.knn_k,
        pca_variance: args.pca_variance,
        boost: AdaBoostConfig {
            rounds: args.boost_rounds,
            iterations: args.logistic_iterations,
            alpha: 1.0,
        },
        curve_points: args.curve_points,
        seed: args.seed,
    };
    let mut groups: Vec<(InputKind, Standardizer, Vec<Baseline>)> = Vec::new();
    let mut sgd_curves = Vec::new();
    let mut learning_curves = Vec::new();
    let mut pca_components = Vec::new();
    let mut draw_seconds = Vec::new();
    let mut inputs = args.inputs.clone();
    inputs.sort_unstable();
    inputs.dedup();
    for &input in &inputs {
        let mut val = WindowSet::from_examples(&corpus, &val_examples, input);
        if let Some(exporter) = &exporter {
            exporter.features(input, "validation", &val.x)?;
            exporter.labels("validation", &val.composer, &val.instruments)?;
        }
        let run = online::train_online(
            &corpus,
            input,
            &online_config,
            &val,
            args.offline_windows,
            exporter.as_ref(),
        )?;
        sgd_curves.extend(run.curves);
        draw_seconds.push((input.name().to_string(), run.draw_seconds));
        let mut baselines = run.baselines;
        if args.offline_inputs.contains(&input) {
            run.scaler.apply(&mut val.x);
            let offline = offline::fit_offline(
                input,
                &run.offline_sample,
                &val,
                classes.composers.len(),
                &offline_config,
            )?;
            pca_components.push((
                input.name().to_string(),
                offline.pca_components,
                offline.pca_explained,
            ));
            learning_curves.push((input.name().to_string(), offline.curves));
            baselines.extend(offline.baselines);
        }
        groups.push((input, run.scaler, baselines));
    }
    let protocol = Protocol {
        stacks: args.stacks,
        windows: 4,
        seed: args.eval_seed,
        label_mode: args.label_mode,
        threshold: args.threshold,
    };
    let input_groups: Vec<InputGroup<'_>> = groups
        .iter()
        .map(|(input, scaler, baselines)| InputGroup {
            input: *input,
            scaler,
            baselines,
        })
        .collect();
    let reports = protocol::evaluate(&corpus, &test, &input_groups, &protocol, exporter.as_ref())?;
    let mut rows: Vec<Row> = groups
        .iter()
        .flat_map(|(_, _, b)| b)
        .zip(&reports)
        .map(|(b, r)| Row::of(b, r))
        .collect();
    let cnn_note = match &args.cnn_report {
        Some(path) => {
            let row = Row::cnn(path, args.cnn_train_seconds, args.cnn_size_bytes)?;
            let expected = rows.first().map_or(0, |r| r.examples);
            let note = (row.examples != expected).then(|| {
                format!(
                    "the CNN report scores {} stacks, the baselines {expected}: check that it \
                     used the same cache, --stacks and --seed",
                    row.examples
                )
            });
            rows.push(row);
            note
        }
        None => Some("no CNN row: pass --cnn-report with a `trainer eval --json` report".into()),
    };
    let comparison = Comparison {
        settings: serde_json::json!({
            "cache": args.cache,
            "composers": classes.composers,
            "instruments": classes.instrument_names(),
            "online": online_config,
            "offline": offline_config,
            "offline_windows": args.offline_windows,
            "offline_inputs": args.offline_inputs,
            "validation_windows_per_recording": args.validation_windows,
            "validation_recordings": validation.len(),
        }),
        protocol,
        recordings: test.len(),
        rows,
        cnn_note,
        pca_components,
        learning_curves,
        sgd_curves,
        draw_seconds,
    };
    if let Some(exporter) = &exporter {
        exporter.json("baselines.json", &comparison)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&comparison)?);
    } else {
        print!("{comparison}");
    }
    if let Some(out) = &args.out {
        for path in write_outputs(&comparison, &classes.instrument_names(), out)? {
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(comparison)
}

/// Writes `baselines.json` and the plots into `out`; returns the paths. Every file is written
/// atomically.
pub fn write_outputs(
    comparison: &Comparison,
    instruments: &[String],
    out: &std::path::Path,
) -> anyhow::Result<Vec<PathBuf>> {
    let json = out.join("baselines.json");
    crate::atomic::write_atomically(&json, |w| {
        serde_json::to_writer_pretty(&mut *w, comparison).map_err(std::io::Error::other)?;
        writeln!(w)
    })
    .with_context(|| format!("writing {}", json.display()))?;
    let mut written = vec![json];
    let bars = out.join("comparison.png");
    plots::comparison(&comparison.rows, &bars)?;
    written.push(bars);
    for (input, curves) in &comparison.learning_curves {
        let path = out.join(format!("learning_curves_{input}.png"));
        plots::learning_curves(input, curves, &path)?;
        written.push(path);
    }
    let mut inputs: Vec<InputKind> = comparison.sgd_curves.iter().map(|c| c.input).collect();
    inputs.dedup();
    for input in inputs {
        let curves: Vec<_> = comparison
            .sgd_curves
            .iter()
            .filter(|c| c.input == input)
            .collect();
        let path = out.join(format!("sgd_instruments_{}.png", input.name()));
        plots::sgd_instrument_curves(input.name(), &curves, instruments, &path)?;
        written.push(path);
    }
    Ok(written)
}
