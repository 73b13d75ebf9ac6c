//! Loading SoundFonts once, to share between threads.

use super::error::RenderError;
use rustysynth::SoundFont;
use std::collections::BTreeSet;
use std::io::BufReader;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Debian's small General MIDI SoundFont (package `timgm6mb-soundfont`), the default.
pub const DEFAULT_SOUNDFONT: &str = "/usr/share/sounds/sf2/TimGM6mb.sf2";

/// A loaded SoundFont.
#[derive(Clone)]
pub struct LoadedFont {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its file name, for reports and metadata.
    pub name: String,
    /// The parsed font, shared by every synthesizer that plays it.
    pub font: Arc<SoundFont>,
    /// The melodic programs (bank 0) it has presets for.
    programs: BTreeSet<u8>,
}

impl std::fmt::Debug for LoadedFont {
    /// Names the font without dumping its sample data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedFont")
            .field("path", &self.path)
            .field("programs", &self.programs.len())
            .finish_non_exhaustive()
    }
}

impl LoadedFont {
    /// Reads and parses the SoundFont at `path`. Errors (unreadable, not a SoundFont, a parser
    /// panic on a malformed file) name the file. Cost: reading the whole file into memory (the
    /// sample data stays there, about the file's size).
    pub fn load(path: &Path) -> Result<Self, RenderError> {
        let file = std::fs::File::open(path).map_err(|source| RenderError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = BufReader::new(file);
        let parsed = catch_unwind(AssertUnwindSafe(|| SoundFont::new(&mut reader)));
        let font = match parsed {
            Ok(Ok(font)) => font,
            Ok(Err(error)) => {
                return Err(RenderError::SoundFont {
                    path: path.to_path_buf(),
                    reason: error.to_string(),
                });
            }
            Err(_) => {
                return Err(RenderError::SoundFont {
                    path: path.to_path_buf(),
                    reason: "the SoundFont parser failed on malformed data".into(),
                });
            }
        };
        let programs = font
            .get_presets()
            .iter()
            .filter(|p| p.get_bank_number() == 0)
            .filter_map(|p| u8::try_from(p.get_patch_number()).ok())
            .collect();
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(Self {
            path: path.to_path_buf(),
            name,
            font: Arc::new(font),
            programs,
        })
    }

    /// Whether the font has a bank-0 preset for `program` (0-based). Without one, rustysynth
    /// plays its lowest-numbered preset instead.
    #[must_use]
    pub fn has_program(&self, program: u8) -> bool {
        self.programs.contains(&program)
    }
}

/// The SoundFonts to use: `given`, or [`DEFAULT_SOUNDFONT`] when none is given and it exists.
pub fn soundfont_paths(given: &[PathBuf]) -> Result<Vec<PathBuf>, RenderError> {
    if !given.is_empty() {
        return Ok(given.to_vec());
    }
    let default = PathBuf::from(DEFAULT_SOUNDFONT);
    if default.is_file() {
        Ok(vec![default])
    } else {
        Err(RenderError::Usage(format!(
            "no SoundFont given and {DEFAULT_SOUNDFONT} is not installed: pass --soundfont \
             FILE.sf2 (on Debian: apt-get install timgm6mb-soundfont)"
        )))
    }
}
