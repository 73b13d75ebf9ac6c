//! Fully connected layer: `i8` input vector (a flattened HWC activation), `[out][in]` `i8`
//! weights, `i32` bias, per-output requantization to `i8` (the network's last linear layer gives
//! the int8 logits).
//!
//! Definition ([`linear_reference`]): `out[o] = finish_o(bias[o] + Σ_i w[o][i] · (x[i] − z_in))`.
//! [`linear`] folds the zero point out of the inner loop:
//! `Σ w·(x − z) = Σ w·x − z · Σ w`, both sums taken in the same pass over contiguous `i8` rows
//! (`i32` wrapping, so the regrouping is exact).
//!
//! # Column by column ([`linear_column`], [`linear_finish`])
//!
//! After a flatten, the input is an `H × W × C` map in HWC order: input `i = (y·W + x)·C + c`.
//! [`crate::streaming`] never holds that map: as each column `x` (`H × C` codes, `[y][c]`) is
//! computed, [`linear_column`] adds its products to one `i32` accumulator per output, and
//! [`linear_finish`] adds the bias and requantizes once the last column is in. The sums are the
//! same wrapping sums as [`linear_reference`]'s, in another order: the same bits (tested).

use super::conv2d::to_usize;
use super::{LayerError, Requantization, Shape, to_u64};
use crate::model::spec::LinearSpec;

/// A validated linear layer. Constructed only by [`Linear::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Linear<'a> {
    in_features: usize,
    out_features: usize,
    /// `[out][in]`.
    weights: &'a [i8],
    quant: Requantization<'a>,
}

impl<'a> Linear<'a> {
    /// Checks `spec` against its input, which must be flat (`1 × 1 × in_features`, after a
    /// flatten layer).
    ///
    /// # Errors
    /// [`LayerError::Shape`] if the input is not flat or has another length, or a size is 0;
    /// [`LayerError::WeightsLength`] and [`LayerError::Quantization`] as for a convolution.
    pub fn new(
        spec: &LinearSpec<'a>,
        input: Shape,
        input_zero_point: i8,
    ) -> Result<Self, LayerError> {
        let in_features = to_usize(spec.in_features)?;
        let out_features = to_usize(spec.out_features)?;
        if input.height != 1
            || input.width != 1
            || input.channels != in_features
            || in_features == 0
            || out_features == 0
        {
            return Err(LayerError::Shape);
        }
        if Some(spec.weights.len()) != out_features.checked_mul(in_features) {
            return Err(LayerError::WeightsLength);
        }
        let quant = Requantization::new(&spec.quant, out_features, input_zero_point)?;
        Ok(Self {
            in_features,
            out_features,
            weights: bytemuck::must_cast_slice(spec.weights),
            quant,
        })
    }

    /// Shape of the input: `1 × 1 × in_features`.
    #[must_use]
    pub const fn input_shape(&self) -> Shape {
        Shape::new(1, 1, self.in_features)
    }

    /// Shape of the output: `1 × 1 × out_features`.
    #[must_use]
    pub const fn output_shape(&self) -> Shape {
        Shape::new(1, 1, self.out_features)
    }

    /// The requantization parameters and output stage.
    #[must_use]
    pub const fn quantization(&self) -> &Requantization<'a> {
        &self.quant
    }

    /// Multiply-accumulates of one call.
    #[must_use]
    pub fn macs(&self) -> u64 {
        to_u64(self.weights.len())
    }

    /// Bytes of parameters (weights, biases, multipliers, shifts).
    #[must_use]
    pub const fn parameter_bytes(&self) -> usize {
        self.weights
            .len()
            .saturating_add(self.quant.parameter_bytes())
    }
}

/// The linear layer, written as the definition.
pub fn linear_reference(layer: &Linear<'_>, input: &[i8], output: &mut [i8]) {
    let zero_point = i32::from(layer.quant.input_zero_point());
    let mut outputs = output.iter_mut();
    for (o, channel) in layer.quant.channels().enumerate() {
        let mut acc = channel.bias;
        for i in 0..layer.in_features {
            let x = input.get(i).copied().map_or(0, i32::from);
            let w = layer
                .weights
                .get(o.saturating_mul(layer.in_features).saturating_add(i))
                .copied()
                .map_or(0, i32::from);
            acc = acc.wrapping_add(w.wrapping_mul(x.wrapping_sub(zero_point)));
        }
        if let Some(out) = outputs.next() {
            *out = layer.quant.finish_reference(acc, channel);
        }
    }
}

/// The linear layer, optimized (zero point folded out); same result as [`linear_reference`].
pub fn linear(layer: &Linear<'_>, input: &[i8], output: &mut [i8]) {
    let zero_point = i32::from(layer.quant.input_zero_point());
    let input = input.get(..layer.in_features).unwrap_or_default();
    for ((row, out), channel) in layer
        .weights
        .chunks_exact(layer.in_features.max(1))
        .zip(output.iter_mut())
        .zip(layer.quant.channels())
    {
        let mut products = 0_i32;
        let mut weight_sum = 0_i32;
        for (&w, &x) in row.iter().zip(input) {
            products = products.wrapping_add(i32::from(w).wrapping_mul(i32::from(x)));
            weight_sum = weight_sum.wrapping_add(i32::from(w));
        }
        let acc = channel
            .bias
            .wrapping_add(products)
            .wrapping_sub(zero_point.wrapping_mul(weight_sum));
        *out = layer.quant.finish(acc, channel);
    }
}

/// Adds `Σ_{y,c} w[o][(y·W + x)·C + c] · (column[y·C + c] − z_in)` to `acc[o]` for every output
/// `o`: column `x` of the flattened `map` (reference twin of [`linear_column`]).
pub fn linear_column_reference(
    layer: &Linear<'_>,
    map: Shape,
    x: usize,
    column: &[i8],
    acc: &mut [i32],
) {
    let zero_point = i32::from(layer.quant.input_zero_point());
    for (o, sum) in acc.iter_mut().enumerate().take(layer.out_features) {
        for y in 0..map.height {
            for c in 0..map.channels {
                let i = y
                    .saturating_mul(map.width)
                    .saturating_add(x)
                    .saturating_mul(map.channels)
                    .saturating_add(c);
                let w = layer
                    .weights
                    .get(o.saturating_mul(layer.in_features).saturating_add(i))
                    .copied()
                    .map_or(0, i32::from);
                let code = column
                    .get(y.saturating_mul(map.channels).saturating_add(c))
                    .copied()
                    .map_or(0, i32::from);
                *sum = sum.wrapping_add(w.wrapping_mul(code.wrapping_sub(zero_point)));
            }
        }
    }
}

/// [`linear_column_reference`], optimized: per output and row `y`, one contiguous run of `C`
/// weights against the column's run, the zero point folded out (`Σ w·x − z·Σ w`).
/// Cost: `H · C` multiply-accumulates per output.
pub fn linear_column(layer: &Linear<'_>, map: Shape, x: usize, column: &[i8], acc: &mut [i32]) {
    let zero_point = i32::from(layer.quant.input_zero_point());
    let channels = map.channels.max(1);
    let row = map.width.saturating_mul(channels);
    let first = x.saturating_mul(channels);
    for (weights, sum) in layer
        .weights
        .chunks_exact(layer.in_features.max(1))
        .zip(acc.iter_mut())
    {
        let mut products = 0_i32;
        let mut weight_sum = 0_i32;
        let runs = weights.get(first..).unwrap_or_default().chunks(row.max(1));
        for (w_run, x_run) in runs.zip(column.chunks_exact(channels)) {
            for (&w, &code) in w_run.iter().zip(x_run) {
                products = products.wrapping_add(i32::from(w).wrapping_mul(i32::from(code)));
                weight_sum = weight_sum.wrapping_add(i32::from(w));
            }
        }
        *sum = sum
            .wrapping_add(products)
            .wrapping_sub(zero_point.wrapping_mul(weight_sum));
    }
}

/// Bias, requantization and output stage of accumulated sums: `out[o] = finish_o(bias[o] +
/// acc[o])`, with the optimized requantizer (`reference`: the `i128` one; same bits).
pub fn linear_finish(layer: &Linear<'_>, acc: &[i32], output: &mut [i8], reference: bool) {
    for ((channel, &sum), out) in layer.quant.channels().zip(acc).zip(output.iter_mut()) {
        let total = channel.bias.wrapping_add(sum);
        *out = if reference {
            layer.quant.finish_reference(total, channel)
        } else {
            layer.quant.finish(total, channel)
        };
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::model::spec::QuantSpec;
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn optimized_equals_reference(
            in_features in 1_usize..600,
            out_features in 1_usize..12,
            seed in any::<u64>(),
            zin in any::<i8>(),
            zout in any::<i8>(),
            relu in any::<bool>(),
        ) {
            let mut state = seed | 1;
            let mut next = move || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state };
            let weights: Vec<u8> = (0..in_features * out_features).map(|_| next() as u8).collect();
            let bias: Vec<u8> = (0..out_features).flat_map(|_| ((next() % 20_001) as i32 - 10_000).to_le_bytes()).collect();
            let multipliers: Vec<u8> = (0..out_features).flat_map(|_| ((1_i32 << 30) + (next() % (1 << 30)) as i32).to_le_bytes()).collect();
            let shift = -(((in_features * 40) as f64).log2().ceil() as i8);
            let shifts: Vec<u8> = (0..out_features).map(|_| shift as u8).collect();
            let input: Vec<i8> = (0..in_features).map(|_| next() as i8).collect();
            let spec = LinearSpec {
                in_features: in_features as u32,
                out_features: out_features as u32,
                weights: &weights,
                quant: QuantSpec {
                    bias: &bias, multipliers: &multipliers, shifts: &shifts,
                    input_zero_point: zin, output_zero_point: zout,
                    activation_min: if relu { zout } else { -128 }, activation_max: 127,
                },
            };
            let layer = Linear::new(&spec, Shape::new(1, 1, in_features), zin).unwrap();
            let mut reference = vec![0; out_features];
            let mut fast = vec![0x55; out_features];
            linear_reference(&layer, &input, &mut reference);
            linear(&layer, &input, &mut fast);
            prop_assert_eq!(reference, fast);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn column_by_column_equals_the_whole_vector(
            height in 1_usize..9,
            width in 1_usize..9,
            channels in 1_usize..9,
            out_features in 1_usize..6,
            seed in any::<u64>(),
            zin in any::<i8>(),
        ) {
            let map = Shape::new(height, width, channels);
            let in_features = map.len();
            let mut state = seed | 1;
            let mut next = move || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state };
            let weights: Vec<u8> = (0..in_features * out_features).map(|_| next() as u8).collect();
            let bias: Vec<u8> = (0..out_features).flat_map(|_| ((next() % 2001) as i32 - 1000).to_le_bytes()).collect();
            let multipliers: Vec<u8> = (0..out_features).flat_map(|_| ((1_i32 << 30) + (next() % (1 << 30)) as i32).to_le_bytes()).collect();
            let shifts: Vec<u8> = (0..out_features).map(|_| (-10_i8) as u8).collect();
            let input: Vec<i8> = (0..in_features).map(|_| next() as i8).collect();
            let spec = LinearSpec {
                in_features: in_features as u32,
                out_features: out_features as u32,
                weights: &weights,
                quant: QuantSpec {
                    bias: &bias, multipliers: &multipliers, shifts: &shifts,
                    input_zero_point: zin, output_zero_point: 3,
                    activation_min: -128, activation_max: 127,
                },
            };
            let layer = Linear::new(&spec, Shape::new(1, 1, in_features), zin).unwrap();
            let mut expected = vec![0; out_features];
            linear_reference(&layer, &input, &mut expected);
            for reference in [false, true] {
                let mut acc = vec![0_i32; out_features];
                for x in 0..width {
                    // Column x of the HWC map, [y][c].
                    let column: Vec<i8> = (0..height * channels)
                        .map(|i| input[((i / channels) * width + x) * channels + i % channels])
                        .collect();
                    if reference {
                        linear_column_reference(&layer, map, x, &column, &mut acc);
                    } else {
                        linear_column(&layer, map, x, &column, &mut acc);
                    }
                }
                let mut out = vec![0x55; out_features];
                linear_finish(&layer, &acc, &mut out, reference);
                prop_assert_eq!(&out, &expected);
            }
        }
    }

    #[test]
    fn input_must_be_flat() {
        let spec = LinearSpec {
            in_features: 4,
            out_features: 1,
            weights: &[1, 2, 3, 4],
            quant: QuantSpec {
                bias: &[0; 4],
                multipliers: &(1_i32 << 30).to_le_bytes(),
                shifts: &[1],
                input_zero_point: 0,
                output_zero_point: 0,
                activation_min: -128,
                activation_max: 127,
            },
        };
        assert_eq!(
            Linear::new(&spec, Shape::new(2, 2, 1), 0),
            Err(LayerError::Shape)
        );
        let layer = Linear::new(&spec, Shape::new(1, 1, 4), 0).unwrap();
        // 1·1 + 2·2 + 3·3 + 4·4 = 30, multiplier 1.0 (2^30, shift 1).
        let mut out = [0];
        linear(&layer, &[1, 2, 3, 4], &mut out);
        assert_eq!(out, [30]);
    }
}
