//! ROC curves and the area under them, as scikit-learn's `roc_curve` (with its default
//! `drop_intermediate=True`) and `roc_auc_score` compute them for one binary class:
//!
//! - scores are sorted in decreasing order and **tied scores form one threshold**: the curve
//!   moves diagonally across a tie block rather than through an arbitrary order of it, so the
//!   result does not depend on the order of tied examples;
//! - points that are collinear with their neighbours (equal second differences of both the
//!   false- and true-positive counts) are dropped, which changes no area;
//! - a point (0, 0) with threshold +∞ is put in front (scikit-learn ≥ 1.3; JSON writes +∞
//!   as `null`);
//! - the AUC is the trapezoidal area under (fpr, tpr);
//! - with only one label value present (no positives or no negatives) the curve and the AUC are
//!   undefined: `None` here (scikit-learn returns NaN rates with a warning, and `roc_auc_score`
//!   raises).

use serde::Serialize;

/// One ROC curve as parallel arrays, like scikit-learn's `(fpr, tpr, thresholds)`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RocCurve {
    /// False-positive rate at each threshold, non-decreasing from 0 to 1.
    pub fpr: Vec<f64>,
    /// True-positive rate at each threshold, non-decreasing from 0 to 1.
    pub tpr: Vec<f64>,
    /// Decreasing thresholds (score >= threshold counts as positive); the first is +∞.
    pub thresholds: Vec<f64>,
}

impl RocCurve {
    /// The trapezoidal area under the curve. Cost: O(points).
    pub fn auc(&self) -> f64 {
        self.fpr
            .windows(2)
            .zip(self.tpr.windows(2))
            .map(|(x, y)| (x[1] - x[0]) * (y[0] + y[1]) / 2.0)
            .sum()
    }
}

/// The ROC curve of `scores` against the binary labels `truth`; `None` when the lengths differ or
/// when `truth` does not hold both values. Scores should be finite (NaN sorts above everything
/// and forms its own thresholds). Cost: O(n log n) for the sort, O(n) memory.
pub fn roc_curve(truth: &[bool], scores: &[f64]) -> Option<RocCurve> {
    if truth.len() != scores.len() {
        return None;
    }
    let positives = truth.iter().filter(|&&t| t).count();
    let negatives = truth.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    // Cumulative (fps, tps, threshold) at the last example of each block of equal scores.
    let mut fps = Vec::new();
    let mut tps = Vec::new();
    let mut thresholds = Vec::new();
    let (mut fp, mut tp) = (0_u64, 0_u64);
    for (rank, &i) in order.iter().enumerate() {
        if truth[i] {
            tp += 1;
        } else {
            fp += 1;
        }
        let last_of_block = order
            .get(rank + 1)
            .is_none_or(|&next| scores[next] != scores[i]);
        if last_of_block {
            fps.push(fp);
            tps.push(tp);
            thresholds.push(scores[i]);
        }
    }
    // Drop collinear intermediate points: keep the ends and every point where the second
    // difference of fps or of tps is non-zero.
    let keep: Vec<usize> = (0..fps.len())
        .filter(|&j| {
            if j == 0 || j + 1 == fps.len() {
                return true;
            }
            let second = |v: &[u64]| v[j + 1] as i64 - 2 * v[j] as i64 + v[j - 1] as i64;
            second(&fps) != 0 || second(&tps) != 0
        })
        .collect();
    let mut curve = RocCurve {
        fpr: vec![0.0],
        tpr: vec![0.0],
        thresholds: vec![f64::INFINITY],
    };
    for j in keep {
        curve.fpr.push(fps[j] as f64 / negatives as f64);
        curve.tpr.push(tps[j] as f64 / positives as f64);
        curve.thresholds.push(thresholds[j]);
    }
    Some(curve)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() < 1e-12 || x == y)
    }

    #[test]
    fn scikit_learn_doc_example() {
        // sklearn.metrics.roc_curve docs: y = [1, 1, 2, 2], pos_label = 2,
        // scores = [0.1, 0.4, 0.35, 0.8] → fpr [0, 0, .5, .5, 1], tpr [0, .5, .5, 1, 1],
        // thresholds [inf, .8, .4, .35, .1]; roc_auc_score = 0.75.
        let c = roc_curve(&[false, false, true, true], &[0.1, 0.4, 0.35, 0.8]).unwrap();
        assert!(close(&c.fpr, &[0.0, 0.0, 0.5, 0.5, 1.0]));
        assert!(close(&c.tpr, &[0.0, 0.5, 0.5, 1.0, 1.0]));
        assert!(close(&c.thresholds, &[f64::INFINITY, 0.8, 0.4, 0.35, 0.1]));
        assert!((c.auc() - 0.75).abs() < 1e-12);
    }

    #[test]
    fn tied_scores_are_one_threshold() {
        // Sorted: 0.8 (+) | 0.5 (-, -, +) | 0.2 (-, +). Cumulative (fp, tp) at block ends:
        // (0, 1), (2, 2), (3, 3); of 3 negatives and 3 positives. None collinear.
        // fpr [0, 0, 2/3, 1], tpr [0, 1/3, 2/3, 1]; AUC = 2/3·(1/3+2/3)/2 + 1/3·(2/3+1)/2
        // = 1/3 + 5/18 = 11/18 (checked against scikit-learn 1.9: 0.6111…).
        let truth = [false, false, true, true, false, true];
        let scores = [0.5, 0.5, 0.5, 0.8, 0.2, 0.2];
        let c = roc_curve(&truth, &scores).unwrap();
        assert!(close(&c.fpr, &[0.0, 0.0, 2.0 / 3.0, 1.0]));
        assert!(close(&c.tpr, &[0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0]));
        assert!(close(&c.thresholds, &[f64::INFINITY, 0.8, 0.5, 0.2]));
        assert!((c.auc() - 11.0 / 18.0).abs() < 1e-12);
        // The order of tied examples does not matter.
        let c2 = roc_curve(
            &[true, false, false, true, true, false],
            &[0.5, 0.5, 0.5, 0.8, 0.2, 0.2],
        )
        .unwrap();
        assert_eq!(c, c2);
    }

    #[test]
    fn collinear_points_are_dropped() {
        // y = [1, 1, 0, 0], scores [.9, .8, .7, .6]: (fp, tp) = (0,1), (0,2), (1,2), (2,2);
        // (1, 2) lies on the segment (0,2)–(2,2) and is dropped. scikit-learn gives
        // fpr [0, 0, 0, 1], tpr [0, .5, 1, 1], thresholds [inf, .9, .8, .6].
        let c = roc_curve(&[true, true, false, false], &[0.9, 0.8, 0.7, 0.6]).unwrap();
        assert!(close(&c.fpr, &[0.0, 0.0, 0.0, 1.0]));
        assert!(close(&c.tpr, &[0.0, 0.5, 1.0, 1.0]));
        assert!(close(&c.thresholds, &[f64::INFINITY, 0.9, 0.8, 0.6]));
        assert_eq!(c.auc(), 1.0);
    }

    #[test]
    fn undefined_with_one_label_value() {
        assert_eq!(roc_curve(&[true, true], &[0.1, 0.9]), None);
        assert_eq!(roc_curve(&[false, false], &[0.1, 0.9]), None);
        assert_eq!(roc_curve(&[], &[]), None);
        assert_eq!(roc_curve(&[true, false], &[0.1]), None);
    }

    #[test]
    fn all_scores_tied_is_the_diagonal() {
        let c = roc_curve(&[true, false, true, false], &[0.3; 4]).unwrap();
        assert!(close(&c.fpr, &[0.0, 1.0]) && close(&c.tpr, &[0.0, 1.0]));
        assert_eq!(c.auc(), 0.5);
    }
}
