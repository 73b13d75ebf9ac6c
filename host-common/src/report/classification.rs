//! Per-class precision, recall, F1 and support, and their averages, exactly as scikit-learn's
//! `precision_recall_fscore_support` / `classification_report` compute them with the default
//! `zero_division` (`"warn"`, which yields 0.0):
//!
//! - precision = tp / predicted, recall = tp / true, F1 = 2·tp / (true + predicted) (the form
//!   scikit-learn ≥ 1.3 uses; equal to 2PR / (P + R) whenever that is defined);
//! - any of the three with a zero denominator is **0.0**;
//! - macro avg: unweighted mean over classes; weighted avg: mean weighted by support, and, when
//!   every support is 0, the unweighted mean (scikit-learn's `_nanaverage` fallback); micro avg:
//!   the three formulas on counts summed over classes;
//! - the support of every average row is the total support.
//!
//! Also the composer (multi-class) report built on the confusion matrix: accuracy, per-class
//! scores, macro and weighted averages.

use super::confusion::ConfusionMatrix;
use serde::Serialize;

/// Scores of one class.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassScores {
    /// Class name.
    pub name: String,
    /// tp / predicted positives, 0.0 when nothing was predicted.
    pub precision: f64,
    /// tp / true positives, 0.0 when the class never occurs.
    pub recall: f64,
    /// 2·tp / (true + predicted), 0.0 when both are 0.
    pub f1: f64,
    /// Number of true occurrences.
    pub support: u64,
}

/// One average row (macro, weighted, micro or samples).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct AverageScores {
    /// Averaged precision.
    pub precision: f64,
    /// Averaged recall.
    pub recall: f64,
    /// Averaged F1 (the average of F1 values, not the F1 of the averages, except for micro).
    pub f1: f64,
    /// Total support (all true occurrences), as in scikit-learn's report.
    pub support: u64,
}

/// The counts one class's scores are made of.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// True positives.
    pub tp: u64,
    /// Predicted positives (tp + fp).
    pub predicted: u64,
    /// True occurrences (tp + fn), the support.
    pub truth: u64,
}

/// `num / den`, 0.0 when `den` is 0 (scikit-learn's `zero_division="warn"` value).
pub(crate) fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 { 0.0 } else { num / den }
}

/// Precision, recall and F1 of one set of counts. Cost: O(1).
pub(crate) fn prf(c: Counts) -> (f64, f64, f64) {
    let (tp, predicted, truth) = (c.tp as f64, c.predicted as f64, c.truth as f64);
    (
        ratio(tp, predicted),
        ratio(tp, truth),
        ratio(2.0 * tp, truth + predicted),
    )
}

/// One [`ClassScores`] per class from its name and counts. Cost: O(classes).
pub(crate) fn per_class(names: &[String], counts: &[Counts]) -> Vec<ClassScores> {
    names
        .iter()
        .zip(counts)
        .map(|(name, &c)| {
            let (precision, recall, f1) = prf(c);
            ClassScores {
                name: name.clone(),
                precision,
                recall,
                f1,
                support: c.truth,
            }
        })
        .collect()
}

/// Total support of `classes`.
fn total_support(classes: &[ClassScores]) -> u64 {
    classes.iter().map(|c| c.support).sum()
}

/// Unweighted mean over classes; all zeros for no classes. Cost: O(classes).
pub(crate) fn macro_avg(classes: &[ClassScores]) -> AverageScores {
    let n = classes.len() as f64;
    AverageScores {
        precision: ratio(classes.iter().map(|c| c.precision).sum(), n),
        recall: ratio(classes.iter().map(|c| c.recall).sum(), n),
        f1: ratio(classes.iter().map(|c| c.f1).sum(), n),
        support: total_support(classes),
    }
}

/// Support-weighted mean over classes; the unweighted mean when the total support is 0 (as
/// scikit-learn). Cost: O(classes).
pub(crate) fn weighted_avg(classes: &[ClassScores]) -> AverageScores {
    let total = total_support(classes);
    if total == 0 {
        return macro_avg(classes);
    }
    let w = |f: fn(&ClassScores) -> f64| {
        classes.iter().map(|c| f(c) * c.support as f64).sum::<f64>() / total as f64
    };
    AverageScores {
        precision: w(|c| c.precision),
        recall: w(|c| c.recall),
        f1: w(|c| c.f1),
        support: total,
    }
}

/// Scores of the counts summed over all classes. Cost: O(classes).
pub(crate) fn micro_avg(counts: &[Counts]) -> AverageScores {
    let sum = counts.iter().fold(Counts::default(), |a, c| Counts {
        tp: a.tp + c.tp,
        predicted: a.predicted + c.predicted,
        truth: a.truth + c.truth,
    });
    let (precision, recall, f1) = prf(sum);
    AverageScores {
        precision,
        recall,
        f1,
        support: sum.truth,
    }
}

/// The composer (single-label, multi-class) half of the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComposerReport {
    /// Share of examples whose argmax is the true composer (0.0 with no examples).
    pub accuracy: f64,
    /// Number of examples (the support of the accuracy and average rows).
    pub examples: u64,
    /// One row per composer, in class-index order.
    pub classes: Vec<ClassScores>,
    /// Unweighted mean of the class rows.
    pub macro_avg: AverageScores,
    /// Support-weighted mean of the class rows.
    pub weighted_avg: AverageScores,
    /// Counts, rows = true composer, columns = predicted composer.
    pub confusion: ConfusionMatrix,
}

/// Builds the composer report from a confusion matrix. Cost: O(K²).
pub(crate) fn composer_report(confusion: ConfusionMatrix) -> ComposerReport {
    let k = confusion.labels.len();
    let counts: Vec<Counts> = (0..k)
        .map(|c| Counts {
            tp: confusion.count(c, c),
            predicted: confusion.column_total(c),
            truth: confusion.row_total(c),
        })
        .collect();
    let classes = per_class(&confusion.labels, &counts);
    let examples = confusion.total();
    ComposerReport {
        accuracy: ratio(confusion.trace() as f64, examples as f64),
        examples,
        macro_avg: macro_avg(&classes),
        weighted_avg: weighted_avg(&classes),
        classes,
        confusion,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn zero_denominators_give_zero() {
        let (p, r, f) = prf(Counts::default());
        assert_eq!((p, r, f), (0.0, 0.0, 0.0));
        // Predicted but never true: precision 0/2, recall 0/0, F1 0/2.
        let (p, r, f) = prf(Counts {
            tp: 0,
            predicted: 2,
            truth: 0,
        });
        assert_eq!((p, r, f), (0.0, 0.0, 0.0));
    }

    #[test]
    fn f1_is_harmonic_mean_when_defined() {
        // tp 2, predicted 3, truth 4: P = 2/3, R = 1/2, F1 = 4/7 = 2PR/(P+R).
        let (p, r, f) = prf(Counts {
            tp: 2,
            predicted: 3,
            truth: 4,
        });
        assert!(close(p, 2.0 / 3.0) && close(r, 0.5) && close(f, 4.0 / 7.0));
        assert!(close(f, 2.0 * p * r / (p + r)));
    }

    #[test]
    fn weighted_average_with_no_support_is_the_plain_mean() {
        let names = vec!["a".to_string(), "b".to_string()];
        let counts = [
            Counts {
                tp: 0,
                predicted: 1,
                truth: 0,
            },
            Counts::default(),
        ];
        let classes = per_class(&names, &counts);
        let w = weighted_avg(&classes);
        assert_eq!(w, macro_avg(&classes));
        assert_eq!((w.precision, w.recall, w.f1, w.support), (0.0, 0.0, 0.0, 0));
    }

    #[test]
    fn no_classes_give_zeros() {
        assert_eq!(macro_avg(&[]), AverageScores::default());
        assert_eq!(weighted_avg(&[]), AverageScores::default());
        assert_eq!(micro_avg(&[]), AverageScores::default());
    }
}
