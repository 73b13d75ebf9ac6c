//! Label statistics of a prepared corpus: recordings, hours and 5 s windows per composer and
//! per instrument (the reference's figures 1 and 2), and how often the two label modes disagree.

use crate::musicnet::Split;
use crate::musicnet::instruments::instrument_name;
use crate::prepare::cache::{PreparedIndex, PreparedRecording};
use crate::prepare::select::Selection;
use crate::sampler::{LabelMode, draw_starts, instrument_labels};
use crate::seed::{Purpose, rng_for};
use core_nostd::frontend::WINDOW_SAMPLES;
use serde::Serialize;

/// One composer's row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComposerRow {
    /// Composer.
    pub composer: String,
    /// Distinct recordings in the training role (before oversampling).
    pub train: usize,
    /// Recordings in validation.
    pub validation: usize,
    /// Recordings in test.
    pub test: usize,
    /// Hours of audio over all three.
    pub hours: f64,
    /// Non-overlapping 5 s windows over all three.
    pub windows: u64,
}

/// One instrument's row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstrumentRow {
    /// 1-based GM program.
    pub program: u8,
    /// Its name.
    pub name: String,
    /// Recordings it plays in.
    pub recordings: usize,
    /// Non-overlapping 5 s windows in which it sounds (window label mode).
    pub windows: u64,
}

/// How often per-window labels differ from per-recording labels (instrument classes only).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Disagreement {
    /// Non-overlapping single windows examined.
    pub windows: u64,
    /// Of which labelled differently by the two modes.
    pub windows_differing: u64,
    /// Random 4-window stacks examined (100 per recording, seeded).
    pub stacks: u64,
    /// Of which labelled differently.
    pub stacks_differing: u64,
}

/// All statistics.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LabelStats {
    /// Per composer class.
    pub composers: Vec<ComposerRow>,
    /// Per instrument class.
    pub instruments: Vec<InstrumentRow>,
    /// Label-mode disagreement.
    pub disagreement: Disagreement,
}

/// Random stacks per recording examined for [`Disagreement`].
const STACKS_PER_RECORDING: u64 = 100;
/// Windows per stack for [`Disagreement`] (the reference's 4).
const STACK: usize = 4;

/// Non-overlapping window starts of a recording (at least one, zero-padded when short).
fn tiled_starts(recording: &PreparedRecording) -> Vec<u64> {
    let count = (recording.samples / WINDOW_SAMPLES as u64).max(1);
    (0..count).map(|i| i * WINDOW_SAMPLES as u64).collect()
}

/// Computes the statistics of the recordings `selection` keeps. Cost: one pass over the spans
/// per window; no audio is read.
#[must_use]
pub fn label_stats(index: &PreparedIndex, selection: &Selection, seed: u64) -> LabelStats {
    let kept: Vec<&PreparedRecording> = index
        .recordings
        .iter()
        .filter(|r| selection.composer_index(&r.composer).is_some())
        .collect();
    let composers = selection
        .composers
        .iter()
        .map(|composer| {
            let mine: Vec<&&PreparedRecording> =
                kept.iter().filter(|r| &r.composer == composer).collect();
            let in_role = |ids: &[u32]| mine.iter().filter(|r| ids.contains(&r.id)).count();
            ComposerRow {
                composer: composer.clone(),
                train: in_role(&selection.train),
                validation: in_role(&selection.validation),
                test: mine.iter().filter(|r| r.split == Split::Test).count(),
                hours: mine.iter().map(|r| r.seconds()).sum::<f64>() / 3600.0,
                windows: mine.iter().map(|r| tiled_starts(r).len() as u64).sum(),
            }
        })
        .collect();

    let mut instruments: Vec<InstrumentRow> = selection
        .instruments
        .iter()
        .map(|&program| InstrumentRow {
            program,
            name: instrument_name(program),
            recordings: kept
                .iter()
                .filter(|r| r.instruments.contains(&program))
                .count(),
            windows: 0,
        })
        .collect();
    let mut disagreement = Disagreement {
        windows: 0,
        windows_differing: 0,
        stacks: 0,
        stacks_differing: 0,
    };
    for (i, recording) in kept.iter().enumerate() {
        let whole = instrument_labels(recording, &[], selection, LabelMode::Recording);
        for start in tiled_starts(recording) {
            let window = instrument_labels(recording, &[start], selection, LabelMode::Window);
            for (row, &on) in instruments.iter_mut().zip(&window) {
                row.windows += u64::from(on);
            }
            disagreement.windows += 1;
            disagreement.windows_differing += u64::from(window != whole);
        }
        let mut rng = rng_for(seed, Purpose::Evaluation, i as u64);
        for _ in 0..STACKS_PER_RECORDING {
            let starts = draw_starts(recording.samples, STACK, &mut rng);
            let window = instrument_labels(recording, &starts, selection, LabelMode::Window);
            disagreement.stacks += 1;
            disagreement.stacks_differing += u64::from(window != whole);
        }
    }
    instruments.sort_by_key(|row| std::cmp::Reverse(row.recordings));
    LabelStats {
        composers,
        instruments,
        disagreement,
    }
}

impl std::fmt::Display for LabelStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<14} {:>6} {:>6} {:>6} {:>8} {:>9}",
            "composer", "train", "valid", "test", "hours", "windows"
        )?;
        for r in &self.composers {
            writeln!(
                f,
                "{:<14} {:>6} {:>6} {:>6} {:>8.2} {:>9}",
                r.composer, r.train, r.validation, r.test, r.hours, r.windows
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:<14} {:>7} {:>11} {:>9}",
            "instrument", "program", "recordings", "windows"
        )?;
        for r in &self.instruments {
            writeln!(
                f,
                "{:<14} {:>7} {:>11} {:>9}",
                r.name, r.program, r.recordings, r.windows
            )?;
        }
        let d = &self.disagreement;
        let pct = |a: u64, b: u64| 100.0 * a as f64 / b.max(1) as f64;
        writeln!(f)?;
        writeln!(
            f,
            "label modes disagree on {:.1}% of single 5 s windows ({} of {}) and {:.1}% of 4-window stacks ({} of {})",
            pct(d.windows_differing, d.windows),
            d.windows_differing,
            d.windows,
            pct(d.stacks_differing, d.stacks),
            d.stacks_differing,
            d.stacks
        )
    }
}

/// Draws the statistics as a 2 × 2 PNG of bar charts: recordings and windows per composer and
/// per instrument.
pub fn plot(
    stats: &LabelStats,
    path: &std::path::Path,
) -> Result<(), host_common::plot::PlotError> {
    use host_common::plot::{BarPanel, bar_panels};
    let composers: Vec<String> = stats.composers.iter().map(|r| r.composer.clone()).collect();
    let instruments: Vec<String> = stats.instruments.iter().map(|r| r.name.clone()).collect();
    let panels = [
        BarPanel {
            title: "Recordings per composer".into(),
            y_label: "recordings".into(),
            labels: composers.clone(),
            values: stats
                .composers
                .iter()
                .map(|r| (r.train + r.validation + r.test) as f64)
                .collect(),
        },
        BarPanel {
            title: "5 s windows per composer".into(),
            y_label: "windows".into(),
            labels: composers,
            values: stats.composers.iter().map(|r| r.windows as f64).collect(),
        },
        BarPanel {
            title: "Recordings per instrument".into(),
            y_label: "recordings".into(),
            labels: instruments.clone(),
            values: stats
                .instruments
                .iter()
                .map(|r| r.recordings as f64)
                .collect(),
        },
        BarPanel {
            title: "5 s windows in which each instrument sounds".into(),
            y_label: "windows".into(),
            labels: instruments,
            values: stats.instruments.iter().map(|r| r.windows as f64).collect(),
        },
    ];
    bar_panels(path, "Label statistics", &panels, 2)
}
