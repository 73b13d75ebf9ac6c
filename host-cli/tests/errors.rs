//! Every error a person can cause, run as a binary: a clear message on stderr that names the file,
//! and a non-zero exit code. Missing, unreadable, unsupported and empty audio; a missing model
//! and every class of corrupt model file core-nostd's parser tells apart; bad options.

mod support;

use std::path::Path;

use core_nostd::frontend::{BINS, WINDOW_FRAMES};
use core_nostd::model::spec::{
    FrontEndSpec, InputSpec, LayerSpec, LinearSpec, MaxPool2dSpec, ModelSpec, NetworkSpec,
    QuantSpec,
};
use core_nostd::model::{HEADER_LEN, MAX_LABEL_BYTES};
use core_nostd::nn::Ratio;
use support::*;

/// Runs host-cli and checks it failed with exit code 1 and a message containing every one of
/// `needles`; returns stderr.
fn fails_with(args: &[&std::ffi::OsStr], needles: &[&str]) -> String {
    let output = host_cli(args);
    let err = stderr(&output);
    assert_eq!(
        output.status.code(),
        Some(1),
        "exit code; stderr: {err}; stdout: {}",
        stdout(&output)
    );
    for needle in needles {
        assert!(err.contains(needle), "expected {needle:?} in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// `classify --model MODEL FILE`, expected to fail mentioning `needles`.
fn classify_fails(model: Option<&Path>, file: &Path, needles: &[&str]) -> String {
    let mut args = vec!["classify".as_ref()];
    if let Some(model) = model {
        args.extend(["--model".as_ref(), model.as_os_str()]);
    }
    args.push(file.as_os_str());
    fails_with(&args, needles)
}

fn good_wav(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("good.wav");
    write_wav(&path, 8000, &tone(500.0, 48_000, 0.5));
    path
}

#[test]
fn missing_audio_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.wav");
    classify_fails(None, &missing, &["nowhere.wav", "no such file"]);
    fails_with(
        &["spectrogram".as_ref(), missing.as_os_str()],
        &["nowhere.wav", "no such file"],
    );
}

#[test]
fn unreadable_audio_file() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where a file is expected.
    let folder = dir.path().join("folder.wav");
    std::fs::create_dir(&folder).unwrap();
    classify_fails(None, &folder, &["folder.wav"]);
}

#[test]
fn unsupported_audio_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.wav");
    std::fs::write(
        &text,
        "these are not the samples you are looking for\n".repeat(50),
    )
    .unwrap();
    classify_fails(None, &text, &["notes.wav", "not an audio file"]);
}

#[test]
fn empty_audio_file() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.wav");
    write_wav(&empty, 8000, &[]);
    classify_fails(None, &empty, &["empty.wav", "holds no audio"]);
}

#[test]
fn one_bad_file_fails_the_run_but_not_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let good = good_wav(&dir);
    let missing = dir.path().join("gone.flac");
    let output = host_cli([
        "classify".as_ref(),
        "--json".as_ref(),
        good.as_os_str(),
        missing.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["files"].as_array().unwrap().len(), 1);
    assert!(
        report["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("gone.flac: no such file")
    );
    assert!(stderr(&output).contains("1 of 2 files could not be classified"));
}

#[test]
fn missing_model_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = good_wav(&dir);
    let missing = dir.path().join("absent.cmpcls");
    classify_fails(
        Some(&missing),
        &good,
        &["absent.cmpcls", "no such model file"],
    );
    fails_with(
        &["inspect".as_ref(), missing.as_os_str()],
        &["absent.cmpcls", "no such model file"],
    );
}

/// A valid one-window model spec whose layers and labels the corruption tests vary.
struct Parts {
    weights: Vec<u8>,
    bias: Vec<u8>,
    multipliers: Vec<u8>,
    shifts: Vec<u8>,
}

impl Parts {
    fn new() -> Self {
        Self {
            weights: vec![1; 2 * 2],
            bias: vec![0; 8],
            multipliers: [(1_i32 << 30).to_le_bytes(); 2].concat(),
            shifts: vec![0, 0],
        }
    }

    fn linear(&self, in_features: u32) -> LayerSpec<'_> {
        LayerSpec::Linear(LinearSpec {
            in_features,
            out_features: 2,
            weights: &self.weights,
            quant: QuantSpec {
                bias: &self.bias,
                multipliers: &self.multipliers,
                shifts: &self.shifts,
                input_zero_point: 0,
                output_zero_point: 0,
                activation_min: -128,
                activation_max: 127,
            },
        })
    }
}

const POOL: LayerSpec<'static> = LayerSpec::MaxPool2d(MaxPool2dSpec {
    kernel: [BINS as u32 / 2, WINDOW_FRAMES as u32],
    stride: [BINS as u32 / 2, WINDOW_FRAMES as u32],
});

/// Writes the model built from `layers`, `composers` and `front_end` (possibly invalid).
fn model_file(
    dir: &tempfile::TempDir,
    name: &str,
    layers: &[LayerSpec<'_>],
    composers: &[&str],
    front_end: FrontEndSpec,
) -> std::path::PathBuf {
    let network = NetworkSpec {
        layers,
        logit_scale: Ratio::new(1, 16),
    };
    let spec = ModelSpec {
        composers,
        instruments: &["Cello", "Flute"],
        front_end,
        input: InputSpec {
            stack: 1,
            scale: InputSpec::SCALE,
            zero_point: InputSpec::ZERO_POINT,
        },
        composer_network: network,
        instrument_network: network,
    };
    let path = dir.path().join(name);
    std::fs::write(&path, encode_invalid(&spec)).unwrap();
    path
}

/// Checks that `model` is refused by `classify --model` and `inspect` with the file name and
/// `message`.
fn model_refused(model: &Path, wav: &Path, message: &str) {
    let name = model.file_name().unwrap().to_str().unwrap();
    classify_fails(Some(model), wav, &[name, "invalid model file", message]);
    fails_with(
        &["inspect".as_ref(), model.as_os_str()],
        &[name, "invalid model file", message],
    );
}

#[test]
fn every_class_of_corrupt_model_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let wav = good_wav(&dir);
    let parts = Parts::new();
    let good_layers = [POOL, LayerSpec::Flatten, parts.linear(2)];
    let good = model_file(
        &dir,
        "good.cmpcls",
        &good_layers,
        &["Bach", "Mozart"],
        FrontEndSpec::CURRENT,
    );
    let good_bytes = std::fs::read(&good).unwrap();
    let output = host_cli(["inspect".as_ref(), good.as_os_str()]);
    assert!(
        output.status.success(),
        "the base model is valid: {}",
        stderr(&output)
    );

    let variant = |name: &str, edit: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = good_bytes.clone();
        edit(&mut bytes);
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let cases = [
        (
            variant("truncated.cmpcls", &|b| b.truncate(b.len() - 9)),
            "truncated",
        ),
        (
            variant("trailing.cmpcls", &|b| b.push(0)),
            "bytes after its checksum",
        ),
        (variant("magic.cmpcls", &|b| b[1] = b'X'), "bad magic"),
        (
            variant("version.cmpcls", &|b| b[8] = 9),
            "format version 9 is not supported",
        ),
        (
            variant("checksum.cmpcls", &|b| b[HEADER_LEN + 3] ^= 0x40),
            "CRC-32",
        ),
        (
            variant("malformed.cmpcls", &|b| {
                // An unknown layer kind where the first layer's variant index is (after the
                // layer count 3; the pool's kernel height 64 follows), checksum fixed.
                let at = HEADER_LEN
                    + b[HEADER_LEN..]
                        .windows(3)
                        .position(|w| w == [3, 1, 64])
                        .unwrap();
                b[at + 1] = 9;
                fix_crc(b);
            }),
            "malformed",
        ),
        (
            model_file(
                &dir,
                "front-end.cmpcls",
                &good_layers,
                &["Bach", "Mozart"],
                FrontEndSpec {
                    hop_len: 64,
                    ..FrontEndSpec::CURRENT
                },
            ),
            "another front end",
        ),
        (
            model_file(
                &dir,
                "labels.cmpcls",
                &good_layers,
                &["Bach", "Mozart", "Haydn"],
                FrontEndSpec::CURRENT,
            ),
            "2 outputs but 3 labels",
        ),
        (
            model_file(
                &dir,
                "shapes.cmpcls",
                &[POOL, LayerSpec::Flatten, parts.linear(3)],
                &["Bach", "Mozart"],
                FrontEndSpec::CURRENT,
            ),
            "shapes do not fit",
        ),
        (
            model_file(
                &dir,
                "weights.cmpcls",
                &[POOL, LayerSpec::Flatten, {
                    let mut linear = parts.linear(2);
                    if let LayerSpec::Linear(l) = &mut linear {
                        l.weights = &parts.weights[..3];
                    }
                    linear
                }],
                &["Bach", "Mozart"],
                FrontEndSpec::CURRENT,
            ),
            "parameter bytes of the wrong length",
        ),
        (
            model_file(
                &dir,
                "quant.cmpcls",
                &[POOL, LayerSpec::Flatten, {
                    let mut linear = parts.linear(2);
                    if let LayerSpec::Linear(l) = &mut linear {
                        l.quant.shifts = &[40, 0];
                    }
                    linear
                }],
                &["Bach", "Mozart"],
                FrontEndSpec::CURRENT,
            ),
            "invalid quantization parameters",
        ),
        (
            model_file(
                &dir,
                "too-large.cmpcls",
                &good_layers,
                &["Bach", &"x".repeat(MAX_LABEL_BYTES + 1)],
                FrontEndSpec::CURRENT,
            ),
            "exceeds a size limit",
        ),
    ];
    for (path, message) in &cases {
        model_refused(path, &wav, message);
    }
}

#[test]
fn bad_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wav = good_wav(&dir);
    fails_with(
        &[
            "classify".as_ref(),
            "--segment".as_ref(),
            "3".as_ref(),
            wav.as_os_str(),
        ],
        &["--segment must be between 5.008 s"],
    );
    fails_with(
        &[
            "classify".as_ref(),
            "--threshold".as_ref(),
            "1.5".as_ref(),
            wav.as_os_str(),
        ],
        &["--threshold"],
    );
    // Usage errors are clap's: exit code 2.
    let output = host_cli(["classify"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn spectrogram_png_that_cannot_be_written() {
    let dir = tempfile::tempdir().unwrap();
    let wav = good_wav(&dir);
    // A path under a regular file cannot be created.
    let blocked = wav.join("out.png");
    fails_with(
        &[
            "spectrogram".as_ref(),
            wav.as_os_str(),
            "-o".as_ref(),
            blocked.as_os_str(),
        ],
        &["good.wav", "cannot draw its spectrogram"],
    );
}
