//! The evaluation protocol of DESIGN.md, shared by `trainer eval` (float, Burn), `trainer export`
//! (float vs int8 agreement) and `host-cli eval` (int8): `per_recording` seeded stacks of
//! windows from every recording of one split of a prepared cache, labelled with **the model's**
//! classes, so a model trained on one cache (one SoundFont) is scored on another (another
//! SoundFont, or MusicNet) by class name.
//!
//! Stack `j` of recording `id` is drawn from `rng_for(seed, Evaluation, id × 1024 + j)`, so the
//! windows depend only on (seed, recording, j): the same for every program, thread count and
//! model. Validation during training uses the same purpose from index 2⁴⁸ upwards, so the two
//! never share a stream.

use crate::atomic::write_atomically;
use crate::musicnet::instruments::instrument_name;
use crate::prepare::cache::{CacheDir, PreparedRecording};
use crate::prepare::read_selection;
use crate::prepare::select::Selection;
use crate::sampler::{Example, LabelMode, SamplerConfig, draw_example};
use crate::seed::{Purpose, rng_for};
use anyhow::Context;
use host_common::report::{EvalInput, EvalReport, Prediction, evaluate, write_plots};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Stacks drawn per recording by default (the reference's 100).
pub const DEFAULT_STACKS_PER_RECORDING: usize = 100;
/// Most stacks per recording: stack `j` uses stream `id × 1024 + j`.
pub const MAX_STACKS_PER_RECORDING: usize = 1024;

/// Which recordings of the cache's selection are evaluated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EvalSplit {
    /// The held-out test recordings (MusicNet's test split).
    #[default]
    Test,
    /// The validation recordings chosen from the training split.
    Validation,
    /// The training recordings (for calibration; scores on them are not a test).
    Train,
}

/// The classes a model predicts, in output order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelClasses {
    /// Composer names.
    pub composers: Vec<String>,
    /// Instrument classes as 1-based General MIDI programs.
    pub instruments: Vec<u8>,
}

impl ModelClasses {
    /// The classes of a model file, whose instruments are stored by General MIDI name.
    ///
    /// # Errors
    /// If an instrument name is not one of the 128 General MIDI names this crate gives.
    pub fn from_names(composers: &[&str], instruments: &[&str]) -> anyhow::Result<Self> {
        let instruments = instruments
            .iter()
            .map(|name| {
                (1..=128_u8)
                    .find(|&p| instrument_name(p) == *name)
                    .with_context(|| format!("instrument {name:?} is not a General MIDI name"))
            })
            .collect::<anyhow::Result<Vec<u8>>>()?;
        Ok(Self {
            composers: composers.iter().map(|c| (*c).to_owned()).collect(),
            instruments,
        })
    }

    /// Instrument names (General MIDI), in output order.
    #[must_use]
    pub fn instrument_names(&self) -> Vec<String> {
        self.instruments
            .iter()
            .map(|&p| instrument_name(p))
            .collect()
    }
}

/// The evaluated recordings of one cache, audio loaded, with labels in a model's classes.
pub struct EvalSet {
    classes: ModelClasses,
    /// The cache's selection with its class lists replaced by the model's.
    selection: Selection,
    recordings: Vec<(PreparedRecording, Vec<i16>)>,
}

impl EvalSet {
    /// Reads the cache's index and selection, keeps the recordings of `split` whose composer is
    /// one of `classes` (others are counted in [`EvalSet::skipped`]), and loads their audio.
    /// Errors when the cache cannot be read or no recording remains. Cost: reading 2 bytes per
    /// 8 kHz sample of the split (about 58 MB per hour, held).
    pub fn load(
        cache_dir: &Path,
        split: EvalSplit,
        classes: &ModelClasses,
    ) -> anyhow::Result<Self> {
        let cache = CacheDir::new(cache_dir);
        let index = cache.read_index()?;
        let mut selection = read_selection(cache_dir)?;
        selection.composers = classes.composers.clone();
        selection.instruments = classes.instruments.clone();
        let wanted = match split {
            EvalSplit::Test => &selection.test,
            EvalSplit::Validation => &selection.validation,
            EvalSplit::Train => &selection.train,
        };
        let by_id: BTreeMap<u32, &PreparedRecording> =
            index.recordings.iter().map(|r| (r.id, r)).collect();
        let mut chosen = Vec::new();
        for id in wanted
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<u32>>()
        {
            let recording = by_id.get(&id).with_context(|| {
                format!(
                    "{}: the selection names recording {id}, which is not in the cache's index; \
                     run `trainer prepare` again",
                    cache_dir.display()
                )
            })?;
            if selection.composer_index(&recording.composer).is_some() {
                chosen.push(*recording);
            }
        }
        anyhow::ensure!(
            !chosen.is_empty(),
            "{}: no {split:?} recording has a composer the model knows ({})",
            cache_dir.display(),
            classes.composers.join(", ")
        );
        let recordings = chosen
            .par_iter()
            .map(|&r| cache.read_audio(r).map(|audio| (r.clone(), audio)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            classes: classes.clone(),
            selection,
            recordings,
        })
    }

    /// The classes labels refer to.
    #[must_use]
    pub fn classes(&self) -> &ModelClasses {
        &self.classes
    }

    /// Number of recordings evaluated.
    #[must_use]
    pub fn len(&self) -> usize {
        self.recordings.len()
    }

    /// Whether there is nothing to evaluate (never true for a loaded set).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.recordings.is_empty()
    }

    /// Seconds of audio evaluated.
    #[must_use]
    pub fn seconds(&self) -> f64 {
        self.recordings.iter().map(|(r, _)| r.seconds()).sum()
    }

    /// The ids of the evaluated recordings, in evaluation order (ascending).
    #[must_use]
    pub fn recording_ids(&self) -> Vec<u32> {
        self.recordings.iter().map(|(r, _)| r.id).collect()
    }

    /// The `per_recording` stacks of the `n`-th recording (in [`EvalSet::recording_ids`]
    /// order) with `stack` windows each, drawn in parallel. Cost: `per_recording × stack`
    /// front-end windows (about 0.25 ms each) and `stack × 40 KB` per example.
    ///
    /// # Panics
    /// If `n` is out of range or `per_recording > MAX_STACKS_PER_RECORDING` (caller bugs).
    #[must_use]
    pub fn examples_of(
        &self,
        n: usize,
        per_recording: usize,
        stack: usize,
        label_mode: LabelMode,
        seed: u64,
    ) -> Vec<Example> {
        assert!(per_recording <= MAX_STACKS_PER_RECORDING);
        let (recording, audio) = &self.recordings[n];
        let sampler = SamplerConfig {
            stack,
            label_mode,
            ..SamplerConfig::default()
        };
        (0..per_recording)
            .into_par_iter()
            .filter_map(|j| {
                let index = u64::from(recording.id) * MAX_STACKS_PER_RECORDING as u64 + j as u64;
                let mut rng = rng_for(seed, Purpose::Evaluation, index);
                draw_example(recording, audio, &self.selection, &sampler, &mut rng)
            })
            .collect()
    }
}

/// The report's input for one example: its truth and the model's probabilities.
#[must_use]
pub fn prediction(
    example: &Example,
    composer_scores: Vec<f32>,
    instrument_scores: Vec<f32>,
) -> Prediction {
    Prediction {
        recording: example.recording,
        composer_true: example.composer,
        composer_scores,
        instruments_true: example.instruments.clone(),
        instrument_scores,
    }
}

/// The report of `predictions` labelled with `classes`. Errors only on inconsistent input.
pub fn report_of(
    classes: &ModelClasses,
    predictions: &[Prediction],
    threshold: f32,
) -> anyhow::Result<EvalReport> {
    let instrument_names = classes.instrument_names();
    Ok(evaluate(&EvalInput {
        composers: &classes.composers,
        instruments: &instrument_names,
        predictions,
        threshold,
    })?)
}

/// Writes `report.json` (atomically) and the report's PNG plots into `dir`; returns the paths.
pub fn write_report(report: &EvalReport, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let json = dir.join("report.json");
    write_atomically(&json, |w| {
        serde_json::to_writer_pretty(&mut *w, report).map_err(std::io::Error::other)?;
        writeln!(w)
    })
    .with_context(|| format!("writing {}", json.display()))?;
    let mut written = vec![json];
    written.extend(
        write_plots(report, dir)
            .with_context(|| format!("writing plots into {}", dir.display()))?,
    );
    Ok(written)
}

/// Prints `report` to stdout (JSON when `json`, else the terminal tables) and, when `out` is
/// given, writes `report.json` and the plots there, naming each file on stderr. Cost: the
/// rendering and the PNGs.
///
/// # Errors
/// If a file cannot be written (the message names it).
pub fn present_report(report: &EvalReport, json: bool, out: Option<&Path>) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        println!("{report}");
    }
    if let Some(out) = out {
        for path in write_report(report, out)? {
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}
