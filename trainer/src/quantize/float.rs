//! A trained network as plain `f32` arrays in PyTorch's layouts (channels first), with its
//! BatchNorms folded into the convolutions, and a straightforward float forward pass over it.
//!
//! This is the exporter's view of a network: [`crate::quantize`] calibrates and quantizes it, and
//! the Burn-free forward pass here is what calibration runs (so quantization is testable without
//! a Burn build). Shapes follow [`crate::model`]: every convolution pads `kernel / 2` on each
//! side, pools are 2 × 2 with stride 2 (floor), the flatten is channel-major (`[c][y][x]`).

/// BatchNorm's inference-time parameters for one convolution's output channels.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNormParams {
    /// Scale γ per channel.
    pub gamma: Vec<f32>,
    /// Shift β per channel.
    pub beta: Vec<f32>,
    /// Running mean per channel.
    pub mean: Vec<f32>,
    /// Running variance per channel.
    pub variance: Vec<f32>,
    /// ε added to the variance.
    pub epsilon: f64,
}

/// One convolution block: convolution (BatchNorm folded in), ReLU, optional 2 × 2 max pool.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatConv {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// `[kh, kw]` (odd).
    pub kernel: [usize; 2],
    /// `[sy, sx]`.
    pub stride: [usize; 2],
    /// Weights, OIHW (`out × in × kh × kw`).
    pub weight: Vec<f32>,
    /// Bias per output channel.
    pub bias: Vec<f32>,
    /// Whether a 2 × 2 max pool follows the ReLU.
    pub pool: bool,
}

impl FloatConv {
    /// Zero padding on each side: `kernel / 2`.
    #[must_use]
    pub fn padding(&self) -> [usize; 2] {
        [self.kernel[0] / 2, self.kernel[1] / 2]
    }

    /// Output `[height, width]` of the convolution for an input of `[height, width]`.
    #[must_use]
    pub fn conv_output(&self, input: [usize; 2]) -> [usize; 2] {
        let p = self.padding();
        [0, 1].map(|a| (input[a] + 2 * p[a] - self.kernel[a]) / self.stride[a] + 1)
    }

    /// Output `[height, width]` of the block (after the pool if any).
    #[must_use]
    pub fn block_output(&self, input: [usize; 2]) -> [usize; 2] {
        let conv = self.conv_output(input);
        if self.pool { conv.map(|n| n / 2) } else { conv }
    }

    /// Folds an inference-time BatchNorm that follows the convolution into its weights and bias:
    /// `w' = w · γ/√(σ² + ε)`, `b' = (b − μ) · γ/√(σ² + ε) + β` per output channel (computed in
    /// `f64`). Cost: one pass over the weights.
    ///
    /// # Panics
    /// If the BatchNorm's vectors are not `out_channels` long (a caller bug).
    pub fn fold_batch_norm(&mut self, norm: &BatchNormParams) {
        let n = self.out_channels;
        assert!(
            [&norm.gamma, &norm.beta, &norm.mean, &norm.variance]
                .iter()
                .all(|v| v.len() == n),
            "BatchNorm of {n} channels expected"
        );
        let per_channel = self.weight.len() / n;
        for c in 0..n {
            let factor =
                f64::from(norm.gamma[c]) / (f64::from(norm.variance[c]) + norm.epsilon).sqrt();
            for w in &mut self.weight[c * per_channel..(c + 1) * per_channel] {
                *w = (f64::from(*w) * factor) as f32;
            }
            self.bias[c] = ((f64::from(self.bias[c]) - f64::from(norm.mean[c])) * factor
                + f64::from(norm.beta[c])) as f32;
        }
    }
}

/// A whole network: conv blocks and a linear head over the channel-major flatten.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatNetwork {
    /// Input `[channels, height, width]` (stacked windows, bins, frames).
    pub input: [usize; 3],
    /// The conv blocks, BatchNorm folded.
    pub convs: Vec<FloatConv>,
    /// Head weights `[out][in]`, inputs in CHW flatten order.
    pub head_weight: Vec<f32>,
    /// Head bias per class.
    pub head_bias: Vec<f32>,
}

/// Why a [`FloatNetwork`] does not hang together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("network shape: {0}")]
pub struct ShapeError(pub String);

impl FloatNetwork {
    /// Number of outputs.
    #[must_use]
    pub fn classes(&self) -> usize {
        self.head_bias.len()
    }

    /// The `[channels, height, width]` map after the last block.
    #[must_use]
    pub fn last_map(&self) -> [usize; 3] {
        let mut hw = [self.input[1], self.input[2]];
        let mut c = self.input[0];
        for conv in &self.convs {
            hw = conv.block_output(hw);
            c = conv.out_channels;
        }
        [c, hw[0], hw[1]]
    }

    /// Checks that every array has the length its shape gives and channels chain.
    ///
    /// # Errors
    /// [`ShapeError`] naming the first inconsistency.
    pub fn check(&self) -> Result<(), ShapeError> {
        let mut channels = self.input[0];
        for (i, conv) in self.convs.iter().enumerate() {
            let [kh, kw] = conv.kernel;
            let ok = conv.in_channels == channels
                && conv.weight.len() == conv.out_channels * channels * kh * kw
                && conv.bias.len() == conv.out_channels
                && kh % 2 == 1
                && kw % 2 == 1
                && conv.stride.iter().all(|&s| s > 0);
            if !ok {
                return Err(ShapeError(format!(
                    "convolution {i} does not fit its input"
                )));
            }
            channels = conv.out_channels;
        }
        let [c, h, w] = self.last_map();
        if self.head_weight.len() != self.classes() * c * h * w || self.classes() == 0 {
            return Err(ShapeError(format!(
                "head has {} weights for {} classes over {c}×{h}×{w}",
                self.head_weight.len(),
                self.classes()
            )));
        }
        Ok(())
    }

    /// Logits of one input (`input` = `channels × height × width` floats, CHW), calling
    /// `visit(block, values)` with every block's ReLU output (before its pool). Cost: the
    /// network's MACs in plain `f32` loops (about 0.1 s per reference network on one core).
    ///
    /// # Panics
    /// If `input` has the wrong length or the network fails [`FloatNetwork::check`].
    pub fn forward_visit(&self, input: &[f32], mut visit: impl FnMut(usize, &[f32])) -> Vec<f32> {
        assert_eq!(input.len(), self.input.iter().product::<usize>());
        let mut map = input.to_vec();
        let mut hw = [self.input[1], self.input[2]];
        for (i, conv) in self.convs.iter().enumerate() {
            let (mut out, out_hw) = conv2d_chw(conv, &map, hw);
            for v in &mut out {
                *v = v.max(0.0);
            }
            visit(i, &out);
            (map, hw) = if conv.pool {
                maxpool2x2_chw(&out, conv.out_channels, out_hw)
            } else {
                (out, out_hw)
            };
        }
        let inputs = map.len();
        self.head_weight
            .chunks_exact(inputs)
            .zip(&self.head_bias)
            .map(|(row, &b)| {
                let dot: f64 = row
                    .iter()
                    .zip(&map)
                    .map(|(&w, &x)| f64::from(w) * f64::from(x))
                    .sum();
                (dot + f64::from(b)) as f32
            })
            .collect()
    }

    /// Logits of one input; see [`FloatNetwork::forward_visit`].
    #[must_use]
    pub fn forward(&self, input: &[f32]) -> Vec<f32> {
        self.forward_visit(input, |_, _| {})
    }
}

/// Zero-padded (`kernel / 2`) strided convolution of a CHW map, plus bias. Returns the output
/// map and its `[height, width]`.
fn conv2d_chw(conv: &FloatConv, input: &[f32], [ih, iw]: [usize; 2]) -> (Vec<f32>, [usize; 2]) {
    let [oh, ow] = conv.conv_output([ih, iw]);
    let [kh, kw] = conv.kernel;
    let [sy, sx] = conv.stride;
    let [py, px] = conv.padding();
    let mut out = vec![0.0_f32; conv.out_channels * oh * ow];
    for (o, plane) in out.chunks_exact_mut(oh * ow).enumerate() {
        plane.fill(conv.bias[o]);
        for i in 0..conv.in_channels {
            let source = &input[i * ih * iw..(i + 1) * ih * iw];
            for ky in 0..kh {
                for kx in 0..kw {
                    let w = conv.weight[((o * conv.in_channels + i) * kh + ky) * kw + kx];
                    // Output columns whose input column x·sx + kx − px is inside the map.
                    let x_first = px.saturating_sub(kx).div_ceil(sx);
                    let x_end = ((iw + px).saturating_sub(kx)).div_ceil(sx).min(ow);
                    for y in 0..oh {
                        let Some(iy) = (y * sy + ky).checked_sub(py).filter(|&r| r < ih) else {
                            continue;
                        };
                        let row = &source[iy * iw..(iy + 1) * iw];
                        let out_row = &mut plane[y * ow..(y + 1) * ow];
                        for x in x_first..x_end {
                            out_row[x] += w * row[x * sx + kx - px];
                        }
                    }
                }
            }
        }
    }
    (out, [oh, ow])
}

/// 2 × 2, stride 2, floor max pool of a CHW map.
fn maxpool2x2_chw(input: &[f32], channels: usize, [h, w]: [usize; 2]) -> (Vec<f32>, [usize; 2]) {
    let (oh, ow) = (h / 2, w / 2);
    let mut out = Vec::with_capacity(channels * oh * ow);
    for c in 0..channels {
        let plane = &input[c * h * w..(c + 1) * h * w];
        for y in 0..oh {
            for x in 0..ow {
                let at = |dy: usize, dx: usize| plane[(2 * y + dy) * w + 2 * x + dx];
                out.push(at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1)));
            }
        }
    }
    (out, [oh, ow])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(
        in_channels: usize,
        out_channels: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
    ) -> FloatConv {
        let n = out_channels * in_channels * kernel[0] * kernel[1];
        FloatConv {
            in_channels,
            out_channels,
            kernel,
            stride,
            weight: (0..n).map(|i| ((i * 7 % 11) as f32 - 5.0) / 10.0).collect(),
            bias: (0..out_channels).map(|o| o as f32 / 10.0).collect(),
            pool: false,
        }
    }

    /// The convolution written as its definition, one output value at a time.
    fn conv_definition(c: &FloatConv, input: &[f32], [ih, iw]: [usize; 2]) -> Vec<f32> {
        let [oh, ow] = c.conv_output([ih, iw]);
        let [py, px] = c.padding();
        let mut out = Vec::new();
        for o in 0..c.out_channels {
            for y in 0..oh {
                for x in 0..ow {
                    let mut acc = c.bias[o];
                    for i in 0..c.in_channels {
                        for ky in 0..c.kernel[0] {
                            for kx in 0..c.kernel[1] {
                                let iy = (y * c.stride[0] + ky) as isize - py as isize;
                                let ix = (x * c.stride[1] + kx) as isize - px as isize;
                                if iy >= 0 && ix >= 0 && (iy as usize) < ih && (ix as usize) < iw {
                                    let w = c.weight[((o * c.in_channels + i) * c.kernel[0] + ky)
                                        * c.kernel[1]
                                        + kx];
                                    acc += w * input[(i * ih + iy as usize) * iw + ix as usize];
                                }
                            }
                        }
                    }
                    out.push(acc);
                }
            }
        }
        out
    }

    #[test]
    fn convolution_matches_its_definition_for_the_models_kernels_and_strides() {
        for (kernel, stride) in [
            ([3, 7], [1, 2]),
            ([3, 5], [2, 2]),
            ([3, 3], [1, 1]),
            ([3, 7], [2, 4]),
        ] {
            let c = conv(2, 3, kernel, stride);
            let (ih, iw) = (9, 13);
            let input: Vec<f32> = (0..2 * ih * iw)
                .map(|i| ((i * 13 % 17) as f32 - 8.0) / 8.0)
                .collect();
            let (fast, shape) = conv2d_chw(&c, &input, [ih, iw]);
            assert_eq!(shape, c.conv_output([ih, iw]));
            let slow = conv_definition(&c, &input, [ih, iw]);
            for (a, b) in fast.iter().zip(&slow) {
                assert!((a - b).abs() < 1e-5, "{kernel:?} {stride:?}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn folding_batch_norm_gives_the_same_outputs_as_applying_it() {
        let mut c = conv(1, 2, [3, 3], [1, 1]);
        let norm = BatchNormParams {
            gamma: vec![1.5, 0.5],
            beta: vec![0.1, -0.2],
            mean: vec![0.3, -0.4],
            variance: vec![2.0, 0.25],
            epsilon: 1e-5,
        };
        let input: Vec<f32> = (0..25).map(|i| i as f32 / 25.0).collect();
        let (plain, _) = conv2d_chw(&c, &input, [5, 5]);
        c.fold_batch_norm(&norm);
        let (folded, _) = conv2d_chw(&c, &input, [5, 5]);
        for (k, (p, f)) in plain.iter().zip(&folded).enumerate() {
            let ch = k / 25;
            let expected = (p - norm.mean[ch]) / (norm.variance[ch] + 1e-5).sqrt() * norm.gamma[ch]
                + norm.beta[ch];
            assert!((expected - f).abs() < 1e-5, "{expected} vs {f}");
        }
    }

    #[test]
    fn forward_pools_flattens_channel_major_and_checks_shapes() {
        let mut first = conv(1, 2, [3, 3], [1, 1]);
        first.pool = true;
        let net = FloatNetwork {
            input: [1, 4, 6],
            convs: vec![first],
            head_weight: (0..2 * 2 * 2 * 3).map(|i| i as f32).collect(),
            head_bias: vec![0.0, 1.0],
        };
        net.check().unwrap();
        assert_eq!(net.last_map(), [2, 2, 3]);
        let input: Vec<f32> = (0..24).map(|i| (i as f32 - 12.0) / 12.0).collect();
        let mut seen = Vec::new();
        let logits = net.forward_visit(&input, |i, v| seen.push((i, v.len())));
        assert_eq!(seen, vec![(0, 2 * 4 * 6)]);
        // Recompute by hand: conv + ReLU, pool, dot with the head rows.
        let (conv_out, _) = conv2d_chw(&net.convs[0], &input, [4, 6]);
        let relu: Vec<f32> = conv_out.iter().map(|v| v.max(0.0)).collect();
        let (pooled, _) = maxpool2x2_chw(&relu, 2, [4, 6]);
        let expected0: f32 = pooled
            .iter()
            .zip(&net.head_weight[..12])
            .map(|(x, w)| x * w)
            .sum();
        assert!((logits[0] - expected0).abs() < 1e-3);
        let mut broken = net.clone();
        broken.head_bias.push(0.0);
        assert!(broken.check().is_err());
    }
}
