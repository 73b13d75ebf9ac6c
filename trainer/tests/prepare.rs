//! `trainer prepare` and the MusicNet reader on small generated folders: both nestings, WAV
//! flavours, the cache and its resumption, and every kind of bad input (strict: an error naming
//! file and line; lenient: a counted warning).

mod common;

use common::{Fixture, tone, write_wav};
use trainer::musicnet::{Dataset, Issues, Split};
use trainer::prepare::cache::CacheDir;
use trainer::prepare::select::SelectionRules;
use trainer::prepare::{PrepareArgs, run};

fn args(fixture: &Fixture, out: &std::path::Path, lenient: bool) -> PrepareArgs {
    PrepareArgs {
        data: fixture.dir.clone(),
        out: out.to_path_buf(),
        lenient,
        force: false,
        jobs: Some(2),
        rules: SelectionRules {
            min_instrument_recordings: 1,
            min_composer_recordings: 1,
            recordings_per_composer: 0,
            ..Default::default()
        },
    }
}

/// Three good recordings: two train (Bach, Mozart), one test (Bach).
fn good_fixture(nested: bool) -> Fixture {
    let mut f = Fixture::new(nested);
    f.recording("train", 1, "Bach", "bwv1", 6.0, &[41, 43]);
    f.recording("train", 2, "Mozart", "k1", 6.0, &[1]);
    f.recording("test", 3, "Bach", "bwv2", 6.0, &[41]);
    f.write_metadata();
    f
}

fn error_text(result: anyhow::Result<trainer::prepare::PrepareSummary>) -> String {
    format!("{:#}", result.expect_err("expected an error"))
}

#[test]
fn both_nestings_are_read_alike() {
    for nested in [false, true] {
        let f = good_fixture(nested);
        let dataset = Dataset::open(&f.dir, &mut Issues::strict()).unwrap();
        let ids: Vec<(u32, Split)> = dataset.recordings.iter().map(|r| (r.id, r.split)).collect();
        assert_eq!(
            ids,
            vec![(1, Split::Train), (2, Split::Train), (3, Split::Test)],
            "nested = {nested}"
        );
        assert_eq!(dataset.recordings[1].metadata.composer, "Mozart");
    }
}

#[test]
fn a_folder_that_is_not_musicnet_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let error = Dataset::open(dir.path(), &mut Issues::strict())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("not a MusicNet folder") && error.contains("train_data"),
        "{error}"
    );
}

#[test]
fn prepare_caches_8khz_audio_spans_and_selection() {
    let f = good_fixture(false);
    let out = tempfile::tempdir().unwrap();
    let summary = run(&args(&f, out.path(), false)).unwrap();
    assert_eq!((summary.recordings, summary.decoded), (3, 3));
    assert!((summary.audio_seconds - 18.0).abs() < 0.01);
    let cache = CacheDir::new(out.path());
    let index = cache.read_index().unwrap();
    let first = &index.recordings[0];
    assert_eq!(first.samples, 48_000);
    assert_eq!(first.instruments, vec![41, 43]);
    assert_eq!(first.spans.len(), 2);
    assert_eq!((first.spans[0].start, first.spans[0].end), (0, 48_000));
    assert_eq!(cache.read_audio(first).unwrap().len(), 48_000);
    assert_eq!(summary.selection.composers, vec!["Bach", "Mozart"]);
    assert_eq!(summary.selection.instruments, vec![1, 41, 43]);
    assert_eq!(summary.selection.test, vec![3]);
}

#[test]
fn every_wav_flavour_prepares_to_the_same_length() {
    let mut f = Fixture::new(false);
    let flavours = [
        (1, 44_100, 2, 16, false),
        (2, 22_050, 1, 24, false),
        (3, 48_000, 2, 32, true),
        (4, 8_000, 1, 8, false),
        (5, 16_000, 1, 32, false),
    ];
    for &(id, rate, channels, bits, float) in &flavours {
        f.metadata(id, "Bach", &format!("p{id}"), 3);
        write_wav(
            &f.audio_path("train", id),
            rate,
            channels,
            bits,
            float,
            &tone(rate, 3.0),
        );
        f.labels("train", id, &[(0, 44_100, 41)]);
    }
    f.write_metadata();
    let out = tempfile::tempdir().unwrap();
    let summary = run(&args(&f, out.path(), false)).unwrap();
    assert_eq!(summary.recordings, flavours.len());
    let index = CacheDir::new(out.path()).read_index().unwrap();
    for r in &index.recordings {
        assert_eq!(
            r.samples, 24_000,
            "recording {} ({} Hz)",
            r.id, r.source.rate_hz
        );
    }
}

#[test]
fn a_killed_prepare_resumes_and_redoes_only_what_is_missing() {
    let f = good_fixture(false);
    let out = tempfile::tempdir().unwrap();
    run(&args(&f, out.path(), false)).unwrap();
    let cache = CacheDir::new(out.path());
    // Simulate a kill: one recording's JSON never written, a temporary file left behind, and
    // the index gone (it is written last).
    std::fs::remove_file(cache.recording_path(2)).unwrap();
    std::fs::write(
        out.path().join("audio").join(".2.pcm.abc123.tmp"),
        b"partial",
    )
    .unwrap();
    std::fs::remove_file(cache.index_path()).unwrap();
    let summary = run(&args(&f, out.path(), false)).unwrap();
    assert_eq!((summary.recordings, summary.decoded), (3, 1));
    // A truncated audio file is not trusted either.
    std::fs::write(cache.audio_path(3), [0_u8; 10]).unwrap();
    assert_eq!(run(&args(&f, out.path(), false)).unwrap().decoded, 1);
}

/// Bad input `name`: builds the fixture with `spoil`, then checks the strict error mentions
/// every one of `needles`, and the lenient run counts one warning of `kind` and keeps the rest.
fn check_bad_input(spoil: impl Fn(&mut Fixture), needles: &[&str], kind: &str, kept: usize) {
    let mut f = Fixture::new(false);
    f.recording("train", 1, "Bach", "bwv1", 6.0, &[41]);
    f.recording("train", 2, "Mozart", "k1", 6.0, &[1]);
    spoil(&mut f);
    f.write_metadata();
    let out = tempfile::tempdir().unwrap();
    let message = error_text(run(&args(&f, out.path(), false)));
    for needle in needles {
        assert!(
            message.contains(needle),
            "strict error {message:?} lacks {needle:?}"
        );
    }
    let out = tempfile::tempdir().unwrap();
    let summary = run(&args(&f, out.path(), true)).unwrap();
    assert!(
        summary.warnings.iter().any(|&(k, n)| k == kind && n >= 1),
        "lenient warnings {:?} lack {kind}",
        summary.warnings
    );
    assert_eq!(summary.recordings, kept, "recordings kept in lenient mode");
}

#[test]
fn truncated_wav() {
    check_bad_input(
        |f| {
            let path = f.audio_path("train", 2);
            let bytes = std::fs::read(&path).unwrap();
            std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        },
        &["2.wav"],
        "bad audio",
        1,
    );
}

#[test]
fn empty_wav() {
    check_bad_input(
        |f| write_wav(&f.audio_path("train", 2), 44_100, 1, 16, false, &[]),
        &["2.wav"],
        "bad audio",
        1,
    );
}

#[test]
fn non_audio_wav() {
    check_bad_input(
        |f| std::fs::write(f.audio_path("train", 2), "this is not a wav file").unwrap(),
        &["2.wav", "not an audio file"],
        "bad audio",
        1,
    );
}

#[test]
fn label_csv_with_wrong_columns() {
    check_bad_input(
        |f| {
            f.raw_labels("train", 2, "start,end,instrument\n0,100,41\n");
        },
        &["2.csv", "missing column `start_time`"],
        "missing column",
        1,
    );
}

#[test]
fn label_csv_with_non_numeric_cell() {
    check_bad_input(
        |f| {
            f.raw_labels(
                "train",
                2,
                &format!(
                    "{}\n0,100,41,60,0,1,Quarter\nabc,200,41,60,1,1,Quarter\n",
                    common::LABEL_HEADER
                ),
            );
        },
        &["2.csv", "line 3", "column 1"],
        "bad CSV row",
        2,
    );
}

#[test]
fn notes_past_the_end_of_the_audio() {
    check_bad_input(
        |f| {
            f.labels("train", 2, &[(0, 44_100, 1), (0, 44_100 * 60, 1)]);
        },
        &["2.csv", "line 3", "after the audio's end"],
        "note past end of audio",
        2,
    );
}

#[test]
fn unknown_instrument_codes() {
    check_bad_input(
        |f| {
            f.labels("train", 2, &[(0, 100, 1), (0, 100, 200), (0, 100, 0)]);
        },
        &["2.csv", "line 3", "instrument code 200"],
        "unknown instrument",
        2,
    );
}

#[test]
fn recording_without_metadata() {
    check_bad_input(
        |f| drop(f.tone_wav("train", 9, 44_100, 1.0)),
        &["9.wav", "recording 9 has no row"],
        "no metadata",
        2,
    );
}

#[test]
fn recording_without_labels() {
    check_bad_input(
        |f| {
            f.metadata(9, "Bach", "x", 1);
            f.tone_wav("train", 9, 44_100, 1.0);
        },
        &["9.wav", "no label file"],
        "no labels",
        2,
    );
}

#[test]
fn duplicate_ids_in_metadata() {
    check_bad_input(
        |f| {
            f.metadata(2, "Haydn", "op1", 6);
        },
        &[
            "musicnet_metadata.csv",
            "line 4",
            "duplicate recording id 2",
        ],
        "duplicate id",
        2,
    );
}

#[test]
fn duplicate_ids_across_splits() {
    check_bad_input(
        |f| {
            f.tone_wav("test", 2, 44_100, 1.0);
            f.labels("test", 2, &[(0, 100, 1)]);
        },
        &["test_data/2.wav", "duplicate recording id 2"],
        "duplicate id",
        2,
    );
}
