//! The front end's integer features as a PNG: what the model sees.
//!
//! Time runs left to right (seconds), frequency bottom to top (0 to 4 kHz, the 128 bins), and
//! each pixel's colour is the feature code on a fixed scale, from the floor (−128, black) to the
//! top code (127, pale yellow), with a colour bar in decibels above the floor. The scale is the
//! codes' own, not stretched to the recording, so a quiet recording looks dark, as it does to
//! the model. Long recordings are averaged down to at most [`MAX_PLOT_WIDTH`] columns; short ones
//! are stretched to at least [`MIN_PLOT_WIDTH`].

use std::path::Path;

use core_nostd::frontend::{BINS, DB_PER_STEP, FEATURE_OFFSET, Frame};
use plotters::prelude::*;

use crate::plot::{PlotError, write_png};
use crate::view::{HZ_PER_BIN, SECONDS_PER_FRAME};

/// Widest plot area in pixels (one column per frame up to this many frames, about 26 s).
pub const MAX_PLOT_WIDTH: u32 = 1600;
/// Narrowest plot area in pixels.
pub const MIN_PLOT_WIDTH: u32 = 640;
/// Pixels per frequency bin.
pub const PIXELS_PER_BIN: u32 = 3;
/// Font family registered by [`crate::plot`] (the bundled DejaVu Sans).
const FAMILY: &str = "sans-serif";

/// Inferno colour map anchors (matplotlib's, every tenth), from 0 to 1.
const INFERNO: [(u8, u8, u8); 11] = [
    (0, 0, 4),
    (22, 11, 57),
    (66, 10, 104),
    (106, 23, 110),
    (147, 38, 103),
    (188, 55, 84),
    (221, 81, 58),
    (243, 120, 25),
    (252, 165, 10),
    (246, 215, 70),
    (252, 255, 164),
];

/// The colour of feature `code`: the inferno map from −128 (0) to 127 (1), linearly between
/// anchors.
#[must_use]
pub fn code_colour(code: f32) -> RGBColor {
    let t = ((code + 128.0) / 255.0).clamp(0.0, 1.0) * (INFERNO.len() - 1) as f32;
    let low = (t.floor() as usize).min(INFERNO.len() - 2);
    let f = t - low as f32;
    let (a, b) = (INFERNO[low], INFERNO[low + 1]);
    let mix = |x: u8, y: u8| (f32::from(x) + (f32::from(y) - f32::from(x)) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Mean code of `frames[times]` over `bins`, for one pixel.
fn cell_mean(frames: &[Frame], times: std::ops::Range<usize>, bins: std::ops::Range<usize>) -> f32 {
    let mut sum = 0_i64;
    let mut count = 0_i64;
    for frame in frames.get(times).unwrap_or_default() {
        for &code in frame.get(bins.clone()).unwrap_or_default() {
            sum += i64::from(code);
            count += 1;
        }
    }
    if count == 0 {
        f32::from(i8::MIN)
    } else {
        sum as f32 / count as f32
    }
}

/// The `index`-th of `parts` near-equal consecutive ranges of `0..len`, never empty (when
/// `parts > len`, neighbouring ranges repeat an element: the image is stretched).
fn span(index: usize, parts: usize, len: usize) -> std::ops::Range<usize> {
    let start = (index * len / parts).min(len.saturating_sub(1));
    let end = ((index + 1) * len / parts).clamp(start + 1, len.max(start + 1));
    start..end
}

/// Draws `frames` (time order, bin 0 first, as [`crate::features::frames_of`] returns them) as a
/// spectrogram PNG at `path`, titled `title`, written atomically. Cost: one pass over the
/// features per pixel column (tens of milliseconds for ten minutes of audio).
///
/// # Errors
/// [`PlotError`] if there are no frames, or drawing or writing fails.
pub fn spectrogram_png(path: &Path, frames: &[Frame], title: &str) -> Result<(), PlotError> {
    if frames.is_empty() {
        return Err(PlotError::Draw {
            path: path.to_path_buf(),
            reason: "the recording is shorter than one 32 ms frame: nothing to draw".into(),
        });
    }
    let plot_width = u32::try_from(frames.len())
        .unwrap_or(MAX_PLOT_WIDTH)
        .clamp(MIN_PLOT_WIDTH, MAX_PLOT_WIDTH);
    let plot_height = PIXELS_PER_BIN * BINS as u32;
    let (left, right, top, bottom) = (80, 130, 50, 60);
    let size = (plot_width + left + right, plot_height + top + bottom);
    let seconds = frames.len() as f64 * f64::from(SECONDS_PER_FRAME);
    let top_hz = BINS as f64 * f64::from(HZ_PER_BIN);
    write_png(path, size, |root| {
        let (main, bar) = root.split_horizontally(plot_width + left + 10);
        let mut chart = ChartBuilder::on(&main)
            .caption(title, (FAMILY, 20))
            .margin_top(10)
            .margin_right(10)
            .x_label_area_size(bottom - 10)
            .y_label_area_size(left)
            .build_cartesian_2d(0.0..seconds, 0.0..top_hz)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("time (s)")
            .y_desc("frequency (Hz)")
            .x_label_formatter(&|s| format!("{s:.0}"))
            .y_label_formatter(&|hz| format!("{hz:.0}"))
            .label_style((FAMILY, 13))
            .axis_desc_style((FAMILY, 15))
            .draw()
            .map_err(|e| e.to_string())?;
        let area = chart.plotting_area();
        let (width, height) = area.dim_in_pixel();
        let (width, height) = (width as usize, height as usize);
        let raster = area.strip_coord_spec();
        for x in 0..width {
            let times = span(x, width, frames.len());
            for y in 0..height {
                // Row 0 is the top of the image: the highest bins.
                let bins = span(height - 1 - y, height, BINS);
                let colour = code_colour(cell_mean(frames, times.clone(), bins));
                raster
                    .draw_pixel((x as i32, y as i32), &colour)
                    .map_err(|e| e.to_string())?;
            }
        }
        // The bar spans the plot's height: below the caption, above the x labels.
        draw_colour_bar(&bar, 10 + 25, bottom - 10)
    })
}

/// The colour bar: feature codes in dB above the floor.
fn draw_colour_bar(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    top: u32,
    bottom: u32,
) -> Result<(), String> {
    let top_db = f64::from(255.0 * DB_PER_STEP);
    let mut chart = ChartBuilder::on(area)
        .margin_top(top)
        .margin_bottom(bottom)
        .margin_left(10)
        .margin_right(20)
        .y_label_area_size(0)
        .right_y_label_area_size(60)
        .build_cartesian_2d(0.0..1.0, 0.0..top_db)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_desc("dB above floor")
        .y_label_formatter(&|db| format!("{db:.0}"))
        .label_style((FAMILY, 12))
        .axis_desc_style((FAMILY, 13))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series((0..=255_i32).map(|step| {
            let code = (step - FEATURE_OFFSET) as f32;
            let low = f64::from(step as f32 * DB_PER_STEP);
            let high = f64::from((step + 1) as f32 * DB_PER_STEP).min(top_db);
            Rectangle::new([(0.0, low), (1.0, high)], code_colour(code).filled())
        }))
        .map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_map_ends_and_is_monotone_in_brightness() {
        assert_eq!(code_colour(-128.0), RGBColor(0, 0, 4));
        assert_eq!(code_colour(127.0), RGBColor(252, 255, 164));
        assert_eq!(code_colour(-1000.0), RGBColor(0, 0, 4));
        let brightness = |c: RGBColor| u32::from(c.0) + u32::from(c.1) + u32::from(c.2);
        let mut last = 0;
        for code in -128..=127 {
            let b = brightness(code_colour(code as f32));
            assert!(b + 8 >= last, "code {code}");
            last = b;
        }
    }

    #[test]
    fn spans_shrink_and_stretch() {
        assert_eq!(span(0, 2, 10), 0..5);
        assert_eq!(span(1, 2, 10), 5..10);
        // Stretching: 4 columns over 2 frames.
        let spans: Vec<_> = (0..4).map(|i| span(i, 4, 2)).collect();
        assert_eq!(spans, [0..1, 0..1, 1..2, 1..2]);
    }

    #[test]
    fn writes_a_png_and_refuses_nothing() {
        let dir = std::env::temp_dir().join(format!("spectrogram-png-{}", std::process::id()));
        let path = dir.join("tone.png");
        let mut frame = [i8::MIN; BINS];
        frame[64] = 100;
        spectrogram_png(&path, &vec![frame; 700], "tone").unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        assert!(bytes.len() > 2_000);
        assert!(spectrogram_png(&dir.join("none.png"), &[], "none").is_err());
        assert!(!dir.join("none.png").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
