//! From the synthesizer's float stereo to 16-bit PCM: downmix (mono by default, as MusicNet),
//! gain, and a per-piece peak limit so nothing ever clips.
//!
//! `--gain` is in decibels relative to rustysynth's own output level (its master volume, 0.5;
//! the default, [`super::args::DEFAULT_GAIN_DB`], is +10 dB).
//! If a piece would then peak above [`CEILING_DBFS`], the *whole piece* is turned down so that
//! its peak sits exactly there: one constant factor per piece, so dynamics within the piece are
//! unchanged and no sample clips. The attenuation is reported per piece and in the run's summary.

use super::synth::Stereo;

/// The highest peak a rendered piece may reach, in dB relative to 16-bit full scale.
pub const CEILING_DBFS: f64 = -0.1;

/// Samples of 16-bit full scale.
const FULL_SCALE: f32 = 32_767.0;

/// A piece as 16-bit PCM.
#[derive(Clone, Debug, PartialEq)]
pub struct Pcm {
    /// Interleaved samples.
    pub samples: Vec<i16>,
    /// Channels, 1 or 2.
    pub channels: u16,
    /// How far the piece was turned down to stay under the ceiling, in dB (0 when not).
    pub attenuation_db: f64,
    /// The piece's peak after gain and limiting, in dBFS (-inf for silence).
    pub peak_dbfs: f64,
}

/// A level in decibels as a linear factor.
#[must_use]
pub fn db_to_linear(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// The peak level (synthesizer units) below which audio rounds to silence in 16-bit PCM after
/// `gain_db`: half a least significant bit.
#[must_use]
pub fn silence_threshold(gain_db: f64) -> f32 {
    (0.5 / f64::from(FULL_SCALE) / db_to_linear(gain_db)) as f32
}

/// Mixes `audio` to `channels` (1: the mean of left and right; 2: as is), applies `gain_db` and
/// the ceiling, and converts to 16-bit with rounding. Cost: two passes over the audio.
#[must_use]
pub fn to_pcm(audio: &Stereo, channels: u16, gain_db: f64) -> Pcm {
    let mono = channels == 1;
    let frames = audio.len();
    let mut mixed: Vec<f32> = Vec::with_capacity(frames * usize::from(channels.max(1)));
    if mono {
        mixed.extend(
            audio
                .left
                .iter()
                .zip(&audio.right)
                .map(|(l, r)| 0.5 * (l + r)),
        );
    } else {
        for (l, r) in audio.left.iter().zip(&audio.right) {
            mixed.push(*l);
            mixed.push(*r);
        }
    }
    let peak = f64::from(mixed.iter().fold(0.0f32, |p, x| p.max(x.abs())));
    let gain = db_to_linear(gain_db);
    let ceiling = db_to_linear(CEILING_DBFS);
    let (scale, attenuation_db) = if peak * gain > ceiling {
        let scale = ceiling / peak;
        (scale, 20.0 * (gain / scale).log10())
    } else {
        (gain, 0.0)
    };
    let peak_dbfs = 20.0 * (peak * scale).log10();
    let factor = (scale * f64::from(FULL_SCALE)) as f32;
    let samples = mixed
        .iter()
        // In range by construction; the clamp only guards float rounding at the ceiling.
        .map(|x| (x * factor).round().clamp(-FULL_SCALE, FULL_SCALE) as i16)
        .collect();
    Pcm {
        samples,
        channels: if mono { 1 } else { 2 },
        attenuation_db,
        peak_dbfs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stereo(left: Vec<f32>, right: Vec<f32>) -> Stereo {
        Stereo { left, right }
    }

    #[test]
    fn quiet_audio_gets_the_gain_only() {
        let pcm = to_pcm(&stereo(vec![0.25, -0.25], vec![0.25, 0.0]), 1, 6.0);
        assert_eq!(pcm.attenuation_db, 0.0);
        let expected = (0.25 * db_to_linear(6.0) * 32_767.0).round() as i16;
        assert_eq!(pcm.samples[0], expected);
        assert_eq!(pcm.channels, 1);
    }

    #[test]
    fn loud_audio_is_turned_down_to_the_ceiling_not_clipped() {
        let pcm = to_pcm(&stereo(vec![2.0, -1.0], vec![2.0, -1.0]), 2, 0.0);
        assert_eq!(pcm.samples.len(), 4);
        assert!((pcm.peak_dbfs - CEILING_DBFS).abs() < 1e-9);
        assert!((pcm.attenuation_db - (20.0 * 2f64.log10() - CEILING_DBFS)).abs() < 1e-9);
        let top = (db_to_linear(CEILING_DBFS) * 32_767.0).round() as i16;
        assert_eq!(pcm.samples[0], top);
        assert_eq!(pcm.samples[2], -((top as f64 / 2.0).round() as i16));
    }
}
