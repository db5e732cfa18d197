//! A progress bar on stderr that stays hidden for short runs and when stderr is not a terminal.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Runs shorter than this never show a bar.
const SHOW_AFTER: Duration = Duration::from_secs(1);

pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    shown: bool,
}

impl Progress {
    pub fn new(label: &str, total: u64) -> Progress {
        Self::with_template(
            label,
            total,
            "{prefix:>22} [{bar:30}] {pos}/{len} {elapsed_precise} (eta {eta})",
        )
    }

    /// A bar over `total` units of work shown as a percentage (for work counted in fractions,
    /// such as the paths of several repetitions).
    pub fn percent(label: &str, total: u64) -> Progress {
        Self::with_template(
            label,
            total,
            "{prefix:>22} [{bar:30}] {percent:>3}% {elapsed_precise} (eta {eta})",
        )
    }

    fn with_template(label: &str, total: u64, template: &str) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template(template)
                .expect("static template")
                .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        Progress {
            bar,
            started: Instant::now(),
            // Under MPI only rank 0 speaks for the job.
            shown: !crate::cluster::world().is_root(),
        }
    }

    /// Counts one step. Called between timed regions, never inside one.
    pub fn step(&mut self) {
        self.bar.inc(1);
        self.show_if_long();
    }

    /// Sets the work done so far (cheap enough to call between batches of a timed region:
    /// indicatif only redraws a few times a second).
    pub fn set(&mut self, done: u64) {
        self.bar.set_position(done);
        self.show_if_long();
    }

    /// Shows the bar once the run's expected length passes a second.
    fn show_if_long(&mut self) {
        if !self.shown {
            let done = self.bar.position().max(1) as f64;
            let total = self.bar.length().unwrap_or(1) as f64;
            if self.started.elapsed().as_secs_f64() * total / done > SHOW_AFTER.as_secs_f64() {
                // indicatif keeps the stderr target hidden when stderr is not a terminal.
                self.bar.set_draw_target(ProgressDrawTarget::stderr());
                self.shown = true;
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
