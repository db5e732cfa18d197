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
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>22} [{bar:30}] {pos}/{len} {elapsed_precise} (eta {eta})",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        Progress {
            bar,
            started: Instant::now(),
            shown: false,
        }
    }

    /// Counts one step. Called between timed regions, never inside one.
    pub fn step(&mut self) {
        self.bar.inc(1);
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
