//! A fitted baseline, whatever its kind, as one thing that scores windows: composer scores
//! (K values summing to 1) and instrument scores (M values in `[0, 1]`, predicted at ≥ 0.5) for
//! every standardised window row.

use super::adaboost::AdaBoost;
use super::data::InputKind;
use super::knn::Knn;
use super::pca::Pca;
use super::sgd::LinearSgd;
use ndarray::ArrayView2;

/// The classifier of a baseline.
pub enum Classifier {
    /// One-vs-rest SGD for composers and one binary SGD per instrument.
    Sgd {
        /// K binary models.
        composer: LinearSgd,
        /// M binary models.
        instruments: LinearSgd,
    },
    /// Nearest neighbours (both label kinds from the same neighbours).
    Knn(Knn),
    /// SAMME over K composers, and one binary SAMME per instrument.
    AdaBoost {
        /// The composer ensemble.
        composer: AdaBoost,
        /// One two-class ensemble per instrument.
        instruments: Vec<AdaBoost>,
    },
}

/// A fitted baseline: its name, input, optional PCA in front, classifier, and training time.
pub struct Baseline {
    /// Table name, e.g. `SGD hinge/log`.
    pub name: String,
    /// The input it reads.
    pub input: InputKind,
    /// PCA applied to the standardised rows before the classifier.
    pub pca: Option<Pca>,
    /// The classifier.
    pub classifier: Classifier,
    /// Seconds spent fitting (PCA included; drawing windows excluded).
    pub train_seconds: f64,
}

impl Baseline {
    /// Stored parameters (PCA and classifier).
    #[must_use]
    pub fn parameters(&self) -> usize {
        let classifier = match &self.classifier {
            Classifier::Sgd {
                composer,
                instruments,
            } => composer.parameters() + instruments.parameters(),
            Classifier::Knn(knn) => knn.parameters(),
            Classifier::AdaBoost {
                composer,
                instruments,
            } => {
                composer.parameters() + instruments.iter().map(AdaBoost::parameters).sum::<usize>()
            }
        };
        classifier + self.pca.as_ref().map_or(0, Pca::parameters)
    }

    /// Composer and instrument scores of every row of `x` (standardised `input` features).
    /// Cost: the PCA projection plus the classifier's prediction.
    #[must_use]
    pub fn scores(&self, x: ArrayView2<'_, f32>) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        match &self.pca {
            Some(pca) => self.classify(pca.transform(x).view()),
            None => self.classify(x),
        }
    }

    /// The classifier's scores of already projected rows.
    fn classify(&self, x: ArrayView2<'_, f32>) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        match &self.classifier {
            Classifier::Sgd {
                composer,
                instruments,
            } => sgd_scores(composer, instruments, x),
            Classifier::Knn(knn) => knn.scores(x),
            Classifier::AdaBoost {
                composer,
                instruments,
            } => {
                let c = composer.scores(x);
                let per_instrument: Vec<_> = instruments.iter().map(|a| a.scores(x)).collect();
                let composers = c.outer_iter().map(|r| r.to_vec()).collect();
                let inst = (0..x.nrows())
                    .map(|i| per_instrument.iter().map(|s| s[[i, 1]]).collect())
                    .collect();
                (composers, inst)
            }
        }
    }
}

/// Scores of SGD models: each binary decision through its loss's score map
/// ([`super::sgd::Loss::score`]); composer scores normalised to sum 1 (uniform when all are
/// 0), which is scikit-learn's one-vs-rest `predict_proba` for `log` and `modified_huber`.
#[must_use]
pub fn sgd_scores(
    composer: &LinearSgd,
    instruments: &LinearSgd,
    x: ArrayView2<'_, f32>,
) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let (cl, il) = (composer.config().loss, instruments.config().loss);
    x.outer_iter()
        .map(|row| {
            let row = row.as_slice().expect("standard layout");
            let mut c: Vec<f64> = composer
                .decisions(row)
                .into_iter()
                .map(|d| cl.score(d))
                .collect();
            let sum: f64 = c.iter().sum();
            if sum > 0.0 {
                c.iter_mut().for_each(|v| *v /= sum);
            } else {
                let k = c.len() as f64;
                c.iter_mut().for_each(|v| *v = 1.0 / k);
            }
            let i = instruments
                .decisions(row)
                .into_iter()
                .map(|d| il.score(d))
                .collect();
            (c, i)
        })
        .unzip()
}
