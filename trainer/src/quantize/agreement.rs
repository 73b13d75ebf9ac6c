//! How far the int8 model (run by `core-nostd`, as the CLI and the firmware run it) is from the
//! float model it was exported from, on the same evaluation examples: decision agreement, and the
//! change in the protocol's figures.

use crate::sampler::Example;
use core_nostd::inference::{classify, scratch_bytes};
use core_nostd::model::Model;
use core_nostd::nn::output::Q15_ONE;
use host_common::report::{EvalReport, Prediction};
use rayon::prelude::*;
use serde::Serialize;
use std::fmt;

/// The int8 model's predictions of `examples` (probabilities from the core's Q15 outputs),
/// computed in parallel with one scratch buffer per task. Cost: one int8 inference per example
/// (about 7 ms per reference network on one x86-64 core).
///
/// # Errors
/// If an example's feature length does not match the model's input (wrong stack).
pub fn int8_predictions(
    model: &Model<'_>,
    examples: &[Example],
) -> anyhow::Result<Vec<Prediction>> {
    let scratch_len = scratch_bytes(model);
    examples
        .par_iter()
        .map_init(
            || vec![0_u8; scratch_len],
            |scratch, example| {
                let out = classify(model, &example.features, scratch).map_err(|e| {
                    anyhow::anyhow!("recording {}: int8 inference: {e:?}", example.recording)
                })?;
                let q15 = |p: &[u16]| -> Vec<f32> {
                    p.iter()
                        .map(|&v| f32::from(v) / f32::from(Q15_ONE))
                        .collect()
                };
                Ok(Prediction {
                    recording: example.recording,
                    composer_true: example.composer,
                    composer_scores: q15(out.composers.probabilities_q15()),
                    instruments_true: example.instruments.clone(),
                    instrument_scores: q15(out.instruments.probabilities_q15()),
                })
            },
        )
        .collect()
}

/// Float vs int8 on the same examples.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Agreement {
    /// Examples compared.
    pub examples: usize,
    /// Share of examples whose top composer is the same.
    pub composer_top1: f64,
    /// Share of (example, instrument) decisions that are the same at the threshold.
    pub instrument_decisions: f64,
    /// Share of examples whose every instrument decision is the same.
    pub instrument_sets: f64,
    /// The float model's figures `[composer accuracy, instrument samples-F1, exact match]`.
    pub float: [f64; 3],
    /// The int8 model's figures, same order.
    pub int8: [f64; 3],
}

impl Agreement {
    /// Compares `float` and `int8` predictions of the same examples (same order) and their
    /// reports. Cost: one pass over the predictions.
    ///
    /// # Panics
    /// If the two lists differ in length (a caller bug).
    #[must_use]
    pub fn compare(
        float: &[Prediction],
        int8: &[Prediction],
        float_report: &EvalReport,
        int8_report: &EvalReport,
        threshold: f32,
    ) -> Self {
        assert_eq!(float.len(), int8.len());
        let argmax = |s: &[f32]| {
            s.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
                    if v > best.1 { (i, v) } else { best }
                })
                .0
        };
        let (mut top1, mut decisions, mut flags, mut sets) = (0_usize, 0_usize, 0_usize, 0_usize);
        for (f, q) in float.iter().zip(int8) {
            top1 += usize::from(argmax(&f.composer_scores) == argmax(&q.composer_scores));
            let same: Vec<bool> = f
                .instrument_scores
                .iter()
                .zip(&q.instrument_scores)
                .map(|(&a, &b)| (a >= threshold) == (b >= threshold))
                .collect();
            decisions += same.iter().filter(|&&s| s).count();
            flags += same.len();
            sets += usize::from(same.iter().all(|&s| s));
        }
        let share = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
        let figures = |r: &EvalReport| {
            [
                r.composer.accuracy,
                r.instruments.samples_avg.f1,
                r.exact_match,
            ]
        };
        Self {
            examples: float.len(),
            composer_top1: share(top1, float.len()),
            instrument_decisions: share(decisions, flags),
            instrument_sets: share(sets, float.len()),
            float: figures(float_report),
            int8: figures(int8_report),
        }
    }
}

impl fmt::Display for Agreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "float vs int8 on {} examples", self.examples)?;
        writeln!(
            f,
            "  top-1 composer agreement      {:.4}",
            self.composer_top1
        )?;
        writeln!(
            f,
            "  instrument decision agreement {:.4}",
            self.instrument_decisions
        )?;
        writeln!(
            f,
            "  identical instrument sets     {:.4}",
            self.instrument_sets
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "  {:<24} {:>8} {:>8} {:>8}",
            "", "float", "int8", "change"
        )?;
        let names = ["composer accuracy", "instrument samples-F1", "exact match"];
        for (i, name) in names.iter().enumerate() {
            writeln!(
                f,
                "  {name:<24} {:>8.4} {:>8.4} {:>+8.4}",
                self.float[i],
                self.int8[i],
                self.int8[i] - self.float[i]
            )?;
        }
        Ok(())
    }
}
