//! Per-part colouring (`--part-eq`, `--part-tilt`, `--part-gain`): every part of a piece (the
//! notes of one sounding program) is rendered alone, coloured with its own drawn
//! [`Coloring`], and the parts are summed.
//!
//! Splitting is exact for notes: each note-on goes to its program's part, and each note-off to
//! the part of the note it ends (tracked per channel and key). Controller changes go to every
//! part (a controller of a channel that a part does not use changes nothing in it). The
//! synthesizer is linear in its voices (reverb and chorus included), so with the identity
//! colouring the sum equals the one-pass rendering up to float rounding and the release tails
//! (each part's tail stops when *it* falls silent).
//!
//! Cost: one synthesizer per part, so reverb and chorus run once per part (rendering takes
//! about 1.5 to 3 times as long as one pass), plus the colouring filters (about 0.2 µs per
//! sample per part) and one part's audio in memory beside the mix.

use super::augment::{Stream, piece_rng};
use super::schedule::{Command, Event};
use super::synth::{Stereo, SynthConfig, Tail, play};
use crate::augment::{Coloring, ColoringRange};
use rustysynth::SoundFont;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The colouring of every sounding program of piece `id`, drawn from `range` in ascending
/// program order from the piece's own stream. Cost: a few draws per program.
#[must_use]
pub fn part_colorings(
    range: &ColoringRange,
    seed: u64,
    id: u32,
    programs: impl IntoIterator<Item = u8>,
) -> BTreeMap<u8, Coloring> {
    let mut rng = piece_rng(seed, id, Stream::PartColor);
    let mut programs: Vec<u8> = programs.into_iter().collect();
    programs.sort_unstable();
    programs.dedup();
    programs
        .into_iter()
        .map(|program| (program, Coloring::draw(range, &mut rng)))
        .collect()
}

/// `events` split by the sounding program of their notes (see the module documentation), in
/// program order; every part keeps the events' order. Cost: one pass, one copy of each note
/// event and one of each controller change per part.
#[must_use]
pub fn split_by_program(events: &[Event]) -> BTreeMap<u8, Vec<Event>> {
    let mut parts: BTreeMap<u8, Vec<Event>> = BTreeMap::new();
    for event in events {
        if let Command::NoteOn { program, .. } = event.command {
            parts.entry(program).or_default();
        }
    }
    let mut sounding: HashMap<(u8, u8), u8> = HashMap::new();
    for event in events {
        match event.command {
            Command::NoteOn {
                channel,
                key,
                program,
                ..
            } => {
                sounding.insert((channel, key), program);
                parts.entry(program).or_default().push(*event);
            }
            Command::NoteOff { channel, key } => {
                if let Some(program) = sounding.remove(&(channel, key)) {
                    parts.entry(program).or_default().push(*event);
                }
            }
            Command::Control { .. } => {
                for part in parts.values_mut() {
                    part.push(*event);
                }
            }
        }
    }
    parts
}

/// Renders every part of `events` alone with [`play`], colours it with its program's entry of
/// `colorings` (parts without one stay as they are), and returns the sum, as long as the
/// longest part. Cost: see the module documentation.
pub fn play_colored(
    font: &Arc<SoundFont>,
    config: SynthConfig,
    events: &[Event],
    min_samples: u64,
    tail: Tail,
    colorings: &BTreeMap<u8, Coloring>,
) -> Result<Stereo, String> {
    let rate_hz = config.rate_hz as f32;
    let parts = split_by_program(events);
    if parts.is_empty() {
        // No notes: nothing to colour, but the silence and controller changes still play.
        return play(font, config, events, min_samples, tail);
    }
    let mut mix = Stereo::default();
    for (program, part) in parts {
        let mut audio = play(font, config, &part, min_samples, tail)?;
        if let Some(coloring) = colorings.get(&program) {
            coloring.apply(&mut audio.left, rate_hz);
            coloring.apply(&mut audio.right, rate_hz);
        }
        add_into(&mut mix, &audio);
    }
    Ok(mix)
}

/// Adds `part` into `mix`, lengthening `mix` with silence where `part` is longer.
fn add_into(mix: &mut Stereo, part: &Stereo) {
    for (mix, part) in [(&mut mix.left, &part.left), (&mut mix.right, &part.right)] {
        if part.len() > mix.len() {
            mix.resize(part.len(), 0.0);
        }
        for (m, p) in mix.iter_mut().zip(part) {
            *m += p;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(sample: u64, command: Command) -> Event {
        Event { sample, command }
    }

    fn on(channel: u8, key: u8, program: u8) -> Command {
        Command::NoteOn {
            channel,
            key,
            velocity: 90,
            program,
        }
    }

    #[test]
    fn notes_go_to_their_program_and_controls_to_every_part() {
        let volume = Command::Control {
            channel: 0,
            controller: 7,
            value: 100,
        };
        let events = [
            at(0, on(0, 60, 40)),
            at(0, on(1, 72, 73)),
            at(5, volume),
            at(
                10,
                Command::NoteOff {
                    channel: 0,
                    key: 60,
                },
            ),
            // The channel changes program: the next note and its note-off belong to the flute.
            at(12, on(0, 60, 73)),
            at(
                20,
                Command::NoteOff {
                    channel: 1,
                    key: 72,
                },
            ),
            at(
                30,
                Command::NoteOff {
                    channel: 0,
                    key: 60,
                },
            ),
            // A note-off of nothing sounding goes nowhere.
            at(31, Command::NoteOff { channel: 5, key: 1 }),
        ];
        let parts = split_by_program(&events);
        assert_eq!(parts.keys().copied().collect::<Vec<_>>(), vec![40, 73]);
        assert_eq!(parts[&40], vec![events[0], events[2], events[3]]);
        assert_eq!(
            parts[&73],
            vec![events[1], events[2], events[4], events[5], events[6]]
        );
    }

    #[test]
    fn colorings_are_drawn_per_sounding_program_from_seed_and_id() {
        let range = ColoringRange {
            gain_db: 6.0,
            ..ColoringRange::default()
        };
        let a = part_colorings(&range, 1, 3000, [73, 40, 73]);
        assert_eq!(a.keys().copied().collect::<Vec<_>>(), vec![40, 73]);
        assert_eq!(a, part_colorings(&range, 1, 3000, [40, 73]));
        assert_ne!(a, part_colorings(&range, 2, 3000, [40, 73]));
        assert_ne!(a, part_colorings(&range, 1, 3001, [40, 73]));
        assert_ne!(a[&40], a[&73]);
    }
}
