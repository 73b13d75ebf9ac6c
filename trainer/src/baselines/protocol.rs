//! Scoring baselines with the evaluation protocol of DESIGN.md, exactly as `trainer eval`
//! scores the CNN: the same seeded 4-window stacks of every test recording
//! ([`crate::evaluation::EvalSet::examples_of`]), the same report
//! ([`crate::evaluation::report_of`]).
//!
//! The baselines classify **single windows**, so a stack's scores are the **mean of its four
//! windows' scores** (a soft vote). For a linear model this is close to scoring the mean window;
//! it keeps every model's input one 5 s window (as the reference's SGD models) rather than a
//! 160,000-value flattened stack whose window order carries no meaning.

use super::data::{Corpus, InputKind};
use super::export::Exporter;
use super::models::Baseline;
use super::scaler::Standardizer;
use crate::evaluation::{EvalSet, ModelClasses, prediction, report_of};
use crate::progress::Progress;
use crate::sampler::LabelMode;
use host_common::report::{EvalReport, Prediction};

/// The protocol's parameters.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Protocol {
    /// Stacks per test recording (the reference's 100).
    pub stacks: usize,
    /// Windows per stack (the reference's 4).
    pub windows: usize,
    /// Seed of the evaluation windows (`trainer eval --seed`).
    pub seed: u64,
    /// Instrument labels of a stack.
    pub label_mode: LabelMode,
    /// Instrument decision threshold.
    pub threshold: f32,
}

/// The baselines of one input with the standardiser their rows go through.
pub struct InputGroup<'a> {
    /// The input.
    pub input: InputKind,
    /// Its standardiser.
    pub scaler: &'a Standardizer,
    /// Its fitted baselines.
    pub baselines: &'a [Baseline],
}

/// Scores every baseline of `groups` on the protocol's stacks of `set`'s recordings and returns
/// one report per baseline (group by group, in order). Test windows are exported when
/// `exporter` is given. Errors only on export failures or inconsistent reports. Cost: per
/// recording, `stacks × windows` front-end windows and every model's prediction of them.
pub fn evaluate(
    corpus: &Corpus,
    set: &EvalSet,
    groups: &[InputGroup<'_>],
    protocol: &Protocol,
    exporter: Option<&Exporter>,
) -> anyhow::Result<Vec<EvalReport>> {
    let models: usize = groups.iter().map(|g| g.baselines.len()).sum();
    let mut predictions: Vec<Vec<Prediction>> = vec![Vec::new(); models];
    let progress = Progress::new("test", set.len() as u64);
    for (n, id) in set.recording_ids().into_iter().enumerate() {
        let examples = set.examples_of(
            n,
            protocol.stacks,
            protocol.windows,
            protocol.label_mode,
            protocol.seed,
        );
        let mut model = 0;
        for group in groups {
            let mut x = corpus.rows(&examples, group.input);
            if let Some(exporter) = exporter {
                let stem = format!("test_r{id}");
                exporter.features(group.input, &stem, &x)?;
                let composer: Vec<usize> = examples.iter().map(|e| e.composer).collect();
                let instruments: Vec<Vec<bool>> =
                    examples.iter().map(|e| e.instruments.clone()).collect();
                exporter.labels(&stem, &composer, &instruments)?;
            }
            group.scaler.apply(&mut x);
            for baseline in group.baselines {
                let (composer, instruments) = baseline.scores(x.view());
                let mut start = 0;
                for example in &examples {
                    let windows = example.starts.len();
                    let c = mean_rows(&composer[start..start + windows]);
                    let i = mean_rows(&instruments[start..start + windows]);
                    predictions[model].push(prediction(example, c, i));
                    start += windows;
                }
                model += 1;
            }
        }
        progress.inc(&id.to_string());
    }
    progress.finish();
    predictions
        .iter()
        .map(|p| report_of(set.classes(), p, protocol.threshold))
        .collect()
}

/// Column means of `rows` as `f32`.
fn mean_rows(rows: &[Vec<f64>]) -> Vec<f32> {
    let width = rows.first().map_or(0, Vec::len);
    let n = rows.len().max(1) as f64;
    (0..width)
        .map(|j| (rows.iter().map(|r| r[j]).sum::<f64>() / n) as f32)
        .collect()
}

/// The classes of a cache's selection, as the report names them.
#[must_use]
pub fn classes_of(corpus: &Corpus) -> ModelClasses {
    ModelClasses {
        composers: corpus.selection.composers.clone(),
        instruments: corpus.selection.instruments.clone(),
    }
}
