//! Training examples: random 5 s windows of a prepared recording, stacked `N` at a time, turned
//! into features by `core-nostd`'s front end, with a composer label and instrument multi-hot.
//!
//! A stack draws `N` window starts uniformly over the recording (sorted, as the reference did;
//! they may overlap), computes each window's 128 × 312 feature plane, and stacks the planes as
//! `N` channels: `features[c][bin][frame]`, `N × 128 × 312` bytes. A recording shorter than one
//! window is zero-padded at the end (silence, as the front end sees it).
//!
//! Instrument labels come in two modes ([`LabelMode`]):
//! - `recording`: every instrument that plays anywhere in the recording (the reference's);
//! - `window` (default): the instruments whose notes sound for at least
//!   [`MIN_SOUNDING_SAMPLES`] (one 32 ms frame) in at least one of the stack's windows.

use crate::augment::{AugmentConfig, augment_with_report, input_len_needed, mask_features};
use crate::prepare::cache::PreparedRecording;
use crate::prepare::select::Selection;
use core_nostd::frontend::{BINS, FeaturePlane, WINDOW_FRAMES, WINDOW_SAMPLES, window_features};
use rand::{RngExt, SeedableRng};

/// Samples an instrument must sound within a window to label it in [`LabelMode::Window`]: one
/// front-end frame (256 samples, 32 ms).
pub const MIN_SOUNDING_SAMPLES: u64 = core_nostd::frontend::FRAME_LEN as u64;

/// Bytes of features per window (one channel).
pub const WINDOW_FEATURES: usize = BINS * WINDOW_FRAMES;

/// Where instrument labels come from.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum LabelMode {
    /// Every instrument of the recording, wherever the window is (the reference's labels).
    Recording,
    /// The instruments that actually sound in the window(s), from the note times.
    #[default]
    Window,
}

/// One training or evaluation example.
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    /// The recording it was cut from.
    pub recording: u32,
    /// Start sample (8 kHz) of each stacked window, ascending.
    pub starts: Vec<u64>,
    /// `starts.len() × 128 × 312` feature codes, channel-major (`[c][bin][frame]`).
    pub features: Vec<i8>,
    /// Composer class index.
    pub composer: usize,
    /// One flag per instrument class.
    pub instruments: Vec<bool>,
}

/// Draws `stack` window starts for a recording of `samples` samples, sorted. Cost: `stack` draws.
pub fn draw_starts(samples: u64, stack: usize, rng: &mut impl rand::Rng) -> Vec<u64> {
    let last_start = samples.saturating_sub(WINDOW_SAMPLES as u64);
    let mut starts: Vec<u64> = (0..stack)
        .map(|_| rng.random_range(0..=last_start))
        .collect();
    starts.sort_unstable();
    starts
}

/// The instrument labels of a stack of windows starting at `starts`, one flag per class of
/// `selection`. Cost: one pass over the recording's spans per window.
#[must_use]
pub fn instrument_labels(
    recording: &PreparedRecording,
    starts: &[u64],
    selection: &Selection,
    mode: LabelMode,
) -> Vec<bool> {
    let mut labels = vec![false; selection.instruments.len()];
    let mut mark = |program: u8| {
        if let Some(index) = selection.instrument_index(program) {
            labels[index] = true;
        }
    };
    match mode {
        LabelMode::Recording => recording.instruments.iter().for_each(|&p| mark(p)),
        LabelMode::Window => {
            for &start in starts {
                for (program, sounding) in
                    recording.playing_in(start, start + WINDOW_SAMPLES as u64)
                {
                    if sounding >= MIN_SOUNDING_SAMPLES {
                        mark(program);
                    }
                }
            }
        }
    }
    labels
}

/// Features of one window starting at `start` of `audio` (zero-padded past its end), appended
/// to `out` (`128 × 312` codes, `[bin][frame]`). Cost: 312 front-end frames.
pub fn append_window_features(audio: &[i16], start: u64, out: &mut Vec<i8>) {
    let mut unused = rand::rngs::SmallRng::seed_from_u64(0);
    append_augmented_window_features(audio, start, &AugmentConfig::default(), &mut unused, out);
}

/// Like [`append_window_features`], with the window's audio augmented by `augment_config`
/// (drawing one `u64` from `rng` whatever the config, so the window draws that follow do not
/// depend on it); feature masks, when configured, are applied to the window's features. Cost:
/// 312 front-end frames plus the augmentation (about 1.5 ms, all on).
pub fn append_augmented_window_features(
    audio: &[i16],
    start: u64,
    augment_config: &AugmentConfig,
    rng: &mut impl rand::Rng,
    out: &mut Vec<i8>,
) {
    let start = usize::try_from(start)
        .unwrap_or(usize::MAX)
        .min(audio.len());
    let needed = input_len_needed(WINDOW_SAMPLES, augment_config);
    let available = &audio[start..start.saturating_add(needed).min(audio.len())];
    let (samples, applied) = augment_with_report(available, WINDOW_SAMPLES, augment_config, rng);
    let mut window = Box::new([0_i16; WINDOW_SAMPLES]);
    window.copy_from_slice(&samples[..WINDOW_SAMPLES]);
    let mut plane: Box<FeaturePlane> = Box::new([[0; WINDOW_FRAMES]; BINS]);
    window_features(&window, &mut plane);
    if let Some(masks) = &applied.masks {
        mask_features(&mut plane, masks);
    }
    out.extend_from_slice(plane.as_flattened());
}

/// How examples are drawn: windows per stack, label mode, augmentation.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SamplerConfig {
    /// Windows stacked per example (the reference's 4).
    pub stack: usize,
    /// Where instrument labels come from.
    pub label_mode: LabelMode,
    /// Audio augmentation (off by default).
    pub augment: AugmentConfig,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        Self {
            stack: 4,
            label_mode: LabelMode::Window,
            augment: AugmentConfig::default(),
        }
    }
}

/// Draws one example from `recording` (whose 8 kHz audio is `audio`): `config.stack` windows,
/// their (possibly augmented) features, and labels per `config.label_mode`. Returns `None` if the
/// recording's composer is not a class. Cost: `stack` × 312 front-end frames (about 0.25 ms per
/// window on one core), plus augmentation when on.
pub fn draw_example(
    recording: &PreparedRecording,
    audio: &[i16],
    selection: &Selection,
    config: &SamplerConfig,
    rng: &mut impl rand::Rng,
) -> Option<Example> {
    let composer = selection.composer_index(&recording.composer)?;
    let (stack, mode) = (config.stack, config.label_mode);
    let starts = draw_starts(audio.len() as u64, stack, rng);
    let mut features = Vec::with_capacity(stack * WINDOW_FEATURES);
    for &start in &starts {
        append_augmented_window_features(audio, start, &config.augment, rng, &mut features);
    }
    let instruments = instrument_labels(recording, &starts, selection, mode);
    Some(Example {
        recording: recording.id,
        starts,
        features,
        composer,
        instruments,
    })
}

/// First `Balance` stream index of the per-epoch slot shuffles.
pub const SHUFFLE_STREAM: u64 = 1 << 32;

/// Which training slot (recording id) each example of epoch `epoch` uses: the selection's
/// training slots shuffled, reshuffled for every further pass when `examples` exceeds them.
/// Shared by the CNN trainer and the baselines. Cost: one shuffle per pass over the slots.
#[must_use]
pub fn epoch_slots(train: &[u32], examples: usize, seed: u64, epoch: u64) -> Vec<u32> {
    use crate::seed::{Purpose, rng_for};
    use rand::seq::SliceRandom;
    let mut slots = Vec::with_capacity(examples);
    let mut cycle = 0_u64;
    while slots.len() < examples && !train.is_empty() {
        let mut pass = train.to_vec();
        let mut rng = rng_for(
            seed,
            Purpose::Balance,
            SHUFFLE_STREAM + epoch * 1024 + cycle,
        );
        pass.shuffle(&mut rng);
        let missing = examples - slots.len();
        slots.extend(pass.into_iter().take(missing));
        cycle += 1;
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::musicnet::Split;
    use crate::prepare::cache::{InstrumentSpan, SourceInfo};
    use crate::prepare::select::SelectionRules;
    use crate::seed::{Purpose, rng_for};
    use std::path::PathBuf;

    const W: u64 = WINDOW_SAMPLES as u64;

    /// A 30 s recording: violin (41) throughout, piano (1) only in the first 6 s, flute (74,
    /// not a class) in the last 5 s.
    fn recording() -> PreparedRecording {
        PreparedRecording {
            id: 7,
            split: Split::Train,
            composer: "Mozart".into(),
            composition: "k1".into(),
            ensemble: String::new(),
            samples: 240_000,
            notes: 3,
            instruments: vec![1, 41, 74],
            spans: vec![
                InstrumentSpan {
                    program: 1,
                    start: 0,
                    end: 48_000,
                },
                InstrumentSpan {
                    program: 41,
                    start: 0,
                    end: 240_000,
                },
                InstrumentSpan {
                    program: 74,
                    start: 200_000,
                    end: 240_000,
                },
            ],
            source: SourceInfo {
                audio: PathBuf::new(),
                bytes: 0,
                rate_hz: 8_000,
                channels: 1,
            },
        }
    }

    fn selection() -> Selection {
        Selection {
            rules: SelectionRules::default(),
            composers: vec!["Bach".into(), "Mozart".into()],
            instruments: vec![1, 41],
            train: vec![7],
            validation: vec![],
            test: vec![],
            dropped_composers: vec![],
            dropped_instruments: vec![(74, 1)],
        }
    }

    #[test]
    fn window_labels_follow_the_notes_recording_labels_do_not() {
        let (r, s) = (recording(), selection());
        assert_eq!(
            instrument_labels(&r, &[100_000], &s, LabelMode::Window),
            vec![false, true]
        );
        assert_eq!(
            instrument_labels(&r, &[100_000], &s, LabelMode::Recording),
            vec![true, true]
        );
        assert_eq!(
            instrument_labels(&r, &[0], &s, LabelMode::Window),
            vec![true, true]
        );
        // Piano ends 100 samples into the window: less than one frame, not labelled.
        assert_eq!(
            instrument_labels(&r, &[48_000 - 100], &s, LabelMode::Window),
            vec![false, true]
        );
        assert_eq!(
            instrument_labels(&r, &[48_000 - 300], &s, LabelMode::Window),
            vec![true, true]
        );
        // A stack is labelled with the union of its windows.
        assert_eq!(
            instrument_labels(&r, &[0, 150_000], &s, LabelMode::Window),
            vec![true, true]
        );
    }

    #[test]
    fn starts_are_sorted_and_keep_windows_inside_the_recording() {
        let mut rng = rng_for(3, Purpose::Windows, 0);
        for _ in 0..200 {
            let starts = draw_starts(240_000, 4, &mut rng);
            assert_eq!(starts.len(), 4);
            assert!(starts.windows(2).all(|w| w[0] <= w[1]));
            assert!(starts.iter().all(|&s| s + W <= 240_000));
        }
        assert_eq!(
            draw_starts(1_000, 2, &mut rng),
            vec![0, 0],
            "short recordings start at 0"
        );
    }

    /// 30 s of a deterministic, spectrally busy signal (every bin has energy).
    fn busy_audio() -> Vec<i16> {
        (0..240_000)
            .map(|n| ((n * 7919) % 2001) as i16 - 1000)
            .collect()
    }

    #[test]
    fn examples_stack_front_end_planes_and_pad_short_audio() {
        let (r, s) = (recording(), selection());
        let audio = busy_audio();
        let mut rng = rng_for(5, Purpose::Windows, 1);
        let example = draw_example(&r, &audio, &s, &SamplerConfig::default(), &mut rng).unwrap();
        assert_eq!(example.features.len(), 4 * WINDOW_FEATURES);
        assert_eq!(example.composer, 1);
        let start = usize::try_from(example.starts[2]).unwrap();
        let window: Box<[i16; WINDOW_SAMPLES]> = audio[start..start + WINDOW_SAMPLES]
            .to_vec()
            .into_boxed_slice()
            .try_into()
            .unwrap();
        let mut plane: Box<FeaturePlane> = Box::new([[0; WINDOW_FRAMES]; BINS]);
        window_features(&window, &mut plane);
        assert_eq!(
            &example.features[2 * WINDOW_FEATURES..3 * WINDOW_FEATURES],
            plane.as_flattened()
        );

        let short = &audio[..10_000];
        let mut padded = Vec::new();
        append_window_features(short, 0, &mut padded);
        let last_frame: Vec<i8> = (0..BINS)
            .map(|bin| padded[bin * WINDOW_FRAMES + WINDOW_FRAMES - 1])
            .collect();
        assert!(
            last_frame.iter().all(|&c| c == i8::MIN),
            "zero padding is silence"
        );
    }

    #[test]
    fn augmentation_changes_features_but_not_labels_or_starts() {
        let (r, s) = (recording(), selection());
        let audio = busy_audio();
        let plain = SamplerConfig::default();
        let augmented = SamplerConfig {
            augment: AugmentConfig::preset_default_on(),
            ..SamplerConfig::default()
        };
        let a = draw_example(&r, &audio, &s, &plain, &mut rng_for(9, Purpose::Windows, 0)).unwrap();
        let b = draw_example(
            &r,
            &audio,
            &s,
            &augmented,
            &mut rng_for(9, Purpose::Windows, 0),
        )
        .unwrap();
        assert_eq!(
            (a.starts.clone(), a.instruments.clone()),
            (b.starts.clone(), b.instruments.clone())
        );
        assert_ne!(a.features, b.features);
        let again = draw_example(
            &r,
            &audio,
            &s,
            &augmented,
            &mut rng_for(9, Purpose::Windows, 0),
        )
        .unwrap();
        assert_eq!(b, again, "augmentation is seeded");
    }

    #[test]
    fn feature_masks_overwrite_bands_and_spans_with_one_value_per_window() {
        let (r, s) = (recording(), selection());
        let audio = busy_audio();
        let masked = SamplerConfig {
            augment: AugmentConfig {
                mask: Some(crate::augment::MaskRange::BENCHMARKED),
                ..AugmentConfig::default()
            },
            ..SamplerConfig::default()
        };
        let draw = |config: &SamplerConfig| {
            draw_example(&r, &audio, &s, config, &mut rng_for(3, Purpose::Windows, 0)).unwrap()
        };
        let (plain, masked) = (draw(&SamplerConfig::default()), draw(&masked));
        assert_eq!(
            (&plain.starts, &plain.instruments),
            (&masked.starts, &masked.instruments)
        );
        let mut changed = 0;
        for (p, m) in plain
            .features
            .chunks(WINDOW_FEATURES)
            .zip(masked.features.chunks(WINDOW_FEATURES))
        {
            let masked: Vec<i8> = p
                .iter()
                .zip(m)
                .filter(|(a, b)| a != b)
                .map(|(_, &b)| b)
                .collect();
            let fills: std::collections::BTreeSet<i8> = masked.iter().copied().collect();
            assert!(fills.len() <= 1, "one fill value per window: {fills:?}");
            changed += masked.len();
        }
        assert!(
            changed > 4 * 312,
            "the masks hide whole bins or frames ({changed} cells)"
        );
    }

    #[test]
    fn unknown_composers_give_no_example() {
        let mut r = recording();
        r.composer = "Haydn".into();
        let mut rng = rng_for(5, Purpose::Windows, 1);
        assert!(
            draw_example(
                &r,
                &[0; 100],
                &selection(),
                &SamplerConfig::default(),
                &mut rng
            )
            .is_none()
        );
    }
}
