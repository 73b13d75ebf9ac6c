//! Which windows make up which stack: how a whole recording is covered.
//!
//! The model reads `stack` windows of [`WINDOW_SAMPLES`] = 40,064 samples (312 frames, 5.008 s)
//! at once. The firmware classifies a clip by placing its windows with
//! [`window_starts`] (spread evenly from the start to the end of the clip, zero-padded past its
//! end); the trainer draws a stack's windows anywhere in a recording (sorted, possibly
//! overlapping) and zero-pads recordings shorter than one window. The plan applies the firmware's
//! rule to consecutive pieces of the recording:
//!
//! 1. A recording shorter than one window is zero-padded at the end to one window (said in the
//!    output); every window of its stack is then that one window.
//! 2. The recording's `L` samples are cut into `n = ⌈L / S⌉` consecutive **segments** of
//!    near-equal length, where `S` is the segment length asked for: by default (and at most) one
//!    stack of back-to-back windows, `stack × 40,064` samples = 20.03 s for the reference model;
//!    at least one window. So segments are at most `S` long and tile the recording without gaps
//!    or overlap.
//! 3. Each segment gets one stack, its windows placed by [`window_starts`] over the segment as
//!    if the segment were the firmware's clip. A full-length segment holds `stack` back-to-back
//!    windows; a shorter one (the whole recording when it is shorter than one stack, or every
//!    segment when `L` is not a multiple of `S`) holds overlapping windows, as the trainer's
//!    draws would overlap in a short recording. A segment shorter than a window (only with
//!    one-window segments) gets the window that starts with it, or the recording's last window.
//!
//! Every sample of the recording is thus seen by at least one window, no stack is repeated, the
//! cost is `n` inferences (30 for ten minutes with the reference model), and a segment's scores
//! are exactly what the firmware computes for that segment as its clip.

use core_nostd::frontend::WINDOW_SAMPLES;
use core_nostd::streaming::window_starts;

/// One segment of the recording and the windows of its stack, in samples (8 kHz).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// First sample of the segment.
    pub start: usize,
    /// One past the last sample of the segment.
    pub end: usize,
    /// First sample of each window of the stack, ascending; each window is 40,064 samples.
    pub windows: Vec<usize>,
}

/// Cuts `samples` samples (at least [`WINDOW_SAMPLES`]: pad first) into segments of at most
/// `segment_samples` samples and places `stack` windows in each, as the [module docs](self)
/// describe. `segment_samples` is clamped to one window .. one stack of back-to-back windows
/// (longer segments would leave samples no window sees). Cost: `O(segments × stack)`.
///
/// Returns no segments for a recording shorter than one window or a `stack` of 0.
#[must_use]
pub fn plan(samples: usize, stack: usize, segment_samples: usize) -> Vec<Segment> {
    if samples < WINDOW_SAMPLES || stack == 0 {
        return Vec::new();
    }
    let longest = stack.saturating_mul(WINDOW_SAMPLES);
    let segment_samples = segment_samples.clamp(WINDOW_SAMPLES, longest);
    let count = samples.div_ceil(segment_samples);
    let last_start = samples - WINDOW_SAMPLES;
    // `j · samples` in u128: no overflow for any length.
    let boundary = |j: usize| (j as u128 * samples as u128 / count as u128) as usize;
    (0..count)
        .map(|j| {
            let (start, end) = (boundary(j), boundary(j + 1));
            let windows = window_starts(end - start, stack)
                .map(|offset| (start + offset).min(last_start))
                .collect();
            Segment {
                start,
                end,
                windows,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: usize = WINDOW_SAMPLES;

    fn check_invariants(samples: usize, stack: usize, segment: usize) {
        let segments = plan(samples, stack, segment);
        assert!(!segments.is_empty());
        assert_eq!(segments[0].start, 0);
        assert_eq!(segments.last().unwrap().end, samples);
        for pair in segments.windows(2) {
            assert_eq!(pair[0].end, pair[1].start, "segments tile");
        }
        let mut covered = vec![false; samples];
        for s in &segments {
            assert!(s.end - s.start <= segment.clamp(W, stack * W), "{s:?}");
            assert_eq!(s.windows.len(), stack);
            assert!(s.windows.is_sorted());
            for &w in &s.windows {
                assert!(w + W <= samples, "window inside the recording: {s:?}");
                covered[w..w + W].iter_mut().for_each(|c| *c = true);
            }
        }
        assert!(covered.iter().all(|&c| c), "every sample is seen");
    }

    #[test]
    fn full_segments_hold_back_to_back_windows() {
        let segments = plan(8 * W, 4, 4 * W);
        assert_eq!(segments.len(), 2);
        assert_eq!(segments[0].windows, [0, W, 2 * W, 3 * W]);
        assert_eq!(segments[1].windows, [4 * W, 5 * W, 6 * W, 7 * W]);
    }

    #[test]
    fn one_window_gives_one_stack_of_that_window() {
        assert_eq!(
            plan(W, 4, 4 * W),
            [Segment {
                start: 0,
                end: W,
                windows: vec![0; 4]
            }]
        );
        assert!(plan(W - 1, 4, 4 * W).is_empty());
        assert!(plan(10 * W, 0, 4 * W).is_empty());
    }

    #[test]
    fn a_segment_is_placed_as_the_firmware_places_a_clip() {
        let segments = plan(2 * W + 30, 4, 4 * W);
        assert_eq!(segments.len(), 1);
        assert_eq!(
            segments[0].windows,
            window_starts(2 * W + 30, 4).collect::<Vec<_>>()
        );
        assert_eq!(
            segments[0].windows,
            [0, (W + 30) / 3, 2 * (W + 30) / 3, W + 30]
        );
    }

    #[test]
    fn invariants_hold_for_many_lengths() {
        for samples in [W, W + 1, 2 * W - 1, 4 * W, 4 * W + 1, 9 * W + 17, 4_800_000] {
            for (stack, segment) in [(4, 4 * W), (1, W), (2, W), (3, 10 * W), (4, 5 * W / 2)] {
                check_invariants(samples, stack, segment);
            }
        }
    }
}
