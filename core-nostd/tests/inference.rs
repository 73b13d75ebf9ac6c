//! End-to-end inference: a tiny hand-built model with a hand-computed output, the reference
//! architecture with optimized vs reference kernels, scratch and input checks, a golden hash.

mod common;

use common::{OwnedLayer, OwnedQuant};
use core_nostd::frontend::{BINS, WINDOW_FRAMES};
use core_nostd::inference::{
    InferenceError, Kernels, classify, classify_with, flash_bytes, macs, network_scratch_bytes,
    scratch_bytes,
};
use core_nostd::model::Model;
use core_nostd::nn::Ratio;

/// 1.0 as (Q31 multiplier, shift) and 0.5.
const ONE: (i32, i8) = (1 << 30, 1);
const HALF: (i32, i8) = (1 << 30, 0);

/// Composers: conv 1→2 (1×1, weights +1 and −1, multiplier 0.5) → global max pool → flatten →
/// linear 2→3. Instruments: global max pool → flatten → linear 1→2 (weights +1, −1).
fn tiny_model() -> Vec<u8> {
    let composers = vec![
        OwnedLayer::Conv2d {
            in_channels: 1,
            out_channels: 2,
            kernel: [1, 1],
            stride: [1, 1],
            padding: [0, 0],
            weights: vec![1, (-1_i8) as u8],
            quant: OwnedQuant::new(&[0, 0], &[HALF, HALF], (0, 0), (-128, 127)),
        },
        OwnedLayer::MaxPool2d([BINS as u32, WINDOW_FRAMES as u32]),
        OwnedLayer::Flatten,
        OwnedLayer::Linear {
            in_features: 2,
            out_features: 3,
            weights: vec![1, 0, 0, 1, 1, 1],
            quant: OwnedQuant::new(&[0, 0, 5], &[ONE, ONE, ONE], (0, -10), (-128, 127)),
        },
    ];
    let instruments = vec![
        OwnedLayer::MaxPool2d([BINS as u32, WINDOW_FRAMES as u32]),
        OwnedLayer::Flatten,
        OwnedLayer::Linear {
            in_features: 1,
            out_features: 2,
            weights: vec![1, (-1_i8) as u8],
            quant: OwnedQuant::new(&[0, 0], &[ONE, ONE], (0, 0), (-128, 127)),
        },
    ];
    common::encode_model(
        &["a", "b", "c"],
        &["x", "y"],
        1,
        &composers,
        &instruments,
        [Ratio::new(1, 16), Ratio::new(1, 32)],
    )
}

#[test]
fn tiny_model_gives_the_hand_computed_output() {
    let bytes = tiny_model();
    let model = Model::parse(&bytes).unwrap();
    assert_eq!(model.composers(), ["a", "b", "c"]);
    assert_eq!(model.instruments(), ["x", "y"]);
    assert_eq!(model.input_len(), BINS * WINDOW_FRAMES);
    // One plane, all zero except two codes.
    let mut input = vec![0_i8; BINS * WINDOW_FRAMES];
    input[5 * WINDOW_FRAMES + 7] = 101;
    input[100 * WINDOW_FRAMES + 300] = -60;
    let mut scratch = vec![0_u8; scratch_bytes(&model)];
    let output = classify(&model, &input, &mut scratch).unwrap();

    // Conv channel 0 = x/2, channel 1 = −x/2, rounded with ties up (SRDHM):
    //   max over the plane: ch0 = max(round(50.5), 0) = 51, ch1 = max(round(30), round(−50.5) = −50, 0) = 30.
    // Linear (multiplier 1, z_out −10): [51, 30, 51 + 30 + 5] − 10 = [41, 20, 76].
    assert_eq!(output.composers.logits(), [41, 20, 76]);
    // Softmax at scale 1/16 of [2.5625, 1.25, 4.75]: [0.0982, 0.0264, 0.8754] · 32768.
    assert_eq!(output.composers.probabilities_q15(), [3218, 866, 28684]);
    assert_eq!(output.composers.best(), Some(2));
    // Instruments: max = 101 → logits [101, −101]; sigmoid(±101/32) · 32768 = 31429.6, 1338.4.
    assert_eq!(output.instruments.logits(), [101, -101]);
    assert_eq!(output.instruments.probabilities_q15(), [31430, 1338]);

    // The reference kernels give the same bytes.
    let reference = classify_with(&model, &input, &mut scratch, Kernels::Reference).unwrap();
    assert_eq!(reference, output);
}

#[test]
fn wrong_input_and_small_scratch_are_refused() {
    let bytes = tiny_model();
    let model = Model::parse(&bytes).unwrap();
    let needed = scratch_bytes(&model);
    let input = vec![0_i8; model.input_len()];
    let mut scratch = vec![0_u8; needed + 1];
    assert_eq!(
        classify(&model, &input[1..], &mut scratch),
        Err(InferenceError::WrongInputLength {
            expected: model.input_len(),
            provided: model.input_len() - 1
        })
    );
    assert_eq!(
        classify(&model, &input, &mut scratch[..needed - 1]),
        Err(InferenceError::ScratchTooSmall {
            needed,
            provided: needed - 1
        })
    );
    // Exactly enough, at either alignment, works.
    let a = classify(&model, &input, &mut scratch[..needed]).unwrap();
    let b = classify(&model, &input, &mut scratch[1..]).unwrap();
    assert_eq!(a, b);
    assert!(
        !InferenceError::ScratchTooSmall {
            needed,
            provided: 0
        }
        .to_string()
        .is_empty()
    );
}

/// FNV-1a over bytes.
fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[test]
fn reference_architecture_optimized_equals_reference_kernels() {
    let bytes = common::reference_model(1);
    let model = Model::parse(&bytes).unwrap();
    assert_eq!(model.stack(), 4);
    let needed = scratch_bytes(&model);
    assert_eq!(needed, network_scratch_bytes(model.composer_network()));
    // First convolution: input 159,744 + output 319,488 + workspace (1 + 156) · 96 · 2 + 1.
    assert_eq!(needed, 509_377);
    assert_eq!(flash_bytes(&model), bytes.len());
    // conv1 26,836,992 + conv2 19,169,280 + conv3 23,003,136 + conv4 23,003,136
    // + conv5 22,413,312 + linear 9,216 · 7.
    assert_eq!(macs(model.composer_network()), 114_490_368);
    let mut scratch = vec![0_u8; needed];
    let mut hash_input = Vec::new();
    for seed in [7, 8] {
        let input = common::feature_input(seed);
        let fast = classify(&model, &input, &mut scratch).unwrap();
        let reference = classify_with(&model, &input, &mut scratch, Kernels::Reference).unwrap();
        assert_eq!(fast, reference, "input seed {seed}");
        // The logits are not degenerate (all clamped to one value).
        let logits = fast.composers.logits();
        assert!(logits.iter().any(|&l| l != logits[0]), "{logits:?}");
        hash_input.extend(fast.composers.logits().iter().map(|&l| l as u8));
        hash_input.extend(fast.instruments.logits().iter().map(|&l| l as u8));
        for p in fast
            .composers
            .probabilities_q15()
            .iter()
            .chain(fast.instruments.probabilities_q15())
        {
            hash_input.extend(p.to_le_bytes());
        }
    }
    // Golden value: any change to the arithmetic (or to the test model) changes it. The firmware
    // build must reproduce it bit for bit.
    assert_eq!(fnv1a(hash_input), GOLDEN_OUTPUT_HASH);
}

/// FNV-1a of the outputs of [`reference_architecture_optimized_equals_reference_kernels`].
const GOLDEN_OUTPUT_HASH: u64 = 12_882_208_958_973_244_771;
