//! The instrument (multi-label) half of the report, as scikit-learn's `classification_report`
//! on multilabel indicator arrays, plus `hamming_loss`, `accuracy_score` (subset accuracy) and
//! per-class `roc_auc_score`. A flag is predicted when its score is `>= threshold`.
//!
//! Samples average (scikit-learn `average="samples"`, default `zero_division`): for each example
//! P = |T∩P| / |P|, R = |T∩P| / |T|, F1 = 2|T∩P| / (|T| + |P|), each 0.0 when its denominator
//! is 0 — so an example with **no true and no predicted instrument scores 0.0** on all three
//! (scikit-learn gives 1.0 only with `zero_division=1`) — then the plain mean over examples.

use super::classification::{
    AverageScores, ClassScores, Counts, macro_avg, micro_avg, per_class, ratio, weighted_avg,
};
use super::roc::{RocCurve, roc_curve};
use serde::Serialize;

/// ROC of one instrument.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstrumentRoc {
    /// Instrument name.
    pub name: String,
    /// Area under the curve; `None` (JSON `null`) when the instrument is always or never
    /// present in the evaluated examples, where AUC is undefined.
    pub auc: Option<f64>,
    /// The curve; `None` exactly when `auc` is.
    pub curve: Option<RocCurve>,
}

/// The instrument half of the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstrumentReport {
    /// Decision threshold used: predicted when score `>= threshold`.
    pub threshold: f32,
    /// One row per instrument, in class-index order.
    pub classes: Vec<ClassScores>,
    /// Scores of the counts pooled over all instruments.
    pub micro_avg: AverageScores,
    /// Unweighted mean of the class rows.
    pub macro_avg: AverageScores,
    /// Support-weighted mean of the class rows.
    pub weighted_avg: AverageScores,
    /// Mean over examples of per-example scores (see the module doc for empty examples).
    pub samples_avg: AverageScores,
    /// 1 − Hamming loss: share of all N·M instrument flags predicted right (0.0 when N·M = 0).
    pub hamming_accuracy: f64,
    /// Share of examples with all M flags right (scikit-learn `accuracy_score` on indicator
    /// arrays; 0.0 with no examples).
    pub subset_accuracy: f64,
    /// One ROC per instrument, in class-index order.
    pub roc: Vec<InstrumentRoc>,
    /// Mean AUC over the instruments whose AUC is defined; `None` when none is. (scikit-learn's
    /// macro `roc_auc_score` raises instead when any class is undefined.)
    pub macro_auc: Option<f64>,
    /// How many instruments `macro_auc` averages.
    pub auc_defined: usize,
}

/// Predicted flags of one example: `score >= threshold`. Cost: O(M).
pub(crate) fn decide(scores: impl IntoIterator<Item = f64>, threshold: f32) -> Vec<bool> {
    scores
        .into_iter()
        .map(|s| s >= f64::from(threshold))
        .collect()
}

/// Samples average of truth/prediction flag rows (see the module doc). Support is the total
/// number of true flags. Cost: O(N·M).
pub(crate) fn samples_avg(truth: &[Vec<bool>], predicted: &[Vec<bool>]) -> AverageScores {
    let mut sum = (0.0, 0.0, 0.0);
    let mut support = 0_u64;
    for (t, p) in truth.iter().zip(predicted) {
        let c = Counts {
            tp: t.iter().zip(p).filter(|&(&a, &b)| a && b).count() as u64,
            predicted: p.iter().filter(|&&b| b).count() as u64,
            truth: t.iter().filter(|&&a| a).count() as u64,
        };
        let (pr, re, f1) = super::classification::prf(c);
        sum = (sum.0 + pr, sum.1 + re, sum.2 + f1);
        support += c.truth;
    }
    let n = truth.len().min(predicted.len()) as f64;
    AverageScores {
        precision: ratio(sum.0, n),
        recall: ratio(sum.1, n),
        f1: ratio(sum.2, n),
        support,
    }
}

/// 1 − Hamming loss over all flags; 0.0 when there are no flags. Cost: O(N·M).
pub(crate) fn hamming_accuracy(truth: &[Vec<bool>], predicted: &[Vec<bool>]) -> f64 {
    let (mut right, mut all) = (0_u64, 0_u64);
    for (t, p) in truth.iter().zip(predicted) {
        for (a, b) in t.iter().zip(p) {
            all += 1;
            right += u64::from(a == b);
        }
    }
    ratio(right as f64, all as f64)
}

/// Share of rows predicted exactly; 0.0 with no rows. Cost: O(N·M).
pub(crate) fn subset_accuracy(truth: &[Vec<bool>], predicted: &[Vec<bool>]) -> f64 {
    let right = truth.iter().zip(predicted).filter(|(t, p)| t == p).count();
    ratio(right as f64, truth.len() as f64)
}

/// Builds the instrument report from N rows of M true flags and M scores (validated shapes).
/// Cost: O(N·M) for the counts plus O(M·N log N) for the ROC curves.
pub(crate) fn instrument_report(
    names: &[String],
    truth: &[Vec<bool>],
    scores: &[Vec<f64>],
    threshold: f32,
) -> InstrumentReport {
    let m = names.len();
    let predicted: Vec<Vec<bool>> = scores
        .iter()
        .map(|s| decide(s.iter().copied(), threshold))
        .collect();
    let mut counts = vec![Counts::default(); m];
    for (t, p) in truth.iter().zip(&predicted) {
        for ((c, &a), &b) in counts.iter_mut().zip(t).zip(p) {
            c.tp += u64::from(a && b);
            c.predicted += u64::from(b);
            c.truth += u64::from(a);
        }
    }
    let classes = per_class(names, &counts);
    let roc: Vec<InstrumentRoc> = names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let column_truth: Vec<bool> = truth
                .iter()
                .map(|t| t.get(j).copied().unwrap_or(false))
                .collect();
            let column_scores: Vec<f64> = scores
                .iter()
                .map(|s| s.get(j).copied().unwrap_or(0.0))
                .collect();
            let curve = roc_curve(&column_truth, &column_scores);
            InstrumentRoc {
                name: name.clone(),
                auc: curve.as_ref().map(RocCurve::auc),
                curve,
            }
        })
        .collect();
    let defined: Vec<f64> = roc.iter().filter_map(|r| r.auc).collect();
    InstrumentReport {
        threshold,
        micro_avg: micro_avg(&counts),
        macro_avg: macro_avg(&classes),
        weighted_avg: weighted_avg(&classes),
        samples_avg: samples_avg(truth, &predicted),
        hamming_accuracy: hamming_accuracy(truth, &predicted),
        subset_accuracy: subset_accuracy(truth, &predicted),
        classes,
        macro_auc: (!defined.is_empty())
            .then(|| defined.iter().sum::<f64>() / defined.len() as f64),
        auc_defined: defined.len(),
        roc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    fn rows(bits: &[&[u8]]) -> Vec<Vec<bool>> {
        bits.iter()
            .map(|r| r.iter().map(|&b| b == 1).collect())
            .collect()
    }

    #[test]
    fn hand_worked_multilabel_case() {
        // Instruments a, b, c; four examples (checked against scikit-learn 1.9
        // classification_report on the same indicator arrays):
        //   truth     predicted  (scores: 0.9 = predicted, 0.1 = not)
        //   1 0 1     1 0 0
        //   0 0 0     0 0 0
        //   0 1 0     0 0 0
        //   1 1 0     1 1 1
        // Per class (tp, predicted, true): a (2, 2, 2) → P 1, R 1, F1 1;
        // b (1, 1, 2) → P 1, R 1/2, F1 2/3; c (0, 1, 1) → 0, 0, 0.
        // micro: (3, 4, 5) → P 3/4, R 3/5, F1 6/9 = 2/3.
        // macro: P 2/3, R 1/2, F1 5/9. weighted (2, 2, 1)/5: P 4/5, R 3/5, F1 (2 + 4/3)/5 = 2/3.
        // samples: ex0 P 1, R 1/2, F1 2/3; ex1 (nothing true, nothing predicted) 0, 0, 0;
        // ex2 0, 0, 0; ex3 P 2/3, R 1, F1 4/5 → P 5/12, R 3/8, F1 22/60 = 11/30.
        // Hamming: wrong flags = 1 + 0 + 1 + 1 = 3 of 12 → accuracy 3/4.
        // Subset accuracy: only ex1 right → 1/4.
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let truth = rows(&[&[1, 0, 1], &[0, 0, 0], &[0, 1, 0], &[1, 1, 0]]);
        let predicted = rows(&[&[1, 0, 0], &[0, 0, 0], &[0, 0, 0], &[1, 1, 1]]);
        let scores: Vec<Vec<f64>> = predicted
            .iter()
            .map(|r| r.iter().map(|&b| if b { 0.9 } else { 0.1 }).collect())
            .collect();
        let r = instrument_report(&names, &truth, &scores, 0.5);
        let triple = |c: &ClassScores| (c.precision, c.recall, c.f1, c.support);
        assert_eq!(triple(&r.classes[0]), (1.0, 1.0, 1.0, 2));
        assert!(close(r.classes[1].recall, 0.5) && close(r.classes[1].f1, 2.0 / 3.0));
        assert_eq!(triple(&r.classes[2]), (0.0, 0.0, 0.0, 1));
        let avg = |a: AverageScores| (a.precision, a.recall, a.f1, a.support);
        let want = |p: f64, r: f64, f: f64| (p, r, f, 5_u64);
        let near = |a: (f64, f64, f64, u64), b: (f64, f64, f64, u64)| {
            close(a.0, b.0) && close(a.1, b.1) && close(a.2, b.2) && a.3 == b.3
        };
        assert!(near(avg(r.micro_avg), want(0.75, 0.6, 2.0 / 3.0)));
        assert!(near(avg(r.macro_avg), want(2.0 / 3.0, 0.5, 5.0 / 9.0)));
        assert!(near(avg(r.weighted_avg), want(0.8, 0.6, 2.0 / 3.0)));
        assert!(near(
            avg(r.samples_avg),
            want(5.0 / 12.0, 3.0 / 8.0, 11.0 / 30.0)
        ));
        assert!(close(r.hamming_accuracy, 0.75));
        assert!(close(r.subset_accuracy, 0.25));
    }

    #[test]
    fn empty_example_scores_zero_in_samples_average() {
        // One example, nothing true, nothing predicted: scikit-learn (zero_division default)
        // gives 0.0 for samples precision, recall and F1; Hamming accuracy is 1.
        let s = samples_avg(&[vec![false, false]], &[vec![false, false]]);
        assert_eq!((s.precision, s.recall, s.f1, s.support), (0.0, 0.0, 0.0, 0));
        assert_eq!(
            hamming_accuracy(&[vec![false, false]], &[vec![false, false]]),
            1.0
        );
    }

    #[test]
    fn threshold_is_inclusive() {
        assert_eq!(decide([0.5, 0.4999, 1.0], 0.5), vec![true, false, true]);
    }

    #[test]
    fn auc_is_none_for_a_constant_instrument() {
        // "a" present everywhere (undefined), "b" separable (AUC 1).
        let names: Vec<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        let truth = rows(&[&[1, 1], &[1, 0]]);
        let scores = vec![vec![0.7, 0.8], vec![0.6, 0.3]];
        let r = instrument_report(&names, &truth, &scores, 0.5);
        assert_eq!(r.roc[0].auc, None);
        assert_eq!(r.roc[0].curve, None);
        assert_eq!(r.roc[1].auc, Some(1.0));
        assert_eq!((r.macro_auc, r.auc_defined), (Some(1.0), 1));
    }
}
