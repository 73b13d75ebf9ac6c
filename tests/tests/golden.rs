//! Golden vectors: the SHA-256 of the feature stream of each test signal, checked in at
//! `tests/golden/frontend.sha256` (`name frames sha256` per line). Any change to the front end's
//! numbers fails here; to accept one deliberately, rerun with `UPDATE_GOLDEN=1` and commit the
//! file with an explanation.

use std::fmt::Write as _;
use workspace_tests::signals::test_signals;
use workspace_tests::{feature_hash, frames_of, workspace_root};

#[test]
fn feature_hashes_match_the_golden_file() {
    let path = workspace_root().join("tests/golden/frontend.sha256");
    let mut actual = String::from("# name frames sha256-of-features (see tests/tests/golden.rs)\n");
    for (name, samples) in test_signals() {
        let frames = frames_of(&samples);
        writeln!(actual, "{name} {} {}", frames.len(), feature_hash(&frames)).unwrap();
    }
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &actual).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let changed: Vec<&str> = actual
        .lines()
        .zip(expected.lines().chain(std::iter::repeat("")))
        .filter(|(a, e)| a != e)
        .map(|(a, _)| a)
        .collect();
    assert!(
        changed.is_empty() && actual.lines().count() == expected.lines().count(),
        "front-end output changed for:\n{}\n(if deliberate: UPDATE_GOLDEN=1 cargo test -p workspace-tests --test golden)",
        changed.join("\n")
    );
}
