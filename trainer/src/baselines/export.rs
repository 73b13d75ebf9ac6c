//! `--export-npy DIR`: the exact windows the baselines saw, as NumPy `.npy` files (npyz), so
//! `bench/sklearn_baselines.py` fits scikit-learn on the same data. Every file is written
//! atomically. Features are stored as the integers they came from (spectrogram codes `int8`,
//! raw samples `int16`; divide raw by 32768 to get the models' input), labels as `int64`
//! composer classes and `uint8` instrument flags.
//!
//! Files, `{input}` being `raw` or `spectrogram`:
//! - `{input}_train_e{epoch}_x.npy` (W × D), `train_e{epoch}_composer.npy`,
//!   `train_e{epoch}_instruments.npy` (W × M): the windows of each epoch, in training order;
//!   the offline models use the first N rows of epoch 0, the standardiser all of epoch 0;
//! - `{input}_validation_x.npy`, `validation_composer.npy`, `validation_instruments.npy`;
//! - `{input}_test_r{id}_x.npy` (stacks·4 × D, windows of stack j in rows 4j..4j+3),
//!   `test_r{id}_composer.npy`, `test_r{id}_instruments.npy` (one row per stack).
//!
//! Cost: 1 (spectrogram) or 2 (raw) bytes per feature per window written.

use super::data::{InputKind, codes_i16};
use crate::atomic::write_atomically;
use anyhow::Context;
use ndarray::Array2;
use npyz::WriterBuilder;
use std::path::{Path, PathBuf};

/// Where exported arrays go.
pub struct Exporter {
    dir: PathBuf,
}

impl Exporter {
    /// Exports into `dir` (created when missing).
    pub fn new(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// Writes `x` (unstandardised `input` features) as `{input}_{stem}_x.npy`.
    pub fn features(&self, input: InputKind, stem: &str, x: &Array2<f32>) -> anyhow::Result<()> {
        let shape = [x.nrows() as u64, x.ncols() as u64];
        let path = self.dir.join(format!("{}_{stem}_x.npy", input.name()));
        let codes = codes_i16(x, input);
        match input {
            InputKind::Spectrogram => {
                let bytes: Vec<i8> = codes.iter().map(|&c| c as i8).collect();
                write_npy(&path, &shape, &bytes)
            }
            InputKind::Raw => write_npy(&path, &shape, &codes),
        }
    }

    /// Writes composer classes and instrument flags as `{stem}_composer.npy` and
    /// `{stem}_instruments.npy` (the same for every input; the last write wins).
    pub fn labels(
        &self,
        stem: &str,
        composer: &[usize],
        instruments: &[Vec<bool>],
    ) -> anyhow::Result<()> {
        let c = self.dir.join(format!("{stem}_composer.npy"));
        let i = self.dir.join(format!("{stem}_instruments.npy"));
        let composer: Vec<i64> = composer.iter().map(|&c| c as i64).collect();
        write_npy(&c, &[composer.len() as u64], &composer)?;
        let m = instruments.first().map_or(0, Vec::len);
        let flags: Vec<u8> = instruments.iter().flatten().map(|&b| u8::from(b)).collect();
        write_npy(&i, &[instruments.len() as u64, m as u64], &flags)
    }

    /// Writes any JSON value as `name` (the run's settings, for the script).
    pub fn json(&self, name: &str, value: &impl serde::Serialize) -> anyhow::Result<()> {
        let path = self.dir.join(name);
        write_atomically(&path, |w| {
            serde_json::to_writer_pretty(&mut *w, value).map_err(std::io::Error::other)
        })
        .with_context(|| format!("writing {}", path.display()))
    }
}

/// Writes `data` (C order) with `shape` as an `.npy` file, atomically.
fn write_npy<T: npyz::AutoSerialize + Copy>(
    path: &Path,
    shape: &[u64],
    data: &[T],
) -> anyhow::Result<()> {
    write_atomically(path, |w| {
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(shape)
            .writer(w)
            .begin_nd()?;
        writer.extend(data.iter().copied())?;
        writer.finish()
    })
    .with_context(|| format!("writing {}", path.display()))
}
