//! Names of General MIDI programs, with MusicNet's eleven instruments named as MusicNet does.

/// MusicNet's instruments: (1-based GM program, name).
pub const MUSICNET_INSTRUMENTS: [(u8, &str); 11] = [
    (1, "Piano"),
    (7, "Harpsichord"),
    (41, "Violin"),
    (42, "Viola"),
    (43, "Cello"),
    (44, "Contrabass"),
    (61, "Horn"),
    (69, "Oboe"),
    (71, "Bassoon"),
    (72, "Clarinet"),
    (74, "Flute"),
];

/// A readable name of a 1-based GM program: MusicNet's name for its eleven, else `GM program N`.
#[must_use]
pub fn instrument_name(program: u8) -> String {
    MUSICNET_INSTRUMENTS
        .iter()
        .find(|(code, _)| *code == program)
        .map_or_else(
            || format!("GM program {program}"),
            |(_, name)| (*name).to_string(),
        )
}
