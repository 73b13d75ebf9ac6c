//! A fixed colouring of one sound source: a spectral tilt, a random equalizer and a gain, drawn
//! once and applied to the whole source at any sample rate of 8 kHz or more.
//!
//! `trainer render --part-eq/--part-tilt/--part-gain` gives every part (all notes of one sounding program) of a piece
//! its own colouring before the parts are mixed, so that each instrument sounds as if it came
//! from another sample set and sits at another level, while the window augmentation
//! ([`augment`](super::augment)) colours whole mixes. Both use the same filters
//! (`tilt.rs`, `eq.rs`).

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::config::{EqRange, GAIN_DB_LIMITS, sanitize_range};
use super::draw::{EqBandApplied, draw_eq, draw_tilt, uniform};
use super::{apply_gain, eq, tilt};

/// The ranges a [`Coloring`] is drawn from; [`Default`] draws the identity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ColoringRange {
    /// Largest tilt in dB per octave around 1 kHz (drawn uniformly in ±this; held to
    /// ±[`TILT_LIMIT_DB_PER_OCTAVE`](super::TILT_LIMIT_DB_PER_OCTAVE)).
    pub tilt_db_per_octave: f32,
    /// The equalizer's bands, gains and Q factors; `None` for no equalizer.
    pub eq: Option<EqRange>,
    /// Largest gain change in dB (drawn uniformly in ±this; held to [`GAIN_DB_LIMITS`]).
    pub gain_db: f32,
}

/// One drawn colouring.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Coloring {
    /// Tilt in dB per octave around 1 kHz.
    pub tilt_db_per_octave: f32,
    /// Peaking bands, applied after the tilt.
    pub eq: Vec<EqBandApplied>,
    /// Gain in dB, applied last.
    pub gain_db: f32,
}

impl Coloring {
    /// Draws a colouring from `range` with `rng`: the tilt, then the equalizer's bands, then the
    /// gain (always three or more draws, so a range of zero width still advances `rng` the same
    /// way). Cost: a few `next_u32`s per band.
    pub fn draw(range: &ColoringRange, rng: &mut impl Rng) -> Self {
        let tilt_db_per_octave = draw_tilt(range.tilt_db_per_octave, rng);
        let eq = range.eq.map(|r| draw_eq(&r, rng)).unwrap_or_default();
        let gain = range.gain_db.abs();
        let gain = sanitize_range((-gain, gain), GAIN_DB_LIMITS, 0.0);
        let gain_db = uniform(rng, gain);
        Self {
            tilt_db_per_octave,
            eq,
            gain_db,
        }
    }

    /// Whether applying this changes nothing.
    pub fn is_identity(&self) -> bool {
        self.tilt_db_per_octave == 0.0
            && self.gain_db == 0.0
            && self.eq.iter().all(|band| band.gain_db == 0.0)
    }

    /// Colours `signal` (audio at `rate_hz`, 8 kHz or more; any scale) in place, from silence:
    /// tilt, equalizer, gain. Never panics; finite input gives finite output. Cost: eight
    /// first-order and one biquad recursion per band per sample (about 0.2 µs per sample).
    pub fn apply(&self, signal: &mut [f32], rate_hz: f32) {
        tilt::apply_at_rate(signal, self.tilt_db_per_octave, rate_hz);
        eq::apply_at_rate(signal, &self.eq, rate_hz);
        if self.gain_db != 0.0 {
            apply_gain(signal, self.gain_db);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::test_signals::rms;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const RATE: f32 = 44_100.0;

    fn sine_at(hz: f32, rate: f32, len: usize) -> Vec<f32> {
        (0..len)
            .map(|n| 1000.0 * (2.0 * std::f32::consts::PI * hz * n as f32 / rate).sin())
            .collect()
    }

    /// Level change in dB that `coloring` gives a sine at `hz` sampled at `rate` (the first
    /// half second skipped, the filters' start).
    fn change_db(coloring: &Coloring, hz: f32, rate: f32) -> f32 {
        let dry = sine_at(hz, rate, rate as usize * 2);
        let mut wet = dry.clone();
        coloring.apply(&mut wet, rate);
        let skip = rate as usize / 2;
        20.0 * (rms(&wet[skip..]) / rms(&dry[skip..])).log10()
    }

    #[test]
    fn the_same_coloring_acts_alike_at_8_and_44_1_khz() {
        let coloring = Coloring {
            tilt_db_per_octave: 2.0,
            eq: vec![EqBandApplied {
                freq_hz: 500.0,
                gain_db: -6.0,
                q: 1.0,
            }],
            gain_db: 3.0,
        };
        for hz in [125.0, 500.0, 1000.0, 2000.0] {
            let low = change_db(&coloring, hz, 8000.0);
            let high = change_db(&coloring, hz, RATE);
            assert!(
                (low - high).abs() < 0.3,
                "{hz} Hz: {low} dB at 8 kHz, {high} at 44.1"
            );
        }
        // 1 kHz: the tilt's pivot, a little of the band's skirt, and the gain.
        let at_1k = change_db(&coloring, 1000.0, RATE);
        assert!((at_1k - 3.0).abs() < 2.0, "{at_1k}");
        // 500 Hz: the band's −6 dB, the tilt's −2 dB and the gain's +3 dB.
        let at_500 = change_db(&coloring, 500.0, RATE);
        assert!((at_500 - (-5.0)).abs() < 0.5, "{at_500}");
    }

    #[test]
    fn draws_stay_in_range_reproduce_and_default_is_identity() {
        let range = ColoringRange {
            tilt_db_per_octave: 2.0,
            eq: Some(EqRange {
                bands: (1, 3),
                gain_db: 6.0,
                q: (0.7, 2.0),
            }),
            gain_db: 6.0,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let drawn: Vec<Coloring> = (0..200).map(|_| Coloring::draw(&range, &mut rng)).collect();
        for c in &drawn {
            assert!(
                c.tilt_db_per_octave.abs() <= 2.0 && c.gain_db.abs() <= 6.0,
                "{c:?}"
            );
            assert!((1..=3).contains(&c.eq.len()), "{c:?}");
            assert!(
                c.eq.iter()
                    .all(|b| b.gain_db.abs() <= 6.0 && (0.7..=2.0).contains(&b.q))
            );
        }
        assert!(drawn.iter().any(|c| c.gain_db > 4.0) && drawn.iter().any(|c| c.gain_db < -4.0));
        let again = Coloring::draw(&range, &mut ChaCha8Rng::seed_from_u64(5));
        assert_eq!(again, drawn[0]);
        let none = Coloring::draw(&ColoringRange::default(), &mut ChaCha8Rng::seed_from_u64(5));
        assert!(none.is_identity(), "{none:?}");
        let mut signal = sine_at(440.0, RATE, 1000);
        let before = signal.clone();
        none.apply(&mut signal, RATE);
        assert_eq!(signal, before);
    }

    #[test]
    fn odd_rates_and_values_never_panic_or_go_non_finite() {
        let coloring = Coloring {
            tilt_db_per_octave: f32::NAN,
            eq: vec![EqBandApplied {
                freq_hz: f32::INFINITY,
                gain_db: 40.0,
                q: 0.0,
            }],
            gain_db: 0.0,
        };
        for rate in [0.0, -5.0, f32::NAN, 8000.0, 192_000.0] {
            let mut signal = sine_at(300.0, 8000.0, 4000);
            coloring.apply(&mut signal, rate);
            assert!(signal.iter().all(|s| s.is_finite()), "rate {rate}");
        }
    }
}
