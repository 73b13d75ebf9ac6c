//! Round trip: a float network → calibration → int8 file → the core's inference, compared with
//! the float forward pass on the same inputs.

use super::calibrate::{RangeMethod, calibrate};
use super::float::{FloatConv, FloatNetwork};
use super::int8::{encode_model, quantize};
use core_nostd::frontend::{BINS, WINDOW_FRAMES};
use core_nostd::inference::{Kernels, classify_with, scratch_bytes};
use core_nostd::model::Model;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random_conv(
    rng: &mut ChaCha8Rng,
    c: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    pool: bool,
) -> FloatConv {
    let fan_in = c[0] * kernel[0] * kernel[1];
    let bound = 1.0 / (fan_in as f32).sqrt();
    FloatConv {
        in_channels: c[0],
        out_channels: c[1],
        kernel,
        stride,
        weight: (0..c[1] * fan_in)
            .map(|_| rng.random_range(-bound..bound))
            .collect(),
        bias: (0..c[1]).map(|_| rng.random_range(-0.1..0.1)).collect(),
        pool,
    }
}

/// A small network over one full window (1 × 128 × 312), shaped like the compact model.
fn small_network(seed: u64, classes: usize) -> FloatNetwork {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let convs = vec![
        random_conv(&mut rng, [1, 4], [3, 7], [2, 4], false),
        random_conv(&mut rng, [4, 8], [3, 5], [2, 2], true),
        random_conv(&mut rng, [8, 8], [3, 3], [1, 1], true),
    ];
    let mut net = FloatNetwork {
        input: [1, BINS, WINDOW_FRAMES],
        convs,
        head_weight: Vec::new(),
        head_bias: (0..classes).map(|_| rng.random_range(-0.1..0.1)).collect(),
    };
    let [c, h, w] = net.last_map();
    let n = c * h * w;
    let bound = 3.0 / (n as f32).sqrt();
    net.head_weight = (0..classes * n)
        .map(|_| rng.random_range(-bound..bound))
        .collect();
    net
}

/// Feature-like codes: louder low bins, noise, some silence.
fn codes(seed: u64) -> Vec<i8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..BINS * WINDOW_FRAMES)
        .map(|i| {
            let bin = (i / WINDOW_FRAMES) as i32;
            (40 - bin + rng.random_range(-40..40)).clamp(-128, 127) as i8
        })
        .collect()
}

fn floats(codes: &[i8]) -> Vec<f32> {
    codes.iter().map(|&c| f32::from(c) / 128.0).collect()
}

#[test]
fn int8_logits_track_the_float_network_and_both_kernel_sets_agree() {
    let composer = small_network(1, 5);
    let instrument = small_network(2, 3);
    let calibration: Vec<Vec<f32>> = (0..12).map(|s| floats(&codes(100 + s))).collect();
    let q_composer = quantize(
        &composer,
        &calibrate(&composer, &calibration, RangeMethod::MinMax),
    )
    .unwrap();
    let q_instrument = quantize(
        &instrument,
        &calibrate(&instrument, &calibration, RangeMethod::Percentile(99.99)),
    )
    .unwrap();
    let names = |n: usize| (0..n).map(|i| format!("class {i}")).collect::<Vec<_>>();
    let bytes = encode_model(&names(5), &names(3), 1, &q_composer, &q_instrument).unwrap();
    let model = Model::parse(&bytes).unwrap();
    assert_eq!(model.composers().len(), 5);
    assert_eq!(model.instruments()[2], "class 2");
    let mut scratch = vec![0_u8; scratch_bytes(&model)];
    let scale = q_composer.logit_scale.to_f64();
    let zero = model.composer_network().logit_zero_point();
    let (mut worst, mut top1) = (0.0_f64, 0);
    let tests = 20;
    for s in 0..tests {
        let input = codes(1000 + s);
        let fast = classify_with(&model, &input, &mut scratch, Kernels::Optimized).unwrap();
        let slow = classify_with(&model, &input, &mut scratch, Kernels::Reference).unwrap();
        assert_eq!(
            fast, slow,
            "optimized and reference kernels give the same bits"
        );
        let float = composer.forward(&floats(&input));
        let range = float.iter().fold(0.0_f32, |m, v| m.max(v.abs())) as f64;
        for (q, f) in fast.composers.logits().iter().zip(&float) {
            let dequantized = scale * (f64::from(*q) - f64::from(zero));
            worst = worst.max((dequantized - f64::from(*f)).abs() / range.max(1e-3));
        }
        let float_best = float
            .iter()
            .enumerate()
            .fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b })
            .0;
        top1 += usize::from(fast.composers.best() == Some(float_best));
    }
    assert!(
        worst < 0.1,
        "int8 logits within 10% of the float logits' range: {worst}"
    );
    assert!(top1 >= tests as usize - 2, "top-1 agrees on {top1}/{tests}");
}

#[test]
fn a_diverged_network_or_mismatched_ranges_are_refused() {
    let net = small_network(3, 2);
    let inputs = vec![floats(&codes(5))];
    let ranges = calibrate(&net, &inputs, RangeMethod::MinMax);
    let mut broken = net.clone();
    broken.convs[1].weight[0] = f32::NAN;
    assert!(quantize(&broken, &ranges).is_err());
    let mut short = ranges.clone();
    short.block_max.pop();
    assert!(quantize(&net, &short).is_err());
}
