//! Build script of the firmware:
//! 1. picks the linker memory map (`memory/mps2-an386.x`, or `memory/stm32f405.x` with the
//!    `stm32f405` feature) and, with `defmt`, adds defmt's linker script;
//! 2. converts the clip to embed (`FIRMWARE_CLIP`, default the bundled Beethoven clip; an 8 kHz
//!    mono 16-bit WAV) into raw little-endian i16 in `$OUT_DIR/clip.i16`;
//! 3. copies the model to embed (`FIRMWARE_MODEL`, default `models/reference.cmpcls`, else
//!    `models/compact.cmpcls`, else none: the firmware then runs the front end only) into
//!    `$OUT_DIR/model.cmpcls`;
//! 4. computes, with the very same `core-nostd` on the build host, the SHA-256 of the clip's
//!    feature stream and the model's output on the clip (layer by layer, `inference::classify`),
//!    and the streaming scratch the firmware needs, so the firmware can check its own result
//!    against the host's and size its buffer exactly.

use core_nostd::frontend::{BINS, FeaturePlane, WINDOW_FRAMES, WINDOW_SAMPLES, window_features};
use core_nostd::inference::{self, Output};
use core_nostd::model::Model;
use core_nostd::streaming::{self, StreamConfig};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::{env, fs, path::Path, path::PathBuf};

const DEFAULT_CLIP: &str = "../assets/3040_beethoven_opus18no5_5s_8k.wav";
/// Tried in order when `FIRMWARE_MODEL` is not set.
const DEFAULT_MODELS: [&str; 2] = ["../models/reference.cmpcls", "../models/compact.cmpcls"];

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));

    // 1. Memory map.
    let board = if env::var_os("CARGO_FEATURE_STM32F405").is_some() {
        "stm32f405"
    } else {
        "mps2-an386"
    };
    let map = manifest.join("memory").join(format!("{board}.x"));
    fs::copy(&map, out.join("memory.x")).unwrap_or_else(|e| panic!("copy {}: {e}", map.display()));
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory");
    if env::var_os("CARGO_FEATURE_DEFMT").is_some() {
        println!("cargo:rustc-link-arg=-Tdefmt.x");
    }

    // 2. The clip.
    println!("cargo:rerun-if-env-changed=FIRMWARE_CLIP");
    let clip = env::var_os("FIRMWARE_CLIP")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join(DEFAULT_CLIP));
    println!("cargo:rerun-if-changed={}", clip.display());
    let samples =
        read_clip(&clip).unwrap_or_else(|e| panic!("FIRMWARE_CLIP {}: {e}", clip.display()));
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    fs::write(out.join("clip.i16"), bytes).expect("write clip.i16");

    // 3. The model.
    println!("cargo:rerun-if-env-changed=FIRMWARE_MODEL");
    let model_path = match env::var_os("FIRMWARE_MODEL") {
        Some(path) if path.is_empty() => None,
        Some(path) => Some(PathBuf::from(path)),
        None => {
            for candidate in DEFAULT_MODELS {
                // Rebuild when a default model appears or changes.
                println!(
                    "cargo:rerun-if-changed={}",
                    manifest.join(candidate).display()
                );
            }
            DEFAULT_MODELS
                .iter()
                .map(|m| manifest.join(m))
                .find(|m| m.is_file())
        }
    };
    let model_bytes = match &model_path {
        Some(path) => {
            println!("cargo:rerun-if-changed={}", path.display());
            fs::read(path).unwrap_or_else(|e| panic!("FIRMWARE_MODEL {}: {e}", path.display()))
        }
        None => Vec::new(),
    };
    fs::write(out.join("model.cmpcls"), &model_bytes).expect("write model.cmpcls");

    // 4. The host's answers for that clip and model.
    let mut front_end = core_nostd::frontend::StreamingFrontEnd::new();
    let mut hasher = Sha256::new();
    let frames = front_end.push(&samples, |frame| hasher.update(frame.map(|c| c as u8)));
    let digest: [u8; 32] = hasher.finalize().into();
    let name = file_name(&clip);
    let mut expected = format!(
        "/// File name of the embedded clip.\nconst CLIP_NAME: &str = {name:?};\n\
         /// Samples in the embedded clip.\nconst CLIP_SAMPLES: usize = {};\n\
         /// Frames the host computed for the clip.\nconst HOST_FRAMES: usize = {frames};\n\
         /// SHA-256 of the host's feature stream for the clip.\nconst HOST_SHA256: [u8; 32] = {digest:?};\n",
        samples.len()
    );
    match &model_path {
        Some(path) => {
            let model = Model::parse(&model_bytes)
                .unwrap_or_else(|e| panic!("FIRMWARE_MODEL {}: {e}", path.display()));
            let output = host_output(&model, &samples);
            let scratch = streaming::scratch_bytes(&model, &StreamConfig::default());
            let model_name = file_name(path);
            write!(
                expected,
                "/// File name of the embedded model.\nconst MODEL_NAME: &str = {model_name:?};\n\
                 /// Streaming scratch the model needs on this target.\nconst SCRATCH_LEN: usize = {scratch};\n\
                 /// The host's composer logits (inference::classify).\nconst HOST_COMPOSER_LOGITS: &[i8] = &{:?};\n\
                 /// The host's instrument logits.\nconst HOST_INSTRUMENT_LOGITS: &[i8] = &{:?};\n\
                 /// The host's composer probabilities (Q15).\nconst HOST_COMPOSER_Q15: &[u16] = &{:?};\n\
                 /// The host's instrument probabilities (Q15).\nconst HOST_INSTRUMENT_Q15: &[u16] = &{:?};\n",
                output.composers.logits(),
                output.instruments.logits(),
                output.composers.probabilities_q15(),
                output.instruments.probabilities_q15(),
            )
            .expect("format");
        }
        None => expected.push_str(
            "/// No model embedded.\nconst MODEL_NAME: &str = \"\";\nconst SCRATCH_LEN: usize = 0;\n\
             const HOST_COMPOSER_LOGITS: &[i8] = &[];\nconst HOST_INSTRUMENT_LOGITS: &[i8] = &[];\n\
             const HOST_COMPOSER_Q15: &[u16] = &[];\nconst HOST_INSTRUMENT_Q15: &[u16] = &[];\n",
        ),
    }
    fs::write(out.join("expected.rs"), expected).expect("write expected.rs");
}

/// The model's output on the clip, computed layer by layer on the host: `stack` windows placed by
/// `streaming::window_starts`, each zero-padded past the end of the clip, as the firmware streams
/// them.
fn host_output(model: &Model<'_>, samples: &[i16]) -> Output {
    let mut input = Vec::with_capacity(model.input_len());
    for start in streaming::window_starts(samples.len(), model.stack()) {
        let mut window = vec![0_i16; WINDOW_SAMPLES];
        let available = samples.get(start..).unwrap_or_default();
        let n = available.len().min(WINDOW_SAMPLES);
        window[..n].copy_from_slice(&available[..n]);
        let mut plane: FeaturePlane = [[0; WINDOW_FRAMES]; BINS];
        window_features(
            window.as_slice().try_into().expect("one window"),
            &mut plane,
        );
        input.extend_from_slice(plane.as_flattened());
    }
    let mut scratch = vec![0; inference::scratch_bytes(model)];
    inference::classify(model, &input, &mut scratch).expect("classify on the host")
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Reads an 8 kHz mono 16-bit PCM WAV; anything else is refused with a reason.
fn read_clip(path: &PathBuf) -> Result<Vec<i16>, String> {
    let reader = hound::WavReader::open(path).map_err(|e| e.to_string())?;
    let spec = reader.spec();
    if spec.sample_rate != 8000
        || spec.channels != 1
        || spec.bits_per_sample != 16
        || spec.sample_format != hound::SampleFormat::Int
    {
        return Err(format!(
            "need 8000 Hz mono 16-bit integer PCM, found {} Hz, {} channel(s), {}-bit {:?} \
             (convert it with `host-cli` or sox first)",
            spec.sample_rate, spec.channels, spec.bits_per_sample, spec.sample_format
        ));
    }
    reader
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())
}
