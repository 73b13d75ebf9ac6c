//! A float reference of the front end, written from the definition and sharing no code with
//! `core-nostd`: f64 arithmetic, the exact Hann window `sin²(πn/256)`, a direct O(N²) DFT with
//! f64 twiddles, and the log computed with `f64::log2`.

use core_nostd::frontend::{BINS, FEATURE_OFFSET, FRAME_LEN, HOP_LEN, STEPS_PER_OCTAVE};
use std::f64::consts::PI;

/// Precomputed f64 window and DFT twiddles for the reference.
pub struct ReferenceFrontEnd {
    window: Vec<f64>,
    cos: Vec<f64>,
    sin: Vec<f64>,
}

impl Default for ReferenceFrontEnd {
    fn default() -> Self {
        Self::new()
    }
}

impl ReferenceFrontEnd {
    /// Builds the tables (256 window values, 256 twiddles).
    #[must_use]
    pub fn new() -> Self {
        let n = FRAME_LEN as f64;
        Self {
            window: (0..FRAME_LEN)
                .map(|i| (PI * i as f64 / n).sin().powi(2))
                .collect(),
            cos: (0..FRAME_LEN)
                .map(|i| (2.0 * PI * i as f64 / n).cos())
                .collect(),
            sin: (0..FRAME_LEN)
                .map(|i| (2.0 * PI * i as f64 / n).sin())
                .collect(),
        }
    }

    /// Unrounded features of one frame: `6 · log2(P + 1) − 128` per bin, P in the units the
    /// integer front end uses (unnormalised DFT of the windowed integer samples).
    #[must_use]
    pub fn frame(&self, samples: &[i16]) -> [f64; BINS] {
        let x: Vec<f64> = samples
            .iter()
            .zip(&self.window)
            .map(|(&s, &w)| f64::from(s) * w)
            .collect();
        std::array::from_fn(|k| {
            let (mut re, mut im) = (0.0, 0.0);
            for (n, &v) in x.iter().enumerate() {
                let idx = (k * n) % FRAME_LEN;
                re += v * self.cos[idx];
                im -= v * self.sin[idx];
            }
            let power = re * re + im * im;
            f64::from(STEPS_PER_OCTAVE) * (power + 1.0).log2() - f64::from(FEATURE_OFFSET)
        })
    }

    /// Unrounded features of every complete frame of `samples`.
    #[must_use]
    pub fn frames(&self, samples: &[i16]) -> Vec<[f64; BINS]> {
        samples
            .windows(FRAME_LEN)
            .step_by(HOP_LEN)
            .map(|w| self.frame(w))
            .collect()
    }
}

/// The integer code of an unrounded feature: round half up, clamp to `i8`.
#[must_use]
pub fn quantize(value: f64) -> i8 {
    (value + 0.5).floor().clamp(-128.0, 127.0) as i8
}
