//! Builds small MusicNet-shaped folders for tests: WAV files of any flavour, label CSVs and a
//! metadata file, written exactly as the archive lays them out (or nested like the mirror).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The label header of MusicNet.
pub const LABEL_HEADER: &str = "start_time,end_time,instrument,note,start_beat,end_beat,note_value";
/// The metadata header of MusicNet.
pub const METADATA_HEADER: &str =
    "id,composer,composition,movement,ensemble,source,transcriber,catalog_name,seconds";

/// A MusicNet folder under construction.
pub struct Fixture {
    /// What a user would pass (`dir`).
    pub dir: PathBuf,
    /// Where `train_data/` etc. go (`dir`, or `dir/musicnet/musicnet` when nested).
    pub data_root: PathBuf,
    metadata_rows: Vec<String>,
    _temp: tempfile::TempDir,
}

impl Fixture {
    /// An empty folder, laid out like the archive (`nested = false`) or the mirror.
    pub fn new(nested: bool) -> Self {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().to_path_buf();
        let data_root = if nested {
            dir.join("musicnet").join("musicnet")
        } else {
            dir.clone()
        };
        std::fs::create_dir_all(&data_root).unwrap();
        Self {
            dir,
            data_root,
            metadata_rows: Vec::new(),
            _temp: temp,
        }
    }

    /// Adds a metadata row.
    pub fn metadata(
        &mut self,
        id: u32,
        composer: &str,
        composition: &str,
        seconds: u32,
    ) -> &mut Self {
        self.metadata_rows.push(format!(
            "{id},{composer},{composition},1. Allegro,String Quartet,test,test,{composition}-cat,{seconds}"
        ));
        self
    }

    /// Writes the metadata file (beside the data for the archive layout, at `dir/musicnet/` when
    /// nested, as the mirror does).
    pub fn write_metadata(&self) -> PathBuf {
        let path = if self.data_root == self.dir {
            self.dir.join("musicnet_metadata.csv")
        } else {
            self.dir.join("musicnet").join("musicnet_metadata.csv")
        };
        let mut text = format!("{METADATA_HEADER}\n");
        for row in &self.metadata_rows {
            text.push_str(row);
            text.push('\n');
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Path of a recording's audio.
    pub fn audio_path(&self, split: &str, id: u32) -> PathBuf {
        self.data_root
            .join(format!("{split}_data"))
            .join(format!("{id}.wav"))
    }

    /// Path of a recording's labels.
    pub fn labels_path(&self, split: &str, id: u32) -> PathBuf {
        self.data_root
            .join(format!("{split}_labels"))
            .join(format!("{id}.csv"))
    }

    /// Writes a 16-bit mono WAV of a 440 Hz tone (`seconds` long, `rate` Hz).
    pub fn tone_wav(&self, split: &str, id: u32, rate: u32, seconds: f64) -> PathBuf {
        let path = self.audio_path(split, id);
        write_wav(&path, rate, 1, 16, false, &tone(rate, seconds));
        path
    }

    /// Writes a label file with the given rows (`(start, end, instrument)` in 44.1 kHz samples).
    pub fn labels(&self, split: &str, id: u32, notes: &[(u64, u64, i64)]) -> PathBuf {
        let mut text = format!("{LABEL_HEADER}\n");
        for (i, &(start, end, instrument)) in notes.iter().enumerate() {
            text.push_str(&format!(
                "{start},{end},{instrument},{},{}.0,1.0,Quarter\n",
                60 + i % 12,
                i
            ));
        }
        self.raw_labels(split, id, &text)
    }

    /// Writes a label file with raw text.
    pub fn raw_labels(&self, split: &str, id: u32, text: &str) -> PathBuf {
        let path = self.labels_path(split, id);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A complete recording: metadata row, 16-bit 44.1 kHz tone, one note per instrument over
    /// the whole recording.
    pub fn recording(
        &mut self,
        split: &str,
        id: u32,
        composer: &str,
        composition: &str,
        seconds: f64,
        instruments: &[i64],
    ) {
        self.metadata(id, composer, composition, seconds.round() as u32);
        self.tone_wav(split, id, 44_100, seconds);
        let end = (seconds * 44_100.0) as u64;
        let notes: Vec<(u64, u64, i64)> = instruments.iter().map(|&p| (0, end, p)).collect();
        self.labels(split, id, &notes);
    }
}

/// A 440 Hz tone at half scale, as f32 in [-1, 1].
pub fn tone(rate: u32, seconds: f64) -> Vec<f32> {
    let n = (f64::from(rate) * seconds).round() as usize;
    (0..n)
        .map(|i| {
            (0.5 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / f64::from(rate)).sin()) as f32
        })
        .collect()
}

/// Writes `mono` as a WAV of the given flavour (`channels` copies of the signal).
pub fn write_wav(path: &Path, rate: u32, channels: u16, bits: u16, float: bool, mono: &[f32]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for &x in mono {
        for _ in 0..channels {
            if float {
                writer.write_sample(x).unwrap();
            } else {
                let scale = f64::from(1_u32 << (bits - 1)) - 1.0;
                let v = (f64::from(x) * scale).round() as i32;
                match bits {
                    8 => writer.write_sample(v as i8).unwrap(),
                    16 => writer.write_sample(v as i16).unwrap(),
                    _ => writer.write_sample(v).unwrap(),
                }
            }
        }
    }
    writer.finalize().unwrap();
}
