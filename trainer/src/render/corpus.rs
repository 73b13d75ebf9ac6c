//! The input: a folder laid out like MusicNet's MIDI archive, its metadata, and its split.
//!
//! ```text
//! <dir>/musicnet_midis/<Composer>/<id>_<name>.mid   (or <dir> is musicnet_midis itself,
//! <dir>/musicnet_metadata.csv                        or a mirror's musicnet_midis/musicnet_midis)
//! <dir>/split.csv                                    optional: id,split (train | test)
//! ```
//!
//! The metadata and split files are looked for beside the MIDI folder and one level up.

use super::augment::drawn_to_test;
use super::error::{Problems, RenderError};
use crate::musicnet::layout::{METADATA_FILE, MIDIS_DIR, find_midis};
use crate::musicnet::{DataError, Issues, Metadata, Split, read_metadata};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The split file's name.
pub const SPLIT_FILE: &str = "split.csv";

/// A piece to render: its MIDI file, metadata row and split.
#[derive(Clone, Debug, PartialEq)]
pub struct SourcePiece {
    /// Recording id (from the file name).
    pub id: u32,
    /// The MIDI file.
    pub midi: PathBuf,
    /// Its metadata row.
    pub metadata: Metadata,
    /// Train or test.
    pub split: Split,
}

/// The input folder, resolved, with the pieces selected for this run.
#[derive(Clone, Debug)]
pub struct Corpus {
    /// The folder holding composer folders of MIDI files.
    pub midis_dir: PathBuf,
    /// `musicnet_metadata.csv`.
    pub metadata_path: PathBuf,
    /// `split.csv`, when there is one.
    pub split_path: Option<PathBuf>,
    /// Selected pieces, by id.
    pub pieces: Vec<SourcePiece>,
}

/// Which pieces to take and how to split those `split.csv` does not place.
#[derive(Clone, Copy, Debug)]
pub struct Selection<'a> {
    /// Only these ids (all when empty).
    pub ids: &'a [u32],
    /// At most this many pieces (the lowest ids).
    pub limit: Option<usize>,
    /// Without `split.csv`: the share of pieces drawn for the test split.
    pub test_share: Option<f64>,
    /// Seed of the test-share draw.
    pub seed: u64,
}

/// Resolves `dir`, lists its MIDI files and selects pieces. Problems (a file name without an id,
/// a duplicate id, a piece without metadata, an unknown `--ids` entry, a bad `split.csv` row) go
/// to `problems`; pieces `split.csv` does not mention go to train with a warning. Cost: directory
/// listings and the two CSV files; no MIDI file is read.
pub fn open_corpus(
    dir: &Path,
    selection: &Selection<'_>,
    problems: &mut Problems,
) -> Result<Corpus, RenderError> {
    let (midis_dir, bases) = resolve(dir)?;
    let metadata_path = bases
        .iter()
        .map(|b| b.join(METADATA_FILE))
        .find(|p| p.is_file())
        .ok_or_else(|| RenderError::NotMidiFolder {
            dir: dir.to_path_buf(),
            reason: format!("no {METADATA_FILE} beside or above {}", midis_dir.display()),
        })?;
    let split_path = metadata_path
        .parent()
        .map(|p| p.join(SPLIT_FILE))
        .into_iter()
        .chain(bases.iter().map(|b| b.join(SPLIT_FILE)))
        .find(|p| p.is_file());

    let mut midis = list_midis(&midis_dir, problems)?;
    if !selection.ids.is_empty() {
        let wanted: BTreeSet<u32> = selection.ids.iter().copied().collect();
        for &id in &wanted {
            if !midis.contains_key(&id) {
                let message = format!("--ids: no MIDI file for id {id} in {}", midis_dir.display());
                problems.report(RenderError::Usage(message))?;
            }
        }
        midis.retain(|id, _| wanted.contains(id));
    }
    if let Some(limit) = selection.limit {
        midis = midis.into_iter().take(limit).collect();
    }

    let mut issues = if problems.is_strict() {
        Issues::strict()
    } else {
        Issues::lenient()
    };
    let metadata = read_metadata(&metadata_path, &mut issues)?;
    problems.absorb_issues(&issues);
    let splits = match &split_path {
        Some(path) => Some(read_split(path, problems)?),
        None => None,
    };
    if splits.is_some() && selection.test_share.is_some() {
        problems.warn(
            "--test-share ignored",
            format!(
                "--test-share is ignored: {} gives the split",
                split_path.as_deref().unwrap_or(dir).display()
            ),
        );
    }

    let mut pieces = Vec::new();
    for (id, midi) in midis {
        let Some(row) = metadata.get(&id) else {
            let problem = DataError::NoMetadata {
                path: midi,
                id,
                metadata: metadata_path.clone(),
            };
            problems.report(problem.into())?;
            continue;
        };
        let split = match (&splits, selection.test_share) {
            (Some(splits), _) => match splits.get(&id) {
                Some(&split) => split,
                None => {
                    let path = split_path.as_deref().unwrap_or(dir);
                    problems.warn(
                        "piece not in split.csv (rendered to train)",
                        format!(
                            "{}: no row for piece {id}; it goes to train",
                            path.display()
                        ),
                    );
                    Split::Train
                }
            },
            (None, Some(share)) if drawn_to_test(selection.seed, id, share) => Split::Test,
            (None, _) => Split::Train,
        };
        pieces.push(SourcePiece {
            id,
            midi,
            metadata: row.clone(),
            split,
        });
    }
    Ok(Corpus {
        midis_dir,
        metadata_path,
        split_path,
        pieces,
    })
}

/// The MIDI folder under `dir` and the folders to look for the CSV files in.
fn resolve(dir: &Path) -> Result<(PathBuf, Vec<PathBuf>), RenderError> {
    if !dir.is_dir() {
        return Err(RenderError::NotMidiFolder {
            dir: dir.to_path_buf(),
            reason: "no such folder".into(),
        });
    }
    if let Some(midis) = find_midis(dir) {
        let mut bases = vec![dir.to_path_buf(), midis.clone()];
        bases.extend(midis.parent().map(Path::to_path_buf));
        return Ok((midis, bases));
    }
    // `dir` is the MIDI folder itself (possibly the inner one of a nested mirror).
    let mut bases = vec![dir.to_path_buf()];
    let mut up = dir.parent();
    while let Some(parent) = up {
        bases.push(parent.to_path_buf());
        if parent.file_name().is_some_and(|n| n == MIDIS_DIR) {
            up = parent.parent();
        } else {
            break;
        }
    }
    Ok((dir.to_path_buf(), bases))
}

/// Every `<id>_*.mid` (or `.midi`) directly in `dir` or in its subfolders, by id.
fn list_midis(dir: &Path, problems: &mut Problems) -> Result<BTreeMap<u32, PathBuf>, RenderError> {
    let mut files = Vec::new();
    for entry in read_dir_sorted(dir)? {
        if entry.is_dir() {
            files.extend(read_dir_sorted(&entry)?.into_iter().filter(|p| is_midi(p)));
        } else if is_midi(&entry) {
            files.push(entry);
        }
    }
    if files.is_empty() {
        return Err(RenderError::NotMidiFolder {
            dir: dir.to_path_buf(),
            reason: "no .mid files here or in its subfolders".into(),
        });
    }
    let mut by_id: BTreeMap<u32, PathBuf> = BTreeMap::new();
    for path in files {
        let Some(id) = id_of(&path) else {
            let message = "the file name does not start with a numeric recording id".into();
            problems.report(RenderError::BadPiece { path, message })?;
            continue;
        };
        if let Some(first) = by_id.get(&id) {
            let message = format!("duplicate recording id {id} (first: {})", first.display());
            problems.report(RenderError::BadPiece { path, message })?;
            continue;
        }
        by_id.insert(id, path);
    }
    Ok(by_id)
}

/// The entries of `dir`, sorted by path.
fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>, RenderError> {
    let read_error = |source| RenderError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths = std::fs::read_dir(dir)
        .map_err(read_error)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_error)?;
    paths.sort();
    Ok(paths)
}

/// Whether `path` names a MIDI file.
fn is_midi(path: &Path) -> bool {
    path.is_file()
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi"))
}

/// The id at the start of a file name (`2186_vs6_1.mid` → 2186).
fn id_of(path: &Path) -> Option<u32> {
    let stem = path.file_stem()?.to_str()?;
    let digits = stem.split('_').next()?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Reads `split.csv` (`id,split` with `train` or `test`); bad rows and duplicates go to
/// `problems` (lenient: skipped).
fn read_split(path: &Path, problems: &mut Problems) -> Result<BTreeMap<u32, Split>, RenderError> {
    #[derive(serde::Deserialize)]
    struct Row {
        id: u32,
        split: String,
    }
    let open_error = |error: csv::Error| match error.into_kind() {
        csv::ErrorKind::Io(source) => RenderError::Read {
            path: path.to_path_buf(),
            source,
        },
        other => RenderError::BadSplitRow {
            path: path.to_path_buf(),
            line: 1,
            message: format!("{other:?}"),
        },
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(open_error)?;
    let header = reader.headers().map_err(open_error)?.clone();
    for column in ["id", "split"] {
        if !header.iter().any(|h| h == column) {
            return Err(RenderError::BadSplitRow {
                path: path.to_path_buf(),
                line: 1,
                message: format!(
                    "missing column `{column}` (the header has: {})",
                    header.iter().collect::<Vec<_>>().join(",")
                ),
            });
        }
    }
    let mut splits = BTreeMap::new();
    for record in reader.records() {
        let (line, parsed) = match record {
            Ok(record) => (
                record.position().map_or(0, csv::Position::line),
                record.deserialize::<Row>(Some(&header)),
            ),
            Err(error) => (error.position().map_or(0, csv::Position::line), Err(error)),
        };
        let bad = |message: String| RenderError::BadSplitRow {
            path: path.to_path_buf(),
            line,
            message,
        };
        let row = match parsed {
            Ok(row) => row,
            Err(error) => {
                problems.report(bad(error.to_string()))?;
                continue;
            }
        };
        let Some(split) = Split::parse(&row.split) else {
            problems.report(bad(format!(
                "split `{}` is neither train nor test",
                row.split
            )))?;
            continue;
        };
        if splits
            .insert(row.id, split)
            .is_some_and(|first| first != split)
        {
            problems.report(bad(format!("piece {} is listed in both splits", row.id)))?;
        }
    }
    Ok(splits)
}

#[cfg(test)]
mod tests {
    use super::id_of;
    use std::path::Path;

    #[test]
    fn ids_come_from_the_start_of_the_file_name() {
        assert_eq!(id_of(Path::new("a/2186_vs6_1.mid")), Some(2186));
        assert_eq!(id_of(Path::new("3000.mid")), Some(3000));
        assert_eq!(id_of(Path::new("x3000_a.mid")), None);
        assert_eq!(id_of(Path::new("_a.mid")), None);
    }
}
