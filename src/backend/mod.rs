//! The backend interface every programming model implements (BabelStream's `Stream`), and the CPU
//! backends: the HexPylot engine and rayon. The harness (`crate::bench`) only sees these traits.

mod engine;
mod gpu;
mod rayon_pool;

use std::borrow::Cow;

use anyhow::Result;
use clap::ValueEnum;
use core_affinity::CoreId;
use cpu_kernels::mc::{McParams, McSums};
use cpu_kernels::stream::{Stores, dot_relative_error_bound};
use serde::Serialize;

use crate::engine::SharedArray;
use crate::kernels::{Element, StreamKernel};

pub use engine::EngineBackend;
pub use gpu::GpuBackend;
pub use rayon_pool::RayonBackend;

/// One run of a kernel, as a backend reports it.
#[derive(Clone, Copy, Debug)]
pub struct Ran<V> {
    pub value: V,
    /// The kernel's time as the device measured it (GPU timestamp queries, or submit to
    /// completion); `None` where the harness's host clock around the call is the kernel's time.
    pub kernel_s: Option<f64>,
}

impl<V> Ran<V> {
    /// A run timed by the harness's host clock.
    pub fn host(value: V) -> Self {
        Ran {
            value,
            kernel_s: None,
        }
    }
}

/// How a backend's random numbers compare with `cpu_kernels`'.
#[derive(Clone, Debug)]
pub struct RngAgreement {
    pub agrees: bool,
    pub detail: String,
}

/// The stream benchmark's view of a backend, for one element type.
pub trait Stream<T: Element> {
    /// Allocates a, b and c of `n` elements, first-touched with `init` by the threads that will
    /// process them. Replaces any arrays from an earlier run.
    fn init_arrays(&mut self, n: usize, init: [T; 3]) -> Result<()>;
    /// Runs one kernel once over the whole arrays, writing its output with `stores` where the
    /// backend has a choice of store kind ([`Backend::chooses_stores`]; ignored otherwise).
    /// Returns the dot product for `Dot`, 0 otherwise.
    fn run(&mut self, kernel: StreamKernel, scalar: T, stores: Stores) -> Result<Ran<f64>>;
    /// The arrays as they are now (a, b, c), for validation.
    fn read_arrays(&mut self) -> Result<[Cow<'_, [T]>; 3]>;
    /// Frees the arrays.
    fn release_arrays(&mut self);
    /// One run of `kernel` from data in host memory to results in host memory (upload, kernel,
    /// download), in seconds; `None` where the data never leaves host memory.
    fn end_to_end(
        &mut self,
        _kernel: StreamKernel,
        _scalar: T,
        _host: &[Vec<T>; 3],
    ) -> Result<Option<f64>> {
        Ok(None)
    }
    /// The largest relative difference from the gold values an element may show after `reps`
    /// repetitions: 0 (exact) where every operation is the replay's own.
    fn element_tolerance(&self, _reps: usize) -> f64 {
        0.0
    }
    /// Checks, before anything is allocated, that arrays of `n` elements fit the backend's memory
    /// limits (the CLI checks host memory for every backend).
    fn check_size(&self, _n: usize) -> Result<()> {
        Ok(())
    }
    /// The largest relative error of the dot product over `n` elements.
    fn dot_bound(&self, n: usize) -> f64 {
        dot_relative_error_bound::<T>(n)
    }
}

/// The Monte Carlo benchmark's view of a backend.
pub trait MonteCarlo {
    /// Simulates `paths` paths and returns the undiscounted payoff sums. For CPU backends the sums
    /// are bit-identical whatever the thread count (blocks summed in block order).
    fn simulate(&mut self, params: &McParams, paths: u64) -> Result<Ran<McSums>>;
    /// For a backend with its own implementation of the random numbers: whether its Philox words
    /// and normals agree with `cpu_kernels`' for `seed`. `None` where the backend runs
    /// `cpu_kernels` itself.
    fn rng_agreement(&mut self, _seed: u64) -> Result<Option<RngAgreement>> {
        Ok(None)
    }
    /// Checks, before anything runs, that the backend can simulate this many paths and steps.
    fn check_mc(&self, _params: &McParams, _paths: u64) -> Result<()> {
        Ok(())
    }
}

/// The roofline benchmark's view of a backend: one f32 array put through `fmas` dependent FMAs
/// per element (`cpu_kernels::roofline`).
pub trait Roofline {
    /// Allocates the array of `n` elements, first-touched with `x0` by the threads that will
    /// process it. Replaces any earlier one.
    fn roofline_init(&mut self, n: usize, x0: f32) -> Result<()>;
    /// `fmas` times `x = x·alpha + beta` on every element, once.
    fn roofline_run(&mut self, fmas: u32, alpha: f32, beta: f32) -> Result<Ran<()>>;
    /// The array as it is now, for validation.
    fn roofline_read(&mut self) -> Result<Cow<'_, [f32]>>;
    fn roofline_release(&mut self);
    /// The relative difference from the single-rounding replay each FMA may add: 0 where every
    /// FMA rounds once (the CPU's `mul_add`).
    fn fma_tolerance(&self) -> f64 {
        0.0
    }
}

/// A whole backend: both element types of the stream set, Monte Carlo and the roofline kernel.
pub trait Backend: Stream<f32> + Stream<f64> + MonteCarlo + Roofline {
    fn kind(&self) -> BackendKind;
    /// CPU threads; 0 for the GPU.
    fn threads(&self) -> usize;
    /// The GPU adapter, for GPU backends.
    fn adapter(&self) -> Option<&crate::gpu::AdapterSummary> {
        None
    }
    /// Whether the backend computes in its own memory, so that data must be moved there and back
    /// (and an end-to-end time means something).
    fn is_offload(&self) -> bool {
        false
    }
    /// Whether the stream kernels' store kind is the backend's to choose (the CPU's cached or
    /// non-temporal stores); a GPU's stores are its driver's.
    fn chooses_stores(&self) -> bool {
        false
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// The HexPylot engine: persistent pinned workers, barrier-separated phases.
    Engine,
    /// A rayon thread pool of the same size, pinned.
    Rayon,
    /// WGSL compute shaders through wgpu.
    Gpu,
}

/// What building a backend needs.
pub struct Setup<'a> {
    /// One CPU thread per entry.
    pub cores: &'a [CoreId],
    /// A substring of the GPU adapter's name; the preferred adapter when `None`.
    pub adapter: Option<&'a str>,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Engine => "engine",
            BackendKind::Rayon => "rayon",
            BackendKind::Gpu => "gpu",
        }
    }

    /// Builds the backend: threads spawned and pinned, or the GPU context and pipelines.
    pub fn create(self, setup: &Setup<'_>) -> Result<Box<dyn Backend>> {
        Ok(match self {
            BackendKind::Engine => Box::new(EngineBackend::new(setup.cores)?),
            BackendKind::Rayon => Box::new(RayonBackend::new(setup.cores)?),
            BackendKind::Gpu => Box::new(GpuBackend::new(setup.adapter)?),
        })
    }
}

/// A CPU backend's stream arrays (a, b, c).
struct Arrays<T> {
    abc: [SharedArray<T>; 3],
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
