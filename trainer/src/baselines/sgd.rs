//! Online linear classifiers trained by stochastic gradient descent with scikit-learn's
//! `SGDClassifier` semantics (`penalty="l2"`, `fit_intercept=True`, `partial_fit` one sample at
//! a time in the given order, i.e. `shuffle=False`). **Hand-written**: no Rust crate offers SGD
//! with these losses and schedules (linfa's linear models are batch solvers).
//!
//! One binary model ([`SgdBinary`]) holds a weight vector `w`, a scale `wscale` (the true
//! weights are `wscale · w`, so the L2 shrink is O(1) per step, as scikit-learn's
//! `WeightVector`) and an intercept. For a sample `x` with label `y ∈ {−1, +1}` at step `t`
//! (counting from 1 over the model's whole life, as scikit-learn's `t_`):
//!
//! 1. `η` from the [`Schedule`]: `constant`: `η = eta0`; `optimal`: `η = 1 / (α (t0 + t − 1))`
//!    with scikit-learn's `t0` heuristic; `invscaling`: `η = eta0 / t^power_t`;
//! 2. `p = wscale · (w · x) + b`, `g = dloss(p, y)` ([`Loss::dloss`]), clipped to ±1e12;
//! 3. `wscale *= max(0, 1 − η α)` (L2), then `w += (−η g / wscale) x`, `b += −η g`.
//!
//! Multi-class (composer) and multi-label (instruments) are one-vs-rest: [`LinearSgd`] holds one
//! binary model per class, each trained on `+1` for its class and `−1` otherwise, exactly as
//! scikit-learn's `SGDClassifier` does for more than two classes (and as `MultiOutputClassifier`
//! would for the instruments).
//!
//! Cost: one dot product and one axpy over the D features per model per sample (about 4·D
//! flops), so an epoch of W windows costs 4·D·W·(K + M) flops per loss; memory is D + 1
//! doubles per binary model.

use ndarray::ArrayView2;
use rayon::prelude::*;

/// The largest |dloss| used in an update (scikit-learn's `MAX_DLOSS`).
const MAX_DLOSS: f64 = 1e12;
/// When `wscale` falls below this, it is folded into `w` (scikit-learn's threshold).
const MIN_WSCALE: f64 = 1e-9;

/// Loss function of a linear SGD model (scikit-learn's names in brackets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// `max(0, −y p)` (`perceptron`): updates only on mistakes.
    Perceptron,
    /// `max(0, 1 − y p)` (`hinge`): a linear SVM.
    Hinge,
    /// `ln(1 + e^{−y p})` (`log_loss`): logistic regression, calibrated probabilities.
    Log,
    /// `max(0, 1 − y p)²` for `y p ≥ −1`, `−4 y p` below (`modified_huber`): smooth, robust.
    ModifiedHuber,
}

impl Loss {
    /// Short name used in tables and files (`perceptron`, `hinge`, `log`, `modified_huber`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Loss::Perceptron => "perceptron",
            Loss::Hinge => "hinge",
            Loss::Log => "log",
            Loss::ModifiedHuber => "modified_huber",
        }
    }

    /// The loss of decision `p` for label `y ∈ {−1, +1}`. Cost: O(1).
    #[must_use]
    pub fn loss(self, p: f64, y: f64) -> f64 {
        let z = p * y;
        match self {
            Loss::Perceptron => (-z).max(0.0),
            Loss::Hinge => (1.0 - z).max(0.0),
            Loss::Log => {
                if z > 18.0 {
                    (-z).exp()
                } else if z < -18.0 {
                    -z
                } else {
                    (-z).exp().ln_1p()
                }
            }
            Loss::ModifiedHuber => {
                if z >= 1.0 {
                    0.0
                } else if z >= -1.0 {
                    (1.0 - z) * (1.0 - z)
                } else {
                    -4.0 * z
                }
            }
        }
    }

    /// The derivative of [`Loss::loss`] with respect to `p`, as scikit-learn's `dloss`
    /// (including its choices at the kinks: perceptron and hinge update when `y p` equals the
    /// threshold). Cost: O(1).
    #[must_use]
    pub fn dloss(self, p: f64, y: f64) -> f64 {
        let z = p * y;
        match self {
            Loss::Perceptron => {
                if z <= 0.0 {
                    -y
                } else {
                    0.0
                }
            }
            Loss::Hinge => {
                if z <= 1.0 {
                    -y
                } else {
                    0.0
                }
            }
            Loss::Log => {
                if z > 18.0 {
                    -y * (-z).exp()
                } else if z < -18.0 {
                    -y
                } else {
                    -y / (z.exp() + 1.0)
                }
            }
            Loss::ModifiedHuber => {
                if z >= 1.0 {
                    0.0
                } else if z >= -1.0 {
                    -2.0 * (1.0 - z) * y
                } else {
                    -4.0 * y
                }
            }
        }
    }

    /// The score in `[0, 1]` of a binary decision `p`, the model's estimate of P(y = +1):
    /// scikit-learn's `predict_proba` for `log` (σ(p)) and `modified_huber`
    /// (`(clip(p, −1, 1) + 1) / 2`); σ(p) for perceptron and hinge, which have no probability
    /// (any map with `score ≥ 0.5 ⇔ p ≥ 0` gives the same decisions). Cost: O(1).
    #[must_use]
    pub fn score(self, p: f64) -> f64 {
        match self {
            Loss::ModifiedHuber => (p.clamp(-1.0, 1.0) + 1.0) / 2.0,
            Loss::Perceptron | Loss::Hinge | Loss::Log => sigmoid(p),
        }
    }
}

/// The logistic function, stable for large |p|.
#[must_use]
pub fn sigmoid(p: f64) -> f64 {
    if p >= 0.0 {
        1.0 / (1.0 + (-p).exp())
    } else {
        let e = p.exp();
        e / (1.0 + e)
    }
}

/// Learning-rate schedule (scikit-learn's `learning_rate`).
#[derive(Clone, Copy, Debug, PartialEq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// `η = eta0` at every step.
    Constant,
    /// `η = 1 / (α (t0 + t − 1))`, scikit-learn's default (ignores `eta0`).
    Optimal,
    /// `η = eta0 / t^power_t`.
    Invscaling,
}

/// Hyper-parameters of an SGD model.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SgdConfig {
    /// The loss.
    pub loss: Loss,
    /// L2 regularisation strength α (the reference's 1e-6).
    pub alpha: f64,
    /// Initial (or constant) learning rate (the reference's 1e-5).
    pub eta0: f64,
    /// How η evolves with the step count.
    pub schedule: Schedule,
    /// Exponent of [`Schedule::Invscaling`] (scikit-learn's default 0.5).
    pub power_t: f64,
}

impl SgdConfig {
    /// The reference's settings (α = 1e-6, η₀ = 1e-5, constant rate) with `loss`.
    #[must_use]
    pub fn reference(loss: Loss) -> Self {
        Self {
            loss,
            alpha: 1e-6,
            eta0: 1e-5,
            schedule: Schedule::Constant,
            power_t: 0.5,
        }
    }

    /// scikit-learn's `optimal_init` (`t0`): `1 / (η_init α)` with
    /// `η_init = typw / max(1, dloss(−typw, 1))`, `typw = sqrt(1 / sqrt(α))`.
    fn optimal_init(&self) -> f64 {
        let typw = (1.0 / self.alpha.sqrt()).sqrt();
        let initial_eta0 = typw / self.loss.dloss(-typw, 1.0).max(1.0);
        1.0 / (initial_eta0 * self.alpha)
    }

    /// η at step `t` (from 1). Cost: O(1).
    #[must_use]
    pub fn eta(&self, t: f64) -> f64 {
        match self.schedule {
            Schedule::Constant => self.eta0,
            Schedule::Optimal => 1.0 / (self.alpha * (self.optimal_init() + t - 1.0)),
            Schedule::Invscaling => self.eta0 / t.powf(self.power_t),
        }
    }
}

/// One binary linear model `p = wscale · (w · x) + b`.
#[derive(Clone, Debug, PartialEq)]
pub struct SgdBinary {
    w: Vec<f64>,
    wscale: f64,
    intercept: f64,
}

impl SgdBinary {
    /// A zero model over `features` inputs. Cost: `features` doubles.
    #[must_use]
    pub fn new(features: usize) -> Self {
        Self {
            w: vec![0.0; features],
            wscale: 1.0,
            intercept: 0.0,
        }
    }

    /// The decision value of `x`. Cost: one D-long dot product.
    #[must_use]
    pub fn decision(&self, x: &[f32]) -> f64 {
        dot(&self.w, x) * self.wscale + self.intercept
    }

    /// The effective weights (`wscale · w`) and the intercept. Cost: O(D).
    #[must_use]
    pub fn coefficients(&self) -> (Vec<f64>, f64) {
        (
            self.w.iter().map(|w| w * self.wscale).collect(),
            self.intercept,
        )
    }

    /// One SGD step on sample `x` with label `y ∈ {−1, +1}` at step `t` (see the module doc).
    /// Cost: one dot product and one axpy over D.
    pub fn step(&mut self, config: &SgdConfig, x: &[f32], y: f64, t: f64) {
        let eta = config.eta(t);
        let p = self.decision(x);
        let dloss = config.loss.dloss(p, y).clamp(-MAX_DLOSS, MAX_DLOSS);
        let update = -eta * dloss;
        self.wscale *= (1.0 - eta * config.alpha).max(0.0);
        if self.wscale < MIN_WSCALE {
            let scale = self.wscale;
            self.w.iter_mut().for_each(|w| *w *= scale);
            self.wscale = 1.0;
        }
        if update != 0.0 {
            axpy(&mut self.w, update / self.wscale, x);
            self.intercept += update;
        }
    }
}

/// `w · x` with four independent accumulators, so the loop vectorizes.
fn dot(w: &[f64], x: &[f32]) -> f64 {
    let mut acc = [0.0_f64; 4];
    let (wc, xc) = (w.chunks_exact(4), x.chunks_exact(4));
    let (wr, xr) = (wc.remainder(), xc.remainder());
    for (w4, x4) in wc.zip(xc) {
        for k in 0..4 {
            acc[k] += w4[k] * f64::from(x4[k]);
        }
    }
    let tail: f64 = wr.iter().zip(xr).map(|(w, x)| w * f64::from(*x)).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// `w += a x`.
fn axpy(w: &mut [f64], a: f64, x: &[f32]) {
    for (w, x) in w.iter_mut().zip(x) {
        *w += a * f64::from(*x);
    }
}

/// One-vs-rest linear SGD: one [`SgdBinary`] per class, all sharing a config and a step count.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearSgd {
    config: SgdConfig,
    models: Vec<SgdBinary>,
    /// Samples seen so far (scikit-learn's `t_ − 1`).
    seen: u64,
}

impl LinearSgd {
    /// `classes` zero models over `features` inputs. Cost: `classes × features` doubles.
    #[must_use]
    pub fn new(config: SgdConfig, classes: usize, features: usize) -> Self {
        Self {
            config,
            models: vec![SgdBinary::new(features); classes],
            seen: 0,
        }
    }

    /// The hyper-parameters.
    #[must_use]
    pub fn config(&self) -> &SgdConfig {
        &self.config
    }

    /// The binary models, one per class.
    #[must_use]
    pub fn models(&self) -> &[SgdBinary] {
        &self.models
    }

    /// Number of parameters (weights and intercepts).
    #[must_use]
    pub fn parameters(&self) -> usize {
        self.models.iter().map(|m| m.w.len() + 1).sum()
    }

    /// One pass over the rows of `x` in order; row `i` is positive for class `c` when
    /// `positive(i, c)`. The binary models are independent and train in parallel (rayon).
    /// Cost: 4·D flops per row per class.
    pub fn partial_fit(
        &mut self,
        x: ArrayView2<'_, f32>,
        positive: impl Fn(usize, usize) -> bool + Sync,
    ) {
        let start = self.seen;
        let config = self.config;
        self.models
            .par_iter_mut()
            .enumerate()
            .for_each(|(c, model)| {
                for (i, row) in x.outer_iter().enumerate() {
                    let row = row.as_slice().expect("rows of a standard-layout matrix");
                    let y = if positive(i, c) { 1.0 } else { -1.0 };
                    model.step(&config, row, y, (start + i as u64 + 1) as f64);
                }
            });
        self.seen += x.nrows() as u64;
    }

    /// Decision values of `row`, one per class. Cost: one dot product per class.
    #[must_use]
    pub fn decisions(&self, row: &[f32]) -> Vec<f64> {
        self.models.iter().map(|m| m.decision(row)).collect()
    }
}
