//! Seeded audio augmentation for training windows, so that a model trained on audio rendered
//! with one SoundFont learns instruments rather than that synthesizer.
//!
//! [`augment`] takes 8 kHz mono i16 samples and returns exactly `out_len` of them, after these
//! stages, each optional (see [`AugmentConfig`]; the default is all off) and in this order:
//!
//! 1. **speed** (`stretch.rs`): tempo change with pitch kept, by WSOLA
//!    (waveform-similarity overlap-add). It reads more or fewer input samples than it writes:
//!    the caller passes [`input_len_needed`] samples.
//!    With **pitch** (`pitch.rs`) on, the window is first resampled so that every frequency
//!    moves by the drawn number of semitones, and the WSOLA stage then restores the tempo
//!    (factor `speed / ratio`): the pitch changes, the tempo is the speed stage's.
//! 2. **reverb** (`reverb.rs`): Schroeder/Freeverb-style combs and all-passes
//!    with a drawn reverberation time, room size and wet share.
//! 3. **tilt** (`tilt.rs`): a constant spectral slope in dB per octave around 1 kHz.
//! 4. **eq** (`eq.rs`): a random equalizer, a few peaking filters at drawn centre frequencies,
//!    gains and Q factors, imitating other instruments' body resonances and other
//!    synthesizers' sample spectra.
//! 5. **gain**: a drawn gain in dB.
//! 6. **noise** (`noise.rs`): white or pink noise at a drawn SNR relative to the
//!    window's RMS at that point.
//! 7. **masks** (`mask.rs`): SpecAugment-style frequency and time masks on the window's
//!    *features*. Drawn here with the rest ([`Applied::masks`]) but applied by the sampler after
//!    the front end ([`mask_features`]), since they act on the spectrogram, not the audio.
//!
//! 8. **MixStyle** (`mixstyle.rs`): per-bin statistics of a training batch's examples mixed
//!    with a random partner's ([`mix_band_statistics`]); applied by the trainer to whole
//!    batches of features, not by `augment`.
//!
//! The tilt and equalizer also colour single parts of a rendering at its own sample rate
//! ([`Coloring`], `color.rs`; `trainer render --part-eq`).
//!
//! The stages work in f32 at i16 scale; the result is rounded and saturated to i16 (never
//! wrapped). Nothing is logged; [`augment_with_report`] returns what was drawn ([`Applied`]).
//!
//! **Determinism.** `augment` takes exactly one `u64` from the caller's generator, whatever the
//! configuration (so the caller's later draws, such as which window comes next, do not depend
//! on it), and derives every parameter and noise sample from it with ChaCha8 on one stream per
//! stage: the same input, configuration and seed give the same output, and switching one stage
//! on or off does not change what the others draw. (Filter design uses `exp`, `cos` and `powf`
//! from the platform's math library, so outputs may differ in the last bit between platforms;
//! this is training-side code, not the bit-exact inference path.)
//!
//! **Cost.** With everything on (the preset), one 5 s window (40,064 samples) takes about 1.7 ms
//! on one core in release builds (median, shared 2-core AMD EPYC, 2026-11-24;
//! `time_per_window_with_everything_on` in the tests prints it per stage): WSOLA about 1.1 ms,
//! noise 0.2 (pink costs more than white), the reverb 0.15, the tilt 0.1, the equalizer 0.1 (0.2
//! with five or more bands), and 0.05 for the conversions from and to i16. Time and memory are
//! `O(out_len)`. With everything off, `augment` is a copy.
//!
//! **Limitations.** The reverb and filters start from silence at the window's first sample (no
//! tail from earlier music); the reverb is a small, fixed-topology network, not a measured room;
//! noise is stationary (no hum, clicks or crowd).

mod color;
mod config;
mod draw;
mod eq;
mod mask;
mod mixstyle;
mod noise;
mod pitch;
mod reverb;
mod stretch;
#[cfg(test)]
mod test_signals;
mod tilt;

pub use color::{Coloring, ColoringRange};
pub use config::{
    AugmentConfig, EQ_BANDS_LIMIT, EQ_GAIN_LIMIT_DB, EQ_Q_LIMITS, EqRange, GAIN_DB_LIMITS,
    MASK_BINS_LIMIT, MASK_FRAMES_LIMIT, MASKS_LIMIT, MIX_STYLE_ALPHA_LIMITS, MaskRange,
    MixStyleRange, PITCH_LIMIT_SEMITONES, RT60_LIMITS_S, ReverbRange, SNR_DB_LIMITS, SPEED_LIMITS,
    TILT_LIMIT_DB_PER_OCTAVE, WET_LIMITS,
};
pub use draw::{
    Applied, EQ_FREQ_RANGE_HZ, EqBandApplied, MaskApplied, MasksApplied, NoiseApplied, NoiseColor,
    PitchApplied, ROOM_SCALE_RANGE, ReverbApplied,
};
pub use mask::mask_features;
pub use mixstyle::mix_band_statistics;

use draw::Stream;
use rand::Rng;

/// How many input samples [`augment`] reads to produce `out_len` under `config`: `out_len`
/// without speed change or pitch shift, otherwise enough for the fastest configured tempo at the
/// highest configured pitch plus the WSOLA search and resampler margins (about
/// `out_len * max_speed + 580`, and about 300 more with shifts of ±2 semitones). Give `augment`
/// this many samples from the window's start where the recording has them; missing samples
/// count as silence. Cost: constant.
pub fn input_len_needed(out_len: usize, config: &AugmentConfig) -> usize {
    let speed = config.max_speed();
    match config.max_pitch_semitones() {
        // The resampled input spans `ratio` times the WSOLA stage's input, read at
        // `speed / ratio`: the most at one of the two extreme shifts.
        Some(max) => [-max, max]
            .into_iter()
            .map(|semitones| {
                let source_hz = pitch::source_rate(semitones);
                let tempo = speed / pitch::ratio(source_hz);
                pitch::input_len(stretch::input_len(out_len, tempo), source_hz)
            })
            .max()
            .unwrap_or(out_len),
        None if config.speed.is_some() => stretch::input_len(out_len, speed),
        None => out_len,
    }
}

/// Applies the augmentations configured in `config` to `samples` (8 kHz mono), drawing one
/// `u64` from `rng`, and returns exactly `out_len` samples. With everything off this is the
/// first `out_len` samples, bit for bit, zero-padded if `samples` is shorter. Never panics.
/// Cost: see the [module documentation](self) (about 1.7 ms per 5 s window with all on).
pub fn augment<R: Rng + ?Sized>(
    samples: &[i16],
    out_len: usize,
    config: &AugmentConfig,
    rng: &mut R,
) -> Vec<i16> {
    augment_with_report(samples, out_len, config, rng).0
}

/// [`augment`], also returning the parameters drawn for this window (for tests and logs).
/// Cost: that of `augment`.
pub fn augment_with_report<R: Rng + ?Sized>(
    samples: &[i16],
    out_len: usize,
    config: &AugmentConfig,
    rng: &mut R,
) -> (Vec<i16>, Applied) {
    let seed = rng.next_u64();
    if config.is_off() {
        let mut out: Vec<i16> = samples.iter().copied().take(out_len).collect();
        out.resize(out_len, 0);
        return (out, Applied::default());
    }
    let mut applied = draw::draw(config, seed);
    let mut signal = retimed(samples, out_len, &mut applied);
    if let Some(params) = &applied.reverb {
        reverb::apply(&mut signal, params);
    }
    if let Some(db_per_octave) = applied.tilt_db_per_octave {
        tilt::apply(&mut signal, db_per_octave);
    }
    if let Some(bands) = &applied.eq {
        eq::apply(&mut signal, bands);
    }
    if let Some(gain_db) = applied.gain_db {
        apply_gain(&mut signal, gain_db);
    }
    if let Some(params) = &mut applied.noise {
        let mut noise_rng = draw::stream_rng(seed, Stream::NoiseSamples);
        params.rms = noise::add(&mut signal, params.snr_db, params.color, &mut noise_rng);
    }
    (signal.into_iter().map(to_i16).collect(), applied)
}

/// The pitch and speed stages: `out_len` samples of `samples` shifted by `applied.pitch` (if
/// any) and played at tempo `applied.speed` (1 if off). A shift the resampler refuses (none
/// within the limits) is dropped from `applied` and not made.
fn retimed(samples: &[i16], out_len: usize, applied: &mut Applied) -> Vec<f32> {
    let speed = applied.speed.unwrap_or(1.0);
    if let Some(shift) = applied.pitch {
        let tempo = speed / pitch::ratio(shift.source_hz);
        let pitched_len = stretch::input_len(out_len, tempo);
        let used = pitch::input_len(pitched_len, shift.source_hz).min(samples.len());
        if let Some(pitched) = pitch::shift(&to_f32(&samples[..used]), shift.source_hz, pitched_len)
        {
            return stretch::stretch(&pitched, tempo, out_len);
        }
        applied.pitch = None;
    }
    if applied.speed.is_some() {
        let used = stretch::input_len(out_len, speed).min(samples.len());
        return stretch::stretch(&to_f32(&samples[..used]), speed, out_len);
    }
    let mut signal = to_f32(&samples[..out_len.min(samples.len())]);
    signal.resize(out_len, 0.0);
    signal
}

/// Samples as f32 at i16 scale.
fn to_f32(samples: &[i16]) -> Vec<f32> {
    samples.iter().map(|&s| f32::from(s)).collect()
}

/// Multiplies `signal` by `gain_db` dB.
fn apply_gain(signal: &mut [f32], gain_db: f32) {
    let factor = 10f32.powf(gain_db / 20.0);
    for s in signal {
        *s *= factor;
    }
}

/// Rounds to the nearest i16 (ties to even), saturating at the ends (NaN becomes 0).
fn to_i16(value: f32) -> i16 {
    // Adding 1.5 * 2^23 leaves no bits for a fraction, so the f32 addition itself rounds to the
    // nearest integer (ties to even) for |x| < 2^22; inline, unlike `f32::round`, which is a
    // library call on baseline x86-64.
    const ROUNDER: f32 = 12_582_912.0;
    let clamped = value.clamp(f32::from(i16::MIN), f32::from(i16::MAX));
    ((clamped + ROUNDER) - ROUNDER) as i16
}

#[cfg(test)]
mod tests;
