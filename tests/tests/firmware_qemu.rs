//! Host vs Cortex-M4F: builds firmware-demo for thumbv7em-none-eabihf, runs it in QEMU on the
//! MPS2-AN386 board and on the STM32F405 (netduinoplus2), and asserts that the feature hash it
//! prints equals the hash this (x86_64) process computes for the same clip with the same crate.
//! Also checks that a fault ends the firmware with exit status 1 instead of hanging.
//!
//! Needs `qemu-system-arm` and the thumbv7em-none-eabihf target (`.ci/run` installs both); their
//! absence is a test failure with instructions, never a silent skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use workspace_tests::{bundled_clip_path, feature_hash, frames_of, read_clip, workspace_root};

/// How long one QEMU run may take before it counts as hung (a run takes well under a second).
const QEMU_TIMEOUT: Duration = Duration::from_secs(120);

/// Stack budget of the front-end demo (measured 2,192 B; the F405 has 128 KB of SRAM in all).
const MAX_STACK_BYTES: usize = 8 * 1024;

/// Builds share one target directory and one output path per feature set; run them one at a time.
static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// A firmware build: the cargo features and the QEMU machine that emulates its memory map.
struct Board {
    features: &'static str,
    machine: &'static [&'static str],
}

const MPS2_AN386: Board = Board {
    features: "",
    machine: &["-cpu", "cortex-m4", "-machine", "mps2-an386"],
};
const STM32F405: Board = Board {
    features: "stm32f405",
    machine: &["-machine", "netduinoplus2"],
};

/// Builds the firmware with `features` and returns a copy of the ELF unique to that feature set.
fn build_firmware(features: &str) -> PathBuf {
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
    ] {
        command.env_remove(var);
    }
    command.env("CARGO_TARGET_DIR", &target_dir);
    let status = command.status().expect("run cargo to build firmware-demo");
    assert!(
        status.success(),
        "building firmware-demo (features '{features}') failed; is the target installed? \
         `rustup target add thumbv7em-none-eabihf` (see .ci/run)"
    );
    let built = target_dir.join("thumbv7em-none-eabihf/release/firmware-demo");
    let name = if features.is_empty() {
        "default".to_string()
    } else {
        features.replace(',', "_")
    };
    let copy = target_dir.join(format!("firmware-demo-{name}.elf"));
    std::fs::copy(&built, &copy).unwrap_or_else(|e| panic!("copy {}: {e}", built.display()));
    copy
}

/// Runs `elf` under QEMU with semihosting, killing it after [`QEMU_TIMEOUT`].
fn run_in_qemu(machine: &[&str], elf: &Path) -> Output {
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

fn firmware_matches_host_on(board: &Board) {
    let elf = build_firmware(board.features);
    let output = run_in_qemu(board.machine, &elf);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let frames = frames_of(&read_clip(&bundled_clip_path()));
    let host_hash = feature_hash(&frames);
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
    assert_eq!(
        output.status.code(),
        Some(0),
        "firmware exit status; output:\n{stdout}"
    );
    let stack: usize = field(&stdout, "stack high-water:")
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no stack report in:\n{stdout}"));
    assert!(
        (512..=MAX_STACK_BYTES).contains(&stack),
        "stack high-water {stack} B out of range"
    );
}

#[test]
fn firmware_feature_hash_equals_host_on_mps2_an386() {
    firmware_matches_host_on(&MPS2_AN386);
}

#[test]
fn firmware_feature_hash_equals_host_on_stm32f405_netduinoplus2() {
    firmware_matches_host_on(&STM32F405);
}

#[test]
fn hard_fault_exits_with_status_1() {
    let elf = build_firmware("fault-selftest");
    let output = run_in_qemu(MPS2_AN386.machine, &elf);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "output:\n{stdout}");
    assert!(stdout.contains("HardFault at 0x"), "output:\n{stdout}");
    assert!(
        !stdout.contains("features sha256"),
        "the fault must stop the run first:\n{stdout}"
    );
}
