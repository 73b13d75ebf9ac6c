//! The online linear baselines: three pairs of SGD models (composer loss / instrument loss:
//! perceptron / perceptron, hinge / log, modified Huber / modified Huber, the reference's
//! losses) trained on freshly drawn single windows every epoch, one `partial_fit` pass per
//! epoch in draw order, and scored on the validation windows after every epoch (composer
//! accuracy, and accuracy of every instrument's binary model: the reference's figure 13).
//!
//! The standardiser (when on) is fitted on epoch 0's windows before any training and then
//! applied to every window; the first `offline_windows` standardised windows of epoch 0 are
//! handed back as the offline models' sample, so both families see the same data.

use super::data::{Corpus, InputKind};
use super::export::Exporter;
use super::models::{Baseline, Classifier, sgd_scores};
use super::scaler::Standardizer;
use super::sgd::{LinearSgd, Loss, SgdConfig};
use crate::progress::Progress;
use crate::sampler::{Example, LabelMode};
use ndarray::{Array2, s};
use std::time::Instant;

/// The reference's loss pairs: (composer loss, instrument loss).
pub const LOSS_PAIRS: [(Loss, Loss); 3] = [
    (Loss::Perceptron, Loss::Perceptron),
    (Loss::Hinge, Loss::Log),
    (Loss::ModifiedHuber, Loss::ModifiedHuber),
];

/// Settings of the online run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct OnlineConfig {
    /// Passes, each over freshly drawn windows.
    pub epochs: usize,
    /// Windows drawn per epoch.
    pub windows_per_epoch: usize,
    /// Seed of the window draws.
    pub seed: u64,
    /// Instrument labels of a window.
    pub label_mode: LabelMode,
    /// Standardise features (fitted on epoch 0).
    pub standardize: bool,
    /// SGD settings; the loss field is replaced by each pair's losses.
    pub sgd: SgdConfig,
}

/// Labelled windows as rows.
pub struct WindowSet {
    /// One row per window.
    pub x: Array2<f32>,
    /// Composer class per row.
    pub composer: Vec<usize>,
    /// Instrument flags per row.
    pub instruments: Vec<Vec<bool>>,
}

impl WindowSet {
    /// The rows of single-window `examples` in `input`'s features, with their labels.
    #[must_use]
    pub fn from_examples(corpus: &Corpus, examples: &[Example], input: InputKind) -> Self {
        Self {
            x: corpus.rows(examples, input),
            composer: examples.iter().map(|e| e.composer).collect(),
            instruments: examples.iter().map(|e| e.instruments.clone()).collect(),
        }
    }
}

/// Validation scores of one SGD pair after one epoch.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EpochScores {
    /// Epoch (1-based: after that many passes).
    pub epoch: usize,
    /// Composer accuracy on the validation windows.
    pub composer_accuracy: f64,
    /// Accuracy of each instrument's binary model on the validation windows.
    pub instrument_accuracy: Vec<f64>,
}

/// The per-epoch validation history of one SGD pair.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SgdCurve {
    /// The pair's table name.
    pub model: String,
    /// The input.
    pub input: InputKind,
    /// One entry per epoch.
    pub epochs: Vec<EpochScores>,
}

/// What an online run produces.
pub struct OnlineRun {
    /// The fitted standardiser (identity when off).
    pub scaler: Standardizer,
    /// One baseline per loss pair.
    pub baselines: Vec<Baseline>,
    /// Their validation histories.
    pub curves: Vec<SgdCurve>,
    /// The offline sample: the first standardised windows of epoch 0.
    pub offline_sample: WindowSet,
    /// Seconds spent drawing windows (front end included), shared by all pairs.
    pub draw_seconds: f64,
}

/// Trains the SGD pairs on `input` (see the module doc). `validation` holds unstandardised
/// validation windows. Errors only when an export fails. Cost: per epoch, drawing W windows
/// (about 0.25 ms each) and 4·D·W·(K + M) flops per pair; memory 4·D·W bytes.
pub fn train_online(
    corpus: &Corpus,
    input: InputKind,
    config: &OnlineConfig,
    validation: &WindowSet,
    offline_windows: usize,
    exporter: Option<&Exporter>,
) -> anyhow::Result<OnlineRun> {
    let (k, m) = (
        corpus.selection.composers.len(),
        corpus.selection.instruments.len(),
    );
    let d = input.features();
    let mut pairs: Vec<(LinearSgd, LinearSgd, f64)> = LOSS_PAIRS
        .iter()
        .map(|&(cl, il)| {
            (
                LinearSgd::new(
                    SgdConfig {
                        loss: cl,
                        ..config.sgd
                    },
                    k,
                    d,
                ),
                LinearSgd::new(
                    SgdConfig {
                        loss: il,
                        ..config.sgd
                    },
                    m,
                    d,
                ),
                0.0,
            )
        })
        .collect();
    let mut curves: Vec<SgdCurve> = LOSS_PAIRS
        .iter()
        .map(|&pair| SgdCurve {
            model: pair_name(pair),
            input,
            epochs: Vec::new(),
        })
        .collect();
    let mut scaler = Standardizer::identity(d);
    let mut val_x = validation.x.clone();
    let mut offline_sample = None;
    let mut draw_seconds = 0.0;
    let progress = Progress::new(&format!("sgd {}", input.name()), config.epochs as u64);
    for epoch in 0..config.epochs {
        let started = Instant::now();
        let examples = corpus.draw_epoch(
            epoch as u64,
            config.windows_per_epoch,
            config.seed,
            config.label_mode,
        );
        let mut batch = WindowSet::from_examples(corpus, &examples, input);
        draw_seconds += started.elapsed().as_secs_f64();
        if let Some(exporter) = exporter {
            let stem = format!("train_e{epoch}");
            exporter.features(input, &stem, &batch.x)?;
            exporter.labels(&stem, &batch.composer, &batch.instruments)?;
        }
        if epoch == 0 {
            let started = Instant::now();
            if config.standardize {
                scaler = Standardizer::fit(batch.x.view());
            }
            let fit_seconds = started.elapsed().as_secs_f64();
            scaler.apply(&mut val_x);
            scaler.apply(&mut batch.x);
            let n = offline_windows.min(batch.x.nrows());
            offline_sample = Some(WindowSet {
                x: batch.x.slice(s![..n, ..]).to_owned(),
                composer: batch.composer[..n].to_vec(),
                instruments: batch.instruments[..n].to_vec(),
            });
            for pair in &mut pairs {
                pair.2 += fit_seconds;
            }
        } else {
            scaler.apply(&mut batch.x);
        }
        for ((composer, instruments, seconds), curve) in pairs.iter_mut().zip(&mut curves) {
            let started = Instant::now();
            composer.partial_fit(batch.x.view(), |i, c| batch.composer[i] == c);
            instruments.partial_fit(batch.x.view(), |i, c| batch.instruments[i][c]);
            *seconds += started.elapsed().as_secs_f64();
            curve.epochs.push(validation_scores(
                epoch + 1,
                composer,
                instruments,
                &val_x,
                validation,
            ));
        }
        progress.inc(&format!("epoch {}", epoch + 1));
    }
    progress.finish();
    let baselines = pairs
        .into_iter()
        .zip(LOSS_PAIRS)
        .map(|((composer, instruments, seconds), pair)| Baseline {
            name: pair_name(pair),
            input,
            pca: None,
            classifier: Classifier::Sgd {
                composer,
                instruments,
            },
            train_seconds: seconds,
        })
        .collect();
    Ok(OnlineRun {
        scaler,
        baselines,
        curves,
        offline_sample: offline_sample.unwrap_or(WindowSet {
            x: Array2::zeros((0, d)),
            composer: Vec::new(),
            instruments: Vec::new(),
        }),
        draw_seconds,
    })
}

/// Table name of a loss pair, e.g. `SGD hinge/log`.
#[must_use]
pub fn pair_name((composer, instruments): (Loss, Loss)) -> String {
    if composer == instruments {
        format!("SGD {}", composer.name())
    } else {
        format!("SGD {}/{}", composer.name(), instruments.name())
    }
}

/// Validation accuracy of a pair (composer argmax; each instrument at score ≥ 0.5).
fn validation_scores(
    epoch: usize,
    composer: &LinearSgd,
    instruments: &LinearSgd,
    x: &Array2<f32>,
    truth: &WindowSet,
) -> EpochScores {
    let (c, i) = sgd_scores(composer, instruments, x.view());
    let n = c.len().max(1) as f64;
    let right = c
        .iter()
        .zip(&truth.composer)
        .filter(|(scores, t)| argmax(scores) == **t)
        .count();
    let m = truth.instruments.first().map_or(0, Vec::len);
    let instrument_accuracy = (0..m)
        .map(|j| {
            i.iter()
                .zip(&truth.instruments)
                .filter(|(s, t)| (s[j] >= 0.5) == t[j])
                .count() as f64
                / n
        })
        .collect();
    EpochScores {
        epoch,
        composer_accuracy: right as f64 / n,
        instrument_accuracy,
    }
}

/// Index of the largest value, the first on ties (as `numpy.argmax`).
#[must_use]
pub fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}
