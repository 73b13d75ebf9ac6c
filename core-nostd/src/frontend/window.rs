//! Whole-window API: all frames of a slice of samples into a caller's frequency × time plane.

use super::frame::compute_frame;
use super::{BINS, FRAME_LEN, Frame, HOP_LEN, WINDOW_FRAMES, WINDOW_SAMPLES, frame_count};

/// One model input window: `plane[bin][frame]`, 128 rows of frequency × 312 columns of time
/// (the reference CNN's (H, W) layout). 39,936 bytes.
pub type FeaturePlane = [[i8; WINDOW_FRAMES]; BINS];

/// Why [`feature_plane`] refused its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaneError {
    /// The output slice cannot hold `BINS × frame_count(samples)` features.
    OutputTooSmall {
        /// Bytes the plane needs.
        needed: usize,
        /// Bytes the caller provided.
        provided: usize,
    },
}

impl core::fmt::Display for PlaneError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::OutputTooSmall { needed, provided } => {
                write!(
                    f,
                    "feature plane needs {needed} bytes, buffer has {provided}"
                )
            }
        }
    }
}

/// Computes the features of one standard window (40,064 samples → 312 frames) into `plane`.
///
/// Cost: 312 frames of [`compute_frame`]; no error is possible because the sizes are types.
pub fn window_features(samples: &[i16; WINDOW_SAMPLES], plane: &mut FeaturePlane) {
    let mut frame = [0_i8; BINS];
    for (t, frame_samples) in frames_of(samples).enumerate() {
        compute_frame(frame_samples, &mut frame);
        for (row, &code) in plane.iter_mut().zip(&frame) {
            if let Some(cell) = row.get_mut(t) {
                *cell = code;
            }
        }
    }
}

/// Computes all complete frames of `samples` into `plane`, laid out bin-major:
/// `plane[bin * frames + t]`, where `frames = frame_count(samples.len())`, which is returned.
///
/// Any length is valid (fewer than 256 samples give 0 frames; trailing samples that do not fill
/// a frame are ignored). Returns [`PlaneError::OutputTooSmall`] if `plane` is shorter than
/// `BINS × frames`; extra space is left untouched. Cost: one [`compute_frame`] per frame.
pub fn feature_plane(samples: &[i16], plane: &mut [i8]) -> Result<usize, PlaneError> {
    let frames = frame_count(samples.len());
    let needed = frames.saturating_mul(BINS);
    if plane.len() < needed {
        return Err(PlaneError::OutputTooSmall {
            needed,
            provided: plane.len(),
        });
    }
    let mut frame = [0_i8; BINS];
    for (t, frame_samples) in frames_of(samples).enumerate() {
        compute_frame(frame_samples, &mut frame);
        for (row, &code) in plane.chunks_exact_mut(frames).zip(&frame) {
            if let Some(cell) = row.get_mut(t) {
                *cell = code;
            }
        }
    }
    Ok(frames)
}

/// The complete frames of `samples`, each a 256-sample array view, hop 128.
fn frames_of(samples: &[i16]) -> impl Iterator<Item = &[i16; FRAME_LEN]> {
    samples
        .windows(FRAME_LEN)
        .step_by(HOP_LEN)
        .filter_map(|w| w.try_into().ok())
}

/// Copies frame `t` of a bin-major plane with `frames` columns (for callers that need frames).
#[must_use]
pub fn frame_of_plane(plane: &[i8], frames: usize, t: usize) -> Option<Frame> {
    let mut frame = [0_i8; BINS];
    for (bin, code) in frame.iter_mut().enumerate() {
        *code = *plane.get(bin.checked_mul(frames)?.checked_add(t)?)?;
    }
    Some(frame)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::boxed::Box;
    use std::vec;

    #[test]
    fn short_inputs_give_no_frames() {
        let mut plane = [0_i8; 0];
        assert_eq!(feature_plane(&[], &mut plane), Ok(0));
        assert_eq!(feature_plane(&[7; FRAME_LEN - 1], &mut plane), Ok(0));
        assert_eq!(
            feature_plane(&[7; FRAME_LEN], &mut plane),
            Err(PlaneError::OutputTooSmall {
                needed: BINS,
                provided: 0
            })
        );
    }

    #[test]
    fn typed_window_equals_slice_plane() {
        let samples: Box<[i16; WINDOW_SAMPLES]> = vec![0_i16; WINDOW_SAMPLES]
            .into_iter()
            .enumerate()
            .map(|(n, _)| ((n * 7919) % 20011) as i16 - 10005)
            .collect::<Box<[i16]>>()
            .try_into()
            .unwrap();
        let mut typed: Box<FeaturePlane> = Box::new([[0; WINDOW_FRAMES]; BINS]);
        window_features(&samples, &mut typed);
        let mut flat = vec![0_i8; BINS * WINDOW_FRAMES];
        assert_eq!(feature_plane(&samples[..], &mut flat), Ok(WINDOW_FRAMES));
        assert_eq!(typed.as_flattened(), &flat[..]);
        assert_eq!(
            frame_of_plane(&flat, WINDOW_FRAMES, 5).map(|f| f[3]),
            Some(typed[3][5])
        );
    }
}
