//! What to augment and how strongly: the serializable configuration, its preset, and the limits
//! every drawn value is held to.

use serde::{Deserialize, Serialize};

/// Tempo factors are held to this range (a factor outside it is clamped to it).
pub const SPEED_LIMITS: (f32, f32) = (0.5, 2.0);
/// Gains in dB are held to this range.
pub const GAIN_DB_LIMITS: (f32, f32) = (-60.0, 40.0);
/// Spectral tilts are held to ±this many dB per octave: the tilt filter is a cascade of
/// first-order sections, which cannot slope more steeply than 6 dB per octave.
pub const TILT_LIMIT_DB_PER_OCTAVE: f32 = 6.0;
/// Reverberation times (RT60, seconds) are held to this range.
pub const RT60_LIMITS_S: (f32, f32) = (0.05, 10.0);
/// Reverb wet shares are held to this range (0 = dry only, 1 = reverb only).
pub const WET_LIMITS: (f32, f32) = (0.0, 1.0);
/// Signal-to-noise ratios in dB are held to this range.
pub const SNR_DB_LIMITS: (f32, f32) = (-20.0, 100.0);
/// The equalizer draws at most this many bands (a larger count is clamped to it). Every four
/// bands cost one pass over the window, so this also bounds the equalizer's cost (two passes).
pub const EQ_BANDS_LIMIT: u8 = 8;
/// Equalizer band gains are held to ±this many dB.
pub const EQ_GAIN_LIMIT_DB: f32 = 18.0;
/// Equalizer band Q factors are held to this range: Q 0.3 is a band about 3.7 octaves wide, Q 8
/// one of about 0.18 octaves (two semitones).
pub const EQ_Q_LIMITS: (f32, f32) = (0.3, 8.0);

/// Pitch shifts are held to ±this many semitones (an octave), so that with the tempo factors
/// of [`SPEED_LIMITS`] the WSOLA stage's factor (`speed / pitch ratio`) stays within 0.25 … 4.
pub const PITCH_LIMIT_SEMITONES: f32 = 12.0;

/// MixStyle's Beta parameter is held to this range: 0.01 mixes almost always all or nothing of
/// the partner's statistics, 100 almost always half of each.
pub const MIX_STYLE_ALPHA_LIMITS: (f32, f32) = (0.01, 100.0);

/// Masks per window are held to this many of each kind (bands and spans).
pub const MASKS_LIMIT: u8 = 8;
/// A frequency mask is at most this many bins wide (a quarter of the 128).
pub const MASK_BINS_LIMIT: u16 = 32;
/// A time mask is at most this many frames long (a quarter of the 312, 1.25 s).
pub const MASK_FRAMES_LIMIT: u16 = 78;

/// SpecAugment-style masks (Park et al., 2019) on a window's features, after the front end:
/// `bands` frequency bands, each of a width drawn uniformly from `0 ..= band_bins` bins at a
/// uniform position, and `spans` time spans of `0 ..= span_frames` frames, each filled with the
/// window's mean feature code. A network that must name the instruments with some of their
/// partials or onsets hidden cannot lean on one region of one synthesizer's samples.
/// Counts are held to [`MASKS_LIMIT`], widths to [`MASK_BINS_LIMIT`] and [`MASK_FRAMES_LIMIT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskRange {
    /// Frequency masks per window.
    pub bands: u8,
    /// Largest width of a frequency mask, in bins (31.25 Hz each).
    pub band_bins: u16,
    /// Time masks per window.
    pub spans: u8,
    /// Largest length of a time mask, in frames (16 ms each).
    pub span_frames: u16,
}

impl MaskRange {
    /// The masks of the session-9 experiment (`bench/augment/preset-with-masks.json`), for tests.
    #[cfg(test)]
    pub(crate) const BENCHMARKED: Self = Self {
        bands: 2,
        band_bins: 16,
        spans: 2,
        span_frames: 40,
    };
}

/// Frequency-wise MixStyle (Zhou et al., 2021, on spectrograms as Schmid et al. did for unseen
/// recording devices, DCASE 2022–2023): with chance `probability` a training *batch* is mixed:
/// every example's per-bin statistics (mean and standard deviation of its codes over the stack's
/// windows and frames) are replaced by `λ · own + (1 − λ) · partner's`, with λ ~ Beta(`alpha`,
/// `alpha`) per example and a random partner in the batch; its notes and their timing are kept.
/// A fixed colouring of one synthesizer's samples (how loud each frequency band sits, how much
/// it moves) then no longer names an instrument or a composer. Applied by the trainer to whole
/// batches (`crate::augment::mix_band_statistics`), never per window, never outside training.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixStyleRange {
    /// Chance that a batch is mixed, held to 0 … 1 (non-finite: 0, never).
    pub probability: f32,
    /// Beta(alpha, alpha) parameter of each example's weight λ, held to
    /// [`MIX_STYLE_ALPHA_LIMITS`] (non-finite: the largest, the mildest spread around ½).
    pub alpha: f32,
}

impl MixStyleRange {
    /// The chance a batch is mixed, held to 0 … 1. Cost: a comparison.
    #[must_use]
    pub fn held_probability(&self) -> f32 {
        sanitize(self.probability, (0.0, 1.0), 0.0)
    }

    /// The Beta parameter, held to [`MIX_STYLE_ALPHA_LIMITS`]. Cost: a comparison.
    #[must_use]
    pub fn held_alpha(&self) -> f32 {
        sanitize(self.alpha, MIX_STYLE_ALPHA_LIMITS, MIX_STYLE_ALPHA_LIMITS.1)
    }
}

/// The ranges a reverb's parameters are drawn from, each uniformly and independently.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReverbRange {
    /// Reverberation time: seconds for the low-frequency tail to fall by 60 dB (highs fall
    /// faster, as in real rooms). Held to [`RT60_LIMITS_S`].
    pub rt60_s: (f32, f32),
    /// Share of reverberated signal in the output: `out = (1 - wet) * dry + wet * reverb`, where
    /// the reverb has about the dry signal's power. 0 leaves the signal bit-for-bit unchanged.
    /// Held to [`WET_LIMITS`].
    pub wet: (f32, f32),
}

/// The ranges a random equalizer is drawn from: a number of peaking bands, each with its own
/// centre frequency (log-uniform over
/// [`EQ_FREQ_RANGE_HZ`](super::EQ_FREQ_RANGE_HZ)), gain and Q.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EqRange {
    /// Number of bands, drawn uniformly from `bands.0 ..= bands.1` (either order); held to
    /// `0 ..= EQ_BANDS_LIMIT`. Zero bands leave the signal unchanged.
    pub bands: (u8, u8),
    /// Largest band gain in dB: each band's gain is drawn uniformly in `±gain_db`, so bands
    /// raise (resonances) or lower (anti-resonances) their region. Held to
    /// `0 ..= EQ_GAIN_LIMIT_DB` by magnitude; non-finite is 0 (flat).
    pub gain_db: f32,
    /// Q factor range (centre frequency over bandwidth); each band's Q is drawn uniformly from
    /// it. Held to [`EQ_Q_LIMITS`]; a non-finite end counts as the narrowest Q, the one that
    /// changes the least of the spectrum.
    pub q: (f32, f32),
}

impl EqRange {
    /// The preset's band count (2 … 5) and Q range (0.7 … 2.5) with bands of at most ±`gain_db`.
    /// Cost: none.
    pub const fn preset_shape(gain_db: f32) -> Self {
        Self {
            bands: (2, 5),
            gain_db,
            q: (0.7, 2.5),
        }
    }
}

/// Which augmentations to apply and how strongly; [`Default`] is all off. Every range
/// `(a, b)` is drawn from uniformly (the order of `a` and `b` does not matter; `a == b` fixes the
/// value). Values outside the `*_LIMITS` constants are clamped to them and a non-finite bound
/// counts as the mildest value (speed 1, gain 0 dB, tilt 0, wet 0, the shortest RT60, equalizer
/// gain 0 and the narrowest Q, the highest SNR), so no configuration can make [`augment`](super::augment) panic or emit garbage.
///
/// In JSON, missing fields are off and unknown fields are an error.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AugmentConfig {
    /// Gain range in dB, e.g. `(-12, 6)`. Clipping from a positive gain saturates.
    pub gain_db: Option<(f32, f32)>,
    /// Largest spectral tilt in dB per octave, pivoting at 1 kHz; the tilt is drawn uniformly in
    /// `±value`. A positive tilt brightens (raises highs, lowers lows).
    pub tilt_db_per_octave: Option<f32>,
    /// Reverb (a Schroeder/Freeverb-style network) with drawn reverberation time and wet share.
    pub reverb: Option<ReverbRange>,
    /// Random equalizer (a cascade of peaking filters) imitating another synthesizer's or a
    /// real instrument's body resonances and sample spectra. Applied after the tilt.
    pub eq: Option<EqRange>,
    /// Signal-to-noise ratio range in dB for added noise (white or pink, a coin flip), relative
    /// to the window's RMS after the other augmentations. Windows whose RMS is below one LSB
    /// (digital silence) get no noise.
    pub noise_snr_db: Option<(f32, f32)>,
    /// Tempo factor range, e.g. `(0.9, 1.1)`: 1.1 plays 10% faster at the same pitch, so onsets
    /// come 1/1.1 times as far apart and the window consumes 1.1 times as many input samples.
    pub speed: Option<(f32, f32)>,
    /// Largest pitch shift in semitones: the shift is drawn uniformly in `±value` (then rounded
    /// to the resampler's grid, about 0.1 semitone) and moves every frequency, the spectral
    /// envelope with the pitch, as a SoundFont does when it stretches one sample over several
    /// keys. The tempo is kept (the speed stage sets it). Held to ±[`PITCH_LIMIT_SEMITONES`].
    pub pitch_semitones: Option<f32>,
    /// Masks on the features (the one stage after the front end, applied by the sampler from
    /// [`Applied::masks`](super::Applied::masks); `augment` itself leaves the audio alone).
    pub mask: Option<MaskRange>,
    /// Frequency-wise MixStyle across a training batch's examples (applied by the trainer to
    /// whole batches; the per-window stages and the sampler leave it alone).
    pub mix_style: Option<MixStyleRange>,
}

impl AugmentConfig {
    /// True when no augmentation is configured, so [`augment`](super::augment) returns its input
    /// unchanged, the sampler masks nothing and the trainer mixes no batch. Cost: nine
    /// comparisons.
    pub fn is_off(&self) -> bool {
        self.gain_db.is_none()
            && self.tilt_db_per_octave.is_none()
            && self.reverb.is_none()
            && self.eq.is_none()
            && self.noise_snr_db.is_none()
            && self.speed.is_none()
            && self.pitch_semitones.is_none()
            && self.mask.is_none()
            && self.mix_style.is_none()
    }

    /// Everything on, at ranges meant to cover the differences between one synthesizer in one
    /// dry room and real recordings, without making the music unrecognisable:
    /// - gain −12 … +6 dB (loud windows may clip at +6 dB, as overdriven recordings do);
    /// - tilt ±3 dB/octave around 1 kHz (±6 dB at 4 kHz, ∓9 dB at 125 Hz: microphones, rooms,
    ///   and brighter or darker instruments);
    /// - reverb RT60 0.3 … 2.0 s (small room to concert hall), wet share 0 … 0.5;
    /// - equalizer of 2 … 5 bands, each ±6 dB at Q 0.7 … 2.5 (about two octaves to half an
    ///   octave wide), centred between 80 Hz and 3.5 kHz: broad resonances and dips like those
    ///   of instrument bodies, microphones and other synthesizers' samples, but not narrow enough
    ///   to erase single harmonics, nor strong enough to turn one instrument into another;
    /// - noise at 20 … 50 dB SNR (tape hiss to a quiet hall);
    /// - tempo 0.9 … 1.1 (performers' tempo choices).
    ///
    /// Cost: none (a constant).
    pub fn preset_default_on() -> Self {
        Self {
            gain_db: Some((-12.0, 6.0)),
            tilt_db_per_octave: Some(3.0),
            reverb: Some(ReverbRange {
                rt60_s: (0.3, 2.0),
                wet: (0.0, 0.5),
            }),
            eq: Some(EqRange::preset_shape(6.0)),
            noise_snr_db: Some((20.0, 50.0)),
            speed: Some((0.9, 1.1)),
            pitch_semitones: None,
            mask: None,
            mix_style: None,
        }
    }

    /// The largest pitch shift this configuration can draw, in semitones (held to
    /// [`PITCH_LIMIT_SEMITONES`]; a non-finite value counts as no shift), or `None` when the
    /// pitch stage is off. Cost: a few comparisons.
    pub fn max_pitch_semitones(&self) -> Option<f32> {
        self.pitch_semitones
            .map(|max| sanitize(max.abs(), (0.0, PITCH_LIMIT_SEMITONES), 0.0))
    }

    /// The largest tempo factor this configuration can draw (1 when speed is off): the caller
    /// must supply `out_len` times this, plus a margin, as input; see
    /// [`input_len_needed`](super::input_len_needed). Cost: a few comparisons.
    pub fn max_speed(&self) -> f32 {
        match self.speed {
            Some(range) => {
                let (_, hi) = sanitize_range(range, SPEED_LIMITS, 1.0);
                hi
            }
            None => 1.0,
        }
    }
}

/// Orders a range and holds both ends to `limits`, replacing a non-finite end by `neutral`.
pub(super) fn sanitize_range(range: (f32, f32), limits: (f32, f32), neutral: f32) -> (f32, f32) {
    let a = sanitize(range.0, limits, neutral);
    let b = sanitize(range.1, limits, neutral);
    (a.min(b), a.max(b))
}

/// Holds one value to `limits`, replacing a non-finite value by `neutral`.
pub(super) fn sanitize(value: f32, limits: (f32, f32), neutral: f32) -> f32 {
    let value = if value.is_finite() { value } else { neutral };
    value.clamp(limits.0, limits.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_off_and_preset_is_fully_on() {
        assert!(AugmentConfig::default().is_off());
        let preset = AugmentConfig::preset_default_on();
        assert!(!preset.is_off());
        assert!(preset.gain_db.is_some() && preset.tilt_db_per_octave.is_some());
        assert!(preset.reverb.is_some() && preset.noise_snr_db.is_some());
        assert!(preset.speed.is_some() && preset.eq.is_some());
        let eq_only = AugmentConfig {
            eq: preset.eq,
            ..AugmentConfig::default()
        };
        assert!(!eq_only.is_off());
    }

    #[test]
    fn the_benchmarked_mask_file_is_the_preset_plus_masks() {
        let text = include_str!("../../../bench/augment/preset-with-masks.json");
        let parsed: AugmentConfig = serde_json::from_str(text).unwrap();
        let mask = MaskRange::BENCHMARKED;
        let mask_only = AugmentConfig {
            mask: Some(mask),
            ..AugmentConfig::default()
        };
        assert!(!mask_only.is_off(), "masks alone are augmentation");
        assert_eq!(
            parsed,
            AugmentConfig {
                mask: Some(mask),
                ..AugmentConfig::preset_default_on()
            }
        );
    }

    #[test]
    fn the_benchmarked_pitch_file_is_the_preset_plus_a_pitch_shift() {
        let text = include_str!("../../../bench/augment/preset-with-pitch.json");
        let parsed: AugmentConfig = serde_json::from_str(text).unwrap();
        assert_eq!(
            parsed,
            AugmentConfig {
                pitch_semitones: Some(2.0),
                ..AugmentConfig::preset_default_on()
            }
        );
        let pitch_only = AugmentConfig {
            pitch_semitones: Some(2.0),
            ..AugmentConfig::default()
        };
        assert!(!pitch_only.is_off(), "a pitch shift alone is augmentation");
        assert_eq!(pitch_only.max_pitch_semitones(), Some(2.0));
        assert_eq!(AugmentConfig::default().max_pitch_semitones(), None);
    }

    #[test]
    fn the_benchmarked_mix_style_file_is_the_preset_plus_mix_style() {
        let text = include_str!("../../../bench/augment/preset-with-mixstyle.json");
        let parsed: AugmentConfig = serde_json::from_str(text).unwrap();
        let mix_style = MixStyleRange {
            probability: 0.4,
            alpha: 0.3,
        };
        assert_eq!(
            parsed,
            AugmentConfig {
                mix_style: Some(mix_style),
                ..AugmentConfig::preset_default_on()
            }
        );
        let mix_only = AugmentConfig {
            mix_style: Some(mix_style),
            ..AugmentConfig::default()
        };
        assert!(!mix_only.is_off(), "MixStyle alone is augmentation");
    }

    #[test]
    fn mix_style_values_are_held() {
        let odd = MixStyleRange {
            probability: 1.5,
            alpha: 0.0,
        };
        assert_eq!((odd.held_probability(), odd.held_alpha()), (1.0, 0.01));
        let nan = MixStyleRange {
            probability: f32::NAN,
            alpha: f32::NAN,
        };
        assert_eq!((nan.held_probability(), nan.held_alpha()), (0.0, 100.0));
        let negative = MixStyleRange {
            probability: -0.5,
            alpha: 1e9,
        };
        assert_eq!(
            (negative.held_probability(), negative.held_alpha()),
            (0.0, 100.0)
        );
    }

    #[test]
    fn json_round_trips_and_missing_fields_are_off() {
        let preset = AugmentConfig::preset_default_on();
        let json = serde_json::to_string(&preset).unwrap();
        assert_eq!(
            serde_json::from_str::<AugmentConfig>(&json).unwrap(),
            preset
        );
        let partial: AugmentConfig = serde_json::from_str(r#"{"gain_db":[-3,3]}"#).unwrap();
        assert_eq!(partial.gain_db, Some((-3.0, 3.0)));
        assert!(partial.speed.is_none() && partial.eq.is_none());
        let eq: AugmentConfig =
            serde_json::from_str(r#"{"eq":{"bands":[1,3],"gain_db":4,"q":[1,2]}}"#).unwrap();
        assert_eq!(eq.eq.map(|e| e.bands), Some((1, 3)));
        assert!(serde_json::from_str::<AugmentConfig>(r#"{"eq":{"bands":[1,3]}}"#).is_err());
        assert!(serde_json::from_str::<AugmentConfig>(r#"{"gain":[-3,3]}"#).is_err());
    }

    #[test]
    fn sanitizing_orders_clamps_and_neutralizes() {
        assert_eq!(sanitize_range((1.2, 0.8), SPEED_LIMITS, 1.0), (0.8, 1.2));
        assert_eq!(sanitize_range((0.1, 9.0), SPEED_LIMITS, 1.0), (0.5, 2.0));
        assert_eq!(
            sanitize_range((f32::NAN, 1.5), SPEED_LIMITS, 1.0),
            (1.0, 1.5)
        );
        assert_eq!(sanitize(f32::INFINITY, GAIN_DB_LIMITS, 0.0), 0.0);
        let config = AugmentConfig {
            speed: Some((f32::NAN, f32::NEG_INFINITY)),
            ..AugmentConfig::default()
        };
        assert_eq!(config.max_speed(), 1.0);
        assert_eq!(AugmentConfig::preset_default_on().max_speed(), 1.1);
    }
}
