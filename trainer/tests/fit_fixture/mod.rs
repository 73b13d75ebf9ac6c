//! A tiny synthetic corpus for training tests: MusicNet-shaped folders (WAVs, label CSVs,
//! metadata) whose two "composers" differ in pitch, prepared with `trainer prepare`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use trainer::prepare::select::SelectionRules;
use trainer::prepare::{PrepareArgs, run};

/// The label header of MusicNet.
const LABEL_HEADER: &str = "start_time,end_time,instrument,note,start_beat,end_beat,note_value";
/// The metadata header of MusicNet.
const METADATA_HEADER: &str =
    "id,composer,composition,movement,ensemble,source,transcriber,catalog_name,seconds";

/// Seconds per synthetic recording (longer than one 5 s window, so windows vary).
const SECONDS: f64 = 7.0;
/// Source sample rate of the WAVs (the loader resamples to 8 kHz).
const RATE: u32 = 8_000;

/// A prepared cache in a temporary folder (removed on drop).
pub struct Corpus {
    /// The prepared cache.
    pub cache: PathBuf,
    _temp: tempfile::TempDir,
}

/// A recording: a tone at `hz` with a softer octave (`octave` times the fundamental's
/// amplitude) and a little noise, loudness and noise seeded by `id`.
fn signal(hz: f64, id: u32, octave: f64) -> Vec<f32> {
    let loudness = 0.6 + 0.1 * f64::from(id % 4);
    let n = (f64::from(RATE) * SECONDS) as usize;
    let mut state = u64::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|i| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let noise = ((state >> 40) as f64 / f64::from(1_u32 << 24) - 0.5) * 0.05;
            let t = i as f64 / f64::from(RATE);
            let tone = 0.4 * (2.0 * std::f64::consts::PI * hz * t).sin()
                + 0.4 * octave * (2.0 * std::f64::consts::PI * 2.0 * hz * t).sin();
            (loudness * tone + noise) as f32
        })
        .collect()
}

fn write_wav(path: &Path, samples: &[f32]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for &x in samples {
        writer.write_sample((x * 32_767.0).round() as i16).unwrap();
    }
    writer.finalize().unwrap();
}

/// Two composers, three one-movement pieces each (two train, one validation after the
/// selection): "Bach" plays low tones on violin and cello, "Mozart" high tones on piano, with
/// the cello only in the second half of each Bach recording (so window labels vary).
pub fn two_composers() -> Corpus {
    build(0.375, 1)
}

/// [`two_composers`] "rendered with other sounds": the same pieces, labels and selection, with
/// a louder octave in every tone.
pub fn two_composers_other_timbre() -> Corpus {
    build(0.8, 1)
}

/// [`two_composers`] with Mozart on the harpsichord (GM 7) instead of the piano: other
/// instrument classes.
pub fn two_composers_on_harpsichord() -> Corpus {
    build(0.375, 7)
}

/// The corpus with octave share `octave` and Mozart's GM program `mozart_program`.
fn build(octave: f64, mozart_program: u8) -> Corpus {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("musicnet");
    let mut metadata = format!("{METADATA_HEADER}\n");
    let end = (SECONDS * 44_100.0) as u64;
    let mut id = 1;
    for (composer, base_hz) in [("Bach", 330.0), ("Mozart", 1_320.0)] {
        for piece in 0..3 {
            // Pieces of one composer share the pitch and differ in noise and loudness, so the
            // validation piece is drawn from the training pieces' distribution.
            let hz = base_hz;
            write_wav(
                &data.join("train_data").join(format!("{id}.wav")),
                &signal(hz, id, octave),
            );
            let notes: Vec<(u64, u64, u8)> = if composer == "Bach" {
                vec![(0, end, 41), (end / 2, end, 43)]
            } else {
                vec![(0, end, mozart_program)]
            };
            let mut labels = format!("{LABEL_HEADER}\n");
            for (i, (start, stop, program)) in notes.iter().enumerate() {
                labels.push_str(&format!(
                    "{start},{stop},{program},{},{i}.0,1.0,Quarter\n",
                    60 + i
                ));
            }
            let labels_path = data.join("train_labels").join(format!("{id}.csv"));
            std::fs::create_dir_all(labels_path.parent().unwrap()).unwrap();
            std::fs::write(labels_path, labels).unwrap();
            metadata.push_str(&format!(
                "{id},{composer},{composer}-{piece},1. Allegro,Solo,test,test,cat{id},{}\n",
                SECONDS.round()
            ));
            id += 1;
        }
    }
    std::fs::create_dir_all(data.join("test_data")).unwrap();
    std::fs::create_dir_all(data.join("test_labels")).unwrap();
    std::fs::write(data.join("musicnet_metadata.csv"), metadata).unwrap();
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
            validation_share: 0.3,
            seed: 0,
        },
    })
    .unwrap();
    Corpus { cache, _temp: temp }
}

/// `trainer export` of the model folder `model` into `file`, calibrated and scored on `cache`'s
/// validation recordings (the fixture has no test split), quietly (`--json`, no report folder).
pub fn export_args(model: &Path, cache: &Path, file: &Path) -> trainer::export::ExportArgs {
    trainer::export::ExportArgs {
        model: model.to_path_buf(),
        cache: cache.to_path_buf(),
        out: file.to_path_buf(),
        calibration: "minmax".parse().expect("a range method"),
        calibration_stacks: 8,
        split: trainer::evaluation::EvalSplit::Validation,
        stacks: 10,
        seed: 1,
        threshold: 0.5,
        json: true,
        report: None,
    }
}
