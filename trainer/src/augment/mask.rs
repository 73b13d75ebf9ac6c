//! The feature masks: frequency bands and time spans of one window's 128 × 312 feature plane
//! overwritten with the plane's mean code (SpecAugment's masking, where the masked value is the
//! mean of the normalized input). The masks are drawn with the audio stages
//! ([`MasksApplied`], from the window's one seed) and applied by the sampler after the front end.

use super::draw::MasksApplied;
use core_nostd::frontend::{BINS, FeaturePlane, WINDOW_FRAMES};

/// Overwrites the bins and frames named by `masks` with the mean of `plane`'s codes (taken
/// before any masking, rounded to the nearest integer, ties away from zero). Masks that reach
/// past the plane are cut at its edge. Cost: one pass over the plane for the mean, plus the
/// masked cells.
pub fn mask_features(plane: &mut FeaturePlane, masks: &MasksApplied) {
    if masks.bands.iter().chain(&masks.spans).all(|m| m.len == 0) {
        return;
    }
    let fill = mean_code(plane);
    for band in &masks.bands {
        let (first, end) = clipped(band.first, band.len, plane.len());
        for row in &mut plane[first..end] {
            row.fill(fill);
        }
    }
    for span in &masks.spans {
        for row in plane.iter_mut() {
            let (first, end) = clipped(span.first, span.len, row.len());
            row[first..end].fill(fill);
        }
    }
}

/// `first .. first + len` held inside `0 .. extent`.
fn clipped(first: u16, len: u16, extent: usize) -> (usize, usize) {
    let first = usize::from(first).min(extent);
    (first, (first + usize::from(len)).min(extent))
}

/// The mean code of the plane, rounded half away from zero.
fn mean_code(plane: &FeaturePlane) -> i8 {
    const CELLS: i64 = (BINS * WINDOW_FRAMES) as i64;
    let sum: i64 = plane.as_flattened().iter().map(|&c| i64::from(c)).sum();
    let rounded = (2 * sum + sum.signum() * CELLS) / (2 * CELLS);
    // A mean of i8 codes is an i8; the clamp only spares a fallible conversion.
    rounded.clamp(i8::MIN.into(), i8::MAX.into()) as i8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::MaskApplied;

    fn plane_of(code: impl Fn(usize, usize) -> i8) -> Box<FeaturePlane> {
        let mut plane = Box::new([[0_i8; WINDOW_FRAMES]; BINS]);
        for (bin, row) in plane.iter_mut().enumerate() {
            for (frame, cell) in row.iter_mut().enumerate() {
                *cell = code(bin, frame);
            }
        }
        plane
    }

    #[test]
    fn masks_fill_exactly_their_cells_with_the_mean_and_leave_the_rest() {
        // Half the bins at -100, half at 50: mean -25.
        let original = plane_of(|bin, _| if bin < 64 { -100 } else { 50 });
        let mut plane = original.clone();
        let masks = MasksApplied {
            bands: vec![MaskApplied { first: 10, len: 5 }],
            spans: vec![MaskApplied {
                first: 300,
                len: 40,
            }],
        };
        mask_features(&mut plane, &masks);
        for bin in 0..BINS {
            for frame in 0..WINDOW_FRAMES {
                let masked = (10..15).contains(&bin) || frame >= 300;
                let want = if masked { -25 } else { original[bin][frame] };
                assert_eq!(plane[bin][frame], want, "bin {bin} frame {frame}");
            }
        }
    }

    #[test]
    fn empty_masks_change_nothing_and_the_mean_rounds_half_away_from_zero() {
        let original = plane_of(|bin, frame| ((bin * 7 + frame * 13) % 256) as u8 as i8);
        let mut plane = original.clone();
        let none = MasksApplied {
            bands: vec![MaskApplied { first: 3, len: 0 }],
            spans: Vec::new(),
        };
        mask_features(&mut plane, &none);
        assert_eq!(plane, original);
        // One cell of 3 over otherwise 0 planes rounds to 0; -64 per cell is exact.
        assert_eq!(mean_code(&plane_of(|_, _| -64)), -64);
        assert_eq!(
            mean_code(&plane_of(|b, f| if b == 0 && f == 0 { 3 } else { 0 })),
            0
        );
        // Half the cells at 1, half at 0: mean 0.5 rounds to 1; mirrored, -0.5 to -1.
        assert_eq!(mean_code(&plane_of(|b, _| i8::from(b < 64))), 1);
        assert_eq!(mean_code(&plane_of(|b, _| -i8::from(b < 64))), -1);
    }
}
