//! The integer spectrogram: 8 kHz `i16` PCM in, one `i8` per frequency bin and frame out.
//!
//! # What one frame is
//!
//! A frame is [`FRAME_LEN`] = 256 consecutive samples (32 ms); frames start every [`HOP_LEN`] =
//! 128 samples (16 ms). Each frame is multiplied by a periodic Hann window (f32 table), transformed
//! with microfft's 256-point real FFT (f32), and each bin's power `P = re² + im²` is quantized:
//!
//! ```text
//! feature = clamp(round(6 · log2(P + 1)) − 128, −128, 127)        (round half up)
//! ```
//!
//! `P` is in the units of the unnormalised DFT of the windowed integer samples, so a full-scale
//! sine (amplitude 32767) peaks near `P = 2^42` (feature 124) and digital silence is `P = 0`
//! (feature −128). One step is a factor 2^(1/6) in power, [`DB_PER_STEP`] ≈ 0.502 dB, so the
//! 256 codes span 128 dB: from the floor (`P + 1 < 2^(0.5/6)`) to `P + 1 ≥ 2^(254.5/6)` ≈ 127.7 dB,
//! where the code saturates at 127 (reached only by full-scale square waves or DC).
//!
//! # Which bins
//!
//! A 256-point real FFT has 129 bins, DC (0 Hz) to Nyquist (4 kHz) in steps of 31.25 Hz. The
//! Nyquist bin is dropped: after resampling to 8 kHz the resampler's anti-aliasing filter leaves
//! (almost) nothing there, and microfft packs it into the imaginary part of the DC bin, so keeping
//! bins 0..=127 costs nothing and loses nothing audible. Bin `k` is centred on `31.25 · k` Hz.
//! Bin 0's power is `re²` alone (the packed Nyquist value is not mixed in).
//!
//! # How it is fast
//!
//! The log is not computed: `round(6 · log2(x))` is read off the f32 bit pattern of `x = P + 1`,
//! six steps per power of two from the exponent plus six integer comparisons of the mantissa
//! against precomputed thresholds ([`quantize_log_power`]). That is exact (the thresholds are the
//! smallest f32 at or above `2^((k − 0.5)/6)`), branch-free and vectorizable; its reference twin
//! [`quantize_log_power_reference`] counts thresholds in a 255-entry table.
//!
//! # Cost
//!
//! Tables: 1 KiB Hann window (f32), 24 B of octave thresholds, 1020 B of reference thresholds
//! (only linked if the reference quantizer is used), plus microfft's 256-point twiddles.
//! Stack: about 1 KiB per frame (the FFT buffer). Streaming state: 512 B of samples.

mod frame;
mod quantize;
mod stream;
mod tables;
mod window;

pub use frame::{compute_frame, compute_frame_reference};
pub use quantize::{quantize_log_power, quantize_log_power_reference};
pub use stream::StreamingFrontEnd;
pub use window::{FeaturePlane, PlaneError, feature_plane, frame_of_plane, window_features};

/// Sample rate the front end expects, in Hz.
pub const SAMPLE_RATE_HZ: u32 = 8_000;
/// Samples per analysis frame (32 ms at 8 kHz); also the FFT size.
pub const FRAME_LEN: usize = 256;
/// Samples between the starts of consecutive frames (16 ms at 8 kHz).
pub const HOP_LEN: usize = 128;
/// Feature bins per frame: FFT bins 0..=127 (0 to 3968.75 Hz); the Nyquist bin is dropped.
pub const BINS: usize = 128;
/// Frames in one model input window: the reference CNN's input width.
pub const WINDOW_FRAMES: usize = 312;
/// Samples in one model input window: exactly [`WINDOW_FRAMES`] frames, 40,064 samples (5.008 s).
pub const WINDOW_SAMPLES: usize = FRAME_LEN + (WINDOW_FRAMES - 1) * HOP_LEN;
/// Quantizer steps per doubling of power.
pub const STEPS_PER_OCTAVE: i32 = 6;
/// Subtracted from `round(6 · log2(P + 1))` so that silence maps to `i8::MIN`.
pub const FEATURE_OFFSET: i32 = 128;
/// Decibels of power per feature step: `10 · log10(2) / 6`.
pub const DB_PER_STEP: f32 = 0.501_717;

/// One frame of features: bin 0 (DC) first.
pub type Frame = [i8; BINS];

/// Number of complete frames in `samples` samples: `0` below one frame, else
/// `1 + (samples − FRAME_LEN) / HOP_LEN`. Trailing samples that do not fill a frame are ignored.
#[must_use]
pub const fn frame_count(samples: usize) -> usize {
    match samples.checked_sub(FRAME_LEN) {
        // extra / 128 < usize::MAX, so adding one cannot overflow.
        Some(extra) => (extra / HOP_LEN).saturating_add(1),
        None => 0,
    }
}
