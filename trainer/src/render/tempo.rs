//! MIDI time: ticks to seconds through the tempo map, and ticks to beats.
//!
//! Metrical files (ticks per quarter note) follow every `set_tempo` event of every track; before
//! the first one the tempo is MIDI's default, 120 quarter notes per minute. Times are summed
//! exactly in integers (ticks × microseconds per quarter) and divided once, so a long piece
//! accumulates no rounding error. Timecode files (ticks per SMPTE frame) have a fixed tick length;
//! their beats are counted at MIDI's default tempo, since such files have no notion of a beat.

/// MIDI's tempo before any `set_tempo`: 500 000 µs per quarter note (120 BPM).
pub const DEFAULT_TEMPO_US: u32 = 500_000;

/// Beats per second of timecode files (MIDI's default tempo), used only for the label's beat
/// columns.
const TIMECODE_BEATS_PER_SECOND: f64 = 1_000_000.0 / DEFAULT_TEMPO_US as f64;

/// A tempo change: from `tick` on, a quarter note lasts `us_per_beat` µs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Segment {
    tick: u64,
    us_per_beat: u32,
    /// Time at `tick`, in µs × ticks-per-beat (exact).
    start: u128,
}

/// How a file counts time.
#[derive(Clone, Debug, PartialEq)]
enum Clock {
    /// Ticks per quarter note (> 0), with tempo segments sorted by tick, the first at tick 0.
    Metrical {
        ticks_per_beat: u16,
        segments: Vec<Segment>,
    },
    /// A fixed number of ticks per second (> 0): SMPTE timecode timing.
    Timecode { ticks_per_second: f64 },
}

/// The map from ticks to seconds and beats of one MIDI file.
#[derive(Clone, Debug, PartialEq)]
pub struct TempoMap {
    clock: Clock,
}

impl TempoMap {
    /// A metrical map from `ticks_per_beat` (> 0) and `(tick, µs per quarter)` changes in any
    /// order; of several changes at one tick the last given wins. Cost: a sort of the changes.
    #[must_use]
    pub fn metrical(ticks_per_beat: u16, changes: &[(u64, u32)]) -> Self {
        let mut changes = changes.to_vec();
        // Stable: of equal ticks the later-given change stays last.
        changes.sort_by_key(|&(tick, _)| tick);
        let mut segments = vec![Segment {
            tick: 0,
            us_per_beat: DEFAULT_TEMPO_US,
            start: 0,
        }];
        for (tick, us_per_beat) in changes {
            let us_per_beat = us_per_beat.max(1);
            let Some(last) = segments.last_mut() else {
                continue;
            };
            if last.tick == tick {
                last.us_per_beat = us_per_beat;
                continue;
            }
            let start = last.start + u128::from(tick - last.tick) * u128::from(last.us_per_beat);
            segments.push(Segment {
                tick,
                us_per_beat,
                start,
            });
        }
        Self {
            clock: Clock::Metrical {
                ticks_per_beat: ticks_per_beat.max(1),
                segments,
            },
        }
    }

    /// A timecode map with `ticks_per_second` (> 0).
    #[must_use]
    pub fn timecode(ticks_per_second: f64) -> Self {
        Self {
            clock: Clock::Timecode {
                ticks_per_second: ticks_per_second.max(f64::MIN_POSITIVE),
            },
        }
    }

    /// Seconds from the start of the piece to `tick`. Cost: a binary search over tempo changes.
    #[must_use]
    pub fn seconds(&self, tick: u64) -> f64 {
        match &self.clock {
            Clock::Metrical {
                ticks_per_beat,
                segments,
            } => {
                let index = segments.partition_point(|s| s.tick <= tick);
                let Some(segment) = index.checked_sub(1).and_then(|i| segments.get(i)) else {
                    return 0.0;
                };
                let scaled = segment.start
                    + u128::from(tick - segment.tick) * u128::from(segment.us_per_beat);
                // u128 → f64 is exact below 2^53 (≈ 285 years at 480 ticks per quarter).
                scaled as f64 / (f64::from(*ticks_per_beat) * 1_000_000.0)
            }
            Clock::Timecode { ticks_per_second } => tick as f64 / ticks_per_second,
        }
    }

    /// Beats (quarter notes) from the start of the piece to `tick`.
    #[must_use]
    pub fn beats(&self, tick: u64) -> f64 {
        match &self.clock {
            Clock::Metrical { ticks_per_beat, .. } => tick as f64 / f64::from(*ticks_per_beat),
            Clock::Timecode { .. } => self.seconds(tick) * TIMECODE_BEATS_PER_SECOND,
        }
    }

    /// Ticks per quarter note, when the file is metrical (note values need it).
    #[must_use]
    pub fn ticks_per_beat(&self) -> Option<u16> {
        match &self.clock {
            Clock::Metrical { ticks_per_beat, .. } => Some(*ticks_per_beat),
            Clock::Timecode { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tempo_is_120_bpm() {
        let map = TempoMap::metrical(480, &[]);
        assert_eq!(map.seconds(480), 0.5);
        assert_eq!(map.beats(240), 0.5);
    }

    #[test]
    fn tempo_changes_accumulate_exactly() {
        // 1 beat at 120 BPM (0.5 s), then 60 BPM (1 s per beat).
        let map = TempoMap::metrical(480, &[(480, 1_000_000), (0, 500_000)]);
        assert_eq!(map.seconds(0), 0.0);
        assert_eq!(map.seconds(480), 0.5);
        assert_eq!(map.seconds(960), 1.5);
        assert_eq!(map.seconds(1200), 2.0);
        assert_eq!(map.beats(1200), 2.5);
    }

    #[test]
    fn the_last_change_at_a_tick_wins() {
        let map = TempoMap::metrical(100, &[(0, 1_000_000), (0, 250_000)]);
        assert_eq!(map.seconds(100), 0.25);
    }

    #[test]
    fn timecode_counts_beats_at_the_default_tempo() {
        let map = TempoMap::timecode(25.0 * 40.0);
        assert_eq!(map.seconds(1000), 1.0);
        assert_eq!(map.beats(1000), 2.0);
        assert_eq!(map.ticks_per_beat(), None);
    }
}
