//! The integer front end (core-nostd, f32 FFT, bit-pattern log) against the f64 reference
//! written from the definition, on music, noise, sines, chirps, silence and full-scale input.
//!
//! Measured (2026-11-24, x86_64; the test prints the table): the worst case is 1 LSB from the
//! quantized reference, for every signal. Codes differ at all in 0.005% of music and noise
//! codes and in 2–5% of pure-tone codes: there the bins far from the tone sit 100+ dB below it,
//! where the f32 FFT's rounding noise (about 130 dB below the peak) moves values that lie near a
//! rounding boundary by one step. SNR of the integer features against the unrounded reference
//! (signal: level above the floor in steps; noise: integer minus exact value, so it includes the
//! ±0.5 LSB rounding): 41–66 dB per signal, 52.7 dB pooled. The assertions hold those figures.

use core_nostd::frontend::BINS;
use workspace_tests::frames_of;
use workspace_tests::reference::{ReferenceFrontEnd, quantize};
use workspace_tests::signals::test_signals;

/// Largest allowed |integer − quantized reference|, in feature steps (LSB).
const MAX_LSB_DIFF: i32 = 1;
/// Largest allowed share of codes that differ from the quantized reference at all, per signal.
const MAX_DIFFERING_SHARE: f64 = 0.05;
/// Largest allowed share of differing codes over all signals pooled.
const MAX_DIFFERING_SHARE_POOLED: f64 = 0.01;
/// Largest allowed share of differing codes in music (real recordings).
const MAX_DIFFERING_SHARE_MUSIC: f64 = 0.001;
/// Smallest allowed SNR (dB) of integer vs unrounded reference features, per signal.
const MIN_SNR_DB: f64 = 40.0;
/// Smallest allowed SNR (dB) over all signals pooled.
const MIN_SNR_DB_POOLED: f64 = 50.0;

struct Comparison {
    worst_lsb: i32,
    differing: usize,
    codes: usize,
    signal_energy: f64,
    error_energy: f64,
}

impl Comparison {
    fn snr_db(&self) -> f64 {
        10.0 * (self.signal_energy / self.error_energy.max(f64::MIN_POSITIVE)).log10()
    }
}

fn compare(reference: &ReferenceFrontEnd, samples: &[i16]) -> Comparison {
    let ours = frames_of(samples);
    let exact = reference.frames(samples);
    assert_eq!(ours.len(), exact.len(), "frame counts differ");
    let mut c = Comparison {
        worst_lsb: 0,
        differing: 0,
        codes: 0,
        signal_energy: 0.0,
        error_energy: 0.0,
    };
    for (frame, exact_frame) in ours.iter().zip(&exact) {
        for bin in 0..BINS {
            let code = frame[bin];
            let value = exact_frame[bin].clamp(-128.0, 127.0);
            let diff = (i32::from(code) - i32::from(quantize(value))).abs();
            c.worst_lsb = c.worst_lsb.max(diff);
            c.differing += usize::from(diff != 0);
            c.codes += 1;
            // Energy measured above the floor (code −128 = silence), as a level in steps.
            c.signal_energy += (value + 128.0).powi(2);
            c.error_energy += (f64::from(code) - value).powi(2);
        }
    }
    c
}

#[test]
fn integer_front_end_matches_the_f64_reference() {
    let reference = ReferenceFrontEnd::new();
    let mut total = Comparison {
        worst_lsb: 0,
        differing: 0,
        codes: 0,
        signal_energy: 0.0,
        error_energy: 0.0,
    };
    println!(
        "{:<28} {:>9} {:>10} {:>9}",
        "signal", "worst LSB", "differing", "SNR dB"
    );
    let mut failures = Vec::new();
    for (name, samples) in test_signals() {
        let c = compare(&reference, &samples);
        let share = c.differing as f64 / c.codes as f64;
        println!(
            "{name:<28} {:>9} {:>9.4}% {:>9.1}",
            c.worst_lsb,
            100.0 * share,
            c.snr_db()
        );
        // Silence has no signal energy above the floor; its SNR is meaningless (and its codes
        // must all be exact, which the LSB check covers).
        let snr_applies = c.signal_energy > 0.0;
        let share_limit = if name.starts_with("music") {
            MAX_DIFFERING_SHARE_MUSIC
        } else {
            MAX_DIFFERING_SHARE
        };
        if c.worst_lsb > MAX_LSB_DIFF
            || share > share_limit
            || (snr_applies && c.snr_db() < MIN_SNR_DB)
        {
            failures.push(name);
        }
        total.worst_lsb = total.worst_lsb.max(c.worst_lsb);
        total.differing += c.differing;
        total.codes += c.codes;
        total.signal_energy += c.signal_energy;
        total.error_energy += c.error_energy;
    }
    println!(
        "{:<28} {:>9} {:>9.4}% {:>9.1}",
        "all",
        total.worst_lsb,
        100.0 * total.differing as f64 / total.codes as f64,
        total.snr_db()
    );
    assert!(
        failures.is_empty(),
        "signals outside the stated margins: {failures:?}"
    );
    assert!(total.worst_lsb <= MAX_LSB_DIFF);
    assert!((total.differing as f64 / total.codes as f64) <= MAX_DIFFERING_SHARE_POOLED);
    assert!(
        total.snr_db() >= MIN_SNR_DB_POOLED,
        "pooled SNR {:.1} dB",
        total.snr_db()
    );
}
