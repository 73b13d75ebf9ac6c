//! Standard MIDI files → a [`Score`]: the notes (paired note-on/off, with their program), the
//! controller changes the renderer honours, and the tempo map. Nothing here knows about audio.
//!
//! Rules (each one decides what the labels say, so each is deliberate):
//! - A *voice* is one (track, MIDI channel) pair. Programs, controllers and note pairing are per
//!   voice, so two tracks sharing a channel do not disturb each other.
//! - A note-on with velocity 0 is a note-off. A note-off ends the *earliest* sounding note of its
//!   key in its voice (first in, first out), so overlapping notes of one pitch (two parts in one
//!   track, a held note re-struck) each keep their own length.
//! - A note's program is the voice's last program change at or before the note's start tick
//!   (changes at the same tick as a note-on apply to it); without one, program 0 (piano), as in
//!   General MIDI. Bank selects are ignored: the renderer plays General MIDI bank 0.
//! - Channel 10 (index 9) is General MIDI percussion: its notes are skipped (counted), since a
//!   label's instrument is a melodic program and MusicNet has no drums.
//! - Notes of zero length are dropped (counted); notes still sounding at the end of their track
//!   end there (counted); note-offs with no sounding note are ignored (counted).
//! - Controllers 7 (volume), 10 (pan) and 11 (expression) are kept; all others, the sustain
//!   pedal (64) included, are ignored, so a note sounds exactly from its note-on to its note-off
//!   (plus the instrument's release). Pitch bend and aftertouch are ignored.
//! - Type 0 and type 1 files are read; type 2 (independent sequences) is refused.

use super::error::RenderError;
use super::tempo::TempoMap;
use midly::{Format, MetaMessage, MidiMessage, Smf, Timing, TrackEventKind};
use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

/// The General MIDI percussion channel (channel 10, index 9).
pub const DRUM_CHANNEL: u8 = 9;

/// The controllers passed to the synthesizer: volume, pan, expression.
pub const KEPT_CONTROLLERS: [u8; 3] = [7, 10, 11];

/// One (track, channel) pair of the file: the unit that holds one program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VoiceId {
    /// Track index in the file.
    pub track: u16,
    /// MIDI channel, 0-based.
    pub channel: u8,
}

/// A note of the score, in ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScoreNote {
    /// Onset tick.
    pub start_tick: u64,
    /// Release tick (> `start_tick`).
    pub end_tick: u64,
    /// MIDI key (60 = middle C).
    pub key: u8,
    /// Note-on velocity, 1..=127.
    pub velocity: u8,
    /// General MIDI program, 0-based, as stored in MIDI files.
    pub program: u8,
    /// The voice it belongs to.
    pub voice: VoiceId,
}

/// A controller change the renderer honours (see [`KEPT_CONTROLLERS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlChange {
    /// When.
    pub tick: u64,
    /// Which voice.
    pub voice: VoiceId,
    /// Controller number.
    pub controller: u8,
    /// New value, 0..=127.
    pub value: u8,
}

/// What the parser left out, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Skipped {
    /// Notes on the percussion channel.
    pub drum_notes: usize,
    /// Notes whose note-off came at their onset tick.
    pub zero_length: usize,
    /// Note-offs with no sounding note of their key.
    pub unmatched_offs: usize,
    /// Notes still sounding at the end of their track (kept, ended there).
    pub unterminated: usize,
}

/// A parsed MIDI file: notes sorted by (start, voice, key, end), controller changes sorted by
/// (tick, voice), and the tempo map.
#[derive(Clone, Debug, PartialEq)]
pub struct Score {
    /// The notes.
    pub notes: Vec<ScoreNote>,
    /// Kept controller changes.
    pub controls: Vec<ControlChange>,
    /// Ticks to seconds and beats.
    pub tempo: TempoMap,
    /// What was left out.
    pub skipped: Skipped,
}

impl Score {
    /// The tick of the last note-off (0 without notes).
    #[must_use]
    pub fn end_tick(&self) -> u64 {
        self.notes.iter().map(|n| n.end_tick).max().unwrap_or(0)
    }
}

/// Reads and parses the MIDI file at `path`. Errors name the file. Cost: reading the file and
/// one pass over its events.
pub fn read_score(path: &Path) -> Result<Score, RenderError> {
    let bytes = std::fs::read(path).map_err(|source| RenderError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_score(&bytes).map_err(|reason| RenderError::Midi {
        path: path.to_path_buf(),
        reason,
    })
}

/// Parses the bytes of a standard MIDI file (see the module doc for the rules). The error is a
/// sentence saying what is wrong.
pub fn parse_score(bytes: &[u8]) -> Result<Score, String> {
    let smf = Smf::parse(bytes).map_err(|e| e.to_string())?;
    if smf.header.format == Format::Sequential {
        return Err("type 2 MIDI (independent sequences) is not supported".into());
    }
    let mut tempo_changes = Vec::new();
    let mut notes = Vec::new();
    let mut controls = Vec::new();
    let mut programs: BTreeMap<VoiceId, Vec<(u64, u8)>> = BTreeMap::new();
    let mut skipped = Skipped::default();
    for (track_index, track) in smf.tracks.iter().enumerate() {
        let track_index =
            u16::try_from(track_index).map_err(|_| "more than 65535 tracks".to_string())?;
        let mut tick = 0u64;
        // Sounding notes by (channel, key): (start tick, velocity), oldest first.
        let mut sounding: BTreeMap<(u8, u8), VecDeque<(u64, u8)>> = BTreeMap::new();
        for event in track {
            tick += u64::from(event.delta.as_int());
            match event.kind {
                TrackEventKind::Meta(MetaMessage::Tempo(us)) => {
                    tempo_changes.push((tick, us.as_int()));
                }
                TrackEventKind::Midi { channel, message } => {
                    let channel = channel.as_int();
                    let voice = VoiceId {
                        track: track_index,
                        channel,
                    };
                    match message {
                        MidiMessage::NoteOn { key, vel } if vel.as_int() > 0 => {
                            if channel == DRUM_CHANNEL {
                                skipped.drum_notes += 1;
                            } else {
                                sounding
                                    .entry((channel, key.as_int()))
                                    .or_default()
                                    .push_back((tick, vel.as_int()));
                            }
                        }
                        MidiMessage::NoteOn { key, .. } | MidiMessage::NoteOff { key, .. } => {
                            if channel == DRUM_CHANNEL {
                                continue;
                            }
                            let key = key.as_int();
                            match sounding
                                .get_mut(&(channel, key))
                                .and_then(VecDeque::pop_front)
                            {
                                Some((start, velocity)) if tick > start => {
                                    notes.push(ScoreNote {
                                        start_tick: start,
                                        end_tick: tick,
                                        key,
                                        velocity,
                                        program: 0,
                                        voice,
                                    });
                                }
                                Some(_) => skipped.zero_length += 1,
                                None => skipped.unmatched_offs += 1,
                            }
                        }
                        MidiMessage::ProgramChange { program } if channel != DRUM_CHANNEL => {
                            programs
                                .entry(voice)
                                .or_default()
                                .push((tick, program.as_int()));
                        }
                        MidiMessage::Controller { controller, value }
                            if channel != DRUM_CHANNEL
                                && KEPT_CONTROLLERS.contains(&controller.as_int()) =>
                        {
                            controls.push(ControlChange {
                                tick,
                                voice,
                                controller: controller.as_int(),
                                value: value.as_int(),
                            });
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        // Notes left sounding end with their track.
        for ((channel, key), starts) in sounding {
            for (start, velocity) in starts {
                if tick > start {
                    skipped.unterminated += 1;
                    notes.push(ScoreNote {
                        start_tick: start,
                        end_tick: tick,
                        key,
                        velocity,
                        program: 0,
                        voice: VoiceId {
                            track: track_index,
                            channel,
                        },
                    });
                } else {
                    skipped.zero_length += 1;
                }
            }
        }
    }
    for note in &mut notes {
        note.program = program_at(programs.get(&note.voice), note.start_tick);
    }
    notes.sort_by_key(|n| (n.start_tick, n.voice, n.key, n.end_tick, n.velocity));
    controls.sort_by_key(|c| (c.tick, c.voice));
    let tempo = match smf.header.timing {
        Timing::Metrical(ticks) => {
            let ticks = ticks.as_int();
            if ticks == 0 {
                return Err("the header gives 0 ticks per quarter note".into());
            }
            TempoMap::metrical(ticks, &tempo_changes)
        }
        Timing::Timecode(fps, subframes) => {
            if subframes == 0 {
                return Err("the header gives 0 ticks per SMPTE frame".into());
            }
            TempoMap::timecode(f64::from(fps.as_f32()) * f64::from(subframes))
        }
    };
    Ok(Score {
        notes,
        controls,
        tempo,
        skipped,
    })
}

/// The program in effect at `tick`: the last change at or before it (in file order among changes
/// at one tick), else 0.
fn program_at(changes: Option<&Vec<(u64, u8)>>, tick: u64) -> u8 {
    let Some(changes) = changes else { return 0 };
    // Changes are in file order, which is tick order within a track.
    let index = changes.partition_point(|&(t, _)| t <= tick);
    index
        .checked_sub(1)
        .and_then(|i| changes.get(i))
        .map_or(0, |&(_, program)| program)
}
