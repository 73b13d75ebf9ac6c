//! Generates the constant tables of the front end (`$OUT_DIR/frontend_tables.rs`).
//!
//! The tables are computed in f64 with the pure-Rust `libm` crate (the same code on every
//! build host) and stored as f32 bit patterns, so the numbers the firmware and the host use
//! never depend on the machine that compiled them.

use std::fmt::Write as _;
use std::{env, fs, path::PathBuf};

/// Samples per analysis frame; must match `frontend::FRAME_LEN`.
const FRAME_LEN: usize = 256;
/// Quantizer steps per doubling of power; must match `frontend::STEPS_PER_OCTAVE`.
const STEPS_PER_OCTAVE: i32 = 6;
/// Number of decision thresholds of the full log quantizer (q_raw = 0..=255).
const THRESHOLDS: i32 = 255;

/// The smallest f32 that is >= `x` (x is positive and finite here).
fn f32_at_or_above(x: f64) -> f32 {
    let nearest = x as f32;
    if f64::from(nearest) < x {
        nearest.next_up()
    } else {
        nearest
    }
}

/// `2^((k - 0.5) / STEPS_PER_OCTAVE)`: where round(STEPS_PER_OCTAVE * log2(x)) steps from k-1 to k.
fn threshold(k: i32) -> f64 {
    libm::exp2((f64::from(k) - 0.5) / f64::from(STEPS_PER_OCTAVE))
}

fn main() {
    let mut out = String::new();

    // Periodic Hann window, w[n] = sin^2(pi n / N), rounded to nearest f32.
    writeln!(
        out,
        "/// Periodic Hann window, w[n] = sin²(πn/{FRAME_LEN}), f32 bit patterns."
    )
    .unwrap();
    writeln!(out, "pub(crate) static HANN: [f32; {FRAME_LEN}] = [").unwrap();
    for n in 0..FRAME_LEN {
        let s = libm::sin(core::f64::consts::PI * n as f64 / FRAME_LEN as f64);
        let w = (s * s) as f32;
        writeln!(out, "    f32::from_bits(0x{:08x}), // {w:e}", w.to_bits()).unwrap();
    }
    writeln!(out, "];").unwrap();

    // Mantissa bits of the thresholds inside one octave [1, 2).
    writeln!(out, "/// Mantissa bits of the smallest f32 >= 2^((j+0.5)/{STEPS_PER_OCTAVE}), j = 0..{STEPS_PER_OCTAVE}.").unwrap();
    writeln!(
        out,
        "pub(crate) const OCTAVE_THRESHOLD_MANTISSAS: [u32; {STEPS_PER_OCTAVE}] = ["
    )
    .unwrap();
    for j in 1..=STEPS_PER_OCTAVE {
        let t = f32_at_or_above(threshold(j));
        assert_eq!(
            t.to_bits() >> 23,
            127,
            "in-octave threshold must lie in [1, 2)"
        );
        writeln!(out, "    0x{:06x}, // {t:e}", t.to_bits() & 0x7f_ffff).unwrap();
    }
    writeln!(out, "];").unwrap();

    // The full threshold list, computed independently, for the reference quantizer.
    writeln!(
        out,
        "/// The smallest f32 >= 2^((k-0.5)/{STEPS_PER_OCTAVE}) for k = 1..={THRESHOLDS}."
    )
    .unwrap();
    writeln!(
        out,
        "pub(crate) static LOG_THRESHOLDS: [f32; {THRESHOLDS}] = ["
    )
    .unwrap();
    for k in 1..=THRESHOLDS {
        let t = f32_at_or_above(threshold(k));
        writeln!(out, "    f32::from_bits(0x{:08x}), // {t:e}", t.to_bits()).unwrap();
    }
    writeln!(out, "];").unwrap();

    let path = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("frontend_tables.rs");
    fs::write(path, out).unwrap();
    println!("cargo:rerun-if-changed=build.rs");
}
