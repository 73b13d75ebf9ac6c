//! Principal component analysis keeping a share of the variance, as scikit-learn's
//! `PCA(n_components=0.75)` (exact, full spectrum): the fewest leading components whose
//! explained-variance ratios sum to **more than** the share.
//!
//! The eigendecomposition is linfa-linalg's symmetric `eigh` (pure Rust). The glue is
//! hand-written rather than linfa-reduction's `Pca` because that one (a) needs the component
//! count up front and normalises its variance ratios by the kept components only, so "75 % of
//! the variance" cannot be read from it, and (b) uses LOBPCG, which is slow for the 1,000+
//! components the reference needed. Here, with N samples of D features, the smaller of the two
//! symmetric matrices is decomposed: the Gram matrix `Xc Xcᵀ` (N × N) when N < D (components
//! `Xcᵀ u / σ`), else the scatter matrix `Xcᵀ Xc` (D × D). Total variance is its trace.
//!
//! Cost: one min(N, D)² × max(N, D) f32 matrix product, an O(min(N, D)³) f64 eigensolve (about
//! 20 s for N = 2,000 on one core), and k × D floats for the components; transforming Q rows
//! costs a Q × D × k product.

use anyhow::Context;
use linfa_linalg::eigh::{EigSort, EighInto};
use ndarray::{Array1, Array2, ArrayView2, Axis};

/// A fitted projection onto the leading principal components.
#[derive(Clone, Debug)]
pub struct Pca {
    mean: Array1<f32>,
    /// k × D, one unit-length component per row, by decreasing variance.
    components: Array2<f32>,
    /// Explained-variance ratio of every component found (not only the kept ones).
    ratios: Vec<f64>,
}

impl Pca {
    /// Fits on the rows of `x` and keeps the fewest components whose variance ratios sum to more
    /// than `share` (all available ones if they never do). Errors on fewer than 2 rows or when
    /// the eigensolver fails. Cost: see the module doc.
    pub fn fit(x: ArrayView2<'_, f32>, share: f64) -> anyhow::Result<Self> {
        let (n, d) = x.dim();
        anyhow::ensure!(n >= 2, "PCA needs at least 2 samples, got {n}");
        let mean = x.mean_axis(Axis(0)).context("PCA of no samples")?;
        let centred = &x - &mean;
        let gram = n < d;
        let small = if gram {
            centred.dot(&centred.t())
        } else {
            centred.t().dot(&centred)
        };
        let small = small.mapv(f64::from);
        let total: f64 = small.diag().iter().sum();
        let (values, vectors) = small
            .eigh_into()
            .context("PCA: the symmetric eigensolver failed")?
            .sort_eig_desc();
        let ratios: Vec<f64> = values
            .iter()
            .map(|&v| if total > 0.0 { v.max(0.0) / total } else { 0.0 })
            .collect();
        let mut cumulative = 0.0;
        let mut keep = ratios.len();
        for (i, r) in ratios.iter().enumerate() {
            cumulative += r;
            if cumulative > share {
                keep = i + 1;
                break;
            }
        }
        let keep = keep.clamp(1, ratios.len());
        let lead = vectors.slice(ndarray::s![.., ..keep]).mapv(|v| v as f32);
        let components = if gram {
            // v_i = Xcᵀ u_i / σ_i with σ_i² = λ_i.
            let mut c = lead.t().dot(&centred);
            for (mut row, &lambda) in c.axis_iter_mut(Axis(0)).zip(values.iter()) {
                let sigma = lambda.max(f64::MIN_POSITIVE).sqrt() as f32;
                row.mapv_inplace(|v| v / sigma);
            }
            c
        } else {
            lead.t().to_owned()
        };
        Ok(Self {
            mean,
            components,
            ratios,
        })
    }

    /// Number of kept components (k).
    #[must_use]
    pub fn components(&self) -> usize {
        self.components.nrows()
    }

    /// Share of the variance the kept components explain.
    #[must_use]
    pub fn explained(&self) -> f64 {
        self.ratios[..self.components()].iter().sum()
    }

    /// Explained-variance ratio of every component found, by decreasing variance.
    #[must_use]
    pub fn ratios(&self) -> &[f64] {
        &self.ratios
    }

    /// Stored values (mean and components).
    #[must_use]
    pub fn parameters(&self) -> usize {
        self.mean.len() + self.components.len()
    }

    /// Projects the rows of `x` (Q × D) onto the components (Q × k). Cost: Q·D·k·2 flops.
    #[must_use]
    pub fn transform(&self, x: ArrayView2<'_, f32>) -> Array2<f32> {
        (&x - &self.mean).dot(&self.components.t())
    }
}
