//! The model file: round trip, byte layout, and one test per class of malformed file (including
//! every truncation and every single-byte corruption of a small file, which must give an error,
//! never a panic and never a model).

mod common;

use common::{OwnedLayer, OwnedQuant};
use core_nostd::frontend::{BINS, WINDOW_FRAMES};
use core_nostd::model::spec::{
    Conv2dSpec, FrontEndSpec, InputSpec, LayerSpec, MaxPool2dSpec, ModelSpec, NetworkSpec,
    QuantSpec,
};
use core_nostd::model::{
    CHECKSUM_LEN, FORMAT_VERSION, HEADER_LEN, Layer, Limit, MAGIC, MAX_CLASSES, MAX_LABEL_BYTES,
    MAX_LAYERS, Model, ModelError, NetworkId, encode, encoded_len, file_len,
};
use core_nostd::nn::{Ratio, Shape};
use proptest::prelude::*;

/// CRC-32 (ISO-HDLC), bit by bit: an implementation independent of the `crc` crate.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0_u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A file around `payload` with a given version and a correct CRC.
fn seal(version: u16, payload: &[u8]) -> Vec<u8> {
    let mut file = MAGIC.to_vec();
    file.extend(version.to_le_bytes());
    file.extend(u32::try_from(payload.len()).unwrap().to_le_bytes());
    file.extend(payload);
    let crc = crc32(&file);
    file.extend(crc.to_le_bytes());
    file
}

/// The payload of a file.
fn payload(file: &[u8]) -> &[u8] {
    &file[HEADER_LEN..file.len() - CHECKSUM_LEN]
}

/// A small valid model: both networks are a 1×1 convolution, a 4×4 max pool, a global max
/// pool, a flatten and a linear layer.
fn small_layers(classes: u32) -> Vec<OwnedLayer> {
    let one = (1 << 30, 1);
    vec![
        OwnedLayer::Conv2d {
            in_channels: 2,
            out_channels: 2,
            kernel: [1, 1],
            stride: [1, 1],
            padding: [0, 0],
            weights: vec![1, 2, 3, 4],
            quant: OwnedQuant::new(&[0, 1], &[one, one], (0, -128), (-128, 127)),
        },
        OwnedLayer::MaxPool2d([4, 4]),
        OwnedLayer::MaxPool2d([32, 78]),
        OwnedLayer::Flatten,
        OwnedLayer::Linear {
            in_features: 2,
            out_features: classes,
            weights: (0..2 * classes).map(|i| i as u8).collect(),
            quant: OwnedQuant::new(
                &vec![7; classes as usize],
                &vec![one; classes as usize],
                (-128, 3),
                (-128, 127),
            ),
        },
    ]
}

fn small_model() -> Vec<u8> {
    common::encode_model(
        &["Bach", "Mozart"],
        &["piano", "violin", "cello"],
        2,
        &small_layers(2),
        &small_layers(3),
        [Ratio::new(1, 10), Ratio::new(3, 40)],
    )
}

/// Owned parts of a spec that tests modify before encoding.
struct Parts {
    composers: Vec<&'static str>,
    instruments: Vec<&'static str>,
    front_end: FrontEndSpec,
    input: InputSpec,
    composer_layers: Vec<OwnedLayer>,
    instrument_layers: Vec<OwnedLayer>,
    scales: [Ratio; 2],
}

impl Parts {
    fn new() -> Self {
        Self {
            composers: vec!["Bach", "Mozart"],
            instruments: vec!["piano", "violin", "cello"],
            front_end: FrontEndSpec::CURRENT,
            input: InputSpec {
                stack: 2,
                scale: InputSpec::SCALE,
                zero_point: 0,
            },
            composer_layers: small_layers(2),
            instrument_layers: small_layers(3),
            scales: [Ratio::new(1, 10), Ratio::new(3, 40)],
        }
    }

    /// Calls `f` with the spec, after a caller's edit of the composer layers.
    fn with_spec<'s, R>(
        &'s self,
        edit: impl FnOnce(&mut Vec<LayerSpec<'s>>),
        f: impl FnOnce(&ModelSpec<'_>) -> R,
    ) -> R {
        let mut composer: Vec<LayerSpec<'s>> =
            self.composer_layers.iter().map(OwnedLayer::spec).collect();
        edit(&mut composer);
        let instrument: Vec<LayerSpec<'_>> = self
            .instrument_layers
            .iter()
            .map(OwnedLayer::spec)
            .collect();
        f(&ModelSpec {
            composers: &self.composers,
            instruments: &self.instruments,
            front_end: self.front_end,
            input: self.input,
            composer_network: NetworkSpec {
                layers: &composer,
                logit_scale: self.scales[0],
            },
            instrument_network: NetworkSpec {
                layers: &instrument,
                logit_scale: self.scales[1],
            },
        })
    }

    /// Encodes with a caller's edit of the layer specs; returns encode's result (which parses
    /// its own output) and checks that parsing the bytes gives the same.
    fn encode_with<'s>(
        &'s self,
        edit: impl FnOnce(&mut Vec<LayerSpec<'s>>),
    ) -> Result<Model<'static>, ModelError> {
        let bytes = self.with_spec(edit, |spec| {
            let mut bytes = vec![0; encoded_len(spec).unwrap()];
            let written = encode(spec, &mut bytes);
            (bytes, written)
        });
        let (bytes, written) = bytes;
        // encode reports exactly what parse says about the written bytes.
        let parsed = Model::parse(&bytes).map(|_| bytes.len());
        assert_eq!(written, parsed);
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        written.and_then(|_| Model::parse(bytes))
    }

    fn encode(&self) -> Result<Model<'static>, ModelError> {
        self.encode_with(|_| {})
    }
}

#[test]
fn round_trip_and_accessors() {
    let bytes = small_model();
    let model = Model::parse(&bytes).unwrap();
    assert_eq!(model.composers(), ["Bach", "Mozart"]);
    assert_eq!(model.instruments(), ["piano", "violin", "cello"]);
    assert_eq!(model.stack(), 2);
    assert_eq!(model.input_len(), 2 * BINS * WINDOW_FRAMES);
    assert_eq!(model.file_len(), bytes.len());
    let net = model.composer_network();
    assert_eq!(net.id(), NetworkId::Composer);
    assert_eq!(net.input_shape(), Shape::new(BINS, WINDOW_FRAMES, 2));
    assert_eq!(net.layers().len(), 5);
    assert_eq!(net.layers()[1].output_shape(), Shape::new(32, 78, 2));
    assert_eq!(net.layers()[3].output_shape(), Shape::new(1, 1, 2));
    assert!(matches!(net.layers()[3], Layer::Flatten { .. }));
    assert_eq!(net.classes(), 2);
    assert_eq!(net.logit_scale(), Ratio::new(1, 10));
    assert_eq!(net.logit_zero_point(), 3);
    assert_eq!(model.instrument_network().classes(), 3);
    assert_eq!(net.macs(), (BINS * WINDOW_FRAMES * 4 + 4) as u64);
    // Weights are borrowed from the file, not copied.
    let Layer::Conv2d(conv) = &net.layers()[0] else {
        panic!()
    };
    assert_eq!(conv.kernel(), [1, 1]);
    assert!(conv.quantization().output().is_relu());
    // Header layout.
    assert_eq!(&bytes[..8], b"\x89CMPCLS\n");
    assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), FORMAT_VERSION);
    let n = u32::from_le_bytes(bytes[10..14].try_into().unwrap()) as usize;
    assert_eq!(bytes.len(), HEADER_LEN + n + CHECKSUM_LEN);
    assert_eq!(
        crc32(&bytes[..bytes.len() - 4]).to_le_bytes(),
        bytes[bytes.len() - 4..]
    );
    // The payload starts with the composer labels: count 2, "Bach" (4 bytes), "Mozart".
    assert_eq!(&bytes[14..20], b"\x02\x04Bach");
    // Encoding is deterministic.
    assert_eq!(small_model(), bytes);
}

#[test]
fn region_larger_than_the_file() {
    let bytes = small_model();
    let mut region = bytes.clone();
    region.extend([0xff; 100]);
    assert_eq!(Model::parse(&region), Err(ModelError::TrailingBytes));
    let len = file_len(&region).unwrap();
    assert_eq!(len, bytes.len());
    assert!(Model::parse(&region[..len]).is_ok());
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = small_model();
    for len in 0..bytes.len() {
        let result = Model::parse(&bytes[..len]);
        assert_eq!(result.err(), Some(ModelError::Truncated), "length {len}");
    }
}

#[test]
fn every_single_byte_corruption_is_an_error() {
    let bytes = small_model();
    let mut corrupt = bytes.clone();
    for i in 0..bytes.len() {
        for flip in [0x01, 0x80, 0xff] {
            corrupt[i] ^= flip;
            let error = Model::parse(&corrupt).expect_err("corruption accepted");
            let expected = match i {
                0..8 => matches!(error, ModelError::BadMagic),
                8..10 => matches!(error, ModelError::UnsupportedVersion { .. }),
                10..14 => matches!(error, ModelError::Truncated | ModelError::TrailingBytes),
                _ => matches!(error, ModelError::BadChecksum { .. }),
            };
            assert!(expected, "byte {i} ^ {flip:#x}: {error:?}");
            corrupt[i] ^= flip;
        }
    }
}

#[test]
fn header_errors() {
    let bytes = small_model();
    assert_eq!(Model::parse(b""), Err(ModelError::Truncated));
    assert_eq!(Model::parse(b"\x89CMP"), Err(ModelError::Truncated));
    assert_eq!(Model::parse(b"GIF89a"), Err(ModelError::BadMagic));
    let v2 = seal(2, payload(&bytes));
    assert_eq!(
        Model::parse(&v2),
        Err(ModelError::UnsupportedVersion { found: 2 })
    );
    let mut bad = bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(matches!(
        Model::parse(&bad),
        Err(ModelError::BadChecksum { stored, computed }) if stored != computed
    ));
    let mut too_small = vec![0; bytes.len() - 1];
    let result = Parts::new().with_spec(|_| {}, |spec| encode(spec, &mut too_small));
    assert_eq!(
        result,
        Err(ModelError::BufferTooSmall {
            needed: bytes.len(),
            provided: bytes.len() - 1
        })
    );
}

#[test]
fn malformed_payloads() {
    let bytes = small_model();
    let good = payload(&bytes).to_vec();
    // A byte left over after the payload's value.
    let mut longer = good.clone();
    longer.push(0);
    assert_eq!(Model::parse(&seal(1, &longer)), Err(ModelError::Malformed));
    // Cut short inside the payload (but sealed, so the CRC is right).
    assert_eq!(
        Model::parse(&seal(1, &good[..good.len() - 3])),
        Err(ModelError::Malformed)
    );
    // Invalid UTF-8 in a label.
    let mut bad_utf8 = good.clone();
    bad_utf8[2] = 0xff;
    assert_eq!(
        Model::parse(&seal(1, &bad_utf8)),
        Err(ModelError::Malformed)
    );
    // Empty payload, garbage payload.
    assert_eq!(Model::parse(&seal(1, &[])), Err(ModelError::Malformed));
    assert_eq!(
        Model::parse(&seal(1, &[0xff; 64])),
        Err(ModelError::Malformed)
    );
}

#[test]
fn front_end_mismatch() {
    let mut parts = Parts::new();
    parts.front_end.bins = 64;
    assert_eq!(parts.encode().err(), Some(ModelError::FrontEndMismatch));
    let mut parts = Parts::new();
    parts.front_end.steps_per_octave = 5;
    assert_eq!(parts.encode().err(), Some(ModelError::FrontEndMismatch));
    let mut parts = Parts::new();
    parts.input.scale = Ratio::new(1, 64);
    assert_eq!(parts.encode().err(), Some(ModelError::FrontEndMismatch));
    // The same value written differently is accepted.
    parts.input.scale = Ratio::new(2, 256);
    assert!(parts.encode().is_ok());
    parts.input.zero_point = 1;
    assert_eq!(parts.encode().err(), Some(ModelError::FrontEndMismatch));
    let mut parts = Parts::new();
    parts.input.stack = 0;
    assert_eq!(parts.encode().err(), Some(ModelError::FrontEndMismatch));
}

#[test]
fn label_count_mismatch() {
    let mut parts = Parts::new();
    parts.instruments.pop();
    assert_eq!(
        parts.encode().err(),
        Some(ModelError::LabelCountMismatch {
            network: NetworkId::Instruments,
            labels: 2,
            outputs: 3
        })
    );
}

#[test]
fn inconsistent_shapes() {
    let shapes = |network, layer| Some(ModelError::InconsistentShapes { network, layer });
    let parts = Parts::new();
    // The input has 2 channels; a stack of 3 does not fit the first convolution.
    let mut three = Parts::new();
    three.input.stack = 3;
    assert_eq!(three.encode().err(), shapes(NetworkId::Composer, 0));
    // A linear layer on a 32 × 78 × 2 activation (neither the global pool nor the flatten).
    assert_eq!(
        parts
            .encode_with(|l| {
                l.drain(2..4);
            })
            .err(),
        shapes(NetworkId::Composer, 2)
    );
    // Flattening 32 × 78 × 2 gives 4,992 features, not the linear layer's 2.
    assert_eq!(
        parts
            .encode_with(|l| {
                l.remove(2);
            })
            .err(),
        shapes(NetworkId::Composer, 3)
    );
    // Not ending in a linear layer.
    assert_eq!(
        parts
            .encode_with(|l| {
                l.pop();
            })
            .err(),
        shapes(NetworkId::Composer, 3)
    );
    // Empty network.
    assert_eq!(
        parts.encode_with(|l| l.clear()).err(),
        shapes(NetworkId::Composer, 0)
    );
    // A pooling window larger than its input.
    assert_eq!(
        parts
            .encode_with(|l| l.insert(
                1,
                LayerSpec::MaxPool2d(MaxPool2dSpec {
                    kernel: [200, 1],
                    stride: [1, 1]
                })
            ))
            .err(),
        shapes(NetworkId::Composer, 1)
    );
    // Padding not smaller than the kernel.
    assert_eq!(
        parts
            .encode_with(|l| if let LayerSpec::Conv2d(c) = &mut l[0] {
                c.padding = [1, 0]
            })
            .err(),
        shapes(NetworkId::Composer, 0)
    );
    // Zero stride.
    assert_eq!(
        parts
            .encode_with(|l| if let LayerSpec::Conv2d(c) = &mut l[0] {
                c.stride = [0, 1]
            })
            .err(),
        shapes(NetworkId::Composer, 0)
    );
}

#[test]
fn bad_weights_length() {
    let parts = Parts::new();
    let bad = |layer| {
        Some(ModelError::BadWeightsLength {
            network: NetworkId::Composer,
            layer,
        })
    };
    assert_eq!(
        parts
            .encode_with(|l| if let LayerSpec::Conv2d(c) = &mut l[0] {
                c.weights = &c.weights[1..]
            })
            .err(),
        bad(0)
    );
    assert_eq!(
        parts
            .encode_with(|l| if let LayerSpec::Conv2d(c) = &mut l[0] {
                c.quant.bias = &c.quant.bias[..7]
            })
            .err(),
        bad(0)
    );
    assert_eq!(
        parts
            .encode_with(|l| if let LayerSpec::Linear(c) = &mut l[4] {
                c.quant.multipliers = &[]
            })
            .err(),
        bad(4)
    );
    assert_eq!(
        parts
            .encode_with(|l| if let LayerSpec::Linear(c) = &mut l[4] {
                c.quant.shifts = &c.quant.shifts[..1]
            })
            .err(),
        bad(4)
    );
}

#[test]
fn bad_quantization() {
    let parts = Parts::new();
    let bad = |layer| {
        Some(ModelError::BadQuantization {
            network: NetworkId::Composer,
            layer,
        })
    };
    assert_eq!(
        parts
            .encode_with(|l| if let LayerSpec::Conv2d(c) = &mut l[0] {
                c.quant.shifts = &[31, 0]
            })
            .err(),
        bad(0)
    );
    let negative = (-5_i32).to_le_bytes().repeat(2);
    assert_eq!(
        parts
            .encode_with(|l| if let LayerSpec::Conv2d(c) = &mut l[0] {
                c.quant.multipliers = &negative
            })
            .err(),
        bad(0)
    );
    assert_eq!(
        parts
            .encode_with(|l| if let LayerSpec::Conv2d(c) = &mut l[0] {
                c.quant.activation_min = 100;
                c.quant.activation_max = 99
            })
            .err(),
        bad(0)
    );
    // The linear layer's input zero point must be the convolution's output zero point.
    assert_eq!(
        parts
            .encode_with(|l| if let LayerSpec::Linear(c) = &mut l[4] {
                c.quant.input_zero_point = 0
            })
            .err(),
        bad(4)
    );
    let mut zero_scale = Parts::new();
    zero_scale.scales[1] = Ratio::new(0, 1);
    assert_eq!(
        zero_scale.encode().err(),
        Some(ModelError::BadQuantization {
            network: NetworkId::Instruments,
            layer: 4
        })
    );
}

#[test]
fn too_large() {
    let too_large = |what| Some(ModelError::TooLarge { what });
    let parts = Parts::new();
    let identity_pool = LayerSpec::MaxPool2d(MaxPool2dSpec {
        kernel: [1, 1],
        stride: [1, 1],
    });
    // Exactly MAX_LAYERS is fine, one more is not.
    let fill = |l: &mut Vec<LayerSpec<'_>>, n: usize| {
        while l.len() < n {
            l.insert(1, identity_pool);
        }
    };
    assert!(parts.encode_with(|l| fill(l, MAX_LAYERS)).is_ok());
    assert_eq!(
        parts.encode_with(|l| fill(l, MAX_LAYERS + 1)).err(),
        too_large(Limit::Layers)
    );

    let mut labels = Parts::new();
    labels.instruments = vec!["x"; MAX_CLASSES + 1];
    assert_eq!(labels.encode().err(), too_large(Limit::Classes));
    let mut long = Parts::new();
    let name: &'static str = Box::leak("n".repeat(MAX_LABEL_BYTES + 1).into_boxed_str());
    long.composers[0] = name;
    assert_eq!(long.encode().err(), too_large(Limit::LabelBytes));
    let mut stack = Parts::new();
    stack.input.stack = 17;
    assert_eq!(stack.encode().err(), too_large(Limit::Stack));

    let conv = |l: &mut Vec<LayerSpec<'_>>, edit: &dyn Fn(&mut Conv2dSpec<'_>)| {
        if let LayerSpec::Conv2d(c) = &mut l[0] {
            edit(c);
        }
    };
    assert_eq!(
        parts
            .encode_with(|l| conv(l, &|c| c.out_channels = 5000))
            .err(),
        too_large(Limit::Channels)
    );
    assert_eq!(
        parts
            .encode_with(|l| conv(l, &|c| c.kernel = [17, 1]))
            .err(),
        too_large(Limit::Kernel)
    );
    assert_eq!(
        parts
            .encode_with(|l| conv(l, &|c| c.stride = [1, 17]))
            .err(),
        too_large(Limit::Stride)
    );
    assert_eq!(
        parts
            .encode_with(|l| conv(l, &|c| {
                c.in_channels = 300;
                c.kernel = [16, 16];
            }))
            .err(),
        too_large(Limit::Patch)
    );
    assert_eq!(
        parts
            .encode_with(|l| if let LayerSpec::Linear(c) = &mut l[4] {
                c.in_features = 70_000
            })
            .err(),
        too_large(Limit::Patch)
    );
    // A valid 1×1 convolution to 1,024 channels: 128 · 312 · 1024 bytes of activation > 16 MiB.
    let weights = vec![0_u8; 1024 * 2];
    let words = vec![0_u8; 1024 * 4];
    let shifts = vec![0_u8; 1024];
    assert_eq!(
        parts
            .encode_with(|l| {
                l.insert(
                    0,
                    LayerSpec::Conv2d(Conv2dSpec {
                        in_channels: 2,
                        out_channels: 1024,
                        kernel: [1, 1],
                        stride: [1, 1],
                        padding: [0, 0],
                        weights: &weights,
                        quant: QuantSpec {
                            bias: &words,
                            multipliers: &words,
                            shifts: &shifts,
                            input_zero_point: 0,
                            output_zero_point: 0,
                            activation_min: -128,
                            activation_max: 127,
                        },
                    }),
                );
            })
            .err(),
        too_large(Limit::ActivationBytes)
    );
}

#[test]
fn errors_display() {
    let errors = [
        ModelError::Truncated,
        ModelError::TrailingBytes,
        ModelError::BadMagic,
        ModelError::UnsupportedVersion { found: 9 },
        ModelError::BadChecksum {
            stored: 1,
            computed: 2,
        },
        ModelError::Malformed,
        ModelError::FrontEndMismatch,
        ModelError::LabelCountMismatch {
            network: NetworkId::Composer,
            labels: 1,
            outputs: 2,
        },
        ModelError::InconsistentShapes {
            network: NetworkId::Instruments,
            layer: 3,
        },
        ModelError::BadWeightsLength {
            network: NetworkId::Composer,
            layer: 0,
        },
        ModelError::BadQuantization {
            network: NetworkId::Composer,
            layer: 0,
        },
        ModelError::TooLarge { what: Limit::Patch },
        ModelError::BufferTooSmall {
            needed: 2,
            provided: 1,
        },
    ];
    for error in errors {
        assert!(!error.to_string().is_empty());
    }
    assert_eq!(
        ModelError::InconsistentShapes {
            network: NetworkId::Instruments,
            layer: 3
        }
        .to_string(),
        "instrument network, layer 3: shapes do not fit"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    /// Random edits of a valid payload, sealed with a correct CRC, exercise the decoder and the
    /// validator: any result is fine except a panic.
    #[test]
    fn resealed_random_payload_edits_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        do_cut in any::<bool>(),
    ) {
        let bytes = small_model();
        let mut body = payload(&bytes).to_vec();
        for (at, value) in edits {
            let i = at.index(body.len());
            body[i] = value;
        }
        if do_cut {
            body.truncate(cut.index(body.len() + 1));
        }
        let _ = Model::parse(&seal(1, &body));
    }

    /// Arbitrary bytes after a valid header never panic either.
    #[test]
    fn arbitrary_payloads_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Model::parse(&seal(1, &body));
    }
}
