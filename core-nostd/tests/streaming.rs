//! Streaming inference against the layer-by-layer one (the reference twin rule): the reference
//! and compact architectures, random networks (kernels, strides, paddings, poolings, stacks, tails)
//! on random inputs, both kernel sets, column by column with the frames of several windows; and
//! the stream's errors.

mod common;

use common::{OwnedLayer, Rng};
use core_nostd::frontend::{BINS, WINDOW_FRAMES, WINDOW_SAMPLES};
use core_nostd::inference::{Kernels, classify, run_network, scratch_bytes as batch_scratch};
use core_nostd::model::Model;
use core_nostd::nn::Ratio;
use core_nostd::streaming::{
    self, NetworkStream, StreamConfig, StreamError, StreamingClassifier, classify_streaming,
    put_frame, scratch_bytes, state_bytes, window_starts, workspace_bytes,
};
use proptest::prelude::*;

fn layer_by_layer(model: &Model<'_>, input: &[i8]) -> core_nostd::inference::Output {
    let mut scratch = vec![0; batch_scratch(model)];
    classify(model, input, &mut scratch).unwrap()
}

fn streamed(
    model: &Model<'_>,
    input: &[i8],
    config: StreamConfig,
) -> core_nostd::inference::Output {
    let mut scratch = vec![0xA5; scratch_bytes(model, &config)];
    classify_streaming(model, input, &mut scratch, config).unwrap()
}

#[test]
fn reference_architecture_streams_to_the_same_bits() {
    let bytes = common::reference_model(11);
    let model = Model::parse(&bytes).unwrap();
    let input = common::feature_input(5);
    let expected = layer_by_layer(&model, &input);
    // Not degenerate: the logits differ between classes.
    assert!(
        expected
            .composers
            .logits()
            .iter()
            .any(|&l| l != expected.composers.logits()[0])
    );
    for panel_rows in [1, 7, 32, 1000] {
        let config = StreamConfig {
            panel_rows,
            kernels: Kernels::Optimized,
        };
        assert_eq!(
            streamed(&model, &input, config),
            expected,
            "panel_rows {panel_rows}"
        );
    }
    let reference = StreamConfig {
        kernels: Kernels::Reference,
        ..StreamConfig::default()
    };
    assert_eq!(streamed(&model, &input, reference), expected);
}

#[test]
fn compact_architecture_streams_to_the_same_bits() {
    let bytes = common::compact_model(3);
    let model = Model::parse(&bytes).unwrap();
    assert_eq!(model.stack(), 1);
    for seed in 0..3 {
        let input = common::feature_input_of(1, seed);
        let expected = layer_by_layer(&model, &input);
        assert_eq!(streamed(&model, &input, StreamConfig::default()), expected);
    }
}

#[test]
fn memory_of_the_two_architectures() {
    // The figures the module docs and bench/RESULTS.md quote.
    let reference = common::reference_model(1);
    let reference = Model::parse(&reference).unwrap();
    let compact = common::compact_model(1);
    let compact = Model::parse(&compact).unwrap();
    let config = StreamConfig::default();
    let network = reference.composer_network();
    for (name, model) in [("reference", &reference), ("compact", &compact)] {
        eprintln!(
            "{name}: state {} + {} bytes, workspace {} bytes, scratch {} bytes",
            state_bytes(model.composer_network()),
            state_bytes(model.instrument_network()),
            workspace_bytes(model.composer_network(), config.panel_rows),
            scratch_bytes(model, &config)
        );
    }
    // 7 linear accumulators (28 bytes), the weight sums of 256 conv channels (1,024), rings
    // 35,328 (conv 1: 7 columns of 128 × 4, conv 2: 5 of 128 × 16, ...), the staging column
    // 8 × 128, 7 logits, rounded to words, and 3 bytes of alignment slack.
    assert_eq!(state_bytes(network), 28 + 1_024 + 35_328 + 1_024 + 8 + 3);
    // The largest workspace is conv 5's: 16 rows and the prepared weight pair (as much as 4 rows),
    // K = 576 codes.
    assert_eq!(workspace_bytes(network, config.panel_rows), (16 + 4) * 576);
    assert_eq!(scratch_bytes(&reference, &config), 86_369);
    assert_eq!(scratch_bytes(&compact, &config), 37_953);
    // Against the whole-map plan.
    assert_eq!(batch_scratch(&reference), 509_377);
}

#[test]
fn frames_of_stacked_windows_make_the_columns() {
    // put_frame + push_column, as the firmware does, equal classify on the stacked planes.
    let bytes = common::reference_model(2);
    let model = Model::parse(&bytes).unwrap();
    let input = common::feature_input(9);
    let mut scratch = vec![0; scratch_bytes(&model, &StreamConfig::default())];
    let mut stream =
        StreamingClassifier::new(&model, &mut scratch, StreamConfig::default()).unwrap();
    assert_eq!(
        (stream.column_len(), stream.width()),
        (4 * BINS, WINDOW_FRAMES)
    );
    let mut column = vec![0; stream.column_len()];
    for round in 0..2 {
        for x in 0..WINDOW_FRAMES {
            for window in 0..4 {
                let plane = &input[window * BINS * WINDOW_FRAMES..][..BINS * WINDOW_FRAMES];
                let frame: [i8; BINS] = std::array::from_fn(|bin| plane[bin * WINDOW_FRAMES + x]);
                put_frame(&mut column, 4, window, &frame);
            }
            stream.push_column(&column).unwrap();
            assert_eq!(stream.pushed(), x + 1);
        }
        assert_eq!(
            stream.finish().unwrap(),
            layer_by_layer(&model, &input),
            "round {round}"
        );
        stream.reset();
    }
}

#[test]
fn errors() {
    let bytes = common::compact_model(4);
    let model = Model::parse(&bytes).unwrap();
    let config = StreamConfig::default();
    let needed = scratch_bytes(&model, &config);
    let mut small = vec![0; needed - 1];
    assert_eq!(
        StreamingClassifier::new(&model, &mut small, config).err(),
        Some(StreamError::ScratchTooSmall {
            needed,
            provided: needed - 1
        })
    );
    let mut scratch = vec![0; needed];
    assert_eq!(
        classify_streaming(&model, &[0; 5], &mut scratch, config),
        Err(StreamError::WrongInputLength {
            expected: BINS * WINDOW_FRAMES,
            provided: 5
        })
    );
    let mut stream = StreamingClassifier::new(&model, &mut scratch, config).unwrap();
    assert_eq!(
        stream.push_column(&[0; 3]),
        Err(StreamError::WrongColumnLength {
            expected: BINS,
            provided: 3
        })
    );
    assert_eq!(
        stream.finish(),
        Err(StreamError::Incomplete {
            width: WINDOW_FRAMES,
            pushed: 0
        })
    );
    for _ in 0..WINDOW_FRAMES {
        stream.push_column(&[1; BINS]).unwrap();
    }
    assert_eq!(
        stream.push_column(&[1; BINS]),
        Err(StreamError::TooManyColumns {
            width: WINDOW_FRAMES
        })
    );
    assert!(stream.finish().is_ok());

    // A network stream checks its workspace and state.
    let network = model.composer_network();
    let mut state = vec![0; state_bytes(network)];
    let mut stream = NetworkStream::new(network, &mut state, config).unwrap();
    let words = workspace_bytes(network, config.panel_rows) / 4;
    let mut workspace = vec![0_u32; words - 1];
    assert_eq!(
        stream.push_column(&[0; BINS], &mut workspace),
        Err(StreamError::WorkspaceTooSmall {
            needed: 4 * words,
            provided: 4 * words - 4
        })
    );
    let mut state = vec![0; state_bytes(network) - 1];
    assert!(matches!(
        NetworkStream::new(network, &mut state, config),
        Err(StreamError::ScratchTooSmall { .. })
    ));
}

#[test]
fn window_starts_spread_over_the_clip() {
    let w = WINDOW_SAMPLES;
    assert_eq!(window_starts(w, 4).collect::<Vec<_>>(), [0, 0, 0, 0]);
    assert_eq!(window_starts(100, 2).collect::<Vec<_>>(), [0, 0]);
    assert_eq!(
        window_starts(4 * w, 4).collect::<Vec<_>>(),
        [0, w, 2 * w, 3 * w]
    );
    assert_eq!(window_starts(w + 10, 3).collect::<Vec<_>>(), [0, 5, 10]);
    assert_eq!(window_starts(10 * w, 1).collect::<Vec<_>>(), [0]);
    assert_eq!(window_starts(10 * w, 0).count(), 0);
}

/// A random network over the `stack × 128 × 312` input: up to four convolutions and poolings
/// (random kernels, strides, paddings, channels), then a tail: flatten + linear, flatten + two
/// linears, or (no spatial prefix) pooling the whole plane.
fn random_network(rng: &mut Rng, stack: u32, classes: u32, plan: &[u64]) -> Vec<OwnedLayer> {
    let mut layers = Vec::new();
    let (mut h, mut w, mut c) = (BINS as u32, WINDOW_FRAMES as u32, stack);
    let mut zero_point: i8 = 0;
    let mut pick = plan.iter().copied();
    let mut next = |n: u64| pick.next().unwrap_or(0) % n;
    for i in 0..next(5) {
        if i > 0 && next(3) == 0 {
            let k = [1 + next(3) as u32, 1 + next(3) as u32];
            let s = [1 + next(3) as u32, 1 + next(3) as u32];
            if k[0] > h || k[1] > w {
                continue;
            }
            layers.push(OwnedLayer::MaxPool2dStrided(k, s));
            (h, w) = ((h - k[0]) / s[0] + 1, (w - k[1]) / s[1] + 1);
        } else {
            let k = [1 + next(5) as u32, 1 + next(8) as u32];
            // The first layer strides a lot, to keep the test fast.
            let s = if i == 0 {
                [2 + next(3) as u32, 2 + next(4) as u32]
            } else {
                [1 + next(3) as u32, 1 + next(3) as u32]
            };
            let p = [next(u64::from(k[0])) as u32, next(u64::from(k[1])) as u32];
            if k[0] > h + 2 * p[0] || k[1] > w + 2 * p[1] {
                continue;
            }
            let out = 1 + next(6) as u32;
            let zp = -100 + next(60) as i8;
            layers.push(OwnedLayer::random_conv(
                rng,
                [c, out],
                k,
                s,
                p,
                (zero_point, zp),
                40.0,
            ));
            (h, w, c) = (
                (h + 2 * p[0] - k[0]) / s[0] + 1,
                (w + 2 * p[1] - k[1]) / s[1] + 1,
                out,
            );
            zero_point = zp;
        }
    }
    let features = h * w * c;
    match next(3) {
        // Whole-plane pooling (also when the flattened map is too large for one linear layer).
        _ if features > 60_000 => {
            layers.push(OwnedLayer::MaxPool2dStrided([h, w], [1, 1]));
            layers.push(OwnedLayer::Flatten);
            layers.push(OwnedLayer::random_linear(
                rng,
                [c, classes],
                (zero_point, 0),
            ));
        }
        1 => {
            layers.push(OwnedLayer::Flatten);
            layers.push(OwnedLayer::random_linear(
                rng,
                [features, 8],
                (zero_point, -20),
            ));
            layers.push(OwnedLayer::random_linear(rng, [8, classes], (-20, 0)));
        }
        _ => {
            layers.push(OwnedLayer::Flatten);
            layers.push(OwnedLayer::random_linear(
                rng,
                [features, classes],
                (zero_point, 0),
            ));
        }
    }
    layers
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn random_networks_stream_to_the_same_bits(
        stack in 1_u32..4,
        plan in proptest::collection::vec(any::<u64>(), 40),
        seed in any::<u64>(),
        panel_rows in 1_usize..40,
    ) {
        let mut rng = Rng::new(seed);
        let composers = random_network(&mut rng, stack, 3, &plan);
        let instruments = random_network(&mut rng, stack, 2, &plan[20..]);
        let bytes = common::encode_model(
            &["a", "b", "c"],
            &["x", "y"],
            stack,
            &composers,
            &instruments,
            [Ratio::new(1, 16), Ratio::new(1, 8)],
        );
        let model = Model::parse(&bytes).unwrap();
        let input = common::feature_input_of(stack as usize, seed);
        let expected = layer_by_layer(&model, &input);
        for kernels in [Kernels::Optimized, Kernels::Reference] {
            let config = StreamConfig { panel_rows, kernels };
            prop_assert_eq!(&streamed(&model, &input, config), &expected);
        }
        // Each network alone through a NetworkStream equals run_network.
        let network = model.composer_network();
        let mut scratch = vec![0; core_nostd::inference::network_scratch_bytes(network)];
        let logits = run_network(network, &input, &mut scratch, Kernels::Optimized).unwrap();
        let config = StreamConfig::default();
        let mut state = vec![0; state_bytes(network)];
        let mut workspace = vec![0_u32; workspace_bytes(network, config.panel_rows) / 4];
        let mut stream = NetworkStream::new(network, &mut state, config).unwrap();
        let s = stack as usize;
        for x in 0..WINDOW_FRAMES {
            let column: Vec<i8> = (0..BINS * s)
                .map(|i| input[(i % s) * BINS * WINDOW_FRAMES + (i / s) * WINDOW_FRAMES + x])
                .collect();
            stream.push_column(&column, &mut workspace).unwrap();
        }
        prop_assert_eq!(stream.finish(&mut workspace).unwrap(), logits);
    }
}

#[test]
fn the_module_is_linked() {
    // Constants the firmware relies on.
    assert_eq!(streaming::MAX_COLUMN_LEN, 128 * 16);
    assert_eq!(streaming::DEFAULT_PANEL_ROWS, 16);
}
