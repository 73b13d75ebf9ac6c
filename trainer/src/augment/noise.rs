//! Additive white or pink noise at an exact signal-to-noise ratio.
//!
//! Each noise sample is the sum of four ChaCha8 bytes (Irwin–Hall, close to Gaussian, with no
//! `ln` or `cos` per sample); pink noise is that, through the tilt filter at
//! −3 dB per octave. The noise is then scaled so that its RMS over the window is exactly the
//! signal's RMS over the window divided by `10^(snr / 20)`. Cost: four ChaCha8 bytes per sample
//! (plus eight first-order recursions for pink) and one buffer of the window's length.

use rand::Rng;

use super::draw::NoiseColor;
use super::tilt::Tilt;

/// Windows whose RMS (in LSB) is below this are digital silence and get no noise: an SNR
/// relative to nothing is undefined, and hiss in a silent gap is not a recording we imitate.
pub(super) const SILENCE_RMS: f64 = 1.0;

/// Adds `color` noise to `signal` at `snr_db` relative to the signal's RMS, drawing from `rng`;
/// returns the noise's RMS (0 when the signal is silent and left unchanged). Cost: see the
/// module documentation.
pub(super) fn add(signal: &mut [f32], snr_db: f32, color: NoiseColor, rng: &mut impl Rng) -> f32 {
    let signal_rms = rms(signal);
    if !signal_rms.is_finite() || signal_rms < SILENCE_RMS || !snr_db.is_finite() {
        return 0.0;
    }
    let mut bytes = vec![0u8; 4 * signal.len()];
    rng.fill_bytes(&mut bytes);
    let mut noise: Vec<f32> = bytes.as_chunks::<4>().0.iter().map(bell).collect();
    if color == NoiseColor::Pink {
        Tilt::new(-3.0).process(&mut noise);
    }
    let noise_rms = rms(&noise);
    if noise_rms <= 0.0 {
        return 0.0;
    }
    let target = signal_rms / 10f64.powf(f64::from(snr_db) / 20.0);
    let scale = (target / noise_rms) as f32;
    for (s, n) in signal.iter_mut().zip(&noise) {
        *s += n * scale;
    }
    target as f32
}

/// A zero-mean, roughly Gaussian value: the sum of four random bytes, centred.
fn bell(bytes: &[u8; 4]) -> f32 {
    let sum: u32 = bytes.iter().map(|&b| u32::from(b)).sum();
    sum as f32 - 510.0
}

/// Root mean square, accumulated in f64 with four partial sums (0 for an empty slice).
pub(super) fn rms(signal: &[f32]) -> f64 {
    if signal.is_empty() {
        return 0.0;
    }
    let (chunks, tail) = signal.as_chunks::<4>();
    let mut acc = [0.0f64; 4];
    for chunk in chunks {
        for i in 0..4 {
            acc[i] += f64::from(chunk[i]) * f64::from(chunk[i]);
        }
    }
    let tail: f64 = tail.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    ((acc.iter().sum::<f64>() + tail) / signal.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::test_signals::{level_db, sine};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn snr_is_exact_before_rounding() {
        let dry = sine(440.0, 5000.0, 40_064);
        for (color, snr) in [(NoiseColor::White, 10.0), (NoiseColor::Pink, 35.0)] {
            let mut signal = dry.clone();
            let added = add(&mut signal, snr, color, &mut ChaCha8Rng::seed_from_u64(3));
            let noise: Vec<f32> = signal.iter().zip(&dry).map(|(s, d)| s - d).collect();
            let measured = 20.0 * (rms(&dry) / rms(&noise)).log10();
            assert!(
                (measured - f64::from(snr)).abs() < 0.01,
                "{color:?}: {measured}"
            );
            assert!((f64::from(added) - rms(&noise)).abs() < 0.01 * rms(&noise));
        }
    }

    #[test]
    fn pink_noise_falls_three_db_per_octave() {
        let mut signal = vec![0.0f32; 64_000];
        signal[0] = 1e6; // not silent; the impulse itself is negligible at these frequencies
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        add(&mut signal, -40.0, NoiseColor::Pink, &mut rng);
        // Average the power over 60 bins around each frequency: noise power varies per bin.
        let band_db = |hz: f32| {
            let power: f32 = (0..60)
                .map(|i| 10f32.powf(level_db(&signal, hz + i as f32 * 2.0) / 10.0))
                .sum();
            10.0 * power.log10()
        };
        let per_octave = (band_db(2000.0) - band_db(250.0)) / 3.0;
        assert!((per_octave + 3.0).abs() < 0.7, "{per_octave} dB per octave");
    }

    #[test]
    fn silence_and_empty_get_no_noise() {
        let mut silent = vec![0.0f32; 1000];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(add(&mut silent, 20.0, NoiseColor::White, &mut rng), 0.0);
        assert!(silent.iter().all(|&v| v == 0.0));
        assert_eq!(add(&mut [], 20.0, NoiseColor::Pink, &mut rng), 0.0);
    }
}
