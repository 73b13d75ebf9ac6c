//! From played notes to synthesizer commands: which of the synthesizer's 16 channels plays each
//! note, and the time-ordered list of note-on, note-off and controller commands.
//!
//! rustysynth's note-off stops *every* voice of a (channel, key), so two overlapping notes of one
//! pitch on one channel cannot be ended separately. Each score voice therefore gets a channel of
//! its own, and a note that would overlap a sounding note of the same key gets a further channel
//! (carrying the voice's program and controllers), so every note sounds for exactly its labelled
//! span. Only when all 15 melodic channels are taken (channel 10 is the synthesizer's percussion
//! channel and never used) is the earlier note cut short at the later onset, and its label with
//! it (counted); a voice that finds no channel at all shares one (counted). The program is sent
//! just before each note-on that needs it, so a note always sounds with its labelled program.
//!
//! At one sample, note-offs come first, then controller changes, then note-ons.

use super::perform::Performance;
use std::collections::BTreeMap;

/// The synthesizer channels used for melodic voices (all but the percussion channel, index 9).
const MELODIC_CHANNELS: [u8; 15] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15];

/// Number of MIDI keys.
const KEYS: usize = 128;

/// A synthesizer command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Release `key` on `channel`.
    NoteOff {
        /// Synthesizer channel.
        channel: u8,
        /// Key.
        key: u8,
    },
    /// Set a controller of `channel`.
    Control {
        /// Synthesizer channel.
        channel: u8,
        /// Controller number.
        controller: u8,
        /// Value.
        value: u8,
    },
    /// Select `program` on `channel` (if not already selected) and strike `key`.
    NoteOn {
        /// Synthesizer channel.
        channel: u8,
        /// Key.
        key: u8,
        /// Velocity, 1..=127.
        velocity: u8,
        /// General MIDI program, 0-based.
        program: u8,
    },
}

impl Command {
    /// Order among commands at the same sample: note-offs, controllers, note-ons.
    fn rank(self) -> u8 {
        match self {
            Self::NoteOff { .. } => 0,
            Self::Control { .. } => 1,
            Self::NoteOn { .. } => 2,
        }
    }
}

/// A command at a sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// When, in audio samples from the start.
    pub sample: u64,
    /// What.
    pub command: Command,
}

/// The commands of one rendering, and what the channel allocation had to give up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schedule {
    /// Commands sorted by sample (and by kind within a sample).
    pub events: Vec<Event>,
    /// Notes cut short because no channel was free (their labels were cut too).
    pub cut_notes: usize,
    /// Notes dropped because a cut left nothing of them (dropped from the labels too).
    pub dropped_notes: usize,
    /// Score voices that had to share a channel with another voice.
    pub shared_voices: usize,
    /// Synthesizer channels used.
    pub channels_used: usize,
}

/// One synthesizer channel during allocation.
struct ChannelState {
    channel: u8,
    /// The note (index) last started on each key.
    sounding: [Option<usize>; KEYS],
}

/// A score voice during allocation.
#[derive(Default)]
struct VoiceState {
    /// Indices into the channel list.
    channels: Vec<usize>,
    /// Current value of each kept controller, by controller number.
    controls: BTreeMap<u8, u8>,
}

/// Allocates channels to the notes of `performance` and lists the commands that play them.
/// Notes cut short or dropped (see the module doc) are changed or removed in `performance`, so
/// its notes stay exactly what is played. Cost: O(notes × channels per voice) plus a sort.
pub fn schedule(performance: &mut Performance) -> Schedule {
    let notes = &mut performance.notes;
    let mut channels: Vec<ChannelState> = Vec::new();
    let mut voices: BTreeMap<_, VoiceState> = BTreeMap::new();
    let mut assigned: Vec<usize> = Vec::with_capacity(notes.len());
    let mut dropped = vec![false; notes.len()];
    let mut timed: Vec<(u64, u8, usize, Command)> = Vec::new();
    let mut result = Schedule::default();
    let mut next_control = 0;
    let mut seq = 0usize;
    let mut push = |timed: &mut Vec<_>, sample: u64, command: Command| {
        timed.push((sample, command.rank(), seq, command));
        seq += 1;
    };

    for i in 0..notes.len() {
        let note = notes[i];
        // Controller changes up to this onset go to every channel of their voice.
        while let Some(control) = performance.controls.get(next_control) {
            if control.sample > note.start {
                break;
            }
            next_control += 1;
            let voice = voices.entry(control.voice).or_default();
            voice.controls.insert(control.controller, control.value);
            for &c in &voice.channels {
                let command = Command::Control {
                    channel: channels[c].channel,
                    controller: control.controller,
                    value: control.value,
                };
                push(&mut timed, control.sample, command);
            }
        }
        let voices_seen = voices.len();
        let voice = voices.entry(note.voice).or_default();
        let key = usize::from(note.key);
        let free =
            |c: &usize| channels[*c].sounding[key].is_none_or(|j| notes[j].end <= note.start);
        let channel = if let Some(c) = voice.channels.iter().copied().find(free) {
            c
        } else {
            let attached = if channels.len() < MELODIC_CHANNELS.len() {
                channels.push(ChannelState {
                    channel: MELODIC_CHANNELS[channels.len()],
                    sounding: [None; KEYS],
                });
                Some(channels.len() - 1)
            } else if voice.channels.is_empty() {
                // More voices than channels: share one, chosen by voice order.
                result.shared_voices += 1;
                Some(voices_seen % MELODIC_CHANNELS.len())
            } else {
                None
            };
            match attached {
                Some(c) => {
                    voice.channels.push(c);
                    for (&controller, &value) in &voice.controls {
                        let command = Command::Control {
                            channel: channels[c].channel,
                            controller,
                            value,
                        };
                        push(&mut timed, note.start, command);
                    }
                    if let Some(j) = channels[c].sounding[key]
                        && notes[j].end > note.start
                    {
                        cut(notes, j, i, &mut dropped, &mut result);
                    }
                    c
                }
                None => {
                    // Every channel of the voice holds this key: cut the note ending first.
                    let c = voice
                        .channels
                        .iter()
                        .copied()
                        .min_by_key(|&c| channels[c].sounding[key].map_or(0, |j| notes[j].end))
                        .unwrap_or(0);
                    if let Some(j) = channels[c].sounding[key] {
                        cut(notes, j, i, &mut dropped, &mut result);
                    }
                    c
                }
            }
        };
        channels[channel].sounding[key] = Some(i);
        assigned.push(channel);
    }

    for (i, note) in notes.iter().enumerate() {
        if dropped[i] {
            continue;
        }
        let channel = channels[assigned[i]].channel;
        let on = Command::NoteOn {
            channel,
            key: note.key,
            velocity: note.velocity,
            program: note.program,
        };
        push(&mut timed, note.start, on);
        let off = Command::NoteOff {
            channel,
            key: note.key,
        };
        push(&mut timed, note.end, off);
    }
    timed.sort_by_key(|&(sample, rank, seq, _)| (sample, rank, seq));
    result.events = timed
        .into_iter()
        .map(|(sample, _, _, command)| Event { sample, command })
        .collect();
    result.channels_used = channels.len();
    let mut index = 0;
    notes.retain(|_| {
        index += 1;
        !dropped[index - 1]
    });
    result
}

/// Ends note `j` at the onset of note `i` (which needs its channel and key).
fn cut(
    notes: &mut [super::perform::PlayedNote],
    j: usize,
    i: usize,
    dropped: &mut [bool],
    result: &mut Schedule,
) {
    let onset = notes[i];
    let note = &mut notes[j];
    note.end = onset.start;
    note.end_seconds = onset.start_seconds;
    note.end_tick = onset.start_tick.max(note.start_tick);
    if note.end <= note.start {
        dropped[j] = true;
        result.dropped_notes += 1;
    } else {
        result.cut_notes += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::midi::VoiceId;
    use crate::render::perform::{PlayedControl, PlayedNote};

    fn note(voice: u16, key: u8, start: u64, end: u64) -> PlayedNote {
        PlayedNote {
            start,
            end,
            start_seconds: start as f64,
            end_seconds: end as f64,
            start_tick: start,
            end_tick: end,
            key,
            velocity: 100,
            program: 40,
            voice: VoiceId {
                track: voice,
                channel: 0,
            },
        }
    }

    fn channels_of(schedule: &Schedule) -> Vec<(u64, u8)> {
        schedule
            .events
            .iter()
            .filter_map(|e| match e.command {
                Command::NoteOn { channel, .. } => Some((e.sample, channel)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn overlapping_notes_of_one_key_get_their_own_channels() {
        let mut performance = Performance {
            notes: vec![
                note(1, 60, 0, 100),
                note(1, 60, 50, 80),
                note(1, 60, 100, 120),
            ],
            controls: vec![PlayedControl {
                sample: 0,
                voice: VoiceId {
                    track: 1,
                    channel: 0,
                },
                controller: 7,
                value: 90,
            }],
            rate_hz: 100,
        };
        let schedule = schedule(&mut performance);
        assert_eq!(channels_of(&schedule), vec![(0, 0), (50, 1), (100, 0)]);
        assert_eq!(schedule.cut_notes, 0);
        assert_eq!(performance.notes.len(), 3);
        // The second channel inherits the voice's volume before its first note.
        let control_on_1 = schedule.events.iter().any(|e| {
            e.sample == 50
                && e.command
                    == Command::Control {
                        channel: 1,
                        controller: 7,
                        value: 90,
                    }
        });
        assert!(control_on_1);
        // At sample 100: the first note's off comes before the third note's on.
        let at_100: Vec<_> = schedule.events.iter().filter(|e| e.sample == 100).collect();
        assert!(matches!(at_100[0].command, Command::NoteOff { .. }));
        assert!(matches!(at_100[1].command, Command::NoteOn { .. }));
    }

    #[test]
    fn voices_get_separate_channels_and_skip_percussion() {
        let mut performance = Performance {
            notes: (0..12).map(|v| note(v, 60, 0, 10)).collect(),
            controls: Vec::new(),
            rate_hz: 100,
        };
        let schedule = schedule(&mut performance);
        let used: Vec<u8> = channels_of(&schedule).iter().map(|&(_, c)| c).collect();
        assert_eq!(used, vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12]);
    }

    #[test]
    fn out_of_channels_cuts_the_earlier_note() {
        // 16 simultaneous notes of one key in one voice: 15 channels, the 16th cuts the first.
        let mut notes: Vec<PlayedNote> = (0..15).map(|i| note(1, 60, i, 100)).collect();
        notes.push(note(1, 60, 20, 100));
        let mut performance = Performance {
            notes,
            controls: Vec::new(),
            rate_hz: 100,
        };
        let schedule = schedule(&mut performance);
        assert_eq!(schedule.cut_notes, 1);
        assert_eq!(performance.notes[0].end, 20);
        assert_eq!(schedule.channels_used, 15);
    }
}
