//! Activation ranges for quantization, measured by running the float network over calibration
//! inputs (training windows): for every conv block the upper end of its ReLU output, and the
//! logits' range.
//!
//! Two methods ([`RangeMethod`]): `minmax` takes the largest value seen (nothing clips on the
//! calibration data, but one outlier coarsens every other value's step); `percentile:P` takes
//! the P-th percentile of all of a block's output values (zeros included, as histogram
//! calibrators do), clipping the rarest peaks for a finer step. Logits always use min/max: they
//! are few, and clipping them would change decisions.

use super::float::FloatNetwork;
use std::fmt;
use std::str::FromStr;

/// How a block's output range is chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RangeMethod {
    /// The largest value seen.
    MinMax,
    /// The given percentile (0 < P ≤ 100) of all values seen.
    Percentile(f64),
}

impl FromStr for RangeMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "minmax" {
            return Ok(Self::MinMax);
        }
        let p = s
            .strip_prefix("percentile:")
            .and_then(|p| p.parse::<f64>().ok())
            .filter(|p| *p > 0.0 && *p <= 100.0)
            .ok_or_else(|| {
                format!("{s:?}: expected `minmax` or `percentile:P` with 0 < P <= 100")
            })?;
        Ok(Self::Percentile(p))
    }
}

impl fmt::Display for RangeMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MinMax => write!(f, "minmax"),
            Self::Percentile(p) => write!(f, "percentile:{p}"),
        }
    }
}

/// The measured ranges of one network.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ActivationRanges {
    /// Upper end of every block's ReLU output (the lower end is 0).
    pub block_max: Vec<f32>,
    /// Smallest and largest logit seen.
    pub logits: (f32, f32),
    /// Inputs measured.
    pub inputs: usize,
}

/// Values kept per block for a percentile: at most this many, taken at an even stride.
const PERCENTILE_SAMPLE: usize = 1 << 22;

/// Runs `network` over every input (CHW floats) and measures its ranges with `method`.
/// Cost: one float forward per input (about 0.1 s per reference network), plus for percentiles
/// a sample of up to 4 Mi values per block, sorted once.
///
/// # Panics
/// If an input has the wrong length (a caller bug).
#[must_use]
pub fn calibrate(
    network: &FloatNetwork,
    inputs: &[Vec<f32>],
    method: RangeMethod,
) -> ActivationRanges {
    let blocks = network.convs.len();
    let mut block_max = vec![0.0_f32; blocks];
    let mut samples: Vec<Vec<f32>> = vec![Vec::new(); blocks];
    let mut logits = (f32::INFINITY, f32::NEG_INFINITY);
    for input in inputs {
        let out = network.forward_visit(input, |i, values| {
            block_max[i] = values.iter().copied().fold(block_max[i], f32::max);
            if matches!(method, RangeMethod::Percentile(_)) {
                let stride = (values.len() * inputs.len())
                    .div_ceil(PERCENTILE_SAMPLE)
                    .max(1);
                samples[i].extend(values.iter().step_by(stride));
            }
        });
        for &l in &out {
            logits = (logits.0.min(l), logits.1.max(l));
        }
    }
    if let RangeMethod::Percentile(p) = method {
        for (max, sample) in block_max.iter_mut().zip(&mut samples) {
            if sample.is_empty() {
                continue;
            }
            sample.sort_unstable_by(f32::total_cmp);
            let rank = ((p / 100.0) * (sample.len() - 1) as f64).round() as usize;
            *max = sample[rank.min(sample.len() - 1)];
        }
    }
    if inputs.is_empty() {
        logits = (0.0, 0.0);
    }
    ActivationRanges {
        block_max,
        logits,
        inputs: inputs.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantize::float::FloatConv;

    fn identity_network() -> FloatNetwork {
        // One 1×1 "convolution" that copies its input, and a head summing everything.
        FloatNetwork {
            input: [1, 2, 2],
            convs: vec![FloatConv {
                in_channels: 1,
                out_channels: 1,
                kernel: [1, 1],
                stride: [1, 1],
                weight: vec![1.0],
                bias: vec![0.0],
                pool: false,
            }],
            head_weight: vec![1.0; 4],
            head_bias: vec![0.0],
        }
    }

    #[test]
    fn minmax_takes_the_extremes_and_percentile_clips_outliers() {
        let net = identity_network();
        let mut inputs: Vec<Vec<f32>> = (0..100).map(|i| vec![i as f32 / 100.0; 4]).collect();
        inputs.push(vec![50.0, 0.0, 0.0, 0.0]);
        let minmax = calibrate(&net, &inputs, RangeMethod::MinMax);
        assert_eq!(minmax.block_max, vec![50.0]);
        assert_eq!(minmax.logits, (0.0, 50.0));
        assert_eq!(minmax.inputs, 101);
        let p = calibrate(&net, &inputs, RangeMethod::Percentile(99.0));
        assert!(
            p.block_max[0] < 1.0,
            "the one outlier is clipped: {}",
            p.block_max[0]
        );
        assert!(p.block_max[0] > 0.9);
        assert_eq!(p.logits, minmax.logits, "logits are always min/max");
    }

    #[test]
    fn methods_parse_and_print() {
        assert_eq!("minmax".parse::<RangeMethod>(), Ok(RangeMethod::MinMax));
        assert_eq!(
            "percentile:99.99".parse::<RangeMethod>(),
            Ok(RangeMethod::Percentile(99.99))
        );
        assert!("percentile:0".parse::<RangeMethod>().is_err());
        assert!("percentile:101".parse::<RangeMethod>().is_err());
        assert!("max".parse::<RangeMethod>().is_err());
        assert_eq!(RangeMethod::Percentile(99.9).to_string(), "percentile:99.9");
    }
}
