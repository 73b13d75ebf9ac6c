//! The comparison: one row per baseline (and the CNN's, from a `trainer eval` report) with the
//! protocol's headline figures, training time and model size; printed as a table, serialised as
//! JSON (`--json`, `baselines.json`), drawn by [`super::plots`].

use super::models::Baseline;
use super::offline::LearningCurve;
use super::online::SgdCurve;
use anyhow::Context;
use host_common::report::EvalReport;
use std::fmt;
use std::path::Path;

/// One model's figures under the protocol.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Row {
    /// Model name.
    pub model: String,
    /// Its input (`raw`, `spectrogram`, or `stack` for the CNN).
    pub input: String,
    /// Composer accuracy over the evaluated stacks.
    pub composer_accuracy: f64,
    /// Instrument samples-averaged F1.
    pub instrument_samples_f1: f64,
    /// Share of stacks with composer and all instruments right.
    pub exact_match: f64,
    /// Stacks evaluated.
    pub examples: usize,
    /// Fitting time in seconds (`None`: unknown).
    pub train_seconds: Option<f64>,
    /// Stored parameters (`None`: unknown).
    pub parameters: Option<u64>,
    /// Model size in bytes: parameters × 4 (f32) for the baselines; as given for the CNN.
    pub size_bytes: Option<u64>,
}

impl Row {
    /// The row of a fitted baseline and its report.
    #[must_use]
    pub fn of(baseline: &Baseline, report: &EvalReport) -> Self {
        let parameters = baseline.parameters() as u64;
        Self {
            model: baseline.name.clone(),
            input: baseline.input.name().to_string(),
            composer_accuracy: report.composer.accuracy,
            instrument_samples_f1: report.instruments.samples_avg.f1,
            exact_match: report.exact_match,
            examples: report.examples,
            train_seconds: Some(baseline.train_seconds),
            parameters: Some(parameters),
            size_bytes: Some(parameters * 4),
        }
    }

    /// The CNN's row from the JSON report `trainer eval --json` (or `--out`'s `report.json`)
    /// wrote (host_common's `EvalReport`), with the training time and size given by the user.
    /// Errors name the file when it cannot be read or lacks a field.
    pub fn cnn(
        path: &Path,
        train_seconds: Option<f64>,
        size_bytes: Option<u64>,
    ) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the CNN report", path.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: not JSON (expected `trainer eval --json` output)",
                path.display()
            )
        })?;
        let number = |pointer: &str| {
            value
                .pointer(pointer)
                .and_then(serde_json::Value::as_f64)
                .with_context(|| {
                    format!(
                        "{}: no number at `{pointer}`; is it a `trainer eval` report?",
                        path.display()
                    )
                })
        };
        Ok(Self {
            model: "CNN".into(),
            input: "stack".into(),
            composer_accuracy: number("/composer/accuracy")?,
            instrument_samples_f1: number("/instruments/samples_avg/f1")?,
            exact_match: number("/exact_match")?,
            examples: number("/examples")? as usize,
            train_seconds,
            parameters: size_bytes.map(|b| b / 4),
            size_bytes,
        })
    }
}

/// Everything `trainer baselines` measured.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Comparison {
    /// The settings the run used (for the record).
    pub settings: serde_json::Value,
    /// The protocol's stacks per recording, windows per stack and seed.
    pub protocol: super::protocol::Protocol,
    /// Test recordings evaluated.
    pub recordings: usize,
    /// One row per model.
    pub rows: Vec<Row>,
    /// Why there is no CNN row, when there is none.
    pub cnn_note: Option<String>,
    /// PCA components kept on the offline sample, per input.
    pub pca_components: Vec<(String, usize, f64)>,
    /// Offline models' learning curves, per input.
    pub learning_curves: Vec<(String, Vec<LearningCurve>)>,
    /// SGD validation histories.
    pub sgd_curves: Vec<SgdCurve>,
    /// Seconds spent drawing training windows, per input.
    pub draw_seconds: Vec<(String, f64)>,
}

/// `bytes` in B, kB, MB or GB.
fn human_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Baselines vs CNN: {} test recordings × {} stacks of {} windows (seed {}), labels {:?}",
            self.recordings,
            self.protocol.stacks,
            self.protocol.windows,
            self.protocol.seed,
            self.protocol.label_mode
        )?;
        writeln!(
            f,
            "{:<26} {:<12} {:>9} {:>11} {:>8} {:>10} {:>10}",
            "model", "input", "composer", "instr. F1", "exact", "train s", "size"
        )?;
        writeln!(f, "{}", "-".repeat(92))?;
        for r in &self.rows {
            writeln!(
                f,
                "{:<26} {:<12} {:>9.3} {:>11.3} {:>8.3} {:>10} {:>10}",
                r.model,
                r.input,
                r.composer_accuracy,
                r.instrument_samples_f1,
                r.exact_match,
                r.train_seconds.map_or("n/a".into(), |s| format!("{s:.1}")),
                r.size_bytes.map_or("n/a".into(), human_bytes),
            )?;
        }
        if let Some(note) = &self.cnn_note {
            writeln!(f, "({note})")?;
        }
        for (input, k, share) in &self.pca_components {
            writeln!(
                f,
                "PCA on {input}: {k} components explain {:.1} % of the variance",
                share * 100.0
            )?;
        }
        Ok(())
    }
}
