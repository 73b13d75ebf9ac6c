//! The reference's selection rules: which composers and instruments become classes, which
//! recordings train, validate and test, and how composers are balanced.
//!
//! 1. Composers with fewer than `min_composer_recordings` recordings (train and test together)
//!    are dropped with their recordings.
//! 2. Instruments playing in fewer than `min_instrument_recordings` of the remaining recordings
//!    are dropped from the instrument classes (the recordings stay, without that label).
//! 3. Validation: `validation_share` of each composer's MusicNet-train recordings, chosen **by
//!    piece**: recordings of one composition (its movements, which in MusicNet also share a
//!    performance) go to the same side. Where a composer's recordings all carry one composition
//!    value (the corpus files every Bach chorale under `bach`), that value names no work, and the
//!    recordings are split one by one. Stratified per composer, so every composer with two or
//!    more pieces is validated.
//! 4. Balance (training side only): each composer's recordings are capped at
//!    `recordings_per_composer` (a seeded subset) or oversampled up to it (the shuffled list
//!    repeated), so every composer contributes the same number of recording slots. 0 turns it off.
//! 5. Test: MusicNet's test split, untouched.

use super::cache::PreparedIndex;
use crate::musicnet::Split;
use crate::seed::{Purpose, rng_for};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The rules' parameters (defaults: the reference's).
#[derive(clap::Args, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelectionRules {
    /// Drop instruments that play in fewer recordings than this.
    #[arg(long, default_value_t = 10)]
    pub min_instrument_recordings: usize,
    /// Drop composers with fewer recordings than this.
    #[arg(long, default_value_t = 5)]
    pub min_composer_recordings: usize,
    /// Cap, and oversample up to, this many training recordings per composer (0: off).
    #[arg(long, default_value_t = 85)]
    pub recordings_per_composer: usize,
    /// Share of each composer's training recordings held out for validation, by piece.
    #[arg(long, default_value_t = 0.3)]
    pub validation_share: f64,
    /// Seed of the validation split and the balancing.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl Default for SelectionRules {
    fn default() -> Self {
        Self {
            min_instrument_recordings: 10,
            min_composer_recordings: 5,
            recordings_per_composer: 85,
            validation_share: 0.3,
            seed: 0,
        }
    }
}

/// The outcome: class lists and recording ids per role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// The rules that produced it.
    pub rules: SelectionRules,
    /// Composer classes, in class-index order (sorted by name).
    pub composers: Vec<String>,
    /// Instrument classes as 1-based GM programs, in class-index order (ascending).
    pub instruments: Vec<u8>,
    /// Training recording slots (ids; repeats from oversampling), sorted.
    pub train: Vec<u32>,
    /// Validation recordings, sorted.
    pub validation: Vec<u32>,
    /// Test recordings, sorted.
    pub test: Vec<u32>,
    /// Dropped composers with their recording counts.
    pub dropped_composers: Vec<(String, usize)>,
    /// Dropped instruments with the number of recordings they play in.
    pub dropped_instruments: Vec<(u8, usize)>,
}

impl Selection {
    /// Class index of `composer`, if it is a class.
    #[must_use]
    pub fn composer_index(&self, composer: &str) -> Option<usize> {
        self.composers.iter().position(|c| c == composer)
    }

    /// Class index of GM program `program`, if it is a class.
    #[must_use]
    pub fn instrument_index(&self, program: u8) -> Option<usize> {
        self.instruments.iter().position(|&p| p == program)
    }
}

/// Applies `rules` to the prepared recordings. Deterministic for a given seed. Cost: sorting.
#[must_use]
pub fn select(index: &PreparedIndex, rules: &SelectionRules) -> Selection {
    // 1. Composers.
    let mut per_composer: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &index.recordings {
        *per_composer.entry(r.composer.as_str()).or_default() += 1;
    }
    let (kept, dropped): (Vec<_>, Vec<_>) = per_composer
        .into_iter()
        .partition(|&(_, n)| n >= rules.min_composer_recordings);
    let composers: Vec<String> = kept.iter().map(|(c, _)| (*c).to_string()).collect();
    let dropped_composers = dropped
        .into_iter()
        .map(|(c, n)| (c.to_string(), n))
        .collect();
    let recordings: Vec<_> = index
        .recordings
        .iter()
        .filter(|r| composers.contains(&r.composer))
        .collect();

    // 2. Instruments.
    let mut per_instrument: BTreeMap<u8, usize> = BTreeMap::new();
    for r in &recordings {
        for &program in &r.instruments {
            *per_instrument.entry(program).or_default() += 1;
        }
    }
    let instruments = per_instrument
        .iter()
        .filter(|&(_, &n)| n >= rules.min_instrument_recordings)
        .map(|(&p, _)| p)
        .collect();
    let dropped_instruments = per_instrument
        .into_iter()
        .filter(|&(_, n)| n < rules.min_instrument_recordings)
        .collect();

    // 3. Validation by piece, stratified by composer.
    let mut train = Vec::new();
    let mut validation = Vec::new();
    for (composer_index, composer) in composers.iter().enumerate() {
        let mut pieces: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        for r in recordings
            .iter()
            .filter(|r| &r.composer == composer && r.split == Split::Train)
        {
            pieces.entry(r.composition.as_str()).or_default().push(r.id);
        }
        let total: usize = pieces.values().map(Vec::len).sum();
        let mut pieces: Vec<Vec<u32>> = if pieces.len() == 1 {
            pieces.into_values().flatten().map(|id| vec![id]).collect()
        } else {
            pieces.into_values().collect()
        };
        let mut rng = rng_for(rules.seed, Purpose::ValidationSplit, composer_index as u64);
        pieces.shuffle(&mut rng);
        let wanted = (rules.validation_share * total as f64).round() as usize;
        let mut held = 0;
        let mut composer_train = Vec::new();
        // Hold out whole pieces (in seeded order) whenever that brings the held-out count closer
        // to the share, always leaving one piece to train on.
        let piece_count = pieces.len();
        for (i, piece) in pieces.into_iter().enumerate() {
            let closer = (held + piece.len()).abs_diff(wanted) < held.abs_diff(wanted);
            let training_left = !composer_train.is_empty() || i + 1 < piece_count;
            if closer && training_left {
                held += piece.len();
                validation.extend(piece);
            } else {
                composer_train.extend(piece);
            }
        }
        // 4. Balance.
        composer_train.sort_unstable();
        let mut rng = rng_for(rules.seed, Purpose::Balance, composer_index as u64);
        train.extend(balance(
            composer_train,
            rules.recordings_per_composer,
            &mut rng,
        ));
    }
    train.sort_unstable();
    validation.sort_unstable();
    let test = recordings
        .iter()
        .filter(|r| r.split == Split::Test)
        .map(|r| r.id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Selection {
        rules: rules.clone(),
        composers,
        instruments,
        train,
        validation,
        test,
        dropped_composers,
        dropped_instruments,
    }
}

/// Caps `ids` at `target` (seeded subset) or repeats the shuffled list up to `target`; `target`
/// 0 returns `ids` as they are.
fn balance(mut ids: Vec<u32>, target: usize, rng: &mut impl rand::Rng) -> Vec<u32> {
    if target == 0 || ids.is_empty() {
        return ids;
    }
    ids.shuffle(rng);
    if ids.len() >= target {
        ids.truncate(target);
        return ids;
    }
    ids.iter().copied().cycle().take(target).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prepare::cache::{PreparedRecording, SourceInfo};
    use std::path::PathBuf;

    fn recording(
        id: u32,
        composer: &str,
        composition: &str,
        split: Split,
        instruments: &[u8],
    ) -> PreparedRecording {
        PreparedRecording {
            id,
            split,
            composer: composer.into(),
            composition: composition.into(),
            ensemble: String::new(),
            samples: 80_000,
            notes: 1,
            instruments: instruments.to_vec(),
            spans: Vec::new(),
            source: SourceInfo {
                audio: PathBuf::new(),
                bytes: 0,
                rate_hz: 44_100,
                channels: 1,
            },
        }
    }

    /// Bach: 12 train recordings in 6 two-movement pieces + 2 test; Haydn: 3 train; Mozart: 6
    /// train pieces. Violin everywhere, horn in 2 recordings.
    fn index() -> PreparedIndex {
        let mut recordings = Vec::new();
        for i in 0..12 {
            recordings.push(recording(
                100 + i,
                "Bach",
                &format!("bwv{}", i / 2),
                Split::Train,
                &[41],
            ));
        }
        recordings.push(recording(200, "Bach", "bwv99", Split::Test, &[41, 61]));
        recordings.push(recording(201, "Bach", "bwv98", Split::Test, &[41]));
        for i in 0..3 {
            recordings.push(recording(
                300 + i,
                "Haydn",
                &format!("op{i}"),
                Split::Train,
                &[41],
            ));
        }
        for i in 0..6 {
            let instruments: &[u8] = if i == 0 { &[1, 61] } else { &[1] };
            recordings.push(recording(
                400 + i,
                "Mozart",
                &format!("k{i}"),
                Split::Train,
                instruments,
            ));
        }
        PreparedIndex {
            format_version: 1,
            rate_hz: 8000,
            source_dir: PathBuf::new(),
            recordings,
        }
    }

    fn rules() -> SelectionRules {
        SelectionRules {
            min_instrument_recordings: 3,
            min_composer_recordings: 5,
            recordings_per_composer: 0,
            validation_share: 0.3,
            seed: 1,
        }
    }

    fn composer_of(id: u32) -> &'static str {
        match id / 100 {
            1 | 2 => "Bach",
            3 => "Haydn",
            _ => "Mozart",
        }
    }

    #[test]
    fn small_composers_and_rare_instruments_are_dropped() {
        let s = select(&index(), &rules());
        assert_eq!(s.composers, vec!["Bach", "Mozart"]);
        assert_eq!(s.dropped_composers, vec![("Haydn".to_string(), 3)]);
        assert_eq!(s.instruments, vec![1, 41]);
        assert_eq!(s.dropped_instruments, vec![(61, 2)]);
        assert!(
            s.train
                .iter()
                .chain(&s.validation)
                .chain(&s.test)
                .all(|&id| composer_of(id) != "Haydn")
        );
        assert_eq!(s.test, vec![200, 201]);
    }

    #[test]
    fn validation_takes_whole_pieces_per_composer() {
        let s = select(&index(), &rules());
        // Bach: 30% of 12 = 4 recordings = 2 pieces; Mozart: 30% of 6 ≈ 2 pieces.
        let bach_validation: Vec<u32> = s
            .validation
            .iter()
            .copied()
            .filter(|&id| composer_of(id) == "Bach")
            .collect();
        let mozart_validation = s
            .validation
            .iter()
            .filter(|&&id| composer_of(id) == "Mozart")
            .count();
        assert_eq!(bach_validation.len(), 4);
        assert_eq!(mozart_validation, 2);
        for id in &bach_validation {
            let partner = if id % 2 == 0 { id + 1 } else { id - 1 };
            assert!(
                bach_validation.contains(&partner),
                "movements of one piece stay together"
            );
        }
        assert!(
            s.train.iter().all(|id| !s.validation.contains(id)),
            "no recording on both sides"
        );
    }

    #[test]
    fn one_composition_value_for_everything_splits_by_recording() {
        let mut index = index();
        for r in &mut index.recordings {
            if r.composer == "Bach" {
                r.composition = "bach".into();
            }
        }
        let s = select(&index, &rules());
        let bach = s
            .validation
            .iter()
            .filter(|&&id| composer_of(id) == "Bach")
            .count();
        assert_eq!(bach, 4, "30% of 12 recordings, one by one");
    }

    #[test]
    fn balancing_caps_and_oversamples_to_the_target() {
        let s = select(
            &index(),
            &SelectionRules {
                recordings_per_composer: 6,
                ..rules()
            },
        );
        let bach = s
            .train
            .iter()
            .filter(|&&id| composer_of(id) == "Bach")
            .count();
        let mozart: Vec<u32> = s
            .train
            .iter()
            .copied()
            .filter(|&id| composer_of(id) == "Mozart")
            .collect();
        assert_eq!(bach, 6, "8 Bach training recordings capped at 6");
        assert_eq!(
            mozart.len(),
            6,
            "4 Mozart training recordings oversampled to 6"
        );
        let distinct: BTreeSet<u32> = mozart.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            4,
            "every Mozart recording is used before any repeats twice"
        );
    }

    #[test]
    fn selection_is_seeded() {
        let a = select(&index(), &rules());
        assert_eq!(a, select(&index(), &rules()));
        let others: Vec<Selection> = (2..6)
            .map(|seed| select(&index(), &SelectionRules { seed, ..rules() }))
            .collect();
        assert!(
            others.iter().any(|b| b.validation != a.validation),
            "another seed picks other pieces"
        );
    }
}
