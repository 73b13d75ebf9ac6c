//! Feature standardisation, as scikit-learn's `StandardScaler` (population standard deviation,
//! a constant feature keeps scale 1). Hand-written: it is a mean and a variance per column, and
//! linfa-preprocessing would bring a second linear-algebra stack for it.

use ndarray::{Array2, ArrayView2, Axis};

/// Per-feature mean and scale; [`Standardizer::apply`] maps `x` to `(x − mean) / scale`.
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer {
    mean: Vec<f32>,
    scale: Vec<f32>,
}

impl Standardizer {
    /// The identity (mean 0, scale 1) over `features` columns: standardisation turned off.
    #[must_use]
    pub fn identity(features: usize) -> Self {
        Self {
            mean: vec![0.0; features],
            scale: vec![1.0; features],
        }
    }

    /// Fits mean and population standard deviation of every column of `x` (f64 sums). A
    /// column with zero variance gets scale 1, as scikit-learn does. Cost: two passes over `x`.
    #[must_use]
    pub fn fit(x: ArrayView2<'_, f32>) -> Self {
        let n = x.nrows().max(1) as f64;
        let d = x.ncols();
        let mut sum = vec![0.0_f64; d];
        for row in x.outer_iter() {
            for (s, v) in sum.iter_mut().zip(row) {
                *s += f64::from(*v);
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let mut sq = vec![0.0_f64; d];
        for row in x.outer_iter() {
            for ((s, v), m) in sq.iter_mut().zip(row).zip(&mean) {
                let c = f64::from(*v) - m;
                *s += c * c;
            }
        }
        let scale = sq
            .iter()
            .map(|s| {
                let sd = (s / n).sqrt();
                if sd < 10.0 * f64::EPSILON {
                    1.0
                } else {
                    sd as f32
                }
            })
            .collect();
        Self {
            mean: mean.iter().map(|&m| m as f32).collect(),
            scale,
        }
    }

    /// Number of columns.
    #[must_use]
    pub fn features(&self) -> usize {
        self.mean.len()
    }

    /// Standardises every row of `x` in place. Cost: one pass.
    ///
    /// # Panics
    /// If `x` does not have [`Standardizer::features`] columns (a caller bug).
    pub fn apply(&self, x: &mut Array2<f32>) {
        assert_eq!(x.ncols(), self.mean.len(), "standardizer width");
        for mut row in x.axis_iter_mut(Axis(0)) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = (*v - m) / s;
            }
        }
    }
}
