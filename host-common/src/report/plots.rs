//! PNG plots of an [`EvalReport`] for people: the composer confusion matrix as a heat map and the
//! instrument ROC curves. Both are written atomically with [`crate::plot::write_png`] and drawn
//! with the bundled font.

use super::EvalReport;
use super::confusion::ConfusionMatrix;
use super::multilabel::InstrumentRoc;
use crate::plot::{PlotError, TAB10, write_png};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

/// Font family registered by [`crate::plot`].
const FAMILY: &str = "sans-serif";
/// File name of the confusion-matrix heat map.
pub const CONFUSION_FILE: &str = "confusion_matrix.png";
/// File name of the ROC curves.
pub const ROC_FILE: &str = "roc_curves.png";
/// The darkest heat-map colour (a full true row on one cell).
const DARK: (f64, f64, f64) = (8.0, 48.0, 107.0);
/// Side of the ROC plot's square chart area, pixels.
const ROC_CHART: u32 = 760;
/// Width of the legend panel beside the ROC chart, pixels.
const ROC_LEGEND: u32 = 340;
/// Height of one legend entry, pixels.
const LEGEND_ROW: u32 = 22;

/// The drawing area [`write_png`] hands out.
type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Writes `confusion_matrix.png` and `roc_curves.png` into `dir` (created if missing) and returns
/// their paths. An empty report gives images that say there is nothing to show. Cost: tens of
/// milliseconds; each file replaces its old version atomically.
pub fn write_plots(report: &EvalReport, dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    let confusion = dir.join(CONFUSION_FILE);
    write_confusion(&report.composer.confusion, &confusion)?;
    let roc = dir.join(ROC_FILE);
    write_roc(&report.instruments.roc, &roc)?;
    Ok(vec![confusion, roc])
}

/// White → [`DARK`] as `share` goes 0 → 1.
fn heat(share: f64) -> RGBColor {
    let s = share.clamp(0.0, 1.0);
    let mix = |dark: f64| (255.0 + (dark - 255.0) * s).round() as u8;
    RGBColor(mix(DARK.0), mix(DARK.1), mix(DARK.2))
}

/// Text style anchored at `pos`.
fn text(size: u32, pos: Pos) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&BLACK).pos(pos)
}

/// Draws the heat map: cell colour = count / true-row total, the count written in the cell,
/// true classes down the left, predicted classes along the bottom (rotated).
fn write_confusion(m: &ConfusionMatrix, path: &Path) -> Result<(), PlotError> {
    let k = m.labels.len() as u32;
    let cell = (640 / k.max(1)).clamp(28, 90);
    // Label widths at 14 px: DejaVu Sans averages under 8 px per character.
    let longest = m
        .labels
        .iter()
        .map(|l| l.chars().count() as u32)
        .max()
        .unwrap_or(0);
    let label_space = 20 + 8 * longest;
    let (left, top) = (label_space.max(50), 100);
    let width = (left + cell * k + 40).max(520);
    let height = (top + cell * k + label_space + 20).max(240);
    write_png(path, (width, height), |root| {
        draw_confusion(root, m, cell as i32, (left as i32, top as i32))
    })
}

/// The drawing half of [`write_confusion`]; `origin` is the grid's top-left pixel.
fn draw_confusion(
    root: &Area<'_>,
    m: &ConfusionMatrix,
    cell: i32,
    origin: (i32, i32),
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let (width, _) = root.dim_in_pixel();
    let centre = Pos::new(HPos::Center, VPos::Center);
    root.draw_text(
        "Composer confusion matrix",
        &text(20, centre),
        (width as i32 / 2, 24),
    )
    .map_err(e)?;
    root.draw_text(
        "colour: share of the true composer's examples",
        &text(13, centre),
        (width as i32 / 2, 50),
    )
    .map_err(e)?;
    let k = m.labels.len() as i32;
    if k == 0 {
        root.draw_text("no composers", &text(16, centre), (width as i32 / 2, 120))
            .map_err(e)?;
        return Ok(());
    }
    let (x0, y0) = origin;
    let shares = m.row_normalised();
    let count_size = (cell as u32 / 3).clamp(9, 18);
    for (t, (row, share_row)) in m.counts.iter().zip(&shares).enumerate() {
        for (p, (&count, &share)) in row.iter().zip(share_row).enumerate() {
            let (x, y) = (x0 + p as i32 * cell, y0 + t as i32 * cell);
            root.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                heat(share).filled(),
            ))
            .map_err(e)?;
            let ink = if share > 0.5 { WHITE } else { BLACK };
            let style = (FAMILY, count_size).into_font().color(&ink).pos(centre);
            root.draw_text(&count.to_string(), &style, (x + cell / 2, y + cell / 2))
                .map_err(e)?;
        }
    }
    root.draw(&Rectangle::new(
        [(x0, y0), (x0 + k * cell, y0 + k * cell)],
        BLACK.stroke_width(1),
    ))
    .map_err(e)?;
    for (i, label) in m.labels.iter().enumerate() {
        let middle = i as i32 * cell + cell / 2;
        root.draw_text(
            label,
            &text(14, Pos::new(HPos::Right, VPos::Center)),
            (x0 - 8, y0 + middle),
        )
        .map_err(e)?;
        let rotated =
            text(14, Pos::new(HPos::Right, VPos::Center)).transform(FontTransform::Rotate270);
        root.draw_text(label, &rotated, (x0 + middle, y0 + k * cell + 8))
            .map_err(e)?;
    }
    root.draw_text(
        "predicted",
        &text(15, Pos::new(HPos::Center, VPos::Bottom)),
        (x0 + k * cell / 2, y0 - 8),
    )
    .map_err(e)?;
    root.draw_text(
        "true",
        &text(15, Pos::new(HPos::Right, VPos::Bottom)),
        (x0 - 8, y0 - 8),
    )
    .map_err(e)?;
    Ok(())
}

/// Draws one ROC curve per instrument with a defined AUC (legend: name and AUC; instruments
/// without one are listed as such), and the chance diagonal.
fn write_roc(rocs: &[InstrumentRoc], path: &Path) -> Result<(), PlotError> {
    let legend_height = 60 + LEGEND_ROW * (rocs.len() as u32 + 1);
    let height = ROC_CHART.max(legend_height);
    write_png(path, (ROC_CHART + ROC_LEGEND, height), |root| {
        let (chart_area, legend_area) = root.split_horizontally(ROC_CHART);
        draw_roc_chart(&chart_area.shrink((0, 0), (ROC_CHART, ROC_CHART)), rocs)?;
        draw_roc_legend(&legend_area, rocs)
    })
}

/// Colour of the `i`-th instrument's curve: [`TAB10`], then plotters' 99-colour palette.
fn curve_colour(i: usize) -> RGBColor {
    match TAB10.get(i) {
        Some(&c) => c,
        None => {
            let (r, g, b) = Palette99::pick(i).rgb();
            RGBColor(r, g, b)
        }
    }
}

/// The chart half of [`write_roc`].
fn draw_roc_chart(area: &Area<'_>, rocs: &[InstrumentRoc]) -> Result<(), String> {
    let mut chart = ChartBuilder::on(area)
        .caption("Instrument ROC curves", (FAMILY, 22))
        .margin(16)
        .margin_right(28)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0_f64..1.0, 0.0_f64..1.0)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("false positive rate")
        .y_desc("true positive rate")
        .light_line_style(WHITE)
        .label_style((FAMILY, 14))
        .axis_desc_style((FAMILY, 15))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(DashedLineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            8,
            6,
            BLACK.mix(0.5).stroke_width(1),
        ))
        .map_err(|e| e.to_string())?;
    for (i, roc) in rocs.iter().enumerate() {
        let Some(curve) = &roc.curve else { continue };
        let points = curve.fpr.iter().copied().zip(curve.tpr.iter().copied());
        chart
            .draw_series(LineSeries::new(points, curve_colour(i).stroke_width(2)))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The legend half of [`write_roc`].
fn draw_roc_legend(area: &Area<'_>, rocs: &[InstrumentRoc]) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let left = Pos::new(HPos::Left, VPos::Center);
    let mut y = 60;
    if rocs.is_empty() {
        area.draw_text("no instruments", &text(14, left), (10, y))
            .map_err(e)?;
        return Ok(());
    }
    for (i, roc) in rocs.iter().enumerate() {
        let label = match roc.auc {
            Some(auc) => {
                area.draw(&PathElement::new(
                    [(10, y), (40, y)],
                    curve_colour(i).stroke_width(3),
                ))
                .map_err(e)?;
                format!("{} (AUC {auc:.3})", roc.name)
            }
            None => format!("{} (AUC undefined: one label value)", roc.name),
        };
        area.draw_text(&label, &text(14, left), (48, y))
            .map_err(e)?;
        y += LEGEND_ROW as i32;
    }
    area.draw(&PathElement::new(
        [(10, y), (40, y)],
        BLACK.mix(0.5).stroke_width(1),
    ))
    .map_err(e)?;
    area.draw_text("chance", &text(14, left), (48, y))
        .map_err(e)?;
    Ok(())
}
