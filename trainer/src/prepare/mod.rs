//! `trainer prepare`: decode and resample every recording of a MusicNet folder to 8 kHz once,
//! reduce its labels to per-instrument spans, cache both ([`cache`]), and apply the selection
//! rules ([`select`]), so training never decodes audio again.

pub mod cache;
pub mod select;

use crate::musicnet::{AudioExtent, DataError, Dataset, Issues, Recording};
use crate::progress::Progress;
use cache::{CacheDir, PreparedIndex, PreparedRecording, SourceInfo, spans_from_notes};
use rayon::prelude::*;
use select::{Selection, SelectionRules, select};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Options of `trainer prepare`.
#[derive(clap::Args, Clone, Debug)]
pub struct PrepareArgs {
    /// The MusicNet folder (the archive's layout, or a mirror's `musicnet/musicnet/...`).
    pub data: PathBuf,
    /// Where to write the cache (created if missing; complete recordings already there are kept).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Count problems in the data as warnings and skip what they affect, instead of stopping at
    /// the first one.
    #[arg(long)]
    pub lenient: bool,
    /// Redo every recording, even those already complete in the cache.
    #[arg(long)]
    pub force: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// The selection rules.
    #[command(flatten)]
    pub rules: SelectionRules,
}

/// What `prepare` did.
#[derive(Debug)]
pub struct PrepareSummary {
    /// The cache folder.
    pub cache: PathBuf,
    /// Recordings in the cache.
    pub recordings: usize,
    /// Of which decoded in this run (the rest were complete already).
    pub decoded: usize,
    /// Seconds of audio in the cache.
    pub audio_seconds: f64,
    /// Of which decoded in this run.
    pub decoded_seconds: f64,
    /// Wall-clock seconds of the run.
    pub wall_seconds: f64,
    /// Warnings by kind (lenient mode).
    pub warnings: Vec<(&'static str, usize)>,
    /// The selection written beside the index.
    pub selection: Selection,
}

impl std::fmt::Display for PrepareSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "prepared {} recordings, {:.2} h of audio -> {}",
            self.recordings,
            self.audio_seconds / 3600.0,
            self.cache.display()
        )?;
        writeln!(
            f,
            "  decoded {} recordings ({:.2} h) in {:.1} s: {:.0}x real time; {} were complete already",
            self.decoded,
            self.decoded_seconds / 3600.0,
            self.wall_seconds,
            self.decoded_seconds / self.wall_seconds.max(1e-9),
            self.recordings - self.decoded
        )?;
        for (kind, count) in &self.warnings {
            writeln!(f, "  warning: {count} x {kind}")?;
        }
        let s = &self.selection;
        writeln!(
            f,
            "  composers ({}): {}",
            s.composers.len(),
            s.composers.join(", ")
        )?;
        let names: Vec<String> = s
            .instruments
            .iter()
            .map(|&p| crate::musicnet::instruments::instrument_name(p))
            .collect();
        writeln!(f, "  instruments ({}): {}", names.len(), names.join(", "))?;
        for (composer, n) in &s.dropped_composers {
            writeln!(
                f,
                "  dropped composer {composer} ({n} recordings < {})",
                s.rules.min_composer_recordings
            )?;
        }
        for (program, n) in &s.dropped_instruments {
            let name = crate::musicnet::instruments::instrument_name(*program);
            writeln!(
                f,
                "  dropped instrument {name} ({n} recordings < {})",
                s.rules.min_instrument_recordings
            )?;
        }
        write!(
            f,
            "  recordings: {} train slots, {} validation, {} test",
            s.train.len(),
            s.validation.len(),
            s.test.len()
        )
    }
}

/// File name of the selection beside `index.json`.
pub const SELECTION_FILE: &str = "selection.json";

/// Runs `trainer prepare`. Errors name the file (and line) at fault.
pub fn run(args: &PrepareArgs) -> anyhow::Result<PrepareSummary> {
    let started = Instant::now();
    let mut issues = if args.lenient {
        Issues::lenient()
    } else {
        Issues::strict()
    };
    let dataset = Dataset::open(&args.data, &mut issues)?;
    let cache = CacheDir::new(&args.out);
    let progress = Progress::new("prepare", dataset.recordings.len() as u64);
    let work = || {
        dataset
            .recordings
            .par_iter()
            .map(|recording| {
                let mut local = if args.lenient {
                    Issues::lenient()
                } else {
                    Issues::strict()
                };
                let result = prepare_one(&cache, recording, args.force, &mut local);
                progress.inc(&recording.id.to_string());
                (result, local)
            })
            .collect::<Vec<_>>()
    };
    let outcomes = match args.jobs {
        Some(jobs) => rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .build()?
            .install(work),
        None => work(),
    };
    progress.finish();

    let mut recordings = Vec::new();
    let mut decoded = 0;
    let mut decoded_seconds = 0.0;
    for (result, local) in outcomes {
        issues.absorb(local);
        match result {
            Ok(Some((recording, fresh))) => {
                decoded += usize::from(fresh);
                if fresh {
                    decoded_seconds += recording.seconds();
                }
                recordings.push(recording);
            }
            Ok(None) => {}
            Err(error) => return Err(error.into()),
        }
    }
    recordings.sort_by_key(|r| r.id);
    let index = PreparedIndex {
        format_version: cache::CACHE_FORMAT_VERSION,
        rate_hz: cache::CACHE_RATE_HZ,
        source_dir: args.data.clone(),
        recordings,
    };
    let selection = select(&index, &args.rules);
    write_selection(&cache, &selection)?;
    cache.write_index(&index)?;
    Ok(PrepareSummary {
        cache: args.out.clone(),
        recordings: index.recordings.len(),
        decoded,
        audio_seconds: index
            .recordings
            .iter()
            .map(PreparedRecording::seconds)
            .sum(),
        decoded_seconds,
        wall_seconds: started.elapsed().as_secs_f64(),
        warnings: issues.counts(),
        selection,
    })
}

/// Prepares one recording, or reuses it from the cache. `Ok(None)`: skipped (lenient mode).
/// The flag says whether it was decoded in this run.
fn prepare_one(
    cache: &CacheDir,
    recording: &Recording,
    force: bool,
    issues: &mut Issues,
) -> Result<Option<(PreparedRecording, bool)>, DataError> {
    if !force && let Some(done) = cache.complete_recording(recording.id, &recording.audio_path) {
        return Ok(Some((done, false)));
    }
    let pcm = match host_common::audio::load_pcm_8k(&recording.audio_path) {
        Ok(pcm) => pcm,
        Err(error) => {
            issues.report(error.into())?;
            return Ok(None);
        }
    };
    let extent = AudioExtent {
        samples: pcm.source_frames,
        rate_hz: pcm.source_rate_hz,
    };
    // A label file that cannot be read at all (missing columns, unreadable) loses the recording;
    // bad rows inside a readable file are handled row by row by `read_labels`.
    let notes = match recording.read_labels(Some(extent), issues) {
        Ok(notes) => notes,
        Err(error) => {
            issues.report(error)?;
            return Ok(None);
        }
    };
    let samples = pcm.samples.len() as u64;
    let spans = spans_from_notes(&notes, samples);
    let mut instruments: Vec<u8> = spans.iter().map(|s| s.program).collect();
    instruments.dedup();
    let bytes = std::fs::metadata(&recording.audio_path)
        .map_err(|source| DataError::Io {
            path: recording.audio_path.clone(),
            source,
        })?
        .len();
    let prepared = PreparedRecording {
        id: recording.id,
        split: recording.split,
        composer: recording.metadata.composer.clone(),
        composition: recording.metadata.composition.clone(),
        ensemble: recording.metadata.ensemble.clone(),
        samples,
        notes: notes.len() as u64,
        instruments,
        spans,
        source: SourceInfo {
            audio: recording.audio_path.clone(),
            bytes,
            rate_hz: pcm.source_rate_hz,
            channels: pcm.source_channels,
        },
    };
    cache.write_recording(&prepared, &pcm.samples)?;
    Ok(Some((prepared, true)))
}

/// Writes `selection.json` atomically.
fn write_selection(cache: &CacheDir, selection: &Selection) -> Result<(), DataError> {
    let path = cache.root().join(SELECTION_FILE);
    crate::atomic::write_atomically(&path, |w| {
        serde_json::to_writer_pretty(&mut *w, selection).map_err(std::io::Error::other)
    })
    .map_err(|source| DataError::Write { path, source })
}

/// Reads the selection written by `prepare` from a cache folder.
pub fn read_selection(cache_dir: &Path) -> Result<Selection, DataError> {
    let path = cache_dir.join(SELECTION_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| DataError::Io {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| DataError::BadRow {
        path,
        line: e.line() as u64,
        message: e.to_string(),
    })
}
