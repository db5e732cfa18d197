//! The one harness: runs any kernel on any backend, times it, validates it, and turns it into rows.
//!
//! BabelStream's method: warm up (the first repetition is dropped), repeat, report median, min and
//! max; validate every run against gold values computed independently of the backend.

mod mc;
mod progress;
mod roofline;
mod stream;

pub use mc::{McConfig, McOutcome, run_mc};
pub use progress::Progress;
pub use roofline::{Ceiling, RooflineConfig, fit_ceiling, run_roofline};
pub use stream::{StreamConfig, run_stream};

use serde::Serialize;

/// Summary of the timed repetitions (the warm-up already dropped).
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct Timing {
    pub median_s: f64,
    pub min_s: f64,
    pub max_s: f64,
    pub mean_s: f64,
}

impl Timing {
    /// Statistics of `times`. Sorts it. Panics on an empty slice (callers time at least one run).
    pub fn from_times(times: &mut [f64]) -> Timing {
        assert!(!times.is_empty(), "no timed repetitions");
        times.sort_by(f64::total_cmp);
        let n = times.len();
        let median = if n % 2 == 1 {
            times[n / 2]
        } else {
            0.5 * (times[n / 2 - 1] + times[n / 2])
        };
        Timing {
            median_s: median,
            min_s: times[0],
            max_s: times[n - 1],
            mean_s: times.iter().sum::<f64>() / n as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Timing;

    #[test]
    fn timing_statistics() {
        let t = Timing::from_times(&mut [3.0, 1.0, 2.0]);
        assert_eq!(
            t,
            Timing {
                median_s: 2.0,
                min_s: 1.0,
                max_s: 3.0,
                mean_s: 2.0
            }
        );
        assert_eq!(Timing::from_times(&mut [4.0, 1.0, 2.0, 3.0]).median_s, 2.5);
    }
}
