//! Frequency-wise MixStyle on a training batch: each example's per-bin statistics swapped
//! towards a random partner's, its notes and their timing kept (see [`MixStyleRange`]).
//!
//! An example's features are `stack × 128 × 312` codes, `[window][bin][frame]`. For every bin
//! `b` the example's mean `μ_b` and standard deviation `σ_b` are taken over all its windows and
//! frames; the codes become `round((x − μ_b) / σ_b · σ'_b + μ'_b)`, saturated to i8, where
//! `μ' = λ μ + (1 − λ) μ_partner` and likewise `σ'`. Within a bin each code moves by the same
//! increasing affine map, so what changes over time (onsets, vibrato, which notes sound) is kept
//! and what sits fixed in a band (a synthesizer's colouring, a sample's level) is mixed.

use super::config::MixStyleRange;
use core_nostd::frontend::{BINS, WINDOW_FRAMES};
use rand::seq::SliceRandom;
use rand::{Rng, RngExt};
use rand_distr::{Beta, Distribution};

/// Added to a bin's variance before its square root, as MixStyle does, so that a constant bin
/// (silence) maps to its mixed mean without dividing by zero.
const VARIANCE_EPSILON: f32 = 1e-6;

/// Mixes the batch `features` (one slice per example, each a whole number of `128 × 312`
/// windows) with chance [`MixStyleRange::held_probability`]: partners are a random permutation
/// of the batch, each example's λ is drawn from Beta(α, α). Returns whether the batch was
/// mixed. Batches of fewer than two examples, or with a slice of another length, are left
/// alone. Draws from `rng` only; the same generator state gives the same result. Cost: two
/// passes over the batch's codes and a few draws per example (6 ms for 16 stacks of 4 windows on
/// one core of dev-2c; `cargo bench -p trainer --bench augment -- MixStyle`).
pub fn mix_band_statistics(
    features: &mut [&mut [i8]],
    range: &MixStyleRange,
    rng: &mut impl Rng,
) -> bool {
    let roll: f32 = rng.random();
    if features.len() < 2 || roll >= range.held_probability() {
        return false;
    }
    let len = features.first().map_or(0, |first| first.len());
    if len == 0
        || !len.is_multiple_of(BINS * WINDOW_FRAMES)
        || features.iter().any(|f| f.len() != len)
    {
        return false;
    }
    let mut partners: Vec<usize> = (0..features.len()).collect();
    partners.shuffle(rng);
    let alpha = range.held_alpha();
    let lambdas: Vec<f32> = match Beta::new(alpha, alpha) {
        Ok(beta) => partners.iter().map(|_| beta.sample(rng)).collect(),
        Err(_) => vec![0.5; partners.len()], // unreachable: alpha is held positive and finite
    };
    mix_with(features, &partners, &lambdas);
    true
}

/// Mean and standard deviation of one example's codes in each bin, over its windows and frames.
pub(crate) fn band_statistics(features: &[i8]) -> [(f32, f32); BINS] {
    let mut sums = [(0.0_f64, 0.0_f64); BINS];
    for window in features.chunks_exact(BINS * WINDOW_FRAMES) {
        for (sum, row) in sums.iter_mut().zip(window.chunks_exact(WINDOW_FRAMES)) {
            for &code in row {
                let x = f64::from(code);
                sum.0 += x;
                sum.1 += x * x;
            }
        }
    }
    let count = (features.len() / BINS) as f64;
    let mut statistics = [(0.0, 0.0); BINS];
    for (out, (sum, square_sum)) in statistics.iter_mut().zip(sums) {
        let mean = sum / count.max(1.0);
        let variance = (square_sum / count.max(1.0) - mean * mean).max(0.0);
        *out = (mean as f32, variance as f32);
    }
    statistics.map(|(mean, variance)| (mean, (variance + VARIANCE_EPSILON).sqrt()))
}

/// Mixes example `i`'s statistics with those of `partners[i]` at weight `lambdas[i]` (1 keeps
/// the example bit for bit, 0 takes the partner's). The statistics are all taken before any
/// example changes. `features` must hold equal whole numbers of windows (checked by the caller).
pub(crate) fn mix_with(features: &mut [&mut [i8]], partners: &[usize], lambdas: &[f32]) {
    let statistics: Vec<[(f32, f32); BINS]> = features.iter().map(|f| band_statistics(f)).collect();
    for (i, example) in features.iter_mut().enumerate() {
        let (Some(&partner), Some(&lambda)) = (partners.get(i), lambdas.get(i)) else {
            continue;
        };
        if lambda >= 1.0 || partner == i {
            continue;
        }
        let (own, theirs) = (&statistics[i], &statistics[partner]);
        let maps: Vec<(f32, f32, f32)> = own
            .iter()
            .zip(theirs)
            .map(|(&(mean, std), &(partner_mean, partner_std))| {
                let mixed_mean = lambda * mean + (1.0 - lambda) * partner_mean;
                let mixed_std = lambda * std + (1.0 - lambda) * partner_std;
                (mean, mixed_std / std, mixed_mean)
            })
            .collect();
        for window in example.chunks_exact_mut(BINS * WINDOW_FRAMES) {
            for (row, &(mean, scale, mixed_mean)) in
                window.chunks_exact_mut(WINDOW_FRAMES).zip(&maps)
            {
                for code in row {
                    let mixed = (f32::from(*code) - mean) * scale + mixed_mean;
                    // Saturating: `as` holds the rounded value to i8's range.
                    *code = mixed.round() as i8;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const PLANE: usize = BINS * WINDOW_FRAMES;

    /// A `stack`-window example whose bin `b` oscillates around `offset + b / 4` with an
    /// amplitude of `1 + b % 7 + spread` codes, differently in every window.
    fn example(stack: usize, offset: i32, spread: i32) -> Vec<i8> {
        let mut codes = Vec::with_capacity(stack * PLANE);
        for window in 0..stack {
            for bin in 0..BINS {
                let amplitude = 1 + (bin % 7) as i32 + spread;
                for frame in 0..WINDOW_FRAMES {
                    let wave = ((frame * 7 + bin * 3 + window * 11) % 17) as i32 - 8;
                    let code = offset + bin as i32 / 4 + wave * amplitude / 8;
                    codes.push(code.clamp(-128, 127) as i8);
                }
            }
        }
        codes
    }

    fn batch(examples: &mut [Vec<i8>]) -> Vec<&mut [i8]> {
        examples.iter_mut().map(Vec::as_mut_slice).collect()
    }

    #[test]
    fn lambda_one_keeps_the_example_bit_for_bit() {
        let original = vec![example(2, -40, 0), example(2, 30, 9)];
        let mut mixed = original.clone();
        mix_with(&mut batch(&mut mixed), &[1, 0], &[1.0, 1.0]);
        assert_eq!(mixed, original);
        mix_with(&mut batch(&mut mixed), &[0, 1], &[0.3, 0.7]);
        assert_eq!(
            mixed, original,
            "an example that is its own partner is unchanged"
        );
    }

    #[test]
    fn lambda_zero_takes_the_partners_statistics_and_keeps_the_shape() {
        let original = vec![example(4, -40, 0), example(4, 30, 9)];
        let mut mixed = original.clone();
        mix_with(&mut batch(&mut mixed), &[1, 0], &[0.0, 0.0]);
        for (i, partner) in [(0, 1), (1, 0)] {
            let got = band_statistics(&mixed[i]);
            let wanted = band_statistics(&original[partner]);
            for bin in 0..BINS {
                assert!(
                    (got[bin].0 - wanted[bin].0).abs() < 0.5
                        && (got[bin].1 - wanted[bin].1).abs() < 0.5,
                    "example {i} bin {bin}: {:?}, partner's {:?}",
                    got[bin],
                    wanted[bin]
                );
            }
            // Within a bin the codes keep their order over time: the map is increasing.
            for (old, new) in original[i]
                .chunks(WINDOW_FRAMES)
                .zip(mixed[i].chunks(WINDOW_FRAMES))
            {
                for a in 0..WINDOW_FRAMES {
                    for b in 0..WINDOW_FRAMES {
                        if old[a] < old[b] {
                            assert!(new[a] <= new[b], "order kept within a bin");
                        }
                    }
                }
            }
        }
        assert_ne!(
            band_statistics(&mixed[0])[5],
            band_statistics(&original[0])[5]
        );
    }

    #[test]
    fn half_mixes_land_between_the_two() {
        let original = vec![example(1, -40, 0), example(1, 30, 9)];
        let mut mixed = original.clone();
        mix_with(&mut batch(&mut mixed), &[1, 0], &[0.5, 0.5]);
        let (a, b, m) = (
            band_statistics(&original[0]),
            band_statistics(&original[1]),
            band_statistics(&mixed[0]),
        );
        for bin in 0..BINS {
            let (mean, std) = ((a[bin].0 + b[bin].0) / 2.0, (a[bin].1 + b[bin].1) / 2.0);
            assert!((m[bin].0 - mean).abs() < 0.5 && (m[bin].1 - std).abs() < 0.5);
        }
    }

    #[test]
    fn silence_and_saturation_stay_in_range() {
        let mut examples = vec![
            vec![i8::MIN; PLANE],
            vec![i8::MAX; PLANE],
            example(1, 120, 40),
        ];
        mix_with(&mut batch(&mut examples), &[1, 2, 0], &[0.0, 0.0, 0.0]);
        assert!(
            examples[0].iter().all(|&c| c == i8::MAX),
            "a silent example takes the loud mean"
        );
        // Example 2 takes example 0's constant floor: every code at the floor.
        assert!(examples[2].iter().all(|&c| c == i8::MIN));
    }

    #[test]
    fn batches_are_mixed_at_the_configured_rate_reproducibly() {
        let original = vec![example(1, -40, 0), example(1, 30, 9), example(1, 0, 3)];
        let run = |probability: f32, seed: u64| {
            let range = MixStyleRange {
                probability,
                alpha: 0.3,
            };
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut examples = original.clone();
            let applied = mix_band_statistics(&mut batch(&mut examples), &range, &mut rng);
            (applied, examples)
        };
        assert!(run(0.4, 3) == run(0.4, 3), "seeded");
        let mixed = (0..400).filter(|&seed| run(0.4, seed).0).count();
        assert!(
            (130..=190).contains(&mixed),
            "{mixed} of 400 batches mixed at p = 0.4"
        );
        let mut changed = 0;
        for seed in 0..20 {
            assert!(
                run(0.0, seed) == (false, original.clone()),
                "p = 0 never mixes"
            );
            let (applied, examples) = run(1.0, seed);
            assert!(applied, "p = 1 always mixes");
            changed += usize::from(examples != original);
        }
        // Not all 20: a permutation may pair every example with itself, and Beta(0.3, 0.3)
        // draws many λ so near 1 that no code moves.
        assert!(changed >= 10, "only {changed} of 20 mixed batches changed");
    }

    #[test]
    fn odd_batches_are_left_alone() {
        let range = MixStyleRange {
            probability: 1.0,
            alpha: 0.3,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut one = vec![example(1, 0, 3)];
        assert!(!mix_band_statistics(&mut batch(&mut one), &range, &mut rng));
        let mut ragged = vec![example(1, 0, 3), example(2, 0, 3)];
        let before = ragged.clone();
        assert!(!mix_band_statistics(
            &mut batch(&mut ragged),
            &range,
            &mut rng
        ));
        assert_eq!(ragged, before);
        let mut short = vec![vec![0_i8; 10], vec![1_i8; 10]];
        assert!(!mix_band_statistics(
            &mut batch(&mut short),
            &range,
            &mut rng
        ));
    }
}
