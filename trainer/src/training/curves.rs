//! Learning curves as PNGs for people: losses per epoch (`curves-loss.png`) and the validation
//! figures per epoch (`curves-validation.png`, only when some epoch was validated), redrawn after
//! every epoch.

use super::metrics::EpochMetrics;
use host_common::plot::{PlotError, write_png};
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// File name of the loss curves.
pub const LOSS_PNG: &str = "curves-loss.png";
/// File name of the validation-figure curves.
pub const VALIDATION_PNG: &str = "curves-validation.png";

/// One line: a legend label, a colour, and `(epoch, value)` points.
struct Line {
    label: &'static str,
    colour: RGBColor,
    points: Vec<(f64, f64)>,
}

/// Draws the PNGs into `out` from `history` and returns their paths: the losses always, the
/// validation figures when at least one epoch was validated (a run without validation recordings
/// gets no empty chart). Cost: milliseconds.
pub fn write_curves(out: &Path, history: &[EpochMetrics]) -> Result<Vec<PathBuf>, PlotError> {
    let epoch = |m: &EpochMetrics| m.epoch as f64;
    let validation = |pick: fn(&super::metrics::Validation) -> f64| -> Vec<(f64, f64)> {
        history
            .iter()
            .filter_map(|m| m.validation.as_ref().map(|v| (epoch(m), pick(v))))
            .collect()
    };
    let blue = RGBColor(52, 101, 164);
    let orange = RGBColor(206, 92, 0);
    let green = RGBColor(78, 154, 6);
    let losses = vec![
        Line {
            label: "composer, training",
            colour: blue,
            points: history
                .iter()
                .map(|m| (epoch(m), m.train_loss_composer))
                .collect(),
        },
        Line {
            label: "composer, validation",
            colour: RGBColor(114, 159, 207),
            points: validation(|v| v.loss_composer),
        },
        Line {
            label: "instruments, training",
            colour: orange,
            points: history
                .iter()
                .map(|m| (epoch(m), m.train_loss_instruments))
                .collect(),
        },
        Line {
            label: "instruments, validation",
            colour: RGBColor(252, 175, 62),
            points: validation(|v| v.loss_instruments),
        },
    ];
    let figures = vec![
        Line {
            label: "composer accuracy",
            colour: blue,
            points: validation(|v| v.composer_accuracy),
        },
        Line {
            label: "instrument F1 (samples)",
            colour: orange,
            points: validation(|v| v.instrument_f1),
        },
        Line {
            label: "exact match",
            colour: green,
            points: validation(|v| v.exact_match),
        },
    ];
    let loss_path = out.join(LOSS_PNG);
    let validated = history.iter().any(|m| m.validation.is_some());
    chart(
        &loss_path,
        if validated {
            "Training and validation loss"
        } else {
            "Training loss"
        },
        "loss",
        &losses,
        None,
        SeriesLabelPosition::UpperRight,
    )?;
    if !validated {
        return Ok(vec![loss_path]);
    }
    let validation_path = out.join(VALIDATION_PNG);
    chart(
        &validation_path,
        "Validation",
        "share",
        &figures,
        Some((0.0, 1.0)),
        SeriesLabelPosition::LowerRight,
    )?;
    Ok(vec![loss_path, validation_path])
}

/// One line chart over epochs into `path` (900 × 550 px), the legend at `legend`.
fn chart(
    path: &Path,
    title: &str,
    y_label: &str,
    lines: &[Line],
    y_range: Option<(f64, f64)>,
    legend: SeriesLabelPosition,
) -> Result<(), PlotError> {
    let all = || lines.iter().flat_map(|l| l.points.iter());
    let last_epoch = all().map(|p| p.0).fold(1.0, f64::max);
    let (low, high) = y_range.unwrap_or_else(|| {
        let high = all()
            .map(|p| p.1)
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        (0.0, (high * 1.1).max(1e-3))
    });
    write_png(path, (900, 550), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(1.0..last_epoch.max(2.0), low..high)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .x_labels((last_epoch as usize).clamp(2, 20))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc(y_label)
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(|e| e.to_string())?;
        // A line without points (no validation) gets no legend entry either.
        for line in lines.iter().filter(|line| !line.points.is_empty()) {
            let colour = line.colour;
            chart
                .draw_series(LineSeries::new(
                    line.points.iter().copied(),
                    colour.stroke_width(2),
                ))
                .map_err(|e| e.to_string())?
                .label(line.label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
            chart
                .draw_series(
                    line.points
                        .iter()
                        .map(|&p| Circle::new(p, 3, colour.filled())),
                )
                .map_err(|e| e.to_string())?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .position(legend)
            .draw()
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::metrics::Validation;

    fn epoch(epoch: usize, validation: Option<Validation>) -> EpochMetrics {
        EpochMetrics {
            epoch,
            train_loss_composer: 2.0 / epoch as f64,
            train_loss_instruments: 0.5 / epoch as f64,
            validation,
            train_windows_per_second: 50.0,
            seconds: 1.0,
        }
    }

    #[test]
    fn a_run_without_validation_gets_only_the_loss_chart() {
        let dir = tempfile::tempdir().unwrap();
        let history = [epoch(1, None), epoch(2, None)];
        let written = write_curves(dir.path(), &history).unwrap();
        assert_eq!(written, vec![dir.path().join(LOSS_PNG)]);
        assert!(dir.path().join(LOSS_PNG).is_file());
        assert!(!dir.path().join(VALIDATION_PNG).exists());
    }

    #[test]
    fn a_validated_run_gets_both_charts() {
        let dir = tempfile::tempdir().unwrap();
        let validation = Validation {
            examples: 20,
            composer_accuracy: 0.5,
            instrument_f1: 0.7,
            exact_match: 0.2,
            loss_composer: 1.5,
            loss_instruments: 0.3,
        };
        let history = [
            epoch(1, Some(validation.clone())),
            epoch(2, Some(validation)),
        ];
        let written = write_curves(dir.path(), &history).unwrap();
        assert_eq!(
            written,
            vec![dir.path().join(LOSS_PNG), dir.path().join(VALIDATION_PNG)]
        );
        assert!(written.iter().all(|path| path.is_file()));
    }
}
