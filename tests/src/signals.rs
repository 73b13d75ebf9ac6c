//! Deterministic test signals at 8 kHz. The noise generator is defined here (not taken from a
//! crate) so the inputs of golden vectors can never change under a dependency update.

use std::f64::consts::PI;

/// Sample rate of every signal here.
pub const RATE: f64 = 8000.0;

/// A 32-bit linear congruential generator (Numerical Recipes constants); its high 16 bits as
/// `i16`. Fixed forever: golden vectors depend on it.
pub struct Lcg(u32);

impl Lcg {
    /// A generator started at `seed`.
    #[must_use]
    pub fn new(seed: u32) -> Self {
        Self(seed)
    }

    /// The next value, uniform over `i16`.
    pub fn next_i16(&mut self) -> i16 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (self.0 >> 16) as u16 as i16
    }
}

/// `len` zeros.
#[must_use]
pub fn silence(len: usize) -> Vec<i16> {
    vec![0; len]
}

/// A sine of `freq` Hz and peak `amplitude` (rounded to integers).
#[must_use]
pub fn sine(len: usize, freq: f64, amplitude: f64) -> Vec<i16> {
    (0..len)
        .map(|n| (amplitude * (2.0 * PI * freq * n as f64 / RATE).sin()).round() as i16)
        .collect()
}

/// A linear chirp from `f0` to `f1` Hz over `len` samples.
#[must_use]
pub fn chirp(len: usize, f0: f64, f1: f64, amplitude: f64) -> Vec<i16> {
    let duration = len as f64 / RATE;
    (0..len)
        .map(|n| {
            let t = n as f64 / RATE;
            let phase = 2.0 * PI * (f0 * t + (f1 - f0) * t * t / (2.0 * duration));
            (amplitude * phase.sin()).round() as i16
        })
        .collect()
}

/// White noise, uniform over `i16` scaled by `scale` (1.0 = full scale).
#[must_use]
pub fn noise(len: usize, seed: u32, scale: f64) -> Vec<i16> {
    let mut rng = Lcg::new(seed);
    (0..len)
        .map(|_| (f64::from(rng.next_i16()) * scale).round() as i16)
        .collect()
}

/// Noise amplified 4× and clipped at full scale (a badly overdriven input).
#[must_use]
pub fn clipped_noise(len: usize, seed: u32) -> Vec<i16> {
    let mut rng = Lcg::new(seed);
    (0..len)
        .map(|_| (i32::from(rng.next_i16()) * 4).clamp(-32768, 32767) as i16)
        .collect()
}

/// A full-scale square wave of `freq` Hz (±32767).
#[must_use]
pub fn square(len: usize, freq: f64) -> Vec<i16> {
    (0..len)
        .map(|n| {
            if (freq * n as f64 / RATE).fract() < 0.5 {
                32767
            } else {
                -32767
            }
        })
        .collect()
}

/// Single full-scale clicks every `period` samples.
#[must_use]
pub fn impulses(len: usize, period: usize) -> Vec<i16> {
    (0..len)
        .map(|n| if n % period == 0 { 32767 } else { 0 })
        .collect()
}

/// The named test signals shared by the reference comparison and the golden vectors: one model
/// window (40,064 samples, 312 frames) each of music, noise, sines, chirps, silence and
/// full-scale input. `music` is the bundled clip.
#[must_use]
pub fn test_signals() -> Vec<(&'static str, Vec<i16>)> {
    use core_nostd::frontend::WINDOW_SAMPLES as N;
    let music = crate::read_clip(&crate::bundled_clip_path());
    let quiet_music = music
        .iter()
        .map(|&s| ((i32::from(s) + 128) >> 8) as i16)
        .collect();
    vec![
        ("music", music),
        ("music_quiet_-48dB", quiet_music),
        ("silence", silence(N)),
        ("sine_440Hz_-6dBFS", sine(N, 440.0, 16_384.0)),
        ("sine_1kHz_full_scale", sine(N, 1000.0, 32_767.0)),
        ("sine_31.25Hz_bin1", sine(N, 31.25, 20_000.0)),
        ("sine_3990Hz_near_nyquist", sine(N, 3990.0, 20_000.0)),
        ("sine_1kHz_3_lsb", sine(N, 1000.0, 3.0)),
        ("chirp_20Hz_to_3990Hz", chirp(N, 20.0, 3990.0, 24_000.0)),
        ("noise_full_scale", noise(N, 1, 1.0)),
        ("noise_-60dB", noise(N, 2, 0.001)),
        ("noise_clipped", clipped_noise(N, 3)),
        ("square_500Hz_full_scale", square(N, 500.0)),
        ("dc_full_scale", vec![i16::MAX; N]),
        ("impulses_every_1000", impulses(N, 1000)),
    ]
}
