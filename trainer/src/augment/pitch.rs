//! Pitch shift by resampling: the window is read `ratio` times as fast, which multiplies every
//! frequency in it by `ratio`, the pitch and the spectral envelope alike. That is what a
//! SoundFont does when it stretches one recorded sample over a range of keys, and where two
//! SoundFonts sampled an instrument at different notes, the same written note reaches the
//! listener with its resonances in other places. It also transposes the music, which names
//! neither its composer nor its instruments.
//!
//! Reading faster also plays faster, by the same ratio; [`augment`](super::augment) undoes that
//! with the WSOLA stage (tempo factor `speed / ratio`), so the pitch stage changes the pitch only
//! and the speed stage, when on, sets the tempo.
//!
//! The resampler is the one that brings every recording to 8 kHz
//! ([`host_common::audio::resample_mono`], rubato's synchronous FFT resampler): the window is
//! treated as if it had been recorded at a *source rate* of `8000 · ratio` Hz and resampled to
//! 8 kHz, which band-limits a shift upwards to the 4 kHz Nyquist frequency (no aliasing) and
//! leaves the top of the band empty after a shift downwards. Source rates are whole multiples of
//! [`RATE_STEP_HZ`] (shifts in steps of about a tenth of a semitone), which keeps the resampler's
//! FFT blocks short.
//!
//! Cost: the resampler's FFTs, `O(log 4,800)` per sample, about 0.5 ms per 5 s window, plus the
//! WSOLA pass that restores the tempo (0.9 ms, paid once when the speed stage is on too): 1.4 ms
//! for the two with speed off (`time_per_window_with_everything_on`, release, dev-2c,
//! 2026-12-06).

use core_nostd::frontend::SAMPLE_RATE_HZ;

/// Source rates are whole multiples of this many Hz: 1/160 of 8 kHz, so the resampler's
/// smallest block maps at most 160 output samples, and shifts come in steps of about 0.1
/// semitone (50 Hz at 8 kHz).
pub(super) const RATE_STEP_HZ: u32 = 50;

/// Extra input samples beyond those the output spans, for the resampler's filter, whose taps
/// reach a little past the last output sample.
const FILTER_MARGIN: usize = 256;

/// The source rate (a multiple of [`RATE_STEP_HZ`]) nearest to a shift of `semitones`:
/// `8000 · 2^(semitones / 12)`. The caller holds `semitones` to a finite range. Cost: one
/// `exp2`.
pub(super) fn source_rate(semitones: f32) -> u32 {
    let hz = f64::from(SAMPLE_RATE_HZ) * (f64::from(semitones) / 12.0).exp2();
    let steps = (hz / f64::from(RATE_STEP_HZ)).round().max(1.0);
    steps as u32 * RATE_STEP_HZ
}

/// The shift in semitones that `source_hz` realizes: `12 · log2(source_hz / 8000)`. Cost: one
/// `log2`.
pub(super) fn semitones(source_hz: u32) -> f32 {
    12.0 * ratio(source_hz).log2()
}

/// The frequency ratio of `source_hz`: output frequency over input frequency.
pub(super) fn ratio(source_hz: u32) -> f32 {
    (f64::from(source_hz) / f64::from(SAMPLE_RATE_HZ)) as f32
}

/// Input samples to give [`shift`] for `out_len` samples at `source_hz`. Cost: constant.
pub(super) fn input_len(out_len: usize, source_hz: u32) -> usize {
    let span = (out_len as f64 * f64::from(source_hz) / f64::from(SAMPLE_RATE_HZ)).ceil();
    (span as usize).saturating_add(FILTER_MARGIN)
}

/// `input` with every frequency multiplied by `ratio(source_hz)` (and its tempo too), as exactly
/// `out_len` samples: give it [`input_len`] samples where there are that many; input past its
/// end counts as silence. `None` if the resampler refuses the rates, which [`source_rate`]'s
/// range (4 to 16 kHz for shifts within an octave) never gives. Cost: see the module
/// documentation, for all of `input`; `O(input)` memory.
pub(super) fn shift(input: &[f32], source_hz: u32, out_len: usize) -> Option<Vec<f32>> {
    let mut out = host_common::audio::resample_mono(input, source_hz, SAMPLE_RATE_HZ).ok()?;
    out.resize(out_len, 0.0);
    Some(out)
}
