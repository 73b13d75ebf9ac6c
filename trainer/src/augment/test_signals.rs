//! Test signals and measurements shared by the augmentation tests.

use std::f64::consts::PI;

/// Sample rate of every test signal.
const SAMPLE_RATE: f64 = 8000.0;

/// `len` samples of a sine at `hz` with peak `amplitude`.
pub(super) fn sine(hz: f32, amplitude: f32, len: usize) -> Vec<f32> {
    let w = 2.0 * PI * f64::from(hz) / SAMPLE_RATE;
    (0..len)
        .map(|n| (f64::from(amplitude) * (w * n as f64).sin()) as f32)
        .collect()
}

/// `len` samples of seeded uniform noise in ±1000.
pub(super) fn noise(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 40) as f32 / 16_777_216.0 - 0.5) * 2000.0
        })
        .collect()
}

/// Root mean square.
pub(super) fn rms(signal: &[f32]) -> f32 {
    let sum: f64 = signal.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    (sum / signal.len().max(1) as f64).sqrt() as f32
}

/// Amplitude (in dB) of the component at `hz`, by the Goertzel algorithm: a sine of peak `a`
/// reads `20 log10 a`.
pub(super) fn level_db(signal: &[f32], hz: f32) -> f32 {
    let w = 2.0 * PI * f64::from(hz) / SAMPLE_RATE;
    let coefficient = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in signal {
        let s = f64::from(x) + coefficient * s1 - s2;
        (s2, s1) = (s1, s);
    }
    let power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
    let amplitude = 2.0 * power.max(0.0).sqrt() / signal.len().max(1) as f64;
    (20.0 * amplitude.max(1e-12).log10()) as f32
}

/// The frequency between `lo` and `hi` Hz (0.5 Hz steps) with the highest level.
pub(super) fn peak_frequency(signal: &[f32], lo: f32, hi: f32) -> f32 {
    let steps = ((hi - lo) * 2.0) as usize;
    (0..=steps)
        .map(|i| lo + i as f32 * 0.5)
        .map(|hz| (hz, level_db(signal, hz)))
        .fold(
            (lo, f32::MIN),
            |best, c| if c.1 > best.1 { c } else { best },
        )
        .0
}

/// Reverberation time estimated from an impulse response by Schroeder backward integration:
/// three times the time the energy decay curve takes from −5 to −25 dB (T20).
pub(super) fn schroeder_rt60(response: &[f32], sample_rate: f32) -> f32 {
    let mut remaining: Vec<f64> = response.iter().map(|&v| f64::from(v).powi(2)).collect();
    for i in (0..remaining.len().saturating_sub(1)).rev() {
        remaining[i] += remaining[i + 1];
    }
    let total = remaining.first().copied().unwrap_or(0.0).max(1e-30);
    let time_at = |db: f64| {
        let threshold = total * 10f64.powf(db / 10.0);
        remaining
            .iter()
            .position(|&e| e <= threshold)
            .unwrap_or(remaining.len())
    };
    3.0 * (time_at(-25.0) - time_at(-5.0)) as f32 / sample_rate
}
