//! Causal per-band normalization: each frequency bin minus a running mean of that bin.
//!
//! A fixed colouring of the sound (a synthesizer's or a microphone's equalization, a room) adds a
//! constant to each bin's log-power code. Subtracting each bin's running mean over time removes
//! such a constant after a few time constants, whatever its shape, while onsets, note changes and
//! vibrato pass. The mean is causal (it sees only past frames), so a streaming device applies it
//! frame by frame with 512 bytes of state and the same bits as the whole-window form.
//!
//! # Arithmetic (bit for bit on every target)
//!
//! Per bin, a mean `m` in Q8 (code × 256, `i32`). On a window's first frame `m = x · 256`; on
//! every frame the output is `clamp(x − ((m + 128) >> 8), −128, 127)` (the mean rounded half up),
//! then `m += (x · 256 − m) >> shift` (arithmetic shift: floor). The time constant is `2^shift`
//! frames (16 ms each): `shift` 6 forgets with a constant of about one second.

use super::window::FeaturePlane;
use super::{BINS, Frame};

/// The smallest accepted `shift` (a mean over about 2 frames).
pub const MIN_SHIFT: u8 = 1;
/// The largest accepted `shift` (a constant of 4,096 frames, 65 s: in effect the first frame).
pub const MAX_SHIFT: u8 = 12;

/// Fractional bits of the running means.
const MEAN_FRACTION_BITS: u32 = 8;

/// The running state of one window: one Q8 mean per bin. 516 bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BandNormalizer {
    shift: u8,
    means: [i32; BINS],
    primed: bool,
}

impl BandNormalizer {
    /// A normalizer whose means forget with a constant of `2^shift` frames; `shift` outside
    /// [`MIN_SHIFT`]`..=`[`MAX_SHIFT`] gives `None`. Cost: nothing.
    #[must_use]
    pub const fn new(shift: u8) -> Option<Self> {
        if shift < MIN_SHIFT || shift > MAX_SHIFT {
            return None;
        }
        Some(Self {
            shift,
            means: [0; BINS],
            primed: false,
        })
    }

    /// The time-constant exponent this normalizer was made with.
    #[must_use]
    pub const fn shift(&self) -> u8 {
        self.shift
    }

    /// Forgets the means: the next frame starts a new window. Cost: nothing.
    pub fn reset(&mut self) {
        self.primed = false;
    }

    /// Normalizes one frame in place and updates the means. Cost: 128 subtractions and shifts.
    pub fn apply(&mut self, frame: &mut Frame) {
        let primed = self.primed;
        for (code, mean) in frame.iter_mut().zip(self.means.iter_mut()) {
            // Codes are within ±128, so every Q8 value is within ±2^15: no operation below can
            // overflow, and the wrapping forms are the exact ones (and panic-free).
            let scaled = i32::from(*code).wrapping_shl(MEAN_FRACTION_BITS);
            if !primed {
                *mean = scaled;
            }
            let rounded = mean
                .wrapping_add(1 << (MEAN_FRACTION_BITS - 1))
                .wrapping_shr(MEAN_FRACTION_BITS);
            *code = clamp_to_i8(i32::from(*code).wrapping_sub(rounded));
            *mean = mean.wrapping_add(
                scaled
                    .wrapping_sub(*mean)
                    .wrapping_shr(u32::from(self.shift)),
            );
        }
        self.primed = true;
    }
}

/// Normalizes a whole window in place, frame by frame from the first: the same bits as a fresh
/// [`BandNormalizer`] fed the plane's columns in order. Cost: 312 × [`BandNormalizer::apply`].
pub fn normalize_plane(plane: &mut FeaturePlane, normalizer: &mut BandNormalizer) {
    normalizer.reset();
    let frames = plane.first().map_or(0, |row| row.len());
    let mut frame: Frame = [0; BINS];
    for t in 0..frames {
        for (code, row) in frame.iter_mut().zip(plane.iter()) {
            *code = row.get(t).copied().unwrap_or(0);
        }
        normalizer.apply(&mut frame);
        for (code, row) in frame.iter().zip(plane.iter_mut()) {
            if let Some(cell) = row.get_mut(t) {
                *cell = *code;
            }
        }
    }
}

fn clamp_to_i8(value: i32) -> i8 {
    // Clamped into i8's range, so the conversion cannot fail.
    i8::try_from(value.clamp(i32::from(i8::MIN), i32::from(i8::MAX))).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::super::WINDOW_FRAMES;
    use super::*;
    use std::boxed::Box;

    fn plane_of(code: impl Fn(usize, usize) -> i8) -> Box<FeaturePlane> {
        let mut plane: Box<FeaturePlane> = Box::new([[0; WINDOW_FRAMES]; BINS]);
        for (bin, row) in plane.iter_mut().enumerate() {
            for (t, cell) in row.iter_mut().enumerate() {
                *cell = code(bin, t);
            }
        }
        plane
    }

    #[test]
    fn shifts_outside_the_limits_are_refused() {
        assert!(BandNormalizer::new(0).is_none());
        assert!(BandNormalizer::new(MAX_SHIFT + 1).is_none());
        assert_eq!(BandNormalizer::new(6).map(|n| n.shift()), Some(6));
    }

    #[test]
    fn a_constant_colouring_is_removed_exactly() {
        // Any per-bin constant is the same plane after normalization: a constant is its own mean.
        let mut flat = plane_of(|bin, _| (bin as i32 - 64) as i8);
        let mut normalizer = BandNormalizer::new(6).unwrap();
        normalize_plane(&mut flat, &mut normalizer);
        assert!(flat.as_flattened().iter().all(|&c| c == 0));

        // A note (bins 20..30, frames 100..140) over two different colourings gives one output.
        let note = |bin: usize, t: usize| (20..30).contains(&bin) && (100..140).contains(&t);
        let coloured = |gain: i32| {
            plane_of(move |bin, t| {
                let colour = gain * (bin as i32 % 7) - 40;
                (colour + if note(bin, t) { 30 } else { 0 }) as i8
            })
        };
        let (mut a, mut b) = (coloured(3), coloured(-4));
        normalize_plane(&mut a, &mut normalizer);
        normalize_plane(&mut b, &mut normalizer);
        assert_eq!(a, b);
        assert_eq!(a[25][100], 30, "the onset passes whole");
        assert!(
            a[25][139] < 30 && a[25][139] > 0,
            "a held note fades: {}",
            a[25][139]
        );
        assert!(a[25][140] < 0, "its end shows as a dip");
        assert_eq!(a[5][200], 0);
    }

    #[test]
    fn the_running_mean_follows_the_written_arithmetic() {
        // A step from 0 to 64 at frame 1 with shift 1: means (Q8) 0, 8192, 12288, ...
        let mut normalizer = BandNormalizer::new(1).unwrap();
        let outputs: std::vec::Vec<i8> = [0_i8, 64, 64, 64, -128]
            .iter()
            .map(|&x| {
                let mut frame = [x; BINS];
                normalizer.apply(&mut frame);
                frame[0]
            })
            .collect();
        // 64 − 0; 64 − 32; 64 − 48; then −128 − 56 saturates.
        assert_eq!(outputs, [0, 64, 32, 16, -128]);
    }

    #[test]
    fn streaming_frames_equal_the_whole_plane() {
        let original = plane_of(|bin, t| ((bin * 31 + t * 17) % 255) as i8);
        let mut whole = original.clone();
        let mut normalizer = BandNormalizer::new(5).unwrap();
        normalize_plane(&mut whole, &mut normalizer);
        let mut streaming = BandNormalizer::new(5).unwrap();
        for t in 0..WINDOW_FRAMES {
            let mut frame: Frame = core::array::from_fn(|bin| original[bin][t]);
            streaming.apply(&mut frame);
            assert!(
                (0..BINS).all(|bin| frame[bin] == whole[bin][t]),
                "frame {t}"
            );
        }
    }
}
