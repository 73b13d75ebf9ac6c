//! `musicnet_metadata.csv`: one row per recording.

use super::csv_rows::read_rows;
use super::error::{DataError, Issues};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The columns MusicNet's metadata file has (all required).
pub const METADATA_COLUMNS: [&str; 9] = [
    "id",
    "composer",
    "composition",
    "movement",
    "ensemble",
    "source",
    "transcriber",
    "catalog_name",
    "seconds",
];

/// One row of `musicnet_metadata.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Recording id (MusicNet: 1727..2678; the corpus: 3000 and up).
    pub id: u32,
    /// Composer's name as written in the file (e.g. `Beethoven`).
    pub composer: String,
    /// Composition title.
    pub composition: String,
    /// Movement.
    pub movement: String,
    /// Ensemble (e.g. `String Quartet`).
    pub ensemble: String,
    /// Where the recording came from.
    pub source: String,
    /// Who aligned the labels.
    pub transcriber: String,
    /// Catalogue name (e.g. `OP18NO5`).
    pub catalog_name: String,
    /// Length in seconds.
    pub seconds: f64,
}

/// Reads the metadata file into a map by id. Bad rows and duplicate ids go to `issues`
/// (lenient: the row, or the later duplicate, is skipped).
pub fn read_metadata(
    path: &Path,
    issues: &mut Issues,
) -> Result<BTreeMap<u32, Metadata>, DataError> {
    let mut by_id: BTreeMap<u32, (u64, Metadata)> = BTreeMap::new();
    for (line, row) in read_rows::<Metadata>(path, &METADATA_COLUMNS, issues)? {
        if let Some((first_line, _)) = by_id.get(&row.id) {
            issues.report(DataError::DuplicateId {
                path: path.to_path_buf(),
                line,
                id: row.id,
                first: format!("on line {first_line}"),
            })?;
            continue;
        }
        by_id.insert(row.id, (line, row));
    }
    Ok(by_id.into_iter().map(|(id, (_, row))| (id, row)).collect())
}

/// Writes metadata rows (MusicNet's column order) atomically.
pub fn write_metadata<'a>(
    path: &Path,
    rows: impl IntoIterator<Item = &'a Metadata>,
) -> Result<(), DataError> {
    crate::atomic::write_atomically(path, |w| {
        let mut writer = csv::Writer::from_writer(w);
        for row in rows {
            writer.serialize(row).map_err(std::io::Error::other)?;
        }
        writer.flush()
    })
    .map_err(|source| DataError::Write {
        path: path.to_path_buf(),
        source,
    })
}
