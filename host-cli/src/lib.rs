//! The host half of the classifier: turning audio files into what `core-nostd` eats, and
//! (later) classifying, evaluating and inspecting models.
//!
//! - [`audio`]: any common audio file → mono → 8 kHz → `i16`, the one audio path shared with the
//!   trainer, so training and serving read audio identically.
//! - [`features`]: a whole recording through the front end, and the canonical feature hash.
//! - [`plot`]: PNG plots (bar charts, ...) with the bundled font.
//! - [`report`]: the evaluation report (scikit-learn's metrics, tables, JSON, PNG plots).
//! - [`view`]: human-readable renderings of the front end's features.

pub mod audio;
pub mod features;
pub mod plot;
pub mod report;
pub mod view;
