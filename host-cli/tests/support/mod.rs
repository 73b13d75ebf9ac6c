//! Test support: running the binary, audio fixtures, and small model files built at test time
//! (so tests do not depend on the bundled model's weights).
#![allow(dead_code)] // Each test binary uses a different part.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use core_nostd::frontend::{BINS, SAMPLE_RATE_HZ, WINDOW_FRAMES};
use core_nostd::model::spec::{
    FrontEndSpec, InputSpec, LayerSpec, LinearSpec, MaxPool2dSpec, ModelSpec, NetworkSpec,
    QuantSpec,
};
use core_nostd::model::{encode, encoded_len};
use core_nostd::nn::Ratio;
use core_nostd::nn::requant::quantize_multiplier;

/// Runs `host-cli` with `args`.
pub fn host_cli<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_host-cli"))
        .args(args)
        .output()
        .expect("run host-cli")
}

/// stdout as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// stdout parsed as JSON; panics with both streams if the run failed.
pub fn json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "host-cli failed: {}\n{}",
        stderr(output),
        stdout(output)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

/// The repository root (for the bundled assets).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The bundled example recording.
pub fn example_recording() -> PathBuf {
    repo_root().join("assets/example-mozart-k156.flac")
}

/// Writes 16-bit mono samples at `rate` as a WAV.
pub fn write_wav(path: &Path, rate: u32, samples: &[i16]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).expect("create wav");
    for &s in samples {
        writer.write_sample(s).expect("write sample");
    }
    writer.finalize().expect("finish wav");
}

/// `n` samples of a sine at `freq` Hz (8 kHz), amplitude `amp` of full scale.
pub fn tone(freq: f64, n: usize, amp: f64) -> Vec<i16> {
    (0..n)
        .map(|i| {
            let phase = 2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(SAMPLE_RATE_HZ);
            (amp * 32767.0 * phase.sin()).round() as i16
        })
        .collect()
}

/// One layer's owned parameters, so a spec can borrow them.
struct Linear {
    in_features: u32,
    out_features: u32,
    weights: Vec<u8>,
    bias: Vec<u8>,
    multipliers: Vec<u8>,
    shifts: Vec<u8>,
}

impl Linear {
    /// A linear layer with the given `[out][in]` weights, zero bias and real multiplier `scale`.
    fn new(weights: &[Vec<i8>], scale: f64) -> Self {
        let out = weights.len();
        let q = quantize_multiplier(scale).expect("multiplier in range");
        Self {
            in_features: weights[0].len() as u32,
            out_features: out as u32,
            weights: weights.iter().flatten().map(|&w| w as u8).collect(),
            bias: vec![0; 4 * out],
            multipliers: (0..out).flat_map(|_| q.multiplier.to_le_bytes()).collect(),
            shifts: vec![q.shift as u8; out],
        }
    }

    fn spec(&self) -> LayerSpec<'_> {
        LayerSpec::Linear(LinearSpec {
            in_features: self.in_features,
            out_features: self.out_features,
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

/// Encodes a model of `pool → flatten → linear` networks; `composers` and `instruments` give the
/// linear weights of each network (one row per label). Panics on an invalid model.
fn pooled_model(
    stack: u32,
    pool: [u32; 2],
    composers: (&[&str], &[Vec<i8>]),
    instruments: (&[&str], &[Vec<i8>]),
    scale: f64,
) -> Vec<u8> {
    let pool = LayerSpec::MaxPool2d(MaxPool2dSpec {
        kernel: pool,
        stride: pool,
    });
    let composer_linear = Linear::new(composers.1, scale);
    let instrument_linear = Linear::new(instruments.1, scale);
    let composer_layers = [pool, LayerSpec::Flatten, composer_linear.spec()];
    let instrument_layers = [pool, LayerSpec::Flatten, instrument_linear.spec()];
    let spec = ModelSpec {
        composers: composers.0,
        instruments: instruments.0,
        front_end: FrontEndSpec::CURRENT,
        input: InputSpec {
            stack,
            scale: InputSpec::SCALE,
            zero_point: InputSpec::ZERO_POINT,
        },
        composer_network: NetworkSpec {
            layers: &composer_layers,
            logit_scale: Ratio::new(1, 16),
        },
        instrument_network: NetworkSpec {
            layers: &instrument_layers,
            logit_scale: Ratio::new(1, 16),
        },
    };
    encode_spec(&spec)
}

/// Encodes `spec`, panicking on any error.
pub fn encode_spec(spec: &ModelSpec<'_>) -> Vec<u8> {
    let mut bytes = vec![0; encoded_len(spec).expect("length")];
    encode(spec, &mut bytes).expect("valid model");
    bytes
}

/// Encodes `spec` even when it is invalid (the encoder writes the bytes, with a correct
/// checksum, before it validates them), for corrupt-model tests.
pub fn encode_invalid(spec: &ModelSpec<'_>) -> Vec<u8> {
    let mut bytes = vec![0; encoded_len(spec).expect("length")];
    let _ = encode(spec, &mut bytes);
    bytes
}

/// Composer labels of the tone model.
pub const TONE_COMPOSERS: [&str; 2] = ["Bach", "Mozart"];
/// Instrument labels of the tone model.
pub const TONE_INSTRUMENTS: [&str; 2] = ["Cello", "Flute"];

/// A model that hears pitch: each window is max-pooled into its loudest code below 2 kHz (`L`)
/// and above (`H`); "Bach" and "Cello" score `L − H`, "Mozart" and "Flute" `H − L` (summed over
/// the stack, times 1/2, saturating at ±127; logit scale 1/16). So a low tone is Bach + Cello, a high one Mozart +
/// Flute, with near-certain probabilities.
pub fn tone_model(stack: u32) -> Vec<u8> {
    // Flattened HWC input of the linear layer: [half][1][channel].
    let low: Vec<i8> = (0..2 * stack)
        .map(|i| if i < stack { 1 } else { -1 })
        .collect();
    let high: Vec<i8> = low.iter().map(|w| -w).collect();
    let rows = [low, high];
    pooled_model(
        stack,
        [BINS as u32 / 2, WINDOW_FRAMES as u32],
        (&TONE_COMPOSERS, &rows),
        (&TONE_INSTRUMENTS, &rows),
        0.5,
    )
}

/// A model with seeded pseudo-random weights over an 8 × 8 grid of pooled cells per window
/// (different for every bin band, time span and stacked window), so that any mix-up of bins,
/// frames or windows changes its outputs. Labels as in [`tone_model`] plus a third composer.
pub fn scrambled_model(stack: u32, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 40) % 15) as i8 - 7
    };
    let inputs = 8 * 8 * stack as usize;
    let mut rows = |n: usize| -> Vec<Vec<i8>> {
        (0..n)
            .map(|_| (0..inputs).map(|_| next()).collect())
            .collect()
    };
    let composers = rows(3);
    let instruments = rows(2);
    pooled_model(
        stack,
        [BINS as u32 / 8, WINDOW_FRAMES as u32 / 8],
        (&["Bach", "Mozart", "Haydn"], &composers),
        (&TONE_INSTRUMENTS, &instruments),
        1.0 / 128.0,
    )
}

/// The CRC-32 (ISO-HDLC) of `bytes`, bit by bit, for tests that forge model files.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0_u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
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

/// Rewrites the CRC at the end of a model file to match its contents.
pub fn fix_crc(file: &mut [u8]) {
    let body = file.len() - 4;
    let crc = crc32(&file[..body]);
    file[body..].copy_from_slice(&crc.to_le_bytes());
}
