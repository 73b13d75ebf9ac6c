//! Spectral tilt: a constant slope in dB per octave, pivoting at 1 kHz (0 dB there).
//!
//! A single first-order shelf only slopes around its corner. Here eight first-order shelves, one
//! per octave from 25 Hz to 3.2 kHz, each rising or falling by the tilt between a pole and a
//! zero a fraction of an octave apart, add up to a near-constant slope (the classic interlaced
//! pole-zero approximation of a fractional slope, as in pinking filters). Poles and zeros are
//! placed by the matched z-transform (`z = e^(-2 pi f / fs)`). From 60 Hz to 2 kHz the gain is
//! within `0.15 * |tilt|` dB of the ideal slope; above that the slope eases off (at 3 kHz it is
//! `0.3 * |tilt|` dB short), as every real digital filter's must, its response being flat at the
//! Nyquist frequency. Cost: eight first-order recursions per sample, about 0.3 M operations per
//! 5 s window; the sections run interleaved per sample so their recursions overlap in the
//! processor.
//!
//! The same filter at −3 dB per octave turns white noise pink.

use std::f32::consts::PI;

use super::config::{TILT_LIMIT_DB_PER_OCTAVE, sanitize};

/// Sample rate the filter is designed for unless told otherwise ([`Tilt::at_rate`]).
const SAMPLE_RATE: f32 = 8000.0;
/// Frequency with gain 0 dB.
const PIVOT_HZ: f32 = 1000.0;
/// Number of sections.
const SECTIONS: usize = 8;
/// Lower corner of each section: one per octave.
const CORNERS_HZ: [f32; SECTIONS] = [25.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0];
/// A constant far below one LSB fed into the recursions so that they never decay into subnormal
/// floats.
const ANTI_SUBNORMAL: f32 = 1e-12;

/// The angular frequency of `hz` in radians per sample at `rate_hz`.
fn omega(hz: f32, rate_hz: f32) -> f32 {
    2.0 * PI * hz / rate_hz
}

/// A tilt filter: a cascade of shelves `(1 - zero z^-1) / (1 - pole z^-1)` (zeros and poles
/// placed by the matched z-transform, `e^(-2 pi f / fs)`), then a gain for 0 dB at 1 kHz.
#[derive(Clone, Debug)]
pub(super) struct Tilt {
    zeros: [f32; SECTIONS],
    poles: [f32; SECTIONS],
    gain: f32,
    rate_hz: f32,
}

impl Tilt {
    /// The filter for `db_per_octave` at 8 kHz. Cost: that of [`Tilt::at_rate`].
    pub(super) fn new(db_per_octave: f32) -> Self {
        Self::at_rate(db_per_octave, SAMPLE_RATE)
    }

    /// The filter for `db_per_octave` (held to ±[`TILT_LIMIT_DB_PER_OCTAVE`]; non-finite is
    /// flat) for audio at `rate_hz` (at least 8 kHz: the top corner must stay under the Nyquist
    /// frequency; lower or non-finite rates count as 8 kHz). Above 4 kHz the slope eases off as
    /// it does at 8 kHz. Cost: sixteen `exp`s and as many `cos`s.
    pub(super) fn at_rate(db_per_octave: f32, rate_hz: f32) -> Self {
        let rate_hz = sanitize(rate_hz, (SAMPLE_RATE, f32::MAX), SAMPLE_RATE);
        let tilt = if db_per_octave.is_finite() {
            db_per_octave.clamp(-TILT_LIMIT_DB_PER_OCTAVE, TILT_LIMIT_DB_PER_OCTAVE)
        } else {
            0.0
        };
        // Each section changes the gain by |tilt| dB between corners `ratio` apart: rising
        // (zero below pole) for a positive tilt, falling for a negative one.
        let ratio = 10f32.powf(tilt.abs() / 20.0);
        let (zero_factor, pole_factor) = if tilt >= 0.0 {
            (1.0, ratio)
        } else {
            (ratio, 1.0)
        };
        let map = |hz: f32| (-omega(hz, rate_hz)).exp();
        let mut filter = Self {
            zeros: CORNERS_HZ.map(|hz| map(hz * zero_factor)),
            poles: CORNERS_HZ.map(|hz| map(hz * pole_factor)),
            gain: 1.0,
            rate_hz,
        };
        filter.gain = 1.0 / filter.magnitude(PIVOT_HZ);
        filter
    }

    /// Magnitude response of the shelves (without the gain) at `hz`.
    fn magnitude(&self, hz: f32) -> f32 {
        let c = omega(hz, self.rate_hz).cos();
        let squared = |r: f32| 1.0 + r * r - 2.0 * r * c;
        let pairs = self.zeros.iter().zip(&self.poles);
        pairs
            .map(|(&q, &p)| (squared(q) / squared(p)).sqrt())
            .product()
    }

    /// Gain in dB at `hz`. Cost: eight `sqrt`s.
    #[cfg(test)]
    pub(super) fn gain_db(&self, hz: f32) -> f32 {
        20.0 * (self.gain * self.magnitude(hz)).log10()
    }

    /// Filters `signal` in place, from silence. The sections run skewed, section `k` on sample
    /// `n - k` at step `n`, so that within a step they are independent (and vectorize) and the
    /// recursions' latencies overlap; the arithmetic is exactly that of running them one after
    /// the other. Cost: eight first-order recursions per sample.
    pub(super) fn process(&self, signal: &mut [f32]) {
        let mut x1 = [0.0f32; SECTIONS];
        let mut y1 = [0.0f32; SECTIONS];
        for n in 0..signal.len() + SECTIONS - 1 {
            let mut input = [0.0f32; SECTIONS];
            input[0] = signal.get(n).map_or(0.0, |s| s + ANTI_SUBNORMAL);
            input[1..].copy_from_slice(&y1[..SECTIONS - 1]);
            for k in 0..SECTIONS {
                let y = input[k] - self.zeros[k] * x1[k] + self.poles[k] * y1[k];
                (x1[k], y1[k]) = (input[k], y);
            }
            let done = n.checked_sub(SECTIONS - 1);
            if let Some(out) = done.and_then(|i| signal.get_mut(i)) {
                *out = y1[SECTIONS - 1] * self.gain;
            }
        }
    }

    /// [`Tilt::process`] written plainly, one sample through all sections at a time: the
    /// reference the skewed version must match bit for bit.
    #[cfg(test)]
    fn process_reference(&self, signal: &mut [f32]) {
        let mut x1 = [0.0f32; SECTIONS];
        let mut y1 = [0.0f32; SECTIONS];
        for s in signal.iter_mut() {
            let mut v = *s + ANTI_SUBNORMAL;
            for k in 0..SECTIONS {
                let y = v - self.zeros[k] * x1[k] + self.poles[k] * y1[k];
                (x1[k], y1[k]) = (v, y);
                v = y;
            }
            *s = v * self.gain;
        }
    }
}

/// Tilts `signal` (8 kHz) by `db_per_octave` around 1 kHz in place; a tilt of 0 leaves it
/// unchanged. Cost: eight first-order recursions per sample.
pub(super) fn apply(signal: &mut [f32], db_per_octave: f32) {
    apply_at_rate(signal, db_per_octave, SAMPLE_RATE);
}

/// [`apply`] for audio at `rate_hz` (see [`Tilt::at_rate`]). Cost: eight first-order recursions
/// per sample.
pub(super) fn apply_at_rate(signal: &mut [f32], db_per_octave: f32, rate_hz: f32) {
    if db_per_octave != 0.0 {
        Tilt::at_rate(db_per_octave, rate_hz).process(signal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::test_signals::{level_db, sine};

    #[test]
    fn response_slopes_by_the_tilt_per_octave() {
        for tilt in [-6.0, -3.0, -1.0, 2.0, 4.5] {
            let filter = Tilt::new(tilt);
            assert!(filter.gain_db(PIVOT_HZ).abs() < 1e-3);
            for hz in [62.5, 125.0, 250.0, 500.0, 2000.0] {
                let expected = tilt * (hz / PIVOT_HZ).log2();
                let got = filter.gain_db(hz);
                let tolerance = 0.15 * tilt.abs() + 0.02;
                assert!(
                    (got - expected).abs() < tolerance,
                    "tilt {tilt} at {hz} Hz: {got} dB"
                );
            }
            let at_3k = filter.gain_db(3000.0) * tilt.signum();
            assert!(
                at_3k > 0.0 && at_3k < tilt.abs() * 1.6,
                "tilt {tilt}: {at_3k} dB at 3 kHz"
            );
        }
    }

    #[test]
    fn positive_tilt_raises_highs_against_lows() {
        let two_sines: Vec<f32> = sine(250.0, 3000.0, 16_000)
            .iter()
            .zip(sine(2000.0, 3000.0, 16_000))
            .map(|(a, b)| a + b)
            .collect();
        for tilt in [3.0, -3.0] {
            let mut signal = two_sines.clone();
            apply(&mut signal, tilt);
            let settled = &signal[4000..];
            let difference = level_db(settled, 2000.0) - level_db(settled, 250.0);
            // Three octaves apart.
            assert!(
                (difference - 3.0 * tilt).abs() < 1.0,
                "tilt {tilt}: {difference} dB"
            );
        }
    }

    #[test]
    fn skewed_sections_match_the_plain_cascade_exactly() {
        let input = crate::augment::test_signals::noise(5000, 11);
        for tilt in [-6.0, -3.0, 0.5, 4.0] {
            let filter = Tilt::new(tilt);
            let (mut fast, mut plain) = (input.clone(), input.clone());
            filter.process(&mut fast);
            filter.process_reference(&mut plain);
            assert_eq!(fast, plain);
        }
        Tilt::new(2.0).process(&mut []);
        let mut one = [100.0];
        Tilt::new(2.0).process(&mut one);
        assert!(one[0].is_finite());
    }

    #[test]
    fn zero_tilt_is_exact_and_extremes_stay_finite() {
        let dry = sine(300.0, 1000.0, 1000);
        let mut signal = dry.clone();
        apply(&mut signal, 0.0);
        assert_eq!(signal, dry);
        for tilt in [f32::NAN, f32::INFINITY, -100.0, 100.0] {
            let mut signal = dry.clone();
            apply(&mut signal, tilt);
            assert!(signal.iter().all(|v| v.is_finite()));
        }
    }
}
