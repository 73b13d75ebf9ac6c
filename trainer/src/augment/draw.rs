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
    AugmentConfig, EQ_BANDS_LIMIT, EQ_GAIN_LIMIT_DB, EQ_Q_LIMITS, EqRange, GAIN_DB_LIMITS,
    MASK_BINS_LIMIT, MASK_FRAMES_LIMIT, MASKS_LIMIT, MaskRange, RT60_LIMITS_S, SNR_DB_LIMITS,
    SPEED_LIMITS, TILT_LIMIT_DB_PER_OCTAVE, WET_LIMITS, sanitize, sanitize_range,
};
use super::pitch;
use core_nostd::frontend::{BINS, WINDOW_FRAMES};

/// The range the reverb's room size (a factor on all its delay lengths) is drawn from, so that
/// reverbs differ in echo pattern as well as in decay.
pub const ROOM_SCALE_RANGE: (f32, f32) = (0.75, 1.25);

/// The range equalizer centre frequencies are drawn from (log-uniformly, so each octave is
/// equally likely): from the cello's and bassoon's body resonances to the top of the 8 kHz
/// signal's band, short of the Nyquist frequency where a peaking filter's band would be cut off.
pub const EQ_FREQ_RANGE_HZ: (f32, f32) = (80.0, 3500.0);

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

/// The pitch shift one window got.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PitchApplied {
    /// The shift in semitones, as realized on the resampler's grid (`12 · log2(source_hz /
    /// 8000)`), within about 0.06 semitone of the one drawn.
    pub semitones: f32,
    /// The rate the window was treated as recorded at before being resampled to 8 kHz: a
    /// multiple of 50 Hz.
    pub source_hz: u32,
}

/// One equalizer band a window got: a peaking filter.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EqBandApplied {
    /// Centre frequency in Hz, within [`EQ_FREQ_RANGE_HZ`].
    pub freq_hz: f32,
    /// Gain at the centre frequency in dB (negative: a dip).
    pub gain_db: f32,
    /// Q factor (centre frequency over bandwidth).
    pub q: f32,
}

/// What [`augment_with_report`](super::augment_with_report) drew and applied to one window, for
/// tests and logs; `None` marks a stage that is off.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    /// Tempo factor.
    pub speed: Option<f32>,
    /// Pitch shift.
    pub pitch: Option<PitchApplied>,
    /// Reverb parameters.
    pub reverb: Option<ReverbApplied>,
    /// Spectral tilt in dB per octave around 1 kHz.
    pub tilt_db_per_octave: Option<f32>,
    /// Equalizer bands, in the order they are applied (empty when zero bands were drawn).
    pub eq: Option<Vec<EqBandApplied>>,
    /// Gain in dB.
    pub gain_db: Option<f32>,
    /// Noise parameters and level.
    pub noise: Option<NoiseApplied>,
    /// Feature masks, for the sampler to apply after the front end
    /// ([`mask_features`](super::mask_features)).
    pub masks: Option<MasksApplied>,
}

/// One mask: `len` consecutive bins or frames from `first`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskApplied {
    /// First masked bin or frame.
    pub first: u16,
    /// Masked bins or frames (0: none).
    pub len: u16,
}

/// The feature masks one window got.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasksApplied {
    /// Frequency masks (bins).
    pub bands: Vec<MaskApplied>,
    /// Time masks (frames).
    pub spans: Vec<MaskApplied>,
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
    Eq = 7,
    Mask = 8,
    Pitch = 9,
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
        pitch: config.max_pitch_semitones().map(|max| {
            let drawn = uniform(&mut stream_rng(seed, Stream::Pitch), (-max, max));
            let source_hz = pitch::source_rate(drawn);
            PitchApplied {
                semitones: pitch::semitones(source_hz),
                source_hz,
            }
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
        tilt_db_per_octave: config
            .tilt_db_per_octave
            .map(|max| draw_tilt(max, &mut stream_rng(seed, Stream::Tilt))),
        eq: config
            .eq
            .map(|range| draw_eq(&range, &mut stream_rng(seed, Stream::Eq))),
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
        masks: config
            .mask
            .map(|range| draw_masks(&range, &mut stream_rng(seed, Stream::Mask))),
    }
}

/// Draws the feature masks from `rng`: every frequency mask (width, then position), then every
/// time mask, each held inside the 128 × 312 plane. Cost: two `next_u32`s per mask.
pub(super) fn draw_masks(range: &MaskRange, rng: &mut impl Rng) -> MasksApplied {
    let mut draw_kind = |count: u8, widest: u16, limit: u16, extent: usize| {
        let extent = u16::try_from(extent).unwrap_or(u16::MAX);
        let widest = widest.min(limit).min(extent);
        (0..count.min(MASKS_LIMIT))
            .map(|_| {
                let len = uniform_count(rng, widest);
                let first = uniform_count(rng, extent - len);
                MaskApplied { first, len }
            })
            .collect()
    };
    let bands = draw_kind(range.bands, range.band_bins, MASK_BINS_LIMIT, BINS);
    let spans = draw_kind(
        range.spans,
        range.span_frames,
        MASK_FRAMES_LIMIT,
        WINDOW_FRAMES,
    );
    MasksApplied { bands, spans }
}

/// Draws the equalizer's bands from `rng`: first the number of bands, then per band its centre
/// frequency, gain and Q, in that order. Cost: `1 + 3 * bands` `next_u32`s and an `exp` per band.
pub(super) fn draw_eq(range: &EqRange, rng: &mut impl Rng) -> Vec<EqBandApplied> {
    let (a, b) = (range.bands.0, range.bands.1);
    let lo = a.min(b).min(EQ_BANDS_LIMIT);
    let hi = a.max(b).min(EQ_BANDS_LIMIT);
    let count = lo + uniform_count(rng, hi - lo);
    let gain = sanitize(range.gain_db.abs(), (0.0, EQ_GAIN_LIMIT_DB), 0.0);
    let q = sanitize_range(range.q, EQ_Q_LIMITS, EQ_Q_LIMITS.1);
    let (f_lo, f_hi) = EQ_FREQ_RANGE_HZ;
    let log_freq = (f_lo.ln(), f_hi.ln());
    (0..count)
        .map(|_| EqBandApplied {
            freq_hz: uniform(rng, log_freq).exp().clamp(f_lo, f_hi),
            gain_db: uniform(rng, (-gain, gain)),
            q: uniform(rng, q),
        })
        .collect()
}

/// A tilt in dB per octave drawn uniformly from ±`max` (`max` held to
/// ±[`TILT_LIMIT_DB_PER_OCTAVE`]; non-finite gives 0). Cost: one `next_u32`.
pub(super) fn draw_tilt(max: f32, rng: &mut impl Rng) -> f32 {
    let max = sanitize(max.abs(), (0.0, TILT_LIMIT_DB_PER_OCTAVE), 0.0);
    uniform(rng, (-max, max))
}

/// A whole number drawn uniformly from `0 ..= span` with one `next_u32` (a fixed mapping, like
/// [`uniform`]'s).
fn uniform_count<T: Copy + Ord + Into<u64> + TryFrom<u64>>(rng: &mut impl Rng, span: T) -> T {
    let scaled = (u64::from(rng.next_u32()) * (span.into() + 1)) >> 32;
    T::try_from(scaled).unwrap_or(span).min(span)
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
            let bands = a.eq.unwrap();
            assert!((2..=5).contains(&bands.len()));
            for band in bands {
                assert!((80.0..=3500.0).contains(&band.freq_hz));
                assert!(band.gain_db.abs() <= 6.0 && (0.7..=2.5).contains(&band.q));
            }
            assert_eq!(draw(&gain_only, seed).gain_db, Some(gain));
        }
    }

    #[test]
    fn masks_stay_inside_the_plane_and_leave_the_other_draws_alone() {
        let masked = AugmentConfig {
            mask: Some(MaskRange::BENCHMARKED),
            ..AugmentConfig::preset_default_on()
        };
        let (mut widest_band, mut widest_span, mut last_bin) = (0, 0, 0);
        for seed in 0..300 {
            let a = draw(&masked, seed);
            let masks = a.masks.clone().unwrap();
            assert_eq!((masks.bands.len(), masks.spans.len()), (2, 2));
            for band in &masks.bands {
                assert!(band.len <= 16 && usize::from(band.first + band.len) <= BINS);
                widest_band = widest_band.max(band.len);
                last_bin = last_bin.max(band.first + band.len);
            }
            for span in &masks.spans {
                assert!(span.len <= 40 && usize::from(span.first + span.len) <= WINDOW_FRAMES);
                widest_span = widest_span.max(span.len);
            }
            let unmasked = draw(&AugmentConfig::preset_default_on(), seed);
            assert_eq!(Applied { masks: None, ..a }, unmasked, "seed {seed}");
        }
        assert_eq!(
            (widest_band, widest_span),
            (16, 40),
            "the widths reach their maxima"
        );
        assert!(
            usize::from(last_bin) > BINS - 8,
            "bands reach the top of the plane"
        );
        // Counts and widths beyond the limits are held to them, and to the plane.
        let huge = MaskRange {
            bands: 200,
            band_bins: 1000,
            spans: 200,
            span_frames: 1000,
        };
        let masks = draw_masks(&huge, &mut stream_rng(5, Stream::Mask));
        assert_eq!(masks.bands.len(), usize::from(MASKS_LIMIT));
        assert!(masks.bands.iter().all(|m| m.len <= MASK_BINS_LIMIT));
        assert!(masks.spans.iter().all(|m| m.len <= MASK_FRAMES_LIMIT));
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

    #[test]
    fn eq_draws_cover_their_ranges_and_odd_ranges_are_held() {
        let config = AugmentConfig {
            eq: Some(EqRange {
                bands: (3, 1),
                gain_db: -10.0,
                q: (4.0, 1.0),
            }),
            ..AugmentConfig::default()
        };
        let (mut counts, mut low, mut high, mut cut, mut boost) = ([0; 4], 0, 0, 0, 0);
        for seed in 0..400 {
            for band in draw(&config, seed).eq.unwrap() {
                low += usize::from(band.freq_hz < 250.0);
                high += usize::from(band.freq_hz > 2000.0);
                cut += usize::from(band.gain_db < -5.0);
                boost += usize::from(band.gain_db > 5.0);
                assert!(band.gain_db.abs() <= 10.0 && (1.0..=4.0).contains(&band.q));
            }
            counts[draw(&config, seed).eq.unwrap().len()] += 1;
        }
        // Each count about a third of the time; log-uniform frequencies put about 0.30 of the
        // bands below 250 Hz and 0.15 above 2 kHz.
        assert_eq!(counts[0], 0);
        assert!(
            counts[1..].iter().all(|&n| (100..170).contains(&n)),
            "{counts:?}"
        );
        assert!(
            (200..280).contains(&low) && (90..150).contains(&high),
            "{low} {high}"
        );
        assert!(cut > 150 && boost > 150, "{cut} {boost}");

        let odd = AugmentConfig {
            eq: Some(EqRange {
                bands: (200, 255),
                gain_db: f32::NAN,
                q: (f32::INFINITY, -1.0),
            }),
            ..AugmentConfig::default()
        };
        let bands = draw(&odd, 1).eq.unwrap();
        assert_eq!(bands.len(), usize::from(EQ_BANDS_LIMIT));
        for band in bands {
            assert_eq!(band.gain_db, 0.0);
            assert!((EQ_Q_LIMITS.0..=EQ_Q_LIMITS.1).contains(&band.q));
        }
        let loud = AugmentConfig {
            eq: Some(EqRange {
                bands: (0, 0),
                gain_db: 1e9,
                q: (0.5, 0.5),
            }),
            ..AugmentConfig::default()
        };
        assert_eq!(draw(&loud, 1).eq, Some(Vec::new()));
        for n in 0..50 {
            let mut rng = stream_rng(n, Stream::Eq);
            assert!(uniform_count(&mut rng, 0_u8) == 0 && uniform_count(&mut rng, 3_u8) <= 3);
            uniform_count(&mut rng, u8::MAX);
        }
    }
}
