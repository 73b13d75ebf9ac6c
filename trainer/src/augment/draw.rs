//! Drawing the parameters of one augmentation, and the report of what was drawn.
//!
//! One `u64` seed per window feeds ChaCha8 generators on separate streams, one per stage (and one
//! for the noise samples), so each stage's draws depend only on the seed and its own range:
//! switching reverb on does not change which gain a window gets, and the caller's generator
//! advances by exactly one `u64` whatever the configuration.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::config::{
    AugmentConfig, GAIN_DB_LIMITS, RT60_LIMITS_S, SNR_DB_LIMITS, SPEED_LIMITS,
    TILT_LIMIT_DB_PER_OCTAVE, WET_LIMITS, sanitize, sanitize_range,
};

/// The range the reverb's room size (a factor on all its delay lengths) is drawn from, so that
/// reverbs differ in echo pattern as well as in decay.
pub const ROOM_SCALE_RANGE: (f32, f32) = (0.75, 1.25);

/// The colour of added noise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseColor {
    /// Equal power per Hz.
    White,
    /// Equal power per octave (−3 dB per octave).
    Pink,
}

/// The reverb parameters one window got.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReverbApplied {
    /// Reverberation time in seconds (60 dB decay of the low-frequency tail).
    pub rt60_s: f32,
    /// Share of reverberated signal in the output.
    pub wet: f32,
    /// Factor on the reverb's delay lengths (room size), drawn from [`ROOM_SCALE_RANGE`].
    pub room_scale: f32,
}

/// The noise one window got.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoiseApplied {
    /// Drawn signal-to-noise ratio in dB (relative to the window's RMS before the noise).
    pub snr_db: f32,
    /// Drawn colour.
    pub color: NoiseColor,
    /// RMS of the noise actually added, in LSB (0 for a silent window, which gets none).
    pub rms: f32,
}

/// What [`augment_with_report`](super::augment_with_report) drew and applied to one window, for
/// tests and logs; `None` marks a stage that is off.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    /// Tempo factor.
    pub speed: Option<f32>,
    /// Reverb parameters.
    pub reverb: Option<ReverbApplied>,
    /// Spectral tilt in dB per octave around 1 kHz.
    pub tilt_db_per_octave: Option<f32>,
    /// Gain in dB.
    pub gain_db: Option<f32>,
    /// Noise parameters and level.
    pub noise: Option<NoiseApplied>,
}

/// The ChaCha8 stream each stage draws from.
#[derive(Clone, Copy)]
pub(super) enum Stream {
    Speed = 1,
    Reverb = 2,
    Tilt = 3,
    Gain = 4,
    Noise = 5,
    NoiseSamples = 6,
}

/// A generator for `stream` of `seed`. Cost: one ChaCha8 key setup.
pub(super) fn stream_rng(seed: u64, stream: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream as u64);
    rng
}

/// Draws every configured stage's parameters from `seed` (noise `rms` is left at 0 for the noise
/// stage to fill in). Cost: a few ChaCha8 blocks.
pub(super) fn draw(config: &AugmentConfig, seed: u64) -> Applied {
    Applied {
        speed: config.speed.map(|range| {
            let mut rng = stream_rng(seed, Stream::Speed);
            uniform(&mut rng, sanitize_range(range, SPEED_LIMITS, 1.0))
        }),
        reverb: config.reverb.map(|range| {
            let mut rng = stream_rng(seed, Stream::Reverb);
            let rt60 = sanitize_range(range.rt60_s, RT60_LIMITS_S, RT60_LIMITS_S.0);
            let wet = sanitize_range(range.wet, WET_LIMITS, 0.0);
            ReverbApplied {
                rt60_s: uniform(&mut rng, rt60),
                wet: uniform(&mut rng, wet),
                room_scale: uniform(&mut rng, ROOM_SCALE_RANGE),
            }
        }),
        tilt_db_per_octave: config.tilt_db_per_octave.map(|max| {
            let limits = (0.0, TILT_LIMIT_DB_PER_OCTAVE);
            let max = sanitize(max.abs(), limits, 0.0);
            uniform(&mut stream_rng(seed, Stream::Tilt), (-max, max))
        }),
        gain_db: config.gain_db.map(|range| {
            let range = sanitize_range(range, GAIN_DB_LIMITS, 0.0);
            uniform(&mut stream_rng(seed, Stream::Gain), range)
        }),
        noise: config.noise_snr_db.map(|range| {
            let mut rng = stream_rng(seed, Stream::Noise);
            let range = sanitize_range(range, SNR_DB_LIMITS, SNR_DB_LIMITS.1);
            NoiseApplied {
                snr_db: uniform(&mut rng, range),
                color: if rng.next_u32() >> 31 == 0 {
                    NoiseColor::White
                } else {
                    NoiseColor::Pink
                },
                rms: 0.0,
            }
        }),
    }
}

/// A value drawn uniformly from the ordered, finite range `(lo, hi)` (exactly `lo` when
/// `lo == hi`). Uses 24 bits of one `next_u32`, a mapping fixed here rather than borrowed from
/// `rand`'s distributions, so seeds reproduce across `rand` versions.
pub(super) fn uniform(rng: &mut impl Rng, (lo, hi): (f32, f32)) -> f32 {
    let unit = (rng.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0);
    (lo + unit * (hi - lo)).clamp(lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::ReverbRange;

    #[test]
    fn draws_stay_in_range_and_stages_are_independent() {
        let gain_only = AugmentConfig {
            gain_db: Some((-12.0, 6.0)),
            ..AugmentConfig::default()
        };
        let all = AugmentConfig::preset_default_on();
        for seed in 0..200 {
            let a = draw(&all, seed);
            let speed = a.speed.unwrap();
            assert!((0.9..=1.1).contains(&speed));
            let gain = a.gain_db.unwrap();
            assert!((-12.0..=6.0).contains(&gain));
            assert!(a.tilt_db_per_octave.unwrap().abs() <= 3.0);
            let reverb = a.reverb.unwrap();
            assert!((0.3..=2.0).contains(&reverb.rt60_s) && (0.0..=0.5).contains(&reverb.wet));
            assert!((20.0..=50.0).contains(&a.noise.unwrap().snr_db));
            assert_eq!(draw(&gain_only, seed).gain_db, Some(gain));
        }
    }

    #[test]
    fn fixed_ranges_give_exact_values_and_both_colors_occur() {
        let config = AugmentConfig {
            gain_db: Some((-4.5, -4.5)),
            reverb: Some(ReverbRange {
                rt60_s: (0.7, 0.7),
                wet: (0.25, 0.25),
            }),
            noise_snr_db: Some((30.0, 30.0)),
            ..AugmentConfig::default()
        };
        let mut colors = Vec::new();
        for seed in 0..20 {
            let a = draw(&config, seed);
            assert_eq!(a.gain_db, Some(-4.5));
            assert_eq!(a.reverb.unwrap().rt60_s, 0.7);
            assert_eq!(a.reverb.unwrap().wet, 0.25);
            colors.push(a.noise.unwrap().color);
        }
        assert!(colors.contains(&NoiseColor::White) && colors.contains(&NoiseColor::Pink));
    }
}
