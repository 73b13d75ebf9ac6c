//! `trainer`: the training workstation's command line, a thin shell over the `trainer` library.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use trainer::prepare::cache::CacheDir;
use trainer::prepare::{self, PrepareArgs};
use trainer::stats;

/// Prepare data for, train, evaluate and export the composer/instrument classifier.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render a MIDI corpus with SoundFonts into MusicNet's layout (audio + note labels).
    ///
    /// Reads `musicnet_midis/<Composer>/<id>_*.mid`, `musicnet_metadata.csv` and `split.csv`
    /// (like ../shared/corpus), synthesizes every piece with each or one drawn SoundFont, and
    /// writes `{train,test}_data/<id>.wav`, `{train,test}_labels/<id>.csv` and the metadata.
    /// Deterministic for a seed; a killed run resumes.
    Render(trainer::render::RenderArgs),
    /// Decode a MusicNet folder once to an 8 kHz cache, reduce labels, and select the data.
    ///
    /// Reads `musicnet_metadata.csv`, `{train,test}_data/*.wav` and `{train,test}_labels/*.csv`
    /// (the archive's layout or a mirror's `musicnet/musicnet/...`), resamples every recording to
    /// 8 kHz mono with the CLI's loader, and writes the cache with `index.json` and
    /// `selection.json` (the reference's rules by default). A killed run resumes.
    Prepare(PrepareArgs),
    /// Label statistics of a prepared cache: recordings, hours and windows per composer and
    /// instrument, and how often per-window and per-recording labels disagree.
    Stats(StatsArgs),
    /// Baselines of the reference (SGD linear models on raw audio and spectrograms; KNN and
    /// AdaBoost-logistic, with and without PCA) scored with the evaluation protocol and compared
    /// with the CNN (`--cnn-report`) in one table, JSON and PNGs.
    Baselines(trainer::baselines::BaselinesArgs),
    /// Train the composer and instrument networks on a prepared cache (Burn; feature `burn`).
    #[cfg(feature = "burn")]
    Fit(trainer::training::FitArgs),
    /// Score a trained model with the evaluation protocol (seeded stacks of every test
    /// recording): scikit-learn-style tables, per-recording verdicts, `--json`, PNG plots.
    #[cfg(feature = "burn")]
    Eval(trainer::evaluate::EvalArgs),
    /// Quantize a trained model to the int8 model file `core-nostd` runs (BatchNorm folded,
    /// calibrated on training windows) and report float vs int8 agreement on the test split.
    #[cfg(feature = "burn")]
    Export(trainer::export::ExportArgs),
    /// Load PyTorch state_dicts of this architecture (trainer/pytorch/reference_cnn.py) into a
    /// model folder like `fit` writes, for `eval` and `export`. Tensors are matched by structure
    /// (conv, BatchNorm per block, then linear) and every shape is checked.
    #[cfg(feature = "burn")]
    Import(trainer::import::ImportArgs),
}

/// Options of `trainer stats`.
#[derive(clap::Args)]
struct StatsArgs {
    /// A cache folder written by `trainer prepare`.
    cache: PathBuf,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Also draw the bar charts into this PNG.
    #[arg(long)]
    png: Option<PathBuf>,
    /// Seed of the random stacks used for the disagreement figure.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Render(args) => {
            let summary = trainer::render::run(&args)?;
            println!("{summary}");
        }
        Command::Prepare(args) => {
            let summary = prepare::run(&args)?;
            println!("{summary}");
        }
        #[cfg(feature = "burn")]
        Command::Fit(args) => {
            let summary = trainer::training::run(&args)?;
            println!("{summary}");
        }
        #[cfg(feature = "burn")]
        Command::Eval(args) => {
            trainer::evaluate::run(&args)?;
        }
        #[cfg(feature = "burn")]
        Command::Export(args) => {
            trainer::export::run(&args)?;
        }
        #[cfg(feature = "burn")]
        Command::Import(args) => {
            for file in trainer::import::run(&args)? {
                println!("wrote {}", file.display());
            }
        }
        Command::Baselines(args) => {
            trainer::baselines::run(&args)?;
        }
        Command::Stats(args) => {
            let index = CacheDir::new(&args.cache).read_index()?;
            let selection = prepare::read_selection(&args.cache)?;
            let stats = stats::label_stats(&index, &selection, args.seed);
            if args.json {
                println!("{}", serde_json::to_string_pretty(&stats)?);
            } else {
                print!("{stats}");
            }
            if let Some(png) = &args.png {
                stats::plot(&stats, png).with_context(|| format!("plotting {}", png.display()))?;
                eprintln!("wrote {}", png.display());
            }
        }
    }
    Ok(())
}
