//! Where the model comes from: the one compiled into the binary, or a file named with `--model`.
//!
//! Either way the bytes go through [`Model::parse`], which checks every byte once (magic, version,
//! length, CRC-32, every layer); a refused file is reported with its name and the
//! [`ModelError`](core_nostd::model::ModelError) class, in words.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use core_nostd::model::{CHECKSUM_LEN, Model};

/// The bundled reference model (`models/reference.cmpcls` at the repository root), compiled in
/// so that `host-cli classify FILE` needs no flags. `build.rs` checks it exists.
static BUNDLED: &[u8] = include_bytes!("../../models/reference.cmpcls");

/// Name shown for the bundled model.
pub const BUNDLED_NAME: &str = "bundled model (models/reference.cmpcls)";

/// Model file bytes and where they came from. Parse with [`ModelBytes::parse`].
pub struct ModelBytes {
    bytes: Cow<'static, [u8]>,
    /// The file it was read from; `None` for the bundled model.
    path: Option<PathBuf>,
}

impl ModelBytes {
    /// The bundled model (no copy, no I/O).
    #[must_use]
    pub fn bundled() -> Self {
        Self {
            bytes: Cow::Borrowed(BUNDLED),
            path: None,
        }
    }

    /// The model at `path` if given, else the bundled one. Cost: one read of the file.
    ///
    /// # Errors
    /// The file is missing or unreadable (the message names it).
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let Some(path) = path else {
            return Ok(Self::bundled());
        };
        let bytes = std::fs::read(path).map_err(|error| {
            if error.kind() == std::io::ErrorKind::NotFound {
                anyhow::anyhow!("{}: no such model file", path.display())
            } else {
                anyhow::anyhow!("{}: cannot read the model file: {error}", path.display())
            }
        })?;
        Ok(Self {
            bytes: Cow::Owned(bytes),
            path: Some(path.to_path_buf()),
        })
    }

    /// Validates the bytes into a [`Model`] that borrows them. Cost: one pass over the file
    /// (CRC-32 and layer checks), about a millisecond for the reference model.
    ///
    /// # Errors
    /// Any [`ModelError`](core_nostd::model::ModelError), with the file name in front.
    pub fn parse(&self) -> Result<Model<'_>> {
        Model::parse(&self.bytes).with_context(|| format!("{}: invalid model file", self.name()))
    }

    /// The path given with `--model`, or [`BUNDLED_NAME`].
    #[must_use]
    pub fn name(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| BUNDLED_NAME.to_string(), |p| p.display().to_string())
    }

    /// The raw file bytes.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The CRC-32 stored in the file's last four bytes (little-endian). Only meaningful after a
    /// successful [`parse`](Self::parse), which checks it against the contents.
    #[must_use]
    pub fn crc32(&self) -> u32 {
        let tail = self
            .bytes
            .len()
            .checked_sub(CHECKSUM_LEN)
            .and_then(|start| self.bytes.get(start..))
            .and_then(|tail| <[u8; 4]>::try_from(tail).ok())
            .unwrap_or_default();
        u32::from_le_bytes(tail)
    }
}
