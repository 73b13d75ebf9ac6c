//! What a render did, for the terminal and for callers.

use super::error::Warning;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// The report of one `trainer render` run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RenderSummary {
    /// The output folder.
    pub out: PathBuf,
    /// Pieces rendered in this run.
    pub pieces: usize,
    /// Pieces of this run that were already complete in the output folder (not rendered again).
    pub already_complete: usize,
    /// Pieces skipped as bad (lenient mode).
    pub failed: usize,
    /// Seconds of audio rendered in this run.
    pub seconds: f64,
    /// Seconds of audio of all pieces of this run, the complete ones included.
    pub total_seconds: f64,
    /// Wall-clock seconds of the run.
    pub wall_seconds: f64,
    /// Worker threads used.
    pub threads: usize,
    /// Pieces of this run in the train split.
    pub train: usize,
    /// Pieces of this run in the test split.
    pub test: usize,
    /// Rows in the output's metadata file (earlier runs' pieces included).
    pub metadata_rows: usize,
    /// Pieces rendered in this run that were turned down to avoid clipping.
    pub attenuated: usize,
    /// The largest such attenuation, dB (0 when none).
    pub max_attenuation_db: f64,
    /// The loudest peak of a piece rendered in this run, dBFS.
    pub max_peak_dbfs: f64,
    /// Label rows written in this run.
    pub notes: usize,
    /// Warnings (in lenient mode also the problems that skipped pieces).
    pub warnings: Vec<Warning>,
}

impl RenderSummary {
    /// Seconds of audio rendered per second of wall time (0 when nothing was rendered).
    #[must_use]
    pub fn realtime_factor(&self) -> f64 {
        if self.wall_seconds > 0.0 {
            self.seconds / self.wall_seconds
        } else {
            0.0
        }
    }

    /// Warning counts by kind, with the first message of each kind.
    #[must_use]
    pub fn warning_counts(&self) -> Vec<(&'static str, usize, &str)> {
        let mut by_kind: BTreeMap<&'static str, (usize, &str)> = BTreeMap::new();
        for warning in &self.warnings {
            by_kind
                .entry(warning.kind)
                .or_insert((0, warning.message.as_str()))
                .0 += 1;
        }
        by_kind
            .into_iter()
            .map(|(kind, (count, first))| (kind, count, first))
            .collect()
    }
}

impl fmt::Display for RenderSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "rendered {} pieces ({:.2} h of audio, {} notes) in {:.1} s on {} threads: {:.1}x real time",
            self.pieces,
            self.seconds / 3600.0,
            self.notes,
            self.wall_seconds,
            self.threads,
            self.realtime_factor()
        )?;
        writeln!(
            f,
            "  {} pieces already complete, {} skipped as bad; this run: {} train, {} test, {:.2} h",
            self.already_complete,
            self.failed,
            self.train,
            self.test,
            self.total_seconds / 3600.0
        )?;
        if self.attenuated > 0 {
            writeln!(
                f,
                "  {} pieces turned down to avoid clipping (at most {:.1} dB); none clipped",
                self.attenuated, self.max_attenuation_db
            )?;
        } else if self.pieces > 0 {
            writeln!(
                f,
                "  no piece needed turning down; loudest peak {:.1} dBFS",
                self.max_peak_dbfs
            )?;
        }
        for (kind, count, first) in self.warning_counts() {
            writeln!(f, "  warning: {count} x {kind} (first: {first})")?;
        }
        write!(
            f,
            "  -> {} ({} pieces in musicnet_metadata.csv)",
            self.out.display(),
            self.metadata_rows
        )
    }
}
