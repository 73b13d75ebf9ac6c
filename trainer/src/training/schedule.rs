//! Learning-rate schedules and which epoch's networks a run keeps.
//!
//! Both are pure functions of the run's settings and history, so a resumed run makes the same
//! choices as one that was never interrupted.

use super::metrics::EpochMetrics;
use serde::{Deserialize, Serialize};

/// The smallest share of the base learning rate the cosine schedule reaches (at the last step).
pub const COSINE_FLOOR: f64 = 0.01;

/// How the learning rate moves over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LrSchedule {
    /// The base rate at every step (the reference's).
    #[default]
    Constant,
    /// Cosine annealing from the base rate at the first step to [`COSINE_FLOOR`] × the base rate
    /// at the last step of `epochs` epochs (no restarts). Large early steps explore, small late
    /// steps settle, so the last epochs do not swing as a constant rate does.
    Cosine {
        /// The run's length in epochs, which the schedule is stretched over.
        epochs: usize,
    },
}

impl LrSchedule {
    /// The factor on the base learning rate for batch `batch` of `batches` in epoch `epoch`
    /// (0-based). Always in `[COSINE_FLOOR, 1]`; 1 for [`LrSchedule::Constant`]. Cost: one
    /// cosine.
    #[must_use]
    pub fn factor(self, epoch: usize, batch: usize, batches: usize) -> f64 {
        match self {
            Self::Constant => 1.0,
            Self::Cosine { epochs } => {
                let total = (epochs.max(1) * batches.max(1)) as f64;
                let step = (epoch * batches.max(1) + batch) as f64;
                let progress = if total > 1.0 {
                    (step / (total - 1.0)).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
                COSINE_FLOOR + (1.0 - COSINE_FLOOR) * cosine
            }
        }
    }
}

/// `trainer fit --lr-schedule`: the schedule's kind; [`ScheduleKind::over`] gives it the run's
/// length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ScheduleKind {
    /// [`LrSchedule::Constant`].
    Constant,
    /// [`LrSchedule::Cosine`] over `--epochs`.
    Cosine,
}

impl ScheduleKind {
    /// The schedule for a run of `epochs` epochs. Cost: constant.
    #[must_use]
    pub fn over(self, epochs: usize) -> LrSchedule {
        match self {
            Self::Constant => LrSchedule::Constant,
            Self::Cosine => LrSchedule::Cosine { epochs },
        }
    }
}

/// Which epoch's networks become the run's model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Keep {
    /// The last epoch's.
    #[default]
    Last,
    /// The epoch with the highest [`selection_score`] on the validation set (the last epoch
    /// when no epoch was validated). The best epoch's checkpoint folder is kept for this.
    Best,
}

/// The figure `--keep best` maximizes: the mean of validation composer accuracy and instrument
/// samples-F1, both tasks weighted alike (`None` without validation). Cost: constant.
#[must_use]
pub fn selection_score(metrics: &EpochMetrics) -> Option<f64> {
    metrics
        .validation
        .as_ref()
        .map(|v| 0.5 * (v.composer_accuracy + v.instrument_f1))
}

/// The 1-based epoch `keep` chooses from `history` (`None` for an empty history). Ties go to the
/// earlier epoch. Cost: one pass over the history.
#[must_use]
pub fn kept_epoch(keep: Keep, history: &[EpochMetrics]) -> Option<usize> {
    let last = history.last()?.epoch;
    match keep {
        Keep::Last => Some(last),
        Keep::Best => {
            let mut best: Option<(f64, usize)> = None;
            for metrics in history {
                if let Some(score) = selection_score(metrics)
                    && best.is_none_or(|(top, _)| score > top)
                {
                    best = Some((score, metrics.epoch));
                }
            }
            Some(best.map_or(last, |(_, epoch)| epoch))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::metrics::Validation;

    fn epoch(epoch: usize, composer: f64, f1: f64) -> EpochMetrics {
        EpochMetrics {
            epoch,
            train_loss_composer: 1.0,
            train_loss_instruments: 0.5,
            validation: Some(Validation {
                examples: 10,
                loss_composer: 1.0,
                loss_instruments: 0.5,
                composer_accuracy: composer,
                instrument_f1: f1,
                exact_match: 0.0,
            }),
            train_windows_per_second: 1.0,
            seconds: 1.0,
        }
    }

    #[test]
    fn constant_is_one_and_cosine_falls_from_one_to_the_floor() {
        assert_eq!(LrSchedule::Constant.factor(3, 2, 10), 1.0);
        let cosine = LrSchedule::Cosine { epochs: 4 };
        assert_eq!(cosine.factor(0, 0, 10), 1.0);
        assert!((cosine.factor(3, 9, 10) - COSINE_FLOOR).abs() < 1e-12);
        // Halfway through the steps the cosine is at half its range.
        let middle = cosine.factor(1, 9, 10) + cosine.factor(2, 0, 10);
        assert!((middle / 2.0 - (1.0 + COSINE_FLOOR) / 2.0).abs() < 1e-3);
        let mut previous = f64::INFINITY;
        for e in 0..4 {
            for b in 0..10 {
                let f = cosine.factor(e, b, 10);
                assert!(f <= previous && (COSINE_FLOOR..=1.0).contains(&f));
                previous = f;
            }
        }
        // Past the planned end (a longer resumed run is refused elsewhere) it stays at the floor.
        assert!((cosine.factor(9, 0, 10) - COSINE_FLOOR).abs() < 1e-12);
        assert_eq!(LrSchedule::Cosine { epochs: 1 }.factor(0, 0, 1), 1.0);
    }

    #[test]
    fn keep_best_picks_the_highest_mean_of_accuracy_and_f1_earliest_on_ties() {
        let history = vec![
            epoch(1, 0.2, 0.6),
            epoch(2, 0.5, 0.7),
            epoch(3, 0.3, 0.8),
            epoch(4, 0.5, 0.7),
        ];
        assert_eq!(kept_epoch(Keep::Last, &history), Some(4));
        assert_eq!(kept_epoch(Keep::Best, &history), Some(2));
        assert_eq!(kept_epoch(Keep::Best, &[]), None);
        let mut unvalidated = history.clone();
        for m in &mut unvalidated {
            m.validation = None;
        }
        assert_eq!(kept_epoch(Keep::Best, &unvalidated), Some(4));
    }
}
