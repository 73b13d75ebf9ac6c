//! The options of `trainer render`, and their checks.

use super::error::RenderError;
use crate::augment::{ColoringRange, EQ_GAIN_LIMIT_DB, EqRange, TILT_LIMIT_DB_PER_OCTAVE};
use std::path::{Path, PathBuf};

/// How several SoundFonts are used.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SoundFontMode {
    /// Render every piece once with one SoundFont drawn per piece (seeded); ids are kept.
    #[default]
    Draw,
    /// Render every piece with every SoundFont; the k-th SoundFont (0-based, in the order given)
    /// gives id `id * 10 + k`, so at most 10 SoundFonts.
    Each,
}

/// On or off.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    /// On.
    On,
    /// Off.
    Off,
}

/// Options of `trainer render`: synthesize a folder of MIDI files laid out like MusicNet's
/// `musicnet_midis` archive into audio and note labels laid out like MusicNet itself.
#[derive(clap::Args, Clone, Debug, PartialEq)]
pub struct RenderArgs {
    /// The MIDI folder: one holding `musicnet_midis/<Composer>/<id>_<name>.mid` and
    /// `musicnet_metadata.csv` (and optionally `split.csv` with columns `id,split`), or that
    /// `musicnet_midis` folder itself.
    #[arg(value_name = "MIDI_DIR")]
    pub input: PathBuf,

    /// Where to write `{train,test}_data/<id>.wav`, `{train,test}_labels/<id>.csv` and
    /// `musicnet_metadata.csv` (created if missing; complete pieces already there are kept).
    #[arg(long, short, value_name = "DIR")]
    pub out: PathBuf,

    /// A SoundFont (.sf2) to render with; repeat for several (see --soundfont-mode).
    /// Default: /usr/share/sounds/sf2/TimGM6mb.sf2 (Debian package timgm6mb-soundfont).
    #[arg(long = "soundfont", value_name = "FILE.sf2")]
    pub soundfonts: Vec<PathBuf>,

    /// With several SoundFonts: `draw` one per piece (seeded; ids kept) or render with `each`
    /// (the k-th SoundFont gives id `id*10+k`; a piece's renderings share its split).
    #[arg(long, value_enum, default_value_t = SoundFontMode::Draw, value_name = "MODE")]
    pub soundfont_mode: SoundFontMode,

    /// Audio sample rate in Hz (16000 to 192000). Label times stay in 44.1 kHz samples, as in
    /// MusicNet, whatever this is.
    #[arg(long, default_value_t = 44_100, value_name = "HZ")]
    pub sample_rate: u32,

    /// Audio channels: 1 (the mean of the synthesizer's left and right, as MusicNet's mono
    /// recordings) or 2.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=2))]
    pub channels: u16,

    /// Gain in dB relative to the synthesizer's own level, which is quiet (about -30 dBFS RMS
    /// on the corpus); the default brings it near recorded music's level. A piece that would
    /// then peak above -0.1 dBFS is turned down as a whole to peak there (reported), so nothing
    /// ever clips.
    #[arg(
        long,
        default_value_t = DEFAULT_GAIN_DB,
        allow_negative_numbers = true,
        value_name = "DB"
    )]
    pub gain: f64,

    /// The synthesizer's reverb and chorus.
    #[arg(long, value_enum, default_value_t = Switch::On, value_name = "on|off")]
    pub reverb: Switch,

    /// Seconds of release and reverb tail kept after the last note-off at most; rendering stops
    /// earlier once the tail is silent.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    pub tail: f64,

    /// Seed of every random choice (tempo, velocity and part jitter, SoundFont draws,
    /// --test-share).
    /// A piece's choices depend only on the seed and its id, so output is identical for any
    /// --jobs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Play each piece at a tempo factor drawn from [1-J, 1+J] (J at most 0.5); labels follow
    /// the new times, beats stay.
    #[arg(long, default_value_t = 0.0, value_name = "J")]
    pub tempo_jitter: f64,

    /// Move each note's velocity by a whole number drawn from -V..=V (kept within 1..=127).
    #[arg(long, default_value_t = 0, value_name = "V")]
    pub velocity_jitter: u8,

    /// Timbre augmentation from one SoundFont: with probability P per part (the notes of one
    /// written program) and piece, play the part with a related program of its family (a violin
    /// part with the viola, fiddle or string-ensemble samples, a flute with the piccolo, ...).
    /// Labels keep the written instrument.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub part_swap: f64,

    /// Move all velocities of each part by one offset drawn per part from -V..=V (kept within
    /// 1..=127), so the balance between instruments changes from piece to piece.
    #[arg(long, default_value_t = 0, value_name = "V")]
    pub part_velocity_jitter: u8,

    /// Timbre augmentation from one SoundFont: render every part (the notes of one sounding
    /// program) alone and colour it before mixing, with a random equalizer of 2 to 5 peaking
    /// bands of at most ±DB each (Q 0.7 to 2.5, centred between 80 Hz and 3.5 kHz), drawn per
    /// part and piece, so each instrument sounds as if from another sample set. 0: off.
    #[arg(long, default_value_t = 0.0, value_name = "DB")]
    pub part_eq: f32,

    /// With the parts rendered alone: tilt each part's spectrum by a slope drawn per part from
    /// ±DB dB per octave around 1 kHz (brighter or darker samples). 0: off.
    #[arg(long, default_value_t = 0.0, value_name = "DB")]
    pub part_tilt: f32,

    /// With the parts rendered alone: move each part's level by a gain drawn per part from ±DB
    /// (the balance between instruments, without the brightness change of velocity). 0: off.
    #[arg(long, default_value_t = 0.0, value_name = "DB")]
    pub part_gain: f32,

    /// Without split.csv: the share (0 to 1) of pieces drawn for the test split, per piece and
    /// seeded. Without either, every piece goes to train.
    #[arg(long, value_name = "SHARE")]
    pub test_share: Option<f64>,

    /// Render only these piece ids (comma-separated, as in the MIDI file names).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub ids: Vec<u32>,

    /// Render at most this many pieces (the lowest ids).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,

    /// Worker threads (default: all cores).
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<usize>,

    /// Render again pieces whose audio and labels are already complete in --out.
    #[arg(long)]
    pub force: bool,

    /// Count bad MIDI files, pieces without metadata and bad split.csv rows as warnings and skip
    /// them, instead of stopping at the first.
    #[arg(long)]
    pub lenient: bool,
}

/// The default `--gain`, dB: rustysynth's output at its default master volume is quiet (with
/// both Debian General MIDI SoundFonts the corpus renders at a median -31 dBFS RMS and at most
/// -11 dBFS peak); +10 dB puts it near commercial recordings' level with headroom to spare.
pub const DEFAULT_GAIN_DB: f64 = 10.0;

/// Most SoundFonts in `each` mode (ids are `id * 10 + k`).
pub const MAX_EACH_SOUNDFONTS: usize = 10;

/// Largest `--part-gain`, dB.
const MAX_PART_GAIN_DB: f64 = 24.0;

/// Most seconds of tail.
const MAX_TAIL_SECONDS: f64 = 60.0;

impl RenderArgs {
    /// The defaults (as on the command line) for `input` and `out`.
    #[must_use]
    pub fn new(input: &Path, out: &Path) -> Self {
        Self {
            input: input.to_path_buf(),
            out: out.to_path_buf(),
            soundfonts: Vec::new(),
            soundfont_mode: SoundFontMode::Draw,
            sample_rate: 44_100,
            channels: 1,
            gain: DEFAULT_GAIN_DB,
            reverb: Switch::On,
            tail: 1.0,
            seed: 0,
            tempo_jitter: 0.0,
            velocity_jitter: 0,
            part_swap: 0.0,
            part_velocity_jitter: 0,
            part_eq: 0.0,
            part_tilt: 0.0,
            part_gain: 0.0,
            test_share: None,
            ids: Vec::new(),
            limit: None,
            jobs: None,
            force: false,
            lenient: false,
        }
    }

    /// The per-part colouring `--part-eq`, `--part-tilt` and `--part-gain` ask for (the
    /// identity when all are 0). The equalizer's band count and Q range are those of the
    /// window augmentation's preset.
    #[must_use]
    pub fn part_coloring(&self) -> ColoringRange {
        ColoringRange {
            tilt_db_per_octave: self.part_tilt,
            eq: (self.part_eq > 0.0).then_some(EqRange::preset_shape(self.part_eq)),
            gain_db: self.part_gain,
        }
    }

    /// Checks values clap cannot: ranges of numbers and combinations.
    pub fn check(&self, soundfonts: usize) -> Result<(), RenderError> {
        let usage = |message: String| Err(RenderError::Usage(message));
        if !(16_000..=192_000).contains(&self.sample_rate) {
            return usage(format!(
                "--sample-rate {} is outside 16000..=192000 Hz",
                self.sample_rate
            ));
        }
        if !(1..=2).contains(&self.channels) {
            return usage(format!("--channels {} must be 1 or 2", self.channels));
        }
        if !self.gain.is_finite() || self.gain.abs() > 60.0 {
            return usage(format!("--gain {} dB is outside -60..=60", self.gain));
        }
        if !(0.0..=MAX_TAIL_SECONDS).contains(&self.tail) {
            return usage(format!(
                "--tail {} s is outside 0..={MAX_TAIL_SECONDS}",
                self.tail
            ));
        }
        if !(0.0..=0.5).contains(&self.tempo_jitter) {
            return usage(format!(
                "--tempo-jitter {} is outside 0..=0.5",
                self.tempo_jitter
            ));
        }
        if self.velocity_jitter > 126 {
            return usage(format!(
                "--velocity-jitter {} is outside 0..=126",
                self.velocity_jitter
            ));
        }
        if !(0.0..=1.0).contains(&self.part_swap) {
            return usage(format!("--part-swap {} is outside 0..=1", self.part_swap));
        }
        if self.part_velocity_jitter > 126 {
            return usage(format!(
                "--part-velocity-jitter {} is outside 0..=126",
                self.part_velocity_jitter
            ));
        }
        let coloring = [
            ("--part-eq", self.part_eq, f64::from(EQ_GAIN_LIMIT_DB)),
            (
                "--part-tilt",
                self.part_tilt,
                f64::from(TILT_LIMIT_DB_PER_OCTAVE),
            ),
            ("--part-gain", self.part_gain, MAX_PART_GAIN_DB),
        ];
        for (flag, value, limit) in coloring {
            if !(0.0..=limit).contains(&f64::from(value)) {
                return usage(format!("{flag} {value} is outside 0..={limit}"));
            }
        }
        if let Some(share) = self.test_share
            && !(0.0..=1.0).contains(&share)
        {
            return usage(format!("--test-share {share} is outside 0..=1"));
        }
        if self.jobs == Some(0) {
            return usage("--jobs must be at least 1".into());
        }
        if self.soundfont_mode == SoundFontMode::Each && soundfonts > MAX_EACH_SOUNDFONTS {
            return usage(format!(
                "--soundfont-mode each takes at most {MAX_EACH_SOUNDFONTS} SoundFonts ({soundfonts} given)"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_jitter_is_refused_naming_the_flag() {
        let base = RenderArgs::new(Path::new("in"), Path::new("out"));
        assert!(base.check(1).is_ok());
        let refused = |change: fn(&mut RenderArgs), flag: &str| {
            let mut args = base.clone();
            change(&mut args);
            let message = args.check(1).unwrap_err().to_string();
            assert!(message.contains(flag), "{message}");
        };
        refused(|a| a.part_swap = 1.5, "--part-swap");
        refused(|a| a.part_swap = -0.1, "--part-swap");
        refused(|a| a.part_swap = f64::NAN, "--part-swap");
        refused(|a| a.part_velocity_jitter = 127, "--part-velocity-jitter");
        refused(|a| a.tempo_jitter = 0.6, "--tempo-jitter");
        refused(|a| a.velocity_jitter = 127, "--velocity-jitter");
        refused(|a| a.part_eq = 19.0, "--part-eq");
        refused(|a| a.part_eq = f32::NAN, "--part-eq");
        refused(|a| a.part_tilt = -1.0, "--part-tilt");
        refused(|a| a.part_tilt = 7.0, "--part-tilt");
        refused(|a| a.part_gain = 25.0, "--part-gain");
    }
}
