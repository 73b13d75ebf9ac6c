//! The offline baselines, fitted once on a memory-bounded sample of standardised windows (the
//! first N windows of epoch 0, 4·N·D bytes): k-nearest neighbours, AdaBoost (SAMME) over
//! logistic regression, and both again after PCA keeping a share of the variance (fitted on
//! the same sample). Also their learning curves: composer accuracy on the first n windows of
//! the sample (train) and on the validation windows, for n from 10 % to 100 % of N, each point
//! a fresh fit (PCA included), as scikit-learn's `learning_curve` without cross-validation.

use super::adaboost::{AdaBoost, AdaBoostConfig};
use super::data::InputKind;
use super::knn::Knn;
use super::models::{Baseline, Classifier};
use super::online::{WindowSet, argmax};
use super::pca::Pca;
use crate::progress::Progress;
use crate::seed::{Purpose, rng_for};
use ndarray::{ArrayView2, s};
use rayon::prelude::*;
use std::time::Instant;

/// First `Balance` stream of AdaBoost's resampling (`+ learner`): far above the selection's
/// and the epoch shuffles' streams.
const BOOST_STREAM: u64 = 1 << 40;

/// Settings of the offline models.
#[derive(Clone, Debug, serde::Serialize)]
pub struct OfflineConfig {
    /// Neighbours of KNN.
    pub k: usize,
    /// Variance share PCA keeps.
    pub pca_variance: f64,
    /// AdaBoost's settings.
    pub boost: AdaBoostConfig,
    /// Points of each learning curve.
    pub curve_points: usize,
    /// Seed of AdaBoost's resampling.
    pub seed: u64,
}

/// One learning curve: composer accuracy against training windows.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LearningCurve {
    /// Model name.
    pub model: String,
    /// Training windows of each point.
    pub sizes: Vec<usize>,
    /// Composer accuracy on those training windows.
    pub train: Vec<f64>,
    /// Composer accuracy on the validation windows.
    pub validation: Vec<f64>,
    /// PCA components at each point (PCA models only).
    pub components: Vec<usize>,
}

/// What the offline fit produces.
pub struct OfflineRun {
    /// KNN, AdaBoost, PCA + KNN, PCA + AdaBoost.
    pub baselines: Vec<Baseline>,
    /// Components PCA kept on the whole sample.
    pub pca_components: usize,
    /// Variance share they explain.
    pub pca_explained: f64,
    /// One curve per model.
    pub curves: Vec<LearningCurve>,
}

/// Model names, in [`OfflineRun::baselines`] order.
pub const OFFLINE_MODELS: [&str; 4] = [
    "KNN",
    "AdaBoost-logistic",
    "PCA + KNN",
    "PCA + AdaBoost-logistic",
];

/// Fits the four offline models on `sample` (standardised `input` windows) and draws their
/// learning curves against `validation` (standardised the same way). Errors when PCA or a
/// logistic fit fails. Cost: one PCA per curve point plus the final one, KNN searches of the
/// training and validation rows, and AdaBoost rounds (see their modules).
pub fn fit_offline(
    input: InputKind,
    sample: &WindowSet,
    validation: &WindowSet,
    composers: usize,
    config: &OfflineConfig,
) -> anyhow::Result<OfflineRun> {
    let n = sample.x.nrows();
    anyhow::ensure!(
        n >= 2,
        "the offline sample has {n} windows; it needs at least 2"
    );
    let progress = Progress::new(
        &format!("offline {}", input.name()),
        4 + config.curve_points as u64,
    );

    let started = Instant::now();
    let knn = Knn::fit(
        config.k,
        sample.x.clone(),
        sample.composer.clone(),
        sample.instruments.clone(),
        composers,
    );
    let knn_seconds = started.elapsed().as_secs_f64();
    progress.inc("KNN");

    let started = Instant::now();
    let (composer, instruments) = boost_all(sample.x.view(), sample, composers, config, 0)?;
    let boost_seconds = started.elapsed().as_secs_f64();
    progress.inc("AdaBoost");

    let started = Instant::now();
    let pca = Pca::fit(sample.x.view(), config.pca_variance)?;
    let pca_seconds = started.elapsed().as_secs_f64();
    let projected = pca.transform(sample.x.view());
    let pca_knn = Knn::fit(
        config.k,
        projected.clone(),
        sample.composer.clone(),
        sample.instruments.clone(),
        composers,
    );
    let pca_knn_seconds = pca_seconds + started.elapsed().as_secs_f64();
    progress.inc("PCA + KNN");

    let started = Instant::now();
    let (pca_composer, pca_instruments) =
        boost_all(projected.view(), sample, composers, config, 1 << 20)?;
    let pca_boost_seconds = pca_seconds + started.elapsed().as_secs_f64();
    progress.inc("PCA + AdaBoost");

    let (pca_components, pca_explained) = (pca.components(), pca.explained());
    let baseline = |i: usize, pca: Option<Pca>, classifier, seconds| Baseline {
        name: OFFLINE_MODELS[i].to_string(),
        input,
        pca,
        classifier,
        train_seconds: seconds,
    };
    let baselines = vec![
        baseline(0, None, Classifier::Knn(knn), knn_seconds),
        baseline(
            1,
            None,
            Classifier::AdaBoost {
                composer,
                instruments,
            },
            boost_seconds,
        ),
        baseline(
            2,
            Some(pca.clone()),
            Classifier::Knn(pca_knn),
            pca_knn_seconds,
        ),
        baseline(
            3,
            Some(pca),
            Classifier::AdaBoost {
                composer: pca_composer,
                instruments: pca_instruments,
            },
            pca_boost_seconds,
        ),
    ];
    let curves = learning_curves(sample, validation, composers, config, &progress)?;
    progress.finish();
    Ok(OfflineRun {
        baselines,
        pca_components,
        pca_explained,
        curves,
    })
}

/// The composer ensemble and one binary ensemble per instrument, on rows `x` (labels from
/// `sample`), in parallel over instruments. `stream` offsets the resampling streams.
fn boost_all(
    x: ArrayView2<'_, f32>,
    sample: &WindowSet,
    composers: usize,
    config: &OfflineConfig,
    stream: u64,
) -> anyhow::Result<(AdaBoost, Vec<AdaBoost>)> {
    let mut rng = rng_for(config.seed, Purpose::Balance, BOOST_STREAM + stream);
    let composer = AdaBoost::fit(&config.boost, x, &sample.composer, composers, &mut rng)?;
    let m = sample.instruments.first().map_or(0, Vec::len);
    let instruments = (0..m)
        .into_par_iter()
        .map(|j| {
            let y: Vec<usize> = sample
                .instruments
                .iter()
                .map(|t| usize::from(t[j]))
                .collect();
            let mut rng = rng_for(
                config.seed,
                Purpose::Balance,
                BOOST_STREAM + stream + 1 + j as u64,
            );
            AdaBoost::fit(&config.boost, x, &y, 2, &mut rng)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((composer, instruments))
}

/// Share of rows whose argmax score is the true class.
fn accuracy(scores: &[Vec<f64>], truth: &[usize]) -> f64 {
    let right = scores
        .iter()
        .zip(truth)
        .filter(|(s, t)| argmax(s) == **t)
        .count();
    right as f64 / scores.len().max(1) as f64
}

/// Composer-only learning curves of the four models (see the module doc).
fn learning_curves(
    sample: &WindowSet,
    validation: &WindowSet,
    composers: usize,
    config: &OfflineConfig,
    progress: &Progress,
) -> anyhow::Result<Vec<LearningCurve>> {
    let n = sample.x.nrows();
    let points = config.curve_points.max(1);
    let sizes: Vec<usize> = (0..points)
        .map(|p| {
            let share = if points == 1 {
                1.0
            } else {
                0.1 + 0.9 * p as f64 / (points - 1) as f64
            };
            ((share * n as f64).round() as usize).clamp(2, n)
        })
        .collect();
    let mut curves: Vec<LearningCurve> = OFFLINE_MODELS
        .iter()
        .map(|name| LearningCurve {
            model: (*name).to_string(),
            sizes: sizes.clone(),
            train: Vec::new(),
            validation: Vec::new(),
            components: Vec::new(),
        })
        .collect();
    let no_instruments = |rows: usize| vec![Vec::new(); rows];
    for (p, &size) in sizes.iter().enumerate() {
        let x = sample.x.slice(s![..size, ..]);
        let y = &sample.composer[..size];
        let pca = Pca::fit(x, config.pca_variance)?;
        let (px, pv) = (pca.transform(x), pca.transform(validation.x.view()));
        for (curve, reduced) in [(0, false), (2, true)] {
            let (train_x, val_x) = if reduced {
                (px.view(), pv.view())
            } else {
                (x, validation.x.view())
            };
            let knn = Knn::fit(
                config.k,
                train_x.to_owned(),
                y.to_vec(),
                no_instruments(size),
                composers,
            );
            curves[curve]
                .train
                .push(accuracy(&knn.scores(train_x).0, y));
            curves[curve]
                .validation
                .push(accuracy(&knn.scores(val_x).0, &validation.composer));
        }
        for (curve, reduced) in [(1, false), (3, true)] {
            let (train_x, val_x) = if reduced {
                (px.view(), pv.view())
            } else {
                (x, validation.x.view())
            };
            let mut rng = rng_for(
                config.seed,
                Purpose::Balance,
                BOOST_STREAM + (2 << 20) + p as u64,
            );
            let boost = AdaBoost::fit(&config.boost, train_x, y, composers, &mut rng)?;
            let rows =
                |s: ndarray::Array2<f64>| s.outer_iter().map(|r| r.to_vec()).collect::<Vec<_>>();
            curves[curve]
                .train
                .push(accuracy(&rows(boost.scores(train_x)), y));
            curves[curve]
                .validation
                .push(accuracy(&rows(boost.scores(val_x)), &validation.composer));
        }
        for curve in [2, 3] {
            curves[curve].components.push(pca.components());
        }
        progress.inc(&format!("curve {size}"));
    }
    Ok(curves)
}
