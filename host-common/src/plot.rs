//! PNG plots for people, drawn with plotters (pure Rust; the bundled DejaVu Sans font is
//! registered once, so no system font library is needed). Files are written atomically.

use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// Ten distinct line and bar colours (matplotlib's "tab10"), shared by every plot.
pub const TAB10: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The bundled font (assets/fonts/DejaVuSans.ttf, Bitstream Vera licence).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// Font family name the plots ask for.
const FAMILY: &str = "sans-serif";

/// Why a plot could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Drawing or encoding failed.
    #[error("{path}: cannot draw the plot: {reason}")]
    Draw {
        /// The PNG being written.
        path: PathBuf,
        /// What plotters reported.
        reason: String,
    },
    /// The file could not be put in place.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The PNG.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

/// One panel of bars: a title, a y-axis label, and one bar per label.
#[derive(Clone, Debug)]
pub struct BarPanel {
    /// Panel title.
    pub title: String,
    /// Y-axis description.
    pub y_label: String,
    /// Bar labels (x axis).
    pub labels: Vec<String>,
    /// Bar heights.
    pub values: Vec<f64>,
}

/// Registers the bundled font with plotters (once per process).
fn ensure_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The bundled font is a valid TrueType file; a failure would only mean text is missing.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
        let _ = plotters::style::register_font(FAMILY, FontStyle::Bold, FONT);
    });
}

/// Draws `panels` as bar charts in a grid of `columns` columns under a common `title`, into a
/// PNG at `path` (1200 px wide, 450 px per row), written atomically. Cost: milliseconds.
pub fn bar_panels(
    path: &Path,
    title: &str,
    panels: &[BarPanel],
    columns: usize,
) -> Result<(), PlotError> {
    ensure_font();
    let columns = columns.max(1);
    let rows = panels.len().div_ceil(columns).max(1);
    let size = (1200_u32, 60 + 450 * rows as u32);
    write_png(path, size, |root| {
        let root = root
            .titled(title, (FAMILY, 28))
            .map_err(|e| e.to_string())?;
        let areas = root.split_evenly((rows, columns));
        for (panel, area) in panels.iter().zip(areas.iter()) {
            draw_bar_panel(area, panel)?;
        }
        Ok(())
    })
}

/// Draws one bar panel into `area`.
fn draw_bar_panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    panel: &BarPanel,
) -> Result<(), String> {
    let top = panel
        .values
        .iter()
        .copied()
        .fold(0.0_f64, f64::max)
        .max(1e-9)
        * 1.15;
    let n = panel.values.len().max(1);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FAMILY, 20))
        .margin(12)
        .x_label_area_size(70)
        .y_label_area_size(60)
        .build_cartesian_2d((0..n - 1).into_segmented(), 0.0..top)
        .map_err(|e| e.to_string())?;
    let labels = panel.labels.clone();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_desc(&panel.y_label)
        .x_labels(n)
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => labels
                .get(*i)
                .map(|l| abbreviate(l, 10))
                .unwrap_or_default(),
            _ => String::new(),
        })
        .x_label_style(
            (FAMILY, 13)
                .into_font()
                .transform(FontTransform::Rotate90)
                .color(&BLACK),
        )
        .label_style((FAMILY, 13))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(
            Histogram::vertical(&chart)
                .style(RGBColor(52, 101, 164).filled())
                .margin(6)
                .data(panel.values.iter().enumerate().map(|(i, &v)| (i, v))),
        )
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// `label` cut to `max` characters (with a trailing dot when cut), so bar labels do not collide.
fn abbreviate(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        let mut short: String = label.chars().take(max.saturating_sub(1)).collect();
        short.push('.');
        short
    }
}

/// Renders with `draw` onto a `size` bitmap and saves it as PNG at `path` atomically (a
/// temporary `.png` beside it, renamed over it).
pub fn write_png(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> Result<(), String>,
) -> Result<(), PlotError> {
    ensure_font();
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|source| PlotError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{stem}.{}.tmp.png", std::process::id()));
    let drawn = (|| {
        let root = BitMapBackend::new(&temp, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(&root)?;
        root.present().map_err(|e| e.to_string())
    })();
    if let Err(reason) = drawn {
        let _ = std::fs::remove_file(&temp);
        return Err(PlotError::Draw {
            path: path.to_path_buf(),
            reason,
        });
    }
    std::fs::rename(&temp, path).map_err(|source| PlotError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_panels_write_a_png() {
        let dir = std::env::temp_dir().join(format!("plot-test-{}", std::process::id()));
        let path = dir.join("bars.png");
        let panel = BarPanel {
            title: "Recordings per composer".into(),
            y_label: "recordings".into(),
            labels: vec!["Bach".into(), "Mozart".into()],
            values: vec![38.0, 13.0],
        };
        bar_panels(&path, "Test", &[panel.clone(), panel], 2).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        assert!(bytes.len() > 5_000, "a real image, not an empty one");
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
