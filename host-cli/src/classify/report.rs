//! The verdict: segment scores aggregated into composer probabilities, instrument confidences
//! and a timeline, as a readable table or JSON.
//!
//! Aggregation, over the segments that were classified (not silent):
//! - **composers**: the mean of the segments' softmax probabilities (segments have near-equal
//!   lengths, so this weights time evenly), listed most likely first, with how many segments
//!   each composer won;
//! - **instruments**: per instrument the mean and the peak of its sigmoid probability, and the
//!   segments in which it reaches the threshold; an instrument is *heard* when it does in at
//!   least one segment (the model was trained to say whether an instrument sounds anywhere in
//!   its stack of windows, so a segment's answer is about that segment only).

use std::fmt::Write as _;
use std::path::Path;

use core_nostd::frontend::{DB_PER_STEP, WINDOW_SAMPLES};
use core_nostd::inference::Output;
use core_nostd::model::Model;
use host_common::audio::{Pcm8k, TARGET_RATE_HZ};
use serde::Serialize;

use super::{Analysis, SILENCE_CEILING, Timing, WINDOW_SECONDS, sample_seconds};
use crate::model_file::ModelBytes;

/// Q15 one.
const Q15_ONE: f64 = 32_768.0;
/// Width of the composer probability bars, in characters.
const BAR_WIDTH: usize = 30;

/// Options that shape the verdict.
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    /// Composers listed.
    pub top: usize,
    /// Instrument probability that counts as heard.
    pub threshold: f64,
    /// Longest segment, in samples (8 kHz).
    pub segment_samples: usize,
    /// Windows per stack (the model's).
    pub stack: usize,
}

/// Everything `classify --json` prints: the model, the settings, one report per file that could
/// be classified, and the files that could not.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The model used.
    pub model: ModelSummary,
    /// The options used.
    pub settings: Settings,
    /// Worker threads.
    pub jobs: usize,
    /// One per file classified, in command-line order.
    pub files: Vec<FileReport>,
    /// Files that could not be classified, with the reason.
    pub errors: Vec<FileError>,
}

impl Report {
    /// An empty report for `model`.
    #[must_use]
    pub fn new(bytes: &ModelBytes, model: &Model<'_>, settings: Settings, jobs: usize) -> Self {
        Self {
            model: ModelSummary {
                name: bytes.name(),
                crc32: format!("{:08x}", bytes.crc32()),
                composers: model.composers().iter().map(ToString::to_string).collect(),
                instruments: model
                    .instruments()
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
            },
            settings,
            jobs,
            files: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Records a file that failed.
    pub fn push_error(&mut self, file: &Path, error: &anyhow::Error) {
        self.errors.push(FileError {
            file: file.display().to_string(),
            error: format!("{error:#}"),
        });
    }
}

/// Which model classified.
#[derive(Debug, Serialize)]
pub struct ModelSummary {
    /// Its file, or the bundled model.
    pub name: String,
    /// CRC-32 of the file, hex.
    pub crc32: String,
    /// Composer labels.
    pub composers: Vec<String>,
    /// Instrument labels.
    pub instruments: Vec<String>,
}

/// A file that could not be classified.
#[derive(Debug, Serialize)]
pub struct FileError {
    /// The file.
    pub file: String,
    /// Why, in words.
    pub error: String,
}

/// The verdict on one recording.
#[derive(Debug, Serialize)]
pub struct FileReport {
    /// The file.
    pub file: String,
    /// Its length in seconds (at 8 kHz, before padding).
    pub seconds: f64,
    /// Its sample rate.
    pub source_rate_hz: u32,
    /// Its channels before mixing to mono.
    pub source_channels: usize,
    /// Seconds of silence appended to make one window (0 if none).
    pub padded_seconds: f64,
    /// Whether the recording is shorter than one stack of back-to-back windows, so that its
    /// stack's windows overlap (20.03 s for a 4-window model).
    pub shorter_than_stack: bool,
    /// Share of the frames shown to the model that are silent.
    pub silent_share: f64,
    /// True when every segment is silent: nothing was classified.
    pub silence: bool,
    /// Segments in all.
    pub segments: usize,
    /// Segments classified (not silent).
    pub classified_segments: usize,
    /// The most likely composers, most likely first (at most `--top`; empty for silence).
    pub composers: Vec<ComposerScore>,
    /// Every instrument, most confident first (empty for silence).
    pub instruments: Vec<InstrumentScore>,
    /// One row per segment, in time order.
    pub timeline: Vec<TimelineRow>,
    /// Time spent.
    pub timing: Timing,
}

/// A composer's aggregated probability.
#[derive(Clone, Debug, Serialize)]
pub struct ComposerScore {
    /// Label.
    pub name: String,
    /// Mean probability over classified segments.
    pub probability: f64,
    /// Segments in which it was the most likely composer.
    pub segments_won: usize,
}

/// An instrument's aggregated confidence.
#[derive(Clone, Debug, Serialize)]
pub struct InstrumentScore {
    /// Label.
    pub name: String,
    /// Heard in at least one segment.
    pub heard: bool,
    /// Mean probability over classified segments.
    pub confidence: f64,
    /// Highest probability of any segment.
    pub peak: f64,
    /// Segments in which the probability reaches the threshold.
    pub segments_heard: usize,
}

/// One label and its probability.
#[derive(Clone, Debug, Serialize)]
pub struct LabelProbability {
    /// Label.
    pub name: String,
    /// Probability.
    pub probability: f64,
}

/// One segment of the timeline.
#[derive(Clone, Debug, Serialize)]
pub struct TimelineRow {
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// Start of each window of the stack, seconds.
    pub windows_s: Vec<f64>,
    /// Silent: not classified.
    pub silent: bool,
    /// The most likely composer of the segment (absent when silent).
    pub composer: Option<LabelProbability>,
    /// Instruments heard (probability at or above the threshold), most likely first.
    pub heard: Vec<String>,
    /// All composer probabilities, in label order (empty when silent).
    pub composers: Vec<LabelProbability>,
    /// All instrument probabilities, in label order (empty when silent).
    pub instruments: Vec<LabelProbability>,
}

/// Q15 probabilities as `f64`.
fn probabilities(q15: &[u16]) -> Vec<f64> {
    q15.iter().map(|&p| f64::from(p) / Q15_ONE).collect()
}

/// Labels paired with probabilities.
fn labelled(labels: &[&str], values: &[f64]) -> Vec<LabelProbability> {
    labels
        .iter()
        .zip(values)
        .map(|(name, &probability)| LabelProbability {
            name: (*name).to_string(),
            probability,
        })
        .collect()
}

/// Index of the largest value (the first on ties).
fn argmax(values: &[f64]) -> Option<usize> {
    values
        .iter()
        .enumerate()
        .fold(None, |best: Option<(usize, f64)>, (i, &v)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((i, v)),
        })
        .map(|(i, _)| i)
}

impl FileReport {
    /// Aggregates `analysis` of the recording at `path` (see the [module docs](self)). Cost:
    /// linear in segments × labels.
    #[must_use]
    pub fn new(
        path: &Path,
        pcm: &Pcm8k,
        analysis: &Analysis,
        model: &Model<'_>,
        settings: &Settings,
        timing: Timing,
    ) -> Self {
        let seconds = analysis.samples as f64 / f64::from(TARGET_RATE_HZ);
        let composers = model.composers();
        let instruments = model.instruments();
        let classified: Vec<(Vec<f64>, Vec<f64>)> = analysis
            .segments
            .iter()
            .filter_map(|(_, output)| output.as_ref())
            .map(|o: &Output| {
                (
                    probabilities(o.composers.probabilities_q15()),
                    probabilities(o.instruments.probabilities_q15()),
                )
            })
            .collect();
        let n = classified.len();

        let mut composer_scores: Vec<ComposerScore> = composers
            .iter()
            .enumerate()
            .map(|(i, name)| ComposerScore {
                name: (*name).to_string(),
                probability: mean(classified.iter().map(|(c, _)| c.get(i).copied()), n),
                segments_won: classified
                    .iter()
                    .filter(|(c, _)| argmax(c) == Some(i))
                    .count(),
            })
            .collect();
        composer_scores.sort_by(|a, b| b.probability.total_cmp(&a.probability));
        composer_scores.truncate(if n == 0 { 0 } else { settings.top });

        let mut instrument_scores: Vec<InstrumentScore> = instruments
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let values = || classified.iter().filter_map(|(_, p)| p.get(i).copied());
                let segments_heard = values().filter(|&p| p >= settings.threshold).count();
                InstrumentScore {
                    name: (*name).to_string(),
                    heard: segments_heard > 0,
                    confidence: mean(values().map(Some), n),
                    peak: values().fold(0.0, f64::max),
                    segments_heard,
                }
            })
            .collect();
        instrument_scores.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        if n == 0 {
            instrument_scores.clear();
        }

        let last = analysis.segments.len().saturating_sub(1);
        let padded_end_s =
            (analysis.samples + analysis.padded_samples) as f64 / f64::from(TARGET_RATE_HZ);
        let timeline = analysis
            .segments
            .iter()
            .enumerate()
            .map(|(index, (segment, output))| {
                // The last segment ends where the recording (or its padding) ends.
                let end_s = if index == last {
                    padded_end_s
                } else {
                    sample_seconds(segment.end)
                };
                let mut row = TimelineRow {
                    start_s: sample_seconds(segment.start),
                    end_s,
                    windows_s: segment.windows.iter().map(|&w| sample_seconds(w)).collect(),
                    silent: output.is_none(),
                    composer: None,
                    heard: Vec::new(),
                    composers: Vec::new(),
                    instruments: Vec::new(),
                };
                if let Some(output) = output {
                    let c = probabilities(output.composers.probabilities_q15());
                    let p = probabilities(output.instruments.probabilities_q15());
                    row.composer = argmax(&c).and_then(|i| {
                        Some(LabelProbability {
                            name: (*composers.get(i)?).to_string(),
                            probability: *c.get(i)?,
                        })
                    });
                    let mut heard: Vec<(f64, &str)> = instruments
                        .iter()
                        .zip(&p)
                        .filter(|&(_, &v)| v >= settings.threshold)
                        .map(|(name, &v)| (v, *name))
                        .collect();
                    heard.sort_by(|a, b| b.0.total_cmp(&a.0));
                    row.heard = heard.into_iter().map(|(_, n)| n.to_string()).collect();
                    row.composers = labelled(composers, &c);
                    row.instruments = labelled(instruments, &p);
                }
                row
            })
            .collect();

        let stack_samples = settings.stack * WINDOW_SAMPLES;
        Self {
            file: path.display().to_string(),
            seconds,
            source_rate_hz: pcm.source_rate_hz,
            source_channels: pcm.source_channels,
            padded_seconds: analysis.padded_samples as f64 / f64::from(TARGET_RATE_HZ),
            shorter_than_stack: settings.stack > 1
                && analysis.samples + analysis.padded_samples < stack_samples,
            silent_share: if analysis.frames == 0 {
                1.0
            } else {
                analysis.silent_frames as f64 / analysis.frames as f64
            },
            silence: n == 0,
            segments: analysis.segments.len(),
            classified_segments: n,
            composers: composer_scores,
            instruments: instrument_scores,
            timeline,
            timing,
        }
    }

    /// The readable verdict: header, composers with bars, instruments, timeline, notes.
    #[must_use]
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = self.write_table(&mut out);
        out
    }

    /// Writes [`table`](Self::table) into `out`.
    fn write_table(&self, out: &mut String) -> std::fmt::Result {
        writeln!(out, "{}", self.file)?;
        let channels = match self.source_channels {
            1 => "mono".to_string(),
            2 => "stereo".to_string(),
            n => format!("{n} channels"),
        };
        writeln!(
            out,
            "  {} ({} Hz {channels}); {} segment{} of {:.1} s, each classified from {} window{} of 5 s",
            clock(self.seconds),
            self.source_rate_hz,
            self.segments,
            plural(self.segments),
            self.timeline
                .iter()
                .map(|r| r.end_s - r.start_s)
                .fold(0.0, f64::max),
            self.timeline.first().map_or(0, |r| r.windows_s.len()),
            plural(self.timeline.first().map_or(0, |r| r.windows_s.len())),
        )?;
        let windows = self.timeline.first().map_or(0, |r| r.windows_s.len());
        if self.padded_seconds > 0.0 {
            writeln!(
                out,
                "  note: shorter than one {WINDOW_SECONDS:.3} s window: padded with {:.2} s of \
                 silence{}",
                self.padded_seconds,
                if windows > 1 {
                    "; the stack repeats that window"
                } else {
                    ""
                }
            )?;
        } else if self.shorter_than_stack {
            writeln!(
                out,
                "  note: shorter than one stack of {windows} windows ({:.1} s): the stack's \
                 windows overlap",
                windows as f64 * WINDOW_SECONDS
            )?;
        }
        if self.silence {
            let db = f32::from(SILENCE_CEILING.abs_diff(i8::MIN)) * DB_PER_STEP;
            writeln!(
                out,
                "\n  silence: no sound more than {db:.0} dB above the floor anywhere; not \
                 classified\n"
            )?;
            return Ok(());
        }

        if let Some(best) = self.composers.first() {
            let heard: Vec<&str> = self
                .instruments
                .iter()
                .filter(|i| i.heard)
                .map(|i| i.name.as_str())
                .collect();
            writeln!(
                out,
                "\n  Verdict: {} ({:.0}%); instruments heard: {}",
                best.name,
                100.0 * best.probability,
                if heard.is_empty() {
                    "none".to_string()
                } else {
                    heard.join(", ")
                }
            )?;
        }
        writeln!(out, "\n  Composer        probability")?;
        for c in &self.composers {
            let filled = (c.probability * BAR_WIDTH as f64).round() as usize;
            writeln!(
                out,
                "  {:<15} {:>6.1}%  {}",
                c.name,
                100.0 * c.probability,
                "#".repeat(filled.min(BAR_WIDTH))
            )?;
        }

        let n = self.classified_segments;
        writeln!(
            out,
            "\n  Instrument      heard  confidence   peak  segments"
        )?;
        for i in &self.instruments {
            writeln!(
                out,
                "  {:<15} {:<5} {:>9.1}%  {:>5.1}%  {:>3}/{n}",
                i.name,
                if i.heard { "yes" } else { "no" },
                100.0 * i.confidence,
                100.0 * i.peak,
                i.segments_heard,
            )?;
        }

        writeln!(
            out,
            "\n  Timeline        composer                  instruments heard"
        )?;
        for row in &self.timeline {
            let span = format!("{}-{}", clock(row.start_s), clock(row.end_s));
            if row.silent {
                writeln!(out, "  {span:<15} (silence)")?;
                continue;
            }
            let composer = row.composer.as_ref().map_or(String::new(), |c| {
                format!("{} {:.0}%", c.name, 100.0 * c.probability)
            });
            let heard = if row.heard.is_empty() {
                "-".to_string()
            } else {
                row.heard.join(", ")
            };
            writeln!(out, "  {span:<15} {composer:<25} {heard}")?;
        }
        let silent_segments = self.segments - self.classified_segments;
        if silent_segments > 0 {
            writeln!(
                out,
                "  ({silent_segments} silent segment{} not classified)",
                plural(silent_segments)
            )?;
        }
        writeln!(out)
    }
}

/// Mean of the present values over `n` (0 when `n` is 0).
fn mean(values: impl Iterator<Item = Option<f64>>, n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    values.flatten().sum::<f64>() / n as f64
}

/// `m:ss.s`.
fn clock(seconds: f64) -> String {
    let tenths = (seconds * 10.0).round().max(0.0) as u64;
    format!("{}:{:02}.{}", tenths / 600, tenths / 10 % 60, tenths % 10)
}

/// "s" unless one.
fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_reads_minutes_and_tenths() {
        assert_eq!(clock(0.0), "0:00.0");
        assert_eq!(clock(25.04), "0:25.0");
        assert_eq!(clock(61.96), "1:02.0");
        assert_eq!(clock(600.0), "10:00.0");
    }

    #[test]
    fn argmax_takes_the_first_of_ties() {
        assert_eq!(argmax(&[0.1, 0.5, 0.5]), Some(1));
        assert_eq!(argmax(&[]), None);
    }

    #[test]
    fn mean_over_n() {
        assert_eq!(mean([Some(1.0), Some(3.0)].into_iter(), 2), 2.0);
        assert_eq!(mean(std::iter::empty(), 0), 0.0);
    }
}
