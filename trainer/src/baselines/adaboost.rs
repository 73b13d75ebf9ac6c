//! AdaBoost (SAMME, Zhu et al. 2009, scikit-learn's `AdaBoostClassifier(algorithm="SAMME")`)
//! around linfa-logistic's L2-regularised logistic regression (L-BFGS, `alpha = 1`, which is
//! scikit-learn's `LogisticRegression(C=1)`).
//!
//! The boosting loop is **hand-written** (no Rust crate offers AdaBoost), and it boosts **by
//! resampling**: linfa-logistic takes no sample weights, so round m fits the base learner on N
//! rows drawn with replacement in proportion to the current weights (Freund & Schapire's
//! original variant), then measures the weighted error on the full sample. scikit-learn
//! reweights instead; the two agree in expectation.
//!
//! Round m: `err = Σ wᵢ [h(xᵢ) ≠ yᵢ] / Σ wᵢ`; stop if `err ≥ 1 − 1/K` (no better than chance,
//! the learner is dropped unless it is the first); `α = ln((1 − err) / err) + ln(K − 1)`
//! (a perfect learner, `err = 0`, ends the boosting with weight 1, as scikit-learn);
//! `wᵢ *= exp(α [h(xᵢ) ≠ yᵢ])`. Scores: `d_k = Σ α_m [h_m(x) = k] / Σ α_m`, then scikit-learn's
//! `predict_proba`: softmax of `d / (K − 1)` for K > 2, and σ(d₁ − d₀) for K = 2.
//!
//! The learner runs in **f64**: in f32, linfa-logistic's L-BFGS makes no progress on 40,000
//! standardised features (the line search fails on the first step and the zero model comes
//! back), while in f64 it fits (and converges faster).
//!
//! Cost: the sample converted to f64 once (8·N·D bytes), then each round one logistic fit on an
//! N × D resample (another 8·N·D bytes; L-BFGS iterations of a few N × D × K matrix products,
//! up to `iterations`) plus one prediction pass.

use anyhow::Context;
use linfa::DatasetBase;
use linfa::traits::{Fit, Predict};
use linfa_logistic::{MultiFittedLogisticRegression, MultiLogisticRegression};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::RngExt;

/// Hyper-parameters of [`AdaBoost`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct AdaBoostConfig {
    /// Boosting rounds at most (scikit-learn's `n_estimators`).
    pub rounds: usize,
    /// L-BFGS iterations at most per logistic fit (scikit-learn's `max_iter`).
    pub iterations: u64,
    /// L2 strength of the logistic learner (1 / C).
    pub alpha: f64,
}

/// One weak learner: a fitted logistic model, or a constant where a resample held one class.
#[derive(Debug)]
enum Learner {
    Logistic(MultiFittedLogisticRegression<f64, usize>),
    Constant(usize),
}

impl Learner {
    fn predict(&self, x: ArrayView2<'_, f64>) -> Vec<usize> {
        match self {
            Learner::Logistic(model) => model.predict(&x).to_vec(),
            Learner::Constant(class) => vec![*class; x.nrows()],
        }
    }
}

/// A fitted SAMME ensemble over `classes` classes.
#[derive(Debug)]
pub struct AdaBoost {
    classes: usize,
    learners: Vec<(Learner, f64)>,
    features: usize,
}

impl AdaBoost {
    /// Boosts on the rows of `x` with classes `y` (`< classes`, `classes ≥ 2`), resampling
    /// from `rng`. Errors when a logistic fit fails (non-finite input). Cost: see the module doc.
    pub fn fit(
        config: &AdaBoostConfig,
        x: ArrayView2<'_, f32>,
        y: &[usize],
        classes: usize,
        rng: &mut impl rand::Rng,
    ) -> anyhow::Result<Self> {
        let n = x.nrows();
        anyhow::ensure!(
            n > 0 && n == y.len(),
            "AdaBoost: {n} rows and {} labels",
            y.len()
        );
        anyhow::ensure!(classes >= 2, "AdaBoost needs 2 or more classes");
        let k = classes as f64;
        let x = x.mapv(f64::from);
        let x = x.view();
        let mut weights = vec![1.0 / n as f64; n];
        let mut learners = Vec::new();
        for round in 0..config.rounds.max(1) {
            let picked = resample(&weights, rng);
            let rows = x.select(Axis(0), &picked);
            let targets: Array1<usize> = picked.iter().map(|&i| y[i]).collect();
            let learner = fit_learner(config, rows, targets)
                .with_context(|| format!("AdaBoost round {}", round + 1))?;
            let predicted = learner.predict(x);
            let total: f64 = weights.iter().sum();
            let err: f64 = weights
                .iter()
                .zip(&predicted)
                .zip(y)
                .filter(|((_, p), t)| p != t)
                .map(|((w, _), _)| w)
                .sum::<f64>()
                / total;
            if err <= 0.0 {
                learners.push((learner, 1.0));
                break;
            }
            if err >= 1.0 - 1.0 / k {
                if learners.is_empty() {
                    learners.push((learner, 1.0));
                }
                break;
            }
            let alpha = ((1.0 - err) / err).ln() + (k - 1.0).ln();
            for ((w, p), t) in weights.iter_mut().zip(&predicted).zip(y) {
                if p != t {
                    *w *= alpha.exp();
                }
            }
            let sum: f64 = weights.iter().sum();
            weights.iter_mut().for_each(|w| *w /= sum);
            learners.push((learner, alpha));
        }
        Ok(Self {
            classes,
            learners,
            features: x.ncols(),
        })
    }

    /// Number of weak learners kept.
    #[must_use]
    pub fn rounds(&self) -> usize {
        self.learners.len()
    }

    /// Stored values: each logistic learner holds `classes × (D + 1)` parameters (linfa's
    /// multinomial form), plus one weight per learner.
    #[must_use]
    pub fn parameters(&self) -> usize {
        self.learners.len() * (self.classes * (self.features + 1) + 1)
    }

    /// Class scores (rows sum to 1) of every row of `x`, as scikit-learn's `predict_proba`
    /// (see the module doc). Cost: one prediction pass per learner.
    #[must_use]
    pub fn scores(&self, x: ArrayView2<'_, f32>) -> Array2<f64> {
        let x = x.mapv(f64::from);
        let x = x.view();
        let mut votes = Array2::<f64>::zeros((x.nrows(), self.classes));
        let norm: f64 = self
            .learners
            .iter()
            .map(|(_, a)| a)
            .sum::<f64>()
            .max(f64::MIN_POSITIVE);
        for (learner, alpha) in &self.learners {
            for (mut row, class) in votes.axis_iter_mut(Axis(0)).zip(learner.predict(x)) {
                row[class] += alpha / norm;
            }
        }
        let k = self.classes as f64;
        for mut row in votes.axis_iter_mut(Axis(0)) {
            if self.classes == 2 {
                let p = super::sgd::sigmoid(row[1] - row[0]);
                row[0] = 1.0 - p;
                row[1] = p;
            } else {
                let max = row.fold(f64::NEG_INFINITY, |m, &v| m.max(v / (k - 1.0)));
                row.mapv_inplace(|v| (v / (k - 1.0) - max).exp());
                let sum = row.sum();
                row.mapv_inplace(|v| v / sum);
            }
        }
        votes
    }
}

/// N indices drawn with replacement in proportion to `weights`. Cost: O(N log N).
fn resample(weights: &[f64], rng: &mut impl rand::Rng) -> Vec<usize> {
    let mut cumulative = Vec::with_capacity(weights.len());
    let mut total = 0.0;
    for w in weights {
        total += w;
        cumulative.push(total);
    }
    (0..weights.len())
        .map(|_| {
            let u = rng.random::<f64>() * total;
            cumulative
                .partition_point(|&c| c <= u)
                .min(weights.len() - 1)
        })
        .collect()
}

/// Fits one logistic learner (a constant when `targets` hold one class).
fn fit_learner(
    config: &AdaBoostConfig,
    rows: Array2<f64>,
    targets: Array1<usize>,
) -> anyhow::Result<Learner> {
    let first = targets[0];
    if targets.iter().all(|&t| t == first) {
        return Ok(Learner::Constant(first));
    }
    let dataset = DatasetBase::new(rows, targets);
    let model = MultiLogisticRegression::default()
        .alpha(config.alpha)
        .max_iterations(config.iterations)
        .fit(&dataset)
        .context("logistic regression fit")?;
    Ok(Learner::Logistic(model))
}
