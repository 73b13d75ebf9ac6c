//! Random equalizer: a cascade of peaking filters, each raising or lowering the spectrum around a
//! drawn centre frequency, to imitate the body resonances of real instruments and the sample
//! spectra of other synthesizers.
//!
//! Each band is the peaking biquad of R. Bristow-Johnson's *Audio EQ Cookbook* (bilinear
//! transform of `(s^2 + s A/Q + 1) / (s^2 + s/(A Q) + 1)` with `A = 10^(gain/40)`): exactly the
//! drawn gain at the centre frequency, 0 dB at 0 Hz and at the Nyquist frequency, and a dip is
//! the exact inverse of the same peak. Coefficients are designed in f64 and run in f32 at i16
//! scale, in transposed direct form II; the rounding noise stays about 110 dB below the signal
//! even for the narrowest Q at the lowest frequency allowed.
//!
//! Cost: the sections run in groups of four, each group in one pass over the signal, skewed as
//! in `tilt.rs` so that the four recursions of one step are independent and vectorize: about
//! 0.1 ms per 5 s window for one to four bands, twice that for five to eight (one core of a
//! shared AMD EPYC), plus a `sin`, `cos` and `powf` per band for the design.
//!
//! Limitation: like the other filters, the cascade starts from silence at the window's first
//! sample.

use std::f64::consts::PI;

use super::config::{EQ_BANDS_LIMIT, EQ_GAIN_LIMIT_DB, EQ_Q_LIMITS, sanitize};
use super::draw::{EQ_FREQ_RANGE_HZ, EqBandApplied};

/// Sample rate the filters are designed for unless told otherwise ([`apply_at_rate`]).
const SAMPLE_RATE: f64 = 8000.0;
/// Sections run side by side in one pass over the signal.
const LANES: usize = 4;
/// A constant far below one LSB fed into the recursions so that they never decay into subnormal
/// floats (every section passes 0 Hz at 0 dB, so it stays that small).
const ANTI_SUBNORMAL: f32 = 1e-12;

/// One normalized biquad `(b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2)`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Biquad {
    b0: f32,
    b1: f32,
    b2: f32,
    a1: f32,
    a2: f32,
}

impl Biquad {
    /// The section that passes every sample through exactly.
    const IDENTITY: Self = Self {
        b0: 1.0,
        b1: 0.0,
        b2: 0.0,
        a1: 0.0,
        a2: 0.0,
    };

    /// The cookbook peaking filter for `band` at 8 kHz. Cost: that of [`Biquad::peaking_at`].
    #[cfg(test)]
    fn peaking(band: &EqBandApplied) -> Self {
        Self::peaking_at(band, SAMPLE_RATE)
    }

    /// The cookbook peaking filter for `band` at `rate_hz` (8 kHz or more; see
    /// [`apply_at_rate`]), its values held to the equalizer's limits; a gain of 0 dB or any
    /// non-finite value gives [`Biquad::IDENTITY`]. Cost: a `sin`, a `cos` and a `powf`.
    fn peaking_at(band: &EqBandApplied, rate_hz: f64) -> Self {
        let finite = band.freq_hz.is_finite() && band.gain_db.is_finite() && band.q.is_finite();
        if !finite || band.gain_db == 0.0 {
            return Self::IDENTITY;
        }
        let hz = f64::from(band.freq_hz.clamp(EQ_FREQ_RANGE_HZ.0, EQ_FREQ_RANGE_HZ.1));
        let gain_db = f64::from(band.gain_db.clamp(-EQ_GAIN_LIMIT_DB, EQ_GAIN_LIMIT_DB));
        let q = f64::from(band.q.clamp(EQ_Q_LIMITS.0, EQ_Q_LIMITS.1));
        let a = 10f64.powf(gain_db / 40.0);
        let w0 = 2.0 * PI * hz / rate_hz;
        let alpha = w0.sin() / (2.0 * q);
        let cos = w0.cos();
        let a0 = 1.0 + alpha / a;
        Self {
            b0: ((1.0 + alpha * a) / a0) as f32,
            b1: (-2.0 * cos / a0) as f32,
            b2: ((1.0 - alpha * a) / a0) as f32,
            a1: (-2.0 * cos / a0) as f32,
            a2: ((1.0 - alpha / a) / a0) as f32,
        }
    }

    /// Gain in dB at `hz`. Cost: a few `cos`es.
    #[cfg(test)]
    fn gain_db(&self, hz: f64) -> f64 {
        let w = 2.0 * PI * hz / SAMPLE_RATE;
        let squared = |c0: f32, c1: f32, c2: f32| {
            let (c0, c1, c2) = (f64::from(c0), f64::from(c1), f64::from(c2));
            let re = c0 + c1 * w.cos() + c2 * (2.0 * w).cos();
            let im = c1 * w.sin() + c2 * (2.0 * w).sin();
            re * re + im * im
        };
        let ratio = squared(self.b0, self.b1, self.b2) / squared(1.0, self.a1, self.a2);
        10.0 * ratio.log10()
    }
}

/// Four biquads in series, as a structure of arrays so that one step of all four vectorizes
/// (four lanes: more would outrun baseline x86-64's 128-bit vectors, and a fifth band costs a
/// second pass).
#[derive(Clone, Debug)]
struct Group {
    b0: [f32; LANES],
    b1: [f32; LANES],
    b2: [f32; LANES],
    a1: [f32; LANES],
    a2: [f32; LANES],
}

impl Group {
    /// The group of `sections` (at most [`LANES`] are used), padded with identity sections.
    /// Cost: constant.
    fn new(sections: &[Biquad]) -> Self {
        let mut padded = [Biquad::IDENTITY; LANES];
        for (slot, section) in padded.iter_mut().zip(sections) {
            *slot = *section;
        }
        Self {
            b0: padded.map(|s| s.b0),
            b1: padded.map(|s| s.b1),
            b2: padded.map(|s| s.b2),
            a1: padded.map(|s| s.a1),
            a2: padded.map(|s| s.a2),
        }
    }

    /// Filters `signal` in place, from silence. The sections run skewed, section `k` on sample
    /// `n - k` at step `n` (before its first sample it sees zeros, which keep its state at
    /// zero), so that within a step they are independent and their recursions overlap; the
    /// arithmetic is exactly that of running them one after the other. Cost: four biquads per
    /// sample, about 0.1 ms per 5 s window (the recursions' latency bounds it).
    fn process(&self, signal: &mut [f32]) {
        let mut s1 = [0.0f32; LANES];
        let mut s2 = [0.0f32; LANES];
        let mut y = [0.0f32; LANES];
        for n in 0..signal.len() + LANES - 1 {
            let mut x = [0.0f32; LANES];
            x[0] = signal.get(n).map_or(0.0, |s| s + ANTI_SUBNORMAL);
            x[1..].copy_from_slice(&y[..LANES - 1]);
            for k in 0..LANES {
                let out = self.b0[k] * x[k] + s1[k];
                // `b1 x + s2` does not wait for `out`, which keeps the recursion short.
                s1[k] = (self.b1[k] * x[k] + s2[k]) - self.a1[k] * out;
                s2[k] = self.b2[k] * x[k] - self.a2[k] * out;
                y[k] = out;
            }
            let done = n.checked_sub(LANES - 1);
            if let Some(out) = done.and_then(|i| signal.get_mut(i)) {
                *out = y[LANES - 1];
            }
        }
    }

    /// [`Group::process`] written plainly, one sample through all sections at a time: the
    /// reference the skewed version must match bit for bit.
    #[cfg(test)]
    fn process_reference(&self, signal: &mut [f32]) {
        let mut s1 = [0.0f32; LANES];
        let mut s2 = [0.0f32; LANES];
        for s in signal.iter_mut() {
            let mut x = *s + ANTI_SUBNORMAL;
            for k in 0..LANES {
                let out = self.b0[k] * x + s1[k];
                s1[k] = (self.b1[k] * x + s2[k]) - self.a1[k] * out;
                s2[k] = self.b2[k] * x - self.a2[k] * out;
                x = out;
            }
            *s = x;
        }
    }
}

/// The groups that filter like `bands` (the first [`EQ_BANDS_LIMIT`] of them) at 8 kHz. Cost:
/// that of [`groups_at`].
#[cfg(test)]
fn groups(bands: &[EqBandApplied]) -> Vec<Group> {
    groups_at(bands, SAMPLE_RATE)
}

/// The groups that filter like `bands` (the first [`EQ_BANDS_LIMIT`] of them) at `rate_hz`: flat
/// bands (0 dB or any non-finite value) are dropped, the rest go four to a group. Cost: one
/// [`Biquad::peaking_at`] per band.
fn groups_at(bands: &[EqBandApplied], rate_hz: f64) -> Vec<Group> {
    let sections: Vec<Biquad> = bands
        .iter()
        .take(usize::from(EQ_BANDS_LIMIT))
        .map(|band| Biquad::peaking_at(band, rate_hz))
        .filter(|&section| section != Biquad::IDENTITY)
        .collect();
    sections.chunks(LANES).map(Group::new).collect()
}

/// Equalizes `signal` in place with one peaking filter per entry of `bands` (at most
/// [`EQ_BANDS_LIMIT`]; values are held to the equalizer's limits, and non-finite bands are
/// skipped). No bands, or only 0 dB ones, leave `signal` unchanged. Never panics; the output is
/// finite for finite input. Cost: one pass of [`Group::process`] per four bands (about 0.1 ms
/// per 5 s window for one to four bands, 0.2 for five to eight).
pub(super) fn apply(signal: &mut [f32], bands: &[EqBandApplied]) {
    apply_at_rate(signal, bands, SAMPLE_RATE as f32);
}

/// [`apply`] for audio at `rate_hz`: the same bands, designed for that rate (rates under 8 kHz
/// or non-finite count as 8 kHz, so every allowed centre frequency stays under the Nyquist
/// frequency). Cost: one pass per four bands.
pub(super) fn apply_at_rate(signal: &mut [f32], bands: &[EqBandApplied], rate_hz: f32) {
    let lowest = SAMPLE_RATE as f32;
    let rate_hz = sanitize(rate_hz, (lowest, f32::MAX), lowest);
    for group in groups_at(bands, f64::from(rate_hz)) {
        group.process(signal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::test_signals::{level_db, noise, sine};

    fn band(freq_hz: f32, gain_db: f32, q: f32) -> EqBandApplied {
        EqBandApplied {
            freq_hz,
            gain_db,
            q,
        }
    }

    #[test]
    fn peaking_response_has_the_gain_at_the_centre_and_none_at_the_ends() {
        for (hz, gain, q) in [(80.0, 18.0, 8.0), (440.0, -6.0, 0.7), (3500.0, 12.0, 0.3)] {
            let filter = Biquad::peaking(&band(hz, gain, q));
            let centre = filter.gain_db(f64::from(hz));
            assert!(
                (centre - f64::from(gain)).abs() < 0.01,
                "{hz} Hz: {centre} dB"
            );
            assert!(filter.gain_db(0.0).abs() < 0.01, "{hz} Hz at DC");
            assert!(filter.gain_db(4000.0).abs() < 0.01, "{hz} Hz at Nyquist");
        }
        // A dip is the inverse of the peak with the same Q.
        let peak = Biquad::peaking(&band(600.0, 9.0, 1.5));
        let dip = Biquad::peaking(&band(600.0, -9.0, 1.5));
        for hz in [100.0, 300.0, 600.0, 1200.0, 3000.0] {
            assert!((peak.gain_db(hz) + dip.gain_db(hz)).abs() < 0.01, "{hz} Hz");
        }
    }

    #[test]
    fn filtered_sines_change_by_the_response() {
        let bands = [band(300.0, 8.0, 2.0), band(1500.0, -10.0, 1.0)];
        for hz in [100.0, 300.0, 700.0, 1500.0, 3000.0] {
            let mut signal = sine(hz, 1000.0, 16_000);
            apply(&mut signal, &bands);
            let measured = level_db(&signal[4000..], hz) - 60.0;
            let expected = Biquad::peaking(&bands[0]).gain_db(f64::from(hz))
                + Biquad::peaking(&bands[1]).gain_db(f64::from(hz));
            assert!(
                (f64::from(measured) - expected).abs() < 0.1,
                "{hz} Hz: {measured} dB, expected {expected}"
            );
        }
    }

    #[test]
    fn skewed_sections_match_the_plain_cascade_exactly() {
        let input = noise(5000, 17);
        let sets = [
            vec![band(80.0, 18.0, 8.0)],
            vec![
                band(200.0, -6.0, 0.7),
                band(900.0, 4.0, 2.5),
                band(2500.0, 3.0, 1.0),
            ],
            (0..8)
                .map(|k| band(100.0 * (k + 1) as f32, 5.0, 1.0))
                .collect(),
        ];
        for bands in &sets {
            let groups = groups(bands);
            assert_eq!(groups.len(), bands.len().div_ceil(LANES));
            let (mut fast, mut plain) = (input.clone(), input.clone());
            apply(&mut fast, bands);
            for group in &groups {
                group.process_reference(&mut plain);
            }
            assert_eq!(fast, plain);
        }
        let group = &groups(&sets[1])[0];
        group.process(&mut []);
        let mut one = [100.0];
        group.process(&mut one);
        assert!(one[0].is_finite());
    }

    #[test]
    fn rounding_noise_is_far_below_the_signal() {
        // The worst case for a low, narrow band: f32 against the same sections in f64.
        let bands = [
            band(80.0, 18.0, 8.0),
            band(80.0, -18.0, 0.3),
            band(3500.0, 18.0, 8.0),
        ];
        let input: Vec<f32> = noise(40_000, 3).iter().map(|v| v * 10.0).collect();
        let mut fast = input.clone();
        apply(&mut fast, &bands);
        let sections = bands.map(|b| Biquad::peaking(&b));
        let mut state = [[0.0f64; 2]; 3];
        let (mut error, mut power) = (0.0f64, 0.0f64);
        for (&x, &got) in input.iter().zip(&fast) {
            let mut v = f64::from(x);
            for (c, [s1, s2]) in sections.iter().zip(&mut state) {
                let out = f64::from(c.b0) * v + *s1;
                *s1 = f64::from(c.b1) * v - f64::from(c.a1) * out + *s2;
                *s2 = f64::from(c.b2) * v - f64::from(c.a2) * out;
                v = out;
            }
            error += (f64::from(got) - v).powi(2);
            power += v * v;
        }
        let db = 10.0 * (error / power).log10();
        assert!(db < -90.0, "rounding noise at {db} dB");
    }

    #[test]
    fn flat_bands_are_exact_and_extremes_stay_finite() {
        let dry = noise(3000, 5);
        for bands in [
            vec![],
            vec![band(500.0, 0.0, 1.0), band(f32::NAN, 6.0, 1.0)],
        ] {
            let mut signal = dry.clone();
            apply(&mut signal, &bands);
            assert_eq!(signal, dry);
        }
        let odd = [
            band(1e9, 1e9, 0.0),
            band(-5.0, -1e9, 1e9),
            band(80.0, 18.0, 0.3),
            band(80.0, 18.0, 0.3),
        ];
        let mut loud: Vec<f32> = dry.iter().map(|v| v * 32.0).collect();
        let many: Vec<_> = (0..20).map(|_| band(80.0, 18.0, 8.0)).collect();
        for bands in [&odd[..], &many] {
            apply(&mut loud, bands);
            assert!(loud.iter().all(|v| v.is_finite()));
        }
        let mut silence = vec![0.0f32; 4000];
        apply(&mut silence, &odd);
        assert!(silence.iter().all(|v| v.abs() < 1e-6));
    }
}
