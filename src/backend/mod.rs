//! The backend interface every programming model implements (BabelStream's `Stream`), and the CPU
//! backends: the HexPylot engine and rayon. The harness (`crate::bench`) only sees these traits.

mod engine;
mod gpu;
mod rayon_pool;

use std::borrow::Cow;
use std::ops::Range;

use anyhow::Result;
use core_affinity::CoreId;
use cpu_kernels::mc::{self, McParams, McSums};
use cpu_kernels::stream::{Stores, dot_relative_error_bound};

use crate::engine::SharedArray;
use crate::gpu::{Space, Tuning};
use crate::model::{
    Agreement, BackendKind, Element, Family, GpuPath, Launch, Precision, Shape, StreamKernel,
};

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

/// What one end-to-end run brought back to host memory: what the kernel produced.
#[derive(Clone, Debug, PartialEq)]
pub enum Output<T> {
    /// The array the kernel writes ([`StreamKernel::writes`]), whole.
    Array(Vec<T>),
    /// The dot product.
    Dot(f64),
}

/// One end-to-end run: its time from host data to host results, and those results, which the
/// harness validates like the kernel's own.
#[derive(Clone, Debug)]
pub struct EndToEnd<T> {
    pub seconds: f64,
    pub output: Output<T>,
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
    /// Sets the arrays of `n` elements back to `init`. CPU backends do it in place, by the threads
    /// that first touched them, so the pages stay where they are: the store probe runs on the
    /// very arrays the timed repetitions then use, from BabelStream's initial values.
    fn refill(&mut self, n: usize, init: [T; 3]) -> Result<()> {
        self.init_arrays(n, init)
    }
    /// The arrays as they are now (a, b, c), for validation.
    fn read_arrays(&mut self) -> Result<[Cow<'_, [T]>; 3]>;
    /// Frees the arrays.
    fn release_arrays(&mut self);
    /// One run of `kernel` from data in host memory to results in host memory (upload of the
    /// arrays it reads, kernel, download of what it produced), timed, with those results; `None`
    /// where the data never leaves host memory.
    fn end_to_end(
        &mut self,
        _kernel: StreamKernel,
        _scalar: T,
        _host: &[Vec<T>; 3],
    ) -> Result<Option<EndToEnd<T>>> {
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
    /// Simulates `blocks` of a run of `paths` paths (all of them, or one rank's share) and
    /// appends their undiscounted payoff sums to `sums` in counter order, in pieces that merged
    /// in order give the sums of the whole range: one piece per block on the CPU backends, so
    /// that every rank's pieces merged in rank order give the very bits of one process (and,
    /// blocks summed in block order, of any thread count); on the GPU one piece per workgroup of
    /// the same share of the run's grid, so that the pieces of every rank merged in order give
    /// one GPU's bits at the same launch shape. `progress` is told the fraction of the range done
    /// so far, between batches of work (CPU backends: [`simulate_batched`]), so that a huge run
    /// shows progress within one repetition.
    fn simulate(
        &mut self,
        params: &McParams,
        paths: u64,
        blocks: Range<usize>,
        sums: &mut Vec<McSums>,
        progress: &mut dyn FnMut(f64),
    ) -> Result<Ran<()>>;
    /// The ways the backend can price (the GPU's mirror and native paths); none where there is
    /// one way, `cpu-kernels`' own.
    fn mc_paths(&self) -> &'static [GpuPath] {
        &[]
    }
    /// Prices with `path` from now on (one of [`MonteCarlo::mc_paths`]).
    fn select_mc_path(&mut self, _path: GpuPath) {}
    /// The largest relative error the current path's arithmetic gives a path's observed value
    /// against exact arithmetic on the same draws, where it is not `cpu-kernels`' own
    /// (`cpu_kernels::mc::path_rounding`): the GPU's native path.
    fn path_error(&self, _params: &McParams, _paths: u64) -> Option<f64> {
        None
    }
    /// For a backend with its own implementation of the random numbers: whether its Philox words
    /// and normals agree with `cpu_kernels`' for `seed`. `None` where the backend runs
    /// `cpu_kernels` itself; else an [`Agreement::Draws`].
    fn rng_agreement(&mut self, _seed: u64) -> Result<Option<Agreement>> {
        Ok(None)
    }
    /// Checks, before anything runs, that the backend can simulate this many paths and steps;
    /// every backend refuses parameters outside `cpu_kernels::mc::check_path_range`.
    fn check_mc(&self, params: &McParams, _paths: u64) -> Result<()> {
        check_mc_params(params)
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
    /// Sets the `n` elements back to `x` (what the launch tuner leaves behind it).
    fn roofline_refill(&mut self, n: usize, x: f32) -> Result<()> {
        self.roofline_init(n, x)
    }
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
    fn adapter(&self) -> Option<&crate::model::AdapterSummary> {
        None
    }
    /// Whether the backend computes in its own memory, so that data must be moved there and back
    /// (and an end-to-end time means something).
    fn is_offload(&self) -> bool {
        self.kind().is_offload()
    }
    /// Whether the stream kernels' store kind is the backend's to choose (the CPU's cached or
    /// non-temporal stores); a GPU's stores are its driver's.
    fn chooses_stores(&self) -> bool {
        false
    }
    /// For a backend whose kernels' launch shape is its own to choose (the GPU): the shapes
    /// `family` may launch with in `precision`, and whether to probe them (`--gpu-tune`). The
    /// harness tunes through [`Backend::set_shape`] and the family's own runs.
    fn launch_space(&self, _family: Family, _precision: Precision) -> Option<(Space, Tuning)> {
        None
    }
    /// Launches `family`'s kernels at `shape` from now on (Monte Carlo: on the current path).
    fn set_shape(&mut self, _family: Family, _shape: Shape) {}
    /// How `family`'s kernels launch now, over the arrays allocated (Monte Carlo: for `n`
    /// paths), with no probes.
    fn launch(&self, _family: Family, _n: u64) -> Option<Launch> {
        None
    }
}

/// What building a backend needs.
pub struct Setup<'a> {
    /// One CPU thread per entry.
    pub cores: &'a [CoreId],
    /// A substring of the GPU adapter's name; the preferred adapter when `None`.
    pub adapter: Option<&'a str>,
    /// This process's rank among the job's ranks on its host (0 for one process): the GPU it
    /// takes among the host's.
    pub local_rank: usize,
    /// Whether the GPU's launch shapes are probed (`--gpu-tune`).
    pub gpu_tune: Tuning,
}

impl BackendKind {
    /// Builds the backend: threads spawned and pinned, or the GPU context and pipelines.
    pub fn create(self, setup: &Setup<'_>) -> Result<Box<dyn Backend>> {
        Ok(match self {
            BackendKind::Engine => Box::new(EngineBackend::new(setup.cores)?),
            BackendKind::Rayon => Box::new(RayonBackend::new(setup.cores)?),
            BackendKind::Gpu => Box::new(GpuBackend::new(
                setup.adapter,
                setup.local_rank,
                setup.gpu_tune,
            )?),
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

/// The parameter rule every backend's `check_mc` starts from: `f32` paths that stay finite and
/// normal (`cpu_kernels::mc::check_path_range`).
pub(crate) fn check_mc_params(params: &McParams) -> Result<()> {
    cpu_kernels::mc::check_path_range(params)
        .map(|_| ())
        .map_err(|e| crate::gpu::GpuError::Limit(e).into())
}

/// Work per thread per batch, in path-steps (about 0.1 s on one core): large enough that the
/// barrier between batches costs nothing measurable, small enough for progress and an ETA.
const BATCH_PATH_STEPS: u64 = 1 << 24;

/// One CPU thread's share of a batch of Monte Carlo work. Aligned to a cache line so that the
/// engine's partition, which rounds to whole lines, gives each thread its own tasks, and no two
/// threads write one line.
#[repr(align(64))]
pub(crate) enum McTask {
    /// Block `block`, whole, into `sums`.
    Whole { block: usize, sums: McSums },
    /// About `take` more path-steps of a block too large for one batch.
    Part {
        run: Box<cpu_kernels::mc::BlockRun>,
        take: u64,
    },
}

impl McTask {
    /// Runs the task: what each CPU backend's threads call, in parallel, on their tasks.
    pub(crate) fn run(&mut self, params: &McParams, paths: u64) {
        match self {
            McTask::Whole { block, sums } => *sums = mc::simulate_block(params, paths, *block),
            McTask::Part { run, take } => run.advance_work(params, *take),
        }
    }
}

/// The one batching mechanism of the CPU backends: `blocks` of the run in batches of about
/// `BATCH_PATH_STEPS` per thread, each batch run by `par` (the backend's threads, in parallel,
/// each task once), each block's sums appended to `out` in block order (merged in that order
/// they give the bits of one pass over the blocks, for every thread count and backend), and
/// `progress` told the fraction done after each batch. Blocks of more than a batch's work (huge
/// runs: 2^63 paths make 65536 blocks of 2^47; 2^31 steps make one group of 64 paths 2^37
/// path-steps) are advanced in slices of about `BATCH_PATH_STEPS`, one block per thread,
/// through `cpu_kernels::mc::BlockRun::advance_work`. Memory stays bounded whatever `paths`: at
/// most one task per block of a batch, reused across calls in `tasks`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn simulate_batched(
    params: &McParams,
    paths: u64,
    blocks: Range<usize>,
    threads: usize,
    tasks: &mut Vec<McTask>,
    out: &mut Vec<McSums>,
    progress: &mut dyn FnMut(f64),
    mut par: impl FnMut(&mut [McTask]) -> Result<()>,
) -> Result<()> {
    let block_paths = mc::block_paths(paths);
    let span = mc::block_span(paths, &blocks);
    let total = (span.end - span.start).max(1) as f64;
    let steps = u64::from(params.steps.max(1));
    let work = total * steps as f64;
    let threads = threads.max(1);
    let mut done = 0u64;
    let mut next = blocks.start;
    let whole_per_thread = BATCH_PATH_STEPS / block_paths.saturating_mul(steps);
    while next < blocks.end {
        if whole_per_thread >= 1 {
            let count = (whole_per_thread as usize)
                .saturating_mul(threads)
                .min(blocks.end - next);
            tasks.clear();
            tasks.extend((next..next + count).map(|block| McTask::Whole {
                block,
                sums: McSums::default(),
            }));
            par(&mut tasks[..])?;
            for t in tasks.iter() {
                if let McTask::Whole { sums, .. } = t {
                    done += sums.count;
                    out.push(*sums);
                }
            }
        } else {
            let count = threads.min(blocks.end - next);
            tasks.clear();
            tasks.extend((next..next + count).map(|block| McTask::Part {
                run: Box::new(mc::BlockRun::new(paths, block)),
                take: BATCH_PATH_STEPS,
            }));
            let before = done as f64 * steps as f64;
            loop {
                par(&mut tasks[..])?;
                let (mut left, mut work_done) = (0u64, 0.0f64);
                for t in tasks.iter() {
                    if let McTask::Part { run, .. } = t {
                        left += run.remaining();
                        work_done += run.work_done(params.steps);
                    }
                }
                if left == 0 {
                    break;
                }
                progress((before + work_done) / work);
            }
            for t in tasks.iter() {
                if let McTask::Part { run, .. } = t {
                    let sums = run.finish();
                    done += sums.count;
                    out.push(sums);
                }
            }
        }
        // One task per block of the batch.
        next += tasks.len();
        progress(done as f64 / total);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpu_kernels::mc::Payoff;

    /// Batches of whole blocks, and blocks cut into slices of paths or of steps, sum to the very
    /// bits of one pass over every block in block order, for any thread count and any split of
    /// the blocks into ranks' shares; progress rises to 1.
    #[test]
    fn batches_give_the_bits_of_one_pass() {
        for (payoff, paths, steps) in [
            (Payoff::EuropeanCall, (1u64 << 24) + 77, 1u32),
            (Payoff::AsianArithmeticCall, 1 << 20, 52),
            (Payoff::AsianGeometricPut, 4099, 4097),
            (Payoff::EuropeanPut, 70, (1 << 18) + 1),
        ] {
            let p = McParams {
                steps,
                ..crate::model::reference_option(payoff, steps, 5)
            };
            let mut want = McSums::default();
            for block in 0..mc::block_count(paths) {
                want.merge(&mc::simulate_block(&p, paths, block));
            }
            let blocks = mc::block_count(paths);
            for threads in [1, 3] {
                // The whole run in one process, and in shares as ranks run it.
                for ranks in [1, 2, 3] {
                    let mut pieces = Vec::new();
                    let mut calls = 0;
                    for rank in 0..ranks {
                        let mut seen = vec![];
                        simulate_batched(
                            &p,
                            paths,
                            crate::cluster::share(blocks, rank, ranks),
                            threads,
                            &mut Vec::new(),
                            &mut pieces,
                            &mut |f| seen.push(f),
                            |tasks| {
                                calls += 1;
                                tasks.iter_mut().for_each(|t| t.run(&p, paths));
                                Ok(())
                            },
                        )
                        .unwrap();
                        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
                        assert!(seen.is_empty() || seen.last() == Some(&1.0), "{seen:?}");
                    }
                    assert_eq!(pieces.len(), blocks);
                    assert_eq!(
                        McSums::merged(&pieces),
                        want,
                        "{payoff:?} {paths} {steps} on {threads} threads, {ranks} ranks"
                    );
                    assert!(threads > 1 || calls > 1, "{payoff:?}: one batch only");
                }
            }
        }
    }
}
