//! Streaming API: push any number of samples, receive frames as they complete.

use super::frame::compute_frame;
use super::{BINS, FRAME_LEN, Frame, HOP_LEN};

/// The front end's streaming state: the last (up to) 256 samples not yet fully consumed.
///
/// Feed it samples in chunks of any size (a microphone driver's DMA half-buffer, a file read
/// block, one sample at a time); it emits each frame once its 256 samples are present, so a stream
/// split any way gives exactly the frames of [`feature_plane`](super::feature_plane) over the
/// concatenated samples. Size: 512 B of samples plus a counter; no heap.
#[derive(Clone, Debug)]
pub struct StreamingFrontEnd {
    /// Samples of the frame being assembled; `buffer[..filled]` are valid.
    buffer: [i16; FRAME_LEN],
    /// Number of valid samples in `buffer`, always `< FRAME_LEN` between calls.
    filled: usize,
    /// Frames emitted since creation or the last [`reset`](Self::reset).
    frames_emitted: u64,
}

impl Default for StreamingFrontEnd {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamingFrontEnd {
    /// An empty front end: the first frame comes out after 256 samples, then one every 128.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            buffer: [0; FRAME_LEN],
            filled: 0,
            frames_emitted: 0,
        }
    }

    /// Forgets buffered samples, as if newly created (for a new recording).
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Samples buffered towards the next frame (0..256).
    #[must_use]
    pub const fn buffered(&self) -> usize {
        self.filled
    }

    /// Frames emitted since creation or the last reset.
    #[must_use]
    pub const fn frames_emitted(&self) -> u64 {
        self.frames_emitted
    }

    /// Consumes `samples`, calling `on_frame` with each frame that completes, in time order.
    /// Returns how many frames were emitted by this call.
    ///
    /// Cost: one [`compute_frame`] per emitted frame, plus copying each sample once into the
    /// buffer and 128 samples per frame to slide it. Never panics; empty input is a no-op.
    pub fn push(&mut self, samples: &[i16], mut on_frame: impl FnMut(&Frame)) -> usize {
        let mut rest = samples;
        let mut emitted = 0_usize;
        let mut frame = [0_i8; BINS];
        while !rest.is_empty() {
            let free = self.buffer.get_mut(self.filled..).unwrap_or_default();
            let taken = free.len().min(rest.len());
            let (now, later) = rest.split_at(taken);
            for (slot, &sample) in free.iter_mut().zip(now) {
                *slot = sample;
            }
            self.filled = self.filled.saturating_add(taken);
            rest = later;
            if self.filled >= FRAME_LEN {
                compute_frame(&self.buffer, &mut frame);
                on_frame(&frame);
                emitted = emitted.saturating_add(1);
                self.frames_emitted = self.frames_emitted.saturating_add(1);
                self.buffer.copy_within(HOP_LEN.., 0);
                self.filled = FRAME_LEN - HOP_LEN;
            }
        }
        emitted
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::frontend::{feature_plane, frame_count};
    use proptest::prelude::*;
    use std::vec::Vec;

    /// All frames of `samples` through the streaming API, pushed in chunks of the given sizes
    /// (cycled).
    fn stream_frames(samples: &[i16], chunk_sizes: &[usize]) -> Vec<Frame> {
        let mut front_end = StreamingFrontEnd::new();
        let mut frames = Vec::new();
        let mut rest = samples;
        for &size in chunk_sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, later) = rest.split_at(size.min(rest.len()));
            front_end.push(chunk, |f| frames.push(*f));
            rest = later;
        }
        frames
    }

    fn plane_frames(samples: &[i16]) -> Vec<Frame> {
        let frames = frame_count(samples.len());
        let mut plane = std::vec![0_i8; frames * BINS];
        assert_eq!(feature_plane(samples, &mut plane), Ok(frames));
        (0..frames)
            .map(|t| core::array::from_fn(|bin| plane[bin * frames + t]))
            .collect()
    }

    #[test]
    fn frame_timing() {
        let mut front_end = StreamingFrontEnd::new();
        assert_eq!(front_end.push(&[], |_| {}), 0);
        assert_eq!(front_end.push(&[1; 255], |_| {}), 0);
        assert_eq!(front_end.push(&[1; 1], |_| {}), 1);
        assert_eq!(front_end.push(&[1; 127], |_| {}), 0);
        assert_eq!(front_end.push(&[1; 1], |_| {}), 1);
        assert_eq!(front_end.push(&[1; 1280], |_| {}), 10);
        assert_eq!(front_end.frames_emitted(), 12);
        assert_eq!(front_end.buffered(), 128);
        front_end.reset();
        assert_eq!((front_end.buffered(), front_end.frames_emitted()), (0, 0));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_chunking_gives_the_whole_window_frames(
            samples in proptest::collection::vec(any::<i16>(), 0..3000),
            chunks in proptest::collection::vec(1usize..700, 1..8),
        ) {
            prop_assert_eq!(stream_frames(&samples, &chunks), plane_frames(&samples));
        }
    }
}
