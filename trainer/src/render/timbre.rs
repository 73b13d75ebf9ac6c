//! Timbre augmentation from one SoundFont: seeded per-piece changes to how each *part* (all notes
//! of one written General MIDI program) sounds, while its labels keep the written instrument.
//!
//! - **Part swaps** (`--part-swap P`): with probability `P` per part and piece, the part plays
//!   with a related program of the same family ([`related_programs`]: a violin part with the
//!   SoundFont's viola, fiddle or string-ensemble samples, a flute part with its piccolo or
//!   recorder, ...). The network then hears more than one sample set per labelled instrument,
//!   which is what a model meant for other SoundFonts and real recordings needs; register and
//!   playing style still tell the written instrument apart.
//! - **Part balance** (`--part-velocity-jitter V`): every part's velocities move by one offset
//!   drawn per part from `-V..=V`, so the relative loudness (and brightness) of the instruments
//!   changes from piece to piece, as it does between SoundFonts and between recordings.
//!
//! Both draw from their own streams of [`super::augment::piece_rng`], visiting the written programs
//! in ascending order, so a piece's choices depend only on the seed, its id, its programs and the
//! programs the SoundFont has.

use super::augment::{Stream, piece_rng};
use super::schedule::{Command, Event};
use rand::RngExt;
use rand::seq::IndexedRandom;
use std::collections::{BTreeMap, BTreeSet};

/// Seeded per-part timbre changes of one rendering.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PartJitter {
    /// Probability, in `[0, 1]`, that a part plays with a related program instead of its own.
    pub swap: f64,
    /// Largest per-part velocity offset, in MIDI steps.
    pub velocity: u8,
}

/// The programs (0-based General MIDI) a part written for `program` may play with under a part
/// swap: the same family, never another family the labels distinguish by sound alone (no string
/// part plays with a wind sample). Empty for programs without a table entry. Cost: a match.
#[must_use]
pub fn related_programs(program: u8) -> &'static [u8] {
    match program {
        // Acoustic Grand, Bright Acoustic, Electric Grand.
        0 => &[1, 2],
        1 => &[0, 2],
        2 => &[0, 1],
        // Harpsichord: Clavinet, Orchestral Harp (other plucked strings).
        6 => &[7, 46],
        // Violin: Viola, Fiddle, String Ensembles 1 and 2.
        40 => &[41, 110, 48, 49],
        // Viola: Violin, Cello, String Ensembles.
        41 => &[40, 42, 48, 49],
        // Cello: Viola, Contrabass, String Ensembles.
        42 => &[41, 43, 48, 49],
        // Contrabass: Cello, String Ensembles.
        43 => &[42, 48, 49],
        // French Horn: Trombone, Tuba, Brass Section.
        60 => &[57, 58, 61],
        // Oboe: English Horn, Bassoon (double reeds).
        68 => &[69, 70],
        // Bassoon: Oboe, English Horn.
        70 => &[68, 69],
        // Clarinet: Alto and Tenor Sax (single reeds).
        71 => &[65, 66],
        // Flute: Piccolo, Recorder, Pan Flute.
        73 => &[72, 74, 75],
        _ => &[],
    }
}

impl PartJitter {
    /// The program each written program of piece `id` sounds with: itself, or with probability
    /// `swap` one of its [`related_programs`] that `available` accepts (the SoundFont has it),
    /// drawn uniformly. Written programs are visited in ascending order. Cost: one or two draws
    /// per written program.
    #[must_use]
    pub fn sounding_programs(
        &self,
        seed: u64,
        id: u32,
        written: &BTreeSet<u8>,
        available: impl Fn(u8) -> bool,
    ) -> BTreeMap<u8, u8> {
        let mut rng = piece_rng(seed, id, Stream::PartProgram);
        written
            .iter()
            .map(|&program| {
                let mut sounding = program;
                if rng.random::<f64>() < self.swap {
                    let choices: Vec<u8> = related_programs(program)
                        .iter()
                        .copied()
                        .filter(|&p| available(p))
                        .collect();
                    sounding = choices.choose(&mut rng).copied().unwrap_or(program);
                }
                (program, sounding)
            })
            .collect()
    }

    /// The velocity offset of each written program of piece `id`, drawn uniformly from
    /// `-velocity..=velocity` in ascending program order. Cost: one draw per program.
    #[must_use]
    pub fn velocity_offsets(
        &self,
        seed: u64,
        id: u32,
        written: &BTreeSet<u8>,
    ) -> BTreeMap<u8, i16> {
        let spread = i16::from(self.velocity);
        let mut rng = piece_rng(seed, id, Stream::PartVelocity);
        written
            .iter()
            .map(|&program| (program, rng.random_range(-spread..=spread)))
            .collect()
    }
}

/// Moves each note's velocity (`velocities[i]`, written program `programs[i]`) by its part's
/// offset, kept within `1..=127`. Notes without an offset are left alone. Cost: one pass.
pub fn offset_velocities(velocities: &mut [u8], programs: &[u8], offsets: &BTreeMap<u8, i16>) {
    for (velocity, program) in velocities.iter_mut().zip(programs) {
        if let Some(&offset) = offsets.get(program) {
            // Clamped to 1..=127, so the cast is lossless.
            *velocity = (i16::from(*velocity) + offset).clamp(1, 127) as u8;
        }
    }
}

/// Makes every note-on of `events` select its part's sounding program (`sounding`, from
/// [`PartJitter::sounding_programs`]); programs without an entry are kept. Labels are made from
/// the performance, not from these commands, so they keep the written program. Cost: one pass.
pub fn play_parts_as(events: &mut [Event], sounding: &BTreeMap<u8, u8>) {
    for event in events {
        if let Command::NoteOn { program, .. } = &mut event.command
            && let Some(&to) = sounding.get(program)
        {
            *program = to;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written() -> BTreeSet<u8> {
        [0, 6, 40, 41, 42, 43, 60, 68, 71, 73, 100]
            .into_iter()
            .collect()
    }

    #[test]
    fn no_swap_keeps_every_program() {
        let jitter = PartJitter::default();
        let map = jitter.sounding_programs(1, 3000, &written(), |_| true);
        assert!(map.iter().all(|(w, s)| w == s), "{map:?}");
    }

    #[test]
    fn a_certain_swap_picks_a_related_available_program() {
        let jitter = PartJitter {
            swap: 1.0,
            velocity: 0,
        };
        for id in 0..50 {
            // The SoundFont lacks program 110 (Fiddle).
            let map = jitter.sounding_programs(7, id, &written(), |p| p != 110);
            for (&w, &s) in &map {
                if related_programs(w).is_empty() {
                    assert_eq!(w, s, "program {w} has no relatives");
                } else {
                    assert!(related_programs(w).contains(&s), "{w} -> {s}");
                    assert_ne!(s, 110);
                }
            }
        }
        // Every relative of the violin that the SoundFont has is drawn at some point.
        let drawn: BTreeSet<u8> = (0..200)
            .map(|id| jitter.sounding_programs(7, id, &written(), |p| p != 110)[&40])
            .collect();
        assert_eq!(drawn, [41, 48, 49].into_iter().collect());
        // Without any relative in the SoundFont the part keeps its program.
        let map = jitter.sounding_programs(7, 1, &written(), |p| p == 40);
        assert_eq!(map[&40], 40);
    }

    #[test]
    fn choices_depend_on_seed_and_id_and_swap_about_as_often_as_asked() {
        let jitter = PartJitter {
            swap: 0.5,
            velocity: 12,
        };
        let w = written();
        let a = jitter.sounding_programs(3, 3000, &w, |_| true);
        assert_eq!(a, jitter.sounding_programs(3, 3000, &w, |_| true));
        let swapped: usize = (0..400)
            .map(|id| {
                let map = jitter.sounding_programs(3, id, &w, |_| true);
                map.iter().filter(|(w, s)| w != s).count()
            })
            .sum();
        // 10 of the 11 written programs have relatives: about 0.5 × 10 × 400 = 2000 swaps.
        assert!((1800..2200).contains(&swapped), "{swapped}");
        let offsets = jitter.velocity_offsets(3, 3000, &w);
        assert_eq!(offsets, jitter.velocity_offsets(3, 3000, &w));
        assert_ne!(offsets, jitter.velocity_offsets(4, 3000, &w));
        assert!(offsets.values().all(|o| (-12..=12).contains(o)));
        assert_eq!(offsets.len(), w.len());
    }

    #[test]
    fn offsets_move_whole_parts_within_the_midi_range() {
        let offsets: BTreeMap<u8, i16> = [(40, 20), (42, -30)].into_iter().collect();
        let mut velocities = [100, 120, 10, 64, 50];
        offset_velocities(&mut velocities, &[40, 40, 42, 42, 73], &offsets);
        assert_eq!(velocities, [120, 127, 1, 34, 50]);
    }

    #[test]
    fn note_ons_play_the_sounding_program_and_nothing_else_changes() {
        let on = |program| Command::NoteOn {
            channel: 0,
            key: 60,
            velocity: 90,
            program,
        };
        let mut events = vec![
            Event {
                sample: 0,
                command: on(40),
            },
            Event {
                sample: 5,
                command: Command::Control {
                    channel: 0,
                    controller: 7,
                    value: 100,
                },
            },
            Event {
                sample: 9,
                command: on(73),
            },
            Event {
                sample: 10,
                command: Command::NoteOff {
                    channel: 0,
                    key: 60,
                },
            },
        ];
        let before = events.clone();
        play_parts_as(&mut events, &[(40, 48)].into_iter().collect());
        assert_eq!(events[0].command, on(48));
        assert_eq!(&events[1..], &before[1..]);
    }
}
