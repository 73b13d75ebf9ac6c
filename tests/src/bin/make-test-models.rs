//! Writes the seeded random-weight model files the firmware tests and benchmarks use:
//! `reference-random.cmpcls` (reference architecture, 4 stacked windows, seed 2024) and
//! `compact-random.cmpcls` (compact architecture, 1 window, seed 2025), the same bytes as
//! `tests/tests/firmware_qemu.rs` generates. Random weights: for memory, speed and bit-exactness
//! checks only, never for classifying music.
//!
//! Usage: `cargo run -p workspace-tests --bin make-test-models -- DIR`

#[path = "../../../core-nostd/tests/common/mod.rs"]
mod common;

use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::args_os().nth(1).unwrap_or_else(|| {
        eprintln!("usage: make-test-models DIR");
        std::process::exit(2)
    }));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for (name, bytes) in [
        ("reference-random.cmpcls", common::reference_model(2024)),
        ("compact-random.cmpcls", common::compact_model(2025)),
    ] {
        let path = dir.join(name);
        if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
            std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        println!("{}", path.display());
    }
}
