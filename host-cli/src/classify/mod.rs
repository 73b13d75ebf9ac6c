//! `host-cli classify`: who composed a recording and which instruments play, through the int8
//! path the firmware runs.
//!
//! For each file: [`audio::load_pcm_8k`] (decode, mono, 8 kHz, `i16`: the trainer's loader) →
//! one stack of windows per segment ([`plan`]) → each window through core-nostd's front end
//! ([`window_features`]) → [`core_nostd::inference::classify`] on each stack, the stacks in
//! parallel (`--jobs`), each thread with its own scratch buffer ([`scratch_bytes`]: 509 KB for
//! the reference model) → the verdict ([`report`]). A segment's scores are bit for bit what the
//! firmware computes with that segment as its clip.
//!
//! Stacks whose every frame is within [`SILENCE_CEILING`] of the floor are not classified and
//! are shown as silence; a recording that is silent throughout gets no verdict.

pub mod plan;
pub mod report;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use core_nostd::frontend::{BINS, FeaturePlane, WINDOW_FRAMES, WINDOW_SAMPLES, window_features};
use core_nostd::inference::{Output, classify, scratch_bytes};
use core_nostd::model::Model;
use host_common::audio;
use rayon::prelude::*;

use crate::model_file::ModelBytes;
use plan::{Segment, plan};
use report::{FileReport, Report, Settings};

/// Highest feature code of a "silent" frame: 80 steps (40 dB) above the floor code −128. A frame
/// is silent when all its 128 bins are at or below it: digital zero (−128), dither or 16-bit
/// quantization noise (about −88 per bin for 1 LSB RMS) and anything up to white noise of about
/// −70 dBFS or a tone of about −86 dBFS. Quiet passages of music are far louder.
pub const SILENCE_CEILING: i8 = -48;

/// Seconds of one model window (312 frames = 40,064 samples at 8 kHz).
pub const WINDOW_SECONDS: f64 = WINDOW_SAMPLES as f64 / audio::TARGET_RATE_HZ as f64;

/// Sample index `sample` (8 kHz) in seconds.
#[must_use]
pub fn sample_seconds(sample: usize) -> f64 {
    sample as f64 / f64::from(audio::TARGET_RATE_HZ)
}

/// Who composed it and which instruments play.
///
/// Decodes each FILE (WAV of any flavour, FLAC, MP3, OGG/Vorbis, AIFF), mixes it to mono,
/// resamples it to 8 kHz and computes the integer spectrogram with the firmware's own front end.
/// The recording is cut into segments of at most one stack of windows (20 s for the reference
/// model: 4 windows of 5.008 s); each segment's stack goes through the int8 network, exactly as
/// on the microcontroller. The verdict averages the segments' composer probabilities, gives each
/// instrument its mean and peak probability, and a timeline shows which instruments are heard
/// in which segment. Recordings shorter than one window are padded with silence (and say so);
/// silent segments are reported as silence, not classified.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Recordings to classify.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Model file to use instead of the bundled one (written by `trainer export`).
    #[arg(long, value_name = "MODEL")]
    pub model: Option<PathBuf>,
    /// How many composers to list, most likely first.
    #[arg(long, default_value_t = 3, value_name = "K")]
    pub top: usize,
    /// Probability at which an instrument counts as heard in a segment.
    #[arg(long, default_value_t = 0.5, value_name = "P")]
    pub threshold: f64,
    /// Longest segment in seconds, from one window (5.008 s) to one stack of windows (20.032 s
    /// for a 4-window model, the default); shorter segments give a finer timeline and cost more
    /// inferences.
    #[arg(long, value_name = "SECONDS")]
    pub segment: Option<f64>,
    /// Worker threads for the stacks of a recording (default: all cores).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Runs `classify`: every file in turn; a file that fails is reported on stderr and the others
/// still run. Returns an error (exit code 1) if any file failed.
///
/// # Errors
/// A bad model, bad options, or at least one file that could not be classified.
pub fn run(args: &Args) -> Result<()> {
    let model_bytes = ModelBytes::load(args.model.as_deref())?;
    let model = model_bytes.parse()?;
    let settings = settings(args, &model)?;
    let jobs = args.jobs.unwrap_or_else(default_jobs).max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .context("cannot start the worker threads")?;

    let mut report = Report::new(&model_bytes, &model, settings, jobs);
    let mut last_error = None;
    for file in &args.files {
        match classify_file(file, &model, &report.settings, &pool) {
            Ok(file_report) => {
                if !args.json {
                    print!("{}", file_report.table());
                }
                report.files.push(file_report);
            }
            Err(error) => {
                // With several files, say at once which one failed and go on.
                if args.files.len() > 1 {
                    eprintln!("host-cli: error: {error:#}");
                }
                report.push_error(file, &error);
                last_error = Some(error);
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    match last_error {
        None => Ok(()),
        Some(error) if args.files.len() == 1 => Err(error),
        Some(_) => bail!(
            "{} of {} files could not be classified",
            report.errors.len(),
            args.files.len()
        ),
    }
}

/// All cores (1 if unknown).
fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Checks the options against the model.
fn settings(args: &Args, model: &Model<'_>) -> Result<Settings> {
    let stack = model.stack();
    let longest = stack as f64 * WINDOW_SECONDS;
    let segment_seconds = args.segment.unwrap_or(longest);
    if !(segment_seconds.is_finite()
        && segment_seconds >= WINDOW_SECONDS - 1e-9
        && segment_seconds <= longest + 1e-9)
    {
        bail!(
            "--segment must be between {WINDOW_SECONDS:.3} s (one window) and {longest:.3} s \
             (one stack of {stack} windows) for this model, not {segment_seconds}"
        );
    }
    if !(0.0..=1.0).contains(&args.threshold) {
        bail!("--threshold must be a probability between 0 and 1");
    }
    let segment_samples = if args.segment.is_none() {
        stack * WINDOW_SAMPLES
    } else {
        (segment_seconds * f64::from(audio::TARGET_RATE_HZ)).round() as usize
    };
    Ok(Settings {
        top: args.top,
        threshold: args.threshold,
        segment_samples,
        stack,
    })
}

/// What the analysis of one recording found, before it is turned into a verdict.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// Samples of the recording at 8 kHz, before padding.
    pub samples: usize,
    /// Samples of silence appended to reach one window (0 if none).
    pub padded_samples: usize,
    /// Frames the model was shown, over all stacks.
    pub frames: usize,
    /// Of those, frames whose every bin is at or below [`SILENCE_CEILING`].
    pub silent_frames: usize,
    /// The segments, in time order, each with its stack's scores (`None`: silent, not run).
    pub segments: Vec<(Segment, Option<Output>)>,
}

/// What one stack gave: its scores (`None` when silent) and its silent frames.
type StackResult = (Option<Output>, usize);

/// Runs the front end and the model over `samples` (8 kHz), one stack per segment of at most
/// `segment_samples` samples ([`plan`]), the stacks in parallel on `pool`.
///
/// Each window's features are computed from its samples by core-nostd's
/// [`window_features`](core_nostd::frontend::window_features), as the firmware's front ends
/// do; a stack whose every frame is silent is not classified.
///
/// Cost per segment: `stack` windows of front end (312 256-point FFTs each), then one inference
/// (about 0.23 GMAC for the reference model). Memory per thread: one scratch
/// ([`scratch_bytes`], 509 KB for the reference model) and one input (160 KB).
///
/// # Errors
/// Only if the model's input or scratch sizes disagree with core-nostd (a bug, not bad data).
pub fn analyse(
    model: &Model<'_>,
    samples: &[i16],
    segment_samples: usize,
    pool: &rayon::ThreadPool,
) -> Result<Analysis> {
    let padded_samples = WINDOW_SAMPLES.saturating_sub(samples.len());
    let padded: Cow<'_, [i16]> = if padded_samples > 0 {
        let mut padded = samples.to_vec();
        padded.resize(WINDOW_SAMPLES, 0);
        Cow::Owned(padded)
    } else {
        Cow::Borrowed(samples)
    };
    let segments = plan(padded.len(), model.stack(), segment_samples);
    let scratch_len = scratch_bytes(model);
    let results: Vec<StackResult> = pool.install(|| {
        segments
            .par_iter()
            .map_init(
                || (vec![0_u8; scratch_len], vec![0_i8; model.input_len()]),
                |(scratch, input), segment| {
                    let silent = stack_input(&padded, &segment.windows, input);
                    if silent == segment.windows.len() * WINDOW_FRAMES {
                        return Ok((None, silent));
                    }
                    classify(model, input, scratch).map(|output| (Some(output), silent))
                },
            )
            .collect::<Result<_, _>>()
    })?;
    Ok(Analysis {
        samples: samples.len(),
        padded_samples,
        frames: segments.len() * model.stack() * WINDOW_FRAMES,
        silent_frames: results.iter().map(|(_, silent)| silent).sum(),
        segments: segments
            .into_iter()
            .zip(results)
            .map(|(segment, (output, _))| (segment, output))
            .collect(),
    })
}

/// Fills `input` (`[window][bin][frame]`, the model's layout) with the features of the windows
/// starting at the given samples, and returns how many of its frames are silent. A window
/// reaching past the end of `samples` (never planned) is zero-padded, as the firmware pads.
fn stack_input(samples: &[i16], windows: &[usize], input: &mut [i8]) -> usize {
    let mut window = [0_i16; WINDOW_SAMPLES];
    let mut plane: FeaturePlane = [[0; WINDOW_FRAMES]; BINS];
    let mut silent = 0;
    for (channel, &start) in input.chunks_exact_mut(BINS * WINDOW_FRAMES).zip(windows) {
        let available = samples.get(start..).unwrap_or_default();
        let n = available.len().min(WINDOW_SAMPLES);
        window[..n].copy_from_slice(&available[..n]);
        window[n..].fill(0);
        window_features(&window, &mut plane);
        channel.copy_from_slice(plane.as_flattened());
        silent += (0..WINDOW_FRAMES)
            .filter(|&t| plane.iter().all(|row| row[t] <= SILENCE_CEILING))
            .count();
    }
    silent
}

/// Time spent on one file, in seconds.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Timing {
    /// Decoding, mixing and resampling.
    pub load_s: f64,
    /// Front end and inference.
    pub analyse_s: f64,
}

/// Loads, analyses and reports one file.
fn classify_file(
    path: &Path,
    model: &Model<'_>,
    settings: &Settings,
    pool: &rayon::ThreadPool,
) -> Result<FileReport> {
    let started = Instant::now();
    let pcm = audio::load_pcm_8k(path)?;
    let loaded = Instant::now();
    let analysis = analyse(model, &pcm.samples, settings.segment_samples, pool)
        .with_context(|| format!("{}: inference failed", path.display()))?;
    let timing = Timing {
        load_s: (loaded - started).as_secs_f64(),
        analyse_s: loaded.elapsed().as_secs_f64(),
    };
    Ok(FileReport::new(
        path, &pcm, &analysis, model, settings, timing,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use core_nostd::frontend::frame_count;
    use host_common::features::frames_of;

    #[test]
    fn stack_input_lays_out_windows_of_the_recording() {
        let samples: Vec<i16> = (0..3 * WINDOW_SAMPLES)
            .map(|n| ((n * 7919) % 20011) as i16 - 10005)
            .collect();
        let frames = frames_of(&samples);
        assert_eq!(frames.len(), frame_count(samples.len()));
        let mut input = vec![0_i8; 2 * BINS * WINDOW_FRAMES];
        // Window 1 starts on frame 5 of the recording.
        let silent = stack_input(&samples, &[0, 5 * 128], &mut input);
        assert_eq!(silent, 0);
        let at = |c: usize, bin: usize, t: usize| {
            input[c * BINS * WINDOW_FRAMES + bin * WINDOW_FRAMES + t]
        };
        assert_eq!(at(0, 5, 10), frames[10][5]);
        assert_eq!(at(1, 127, 311), frames[316][127]);
        assert_eq!(at(1, 0, 0), frames[5][0]);
    }

    #[test]
    fn silent_frames_are_counted_and_windows_past_the_end_padded() {
        let mut samples = vec![0_i16; WINDOW_SAMPLES];
        samples.extend((0..WINDOW_SAMPLES).map(|n| if n % 16 < 8 { 8000 } else { -8000 }));
        let mut input = vec![0_i8; 2 * BINS * WINDOW_FRAMES];
        assert_eq!(
            stack_input(&samples, &[0, 0], &mut input),
            2 * WINDOW_FRAMES
        );
        assert_eq!(
            stack_input(&samples, &[WINDOW_SAMPLES, 0], &mut input),
            WINDOW_FRAMES
        );
        // Half a window of sound, then zero padding.
        let silent = stack_input(
            &samples,
            &[WINDOW_SAMPLES + WINDOW_SAMPLES / 2],
            &mut input[..BINS * WINDOW_FRAMES],
        );
        assert!((150..=160).contains(&silent), "{silent}");
    }
}
