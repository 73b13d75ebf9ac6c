//! Host vs Cortex-M4F: builds firmware-demo for thumbv7em-none-eabihf with a model embedded, runs
//! it in QEMU on the MPS2-AN386 board and on the STM32F405 (netduinoplus2), and asserts that
//!
//! - the feature hash it prints equals the hash this (x86_64) process computes for the same clip
//!   with the same crate;
//! - its int8 logits and Q15 probabilities, computed by streaming the clip's stacked windows
//!   column by column through `core_nostd::streaming`, equal those this process computes layer by
//!   layer with `core_nostd::inference::classify` on the same windows (issue 6's and issue 8's
//!   host == QEMU test);
//! - on the STM32F405 memory map (128 KiB of SRAM) the run fits: static RAM plus the painted
//!   stack's high-water mark stay within the RAM.
//!
//! The models are the reference architecture (4 stacked windows) and the compact one (1 window)
//! with seeded random int8 weights, written at test time, and the trained models bundled under
//! `models/`. Each run is also compared with `host-cli classify --json` on the same clip (the
//! command-line tool's probabilities, as integers). Also checks that
//! a fault ends the firmware with exit status 1 instead of hanging.
//!
//! Needs `qemu-system-arm` and the thumbv7em-none-eabihf target (`.ci/run` installs both); their
//! absence is a test failure with instructions, never a silent skip.

#[path = "../../core-nostd/tests/common/mod.rs"]
mod common;

use core_nostd::frontend::{BINS, FeaturePlane, WINDOW_FRAMES, WINDOW_SAMPLES, window_features};
use core_nostd::inference::{self, Output};
use core_nostd::model::Model;
use core_nostd::streaming::window_starts;
use std::path::{Path, PathBuf};
use std::process::{Command, Output as ProcessOutput, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use workspace_tests::{bundled_clip_path, feature_hash, frames_of, read_clip, workspace_root};

/// How long one QEMU run may take before it counts as hung (a classification takes a few
/// seconds under TCG).
const QEMU_TIMEOUT: Duration = Duration::from_secs(120);

/// Stack budget of the firmware (measured 22,960 B with a model, about 17 KB of it
/// `Model::parse`; 2,304 B for the front end alone).
const MAX_STACK_BYTES: usize = 32 * 1024;

/// Builds share one target directory and one output path; run them one at a time.
static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// A QEMU machine and the cargo features of its memory map.
struct Board {
    name: &'static str,
    features: &'static str,
    machine: &'static [&'static str],
}

const MPS2_AN386: Board = Board {
    name: "mps2-an386",
    features: "",
    machine: &["-cpu", "cortex-m4", "-machine", "mps2-an386"],
};
const STM32F405: Board = Board {
    name: "stm32f405",
    features: "stm32f405",
    machine: &["-machine", "netduinoplus2"],
};

/// Builds the firmware with `features` and `model` embedded (`None`: no model) and returns a
/// copy of the ELF named by `tag`.
fn build_firmware(features: &str, model: Option<&Path>, tag: &str) -> PathBuf {
    let _guard = BUILD_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = workspace_root().join("firmware-demo");
    let target_dir = dir.join("target");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&dir)
        .args(["build", "--release", "--quiet"]);
    if !features.is_empty() {
        command.args(["--features", features]);
    }
    // The firmware has its own .cargo/config.toml (target, linker script); keep the host's
    // flags and target choices out of it.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_TARGET_DIR",
        "FIRMWARE_CLIP",
    ] {
        command.env_remove(var);
    }
    command.env("CARGO_TARGET_DIR", &target_dir);
    command.env(
        "FIRMWARE_MODEL",
        model.map_or_else(Default::default, Path::as_os_str),
    );
    let status = command.status().expect("run cargo to build firmware-demo");
    assert!(
        status.success(),
        "building firmware-demo (features '{features}', model {model:?}) failed; is the target \
         installed? `rustup target add thumbv7em-none-eabihf` (see .ci/run)"
    );
    let built = target_dir.join("thumbv7em-none-eabihf/release/firmware-demo");
    let copy = target_dir.join(format!("firmware-demo-{tag}.elf"));
    std::fs::copy(&built, &copy).unwrap_or_else(|e| panic!("copy {}: {e}", built.display()));
    copy
}

/// Runs `elf` under QEMU with semihosting, killing it after [`QEMU_TIMEOUT`].
fn run_in_qemu(machine: &[&str], elf: &Path) -> ProcessOutput {
    let mut child = Command::new("qemu-system-arm")
        .args(machine)
        .args(["-nographic", "-semihosting-config", "enable=on,target=native", "-kernel"])
        .arg(elf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start qemu-system-arm ({e}); install it: `apt-get install qemu-system-arm` (see .ci/run)")
        });
    let started = Instant::now();
    while child.try_wait().expect("poll qemu").is_none() {
        if started.elapsed() > QEMU_TIMEOUT {
            let _ = child.kill();
            panic!("firmware did not exit within {QEMU_TIMEOUT:?} on {machine:?}: hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("collect qemu output")
}

/// The value after `label` on the line that starts with it.
fn field<'a>(stdout: &'a str, label: &str) -> Option<&'a str> {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(label))
        .map(str::trim)
}

/// The whitespace-separated numbers after `label`.
fn numbers<T: std::str::FromStr>(stdout: &str, label: &str) -> Vec<T> {
    field(stdout, label)
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{stdout}"))
        .split_whitespace()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("`{label}` {v}:\n{stdout}"))
        })
        .collect()
}

/// The number after `label` inside a line (e.g. "stack high-water 123 bytes").
fn number_after(line: &str, label: &str) -> usize {
    line.split(label)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no `{label}` in {line:?}"))
}

/// Writes `bytes` to `path` unless it already holds them (an unchanged file keeps its mtime, so
/// cargo does not rebuild the firmware for it).
fn write_if_changed(path: &Path, bytes: &[u8]) {
    if std::fs::read(path).ok().as_deref() != Some(bytes) {
        std::fs::write(path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
}

/// A seeded random-weight model of the reference (`true`) or compact architecture, as a file.
fn generated_model(reference: bool) -> PathBuf {
    let (name, bytes) = if reference {
        ("reference-random.cmpcls", common::reference_model(2024))
    } else {
        ("compact-random.cmpcls", common::compact_model(2025))
    };
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    write_if_changed(&path, &bytes);
    path
}

/// The host's answer: the clip's stacked windows (placed by `window_starts`, zero-padded),
/// classified layer by layer.
fn host_output(model_bytes: &[u8], samples: &[i16]) -> Output {
    let model = Model::parse(model_bytes).expect("valid model");
    let mut input = Vec::with_capacity(model.input_len());
    for start in window_starts(samples.len(), model.stack()) {
        let mut window = vec![0_i16; WINDOW_SAMPLES];
        let available = samples.get(start..).unwrap_or_default();
        let n = available.len().min(WINDOW_SAMPLES);
        window[..n].copy_from_slice(&available[..n]);
        let mut plane: FeaturePlane = [[0; WINDOW_FRAMES]; BINS];
        window_features(window.as_slice().try_into().unwrap(), &mut plane);
        input.extend_from_slice(plane.as_flattened());
    }
    let mut scratch = vec![0; inference::scratch_bytes(&model)];
    inference::classify(&model, &input, &mut scratch).expect("classify")
}

/// `host-cli classify --json --model MODEL CLIP` (the binary users run, through `cargo run`):
/// every composer's and instrument's probability of the clip's single segment, in label order,
/// back in Q15. The CLI prints `q / 32768` as `f64`, which is exact, so anything but an integer
/// here is a failure.
fn host_cli_q15(model: &Path, clip: &Path) -> (Vec<u16>, Vec<u16>) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(workspace_root())
        .args(["run", "--quiet", "--locked", "-p", "host-cli", "--"])
        .args(["classify", "--json", "--model"])
        .arg(model)
        .arg(clip)
        .output()
        .expect("run host-cli through cargo");
    assert!(
        output.status.success(),
        "host-cli failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("host-cli --json prints JSON");
    let timeline = &report["files"][0]["timeline"];
    assert_eq!(
        timeline.as_array().map(Vec::len),
        Some(1),
        "a 5 s clip is one segment: {timeline}"
    );
    let q15 = |labels: &serde_json::Value| -> Vec<u16> {
        let labels = labels.as_array().expect("probabilities in label order");
        labels
            .iter()
            .map(|label| {
                let q = label["probability"].as_f64().expect("a probability") * 32_768.0;
                assert_eq!(q.fract(), 0.0, "not a Q15 value: {label}");
                q as u16
            })
            .collect()
    };
    (
        q15(&timeline[0]["composers"]),
        q15(&timeline[0]["instruments"]),
    )
}

/// Builds and runs the firmware on `board` with `model` and checks everything against the host.
fn firmware_matches_host(board: &Board, model: &Path, tag: &str) {
    let elf = build_firmware(
        board.features,
        Some(model),
        &format!("{}-{tag}", board.name),
    );
    let output = run_in_qemu(board.machine, &elf);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "firmware exit status; output:\n{stdout}"
    );

    // The front end.
    let samples = read_clip(&bundled_clip_path());
    let host_hash = feature_hash(&frames_of(&samples));
    assert_eq!(
        field(&stdout, "frames:").and_then(|v| v.split_whitespace().next()),
        Some("312"),
        "{stdout}"
    );
    assert_eq!(
        field(&stdout, "features sha256:"),
        Some(host_hash.as_str()),
        "firmware output:\n{stdout}"
    );

    // The networks: bit for bit.
    let bytes = std::fs::read(model).unwrap();
    let host = host_output(&bytes, &samples);
    assert_eq!(
        numbers::<i8>(&stdout, "composer logits:"),
        host.composers.logits(),
        "{stdout}"
    );
    assert_eq!(
        numbers::<i8>(&stdout, "instrument logits:"),
        host.instruments.logits(),
        "{stdout}"
    );
    assert_eq!(
        numbers::<u16>(&stdout, "composer q15:"),
        host.composers.probabilities_q15(),
        "{stdout}"
    );
    assert_eq!(
        numbers::<u16>(&stdout, "instrument q15:"),
        host.instruments.probabilities_q15(),
        "{stdout}"
    );
    assert_eq!(field(&stdout, "host scores:"), Some("MATCH"), "{stdout}");

    // The laptop's tool on the same clip: `host-cli classify` gives the same integers.
    let (cli_composers, cli_instruments) = host_cli_q15(model, &bundled_clip_path());
    assert_eq!(
        cli_composers,
        host.composers.probabilities_q15(),
        "host-cli vs firmware"
    );
    assert_eq!(
        cli_instruments,
        host.instruments.probabilities_q15(),
        "host-cli vs firmware"
    );

    // Memory: the run fits the board's RAM.
    let memory = field(&stdout, "memory:").unwrap_or_else(|| panic!("no memory line:\n{stdout}"));
    let stack = number_after(memory, "stack high-water");
    let peak = number_after(memory, "peak RAM");
    let ram = number_after(memory, " of ");
    assert!(
        (512..=MAX_STACK_BYTES).contains(&stack),
        "stack high-water {stack} B out of range:\n{stdout}"
    );
    assert!(peak <= ram, "peak RAM {peak} B above the board's {ram} B");
    if board.features == "stm32f405" {
        assert_eq!(ram, 128 * 1024, "{stdout}");
    }
    eprintln!("{}: {tag}: {memory}", board.name);
}

#[test]
fn reference_architecture_on_mps2_an386_equals_host() {
    firmware_matches_host(&MPS2_AN386, &generated_model(true), "reference-random");
}

#[test]
fn reference_architecture_on_stm32f405_fits_and_equals_host() {
    firmware_matches_host(&STM32F405, &generated_model(true), "reference-random");
}

#[test]
fn compact_architecture_on_stm32f405_equals_host() {
    firmware_matches_host(&STM32F405, &generated_model(false), "compact-random");
}

#[test]
fn bundled_trained_models_equal_host_on_stm32f405() {
    for name in ["reference.cmpcls", "compact.cmpcls"] {
        let path = workspace_root().join("models").join(name);
        assert!(
            path.is_file(),
            "{} is bundled with the repository",
            path.display()
        );
        firmware_matches_host(&STM32F405, &path, name.trim_end_matches(".cmpcls"));
    }
}

#[test]
fn front_end_alone_without_a_model() {
    // What a fresh build without models/ runs: the front end check only.
    let elf = build_firmware(MPS2_AN386.features, None, "mps2-an386-no-model");
    let output = run_in_qemu(MPS2_AN386.machine, &elf);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "output:\n{stdout}");
    let host_hash = feature_hash(&frames_of(&read_clip(&bundled_clip_path())));
    assert_eq!(
        field(&stdout, "features sha256:"),
        Some(host_hash.as_str()),
        "{stdout}"
    );
    assert!(stdout.contains("model: none embedded"), "output:\n{stdout}");
}

#[test]
fn hard_fault_exits_with_status_1() {
    let elf = build_firmware("fault-selftest", None, "fault-selftest");
    let output = run_in_qemu(MPS2_AN386.machine, &elf);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "output:\n{stdout}");
    assert!(stdout.contains("HardFault at 0x"), "output:\n{stdout}");
    assert!(
        !stdout.contains("features sha256"),
        "the fault must stop the run first:\n{stdout}"
    );
}
