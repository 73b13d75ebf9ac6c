//! The composer confusion matrix (scikit-learn's `confusion_matrix`: rows = true class,
//! columns = predicted class) and its per-true-row normalisation used for colouring the plot.

use serde::Serialize;

/// A K×K matrix of counts with the class names; `counts[t][p]` = examples of true class `t`
/// predicted as `p`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfusionMatrix {
    /// Class names, the order of both rows and columns.
    pub labels: Vec<String>,
    /// Counts, `counts[true][predicted]`; K rows of K entries.
    pub counts: Vec<Vec<u64>>,
}

impl ConfusionMatrix {
    /// Counts the `(true, predicted)` pairs; pairs with an index `>= labels.len()` are skipped
    /// (the caller validates, so none are). Cost: O(K² + pairs).
    pub fn from_pairs(labels: &[String], pairs: impl IntoIterator<Item = (usize, usize)>) -> Self {
        let k = labels.len();
        let mut counts = vec![vec![0_u64; k]; k];
        for (t, p) in pairs {
            if let Some(cell) = counts.get_mut(t).and_then(|row| row.get_mut(p)) {
                *cell += 1;
            }
        }
        Self {
            labels: labels.to_vec(),
            counts,
        }
    }

    /// The count at (`truth`, `predicted`), 0 outside the matrix. Cost: O(1).
    pub fn count(&self, truth: usize, predicted: usize) -> u64 {
        self.counts
            .get(truth)
            .and_then(|row| row.get(predicted))
            .copied()
            .unwrap_or(0)
    }

    /// Examples whose true class is `truth` (the class support). Cost: O(K).
    pub fn row_total(&self, truth: usize) -> u64 {
        self.counts.get(truth).map_or(0, |row| row.iter().sum())
    }

    /// Examples predicted as `predicted`. Cost: O(K).
    pub fn column_total(&self, predicted: usize) -> u64 {
        self.counts
            .iter()
            .map(|row| row.get(predicted).copied().unwrap_or(0))
            .sum()
    }

    /// All examples. Cost: O(K²).
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Correctly classified examples (the diagonal). Cost: O(K).
    pub fn trace(&self) -> u64 {
        (0..self.counts.len()).map(|i| self.count(i, i)).sum()
    }

    /// Each count divided by its true row's total (scikit-learn's `normalize="true"`); rows
    /// with no examples are all 0.0. Cost: O(K²).
    pub fn row_normalised(&self) -> Vec<Vec<f64>> {
        self.counts
            .iter()
            .map(|row| {
                let total: u64 = row.iter().sum();
                row.iter()
                    .map(|&c| super::classification::ratio(c as f64, total as f64))
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_rows_true_columns_predicted() {
        let labels: Vec<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        let m = ConfusionMatrix::from_pairs(&labels, [(0, 1), (0, 1), (1, 1), (0, 0), (5, 0)]);
        assert_eq!(m.counts, vec![vec![1, 2], vec![0, 1]]);
        assert_eq!(
            (m.row_total(0), m.column_total(1), m.total(), m.trace()),
            (3, 3, 4, 2)
        );
        assert_eq!(m.row_normalised()[0], vec![1.0 / 3.0, 2.0 / 3.0]);
        let empty = ConfusionMatrix::from_pairs(&labels, []);
        assert_eq!(empty.row_normalised(), vec![vec![0.0, 0.0], vec![0.0, 0.0]]);
    }
}
