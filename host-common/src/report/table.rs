//! Terminal rendering of an [`EvalReport`]: two tables in the layout of scikit-learn's
//! `classification_report` (columns precision, recall, f1-score, support; 2 decimals; class
//! rows, a blank line, then the average rows), the instrument AUCs, a summary block, the
//! composer confusion matrix with class names, and the recordings whose composer was missed.

use super::EvalReport;
use super::classification::{AverageScores, ClassScores};
use super::confusion::ConfusionMatrix;
use std::fmt::{self, Display, Write};

/// Digits after the decimal point, as scikit-learn's default `digits=2`.
const DIGITS: usize = 2;
/// Widest average-row heading; the name column is at least this wide (as scikit-learn).
const LONGEST_HEADING: &str = "weighted avg";
/// Column headers of the score tables.
const HEADERS: [&str; 4] = ["precision", "recall", "f1-score", "support"];
/// Widest a confusion-matrix column heading gets before the name is cut.
const MAX_COLUMN_NAME: usize = 10;

/// A scikit-learn `classification_report` table: `classes`, then an `accuracy` line when
/// `accuracy` is `Some((accuracy, support))`, then the named average rows. Cost: O(rows).
pub fn classification_table(
    classes: &[ClassScores],
    accuracy: Option<(f64, u64)>,
    averages: &[(&str, AverageScores)],
) -> String {
    let name_width = classes
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    let width = name_width.max(LONGEST_HEADING.len()).max(DIGITS);
    let mut out = format!("{:>width$} ", "");
    for h in HEADERS {
        let _ = write!(out, " {h:>9}");
    }
    out.push_str("\n\n");
    let row = |out: &mut String, name: &str, p: f64, r: f64, f: f64, s: u64| {
        let _ = writeln!(
            out,
            "{name:>width$}  {p:>9.DIGITS$} {r:>9.DIGITS$} {f:>9.DIGITS$} {s:>9}"
        );
    };
    for c in classes {
        row(&mut out, &c.name, c.precision, c.recall, c.f1, c.support);
    }
    out.push('\n');
    if let Some((a, s)) = accuracy {
        let _ = writeln!(
            out,
            "{:>width$}  {:>9} {:>9} {a:>9.DIGITS$} {s:>9}",
            "accuracy", "", ""
        );
    }
    for (name, a) in averages {
        row(
            &mut out,
            &format!("{name} avg"),
            a.precision,
            a.recall,
            a.f1,
            a.support,
        );
    }
    out
}

/// `name` cut to at most `max` characters.
fn cut(name: &str, max: usize) -> String {
    name.chars().take(max).collect()
}

/// The confusion matrix with class names: full names down the side, names (cut to
/// 10 characters) across the top. Cost: O(K²).
pub fn confusion_table(m: &ConfusionMatrix) -> String {
    let side = m
        .labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .max("true \\ predicted".len());
    let widest_count = m
        .counts
        .iter()
        .flatten()
        .map(|c| c.to_string().len())
        .max()
        .unwrap_or(1);
    let heads: Vec<String> = m.labels.iter().map(|l| cut(l, MAX_COLUMN_NAME)).collect();
    let col = heads
        .iter()
        .map(|h| h.chars().count())
        .max()
        .unwrap_or(0)
        .max(widest_count);
    let mut out = format!("{:>side$}", "true \\ predicted");
    for h in &heads {
        let _ = write!(out, "  {h:>col$}");
    }
    out.push('\n');
    for (label, row) in m.labels.iter().zip(&m.counts) {
        let _ = write!(out, "{label:>side$}");
        for c in row {
            let _ = write!(out, "  {c:>col$}");
        }
        out.push('\n');
    }
    out
}

impl Display for EvalReport {
    /// The terminal report (see the module doc). Cost: O(K² + M + R).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.composer;
        let i = &self.instruments;
        let r = &self.recordings;
        writeln!(
            f,
            "Composer ({} examples from {} recordings)\n",
            self.examples, self.recordings_count
        )?;
        let table = classification_table(
            &c.classes,
            Some((c.accuracy, c.examples)),
            &[("macro", c.macro_avg), ("weighted", c.weighted_avg)],
        );
        writeln!(f, "{table}")?;
        writeln!(
            f,
            "Instruments (predicted when score >= {:.2})\n",
            i.threshold
        )?;
        let table = classification_table(
            &i.classes,
            None,
            &[
                ("micro", i.micro_avg),
                ("macro", i.macro_avg),
                ("weighted", i.weighted_avg),
                ("samples", i.samples_avg),
            ],
        );
        writeln!(f, "{table}")?;
        writeln!(f, "Instrument ROC AUC\n")?;
        let width = i
            .roc
            .iter()
            .map(|x| x.name.chars().count())
            .max()
            .unwrap_or(0)
            .max(LONGEST_HEADING.len());
        for roc in &i.roc {
            match roc.auc {
                Some(auc) => writeln!(f, "{:>width$}  {auc:>9.DIGITS$}", roc.name)?,
                None => writeln!(
                    f,
                    "{:>width$}  {:>9}  (one label value only)",
                    roc.name, "n/a"
                )?,
            }
        }
        match i.macro_auc {
            Some(auc) => writeln!(
                f,
                "\n{:>width$}  {auc:>9.DIGITS$}  (over {} of {} instruments)",
                "macro avg",
                i.auc_defined,
                i.roc.len()
            )?,
            None => writeln!(f, "\n{:>width$}  {:>9}", "macro avg", "n/a")?,
        }
        writeln!(f, "\nSummary\n")?;
        let line = |f: &mut fmt::Formatter<'_>, name: &str, v: f64| {
            writeln!(f, "  {name:<38}{v:>6.DIGITS$}")
        };
        line(f, "composer accuracy", c.accuracy)?;
        line(f, "instrument samples-F1", i.samples_avg.f1)?;
        line(f, "instrument Hamming accuracy", i.hamming_accuracy)?;
        line(f, "exact match (composer + instruments)", self.exact_match)?;
        writeln!(f, "  per recording ({} recordings):", self.recordings_count)?;
        line(f, "  composer accuracy", r.composer_accuracy)?;
        line(f, "  instrument samples-F1", r.instrument_samples_avg.f1)?;
        line(
            f,
            "  instrument Hamming accuracy",
            r.instrument_hamming_accuracy,
        )?;
        line(f, "  exact match", r.exact_match)?;
        writeln!(
            f,
            "\nComposer confusion matrix (rows = true, columns = predicted)\n"
        )?;
        write!(f, "{}", confusion_table(&c.confusion))?;
        let missed: Vec<_> = r
            .recordings
            .iter()
            .filter(|v| !v.composer_correct)
            .collect();
        if !missed.is_empty() {
            writeln!(
                f,
                "\nRecordings with the wrong composer ({})\n",
                missed.len()
            )?;
            for v in missed {
                writeln!(
                    f,
                    "  recording {:>6}: true {}, predicted {} (mean score {:.DIGITS$}, {} example(s))",
                    v.recording,
                    v.composer_true_name,
                    v.composer_predicted_name,
                    v.composer_score,
                    v.examples
                )?;
            }
        }
        Ok(())
    }
}
