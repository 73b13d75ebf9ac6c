//! Rendering one piece with one SoundFont: score → performance → channel schedule → audio →
//! 16-bit PCM and labels → files.

use super::augment::Jitter;
use super::corpus::SourcePiece;
use super::error::RenderError;
use super::midi::Score;
use super::mix::{silence_threshold, to_pcm};
use super::output::OutDir;
use super::perform::{label_of, perform, to_samples};
use super::schedule::schedule;
use super::soundfonts::LoadedFont;
use super::stems::{part_colorings, play_colored};
use super::synth::{SynthConfig, Tail, play};
use super::timbre::{PartJitter, offset_velocities, play_parts_as};
use crate::augment::ColoringRange;
use crate::musicnet::{LABEL_RATE_HZ, Split};
use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Longest piece rendered, in seconds (a guard against files whose tempo or ticks are absurd).
pub const MAX_PIECE_SECONDS: f64 = 6.0 * 3600.0;

/// How every piece of a run is rendered.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// Audio rate, Hz.
    pub rate_hz: u32,
    /// Audio channels, 1 or 2.
    pub channels: u16,
    /// Gain, dB.
    pub gain_db: f64,
    /// Reverb and chorus.
    pub reverb: bool,
    /// Longest tail after the last note-off, seconds.
    pub tail_seconds: f64,
    /// Run seed.
    pub seed: u64,
    /// Tempo and velocity jitter.
    pub jitter: Jitter,
    /// Per-part program swaps and velocity offsets.
    pub parts: PartJitter,
    /// Per-part colouring; the default (identity) renders all parts in one pass.
    pub part_color: ColoringRange,
}

/// One rendering to do: a source piece, its output id and its SoundFont.
#[derive(Clone, Copy, Debug)]
pub struct Job<'a> {
    /// Id of the rendered piece (the source id, or `id * 10 + k` in `each` mode).
    pub out_id: u32,
    /// The source piece.
    pub source: &'a SourcePiece,
    /// Its parsed score.
    pub score: &'a Score,
    /// Index of its SoundFont.
    pub font: usize,
}

impl Job<'_> {
    /// The split of the rendered piece (its source's).
    #[must_use]
    pub fn split(&self) -> Split {
        self.source.split
    }
}

/// What rendering one piece gave.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    /// Output id.
    pub id: u32,
    /// Seconds of audio written.
    pub seconds: f64,
    /// Label rows written.
    pub notes: usize,
    /// The tempo factor applied.
    pub tempo_factor: f64,
    /// How far the piece was turned down to avoid clipping, dB.
    pub attenuation_db: f64,
    /// Its peak, dBFS.
    pub peak_dbfs: f64,
    /// Notes cut short (out of synthesizer channels).
    pub cut_notes: usize,
    /// Notes dropped (out of synthesizer channels).
    pub dropped_notes: usize,
    /// Score voices that shared a synthesizer channel (more than 15 voices).
    pub shared_voices: usize,
}

/// Renders `job` with `fonts[job.font]` and writes its audio and labels into `out`. A panic of
/// the synthesizer becomes an error naming the MIDI file. Cost: the synthesis (dominant), about
/// 12 bytes of memory per sample of the piece, and writing the files.
pub fn render_job(
    job: &Job<'_>,
    fonts: &[LoadedFont],
    settings: &Settings,
    out: &OutDir,
) -> Result<Rendered, RenderError> {
    let path = &job.source.midi;
    let synth_error = |reason: String| RenderError::Synth {
        path: path.clone(),
        reason,
    };
    let font = fonts
        .get(job.font)
        .ok_or_else(|| synth_error("no such SoundFont".into()))?;
    let tempo_factor = settings.jitter.tempo_factor(settings.seed, job.out_id);
    let velocities: Vec<u8> = job.score.notes.iter().map(|n| n.velocity).collect();
    let mut velocities = settings
        .jitter
        .velocities(settings.seed, job.out_id, &velocities);
    let programs: Vec<u8> = job.score.notes.iter().map(|n| n.program).collect();
    let written: BTreeSet<u8> = programs.iter().copied().collect();
    let part_offsets = settings
        .parts
        .velocity_offsets(settings.seed, job.out_id, &written);
    offset_velocities(&mut velocities, &programs, &part_offsets);
    let mut performance = perform(job.score, settings.rate_hz, tempo_factor, &velocities);
    let end_seconds = performance
        .notes
        .iter()
        .map(|n| n.end_seconds)
        .fold(0.0, f64::max);
    if end_seconds > MAX_PIECE_SECONDS {
        return Err(RenderError::Midi {
            path: path.clone(),
            reason: format!(
                "the piece lasts {:.1} h; pieces over {:.0} h are refused",
                end_seconds / 3600.0,
                MAX_PIECE_SECONDS / 3600.0
            ),
        });
    }
    let mut plan = schedule(&mut performance);
    let sounding = settings
        .parts
        .sounding_programs(settings.seed, job.out_id, &written, |p| font.has_program(p));
    play_parts_as(&mut plan.events, &sounding);
    let labels: Vec<_> = performance
        .notes
        .iter()
        .map(|n| label_of(n, &job.score.tempo))
        .collect();
    // The audio reaches every note-off at the audio rate and every label end at 44.1 kHz.
    let last_off = performance.notes.iter().map(|n| n.end).max().unwrap_or(0);
    let last_label = labels.iter().map(|l| l.end_time).max().unwrap_or(0);
    let label_end_at_rate =
        (u128::from(last_label) * u128::from(settings.rate_hz)).div_ceil(u128::from(LABEL_RATE_HZ));
    let min_samples = last_off.max(u64::try_from(label_end_at_rate).unwrap_or(u64::MAX));
    let tail = Tail {
        max_samples: to_samples(settings.tail_seconds, settings.rate_hz),
        silence: silence_threshold(settings.gain_db),
    };
    let config = SynthConfig {
        rate_hz: settings.rate_hz,
        reverb: settings.reverb,
    };
    let colorings = (settings.part_color != ColoringRange::default()).then(|| {
        let programs = sounding.values().copied();
        part_colorings(&settings.part_color, settings.seed, job.out_id, programs)
    });
    let audio = catch_unwind(AssertUnwindSafe(|| match &colorings {
        Some(colorings) => play_colored(
            &font.font,
            config,
            &plan.events,
            min_samples,
            tail,
            colorings,
        ),
        None => play(&font.font, config, &plan.events, min_samples, tail),
    }))
    .map_err(|_| synth_error(format!("the synthesizer panicked with {}", font.name)))?
    .map_err(synth_error)?;
    let pcm = to_pcm(&audio, settings.channels, settings.gain_db);
    drop(audio);
    out.write_piece(job.split(), job.out_id, &pcm, settings.rate_hz, &labels)?;
    let frames = pcm.samples.len() / usize::from(pcm.channels.max(1));
    Ok(Rendered {
        id: job.out_id,
        seconds: frames as f64 / f64::from(settings.rate_hz),
        notes: labels.len(),
        tempo_factor,
        attenuation_db: pcm.attenuation_db,
        peak_dbfs: pcm.peak_dbfs,
        cut_notes: plan.cut_notes,
        dropped_notes: plan.dropped_notes,
        shared_voices: plan.shared_voices,
    })
}
