//! Layout conversions between PyTorch's channels-first tensors and this format's channels-last
//! ones (see [`crate::nn`]'s "Memory layout"): for exporters, and for the network input.
//!
//! | tensor | PyTorch | model file / kernels | function |
//! |---|---|---|---|
//! | activation, input plane | CHW `[c][y][x]` | HWC `[y][x][c]` | [`chw_to_hwc`] |
//! | convolution weights | OIHW `[o][i][ky][kx]` | OHWI `[o][ky][kx][i]` | [`oihw_to_ohwi`] |
//! | linear weights after a flatten | `[o][c·H·W + y·W + x]` | `[o][(y·W + x)·C + c]` | [`linear_chw_to_hwc`] |
//!
//! Each function checks that both slices have exactly the length the dimensions give.

use core::fmt;

/// The slices do not have the length the dimensions give.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayoutError {
    /// Elements the dimensions require (`usize::MAX` if their product overflows).
    pub expected: usize,
    /// Elements of the source.
    pub source: usize,
    /// Elements of the destination.
    pub destination: usize,
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "layout conversion of {} elements given {} and {}",
            self.expected, self.source, self.destination
        )
    }
}

impl core::error::Error for LayoutError {}

/// Checks both lengths against the product of `dims`.
fn check<T>(dims: &[usize], source: &[T], destination: &[T]) -> Result<usize, LayoutError> {
    let expected = dims
        .iter()
        .try_fold(1_usize, |n, &d| n.checked_mul(d))
        .unwrap_or(usize::MAX);
    if source.len() == expected && destination.len() == expected {
        Ok(expected)
    } else {
        Err(LayoutError {
            expected,
            source: source.len(),
            destination: destination.len(),
        })
    }
}

/// `[c][y][x]` → `[y][x][c]` for a `channels × height × width` tensor.
///
/// # Errors
/// [`LayoutError`] if a slice is not `channels · height · width` long.
pub fn chw_to_hwc<T: Copy>(
    source: &[T],
    destination: &mut [T],
    [channels, height, width]: [usize; 3],
) -> Result<(), LayoutError> {
    let n = check(&[channels, height, width], source, destination)?;
    let plane = n.checked_div(channels).unwrap_or(0).max(1);
    // Channel c of every pixel is every `channels`-th destination element from c.
    for (c, source_plane) in source.chunks_exact(plane).enumerate() {
        for (d, &s) in destination
            .iter_mut()
            .skip(c)
            .step_by(channels.max(1))
            .zip(source_plane)
        {
            *d = s;
        }
    }
    Ok(())
}

/// OIHW → OHWI convolution weights (`[out, in, kh, kw]` are PyTorch's `weight.shape`).
///
/// # Errors
/// [`LayoutError`] if a slice is not `out · in · kh · kw` long.
pub fn oihw_to_ohwi<T: Copy>(
    source: &[T],
    destination: &mut [T],
    [out, input, kh, kw]: [usize; 4],
) -> Result<(), LayoutError> {
    let n = check(&[out, input, kh, kw], source, destination)?;
    let per_output = n.checked_div(out).unwrap_or(0).max(1);
    for (source, destination) in source
        .chunks_exact(per_output)
        .zip(destination.chunks_exact_mut(per_output))
    {
        // Per output channel: [in][ky][kx] → [ky][kx][in] is CHW → HWC.
        chw_to_hwc(source, destination, [input, kh, kw])?;
    }
    Ok(())
}

/// Permutes the columns of linear weights `[out][in]` whose inputs come from flattening a
/// `channels × height × width` activation in PyTorch's CHW order into this format's HWC order.
///
/// # Errors
/// [`LayoutError`] if a slice is not `out · channels · height · width` long.
pub fn linear_chw_to_hwc<T: Copy>(
    source: &[T],
    destination: &mut [T],
    out: usize,
    [channels, height, width]: [usize; 3],
) -> Result<(), LayoutError> {
    let n = check(&[out, channels, height, width], source, destination)?;
    let per_output = n.checked_div(out).unwrap_or(0).max(1);
    for (source, destination) in source
        .chunks_exact(per_output)
        .zip(destination.chunks_exact_mut(per_output))
    {
        chw_to_hwc(source, destination, [channels, height, width])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;
    use std::vec::Vec;

    #[test]
    fn chw_to_hwc_moves_channels_last() {
        // 2 channels × 2 × 3.
        let chw: Vec<u32> = (0..12).collect();
        let mut hwc = vec![0; 12];
        chw_to_hwc(&chw, &mut hwc, [2, 2, 3]).unwrap();
        for c in 0..2 {
            for y in 0..2 {
                for x in 0..3 {
                    assert_eq!(hwc[(y * 3 + x) * 2 + c], chw[(c * 2 + y) * 3 + x]);
                }
            }
        }
        assert_eq!(
            chw_to_hwc(&chw, &mut hwc[1..], [2, 2, 3]),
            Err(LayoutError {
                expected: 12,
                source: 12,
                destination: 11
            })
        );
    }

    #[test]
    fn weights_follow_the_activation_layout() {
        // A conv weight W[o][i][ky][kx] applied to CHW input must equal OHWI weights on HWC.
        let (o, i, kh, kw) = (3, 2, 2, 3);
        let oihw: Vec<i32> = (0..o * i * kh * kw)
            .map(|n| n as i32 * 7 % 11 - 5)
            .collect();
        let mut ohwi = vec![0; oihw.len()];
        oihw_to_ohwi(&oihw, &mut ohwi, [o, i, kh, kw]).unwrap();
        for a in 0..o {
            for b in 0..i {
                for y in 0..kh {
                    for x in 0..kw {
                        assert_eq!(
                            ohwi[((a * kh + y) * kw + x) * i + b],
                            oihw[((a * i + b) * kh + y) * kw + x]
                        );
                    }
                }
            }
        }
        // Linear: dot(W_chw[o], flatten_chw(act)) == dot(W_hwc[o], flatten_hwc(act)).
        let (c, h, w) = (3, 2, 2);
        let act: Vec<i32> = (0..c * h * w).map(|n| n as i32 - 4).collect();
        let mut act_hwc = vec![0; act.len()];
        chw_to_hwc(&act, &mut act_hwc, [c, h, w]).unwrap();
        let lin: Vec<i32> = (0..2 * c * h * w).map(|n| n as i32 % 5 - 2).collect();
        let mut lin_hwc = vec![0; lin.len()];
        linear_chw_to_hwc(&lin, &mut lin_hwc, 2, [c, h, w]).unwrap();
        for row in 0..2 {
            let n = c * h * w;
            let a: i32 = (0..n).map(|k| lin[row * n + k] * act[k]).sum();
            let b: i32 = (0..n).map(|k| lin_hwc[row * n + k] * act_hwc[k]).sum();
            assert_eq!(a, b);
        }
    }
}
