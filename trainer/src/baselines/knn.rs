//! k-nearest-neighbour classifier (Euclidean, uniform weights), as scikit-learn's
//! `KNeighborsClassifier(algorithm="brute")`: composer scores are the share of the k neighbours
//! of each class (argmax, ties to the lower class index, as scikit-learn's mode); instrument
//! scores are the share of neighbours with the instrument (predicted at ≥ 0.5, i.e. a
//! majority, as scikit-learn's multi-output vote).
//!
//! The search is **hand-written** over matrix products, `|q − x|² = |q|² + |x|² − 2 q·x`, as
//! scikit-learn's brute force does: linfa-nn's `LinearSearch` computes one scalar distance at a
//! time, which is about 20× slower in 40,000 dimensions (minutes per evaluation). The tests
//! check this search against linfa-nn's as a reference twin.
//!
//! Cost: fitting stores the N × D training matrix (4·N·D bytes); a batch of Q queries costs
//! one Q × D × N matrix product (2·Q·D·N flops) and Q partial sorts of N distances.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rayon::prelude::*;

/// A fitted nearest-neighbour model: the training rows and their labels.
#[derive(Clone, Debug)]
pub struct Knn {
    k: usize,
    x: Array2<f32>,
    norms: Array1<f32>,
    composer: Vec<usize>,
    instruments: Vec<Vec<bool>>,
    composers: usize,
}

impl Knn {
    /// Stores the training rows `x` with their composer classes (`< composers`) and
    /// instrument flags. `k` is clamped to `1..=N`.
    ///
    /// # Panics
    /// If the label lengths differ from the number of rows (a caller bug).
    #[must_use]
    pub fn fit(
        k: usize,
        x: Array2<f32>,
        composer: Vec<usize>,
        instruments: Vec<Vec<bool>>,
        composers: usize,
    ) -> Self {
        assert_eq!(x.nrows(), composer.len());
        assert_eq!(x.nrows(), instruments.len());
        let norms = x.map_axis(Axis(1), |r| r.dot(&r));
        Self {
            k: k.clamp(1, x.nrows().max(1)),
            x,
            norms,
            composer,
            instruments,
            composers,
        }
    }

    /// Stored values (the model's size: N·D features plus N·(1 + M) labels).
    #[must_use]
    pub fn parameters(&self) -> usize {
        self.x.len() + self.composer.len() * (1 + self.instruments.first().map_or(0, Vec::len))
    }

    /// Indices of the k nearest training rows of every row of `q`, nearest first (ties in
    /// distance to the lower index). Cost: see the module doc.
    #[must_use]
    pub fn neighbours(&self, q: ArrayView2<'_, f32>) -> Vec<Vec<usize>> {
        let products = q.dot(&self.x.t());
        let k = self.k;
        (0..q.nrows())
            .into_par_iter()
            .map(|r| {
                let (row, query) = (products.row(r), q.row(r));
                let qn = query.dot(&query);
                let mut d: Vec<(f32, usize)> = row
                    .iter()
                    .zip(&self.norms)
                    .enumerate()
                    .map(|(i, (p, n))| ((qn + n - 2.0 * p).max(0.0), i))
                    .collect();
                let order =
                    |a: &(f32, usize), b: &(f32, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
                if k < d.len() {
                    d.select_nth_unstable_by(k - 1, order);
                    d.truncate(k);
                }
                d.sort_unstable_by(order);
                d.into_iter().map(|(_, i)| i).collect()
            })
            .collect()
    }

    /// Composer scores (neighbour shares per class) and instrument scores (neighbour shares
    /// per instrument) of every row of `q`. Cost: [`Knn::neighbours`].
    #[must_use]
    pub fn scores(&self, q: ArrayView2<'_, f32>) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let m = self.instruments.first().map_or(0, Vec::len);
        self.neighbours(q)
            .into_iter()
            .map(|found| {
                let share = 1.0 / found.len() as f64;
                let mut composer = vec![0.0; self.composers];
                let mut instruments = vec![0.0; m];
                for i in found {
                    composer[self.composer[i]] += share;
                    for (s, &on) in instruments.iter_mut().zip(&self.instruments[i]) {
                        if on {
                            *s += share;
                        }
                    }
                }
                (composer, instruments)
            })
            .unzip()
    }
}
