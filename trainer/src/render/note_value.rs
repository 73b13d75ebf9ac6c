//! Written note values (`Quarter`, `Dotted Eighth`, `Triplet Sixteenth`, ...) from MIDI durations,
//! for the `note_value` column of MusicNet's label files.
//!
//! A duration of `ticks` at `ticks_per_beat` (a beat being a quarter note, as in MIDI) is a
//! fraction of a whole note. It is named when it is a plain value from a longa (4 whole notes) down to a 128th,
//! or such a value dotted (×3/2), double-dotted (×7/4) or in a triplet (×2/3). Anything else
//! (ties across values, quintuplets, performed rather than written durations) is written as the
//! reduced fraction of a whole note, e.g. `5/16` for a quarter tied to a sixteenth.

/// Plain values as (numerator, denominator) of a whole note, with MusicNet's names.
const PLAIN: [(u64, u64, &str); 10] = [
    (4, 1, "Longa"),
    (2, 1, "Breve"),
    (1, 1, "Whole"),
    (1, 2, "Half"),
    (1, 4, "Quarter"),
    (1, 8, "Eighth"),
    (1, 16, "Sixteenth"),
    (1, 32, "Thirty Second"),
    (1, 64, "Sixty Fourth"),
    (1, 128, "Hundred Twenty Eighth"),
];

/// Modifiers as (numerator, denominator, prefix), the plain value first.
const MODIFIERS: [(u64, u64, &str); 4] = [
    (1, 1, ""),
    (3, 2, "Dotted "),
    (7, 4, "Double Dotted "),
    (2, 3, "Triplet "),
];

/// The written value of a note lasting `ticks` at `ticks_per_beat` ticks per quarter note; an
/// empty duration or `ticks_per_beat == 0` gives `0`. Cost: a gcd and at most 40 comparisons.
#[must_use]
pub fn note_value(ticks: u64, ticks_per_beat: u16) -> String {
    let per_whole = 4 * u64::from(ticks_per_beat);
    if ticks == 0 || per_whole == 0 {
        return "0".to_string();
    }
    let divisor = gcd(ticks, per_whole);
    let (num, den) = (ticks / divisor, per_whole / divisor);
    for (mod_num, mod_den, prefix) in MODIFIERS {
        for (plain_num, plain_den, name) in PLAIN {
            // num/den == plain × modifier, compared by cross-multiplication (no overflow: the
            // factors are small and num, den < 2^50 for any u16 tick rate and sane duration).
            if u128::from(num) * u128::from(plain_den * mod_den)
                == u128::from(den) * u128::from(plain_num * mod_num)
            {
                return format!("{prefix}{name}");
            }
        }
    }
    format!("{num}/{den}")
}

/// Greatest common divisor (Euclid).
fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::note_value;

    #[test]
    fn names_plain_dotted_and_triplet_values() {
        let q = 480;
        assert_eq!(note_value(480, q), "Quarter");
        assert_eq!(note_value(1920, q), "Whole");
        assert_eq!(note_value(3840, q), "Breve");
        assert_eq!(note_value(720, q), "Dotted Quarter");
        assert_eq!(note_value(360, q), "Dotted Eighth");
        assert_eq!(note_value(840, q), "Double Dotted Quarter");
        assert_eq!(note_value(160, q), "Triplet Eighth");
        assert_eq!(note_value(80, q), "Triplet Sixteenth");
        assert_eq!(note_value(60, q), "Thirty Second");
        assert_eq!(note_value(2880, q), "Dotted Whole");
    }

    #[test]
    fn other_durations_are_fractions_of_a_whole_note() {
        assert_eq!(note_value(600, 480), "5/16");
        assert_eq!(note_value(479, 480), "479/1920");
        assert_eq!(note_value(96, 480), "1/20");
        assert_eq!(note_value(0, 480), "0");
        assert_eq!(note_value(5, 0), "0");
    }
}
