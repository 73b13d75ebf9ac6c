//! Human-readable views of the front end's features: a terminal heat map and level summaries.

use core_nostd::frontend::{BINS, DB_PER_STEP, FEATURE_OFFSET, Frame, HOP_LEN, SAMPLE_RATE_HZ};

/// Characters from quiet to loud for the terminal heat map.
const SHADES: &[u8] = b" .:-=+*#%@";

/// Hz per feature bin (8000 Hz / 256-point FFT).
pub const HZ_PER_BIN: f32 = SAMPLE_RATE_HZ as f32 / 256.0;

/// Seconds between frames (hop of 128 samples at 8 kHz).
pub const SECONDS_PER_FRAME: f32 = HOP_LEN as f32 / SAMPLE_RATE_HZ as f32;

/// Level of a feature code in dB above the floor (code −128 = 0 dB).
#[must_use]
pub fn code_to_db(code: i8) -> f32 {
    (i32::from(code) + FEATURE_OFFSET) as f32 * DB_PER_STEP
}

/// A terminal heat map of `frames`: time left to right in `width` columns, frequency bottom
/// (0 Hz) to top (4 kHz) in `height` rows. Each cell shows the mean code of the frames and bins
/// it covers, scaled between the plot's quietest and loudest cells. Cost: one pass over the
/// features. Returns an empty string for no frames.
#[must_use]
pub fn heat_map(frames: &[Frame], width: usize, height: usize) -> String {
    if frames.is_empty() || width == 0 || height == 0 {
        return String::new();
    }
    let width = width.min(frames.len());
    let height = height.min(BINS);
    let mut cells = vec![0.0_f32; width * height];
    for (column, cell_column) in cells.chunks_exact_mut(height).enumerate() {
        let times = span(column, width, frames.len());
        for (row, cell) in cell_column.iter_mut().enumerate() {
            let bins = span(row, height, BINS);
            let count = (times.len() * bins.len()) as f32;
            let sum: i64 = frames[times.clone()]
                .iter()
                .flat_map(|f| f[bins.clone()].iter())
                .map(|&c| i64::from(c))
                .sum();
            *cell = sum as f32 / count;
        }
    }
    let (low, high) = cells
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let range = (high - low).max(1.0);
    let mut out = String::new();
    for row in (0..height).rev() {
        let top_hz = span(row, height, BINS).end as f32 * HZ_PER_BIN;
        out.push_str(&format!("{:>5.0} Hz |", top_hz));
        for column in 0..width {
            let level = (cells[column * height + row] - low) / range;
            let shade =
                ((level * (SHADES.len() - 1) as f32).round() as usize).min(SHADES.len() - 1);
            out.push(char::from(SHADES[shade]));
        }
        out.push('\n');
    }
    let seconds = frames.len() as f32 * SECONDS_PER_FRAME;
    out.push_str(&format!("         +{}\n", "-".repeat(width)));
    out.push_str(&format!(
        "          0 s{:>w$}\n",
        format!("{seconds:.1} s"),
        w = width.saturating_sub(3)
    ));
    out
}

/// The `index`-th of `parts` near-equal consecutive ranges covering `0..len` (never empty when
/// `parts <= len`).
fn span(index: usize, parts: usize, len: usize) -> std::ops::Range<usize> {
    (index * len / parts)..((index + 1) * len / parts).max(index * len / parts + 1)
}

/// Summary levels of a feature stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Levels {
    /// Mean code over all frames and bins.
    pub mean_code: f32,
    /// Loudest code seen.
    pub max_code: i8,
    /// Share of frames in which every bin is at the floor (digital silence).
    pub silent_frame_share: f32,
    /// Centre frequency (Hz) of the bin with the highest mean code.
    pub strongest_bin_hz: f32,
}

/// Computes [`Levels`] of `frames`; `None` for an empty stream. Cost: one pass.
#[must_use]
pub fn levels(frames: &[Frame]) -> Option<Levels> {
    if frames.is_empty() {
        return None;
    }
    let mut bin_sums = [0_i64; BINS];
    let mut silent = 0_usize;
    let mut max_code = i8::MIN;
    for frame in frames {
        silent += usize::from(frame.iter().all(|&c| c == i8::MIN));
        for (sum, &code) in bin_sums.iter_mut().zip(frame) {
            *sum += i64::from(code);
            max_code = max_code.max(code);
        }
    }
    let total: i64 = bin_sums.iter().sum();
    let strongest = bin_sums
        .iter()
        .enumerate()
        .max_by_key(|&(_, &s)| s)
        .map_or(0, |(bin, _)| bin);
    Some(Levels {
        mean_code: total as f32 / (frames.len() * BINS) as f32,
        max_code,
        silent_frame_share: silent as f32 / frames.len() as f32,
        strongest_bin_hz: strongest as f32 * HZ_PER_BIN,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames with one loud bin, everything else at the floor.
    fn tone_frames(bin: usize, count: usize) -> Vec<Frame> {
        let mut frame = [i8::MIN; BINS];
        frame[bin] = 100;
        vec![frame; count]
    }

    #[test]
    fn heat_map_puts_a_tone_in_its_row() {
        let map = heat_map(&tone_frames(127, 40), 20, 8);
        let rows: Vec<&str> = map.lines().collect();
        assert_eq!(rows.len(), 8 + 2);
        assert!(
            rows[0].ends_with(&"@".repeat(20)),
            "top row is the 3.5–4 kHz band: {}",
            rows[0]
        );
        assert!(
            rows[7].ends_with(&" ".repeat(20)),
            "bottom row is quiet: {}",
            rows[7]
        );
    }

    #[test]
    fn heat_map_of_nothing_is_empty() {
        assert_eq!(heat_map(&[], 10, 10), "");
    }

    #[test]
    fn levels_find_the_strongest_bin_and_silence() {
        let mut frames = tone_frames(32, 3);
        frames.push([i8::MIN; BINS]);
        let l = levels(&frames).unwrap();
        assert_eq!(l.strongest_bin_hz, 1000.0);
        assert_eq!(l.max_code, 100);
        assert_eq!(l.silent_frame_share, 0.25);
        assert_eq!(levels(&[]), None);
    }

    #[test]
    fn floor_is_zero_db() {
        assert_eq!(code_to_db(i8::MIN), 0.0);
        assert!((code_to_db(0) - 64.22).abs() < 0.01);
    }
}
