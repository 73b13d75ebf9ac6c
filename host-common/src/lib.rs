//! The std half shared by the trainer and `host-cli`: turning audio files into what `core-nostd`
//! eats, and reporting evaluations. It is its own crate so that `host-cli` can use the trainer's
//! data reading (for `host-cli eval`) while the trainer uses this audio path and report.
//!
//! - [`audio`]: any common audio file → mono → 8 kHz → `i16`, the one audio path shared with the
//!   trainer, so training and serving read audio identically.
//! - [`features`]: a whole recording through the front end, and the canonical feature hash.
//! - [`plot`]: PNG plots (bar charts, ...) with the bundled font.
//! - [`report`]: the evaluation report (scikit-learn's metrics, tables, JSON, PNG plots).
//! - [`spectrogram_png`]: the front end's integer features as a PNG image.
//! - [`view`]: human-readable renderings of the front end's features.

pub mod audio;
pub mod features;
pub mod plot;
pub mod report;
pub mod spectrogram_png;
pub mod view;
