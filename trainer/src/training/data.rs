//! Training and validation examples: the selected recordings' audio held in memory, each
//! epoch's examples drawn in parallel from per-example seeded streams, and a fixed validation
//! set drawn once.
//!
//! Reproducibility does not depend on the thread count: example `i` of epoch `e` draws its
//! windows from `rng_for(seed, Windows, e × 1_000_000 + i)`, and which training slot it uses
//! comes from a per-epoch shuffle of the selection's training slots
//! (`rng_for(seed, Balance, SHUFFLE_STREAM + e × 1024 + cycle)`; `Balance` streams below 2^32
//! are the selection's own).

use crate::augment::{AugmentConfig, mix_band_statistics};
use crate::prepare::cache::{CacheDir, PreparedRecording};
use crate::prepare::select::Selection;
use crate::progress::Progress;
use crate::sampler::{Example, SamplerConfig, draw_example};
use crate::seed::{Purpose, rng_for};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Example indices per epoch in the window streams (`epoch × EPOCH_STRIDE + i`).
pub const EPOCH_STRIDE: u64 = 1_000_000;
/// First `Evaluation` stream index of the validation set (`+ id × 1024 + j`); far above what
/// test-set evaluation uses, so the two never share a stream.
const VALIDATION_STREAM: u64 = 1 << 48;

/// The recordings of the selection's training and validation sides, audio loaded.
pub struct Corpus {
    /// The selection being trained.
    pub selection: Selection,
    recordings: BTreeMap<u32, (PreparedRecording, Vec<i16>)>,
}

impl Corpus {
    /// Reads the cache's index and selection and loads the audio of every training and
    /// validation recording (in parallel on `pool`). Cost: reading 2 bytes per 8 kHz sample of
    /// those recordings, and holding them (about 58 MB per hour of audio).
    pub fn load(cache_dir: &Path, pool: &rayon::ThreadPool) -> anyhow::Result<Self> {
        Self::load_sides(cache_dir, pool, true)
    }

    /// Like [`Corpus::load`], holding only the validation recordings (for validating on a
    /// cache of the same pieces rendered with other sounds). Cost: reading and holding the
    /// validation side's audio.
    pub fn load_validation(cache_dir: &Path, pool: &rayon::ThreadPool) -> anyhow::Result<Self> {
        Self::load_sides(cache_dir, pool, false)
    }

    fn load_sides(
        cache_dir: &Path,
        pool: &rayon::ThreadPool,
        with_train: bool,
    ) -> anyhow::Result<Self> {
        let cache = CacheDir::new(cache_dir);
        let index = cache.read_index()?;
        let selection = crate::prepare::read_selection(cache_dir)?;
        let train: &[u32] = if with_train { &selection.train } else { &[] };
        let mut wanted: Vec<u32> = train.iter().chain(&selection.validation).copied().collect();
        wanted.sort_unstable();
        wanted.dedup();
        let by_id: BTreeMap<u32, &PreparedRecording> =
            index.recordings.iter().map(|r| (r.id, r)).collect();
        let mut chosen = Vec::with_capacity(wanted.len());
        for id in wanted {
            let recording = by_id.get(&id).ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: the selection names recording {id}, which is not in the cache's index; \
                     run `trainer prepare` again",
                    cache_dir.display()
                )
            })?;
            chosen.push(*recording);
        }
        let progress = Progress::new("audio", chosen.len() as u64);
        let loaded = pool.install(|| {
            chosen
                .par_iter()
                .map(|&recording| {
                    let audio = cache.read_audio(recording);
                    progress.inc(&recording.id.to_string());
                    audio.map(|audio| (recording.id, (recording.clone(), audio)))
                })
                .collect::<Result<BTreeMap<_, _>, _>>()
        })?;
        progress.finish();
        Ok(Self {
            selection,
            recordings: loaded,
        })
    }

    /// Recordings held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.recordings.len()
    }

    /// Whether no recording is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.recordings.is_empty()
    }

    /// Seconds of audio held.
    #[must_use]
    pub fn seconds(&self) -> f64 {
        self.recordings.values().map(|(r, _)| r.seconds()).sum()
    }

    /// Draws one example of recording `id` (`None`: not held, or its composer is not a class).
    /// Cost: `stack` windows of front end (about 0.25 ms each, 1.5 ms with all augmentation).
    pub fn draw(
        &self,
        id: u32,
        sampler: &SamplerConfig,
        rng: &mut impl rand::Rng,
    ) -> Option<Example> {
        let (recording, audio) = self.recordings.get(&id)?;
        draw_example(recording, audio, &self.selection, sampler, rng)
    }
}

pub use crate::sampler::epoch_slots;

/// Draws the examples `first..first + slots.len()` of epoch `epoch` (slot `k` is example
/// `first + k`) in parallel on `pool`. Examples whose recording is missing are skipped (cannot
/// happen for a selection's own slots). Cost: `stack` front-end windows per example, spread
/// over the pool.
#[must_use]
pub fn draw_training(
    corpus: &Corpus,
    slots: &[u32],
    first: usize,
    epoch: u64,
    seed: u64,
    sampler: &SamplerConfig,
    pool: &rayon::ThreadPool,
) -> Vec<Example> {
    pool.install(|| {
        slots
            .par_iter()
            .enumerate()
            .filter_map(|(k, &id)| {
                let index = epoch * EPOCH_STRIDE + (first + k) as u64;
                let mut rng = rng_for(seed, Purpose::Windows, index);
                corpus.draw(id, sampler, &mut rng)
            })
            .collect()
    })
}

/// Applies `augment`'s batch-level stage, MixStyle (if configured), to batch `batch` of epoch
/// `epoch`, drawing from its own stream `rng_for(seed, MixStyle, epoch × EPOCH_STRIDE + batch)`
/// so that a resumed run mixes as a straight one does. Labels are left alone. Returns whether
/// the batch was mixed. Cost: two passes over the batch's feature codes when it is mixed.
pub fn mix_batch(
    examples: &mut [Example],
    augment: &AugmentConfig,
    seed: u64,
    epoch: u64,
    batch: usize,
) -> bool {
    let Some(range) = &augment.mix_style else {
        return false;
    };
    let mut rng = rng_for(seed, Purpose::MixStyle, epoch * EPOCH_STRIDE + batch as u64);
    let mut features: Vec<&mut [i8]> = examples
        .iter_mut()
        .map(|e| e.features.as_mut_slice())
        .collect();
    mix_band_statistics(&mut features, range, &mut rng)
}

/// The fixed validation set: `per_recording` stacks of every validation recording, drawn once
/// from `rng_for(seed, Evaluation, VALIDATION_STREAM + id × 1024 + j)` with `sampler` (pass it
/// without augmentation: validation scores the real audio). Cost: `stack` windows per example,
/// and `stack × 40 KB` of memory per example.
#[must_use]
pub fn draw_validation(
    corpus: &Corpus,
    per_recording: usize,
    seed: u64,
    sampler: &SamplerConfig,
    pool: &rayon::ThreadPool,
) -> Vec<Example> {
    let jobs: Vec<(u32, usize)> = corpus
        .selection
        .validation
        .iter()
        .flat_map(|&id| (0..per_recording).map(move |j| (id, j)))
        .collect();
    pool.install(|| {
        jobs.par_iter()
            .filter_map(|&(id, j)| {
                let index = VALIDATION_STREAM + u64::from(id) * 1024 + j as u64;
                let mut rng = rng_for(seed, Purpose::Evaluation, index);
                corpus.draw(id, sampler, &mut rng)
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(recording: u32, code: impl Fn(usize) -> i8) -> Example {
        let plane = core_nostd::frontend::BINS * core_nostd::frontend::WINDOW_FRAMES;
        Example {
            recording,
            starts: vec![0],
            features: (0..plane).map(code).collect(),
            composer: recording as usize,
            instruments: vec![recording.is_multiple_of(2), true],
        }
    }

    #[test]
    fn batches_are_mixed_from_their_own_stream_and_keep_their_labels() {
        use crate::augment::MixStyleRange;
        let batch = vec![
            example(0, |i| ((i * 7) % 23) as i8 - 60),
            example(1, |i| ((i * 5) % 41) as i8 + 10),
            example(2, |i| ((i * 3) % 13) as i8),
        ];
        let mut off = batch.clone();
        assert!(!mix_batch(
            &mut off,
            &AugmentConfig::preset_default_on(),
            7,
            3,
            2
        ));
        assert!(off == batch, "no MixStyle configured: untouched");
        let always = AugmentConfig {
            mix_style: Some(MixStyleRange {
                probability: 1.0,
                alpha: 0.3,
            }),
            ..AugmentConfig::default()
        };
        let mixed_at = |epoch: u64, index: usize| {
            let mut examples = batch.clone();
            assert!(mix_batch(&mut examples, &always, 7, epoch, index));
            examples
        };
        let first = mixed_at(3, 2);
        assert!(
            first == mixed_at(3, 2),
            "the same batch of the same epoch mixes the same"
        );
        let others = [
            mixed_at(3, 1),
            mixed_at(4, 2),
            mixed_at(5, 0),
            mixed_at(6, 9),
        ];
        assert!(
            others.iter().any(|o| *o != first),
            "other batches draw other mixes"
        );
        for examples in others.iter().chain([&first]) {
            for (mixed, original) in examples.iter().zip(&batch) {
                assert_eq!(
                    (
                        mixed.recording,
                        &mixed.starts,
                        mixed.composer,
                        &mixed.instruments
                    ),
                    (
                        original.recording,
                        &original.starts,
                        original.composer,
                        &original.instruments
                    )
                );
            }
        }
    }

    #[test]
    fn epochs_cover_every_slot_once_per_pass_and_differ() {
        let train = vec![1, 1, 2, 3, 4];
        let a = epoch_slots(&train, 5, 7, 0);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, train, "one pass is a permutation of the slots");
        assert_eq!(a, epoch_slots(&train, 5, 7, 0), "seeded");
        assert_ne!(a, epoch_slots(&train, 5, 7, 1), "each epoch reshuffles");
        let long = epoch_slots(&train, 12, 7, 0);
        assert_eq!(long.len(), 12);
        assert_eq!(&long[..5], &a[..]);
        assert!(epoch_slots(&[], 3, 7, 0).is_empty());
    }
}
