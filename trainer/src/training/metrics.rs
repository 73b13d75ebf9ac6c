//! What an epoch reports: training losses, and on the fixed validation set the losses,
//! composer accuracy, instrument samples-F1 and exact match. Computed on the host from logits,
//! in f64, so the figures do not depend on the backend's reductions.
//!
//! - Composer accuracy: the arg-max class (first on ties) is the label.
//! - Instrument samples-F1 (scikit-learn's `average="samples"`): per example
//!   `2 |P ∩ T| / (|P| + |T|)` with `P` the labels of probability ≥ 0.5 and `T` the true ones,
//!   averaged over examples; an example with `P` and `T` both empty (a silent window) scores 1
//!   (scikit-learn's `zero_division=1`).
//! - Exact match: the composer and every instrument flag right.

use serde::{Deserialize, Serialize};

/// Decision threshold of the instrument probabilities.
pub const INSTRUMENT_THRESHOLD: f64 = 0.5;

/// Validation figures of one epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    /// Examples scored.
    pub examples: usize,
    /// Mean softmax cross-entropy of the composer network.
    pub loss_composer: f64,
    /// Mean binary cross-entropy (per label) of the instrument network.
    pub loss_instruments: f64,
    /// Share of examples whose composer is predicted right.
    pub composer_accuracy: f64,
    /// Samples-averaged instrument F1.
    pub instrument_f1: f64,
    /// Share of examples with composer and all instruments right.
    pub exact_match: f64,
}

/// One epoch's record in the history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss of the composer network over the epoch's batches.
    pub train_loss_composer: f64,
    /// Mean training loss of the instrument network.
    pub train_loss_instruments: f64,
    /// Validation figures (`None` without validation recordings).
    pub validation: Option<Validation>,
    /// Training windows (examples × stack) per second, forward and backward of both networks
    /// and drawing the examples included.
    pub train_windows_per_second: f64,
    /// Wall-clock seconds of the epoch, validation included.
    pub seconds: f64,
}

impl std::fmt::Display for EpochMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "epoch {}: train loss {:.4} / {:.4}",
            self.epoch, self.train_loss_composer, self.train_loss_instruments
        )?;
        if let Some(v) = &self.validation {
            write!(
                f,
                ", validation loss {:.4} / {:.4}, composer accuracy {:.1}%, instrument F1 {:.3}, \
                 exact match {:.1}%",
                v.loss_composer,
                v.loss_instruments,
                100.0 * v.composer_accuracy,
                v.instrument_f1,
                100.0 * v.exact_match
            )?;
        }
        write!(
            f,
            " ({:.1} windows/s, {:.0} s)",
            self.train_windows_per_second, self.seconds
        )
    }
}

/// Softmax cross-entropy of `logits` against class `label`: `logsumexp(logits) − logits[label]`.
#[must_use]
pub fn cross_entropy(logits: &[f32], label: usize) -> f64 {
    let max = logits
        .iter()
        .map(|&x| f64::from(x))
        .fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = logits.iter().map(|&x| (f64::from(x) - max).exp()).sum();
    let picked = logits
        .get(label)
        .map_or(f64::NEG_INFINITY, |&x| f64::from(x));
    max + sum.ln() - picked
}

/// Mean binary cross-entropy with logits over the labels: per label
/// `max(x, 0) − x·y + ln(1 + e^−|x|)`.
#[must_use]
pub fn binary_cross_entropy(logits: &[f32], truth: &[bool]) -> f64 {
    if logits.is_empty() {
        return 0.0;
    }
    let total: f64 = logits
        .iter()
        .zip(truth)
        .map(|(&x, &y)| {
            let x = f64::from(x);
            x.max(0.0) - if y { x } else { 0.0 } + (-x.abs()).exp().ln_1p()
        })
        .sum();
    total / logits.len() as f64
}

/// Softmax of `logits` (probabilities summing to 1).
#[must_use]
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f64> = logits.iter().map(|&x| f64::from(x - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|&e| (e / sum) as f32).collect()
}

/// Logistic sigmoid of each logit.
#[must_use]
pub fn sigmoid(logits: &[f32]) -> Vec<f32> {
    logits
        .iter()
        .map(|&x| (1.0 / (1.0 + (-f64::from(x)).exp())) as f32)
        .collect()
}

/// Index of the largest value (the first on ties; 0 for an empty slice).
#[must_use]
pub fn arg_max(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// Samples-F1 term of one example (see the module docs).
#[must_use]
pub fn example_f1(predicted: &[bool], truth: &[bool]) -> f64 {
    let both = predicted
        .iter()
        .zip(truth)
        .filter(|(p, t)| **p && **t)
        .count();
    let total = predicted.iter().filter(|p| **p).count() + truth.iter().filter(|t| **t).count();
    if total == 0 {
        1.0
    } else {
        2.0 * both as f64 / total as f64
    }
}

/// Running sums of the validation figures over batches.
#[derive(Clone, Debug, Default)]
pub struct Scorer {
    examples: usize,
    loss_composer: f64,
    loss_instruments: f64,
    composer_right: usize,
    f1: f64,
    exact: usize,
}

impl Scorer {
    /// Adds one example from its logits and labels. Cost: O(classes + labels).
    pub fn add(
        &mut self,
        composer_logits: &[f32],
        composer: usize,
        instrument_logits: &[f32],
        instruments: &[bool],
    ) {
        self.examples += 1;
        self.loss_composer += cross_entropy(composer_logits, composer);
        self.loss_instruments += binary_cross_entropy(instrument_logits, instruments);
        let composer_ok = arg_max(composer_logits) == composer;
        // p ≥ 0.5 exactly when the logit is ≥ 0.
        let predicted: Vec<bool> = instrument_logits.iter().map(|&x| x >= 0.0).collect();
        self.composer_right += usize::from(composer_ok);
        self.f1 += example_f1(&predicted, instruments);
        self.exact += usize::from(composer_ok && predicted == instruments);
    }

    /// The averages (`None` if nothing was added).
    #[must_use]
    pub fn finish(&self) -> Option<Validation> {
        if self.examples == 0 {
            return None;
        }
        let n = self.examples as f64;
        Some(Validation {
            examples: self.examples,
            loss_composer: self.loss_composer / n,
            loss_instruments: self.loss_instruments / n,
            composer_accuracy: self.composer_right as f64 / n,
            instrument_f1: self.f1 / n,
            exact_match: self.exact as f64 / n,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_match_their_definitions() {
        let ce = cross_entropy(&[1.0, 2.0, 3.0], 2);
        let expected = -(3.0_f64.exp() / (1.0_f64.exp() + 2.0_f64.exp() + 3.0_f64.exp())).ln();
        assert!((ce - expected).abs() < 1e-12);
        let bce = binary_cross_entropy(&[0.0, 2.0], &[true, false]);
        let expected = (-(0.5_f64).ln() - (1.0 - 1.0 / (1.0 + (-2.0_f64).exp())).ln()) / 2.0;
        assert!((bce - expected).abs() < 1e-12);
        // Extreme logits stay finite.
        assert!(binary_cross_entropy(&[-1e4], &[true]).is_finite());
        assert!(cross_entropy(&[1e4, -1e4], 1).is_finite());
    }

    #[test]
    fn f1_and_exact_match_follow_the_definitions() {
        assert_eq!(example_f1(&[true, false, true], &[true, true, false]), 0.5);
        assert_eq!(example_f1(&[false, false], &[false, false]), 1.0);
        assert_eq!(example_f1(&[true, false], &[false, false]), 0.0);
        let mut scorer = Scorer::default();
        scorer.add(&[0.1, 0.9], 1, &[1.0, -1.0], &[true, false]); // all right
        scorer.add(&[0.9, 0.1], 1, &[1.0, 1.0], &[true, false]); // composer wrong, F1 2/3
        let v = scorer.finish().unwrap();
        assert_eq!(v.examples, 2);
        assert_eq!(v.composer_accuracy, 0.5);
        assert_eq!(v.exact_match, 0.5);
        assert!((v.instrument_f1 - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert!(Scorer::default().finish().is_none());
    }

    #[test]
    fn probabilities_are_normalized() {
        let p = softmax(&[1.0, 2.0, 3.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(arg_max(&p), 2);
        assert_eq!(sigmoid(&[0.0]), vec![0.5]);
        assert_eq!(arg_max(&[1.0, 1.0]), 0);
    }
}
