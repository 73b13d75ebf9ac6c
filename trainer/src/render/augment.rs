//! Seeded per-piece choices: the split of pieces without `split.csv`, the SoundFont drawn in
//! `draw` mode, the tempo factor and the velocity offsets (the per-part choices are in
//! [`super::timbre`]).
//!
//! Every choice draws from its own ChaCha8 stream, derived from (run seed, [`Purpose::Render`],
//! piece id, [`Stream`]) by [`crate::seed::rng_for`]. A piece's choices therefore depend only on
//! the seed and its id: not on thread count, on the order pieces are rendered in, on `--limit`,
//! or on which other options are set.

use crate::seed::{Purpose, rng_for};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// What a random stream of a piece is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    /// Train or test, for pieces without a `split.csv` row (by source piece).
    Split = 0,
    /// The SoundFont of `draw` mode (by source piece).
    SoundFont = 1,
    /// The tempo factor (by rendered piece).
    Tempo = 2,
    /// Velocity offsets, one per note (by rendered piece).
    Velocity = 3,
    /// Part swaps: the program each part sounds with (by rendered piece).
    PartProgram = 4,
    /// Part balance: one velocity offset per part (by rendered piece).
    PartVelocity = 5,
    /// Part colouring: one tilt, equalizer and gain per part (by rendered piece).
    PartColor = 6,
}

/// The generator of `stream` for piece `id` under `seed`. Cost: one ChaCha8 key setup.
#[must_use]
pub fn piece_rng(seed: u64, id: u32, stream: Stream) -> ChaCha8Rng {
    rng_for(seed, Purpose::Render, (u64::from(id) << 8) | stream as u64)
}

/// Whether piece `id` goes to the test split when `share` of pieces should (Bernoulli per piece,
/// so a piece keeps its split when the set of pieces changes).
#[must_use]
pub fn drawn_to_test(seed: u64, id: u32, share: f64) -> bool {
    let draw: f64 = piece_rng(seed, id, Stream::Split).random();
    draw < share
}

/// The SoundFont index, in `0..count` (`count` > 0), drawn for piece `id`.
#[must_use]
pub fn drawn_soundfont(seed: u64, id: u32, count: usize) -> usize {
    if count <= 1 {
        return 0;
    }
    piece_rng(seed, id, Stream::SoundFont).random_range(0..count)
}

/// Seeded augmentation of one rendered piece.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Jitter {
    /// Largest relative tempo change, in `[0, 0.5]`: the piece plays at a tempo factor drawn
    /// uniformly from `[1 - j, 1 + j]`.
    pub tempo: f64,
    /// Largest velocity change, in MIDI steps: each note's velocity moves by a whole number drawn
    /// uniformly from `-v..=v`, kept within `1..=127`.
    pub velocity: u8,
}

impl Jitter {
    /// The tempo factor of piece `id` (1 without tempo jitter); times are divided by it.
    #[must_use]
    pub fn tempo_factor(&self, seed: u64, id: u32) -> f64 {
        if self.tempo <= 0.0 {
            return 1.0;
        }
        piece_rng(seed, id, Stream::Tempo).random_range(1.0 - self.tempo..=1.0 + self.tempo)
    }

    /// The velocities of `velocities` (in score order) after jitter, for piece `id`. Cost: one
    /// draw per note when jitter is on.
    #[must_use]
    pub fn velocities(&self, seed: u64, id: u32, velocities: &[u8]) -> Vec<u8> {
        if self.velocity == 0 {
            return velocities.to_vec();
        }
        let spread = i16::from(self.velocity);
        let mut rng = piece_rng(seed, id, Stream::Velocity);
        velocities
            .iter()
            .map(|&v| {
                let moved = i16::from(v) + rng.random_range(-spread..=spread);
                // Clamped to 1..=127, so the cast is lossless.
                moved.clamp(1, 127) as u8
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_depend_on_seed_and_id_only() {
        let jitter = Jitter {
            tempo: 0.1,
            velocity: 10,
        };
        let a = jitter.tempo_factor(1, 3000);
        assert_eq!(a, jitter.tempo_factor(1, 3000));
        assert_ne!(a, jitter.tempo_factor(2, 3000));
        assert_ne!(a, jitter.tempo_factor(1, 3001));
        assert!((0.9..=1.1).contains(&a));
        let v = jitter.velocities(1, 3000, &[1, 64, 127, 100]);
        assert_eq!(v, jitter.velocities(1, 3000, &[1, 64, 127, 100]));
        assert!(v.iter().all(|&v| (1..=127).contains(&v)));
    }

    #[test]
    fn no_jitter_changes_nothing() {
        let jitter = Jitter {
            tempo: 0.0,
            velocity: 0,
        };
        assert_eq!(jitter.tempo_factor(5, 1), 1.0);
        assert_eq!(jitter.velocities(5, 1, &[3, 90]), vec![3, 90]);
    }

    #[test]
    fn test_share_is_roughly_honoured() {
        let test = (0..1000).filter(|&id| drawn_to_test(9, id, 0.2)).count();
        assert!((150..250).contains(&test), "{test}");
        assert_eq!((0..50).filter(|&id| drawn_to_test(9, id, 0.0)).count(), 0);
        assert!((0..10).all(|id| drawn_soundfont(9, id, 3) < 3));
    }
}
