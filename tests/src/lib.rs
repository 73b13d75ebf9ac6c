//! Shared helpers of the cross-crate tests: a float (f64) reference of the front end, the test
//! signals and the committed clips. The feature-stream hash is `host_common::features`'s.

pub mod reference;
pub mod signals;

use std::path::{Path, PathBuf};

/// The workspace root (the parent of this crate's directory).
#[must_use]
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The bundled 5 s Beethoven clip (8 kHz mono 16-bit), see assets/README.md.
#[must_use]
pub fn bundled_clip_path() -> PathBuf {
    workspace_root().join("assets/3040_beethoven_opus18no5_5s_8k.wav")
}

/// Reads an 8 kHz mono 16-bit WAV into samples; panics with the file name otherwise (tests only).
#[must_use]
pub fn read_clip(path: &Path) -> Vec<i16> {
    let reader = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (8000, 1, 16),
        "{}",
        path.display()
    );
    reader
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub use host_common::features::{feature_hash, frames_of};
