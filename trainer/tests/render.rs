//! `trainer render` end to end on tiny generated inputs: MIDI files written with midly and a
//! SoundFont of a few hundred bytes written here (one preset, one instrument, one looped
//! single-cycle sample), so the tests need no SoundFont installed and run in seconds.

use clap::Parser;
use midly::num::{u4, u7, u15, u24, u28};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use trainer::musicnet::{
    AudioExtent, Dataset, Issues, LabelNote, Split, read_labels, read_metadata,
};
use trainer::render::synth::BLOCK_SIZE;
use trainer::render::{RenderArgs, RenderSummary, SoundFontMode, Switch, run};

// ---------------------------------------------------------------------------------------------
// A tiny SoundFont.

/// Samples in the looped single cycle (441 Hz at 44.1 kHz, close to A4 = key 69).
const CYCLE: usize = 100;

/// One RIFF chunk (padded to an even length).
fn chunk(id: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = id.to_vec();
    out.extend((data.len() as u32).to_le_bytes());
    out.extend(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// A LIST chunk of `kind` holding `chunks`.
fn list(kind: &[u8; 4], chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut data = kind.to_vec();
    for c in chunks {
        data.extend(c);
    }
    chunk(b"LIST", &data)
}

/// A 20-byte zero-padded name.
fn name20(name: &str) -> Vec<u8> {
    let mut out = name.as_bytes().to_vec();
    out.resize(20, 0);
    out
}

fn u16s(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A valid SF2 file: preset 0:0 → instrument → one looped cycle of `wave(i)` (i in 0..CYCLE),
/// root key 69, no envelope delay, 0.1 s release. rustysynth plays it for every program (its only preset).
fn tiny_sf2(wave: impl Fn(usize) -> i16) -> Vec<u8> {
    tiny_sf2_with(wave, None)
}

/// [`tiny_sf2`], plus, with `alternative = Some((program, semitones))`, a second bank-0 preset for
/// that program: the same instrument tuned `semitones` higher (a preset-level coarse tune), so
/// which of the two presets played a note is audible as its pitch.
fn tiny_sf2_with(wave: impl Fn(usize) -> i16, alternative: Option<(u16, u16)>) -> Vec<u8> {
    let mut smpl = Vec::new();
    for i in 0..CYCLE {
        smpl.extend(wave(i).to_le_bytes());
    }
    smpl.extend([0u8; 46 * 2]); // the 46 zero samples the format asks for after each sample
    let info = list(
        b"INFO",
        &[chunk(b"ifil", &u16s(&[2, 1])), chunk(b"INAM", b"tiny\0\0")],
    );
    let sdta = list(b"sdta", &[chunk(b"smpl", &smpl)]);

    let preset = |name: &str, program: u16, bag: u16| {
        let mut p = name20(name);
        p.extend(u16s(&[program, 0, bag]));
        p.extend([0u8; 12]);
        p
    };
    let (phdr, pbag, pgen) = match alternative {
        None => (
            [preset("Tone", 0, 0), preset("EOP", 0, 1)].concat(),
            u16s(&[0, 0, 1, 0]),
            u16s(&[41, 0, 0, 0]), // instrument 0, terminator
        ),
        Some((program, semitones)) => (
            [
                preset("Tone", 0, 0),
                preset("Alt", program, 1),
                preset("EOP", 0, 2),
            ]
            .concat(),
            u16s(&[0, 0, 1, 0, 3, 0]),
            // Bag 0: instrument 0. Bag 1: coarse tune (51), instrument 0. Terminator.
            u16s(&[41, 0, 51, semitones, 41, 0, 0, 0]),
        ),
    };
    let instrument = |name: &str, bag: u16| [name20(name), u16s(&[bag])].concat();
    let inst = [instrument("Tone", 0), instrument("EOI", 1)].concat();
    let ibag = u16s(&[0, 0, 4, 0]);
    let release = (-3986i16) as u16; // timecents: 0.1 s
    let no_delay = i16::MIN as u16; // timecents: no delay before the attack (default 1 ms)
    // Loop, release, envelope delay, sample 0, terminator.
    let igen = u16s(&[54, 1, 38, release, 33, no_delay, 53, 0, 0, 0]);
    let sample = |name: &str, end: u32, rate: u32, pitch: u8, kind: u16| {
        let mut s = name20(name);
        for v in [0u32, end, 0, end, rate] {
            s.extend(v.to_le_bytes());
        }
        s.extend([pitch, 0]);
        s.extend(u16s(&[0, kind]));
        s
    };
    let shdr = [
        sample("Tone", CYCLE as u32, 44_100, 69, 1),
        sample("EOS", 0, 0, 0, 0),
    ]
    .concat();
    let pdta = list(
        b"pdta",
        &[
            chunk(b"phdr", &phdr),
            chunk(b"pbag", &pbag),
            chunk(b"pmod", &[0; 10]),
            chunk(b"pgen", &pgen),
            chunk(b"inst", &inst),
            chunk(b"ibag", &ibag),
            chunk(b"imod", &[0; 10]),
            chunk(b"igen", &igen),
            chunk(b"shdr", &shdr),
        ],
    );
    let mut body = b"sfbk".to_vec();
    body.extend(info);
    body.extend(sdta);
    body.extend(pdta);
    chunk(b"RIFF", &body)
}

/// One cycle of a sine at sample `i` of [`CYCLE`].
fn sine_wave(i: usize) -> i16 {
    (16_000.0 * (i as f64 * std::f64::consts::TAU / CYCLE as f64).sin()) as i16
}

fn sine_sf2() -> Vec<u8> {
    tiny_sf2(sine_wave)
}

/// The sine SoundFont with a second preset for program 42 (Viola, 1-based) an octave higher.
fn two_preset_sf2() -> Vec<u8> {
    tiny_sf2_with(sine_wave, Some((41, 12)))
}

fn square_sf2() -> Vec<u8> {
    tiny_sf2(|i| if i < CYCLE / 2 { 12_000 } else { -12_000 })
}

// ---------------------------------------------------------------------------------------------
// Tiny MIDI files.

const PPQ: u16 = 480;

/// A note as (start tick, end tick, key, velocity).
type Note = (u32, u32, u8, u8);

/// An expected label as (start tick, end tick, 1-based program, key).
type Expected = (u32, u32, u8, u8);

/// A MIDI event at an absolute tick.
#[derive(Clone, Copy)]
enum Ev {
    On(u8, u8, u8),  // channel, key, velocity
    Off(u8, u8),     // channel, key (a real note-off)
    OnZero(u8, u8),  // channel, key (note-on with velocity 0)
    Program(u8, u8), // channel, program
    Tempo(u32),      // µs per quarter
}

/// A type-1 file: track 0 holds `tempos`; then one track per entry of `tracks`, events at
/// absolute ticks (in the order given within a tick).
fn midi_bytes(tempos: &[(u32, u32)], tracks: &[Vec<(u32, Ev)>]) -> Vec<u8> {
    let mut all = vec![
        tempos
            .iter()
            .map(|&(t, us)| (t, Ev::Tempo(us)))
            .collect::<Vec<_>>(),
    ];
    all.extend(tracks.iter().cloned());
    let tracks: Vec<Vec<TrackEvent<'static>>> = all
        .into_iter()
        .map(|mut events| {
            events.sort_by_key(|&(t, _)| t);
            let mut now = 0;
            let mut out: Vec<TrackEvent<'static>> = events
                .into_iter()
                .map(|(tick, ev)| {
                    let delta = u28::new(tick - now);
                    now = tick;
                    let midi = |channel: u8, message| TrackEventKind::Midi {
                        channel: u4::new(channel),
                        message,
                    };
                    let kind = match ev {
                        Ev::On(c, key, vel) => midi(
                            c,
                            MidiMessage::NoteOn {
                                key: u7::new(key),
                                vel: u7::new(vel),
                            },
                        ),
                        Ev::Off(c, key) => midi(
                            c,
                            MidiMessage::NoteOff {
                                key: u7::new(key),
                                vel: u7::new(64),
                            },
                        ),
                        Ev::OnZero(c, key) => midi(
                            c,
                            MidiMessage::NoteOn {
                                key: u7::new(key),
                                vel: u7::new(0),
                            },
                        ),
                        Ev::Program(c, program) => midi(
                            c,
                            MidiMessage::ProgramChange {
                                program: u7::new(program),
                            },
                        ),
                        Ev::Tempo(us) => TrackEventKind::Meta(MetaMessage::Tempo(u24::new(us))),
                    };
                    TrackEvent { delta, kind }
                })
                .collect();
            out.push(TrackEvent {
                delta: u28::new(0),
                kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
            });
            out
        })
        .collect();
    let smf = Smf {
        header: Header::new(Format::Parallel, Timing::Metrical(u15::new(PPQ))),
        tracks,
    };
    let mut bytes = Vec::new();
    smf.write_std(&mut bytes).expect("write MIDI");
    bytes
}

/// A note (start tick, end tick, key, velocity) as events on `channel`.
fn note_events(channel: u8, notes: &[Note], zero_velocity_off: bool) -> Vec<(u32, Ev)> {
    let mut events = Vec::new();
    for &(start, end, key, vel) in notes {
        events.push((start, Ev::On(channel, key, vel)));
        let off = if zero_velocity_off {
            Ev::OnZero(channel, key)
        } else {
            Ev::Off(channel, key)
        };
        events.push((end, off));
    }
    events
}

/// A one-track piece: `program` on channel 0 playing `notes`, at 120 BPM.
fn simple_piece(program: u8, notes: &[Note]) -> Vec<u8> {
    let mut track = vec![(0, Ev::Program(0, program))];
    track.extend(note_events(0, notes, false));
    midi_bytes(&[(0, 500_000)], &[track])
}

/// A short melody, different per `seed`.
fn melody(seed: u32) -> Vec<Note> {
    (0..6)
        .map(|i| {
            let start = i * 240;
            (start, start + 240, 60 + ((seed + i * 3) % 12) as u8, 90)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Corpus folders.

/// A MusicNet-style MIDI folder at `root`: `musicnet_midis/<Composer>/<id>_piece.mid` and the
/// metadata, plus `split.csv` when given.
fn write_corpus(root: &Path, pieces: &[(u32, Vec<u8>)], split: Option<&[(u32, &str)]>) {
    let mut metadata =
        "id,composer,composition,movement,ensemble,source,transcriber,catalog_name,seconds\n"
            .to_string();
    for (id, bytes) in pieces {
        let composer = if id % 2 == 0 { "Bach" } else { "Haydn" };
        let dir = root.join("musicnet_midis").join(composer);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{id}_piece.mid")), bytes).unwrap();
        metadata.push_str(&format!(
            "{id},{composer},Work {id},1,Solo,test corpus,tests,W{id},1\n"
        ));
    }
    std::fs::write(root.join("musicnet_metadata.csv"), metadata).unwrap();
    if let Some(rows) = split {
        let mut text = "id,split\n".to_string();
        for (id, s) in rows {
            text.push_str(&format!("{id},{s}\n"));
        }
        std::fs::write(root.join("split.csv"), text).unwrap();
    }
}

/// A test setup: a temp folder with `corpus/`, `out/`, and the sine SoundFont.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(pieces: &[(u32, Vec<u8>)], split: Option<&[(u32, &str)]>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        write_corpus(&dir.path().join("corpus"), pieces, split);
        std::fs::write(dir.path().join("sine.sf2"), sine_sf2()).unwrap();
        std::fs::write(dir.path().join("square.sf2"), square_sf2()).unwrap();
        std::fs::write(dir.path().join("two-presets.sf2"), two_preset_sf2()).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Default arguments: the corpus, `out`, the sine SoundFont, reverb off, one job.
    fn args(&self, out: &str) -> RenderArgs {
        let mut args = RenderArgs::new(&self.path("corpus"), &self.path(out));
        args.soundfonts = vec![self.path("sine.sf2")];
        args.reverb = Switch::Off;
        args.jobs = Some(1);
        args
    }
}

fn render(args: &RenderArgs) -> RenderSummary {
    match run(args) {
        Ok(summary) => summary,
        Err(error) => panic!("render failed: {error:#}"),
    }
}

/// Reads a 16-bit WAV: (rate, channels, samples).
fn read_wav(path: &Path) -> (u32, u16, Vec<i16>) {
    let mut reader = hound::WavReader::open(path).unwrap();
    let spec = reader.spec();
    let samples = reader.samples::<i16>().map(Result::unwrap).collect();
    (spec.sample_rate, spec.channels, samples)
}

fn labels(path: &Path) -> Vec<LabelNote> {
    read_labels(path, None, &mut Issues::strict()).unwrap()
}

/// Every file under `dir` (relative path → bytes).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().to_path_buf();
                files.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

// ---------------------------------------------------------------------------------------------
// The round trip.

/// Seconds at `tick` for the round-trip piece: 120 BPM for the first 960 ticks, then 60 BPM.
fn round_trip_seconds(tick: u32) -> f64 {
    if tick <= 960 {
        f64::from(tick) / 480.0 * 0.5
    } else {
        1.0 + f64::from(tick - 960) / 480.0
    }
}

/// Two voices, a tempo change, a program change, overlapping notes of one pitch (note-offs by
/// velocity-0 note-ons) and a drum note (skipped). Returns the MIDI bytes and the expected notes
/// as (start tick, end tick, 1-based program, key).
fn round_trip_piece() -> (Vec<u8>, Vec<Expected>) {
    // Violin (40) on channel 0, becoming a contrabass (43) at tick 1440.
    let mut violin = vec![(0, Ev::Program(0, 40)), (1440, Ev::Program(0, 43))];
    violin.extend(note_events(
        0,
        &[
            (0, 480, 67, 100),
            (480, 960, 69, 90),
            (960, 1440, 71, 80),
            (1440, 1920, 40, 70),
        ],
        false,
    ));
    // Cello (42) on channel 1: C3 struck at 0 and struck again at 480 while still sounding;
    // the note-offs (velocity-0 note-ons) at 960 and 1920 end them first in, first out.
    let mut cello = vec![(0, Ev::Program(1, 42))];
    cello.extend(note_events(
        1,
        &[(0, 960, 48, 100), (480, 1920, 48, 60)],
        true,
    ));
    // A drum hit on channel 10: skipped.
    let drums = vec![(240, Ev::On(9, 38, 100)), (480, Ev::Off(9, 38))];
    let bytes = midi_bytes(&[(0, 500_000), (960, 1_000_000)], &[violin, cello, drums]);
    let expected = vec![
        (0, 480, 41, 67),
        (0, 960, 43, 48),
        (480, 960, 41, 69),
        (480, 1920, 43, 48),
        (960, 1440, 41, 71),
        (1440, 1920, 44, 40),
    ];
    (bytes, expected)
}

fn sorted(mut notes: Vec<(u64, u64, u8, u8)>) -> Vec<(u64, u64, u8, u8)> {
    notes.sort();
    notes
}

#[test]
fn labels_are_exactly_the_midi_notes_at_any_sample_rate() {
    let (bytes, expected) = round_trip_piece();
    let setup = Setup::new(&[(3000, bytes)], None);
    let expected_rows = sorted(
        expected
            .iter()
            .map(|&(s, e, program, key)| {
                let at = |tick| (round_trip_seconds(tick) * 44_100.0).round() as u64;
                (at(s), at(e), program, key)
            })
            .collect(),
    );
    for rate in [44_100u32, 22_050, 48_000] {
        let mut args = setup.args(&format!("out{rate}"));
        args.sample_rate = rate;
        let summary = render(&args);
        assert_eq!(summary.pieces, 1);
        assert!(
            summary
                .warnings
                .iter()
                .any(|w| w.kind == "drum notes skipped"),
            "{summary}"
        );
        let out = setup.path(&format!("out{rate}"));
        let rows = labels(&out.join("train_labels/3000.csv"));
        let got = sorted(
            rows.iter()
                .map(|r| (r.start_time, r.end_time, r.instrument, r.note))
                .collect(),
        );
        assert_eq!(got, expected_rows, "at {rate} Hz");
        // Beats and note values come from the ticks.
        let first = rows.iter().find(|r| r.note == 71).unwrap();
        assert_eq!((first.start_beat, first.end_beat), (2.0, 1.0));
        assert_eq!(first.note_value, "Quarter");
        let held = rows
            .iter()
            .find(|r| r.note == 48 && r.start_time == 0)
            .unwrap();
        assert_eq!((held.end_beat, held.note_value.as_str()), (2.0, "Half"));
        let long = rows
            .iter()
            .find(|r| r.note == 48 && r.start_time > 0)
            .unwrap();
        assert_eq!(
            (long.end_beat, long.note_value.as_str()),
            (3.0, "Dotted Half")
        );

        // The audio is at the asked rate, mono, and holds every note.
        let (wav_rate, channels, samples) = read_wav(&out.join("train_data/3000.wav"));
        assert_eq!((wav_rate, channels), (rate, 1));
        let extent = AudioExtent {
            samples: samples.len() as u64,
            rate_hz: rate,
        };
        read_labels(
            &out.join("train_labels/3000.csv"),
            Some(extent),
            &mut Issues::strict(),
        )
        .expect("every note ends within the audio");
        let last_end = round_trip_seconds(1920);
        let seconds = samples.len() as f64 / f64::from(rate);
        assert!(
            seconds >= last_end && seconds <= last_end + 1.1,
            "{seconds} s"
        );
    }
}

#[test]
fn audio_sounds_where_notes_play_and_is_silent_between() {
    // A note, a rest of 1 s, a note; sine SoundFont with a 0.1 s release, reverb off.
    let piece = simple_piece(0, &[(0, 480, 69, 100), (1440, 1920, 69, 100)]);
    let setup = Setup::new(&[(3001, piece)], None);
    render(&setup.args("out"));
    let (_, _, samples) = read_wav(&setup.path("out/train_data/3001.wav"));
    let rms = |from: f64, to: f64| {
        let span = &samples[(from * 44_100.0) as usize..(to * 44_100.0) as usize];
        (span.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / span.len() as f64).sqrt()
    };
    let rows = labels(&setup.path("out/train_labels/3001.csv"));
    assert_eq!(rows.len(), 2);
    for row in &rows {
        let from = row.start_time as f64 / 44_100.0;
        let to = row.end_time as f64 / 44_100.0;
        assert!(rms(from + 0.01, to) > 1000.0, "note at {from} s is silent");
    }
    assert!(
        rms(0.8, 1.5) < 1.0,
        "the rest is not silent: {}",
        rms(0.8, 1.5)
    );
    // The second note starts within one synthesizer block of its label, never before it.
    let onset = rows[1].start_time as usize;
    let first_sound = onset - 50 + samples[onset - 50..].iter().position(|&s| s != 0).unwrap();
    assert!(
        (onset..onset + BLOCK_SIZE).contains(&first_sound),
        "onset {onset}, sound from {first_sound}"
    );
    // The last note ends at 2 s; the tail is short: the release, then silence stops the render.
    let seconds = samples.len() as f64 / 44_100.0;
    assert!((2.0..2.3).contains(&seconds), "{seconds} s");
}

#[test]
fn overlapping_notes_of_one_key_each_sound_their_full_length() {
    // Key 60 struck at 0 s (released at 1 s) and again at 0.5 s (released at 2 s). A single
    // synthesizer channel would stop both at 1 s; the second must sound on to 2 s.
    let mut track = vec![(0, Ev::Program(0, 0))];
    track.extend(note_events(
        0,
        &[(0, 960, 60, 100), (480, 1920, 60, 100)],
        false,
    ));
    let setup = Setup::new(&[(3000, midi_bytes(&[(0, 500_000)], &[track]))], None);
    render(&setup.args("out"));
    let rows = labels(&setup.path("out/train_labels/3000.csv"));
    let spans: Vec<_> = rows.iter().map(|r| (r.start_time, r.end_time)).collect();
    assert_eq!(spans, vec![(0, 44_100), (22_050, 88_200)]);
    let (_, _, samples) = read_wav(&setup.path("out/train_data/3000.wav"));
    let span = &samples[(1.2 * 44_100.0) as usize..(1.9 * 44_100.0) as usize];
    let rms = (span.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / span.len() as f64).sqrt();
    assert!(
        rms > 1000.0,
        "the second note stopped with the first: rms {rms}"
    );
}

#[test]
fn same_seed_gives_identical_bytes_for_any_job_count() {
    let pieces: Vec<_> = (0..4)
        .map(|i| (3000 + i, simple_piece(40, &melody(i))))
        .collect();
    let setup = Setup::new(&pieces, None);
    let jittered = |out: &str, seed: u64, jobs: usize| {
        let mut args = setup.args(out);
        args.seed = seed;
        args.jobs = Some(jobs);
        args.tempo_jitter = 0.2;
        args.velocity_jitter = 20;
        args.reverb = Switch::On;
        args.test_share = Some(0.5);
        render(&args);
        snapshot(&setup.path(out))
    };
    let one = jittered("a", 7, 1);
    let two = jittered("b", 7, 2);
    assert_eq!(one, two, "--jobs changed the output");
    let other = jittered("c", 8, 2);
    let differs = one
        .iter()
        .filter(|(path, _)| path.extension().is_some_and(|e| e == "wav"))
        .filter(|(path, bytes)| other.get(*path) != Some(*bytes))
        .count();
    assert!(differs > 0, "another seed rendered the same audio");
    assert_ne!(one.keys().collect::<Vec<_>>().len(), 0);
}

#[test]
fn tempo_jitter_moves_the_labels_with_the_audio() {
    let setup = Setup::new(&[(3000, simple_piece(40, &melody(1)))], None);
    let mut plain = setup.args("plain");
    plain.seed = 3;
    render(&plain);
    let mut jittered = setup.args("jittered");
    jittered.seed = 3;
    jittered.tempo_jitter = 0.3;
    render(&jittered);
    let a = labels(&setup.path("plain/train_labels/3000.csv"));
    let b = labels(&setup.path("jittered/train_labels/3000.csv"));
    assert_eq!(a.len(), b.len());
    let factor = a[5].end_time as f64 / b[5].end_time as f64;
    assert!(
        (0.7..=1.3).contains(&factor) && (factor - 1.0).abs() > 1e-3,
        "{factor}"
    );
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            (x.start_beat, x.end_beat, x.note),
            (y.start_beat, y.end_beat, y.note)
        );
    }
}

/// Sign changes per second of `samples` at 44.1 kHz: twice the frequency of a pure tone.
fn crossings_per_second(samples: &[i16]) -> f64 {
    let signs: Vec<bool> = samples
        .iter()
        .filter(|&&s| s != 0)
        .map(|&s| s > 0)
        .collect();
    let changes = signs.windows(2).filter(|w| w[0] != w[1]).count();
    changes as f64 * 44_100.0 / samples.len() as f64
}

#[test]
fn a_part_swap_plays_a_related_program_and_keeps_the_labels() {
    // A violin part (program 40, 0-based); the SoundFont has the viola (41), one of the violin's
    // relatives, tuned an octave up so the swap is audible. One note: A4, 1 s.
    let piece = simple_piece(40, &[(0, 960, 69, 100)]);
    let setup = Setup::new(&[(3000, piece)], None);
    let with = |out: &str, swap: f64| {
        let mut args = setup.args(out);
        args.soundfonts = vec![setup.path("two-presets.sf2")];
        args.part_swap = swap;
        render(&args);
        let (_, _, samples) = read_wav(&setup.path(&format!("{out}/train_data/3000.wav")));
        let rows = labels(&setup.path(&format!("{out}/train_labels/3000.csv")));
        (samples, rows)
    };
    let (plain, plain_labels) = with("plain", 0.0);
    let (swapped, swapped_labels) = with("swapped", 1.0);
    assert_eq!(
        plain_labels, swapped_labels,
        "labels must keep the written violin"
    );
    assert!(plain_labels.iter().all(|l| l.instrument == 41));
    let note = 4_410..39_690; // 0.1 s to 0.9 s
    let plain_hz = crossings_per_second(&plain[note.clone()]) / 2.0;
    let swapped_hz = crossings_per_second(&swapped[note]) / 2.0;
    assert!((430.0..452.0).contains(&plain_hz), "{plain_hz} Hz");
    assert!((860.0..904.0).contains(&swapped_hz), "{swapped_hz} Hz");
}

/// A violin part and a flute part taking turns, every note at velocity 90: four 0.5 s notes at
/// 120 BPM, violin first.
fn two_part_piece() -> Vec<u8> {
    let mut violin = vec![(0, Ev::Program(0, 40))];
    violin.extend(note_events(
        0,
        &[(0, 480, 60, 90), (960, 1440, 62, 90)],
        false,
    ));
    let mut flute = vec![(0, Ev::Program(1, 73))];
    flute.extend(note_events(
        1,
        &[(480, 960, 72, 90), (1440, 1920, 74, 90)],
        false,
    ));
    midi_bytes(&[(0, 500_000)], &[violin, flute])
}

/// The peak of each of [`two_part_piece`]'s four notes (skipping the release of the note
/// before).
fn note_peaks(samples: &[i16]) -> Vec<u16> {
    (0..4)
        .map(|i| {
            let from = i * 22_050 + 5_000;
            samples[from..from + 9_000]
                .iter()
                .map(|s| s.unsigned_abs())
                .max()
                .unwrap()
        })
        .collect()
}

#[test]
fn part_velocity_jitter_moves_each_part_as_a_whole() {
    let setup = Setup::new(&[(3000, two_part_piece())], None);
    let peaks = |out: &str, spread: u8, seed: u64| {
        let mut args = setup.args(out);
        args.part_velocity_jitter = spread;
        args.seed = seed;
        render(&args);
        let (_, _, samples) = read_wav(&setup.path(&format!("{out}/train_data/3000.wav")));
        note_peaks(&samples)
    };
    let plain = peaks("plain", 0, 0);
    assert!(
        plain.iter().all(|&p| p.abs_diff(plain[0]) <= plain[0] / 50),
        "{plain:?}"
    );
    // Some seed moves the two parts apart; within a part both notes stay equal.
    let moved = (1..20)
        .map(|seed| peaks(&format!("seed{seed}"), 40, seed))
        .find(|p| p[0].abs_diff(p[1]) > p[0] / 5)
        .expect("no seed changed the balance of the parts");
    assert!(moved[0].abs_diff(moved[2]) <= moved[0] / 50, "{moved:?}");
    assert!(moved[1].abs_diff(moved[3]) <= moved[1] / 50, "{moved:?}");
}

#[test]
fn part_coloring_renders_parts_alone_and_colours_each_as_a_whole() {
    let setup = Setup::new(&[(3000, two_part_piece())], None);
    let rendered = |out: &str, change: &dyn Fn(&mut RenderArgs)| {
        let mut args = setup.args(out);
        change(&mut args);
        render(&args);
        let (_, _, samples) = read_wav(&setup.path(&format!("{out}/train_data/3000.wav")));
        let rows = labels(&setup.path(&format!("{out}/train_labels/3000.csv")));
        (samples, rows)
    };
    let (plain, plain_labels) = rendered("plain", &|_| {});
    // Parts rendered alone and summed, with a gain too small to matter: the one-pass audio.
    let (summed, summed_labels) = rendered("summed", &|a| a.part_gain = 1e-4);
    assert_eq!(plain_labels, summed_labels);
    assert_eq!(plain.len(), summed.len());
    let worst = plain
        .iter()
        .zip(&summed)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(
        worst <= 2,
        "summed parts differ from one pass by {worst} LSB"
    );
    // Real colouring: some seed moves the two parts apart, each as a whole, and keeps the labels.
    let flat = note_peaks(&plain);
    let moved = (1..20)
        .map(|seed| {
            let (samples, rows) = rendered(&format!("seed{seed}"), &|a| {
                a.part_gain = 12.0;
                a.part_eq = 6.0;
                a.part_tilt = 2.0;
                a.seed = seed;
            });
            assert_eq!(rows, plain_labels, "seed {seed}");
            note_peaks(&samples)
        })
        .find(|p| {
            let (violin, flute) = (
                f64::from(p[0]) / f64::from(flat[0]),
                f64::from(p[1]) / f64::from(flat[1]),
            );
            (violin / flute).log10().abs() * 20.0 > 6.0
        })
        .expect("no seed changed the balance of the parts by 6 dB");
    // Both notes of a part keep their relation (each part is coloured as a whole; the two
    // notes differ in pitch, so the equalizer and tilt may move them a little apart).
    let ratio = |i: usize, j: usize| (f64::from(moved[i]) / f64::from(moved[j])).log10() * 20.0;
    let flat_ratio = |i: usize, j: usize| (f64::from(flat[i]) / f64::from(flat[j])).log10() * 20.0;
    assert!(
        (ratio(0, 2) - flat_ratio(0, 2)).abs() < 3.0,
        "{moved:?} vs {flat:?}"
    );
    assert!(
        (ratio(1, 3) - flat_ratio(1, 3)).abs() < 3.0,
        "{moved:?} vs {flat:?}"
    );
}

#[test]
fn split_csv_decides_the_split_and_unlisted_pieces_go_to_train() {
    let pieces: Vec<_> = (0..3)
        .map(|i| (3000 + i, simple_piece(0, &melody(i))))
        .collect();
    let setup = Setup::new(&pieces, Some(&[(3000, "test"), (3001, "train")]));
    let summary = render(&setup.args("out"));
    assert_eq!((summary.train, summary.test), (2, 1));
    let missing: Vec<_> = summary
        .warnings
        .iter()
        .filter(|w| w.kind.contains("not in split.csv"))
        .collect();
    assert_eq!(missing.len(), 1);
    assert!(missing[0].message.contains("3002"));
    let out = setup.path("out");
    assert!(out.join("test_data/3000.wav").is_file());
    assert!(out.join("test_labels/3000.csv").is_file());
    assert!(out.join("train_data/3001.wav").is_file());
    assert!(out.join("train_data/3002.wav").is_file());
    // The output reads as a MusicNet folder, strictly.
    let dataset = Dataset::open(&out, &mut Issues::strict()).unwrap();
    let splits: Vec<_> = dataset.recordings.iter().map(|r| (r.id, r.split)).collect();
    assert_eq!(
        splits,
        vec![
            (3000, Split::Test),
            (3001, Split::Train),
            (3002, Split::Train)
        ]
    );
    let meta = read_metadata(&out.join("musicnet_metadata.csv"), &mut Issues::strict()).unwrap();
    assert_eq!(meta[&3000].composer, "Bach");
    assert_eq!(meta[&3000].seconds, 2.0, "rendered length, rounded");
    assert!(meta[&3000].source.ends_with("rendered with sine.sf2"));
}

#[test]
fn test_share_splits_by_piece_without_split_csv() {
    let pieces: Vec<_> = (0..20)
        .map(|i| (3000 + i, simple_piece(0, &melody(i))))
        .collect();
    let setup = Setup::new(&pieces, None);
    let mut args = setup.args("out");
    args.test_share = Some(0.5);
    args.seed = 11;
    args.tail = 0.0;
    let summary = render(&args);
    assert_eq!(summary.train + summary.test, 20);
    assert!(summary.test > 0 && summary.train > 0, "{summary}");
    // A subset keeps each piece's split.
    let mut subset = setup.args("subset");
    subset.test_share = Some(0.5);
    subset.seed = 11;
    subset.tail = 0.0;
    subset.ids = vec![3003, 3007, 3011];
    render(&subset);
    for id in [3003, 3007, 3011] {
        for split in ["train", "test"] {
            let full = setup.path(&format!("out/{split}_data/{id}.wav")).is_file();
            let part = setup
                .path(&format!("subset/{split}_data/{id}.wav"))
                .is_file();
            assert_eq!(full, part, "piece {id} changed split");
        }
    }
}

#[test]
fn each_mode_renders_every_soundfont_with_new_ids_and_the_same_split() {
    let pieces = vec![
        (3000, simple_piece(0, &melody(0))),
        (3001, simple_piece(0, &melody(1))),
    ];
    let setup = Setup::new(&pieces, Some(&[(3000, "test"), (3001, "train")]));
    let mut args = setup.args("out");
    args.soundfonts = vec![setup.path("sine.sf2"), setup.path("square.sf2")];
    args.soundfont_mode = SoundFontMode::Each;
    let summary = render(&args);
    assert_eq!(summary.pieces, 4);
    let out = setup.path("out");
    for id in [30000, 30001] {
        assert!(out.join(format!("test_data/{id}.wav")).is_file());
    }
    for id in [30010, 30011] {
        assert!(out.join(format!("train_data/{id}.wav")).is_file());
    }
    let sine = std::fs::read(out.join("test_data/30000.wav")).unwrap();
    let square = std::fs::read(out.join("test_data/30001.wav")).unwrap();
    assert_ne!(sine, square, "the two SoundFonts sound the same");
    assert_eq!(
        std::fs::read(out.join("test_labels/30000.csv")).unwrap(),
        std::fs::read(out.join("test_labels/30001.csv")).unwrap(),
        "the labels do not depend on the SoundFont"
    );
    let meta = read_metadata(&out.join("musicnet_metadata.csv"), &mut Issues::strict()).unwrap();
    assert_eq!(
        meta.keys().copied().collect::<Vec<_>>(),
        vec![30000, 30001, 30010, 30011]
    );
    assert!(meta[&30001].source.ends_with("square.sf2"));
    assert_eq!(meta[&30011].composition, "Work 3001");
}

#[test]
fn draw_mode_draws_one_soundfont_per_piece_from_the_seed() {
    let pieces: Vec<_> = (0..8)
        .map(|i| (3000 + i, simple_piece(0, &melody(i))))
        .collect();
    let setup = Setup::new(&pieces, None);
    let mut args = setup.args("out");
    args.soundfonts = vec![setup.path("sine.sf2"), setup.path("square.sf2")];
    args.seed = 5;
    let summary = render(&args);
    assert_eq!(summary.pieces, 8);
    let meta = read_metadata(
        &setup.path("out/musicnet_metadata.csv"),
        &mut Issues::strict(),
    )
    .unwrap();
    assert_eq!(meta.len(), 8, "ids are kept");
    for (id, row) in &meta {
        let k = trainer::render::augment::drawn_soundfont(5, *id, 2);
        let name = ["sine.sf2", "square.sf2"][k];
        assert!(row.source.ends_with(name), "{id}: {}", row.source);
    }
}

#[test]
fn a_rerun_renders_only_what_is_missing() {
    let pieces: Vec<_> = (0..3)
        .map(|i| (3000 + i, simple_piece(0, &melody(i))))
        .collect();
    let setup = Setup::new(&pieces, None);
    let args = setup.args("out");
    let first = render(&args);
    assert_eq!(first.pieces, 3);
    let out = setup.path("out");
    let before = snapshot(&out);

    // A killed run: one audio file gone, one label file gone (killed between the two writes),
    // and a temporary file left behind.
    std::fs::remove_file(out.join("train_data/3001.wav")).unwrap();
    std::fs::remove_file(out.join("train_labels/3002.csv")).unwrap();
    std::fs::write(out.join("train_data/.3000.wav.abc123.tmp"), b"half a file").unwrap();
    let again = render(&args);
    assert_eq!((again.pieces, again.already_complete), (2, 1), "{again}");
    assert_eq!(
        snapshot(&out),
        before,
        "the rerun restored exactly the same files"
    );

    let untouched = render(&args);
    assert_eq!((untouched.pieces, untouched.already_complete), (0, 3));
    let mut forced = args.clone();
    forced.force = true;
    assert_eq!(render(&forced).pieces, 3);
}

#[test]
fn a_bad_midi_file_is_named_or_skipped_when_lenient() {
    let setup = Setup::new(
        &[
            (3000, simple_piece(0, &melody(0))),
            (3001, b"MThd this is not a MIDI file".to_vec()),
        ],
        None,
    );
    let error = run(&setup.args("strict")).unwrap_err().to_string();
    assert!(error.contains("3001_piece.mid"), "{error}");
    assert!(error.contains("not a usable MIDI file"), "{error}");
    assert!(
        !setup.path("strict/train_data/3000.wav").exists(),
        "a strict run stops before rendering anything"
    );

    let mut lenient = setup.args("lenient");
    lenient.lenient = true;
    let summary = render(&lenient);
    assert_eq!((summary.pieces, summary.failed), (1, 1));
    let bad: Vec<_> = summary
        .warnings
        .iter()
        .filter(|w| w.kind == "bad MIDI file")
        .collect();
    assert_eq!(bad.len(), 1);
    assert!(bad[0].message.contains("3001_piece.mid"));
    assert!(
        summary.to_string().contains("1 x bad MIDI file"),
        "{summary}"
    );
}

#[test]
fn a_bad_soundfont_is_named() {
    let setup = Setup::new(&[(3000, simple_piece(0, &melody(0)))], None);
    std::fs::write(setup.path("broken.sf2"), b"RIFF\x10\0\0\0sfbkLIST").unwrap();
    let mut args = setup.args("out");
    args.soundfonts = vec![setup.path("broken.sf2")];
    let error = run(&args).unwrap_err().to_string();
    assert!(
        error.contains("broken.sf2") && error.contains("SoundFont"),
        "{error}"
    );

    args.soundfonts = vec![setup.path("missing.sf2")];
    let error = run(&args).unwrap_err().to_string();
    assert!(
        error.contains("missing.sf2") && error.contains("cannot read"),
        "{error}"
    );
}

#[test]
fn stereo_and_gain_options_shape_the_audio() {
    let setup = Setup::new(&[(3000, simple_piece(0, &[(0, 480, 69, 100)]))], None);
    let mut quiet = setup.args("quiet");
    quiet.channels = 2;
    quiet.gain = 0.0;
    render(&quiet);
    let mut loud = setup.args("loud");
    loud.channels = 2;
    loud.gain = 6.0;
    render(&loud);
    let (_, channels, q) = read_wav(&setup.path("quiet/train_data/3000.wav"));
    let (_, _, l) = read_wav(&setup.path("loud/train_data/3000.wav"));
    assert_eq!(channels, 2);
    let peak = |s: &[i16]| s.iter().map(|x| i32::from(*x).abs()).max().unwrap_or(0);
    let ratio = f64::from(peak(&l)) / f64::from(peak(&q));
    assert!(
        (ratio - 2.0).abs() < 0.02,
        "6 dB is twice the amplitude, got {ratio}"
    );

    // Far too much gain is turned down to the ceiling, not clipped.
    let mut huge = setup.args("huge");
    huge.gain = 40.0;
    let summary = render(&huge);
    assert_eq!(summary.attenuated, 1, "{summary}");
    let (_, _, h) = read_wav(&setup.path("huge/train_data/3000.wav"));
    assert!(peak(&h) < 32_767 && peak(&h) > 32_000);
}

#[test]
fn command_line_defaults_match_render_args_new() {
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: RenderArgs,
    }
    let cli = Cli::try_parse_from(["render", "midis", "--out", "o"]).unwrap();
    assert_eq!(
        cli.args,
        RenderArgs::new(Path::new("midis"), Path::new("o"))
    );
    let cli = Cli::try_parse_from([
        "render",
        "midis",
        "--out",
        "o",
        "--gain",
        "-6",
        "--ids",
        "3000,3001",
        "--soundfont",
        "a.sf2",
        "--soundfont",
        "b.sf2",
        "--soundfont-mode",
        "each",
        "--reverb",
        "off",
        "--channels",
        "2",
    ])
    .unwrap();
    assert_eq!(cli.args.gain, -6.0);
    assert_eq!(cli.args.ids, vec![3000, 3001]);
    assert_eq!(cli.args.soundfonts.len(), 2);
    assert_eq!(cli.args.soundfont_mode, SoundFontMode::Each);
    assert_eq!(cli.args.reverb, Switch::Off);
    assert!(Cli::try_parse_from(["render", "m", "--out", "o", "--channels", "3"]).is_err());
}
