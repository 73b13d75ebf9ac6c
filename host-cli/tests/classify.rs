//! `host-cli classify`, run as a binary: the bundled model on the bundled example, and small
//! models built at test time whose answers are known (a pitch-hearing model) or can be computed
//! independently with core-nostd (a scrambled model), so the segment plan, the stacking of
//! windows, the aggregation, padding and silence are checked on real outputs.

mod support;

use core_nostd::frontend::{FeaturePlane, WINDOW_FRAMES, WINDOW_SAMPLES, window_features};
use core_nostd::inference::{classify, scratch_bytes};
use core_nostd::model::Model;
use core_nostd::streaming::window_starts;
use serde_json::Value;
use support::*;

/// Writes `model` and `samples` (8 kHz) into `dir` and runs `classify --json` with `extra` args.
fn classify_json(dir: &tempfile::TempDir, model: &[u8], samples: &[i16], extra: &[&str]) -> Value {
    let model_path = dir.path().join("model.cmpcls");
    let wav = dir.path().join("input.wav");
    std::fs::write(&model_path, model).unwrap();
    write_wav(&wav, 8000, samples);
    let mut args = vec![
        "classify".to_string(),
        "--json".into(),
        "--model".into(),
        model_path.display().to_string(),
        wav.display().to_string(),
    ];
    args.extend(extra.iter().map(ToString::to_string));
    json(&host_cli(&args))
}

/// Names of the instruments heard in each timeline row.
fn heard(file: &Value) -> Vec<Vec<String>> {
    file["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row["heard"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn bundled_model_classifies_the_bundled_example() {
    let example = example_recording();
    let output = host_cli(["classify".as_ref(), example.as_os_str()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for heading in ["Composer", "Instrument", "Timeline"] {
        assert!(text.contains(heading), "{text}");
    }

    let report = json(&host_cli([
        "classify".as_ref(),
        "--json".as_ref(),
        "--top".as_ref(),
        "2".as_ref(),
        example.as_os_str(),
    ]));
    let labels = report["model"]["composers"].as_array().unwrap();
    let instruments = report["model"]["instruments"].as_array().unwrap();
    assert!(!labels.is_empty() && !instruments.is_empty());
    assert_eq!(
        report["model"]["name"],
        "bundled model (models/reference.cmpcls)"
    );
    let file = &report["files"][0];
    assert_eq!(file["silence"], false);
    assert_eq!(file["composers"].as_array().unwrap().len(), 2);
    assert_eq!(
        file["instruments"].as_array().unwrap().len(),
        instruments.len()
    );
    let seconds = file["seconds"].as_f64().unwrap();
    assert!((20.0..=40.0).contains(&seconds), "{seconds}");
    let rows = file["timeline"].as_array().unwrap();
    assert!(!rows.is_empty());
    let sum: f64 = rows[0]["composers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["probability"].as_f64().unwrap())
        .sum();
    assert!((sum - 1.0).abs() < 0.01, "softmax sums to one: {sum}");
    assert!(report["errors"].as_array().unwrap().is_empty());
}

/// 20.032 s (4 windows, back to back): a 500 Hz tone for two windows, then 3 kHz for two. The
/// 256 samples around the change are silent, so that no frame hears both tones.
fn low_then_high() -> Vec<i16> {
    let change = 2 * WINDOW_SAMPLES;
    let mut samples = tone(500.0, change - 128, 0.5);
    samples.resize(change + 128, 0);
    samples.extend(tone(3000.0, 4 * WINDOW_SAMPLES - change - 128, 0.5));
    samples
}

#[test]
fn the_timeline_follows_what_is_heard() {
    let dir = tempfile::tempdir().unwrap();
    let report = classify_json(&dir, &tone_model(1), &low_then_high(), &[]);
    let file = &report["files"][0];
    assert_eq!(file["segments"], 4);
    assert_eq!(
        heard(file),
        [vec!["Cello"], vec!["Cello"], vec!["Flute"], vec!["Flute"]]
    );
    let composers: Vec<&str> = file["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["composer"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(composers, ["Bach", "Bach", "Mozart", "Mozart"]);
    // Aggregates: each composer wins half the time; each instrument is heard in 2 of 4.
    for c in file["composers"].as_array().unwrap() {
        assert_eq!(c["segments_won"], 2);
        assert!((c["probability"].as_f64().unwrap() - 0.5).abs() < 0.01);
    }
    for i in file["instruments"].as_array().unwrap() {
        assert_eq!(i["heard"], true);
        assert_eq!(i["segments_heard"], 2);
        assert!(i["peak"].as_f64().unwrap() > 0.95);
    }
    let starts: Vec<f64> = file["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["start_s"].as_f64().unwrap())
        .collect();
    assert_eq!(starts, [0.0, 5.008, 10.016, 15.024]);
}

#[test]
fn a_four_window_stack_covers_20_seconds_and_segment_refines_it() {
    let dir = tempfile::tempdir().unwrap();
    let report = classify_json(&dir, &tone_model(4), &low_then_high(), &[]);
    let file = &report["files"][0];
    assert_eq!(file["segments"], 1);
    assert_eq!(file["shorter_than_stack"], false);
    let windows = &file["timeline"][0]["windows_s"];
    assert_eq!(*windows, serde_json::json!([0.0, 5.008, 10.016, 15.024]));

    // Two-window segments: two stacks of overlapping windows, one per tone.
    let report = classify_json(
        &dir,
        &tone_model(4),
        &low_then_high(),
        &["--segment", "10.016"],
    );
    let file = &report["files"][0];
    assert_eq!(heard(file), [vec!["Cello"], vec!["Flute"]]);
    let windows = &file["timeline"][1]["windows_s"];
    assert_eq!(
        *windows,
        serde_json::json!([10.016, 11.68525, 13.354625, 15.024])
    );
}

#[test]
fn scores_equal_core_nostd_on_the_same_windows() {
    let dir = tempfile::tempdir().unwrap();
    let model_bytes = scrambled_model(4, 7);
    // 35 s of a chirp-like signal: two segments of 17.5 s, each with four overlapping windows
    // placed as the firmware places them on a clip.
    let n = 280_000;
    let samples: Vec<i16> = (0..n)
        .map(|i| {
            let t = i as f64 / 8000.0;
            let f = 200.0 + 90.0 * t;
            (12000.0 * (2.0 * std::f64::consts::PI * f * t).sin()
                + 3000.0 * (2.0 * std::f64::consts::PI * 2.7 * f * t).sin()) as i16
        })
        .collect();
    let report = classify_json(&dir, &model_bytes, &samples, &["--jobs", "2"]);
    let rows = report["files"][0]["timeline"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 2);

    let model = Model::parse(&model_bytes).unwrap();
    let mut scratch = vec![0; scratch_bytes(&model)];
    for (segment, row) in rows.iter().enumerate() {
        let mut input = Vec::new();
        let clip = segment * n / 2;
        for offset in window_starts(n / 2, 4) {
            let start = clip + offset;
            let window_samples: &[i16; WINDOW_SAMPLES] =
                samples[start..start + WINDOW_SAMPLES].try_into().unwrap();
            let mut plane: Box<FeaturePlane> = vec![[0; WINDOW_FRAMES]; 128]
                .into_boxed_slice()
                .try_into()
                .unwrap();
            window_features(window_samples, &mut plane);
            input.extend_from_slice(plane.as_flattened());
        }
        let output = classify(&model, &input, &mut scratch).unwrap();
        let probabilities = |labels: &serde_json::Value| -> Vec<f64> {
            let labels = labels.as_array().unwrap();
            labels
                .iter()
                .map(|c| c["probability"].as_f64().unwrap())
                .collect()
        };
        let q15 = |q: &[u16]| -> Vec<f64> { q.iter().map(|&p| f64::from(p) / 32768.0).collect() };
        let composers = output.composers.probabilities_q15();
        assert_eq!(
            probabilities(&row["composers"]),
            q15(composers),
            "segment {segment}"
        );
        let instruments = output.instruments.probabilities_q15();
        assert_eq!(
            probabilities(&row["instruments"]),
            q15(instruments),
            "segment {segment}"
        );
    }
}

#[test]
fn one_thread_and_many_give_the_same_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let samples = low_then_high();
    let mut one = classify_json(&dir, &scrambled_model(1, 3), &samples, &["--jobs", "1"]);
    let mut many = classify_json(&dir, &scrambled_model(1, 3), &samples, &["--jobs", "4"]);
    for report in [&mut one, &mut many] {
        report["jobs"] = Value::Null;
        report["files"][0]["timing"] = Value::Null;
    }
    assert_eq!(one, many);
}

#[test]
fn silence_is_reported_as_silence() {
    let dir = tempfile::tempdir().unwrap();
    // Ten seconds of near-silence: ±1 LSB of pseudo-random noise (as dither leaves).
    let mut state = 1_u32;
    let samples: Vec<i16> = (0..80_000)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 30) as i16 - 1
        })
        .collect();
    let report = classify_json(&dir, &tone_model(4), &samples, &[]);
    let file = &report["files"][0];
    assert_eq!(file["silence"], true);
    assert_eq!(file["classified_segments"], 0);
    assert!(file["composers"].as_array().unwrap().is_empty());
    assert!(file["instruments"].as_array().unwrap().is_empty());

    std::fs::write(dir.path().join("m.cmpcls"), tone_model(4)).unwrap();
    let output = host_cli([
        "classify".as_ref(),
        "--model".as_ref(),
        dir.path().join("m.cmpcls").as_os_str(),
        dir.path().join("input.wav").as_os_str(),
    ]);
    assert!(output.status.success());
    let text = stdout(&output);
    assert!(text.contains("silence: no sound"), "{text}");
    assert!(!text.contains("Composer"), "{text}");
}

#[test]
fn silent_segments_are_skipped_and_the_rest_classified() {
    let dir = tempfile::tempdir().unwrap();
    let mut samples = tone(500.0, 2 * WINDOW_SAMPLES, 0.5);
    samples.resize(4 * WINDOW_SAMPLES, 0);
    let report = classify_json(&dir, &tone_model(1), &samples, &[]);
    let file = &report["files"][0];
    let silent: Vec<bool> = file["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["silent"].as_bool().unwrap())
        .collect();
    assert_eq!(silent, [false, false, true, true]);
    assert_eq!(file["classified_segments"], 2);
    assert_eq!(file["composers"][0]["name"], "Bach");
    assert!(file["composers"][0]["probability"].as_f64().unwrap() > 0.95);
    assert!((file["silent_share"].as_f64().unwrap() - 0.5).abs() < 0.01);
}

#[test]
fn short_recordings_are_padded_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let samples = tone(500.0, 16_000, 0.5); // 2 s
    let report = classify_json(&dir, &tone_model(4), &samples, &[]);
    let file = &report["files"][0];
    let padded = file["padded_seconds"].as_f64().unwrap();
    assert!((padded - (WINDOW_SAMPLES - 16_000) as f64 / 8000.0).abs() < 1e-9);
    assert_eq!(heard(file), [vec!["Cello"]]);

    let output = host_cli([
        "classify".as_ref(),
        "--model".as_ref(),
        dir.path().join("model.cmpcls").as_os_str(),
        dir.path().join("input.wav").as_os_str(),
    ]);
    assert!(output.status.success());
    assert!(
        stdout(&output).contains("padded with 3.01 s of silence"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn recordings_shorter_than_a_stack_overlap_their_windows() {
    let dir = tempfile::tempdir().unwrap();
    let samples = tone(500.0, 8 * 8000, 0.5);
    let report = classify_json(&dir, &tone_model(4), &samples, &[]);
    let file = &report["files"][0];
    assert_eq!(file["shorter_than_stack"], true);
    assert_eq!(file["padded_seconds"], 0.0);
    let windows = file["timeline"][0]["windows_s"].as_array().unwrap();
    assert_eq!(windows.len(), 4);
    assert_eq!(windows[0], 0.0);
}

#[test]
fn other_rates_and_several_files_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.cmpcls"), tone_model(1)).unwrap();
    // 44.1 kHz: the tone goes through the resampler.
    let low: Vec<i16> = (0..44_100 * 6)
        .map(|i| {
            (16000.0 * (2.0 * std::f64::consts::PI * 500.0 * i as f64 / 44_100.0).sin()) as i16
        })
        .collect();
    write_wav(&dir.path().join("low.wav"), 44_100, &low);
    write_wav(
        &dir.path().join("high.wav"),
        8000,
        &tone(3000.0, 48_000, 0.5),
    );
    let report = json(&host_cli([
        "classify".as_ref(),
        "--json".as_ref(),
        "--model".as_ref(),
        dir.path().join("m.cmpcls").as_os_str(),
        dir.path().join("low.wav").as_os_str(),
        dir.path().join("high.wav").as_os_str(),
    ]));
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["source_rate_hz"], 44_100);
    assert_eq!(files[0]["composers"][0]["name"], "Bach");
    assert_eq!(files[1]["composers"][0]["name"], "Mozart");
}
