//! Progress display for long jobs: an indicatif bar on a terminal, plain log lines otherwise
//! (CI logs, pipes), so a job never looks hung and never floods a log.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// A progress reporter over `total` items.
pub struct Progress {
    bar: ProgressBar,
    plain: Option<PlainLog>,
}

/// State of the plain-log fallback.
struct PlainLog {
    label: String,
    total: u64,
    started: Instant,
    last: std::sync::Mutex<Instant>,
}

/// Seconds between plain log lines.
const PLAIN_INTERVAL: Duration = Duration::from_secs(10);

impl Progress {
    /// Starts reporting `total` items of work called `label` on stderr.
    #[must_use]
    pub fn new(label: &str, total: u64) -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{prefix:>10} [{bar:40}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(label.to_string());
            Self { bar, plain: None }
        } else {
            let now = Instant::now();
            eprintln!("{label}: 0/{total}");
            let plain = PlainLog {
                label: label.to_string(),
                total,
                started: now,
                last: std::sync::Mutex::new(now),
            };
            Self {
                bar: ProgressBar::hidden(),
                plain: Some(plain),
            }
        }
    }

    /// Marks one item done, with a short message (the item's name).
    pub fn inc(&self, message: &str) {
        self.bar.inc(1);
        self.bar.set_message(message.to_string());
        if let Some(plain) = &self.plain {
            let done = self.bar.position();
            let mut last = plain
                .last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.elapsed() >= PLAIN_INTERVAL || done == plain.total {
                *last = Instant::now();
                eprintln!(
                    "{}: {done}/{} ({:.0} s)",
                    plain.label,
                    plain.total,
                    plain.started.elapsed().as_secs_f64()
                );
            }
        }
    }

    /// Ends the display.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
