//! Checks that the bundled model, `models/reference.cmpcls` at the repository root, exists before
//! `host-cli` embeds it with `include_bytes!`, so a missing file fails with a sentence instead of a
//! compiler error about a path, and rebuilds `host-cli` whenever the file changes.

use std::path::Path;

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let crate_dir = Path::new(&manifest_dir);
    let model = crate_dir
        .parent()
        .unwrap_or(crate_dir)
        .join("models/reference.cmpcls");
    println!("cargo:rerun-if-changed={}", model.display());
    println!("cargo:rerun-if-changed=build.rs");
    if !model.is_file() {
        eprintln!(
            "error: the bundled model {} is missing.\n\
             host-cli compiles the reference model into its binary so that `host-cli classify` \
             works without flags. Restore it (`git checkout models/reference.cmpcls`) or export \
             one with `trainer export` to that path.",
            model.display()
        );
        std::process::exit(1);
    }
}
