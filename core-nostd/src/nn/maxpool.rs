//! Max pooling over `i8` HWC activations: any window and stride, no padding, floor (windows that
//! would stick out past the bottom or right edge are dropped). The network uses 2×2, stride 2.
//!
//! Codes keep their scale and zero point (max commutes with the increasing dequantization), so
//! there is no requantization. [`maxpool2d`] takes the maximum of whole contiguous channel runs
//! (`C` bytes per pixel in HWC), which vectorizes; [`maxpool2d_reference`] is the plain loop.

use super::conv2d::to_usize;
use super::{LayerError, Shape};
use crate::model::spec::MaxPool2dSpec;

/// A validated max-pooling layer. Constructed only by [`MaxPool2d::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool2d {
    input: Shape,
    output: Shape,
    kernel: [usize; 2],
    stride: [usize; 2],
}

impl MaxPool2d {
    /// Checks `spec` against its input shape.
    ///
    /// # Errors
    /// [`LayerError::Shape`] if a size is 0, the window is larger than the input, or the output
    /// would be empty.
    pub fn new(spec: &MaxPool2dSpec, input: Shape) -> Result<Self, LayerError> {
        let [kh, kw] = spec.kernel.map(to_usize);
        let [sy, sx] = spec.stride.map(to_usize);
        let (kh, kw, sy, sx) = (kh?, kw?, sy?, sx?);
        let extent = |n: usize, k: usize, s: usize| {
            n.checked_sub(k)
                .and_then(|span| span.checked_div(s))
                .and_then(|steps| steps.checked_add(1))
                .filter(|_| k > 0)
        };
        let height = extent(input.height, kh, sy).ok_or(LayerError::Shape)?;
        let width = extent(input.width, kw, sx).ok_or(LayerError::Shape)?;
        if input.channels == 0 {
            return Err(LayerError::Shape);
        }
        Ok(Self {
            input,
            output: Shape::new(height, width, input.channels),
            kernel: [kh, kw],
            stride: [sy, sx],
        })
    }

    /// Shape of the input.
    #[must_use]
    pub const fn input_shape(&self) -> Shape {
        self.input
    }

    /// Shape of the output.
    #[must_use]
    pub const fn output_shape(&self) -> Shape {
        self.output
    }

    /// `[kh, kw]`.
    #[must_use]
    pub const fn kernel(&self) -> [usize; 2] {
        self.kernel
    }

    /// `[sy, sx]`.
    #[must_use]
    pub const fn stride(&self) -> [usize; 2] {
        self.stride
    }
}

/// Max pooling, the definition: for each output and channel, the maximum over the window.
pub fn maxpool2d_reference(layer: &MaxPool2d, input: &[i8], output: &mut [i8]) {
    let Shape {
        width, channels, ..
    } = layer.input;
    let [kh, kw] = layer.kernel;
    let [sy, sx] = layer.stride;
    let mut outputs = output.iter_mut();
    for oy in 0..layer.output.height {
        for ox in 0..layer.output.width {
            for c in 0..channels {
                let mut best = i8::MIN;
                for ky in 0..kh {
                    for kx in 0..kw {
                        let y = oy.saturating_mul(sy).saturating_add(ky);
                        let x = ox.saturating_mul(sx).saturating_add(kx);
                        let index = y
                            .saturating_mul(width)
                            .saturating_add(x)
                            .saturating_mul(channels)
                            .saturating_add(c);
                        if let Some(&v) = input.get(index) {
                            best = best.max(v);
                        }
                    }
                }
                if let Some(out) = outputs.next() {
                    *out = best;
                }
            }
        }
    }
}

/// Max pooling, optimized: each output pixel's `C` channels start as a copy of the window's first
/// pixel and take the elementwise maximum with the others, a contiguous run at a time.
pub fn maxpool2d(layer: &MaxPool2d, input: &[i8], output: &mut [i8]) {
    let Shape {
        width, channels, ..
    } = layer.input;
    let [kh, kw] = layer.kernel;
    let [sy, sx] = layer.stride;
    let out_row = layer.output.width.saturating_mul(channels);
    let in_row = width.saturating_mul(channels);
    for (oy, row) in output
        .chunks_exact_mut(out_row.max(1))
        .take(layer.output.height)
        .enumerate()
    {
        for (ox, pixel) in row.chunks_exact_mut(channels.max(1)).enumerate() {
            pixel.fill(i8::MIN);
            for ky in 0..kh {
                let y = oy.saturating_mul(sy).saturating_add(ky);
                let start = y
                    .saturating_mul(in_row)
                    .saturating_add(ox.saturating_mul(sx).saturating_mul(channels));
                // The window's row: kw pixels of C channels, contiguous in HWC.
                let Some(run) = input.get(start..start.saturating_add(kw.saturating_mul(channels)))
                else {
                    continue;
                };
                for tap in run.chunks_exact(channels.max(1)) {
                    for (best, &v) in pixel.iter_mut().zip(tap) {
                        *best = (*best).max(v);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::vec;

    fn both(layer: &MaxPool2d, input: &[i8]) -> (std::vec::Vec<i8>, std::vec::Vec<i8>) {
        let n = layer.output_shape().len();
        let mut reference = vec![0; n];
        let mut fast = vec![0x55; n];
        maxpool2d_reference(layer, input, &mut reference);
        maxpool2d(layer, input, &mut fast);
        (reference, fast)
    }

    #[test]
    fn two_by_two_floor() {
        let spec = MaxPool2dSpec {
            kernel: [2, 2],
            stride: [2, 2],
        };
        // 3×5×1: the last row and column are dropped.
        let layer = MaxPool2d::new(&spec, Shape::new(3, 5, 1)).unwrap();
        assert_eq!(layer.output_shape(), Shape::new(1, 2, 1));
        let input = [1, -5, 3, 4, 100, 9, 2, -1, 7, 100, 100, 100, 100, 100, 100];
        let (reference, fast) = both(&layer, &input);
        assert_eq!(reference, [9, 7]);
        assert_eq!(fast, reference);
        assert_eq!(
            MaxPool2d::new(&spec, Shape::new(1, 5, 1)),
            Err(LayerError::Shape)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn optimized_equals_reference(
            height in 1_usize..20,
            width in 1_usize..40,
            channels in 1_usize..70,
            kh in 1_usize..4,
            kw in 1_usize..4,
            sy in 1_usize..4,
            sx in 1_usize..4,
            data in proptest::collection::vec(any::<i8>(), 20 * 40 * 70),
        ) {
            let spec = MaxPool2dSpec { kernel: [kh as u32, kw as u32], stride: [sy as u32, sx as u32] };
            let input = Shape::new(height.max(kh), width.max(kw), channels);
            let layer = MaxPool2d::new(&spec, input).unwrap();
            let (reference, fast) = both(&layer, &data[..input.len()]);
            prop_assert_eq!(reference, fast);
        }
    }
}
