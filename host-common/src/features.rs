//! A whole recording through `core-nostd`'s front end, and the canonical feature hash.

use core_nostd::frontend::{Frame, StreamingFrontEnd};
use sha2::{Digest, Sha256};

/// All frames of `samples` (8 kHz) in time order, through the streaming front end: the same
/// code the firmware runs. Cost: one front-end frame per 128 samples; 128 bytes per frame.
#[must_use]
pub fn frames_of(samples: &[i16]) -> Vec<Frame> {
    let mut front_end = StreamingFrontEnd::new();
    let mut frames = Vec::with_capacity(core_nostd::frontend::frame_count(samples.len()));
    front_end.push(samples, |frame| frames.push(*frame));
    frames
}

/// The canonical feature hash: SHA-256 over the frames in time order, 128 bytes per frame (bin 0
/// first, each `i8` code as its two's-complement byte), as lowercase hex. The firmware prints
/// the same hash and the golden vectors store it.
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
