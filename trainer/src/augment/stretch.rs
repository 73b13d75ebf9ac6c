//! Pitch-preserving tempo change by WSOLA (waveform-similarity overlap-add; Verhelst and
//! Roelands, 1993).
//!
//! Output frames of [`FRAME`] samples, Hann-windowed, are laid every [`HOP`] samples (the windows
//! sum to one). Frame `k` is centred at output time `k * HOP` and would nominally be cut from
//! input time `k * HOP * speed`; WSOLA shifts the cut by up to ±[`TOLERANCE`] samples to where
//! the input best continues what the previous frame left in the overlap (highest normalized
//! cross-correlation with the previous cut's natural continuation, ties to the nominal position).
//! Waveforms thus join in phase, so pitch and timbre are kept while onsets move by `1 / speed`.
//!
//! Chosen over a phase vocoder because it needs no FFT, keeps transients sharp and is exact
//! for speed 1; the cost is the search, which tries every second shift and then refines: about
//! `(TOLERANCE + 3) * HOP` multiply-adds per output hop, 3.4 M for a 5 s window.

use std::f32::consts::PI;

/// Frame length: 40 ms at 8 kHz, over two periods of the lowest cello string (65 Hz).
pub(super) const FRAME: usize = 320;
/// Output hop: half a frame, where periodic Hann windows sum to exactly one.
pub(super) const HOP: usize = FRAME / 2;
/// Largest shift of a cut from its nominal position: ±10 ms, half a period of 50 Hz.
pub(super) const TOLERANCE: usize = 80;
/// Tempo factors are held to this range inside the stretcher.
const SPEED_RANGE: (f32, f32) = (0.25, 4.0);

/// Input samples that [`stretch`] reads for `out_len` output samples at `speed`; input beyond
/// what the caller has counts as silence. Cost: constant.
pub(super) fn input_len(out_len: usize, speed: f32) -> usize {
    if out_len == 0 {
        return 0;
    }
    let span = (out_len.saturating_add(HOP) as f64 * f64::from(clamp_speed(speed))).ceil();
    (span as usize).saturating_add(FRAME + TOLERANCE)
}

/// `input` played at tempo factor `speed` with its pitch kept, as exactly `out_len` samples.
/// Speed 1 (or a non-finite speed) copies the input, zero-padded. Cost: about
/// `out_len * (TOLERANCE + 3)` multiply-adds and `O(out_len)` memory.
pub(super) fn stretch(input: &[f32], speed: f32, out_len: usize) -> Vec<f32> {
    let speed = clamp_speed(speed);
    if speed == 1.0 || out_len == 0 {
        let mut out: Vec<f32> = input.iter().copied().take(out_len).collect();
        out.resize(out_len, 0.0);
        return out;
    }
    let frames = out_len.div_ceil(HOP) + 1;
    let pad = HOP + TOLERANCE;
    let x = padded(
        input,
        pad,
        input_len(out_len, speed).saturating_add(pad + HOP),
    );
    let energy = prefix_energy(&x);
    let window = hann();
    let mut out = vec![0.0f32; (frames + 1) * HOP];
    let mut previous: Option<usize> = None;
    for k in 0..frames {
        let nominal = (pad - HOP + (k as f64 * HOP as f64 * f64::from(speed)).round() as usize)
            .min(x.len() - FRAME);
        let start = match previous {
            Some(p) => best_start(&x, &energy, p + HOP, nominal),
            None => nominal,
        };
        let target = &mut out[k * HOP..k * HOP + FRAME];
        for ((o, s), w) in target.iter_mut().zip(&x[start..start + FRAME]).zip(&window) {
            *o += s * w;
        }
        previous = Some(start);
    }
    out.drain(..HOP);
    out.truncate(out_len);
    out
}

/// `speed` held to [`SPEED_RANGE`], 1 when not finite.
fn clamp_speed(speed: f32) -> f32 {
    if speed.is_finite() {
        speed.clamp(SPEED_RANGE.0, SPEED_RANGE.1)
    } else {
        1.0
    }
}

/// `pad` zeros, then `input`, then zeros up to `len` in all (input past `len` is dropped).
fn padded(input: &[f32], pad: usize, len: usize) -> Vec<f32> {
    let mut x = vec![0.0f32; len.max(pad + FRAME)];
    let n = input.len().min(x.len() - pad);
    x[pad..pad + n].copy_from_slice(&input[..n]);
    x
}

/// `e[i]` = sum of squares of `x[..i]`, in f64 so that differences of nearby entries are exact
/// enough.
fn prefix_energy(x: &[f32]) -> Vec<f64> {
    let mut e = Vec::with_capacity(x.len() + 1);
    let mut sum = 0.0f64;
    e.push(sum);
    for &v in x {
        sum += f64::from(v) * f64::from(v);
        e.push(sum);
    }
    e
}

/// Periodic Hann window of [`FRAME`] samples.
fn hann() -> [f32; FRAME] {
    std::array::from_fn(|n| 0.5 - 0.5 * (2.0 * PI * n as f32 / FRAME as f32).cos())
}

/// The cut start within ±[`TOLERANCE`] of `nominal` whose first [`HOP`] samples best match the
/// [`HOP`] samples at `natural` (normalized cross-correlation). Searches every second shift,
/// outward from `nominal`, then the two neighbours of the best; ties go to the earlier
/// candidate, so silence keeps the nominal timing.
fn best_start(x: &[f32], energy: &[f64], natural: usize, nominal: usize) -> usize {
    let Some(reference) = x.get(natural..natural + HOP) else {
        return nominal;
    };
    let last = x.len() - FRAME;
    let score = |c: usize| Score::new(dot(&x[c..c + HOP], reference), energy[c + HOP] - energy[c]);
    let mut best = (nominal, score(nominal));
    let coarse = (2..=TOLERANCE)
        .step_by(2)
        .flat_map(|d| [nominal.checked_sub(d), nominal.checked_add(d)])
        .flatten();
    improve(&mut best, coarse.filter(|&c| c <= last), score);
    let centre = best.0;
    let fine = [centre.checked_sub(1), centre.checked_add(1)]
        .into_iter()
        .flatten();
    improve(
        &mut best,
        fine.filter(|&c| c <= last && c.abs_diff(nominal) <= TOLERANCE),
        score,
    );
    best.0
}

/// Replaces `best` by each candidate that strictly beats it, in order.
fn improve(
    best: &mut (usize, Score),
    candidates: impl Iterator<Item = usize>,
    score: impl Fn(usize) -> Score,
) {
    for c in candidates {
        let s = score(c);
        if s.beats(&best.1) {
            *best = (c, s);
        }
    }
}

/// A candidate's normalized cross-correlation `correlation / sqrt(energy)`, kept as its signed
/// square's numerator and denominator so that comparing two needs no division or root.
#[derive(Clone, Copy)]
struct Score {
    signed_square: f64,
    energy: f64,
}

impl Score {
    fn new(correlation: f32, energy: f64) -> Self {
        let c = f64::from(correlation);
        Self {
            signed_square: c * c.abs(),
            energy: energy.max(0.0) + 1.0,
        }
    }

    /// Strictly higher normalized correlation than `other`.
    fn beats(&self, other: &Self) -> bool {
        self.signed_square * other.energy > other.signed_square * self.energy
    }
}

/// Dot product of two equally long slices, with eight partial sums (so that it vectorizes),
/// summed pairwise. Near the limit of baseline x86-64 (two loads per four multiply-adds).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (a8, a_tail) = a.as_chunks::<8>();
    let (b8, b_tail) = b.as_chunks::<8>();
    let mut acc = [0.0f32; 8];
    for (ca, cb) in a8.iter().zip(b8) {
        for i in 0..8 {
            acc[i] += ca[i] * cb[i];
        }
    }
    let tail: f32 = a_tail.iter().zip(b_tail).map(|(x, y)| x * y).sum();
    let half: [f32; 4] = std::array::from_fn(|i| acc[i] + acc[i + 4]);
    (half[0] + half[2]) + (half[1] + half[3]) + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::test_signals::{peak_frequency, sine};

    #[test]
    fn windows_sum_to_one_at_half_overlap() {
        let w = hann();
        for n in 0..HOP {
            assert!((w[n] + w[n + HOP] - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn pitch_is_kept() {
        let input = sine(440.0, 8000.0, 50_000);
        for speed in [0.9, 1.1] {
            let out = stretch(&input, speed, 40_064);
            assert_eq!(out.len(), 40_064);
            let peak = peak_frequency(&out, 300.0, 600.0);
            assert!(
                (peak - 440.0).abs() < 4.4,
                "speed {speed}: peak at {peak} Hz"
            );
        }
    }

    #[test]
    fn steady_sine_keeps_its_level() {
        let input = sine(440.0, 8000.0, 50_000);
        let out = stretch(&input, 0.93, 40_064);
        let max = out[1000..39_000].iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!((max - 8000.0).abs() < 400.0, "peak {max}");
    }

    #[test]
    fn speed_one_and_empty_are_exact() {
        let input: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        assert_eq!(stretch(&input, 1.0, 1200)[..1000], input[..]);
        assert!(stretch(&input, 1.1, 0).is_empty());
        assert_eq!(stretch(&[], 0.9, 500), vec![0.0; 500]);
    }

    #[test]
    fn input_len_covers_what_is_read() {
        assert_eq!(input_len(0, 1.1), 0);
        assert!(input_len(40_064, 1.1) >= 44_070);
        assert!(input_len(40_064, 0.9) < 40_064);
    }
}
