//! Shared helpers of the cross-crate tests: a float (f64) reference of the front end, the test
//! signals, the committed clips, and the feature-stream hash used by golden vectors and the
//! firmware.

pub mod reference;
pub mod signals;

use core_nostd::frontend::{Frame, StreamingFrontEnd};
use sha2::{Digest, Sha256};
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

/// All frames of `samples` through the streaming front end, in time order.
#[must_use]
pub fn frames_of(samples: &[i16]) -> Vec<Frame> {
    let mut front_end = StreamingFrontEnd::new();
    let mut frames = Vec::new();
    front_end.push(samples, |frame| frames.push(*frame));
    frames
}

/// The canonical feature hash: SHA-256 over the frames in time order, 128 bytes per frame
/// (bin 0 first, each `i8` code as its two's-complement byte). The firmware computes the same.
#[must_use]
pub fn feature_hash(frames: &[Frame]) -> String {
    let mut hasher = Sha256::new();
    for frame in frames {
        hasher.update(frame.map(|code| code as u8));
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
