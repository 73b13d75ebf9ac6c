//! `trainer render`: MIDI files laid out like MusicNet's `musicnet_midis` archive, synthesized
//! with SoundFonts into audio and note labels laid out like MusicNet itself, so everything
//! downstream reads a rendered corpus exactly as it reads MusicNet.
//!
//! The path of one piece, one module per step:
//! - [`corpus`]: find the MIDI folder, `musicnet_metadata.csv` and `split.csv`; select pieces.
//! - [`midi`]: parse a MIDI file into a [`midi::Score`]: notes paired first-in-first-out per
//!   (track, channel), each with its program; tempo map from [`tempo`].
//! - [`augment`]: seeded per-piece choices (tempo factor, velocity offsets, SoundFont, split).
//! - [`timbre`]: seeded per-part changes (a related program, a velocity offset) whose labels keep
//!   the written instrument.
//! - [`perform`]: the score on the sample grid, and the label row of each note
//!   (44.1 kHz samples, 1-based program, beats, [`note_value`]).
//! - [`schedule`]: synthesizer channels for every note, so overlapping notes of one pitch each
//!   sound for exactly their labelled span; the time-ordered command list.
//! - [`synth`]: rustysynth's `Synthesizer` driven by those commands, rendering between them,
//!   plus a release tail cut when silent.
//! - [`stems`]: with `--part-eq/--part-tilt/--part-gain`, every part rendered alone, coloured
//!   with its own drawn tilt, equalizer and gain, and summed.
//! - [`mix`]: downmix, gain and a per-piece limit (no clipping, ever), 16-bit PCM.
//! - [`output`]: atomic WAV and label files, completeness checks for resuming, metadata.
//!
//! [`run`] plans the whole job (every MIDI file is parsed before any audio is made, so a bad
//! file stops a strict run at once), renders pieces in parallel with rayon, each from its own
//! seeded random streams (identical bytes for any `--jobs`), skips pieces already complete in
//! the output folder, and writes the metadata last.
//!
//! Cost: synthesis dominates; it grows with the audio length and the number of sounding voices.
//! Memory: each SoundFont once (shared), plus about 12 bytes per sample of each piece in flight.

pub mod args;
pub mod augment;
pub mod corpus;
pub mod error;
pub mod midi;
pub mod mix;
pub mod note_value;
pub mod output;
pub mod perform;
pub mod piece;
pub mod schedule;
pub mod soundfonts;
pub mod stems;
pub mod summary;
pub mod synth;
pub mod tempo;
pub mod timbre;

pub use args::{RenderArgs, SoundFontMode, Switch};
pub use error::{RenderError, Warning};
pub use summary::RenderSummary;

use crate::musicnet::instruments::instrument_name;
use crate::musicnet::{Metadata, Split};
use crate::progress::Progress;
use augment::{Jitter, drawn_soundfont};
use corpus::{Corpus, Selection, SourcePiece, open_corpus};
use error::Problems;
use midi::{Score, read_score};
use output::OutDir;
use piece::{Job, Rendered, Settings, render_job};
use rayon::prelude::*;
use soundfonts::{LoadedFont, soundfont_paths};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use timbre::PartJitter;

/// The id of the rendering of piece `id` with the `k`-th SoundFont in `each` mode:
/// `id * 10 + k`, or `None` when it does not fit in a `u32` or `k` > 9.
#[must_use]
pub fn each_mode_id(id: u32, k: usize) -> Option<u32> {
    let k = u32::try_from(k).ok().filter(|&k| k < 10)?;
    id.checked_mul(10)?.checked_add(k)
}

/// Runs `trainer render` (see the module doc and [`RenderArgs`]). Errors name the file at fault.
pub fn run(args: &RenderArgs) -> anyhow::Result<RenderSummary> {
    let started = Instant::now();
    let font_paths = soundfont_paths(&args.soundfonts)?;
    args.check(font_paths.len())?;
    let mut problems = Problems::new(args.lenient);
    let fonts = font_paths
        .iter()
        .map(|path| LoadedFont::load(path))
        .collect::<Result<Vec<_>, _>>()?;
    let selection = Selection {
        ids: &args.ids,
        limit: args.limit,
        test_share: args.test_share,
        seed: args.seed,
    };
    let corpus = open_corpus(&args.input, &selection, &mut problems)?;
    let (scores, bad_scores) = parse_scores(&corpus, &mut problems)?;
    let jobs = plan_jobs(&scores, &fonts, args)?;
    warn_missing_programs(&jobs, &fonts, &mut problems);

    let out = OutDir::new(&args.out);
    out.remove_stale_temp_files()?;
    let mut done = Vec::new();
    let mut todo = Vec::new();
    for job in &jobs {
        let complete = if args.force {
            None
        } else {
            out.complete(job.split(), job.out_id, args.sample_rate, args.channels)
        };
        match complete {
            Some(seconds) => done.push((*job, seconds)),
            None => todo.push(*job),
        }
    }

    let settings = Settings {
        rate_hz: args.sample_rate,
        channels: args.channels,
        gain_db: args.gain,
        reverb: args.reverb == Switch::On,
        tail_seconds: args.tail,
        seed: args.seed,
        jitter: Jitter {
            tempo: args.tempo_jitter,
            velocity: args.velocity_jitter,
        },
        parts: PartJitter {
            swap: args.part_swap,
            velocity: args.part_velocity_jitter,
        },
        part_color: args.part_coloring(),
    };
    let (outcomes, threads) = render_all(&todo, &fonts, &settings, &out, args)?;

    let mut summary = RenderSummary {
        out: args.out.clone(),
        threads,
        failed: bad_scores,
        max_peak_dbfs: f64::NEG_INFINITY,
        ..RenderSummary::default()
    };
    let mut rows = Vec::new();
    for (job, seconds) in &done {
        summary.already_complete += 1;
        rows.push(metadata_row(job, &fonts, *seconds));
        count_split(&mut summary, job, *seconds);
    }
    for (job, outcome) in todo.iter().zip(outcomes) {
        match outcome {
            Outcome::Rendered(rendered) => {
                note_rendered(&mut summary, &mut problems, job, &rendered);
                rows.push(metadata_row(job, &fonts, rendered.seconds));
                count_split(&mut summary, job, rendered.seconds);
            }
            Outcome::Failed(error) => {
                summary.failed += 1;
                problems.report(error)?;
            }
            Outcome::Fatal(error) => return Err(error.into()),
            Outcome::Cancelled => {}
        }
    }
    summary.metadata_rows = out.write_metadata(&rows)?;
    summary.warnings = problems.into_warnings();
    summary.wall_seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Parses the MIDI file of every selected piece; bad files (or files without notes) go to
/// `problems`, and what the parser skipped becomes warnings. Returns the scores and the number
/// of pieces skipped as bad (lenient mode).
fn parse_scores(
    corpus: &Corpus,
    problems: &mut Problems,
) -> Result<(Vec<(SourcePiece, Score)>, usize), RenderError> {
    let parsed: Vec<_> = corpus
        .pieces
        .par_iter()
        .map(|piece| (piece, read_score(&piece.midi)))
        .collect();
    let mut scores = Vec::new();
    let mut bad = 0;
    for (piece, result) in parsed {
        let score = match result {
            Ok(score) if score.notes.is_empty() => {
                problems.report(RenderError::Midi {
                    path: piece.midi.clone(),
                    reason: "no notes to render (outside the percussion channel)".into(),
                })?;
                bad += 1;
                continue;
            }
            Ok(score) => score,
            Err(error) => {
                problems.report(error)?;
                bad += 1;
                continue;
            }
        };
        let file = piece.midi.display();
        let skipped = score.skipped;
        let notices = [
            (
                skipped.drum_notes,
                "drum notes skipped",
                "notes on the percussion channel skipped",
            ),
            (
                skipped.zero_length,
                "zero-length notes dropped",
                "notes of zero length dropped",
            ),
            (
                skipped.unmatched_offs,
                "note-offs without a note",
                "note-offs without a sounding note ignored",
            ),
            (
                skipped.unterminated,
                "notes never released",
                "notes still sounding at the end of their track, ended there",
            ),
        ];
        for (count, kind, what) in notices {
            if count > 0 {
                problems.warn(kind, format!("{file}: {count} {what}"));
            }
        }
        scores.push((piece.clone(), score));
    }
    Ok((scores, bad))
}

/// The renderings to make: one per piece (`draw`: the SoundFont drawn per piece) or one per
/// piece and SoundFont (`each`: ids `id * 10 + k`).
fn plan_jobs<'a>(
    scores: &'a [(SourcePiece, Score)],
    fonts: &[LoadedFont],
    args: &RenderArgs,
) -> Result<Vec<Job<'a>>, RenderError> {
    let mut jobs = Vec::new();
    for (source, score) in scores {
        match args.soundfont_mode {
            SoundFontMode::Draw => jobs.push(Job {
                out_id: source.id,
                source,
                score,
                font: drawn_soundfont(args.seed, source.id, fonts.len()),
            }),
            SoundFontMode::Each => {
                for font in 0..fonts.len() {
                    let out_id = each_mode_id(source.id, font).ok_or_else(|| {
                        RenderError::Usage(format!(
                            "{}: id {} is too large for --soundfont-mode each (id*10+k must fit \
                             in 32 bits)",
                            source.midi.display(),
                            source.id
                        ))
                    })?;
                    jobs.push(Job {
                        out_id,
                        source,
                        score,
                        font,
                    });
                }
            }
        }
    }
    Ok(jobs)
}

/// One warning per (SoundFont, program) the jobs need and the SoundFont lacks.
fn warn_missing_programs(jobs: &[Job<'_>], fonts: &[LoadedFont], problems: &mut Problems) {
    let mut needed: BTreeSet<(usize, u8)> = BTreeSet::new();
    for job in jobs {
        needed.extend(job.score.notes.iter().map(|n| (job.font, n.program)));
    }
    for (font, program) in needed {
        let Some(loaded) = fonts.get(font) else {
            continue;
        };
        if !loaded.has_program(program) {
            problems.warn(
                "program missing from SoundFont",
                format!(
                    "{}: no preset for program {} ({}); its notes play the SoundFont's first preset",
                    loaded.path.display(),
                    u16::from(program) + 1,
                    instrument_name(program + 1)
                ),
            );
        }
    }
}

/// How rendering one piece ended.
enum Outcome {
    /// Written.
    Rendered(Rendered),
    /// A problem with the piece (lenient mode skips it).
    Failed(RenderError),
    /// A problem that stops the run in any mode (the output cannot be written).
    Fatal(RenderError),
    /// Not attempted: the run was stopping.
    Cancelled,
}

/// Renders `jobs` on the worker pool, with progress. A strict run stops starting pieces after the
/// first error; a fatal error stops any run. Returns the outcomes in job order and the number of
/// threads.
fn render_all(
    jobs: &[Job<'_>],
    fonts: &[LoadedFont],
    settings: &Settings,
    out: &OutDir,
    args: &RenderArgs,
) -> anyhow::Result<(Vec<Outcome>, usize)> {
    let progress = Progress::new("render", jobs.len() as u64);
    let stop = AtomicBool::new(false);
    let work = || {
        let outcomes = jobs
            .par_iter()
            .map(|job| {
                if stop.load(Ordering::Relaxed) {
                    return Outcome::Cancelled;
                }
                let outcome = match render_job(job, fonts, settings, out) {
                    Ok(rendered) => Outcome::Rendered(rendered),
                    Err(error @ (RenderError::Write { .. } | RenderError::Read { .. })) => {
                        stop.store(true, Ordering::Relaxed);
                        Outcome::Fatal(error)
                    }
                    Err(error) => {
                        if !args.lenient {
                            stop.store(true, Ordering::Relaxed);
                        }
                        Outcome::Failed(error)
                    }
                };
                progress.inc(&job.out_id.to_string());
                outcome
            })
            .collect::<Vec<_>>();
        (outcomes, rayon::current_num_threads())
    };
    let result = match args.jobs {
        Some(jobs) => rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build()?
            .install(work),
        None => work(),
    };
    progress.finish();
    Ok(result)
}

/// The metadata row of a rendered piece: the source's row with the output id, the rendered
/// length (whole seconds, as MusicNet's) and the SoundFont named in `source`.
fn metadata_row(job: &Job<'_>, fonts: &[LoadedFont], seconds: f64) -> Metadata {
    let mut row = job.source.metadata.clone();
    row.id = job.out_id;
    row.seconds = seconds.round();
    if let Some(font) = fonts.get(job.font) {
        row.source = if row.source.is_empty() {
            format!("rendered with {}", font.name)
        } else {
            format!("{}; rendered with {}", row.source, font.name)
        };
    }
    row
}

/// Counts a piece of this run in its split.
fn count_split(summary: &mut RenderSummary, job: &Job<'_>, seconds: f64) {
    summary.total_seconds += seconds;
    match job.split() {
        Split::Train => summary.train += 1,
        Split::Test => summary.test += 1,
    }
}

/// Adds a rendered piece to the summary, with warnings for notes the channel allocation cut.
fn note_rendered(
    summary: &mut RenderSummary,
    problems: &mut Problems,
    job: &Job<'_>,
    rendered: &Rendered,
) {
    summary.pieces += 1;
    summary.seconds += rendered.seconds;
    summary.notes += rendered.notes;
    summary.max_peak_dbfs = summary.max_peak_dbfs.max(rendered.peak_dbfs);
    if rendered.attenuation_db > 0.0 {
        summary.attenuated += 1;
        summary.max_attenuation_db = summary.max_attenuation_db.max(rendered.attenuation_db);
    }
    let file = job.source.midi.display();
    if rendered.cut_notes + rendered.dropped_notes > 0 {
        problems.warn(
            "notes cut short (out of synthesizer channels)",
            format!(
                "{file}: {} notes cut short and {} dropped: more overlapping notes of one pitch \
                 than 15 channels hold (labels match the audio)",
                rendered.cut_notes, rendered.dropped_notes
            ),
        );
    }
    if rendered.shared_voices > 0 {
        problems.warn(
            "voices sharing a synthesizer channel",
            format!(
                "{file}: {} voices share channels (more than 15 track/channel pairs); their \
                 volume and pan controllers may mix",
                rendered.shared_voices
            ),
        );
    }
}
