//! `host-cli`: the laptop's command line. A thin shell: each subcommand is a module with its
//! clap `Args` and a `run`; the work is done by `core-nostd` (front end, int8 inference, model
//! file) and `host-common` (audio loading, features, plots).
//!
//! Exit codes: 0 success, 1 an error (a message naming the file is printed on stderr), 2 bad
//! command-line usage.

mod classify;
mod eval;
mod inspect;
mod model_file;
mod spectrogram;

use clap::{Parser, Subcommand};

/// Who composed it, and which instruments play: a classical-music classifier whose model runs
/// bit-identically on a laptop and on a microcontroller.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands; each variant's help is its module's `Args` doc.
#[derive(Subcommand)]
enum Command {
    Classify(classify::Args),
    Spectrogram(spectrogram::Args),
    Inspect(inspect::Args),
    Eval(eval::Args),
}

fn main() -> std::process::ExitCode {
    let result = match Cli::parse().command {
        Command::Classify(args) => classify::run(&args),
        Command::Spectrogram(args) => spectrogram::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Eval(args) => eval::run(&args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("host-cli: error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
