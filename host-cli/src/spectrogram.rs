//! `host-cli spectrogram`: what the model sees, as a terminal heat map, JSON or a PNG.

use std::path::PathBuf;

use anyhow::{Context, Result};
use core_nostd::frontend::BINS;
use host_common::features::{feature_hash, frames_of};
use host_common::spectrogram_png::spectrogram_png;
use host_common::{audio, view};
use serde::Serialize;

/// Show what the model sees: the integer spectrogram of a recording.
///
/// Decodes FILE (WAV of any flavour, FLAC, MP3, OGG/Vorbis), mixes it to mono, resamples it to
/// 8 kHz and runs the same fixed-point front end as the firmware: 128 frequency bins every
/// 16 ms. Prints a heat map, levels and the SHA-256 of the features; with `-o`, also draws them
/// as a PNG (time on x, frequency on y, colour = feature code).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The recording to analyse.
    pub file: PathBuf,
    /// Also write the features as a PNG image to this path.
    #[arg(short, long, value_name = "PNG")]
    pub out: Option<PathBuf>,
    /// Heat-map width in characters (time columns).
    #[arg(long, default_value_t = 72)]
    pub width: usize,
    /// Heat-map height in characters (frequency rows).
    #[arg(long, default_value_t = 16)]
    pub height: usize,
    /// Print a JSON object instead of the heat map.
    #[arg(long)]
    pub json: bool,
}

/// Runs `spectrogram`. Cost: decoding plus one front-end frame per 16 ms of audio; the PNG adds
/// tens of milliseconds.
///
/// # Errors
/// The file cannot be decoded, or the PNG cannot be written.
pub fn run(args: &Args) -> Result<()> {
    let file = &args.file;
    let pcm = audio::load_pcm_8k(file)?;
    let frames = frames_of(&pcm.samples);
    let hash = feature_hash(&frames);
    let levels = view::levels(&frames);
    let seconds = pcm.samples.len() as f64 / f64::from(audio::TARGET_RATE_HZ);
    if let Some(out) = &args.out {
        let title = format!(
            "{} - front-end features (int8 codes)",
            file.file_name().map_or_else(
                || file.display().to_string(),
                |n| n.to_string_lossy().into()
            )
        );
        spectrogram_png(out, &frames, &title)
            .with_context(|| format!("{}: cannot draw its spectrogram", file.display()))?;
    }

    if args.json {
        let report = SpectrogramReport {
            file: file.display().to_string(),
            source_rate_hz: pcm.source_rate_hz,
            source_channels: pcm.source_channels,
            seconds,
            frames: frames.len(),
            bins: BINS,
            features_sha256: hash,
            levels: levels.map(|l| LevelsReport {
                mean_db: view::code_to_db(l.mean_code.round() as i8),
                max_db: view::code_to_db(l.max_code),
                silent_frame_share: l.silent_frame_share,
                strongest_bin_hz: l.strongest_bin_hz,
            }),
            png: args.out.as_ref().map(|p| p.display().to_string()),
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }

    println!("{}", file.display());
    println!(
        "  source: {} Hz, {} channel(s); analysed as 8 kHz mono: {seconds:.2} s, {} frames x {BINS} bins",
        pcm.source_rate_hz,
        pcm.source_channels,
        frames.len()
    );
    match levels {
        None => println!("  shorter than one 32 ms frame: no features"),
        Some(l) if l.silent_frame_share >= 1.0 => println!("  digital silence throughout"),
        Some(l) => {
            println!(
                "  level: mean {:.1} dB, peak {:.1} dB above the floor; strongest band around {:.0} Hz; {:.0}% silent frames",
                view::code_to_db(l.mean_code.round() as i8),
                view::code_to_db(l.max_code),
                l.strongest_bin_hz,
                100.0 * l.silent_frame_share
            );
            println!();
            print!("{}", view::heat_map(&frames, args.width, args.height));
        }
    }
    println!("\n  features sha256: {hash}");
    if let Some(out) = &args.out {
        println!("  image: {}", out.display());
    }
    Ok(())
}

/// `spectrogram --json` output.
#[derive(Serialize)]
struct SpectrogramReport {
    file: String,
    source_rate_hz: u32,
    source_channels: usize,
    seconds: f64,
    frames: usize,
    bins: usize,
    features_sha256: String,
    /// Absent (null) when the recording is shorter than one frame.
    levels: Option<LevelsReport>,
    /// The PNG written, if any.
    png: Option<String>,
}

/// Levels in dB above the floor.
#[derive(Serialize)]
struct LevelsReport {
    mean_db: f32,
    max_db: f32,
    silent_frame_share: f32,
    strongest_bin_hz: f32,
}
