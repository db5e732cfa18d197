//! The backend interface every programming model implements (BabelStream's `Stream`), and the CPU
//! backends: the HexPylot engine and rayon. The harness (`crate::bench`) only sees these traits.

mod engine;
mod rayon_pool;

use std::borrow::Cow;

use anyhow::Result;
use clap::ValueEnum;
use core_affinity::CoreId;
use cpu_kernels::mc::{McParams, McSums};
use cpu_kernels::stream::Stores;
use serde::Serialize;

use crate::engine::SharedArray;
use crate::kernels::{Element, StreamKernel};

pub use engine::EngineBackend;
pub use rayon_pool::RayonBackend;

/// The stream benchmark's view of a backend, for one element type.
pub trait Stream<T: Element> {
    /// Allocates a, b and c of `n` elements, first-touched with `init` by the threads that will
    /// process them. Replaces any arrays from an earlier run.
    fn init_arrays(&mut self, n: usize, init: [T; 3]) -> Result<()>;
    /// Runs one kernel once over the whole arrays. Returns the dot product for `Dot`, 0 otherwise.
    fn run(&mut self, kernel: StreamKernel, scalar: T) -> Result<f64>;
    /// The arrays as they are now (a, b, c), for validation.
    fn read_arrays(&mut self) -> Result<[Cow<'_, [T]>; 3]>;
    /// Frees the arrays.
    fn release_arrays(&mut self);
}

/// The Monte Carlo benchmark's view of a backend.
pub trait MonteCarlo {
    /// Simulates `paths` paths and returns the undiscounted payoff sums. For CPU backends the sums
    /// are bit-identical whatever the thread count (blocks summed in block order).
    fn simulate(&mut self, params: &McParams, paths: u64) -> Result<McSums>;
}

/// A whole backend: both element types of the stream set, and Monte Carlo.
pub trait Backend: Stream<f32> + Stream<f64> + MonteCarlo {
    fn kind(&self) -> BackendKind;
    fn threads(&self) -> usize;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// The HexPylot engine: persistent pinned workers, barrier-separated phases.
    Engine,
    /// A rayon thread pool of the same size, pinned.
    Rayon,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Engine => "engine",
            BackendKind::Rayon => "rayon",
        }
    }

    /// Builds the backend on `cores` (one thread per entry). `llc_bytes` sizes the streaming-store
    /// decision (see [`crate::kernels::stores_for`]).
    pub fn create(self, cores: &[CoreId], llc_bytes: u64) -> Result<Box<dyn Backend>> {
        Ok(match self {
            BackendKind::Engine => Box::new(EngineBackend::new(cores, llc_bytes)?),
            BackendKind::Rayon => Box::new(RayonBackend::new(cores, llc_bytes)?),
        })
    }
}

/// A CPU backend's stream arrays (a, b, c) and the store policy chosen for their size.
struct Arrays<T> {
    abc: [SharedArray<T>; 3],
    stores: Stores,
}

impl<T: Element> Arrays<T> {
    fn borrowed(&self) -> [Cow<'_, [T]>; 3] {
        let [a, b, c] = &self.abc;
        [
            Cow::Borrowed(&a[..]),
            Cow::Borrowed(&b[..]),
            Cow::Borrowed(&c[..]),
        ]
    }
}

/// The arrays of either element type, as both CPU backends hold them.
#[derive(Default)]
struct ArrayStore {
    f32: Option<Arrays<f32>>,
    f64: Option<Arrays<f64>>,
}

/// Picks the slot of `ArrayStore` for an element type.
trait Slot: Element {
    fn slot(store: &mut ArrayStore) -> &mut Option<Arrays<Self>>;
}

impl Slot for f32 {
    fn slot(store: &mut ArrayStore) -> &mut Option<Arrays<f32>> {
        &mut store.f32
    }
}

impl Slot for f64 {
    fn slot(store: &mut ArrayStore) -> &mut Option<Arrays<f64>> {
        &mut store.f64
    }
}

fn no_arrays() -> anyhow::Error {
    anyhow::anyhow!("stream arrays used before init_arrays")
}

/// Whole-run Monte Carlo sums: the blocks added in block order, which is what makes the price
/// independent of how blocks were spread over threads.
fn total(blocks: &[McSums]) -> McSums {
    let mut sum = McSums::default();
    for b in blocks {
        sum.merge(b);
    }
    sum
}
