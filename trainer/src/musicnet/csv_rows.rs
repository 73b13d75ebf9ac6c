//! Reading a CSV file into typed rows, with the header checked and line numbers kept.

use super::error::{DataError, Issues};
use serde::de::DeserializeOwned;
use std::path::Path;

/// Reads every row of `path` as `T`, after checking that the header has each of `columns`
/// (in any order; extra columns are ignored). A row that does not parse is reported to
/// `issues` (strict: the error; lenient: a warning, and the row is skipped). Returns
/// `(line, row)` pairs, lines 1-based (the header is line 1).
pub fn read_rows<T: DeserializeOwned>(
    path: &Path,
    columns: &[&'static str],
    issues: &mut Issues,
) -> Result<Vec<(u64, T)>, DataError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| io_error(path, e))?;
    let header = reader.headers().map_err(|e| io_error(path, e))?.clone();
    for &column in columns {
        if !header.iter().any(|h| h == column) {
            return Err(DataError::MissingColumn {
                path: path.to_path_buf(),
                column,
                found: header.iter().collect::<Vec<_>>().join(","),
            });
        }
    }
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(line, csv::Position::line);
                match record.deserialize::<T>(Some(&header)) {
                    Ok(row) => rows.push((line, row)),
                    Err(e) => issues.report(bad_row(path, line, &e))?,
                }
            }
            Err(e) => {
                let line = e.position().map_or(line, csv::Position::line);
                issues.report(bad_row(path, line, &e))?;
                if !matches!(
                    e.kind(),
                    csv::ErrorKind::UnequalLengths { .. } | csv::ErrorKind::Utf8 { .. }
                ) {
                    break;
                }
            }
        }
    }
    Ok(rows)
}

/// A CSV error on a specific row, with the csv crate's message minus its own position prefix.
fn bad_row(path: &Path, line: u64, error: &csv::Error) -> DataError {
    let message = match error.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(field) => format!("column {}: {}", field + 1, err.kind()),
            None => err.kind().to_string(),
        },
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("{len} cells, the header has {expected_len}")
        }
        _ => error.to_string(),
    };
    DataError::BadRow {
        path: path.to_path_buf(),
        line,
        message,
    }
}

/// Maps a csv error at open/header time to an I/O-style error naming the file.
fn io_error(path: &Path, error: csv::Error) -> DataError {
    match error.into_kind() {
        csv::ErrorKind::Io(source) => DataError::Io {
            path: path.to_path_buf(),
            source,
        },
        other => DataError::BadRow {
            path: path.to_path_buf(),
            line: 1,
            message: format!("{other:?}"),
        },
    }
}
