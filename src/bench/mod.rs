//! The one harness: runs any kernel on any backend, times it, validates it, and turns it into rows.
//!
//! BabelStream's method: warm up (the first repetition is dropped), repeat, report median, min and
//! max; validate every run against gold values computed independently of the backend.

mod mc;
mod progress;
mod roofline;
mod stream;

pub use mc::{McConfig, Z_LIMIT, run_mc};
pub use progress::Progress;
pub use roofline::{RooflineConfig, fit_ceiling, run_roofline};
pub use stream::{StreamConfig, run_stream};
