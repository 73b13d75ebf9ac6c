//! Build script of the firmware:
//! 1. picks the linker memory map (`memory/mps2-an386.x`, or `memory/stm32f405.x` with the
//!    `stm32f405` feature) and, with `defmt`, adds defmt's linker script;
//! 2. converts the clip to embed (`FIRMWARE_CLIP`, default the bundled Beethoven clip; an 8 kHz
//!    mono 16-bit WAV) into raw little-endian i16 in `$OUT_DIR/clip.i16`;
//! 3. computes, with the very same `core-nostd` on the build host, the SHA-256 of the clip's
//!    feature stream, so the firmware can check its own result against the host's.

use sha2::{Digest, Sha256};
use std::{env, fs, path::PathBuf};

const DEFAULT_CLIP: &str = "../assets/3040_beethoven_opus18no5_5s_8k.wav";

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

    // 3. The host's answer for that clip.
    let mut front_end = core_nostd::frontend::StreamingFrontEnd::new();
    let mut hasher = Sha256::new();
    let frames = front_end.push(&samples, |frame| hasher.update(frame.map(|c| c as u8)));
    let digest: [u8; 32] = hasher.finalize().into();
    let name = clip
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let expected = format!(
        "/// File name of the embedded clip.\nconst CLIP_NAME: &str = {name:?};\n\
         /// Samples in the embedded clip.\nconst CLIP_SAMPLES: usize = {};\n\
         /// Frames the host computed for the clip.\nconst HOST_FRAMES: usize = {frames};\n\
         /// SHA-256 of the host's feature stream for the clip.\nconst HOST_SHA256: [u8; 32] = {digest:?};\n",
        samples.len()
    );
    fs::write(out.join("expected.rs"), expected).expect("write expected.rs");
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
