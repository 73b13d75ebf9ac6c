//! `host-cli eval` end to end: a MusicNet-layout folder of tones, prepared by the trainer's
//! reader, scored through the int8 path with a model that hears pitch (so every figure is known).

mod support;

use std::path::Path;
use support::{host_cli, json, stderr, tone, tone_model, write_wav};
use trainer::prepare::select::SelectionRules;
use trainer::prepare::{PrepareArgs, run};

const LABEL_HEADER: &str = "start_time,end_time,instrument,note,start_beat,end_beat,note_value";
const METADATA_HEADER: &str =
    "id,composer,composition,movement,ensemble,source,transcriber,catalog_name,seconds";

/// Bach plays low cello tones, Mozart high flute tones: two recordings each in train and test.
fn musicnet_of_tones(root: &Path) {
    let seconds = 8;
    let mut metadata = format!("{METADATA_HEADER}\n");
    let mut id = 1;
    for split in ["train", "test"] {
        for (composer, hz, program) in [("Bach", 220.0, 43), ("Mozart", 3_000.0, 74)] {
            for piece in 0..2 {
                let samples = tone(hz + 10.0 * f64::from(piece), 8_000 * seconds, 0.5);
                let wav = root.join(format!("{split}_data/{id}.wav"));
                std::fs::create_dir_all(wav.parent().unwrap()).unwrap();
                write_wav(&wav, 8_000, &samples);
                let end = 44_100 * seconds as u64;
                let labels = format!("{LABEL_HEADER}\n0,{end},{program},60,0.0,1.0,Quarter\n");
                let path = root.join(format!("{split}_labels/{id}.csv"));
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, labels).unwrap();
                metadata.push_str(&format!(
                    "{id},{composer},{composer} {split} {piece},1. Allegro,Solo,test,test,c{id},{seconds}\n"
                ));
                id += 1;
            }
        }
    }
    std::fs::write(root.join("musicnet_metadata.csv"), metadata).unwrap();
}

#[test]
fn eval_scores_the_test_recordings_through_the_int8_path() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("musicnet");
    musicnet_of_tones(&data);
    let cache = temp.path().join("cache");
    run(&PrepareArgs {
        data,
        out: cache.clone(),
        lenient: false,
        force: false,
        jobs: Some(2),
        rules: SelectionRules {
            min_instrument_recordings: 1,
            min_composer_recordings: 1,
            recordings_per_composer: 0,
            ..SelectionRules::default()
        },
    })
    .unwrap();
    let model = temp.path().join("tone.cmpcls");
    std::fs::write(&model, tone_model(1)).unwrap();
    let out = temp.path().join("report");
    let args = [
        "eval",
        cache.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--stacks",
        "5",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ];
    let output = host_cli(args);
    assert!(output.status.success(), "{}", stderr(&output));
    let report = json(&output);
    assert_eq!(report["examples"], 20, "4 test recordings × 5 stacks");
    assert_eq!(report["recordings_count"], 4);
    assert_eq!(report["composer"]["accuracy"], 1.0);
    assert_eq!(report["instruments"]["samples_avg"]["f1"], 1.0);
    assert_eq!(report["exact_match"], 1.0);
    for name in ["report.json", "confusion_matrix.png", "roc_curves.png"] {
        assert!(out.join(name).is_file(), "{name} written");
    }
    // Deterministic: the same windows every time.
    let again = host_cli(&args[..7]);
    assert_eq!(json(&again), report);
}

#[test]
fn eval_of_a_missing_folder_names_it() {
    let output = host_cli([
        "eval",
        "/nonexistent/musicnet",
        "--cache",
        "/nonexistent/cache",
    ]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("/nonexistent/musicnet"),
        "{}",
        stderr(&output)
    );
}
