//! PNG plots of the comparison, drawn with plotters through `host_common::plot::write_png`
//! (bundled font, atomic writes): the grouped bar chart of every model's headline figures, the
//! offline models' learning curves, and the SGD models' per-instrument validation accuracy over
//! epochs (the reference's figure 13). Each costs tens of milliseconds.

use super::offline::LearningCurve;
use super::online::SgdCurve;
use super::table::Row;
use host_common::plot::{PlotError, TAB10, write_png};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Font family registered by `host_common::plot`.
const FAMILY: &str = "sans-serif";
/// Reads one headline figure from a row.
type Figure = fn(&Row) -> f64;
/// The drawing area `write_png` hands out.
type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// The `i`-th of 12 colours that stay distinguishable (tab10, then black and gold), cyclic.
fn palette(i: usize) -> RGBColor {
    match i % 12 {
        10 => RGBColor(0, 0, 0),
        11 => RGBColor(255, 215, 0),
        i => TAB10[i],
    }
}

/// Rows of the key under the bar chart, per column.
const KEY_ROWS: usize = 6;

/// Grouped bars: for every row, composer accuracy, instrument samples-F1 and exact match. Bars
/// are numbered; the key under the chart names them.
pub fn comparison(rows: &[Row], path: &Path) -> Result<(), PlotError> {
    let n = rows.len().max(1);
    let width = (160 + 80 * n as u32).max(1100);
    let key_height = 30 + 22 * KEY_ROWS.min(n) as u32;
    write_png(path, (width, 560 + key_height), |root| {
        let (upper, lower) = root.split_vertically(560);
        let mut chart = ChartBuilder::on(&upper)
            .caption(
                "Baselines and CNN under the evaluation protocol",
                (FAMILY, 24),
            )
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5_f64..n as f64 - 0.5, 0.0_f64..1.0)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    format!("{}", i as usize + 1)
                } else {
                    String::new()
                }
            })
            .y_desc("score")
            .label_style((FAMILY, 13))
            .draw()
            .map_err(|e| e.to_string())?;
        let series: [(&str, Figure); 3] = [
            ("composer accuracy", |r| r.composer_accuracy),
            ("instrument samples-F1", |r| r.instrument_samples_f1),
            ("exact match", |r| r.exact_match),
        ];
        let bar = 0.26;
        for (s, (name, value)) in series.iter().enumerate() {
            let color = palette(s);
            let offset = (s as f64 - 1.0) * bar;
            chart
                .draw_series(rows.iter().enumerate().map(|(i, r)| {
                    let x = i as f64 + offset;
                    Rectangle::new(
                        [(x - bar / 2.0, 0.0), (x + bar / 2.0, value(r))],
                        color.filled(),
                    )
                }))
                .map_err(|e| e.to_string())?
                .label(*name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FAMILY, 14))
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, row) in rows.iter().enumerate() {
            let (column, line) = (i / KEY_ROWS, i % KEY_ROWS);
            let at = (70 + 380 * column as i32, 10 + 22 * line as i32);
            let text = format!("{}  {} ({})", i + 1, row.model, row.input);
            lower
                .draw(&Text::new(text, at, (FAMILY, 15).into_font().color(&BLACK)))
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

/// One panel per offline model: train and validation composer accuracy against training
/// windows.
pub fn learning_curves(
    input: &str,
    curves: &[LearningCurve],
    path: &Path,
) -> Result<(), PlotError> {
    let columns = 2;
    let rows = curves.len().div_ceil(columns).max(1);
    write_png(path, (1100, 60 + 400 * rows as u32), |root| {
        let root = root
            .titled(
                &format!("Learning curves (composer accuracy, {input} windows)"),
                (FAMILY, 24),
            )
            .map_err(|e| e.to_string())?;
        for (curve, area) in curves.iter().zip(root.split_evenly((rows, columns)).iter()) {
            let title = match curve.components.last() {
                Some(k) => format!("{} ({k} components at full size)", curve.model),
                None => curve.model.clone(),
            };
            let series = [("train", &curve.train), ("validation", &curve.validation)];
            line_panel(area, &title, "training windows", &curve.sizes, &series)?;
        }
        Ok(())
    })
}

/// One panel per SGD pair of `input`: each instrument's validation accuracy over epochs.
pub fn sgd_instrument_curves(
    input: &str,
    curves: &[&SgdCurve],
    instruments: &[String],
    path: &Path,
) -> Result<(), PlotError> {
    write_png(path, (600 * curves.len().max(1) as u32, 520), |root| {
        let root = root
            .titled(
                &format!("SGD per-instrument validation accuracy over epochs ({input} windows)"),
                (FAMILY, 22),
            )
            .map_err(|e| e.to_string())?;
        for (curve, area) in curves
            .iter()
            .zip(root.split_evenly((1, curves.len().max(1))).iter())
        {
            let epochs: Vec<usize> = curve.epochs.iter().map(|e| e.epoch).collect();
            let per_instrument: Vec<Vec<f64>> = (0..instruments.len())
                .map(|j| {
                    curve
                        .epochs
                        .iter()
                        .map(|e| e.instrument_accuracy[j])
                        .collect()
                })
                .collect();
            let series: Vec<(&str, &Vec<f64>)> = instruments
                .iter()
                .map(String::as_str)
                .zip(&per_instrument)
                .collect();
            line_panel(area, &curve.model, "epoch", &epochs, &series)?;
        }
        Ok(())
    })
}

/// Lines of `series` (name, y per x) over `xs` in `[0, 1]`, with a legend.
fn line_panel(
    area: &Area<'_>,
    title: &str,
    x_label: &str,
    xs: &[usize],
    series: &[(&str, &Vec<f64>)],
) -> Result<(), String> {
    let x_max = xs.iter().copied().max().unwrap_or(1).max(1) as f64;
    let x_min = xs.iter().copied().min().unwrap_or(0) as f64;
    let span = (x_max - x_min).max(1.0);
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FAMILY, 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(x_min - 0.03 * span..x_max + 0.03 * span, 0.0_f64..1.0)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_label_formatter(&|x| format!("{x:.0}"))
        .x_desc(x_label)
        .y_desc("accuracy")
        .label_style((FAMILY, 13))
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, (name, ys)) in series.iter().enumerate() {
        let color = palette(i);
        let points: Vec<(f64, f64)> = xs
            .iter()
            .zip(ys.iter())
            .map(|(&x, &y)| (x as f64, y))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2))
            });
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )
            .map_err(|e| e.to_string())?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FAMILY, 12))
        .draw()
        .map_err(|e| e.to_string())
}
