//! Where things are in a MusicNet folder, in the archive's layout or a mirror's deeper nesting.
//!
//! The archive unpacks to `musicnet/{train,test}_{data,labels}/` beside `musicnet_metadata.csv`
//! and, from a separate archive, `musicnet_midis/<Composer>/<id>_*.mid`. A common mirror nests
//! everything one level deeper (`musicnet/musicnet/train_data/...`, and
//! `musicnet_midis/musicnet_midis/...`). [`Layout::discover`] accepts the folder at any of
//! these levels.

use super::error::DataError;
use std::path::{Path, PathBuf};

/// Metadata file name.
pub const METADATA_FILE: &str = "musicnet_metadata.csv";
/// MIDI folder name.
pub const MIDIS_DIR: &str = "musicnet_midis";

/// A split of MusicNet.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// `train_data/`, `train_labels/`.
    Train,
    /// `test_data/`, `test_labels/`.
    Test,
}

impl Split {
    /// Both splits, train first.
    pub const ALL: [Split; 2] = [Split::Train, Split::Test];

    /// `train` or `test`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }

    /// Parses `train` / `test` (case-insensitive).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "train" => Some(Split::Train),
            "test" => Some(Split::Test),
            _ => None,
        }
    }

    /// The audio folder's name, `{split}_data`.
    #[must_use]
    pub fn data_dir(self) -> String {
        format!("{}_data", self.name())
    }

    /// The label folder's name, `{split}_labels`.
    #[must_use]
    pub fn labels_dir(self) -> String {
        format!("{}_labels", self.name())
    }
}

/// The resolved paths of a MusicNet folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The folder holding `train_data/` etc.
    pub data_root: PathBuf,
    /// `musicnet_metadata.csv`.
    pub metadata: PathBuf,
    /// `musicnet_midis/` (the level holding composer folders), when present.
    pub midis: Option<PathBuf>,
}

impl Layout {
    /// Finds the data, metadata and MIDI folders under `dir` (see the module doc for the layouts
    /// accepted). Cost: a few `stat` calls.
    pub fn discover(dir: &Path) -> Result<Self, DataError> {
        let data_candidates = [
            dir.to_path_buf(),
            dir.join("musicnet"),
            dir.join("musicnet").join("musicnet"),
        ];
        let data_root = data_candidates
            .iter()
            .find(|c| Split::ALL.iter().any(|s| c.join(s.data_dir()).is_dir()))
            .cloned()
            .ok_or_else(|| DataError::NotMusicNet {
                dir: dir.to_path_buf(),
                reason: "no train_data/ or test_data/ here, in musicnet/ or in musicnet/musicnet/"
                    .into(),
            })?;
        let mut metadata_candidates = vec![dir.join(METADATA_FILE), data_root.join(METADATA_FILE)];
        metadata_candidates.extend(data_root.parent().map(|p| p.join(METADATA_FILE)));
        metadata_candidates.push(dir.join("musicnet").join(METADATA_FILE));
        let metadata = metadata_candidates
            .into_iter()
            .find(|p| p.is_file())
            .ok_or_else(|| DataError::NotMusicNet {
                dir: dir.to_path_buf(),
                reason: format!("no {METADATA_FILE} beside the data folders"),
            })?;
        let midis = [dir, data_root.as_path()]
            .iter()
            .find_map(|base| find_midis(base));
        Ok(Self {
            data_root,
            metadata,
            midis,
        })
    }

    /// The audio file of recording `id` in `split`.
    #[must_use]
    pub fn audio_path(&self, split: Split, id: u32) -> PathBuf {
        self.data_root
            .join(split.data_dir())
            .join(format!("{id}.wav"))
    }

    /// The label file of recording `id` in `split`.
    #[must_use]
    pub fn labels_path(&self, split: Split, id: u32) -> PathBuf {
        self.data_root
            .join(split.labels_dir())
            .join(format!("{id}.csv"))
    }
}

/// `base/musicnet_midis`, or `base/musicnet_midis/musicnet_midis` when the mirror nests it.
pub fn find_midis(base: &Path) -> Option<PathBuf> {
    let outer = base.join(MIDIS_DIR);
    let inner = outer.join(MIDIS_DIR);
    if inner.is_dir() {
        Some(inner)
    } else if outer.is_dir() {
        Some(outer)
    } else {
        None
    }
}
