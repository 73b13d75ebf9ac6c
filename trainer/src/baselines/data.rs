//! The baselines' data: the selection's recordings in memory, single 5 s training windows drawn
//! afresh every epoch, and windows turned into feature rows of either input.
//!
//! Windows are drawn with the sampler ([`crate::sampler::draw_example`], one window per
//! example) from the same seeded streams the CNN's trainer uses: example `i` of epoch `e` draws
//! from `rng_for(seed, Windows, e × 1_000_000 + i)`, and the recording it comes from is the
//! `i`-th of the selection's (balanced) training slots shuffled for that epoch. Validation and
//! test windows come from [`crate::evaluation::EvalSet`], the protocol `trainer eval` uses.
//!
//! Inputs ([`InputKind`]): `raw`, the window's 40,000 samples at 8 kHz scaled to `[−1, 1)`
//! (`i16 / 32768`); `spectrogram`, the front end's 128 × 312 = 39,936 feature codes
//! (`[bin][frame]`), as floats.

use crate::prepare::cache::{CacheDir, PreparedRecording};
use crate::prepare::read_selection;
use crate::prepare::select::Selection;
use crate::progress::Progress;
use crate::sampler::{
    Example, LabelMode, SamplerConfig, WINDOW_FEATURES, draw_example, epoch_slots,
};
use crate::seed::{Purpose, rng_for};
use core_nostd::frontend::WINDOW_SAMPLES;
use ndarray::Array2;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Example indices per epoch in the window streams (as the CNN trainer's).
pub const EPOCH_STRIDE: u64 = 1_000_000;
/// Raw samples are divided by this to lie in `[−1, 1)`.
pub const RAW_SCALE: f32 = 32_768.0;

/// What a linear or offline model reads from a 5 s window.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    /// The 40,000 samples of the window (8 kHz), scaled to `[−1, 1)`.
    Raw,
    /// The 39,936 front-end feature codes of the window.
    Spectrogram,
}

impl InputKind {
    /// Name used in tables and file names.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            InputKind::Raw => "raw",
            InputKind::Spectrogram => "spectrogram",
        }
    }

    /// Features per window.
    #[must_use]
    pub fn features(self) -> usize {
        match self {
            InputKind::Raw => WINDOW_SAMPLES,
            InputKind::Spectrogram => WINDOW_FEATURES,
        }
    }
}

/// The selection's training, validation and test recordings with their 8 kHz audio.
pub struct Corpus {
    /// The cache's selection (class lists, recording roles).
    pub selection: Selection,
    recordings: BTreeMap<u32, (PreparedRecording, Vec<i16>)>,
}

impl Corpus {
    /// Reads the cache's index and selection and loads the audio of every training, validation
    /// and test recording, in parallel. Errors name the cache when a selected recording is
    /// missing or its audio cannot be read. Cost: reading and holding 2 bytes per 8 kHz sample
    /// (about 58 MB per hour).
    pub fn load(cache_dir: &Path) -> anyhow::Result<Self> {
        let cache = CacheDir::new(cache_dir);
        let index = cache.read_index()?;
        let selection = read_selection(cache_dir)?;
        anyhow::ensure!(
            !selection.train.is_empty(),
            "{}: the selection has no training recording",
            cache_dir.display()
        );
        let wanted: BTreeSet<u32> = selection
            .train
            .iter()
            .chain(&selection.validation)
            .chain(&selection.test)
            .copied()
            .collect();
        let by_id: BTreeMap<u32, &PreparedRecording> =
            index.recordings.iter().map(|r| (r.id, r)).collect();
        let chosen = wanted
            .iter()
            .map(|id| {
                by_id.get(id).copied().ok_or_else(|| {
                    anyhow::anyhow!(
                        "{}: the selection names recording {id}, which is not in the cache's \
                         index; run `trainer prepare` again",
                        cache_dir.display()
                    )
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let progress = Progress::new("audio", chosen.len() as u64);
        let recordings = chosen
            .par_iter()
            .map(|&r| {
                let audio = cache.read_audio(r);
                progress.inc(&r.id.to_string());
                audio.map(|audio| (r.id, (r.clone(), audio)))
            })
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        progress.finish();
        Ok(Self {
            selection,
            recordings,
        })
    }

    /// The audio of recording `id`, if held.
    #[must_use]
    pub fn audio(&self, id: u32) -> Option<&[i16]> {
        self.recordings.get(&id).map(|(_, a)| a.as_slice())
    }

    /// Draws the `windows` single-window training examples of epoch `epoch` (see the module
    /// doc), in parallel. Cost: one front-end window (about 0.25 ms) per example.
    #[must_use]
    pub fn draw_epoch(
        &self,
        epoch: u64,
        windows: usize,
        seed: u64,
        label_mode: LabelMode,
    ) -> Vec<Example> {
        let slots = epoch_slots(&self.selection.train, windows, seed, epoch);
        let sampler = SamplerConfig {
            stack: 1,
            label_mode,
            ..SamplerConfig::default()
        };
        slots
            .par_iter()
            .enumerate()
            .filter_map(|(i, id)| {
                let (recording, audio) = self.recordings.get(id)?;
                let mut rng = rng_for(seed, Purpose::Windows, epoch * EPOCH_STRIDE + i as u64);
                draw_example(recording, audio, &self.selection, &sampler, &mut rng)
            })
            .collect()
    }

    /// One row per window of `examples` (example by example, window by window), in `input`'s
    /// features. Cost: a copy of 4 bytes per feature.
    ///
    /// # Panics
    /// If an example's recording is not held (examples come from this corpus's recordings).
    #[must_use]
    pub fn rows(&self, examples: &[Example], input: InputKind) -> Array2<f32> {
        let d = input.features();
        let n: usize = examples.iter().map(|e| e.starts.len()).sum();
        let mut out = Array2::<f32>::zeros((n, d));
        let mut row = 0;
        for example in examples {
            for (c, &start) in example.starts.iter().enumerate() {
                let mut target = out.row_mut(row);
                let target = target.as_slice_mut().expect("standard layout");
                match input {
                    InputKind::Spectrogram => {
                        let codes = &example.features[c * d..(c + 1) * d];
                        for (t, &v) in target.iter_mut().zip(codes) {
                            *t = f32::from(v);
                        }
                    }
                    InputKind::Raw => {
                        let audio = self
                            .audio(example.recording)
                            .expect("examples come from held recordings");
                        let start = usize::try_from(start)
                            .unwrap_or(usize::MAX)
                            .min(audio.len());
                        let end = start.saturating_add(d).min(audio.len());
                        for (t, &v) in target.iter_mut().zip(&audio[start..end]) {
                            *t = f32::from(v) / RAW_SCALE;
                        }
                    }
                }
                row += 1;
            }
        }
        out
    }
}

/// The rows of `x` (`input` features, unstandardised) back as the integers they came from:
/// spectrogram codes as `i8`, raw samples as `i16`, for the `.npy` export. Exact: both were
/// converted to `f32` without rounding.
#[must_use]
pub fn codes_i16(x: &Array2<f32>, input: InputKind) -> Vec<i16> {
    let scale = match input {
        InputKind::Raw => RAW_SCALE,
        InputKind::Spectrogram => 1.0,
    };
    x.iter().map(|&v| (v * scale) as i16).collect()
}
