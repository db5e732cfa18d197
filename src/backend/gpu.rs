//! The stream set and Monte Carlo on the GPU, through one wgpu context built once.

use std::borrow::Cow;
use std::ops::Range;
use std::time::Instant;

use anyhow::Result;
use cpu_kernels::mc::{McParams, McSums, normal_at};
use cpu_kernels::philox::philox4x32_10;
use cpu_kernels::stream::Stores;

use super::{Backend, EndToEnd, MonteCarlo, Output, Ran, Roofline, Stream, no_arrays};
use crate::gpu::{
    GpuArrays, GpuContext, GpuError, McGpu, Multiply, NORMAL_ULPS, RooflineArray, RooflineGpu,
    Space, StreamGpu, Tuning, native_path_error, ulp_distance,
};
use crate::model::{
    Agreement, BackendKind, Element, Family, GpuPath, Launch, Precision, Shape, StreamKernel,
};

pub struct GpuBackend {
    ctx: GpuContext,
    tuning: Tuning,
    stream: StreamGpu,
    /// The Monte Carlo kernels of each path, in `GpuPath::ALL` order.
    mc: [McGpu; 2],
    /// The path `simulate` prices with.
    path: GpuPath,
    /// Each family's launch shape (Monte Carlo: per path), the defaults until the harness tunes.
    shapes: Shapes,
    roofline_gpu: RooflineGpu,
    roofline: Option<RooflineArray>,
    /// The roofline array last read back.
    roofline_read: Vec<f32>,
    arrays: Option<GpuArrays>,
    /// The last arrays read back, so that `read_arrays` can lend them.
    read: Option<ReadBack>,
}

enum ReadBack {
    F32([Vec<f32>; 3]),
    F64([Vec<f64>; 3]),
}

/// Picks the `ReadBack` variant of an element type.
trait GpuElement: Element {
    fn wrap(arrays: [Vec<Self>; 3]) -> ReadBack;
    fn unwrap(read: &ReadBack) -> Option<&[Vec<Self>; 3]>;
}

impl GpuElement for f32 {
    fn wrap(arrays: [Vec<f32>; 3]) -> ReadBack {
        ReadBack::F32(arrays)
    }
    fn unwrap(read: &ReadBack) -> Option<&[Vec<f32>; 3]> {
        match read {
            ReadBack::F32(a) => Some(a),
            ReadBack::F64(_) => None,
        }
    }
}

impl GpuElement for f64 {
    fn wrap(arrays: [Vec<f64>; 3]) -> ReadBack {
        ReadBack::F64(arrays)
    }
    fn unwrap(read: &ReadBack) -> Option<&[Vec<f64>; 3]> {
        match read {
            ReadBack::F64(a) => Some(a),
            ReadBack::F32(_) => None,
        }
    }
}

/// The launch shape of each family.
#[derive(Clone, Copy, Debug)]
struct Shapes {
    stream: Shape,
    dot: Shape,
    mc: [Shape; 2],
    roofline: Shape,
}

impl GpuBackend {
    /// Builds the context (adapter `wanted`, or the preferred one) and the modules, once;
    /// `tuning` says whether the harness probes launch shapes; `local_rank` picks an MPI
    /// rank's GPU among its host's.
    pub fn new(wanted: Option<&str>, local_rank: usize, tuning: Tuning) -> Result<Self, GpuError> {
        let ctx = GpuContext::new(wanted, local_rank)?;
        let stream = StreamGpu::new(&ctx)?;
        let mc = [
            McGpu::new(&ctx, GpuPath::Mirror, Multiply::Halves)?,
            McGpu::new(&ctx, GpuPath::Native, Multiply::native(&ctx))?,
        ];
        let roofline_gpu = RooflineGpu::new(&ctx)?;
        let shapes = Shapes {
            stream: stream.space::<f32>(&ctx, Family::Stream).default_shape(),
            dot: stream.space::<f64>(&ctx, Family::Dot).default_shape(),
            mc: [0, 1].map(|i| mc[i].space(&ctx).default_shape()),
            roofline: roofline_gpu.space(&ctx).default_shape(),
        };
        Ok(GpuBackend {
            ctx,
            tuning,
            stream,
            mc,
            path: GpuPath::Mirror,
            shapes,
            roofline_gpu,
            roofline: None,
            roofline_read: Vec::new(),
            arrays: None,
            read: None,
        })
    }
}

impl<T: GpuElement> Stream<T> for GpuBackend {
    fn init_arrays(&mut self, n: usize, init: [T; 3]) -> Result<()> {
        self.arrays = None;
        self.read = None;
        self.arrays = Some(self.stream.alloc_filled(&self.ctx, n, init)?);
        Ok(())
    }

    fn run(&mut self, kernel: StreamKernel, scalar: T, _stores: Stores) -> Result<Ran<f64>> {
        let arrays = self.arrays.as_mut().ok_or_else(no_arrays)?;
        let shape = self.shapes.of(kernel);
        let (dot, time) = self.stream.run(&self.ctx, arrays, kernel, scalar, shape)?;
        Ok(Ran {
            value: dot,
            kernel_s: Some(time.best_estimate()),
        })
    }

    /// In place, on the same buffers (the tuner probes on the very arrays the timed runs use).
    fn refill(&mut self, n: usize, init: [T; 3]) -> Result<()> {
        self.read = None;
        match &self.arrays {
            Some(arrays) if arrays.len() == n => Ok(self.stream.refill(&self.ctx, arrays, init)?),
            _ => self.init_arrays(n, init),
        }
    }

    fn read_arrays(&mut self) -> Result<[Cow<'_, [T]>; 3]> {
        let arrays = self.arrays.as_ref().ok_or_else(no_arrays)?;
        let read = self
            .read
            .insert(T::wrap(self.stream.read::<T>(&self.ctx, arrays)?));
        let [a, b, c] = T::unwrap(read).ok_or_else(no_arrays)?;
        Ok([Cow::Borrowed(a), Cow::Borrowed(b), Cow::Borrowed(c)])
    }

    fn release_arrays(&mut self) {
        self.arrays = None;
        self.read = None;
    }

    fn check_size(&self, n: usize) -> Result<()> {
        Ok(self.stream.check_size::<T>(&self.ctx, n)?)
    }

    fn end_to_end(
        &mut self,
        kernel: StreamKernel,
        scalar: T,
        host: &[Vec<T>; 3],
    ) -> Result<Option<EndToEnd<T>>> {
        let start = Instant::now();
        let mut arrays = self.stream.upload(&self.ctx, host, kernel)?;
        let shape = self.shapes.of(kernel);
        let (dot, _) = self
            .stream
            .run(&self.ctx, &mut arrays, kernel, scalar, shape)?;
        let output = match kernel.writes() {
            Some(i) => Output::Array(self.stream.read_array::<T>(&self.ctx, &arrays, i)?),
            // The run downloaded dot's partials and added them: that is its download.
            None => Output::Dot(dot),
        };
        let seconds = start.elapsed().as_secs_f64();
        Ok(Some(EndToEnd { seconds, output }))
    }

    /// GPU compilers may contract `b + s·c` into one fused multiply-add, which rounds once
    /// instead of twice: at most one unit roundoff per element per repetition for triad and
    /// nstream, and the classic sequence carries a's relative error forward unchanged (every
    /// array is a multiple of a), so errors add over repetitions. Twice that, for safety.
    fn element_tolerance(&self, reps: usize) -> f64 {
        2.0 * reps as f64 * T::EPSILON
    }

    /// At the dot shape in use (`StreamGpu::dot_bound`).
    fn dot_bound(&self, n: usize) -> f64 {
        self.stream.dot_bound::<T>(&self.ctx, n, self.shapes.dot)
    }
}

impl Shapes {
    /// The shape a stream kernel runs with.
    fn of(&self, kernel: StreamKernel) -> Shape {
        match kernel {
            StreamKernel::Dot => self.dot,
            _ => self.stream,
        }
    }

    /// Where `family`'s shape is kept (Monte Carlo: `path`'s).
    fn slot(&mut self, family: Family, path: GpuPath) -> &mut Shape {
        match family {
            Family::Stream => &mut self.stream,
            Family::Dot => &mut self.dot,
            Family::MonteCarlo => &mut self.mc[path as usize],
            Family::Roofline => &mut self.roofline,
        }
    }
}

impl MonteCarlo for GpuBackend {
    /// One dispatch: no progress within it. A share of the blocks is the same share of the
    /// run's grid of workgroups (one piece per workgroup), so that every rank's workgroups sum the
    /// paths they sum on one GPU running the whole grid at the same shape.
    fn simulate(
        &mut self,
        params: &McParams,
        paths: u64,
        blocks: Range<usize>,
        sums: &mut Vec<McSums>,
        _progress: &mut dyn FnMut(f64),
    ) -> Result<Ran<()>> {
        let i = self.path as usize;
        let shape = self.shapes.mc[i];
        let grid = u128::from(self.mc[i].grid(paths, shape));
        let all = cpu_kernels::mc::block_count(paths).max(1) as u128;
        let at = |block: usize| (grid * block as u128 / all) as u32;
        let (pieces, time) = self.mc[i].simulate_groups(
            &self.ctx,
            params,
            paths,
            at(blocks.start)..at(blocks.end),
            shape,
        )?;
        sums.extend(pieces);
        Ok(Ran {
            value: (),
            kernel_s: Some(time.best_estimate()),
        })
    }

    /// Every shape the tuner may pick must take the request, so that tuning cannot fail where
    /// the default would run.
    fn check_mc(&self, params: &McParams, paths: u64) -> Result<()> {
        super::check_mc_params(params)?;
        for mc in &self.mc {
            for shape in mc.space(&self.ctx).shapes() {
                mc.check(params, paths, shape)?;
            }
        }
        Ok(())
    }

    fn mc_paths(&self) -> &'static [GpuPath] {
        &GpuPath::ALL
    }

    fn select_mc_path(&mut self, path: GpuPath) {
        self.path = path;
    }

    fn path_error(&self, params: &McParams, paths: u64) -> Option<f64> {
        let max_groups = self.ctx.limits().max_compute_workgroups_per_dimension;
        match self.path {
            GpuPath::Mirror => None,
            GpuPath::Native => native_path_error(
                params,
                paths,
                self.shapes.mc[GpuPath::Native as usize],
                max_groups,
            ),
        }
    }

    fn rng_agreement(&mut self, seed: u64) -> Result<Option<Agreement>> {
        Ok(Some(rng_agreement(&self.ctx, &mut self.mc[0], seed)?))
    }
}

/// Draws the GPU's Philox words and normals for the first paths of `seed` and compares them with
/// `cpu_kernels`': the words must be equal; the normals within [`NORMAL_ULPS`].
fn rng_agreement(ctx: &GpuContext, mc: &mut McGpu, seed: u64) -> Result<Agreement, GpuError> {
    const QUADS: u32 = 4096;
    const STEPS: u32 = 4;
    // Paths 4m..4m+3 at step j use counter (m, 0, j, 0) under key (seed lo, seed hi).
    let key = [seed as u32, (seed >> 32) as u32];
    let counters: Vec<[u32; 4]> = (0..STEPS)
        .flat_map(|j| (0..QUADS).map(move |m| [m, 0, j, 0]))
        .collect();
    let gpu_words = mc.philox(ctx, key, &counters)?;
    let words_equal = counters
        .iter()
        .zip(&gpu_words)
        .filter(|(c, w)| philox4x32_10(**c, key) == **w)
        .count();

    // A ragged path count: the last group of four is partial.
    let paths = u64::from(QUADS) * 4 - 1;
    let normals = mc.normals(ctx, seed, paths, STEPS)?;
    let mut identical = 0usize;
    let mut worst = 0u64;
    for (i, &z) in normals.iter().enumerate() {
        let (path, step) = (
            i as u64 / u64::from(STEPS),
            (i as u64 % u64::from(STEPS)) as u32,
        );
        let ulps = ulp_distance(z, normal_at(seed, path, step));
        identical += usize::from(ulps == 0);
        worst = worst.max(ulps);
    }
    Ok(Agreement::Draws {
        words_equal: words_equal as u64,
        words: counters.len() as u64,
        normals_identical: identical as u64,
        normals: normals.len() as u64,
        worst_ulp: worst,
        bound_ulp: NORMAL_ULPS,
    })
}

impl Roofline for GpuBackend {
    fn roofline_init(&mut self, n: usize, x0: f32) -> Result<()> {
        self.roofline = None;
        self.ctx
            .check_buffer_size("the roofline array", (n * size_of::<f32>()) as u64)?;
        self.roofline = Some(self.roofline_gpu.alloc(&self.ctx, n, x0)?);
        Ok(())
    }

    fn roofline_run(&mut self, fmas: u32, alpha: f32, beta: f32) -> Result<Ran<()>> {
        let x = self.roofline.as_mut().ok_or_else(no_arrays)?;
        let shape = self.shapes.roofline;
        let time = self
            .roofline_gpu
            .run(&self.ctx, x, fmas, (alpha, beta), shape)?;
        Ok(Ran {
            value: (),
            kernel_s: Some(time.best_estimate()),
        })
    }

    fn roofline_read(&mut self) -> Result<Cow<'_, [f32]>> {
        let x = self.roofline.as_ref().ok_or_else(no_arrays)?;
        self.roofline_read = self.roofline_gpu.read(&self.ctx, x)?;
        Ok(Cow::Borrowed(&self.roofline_read))
    }

    fn roofline_release(&mut self) {
        self.roofline = None;
        self.roofline_read = Vec::new();
    }

    fn roofline_refill(&mut self, n: usize, x: f32) -> Result<()> {
        match &self.roofline {
            Some(array) if array.len() == n => Ok(self.roofline_gpu.refill(&self.ctx, array, x)?),
            _ => self.roofline_init(n, x),
        }
    }

    /// WGSL's `fma` may be split by the driver into a multiply and an add (lavapipe does): one
    /// extra rounding per step, at most ε relative, and |alpha| < 1 keeps earlier ones from
    /// growing (see `shaders/roofline.wgsl`).
    fn fma_tolerance(&self) -> f64 {
        f64::from(f32::EPSILON)
    }
}

impl Backend for GpuBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Gpu
    }

    fn threads(&self) -> usize {
        0
    }

    fn adapter(&self) -> Option<&crate::model::AdapterSummary> {
        Some(self.ctx.summary())
    }

    fn launch_space(&self, family: Family, precision: Precision) -> Option<(Space, Tuning)> {
        let space = match (family, precision) {
            (Family::Stream | Family::Dot, Precision::F32) => {
                self.stream.space::<f32>(&self.ctx, family)
            }
            (Family::Stream | Family::Dot, Precision::F64) => {
                self.stream.space::<f64>(&self.ctx, family)
            }
            (Family::MonteCarlo, _) => self.mc[self.path as usize].space(&self.ctx),
            (Family::Roofline, _) => self.roofline_gpu.space(&self.ctx),
        };
        Some((space, self.tuning))
    }

    fn set_shape(&mut self, family: Family, shape: Shape) {
        *self.shapes.slot(family, self.path) = shape;
    }

    /// The groups of the first window's dispatch over the arrays allocated now (Monte Carlo:
    /// the grid for `n` paths).
    fn launch(&self, family: Family, n: u64) -> Option<Launch> {
        let mut shapes = self.shapes;
        let shape = *shapes.slot(family, self.path);
        let groups = match family {
            Family::Stream | Family::Dot => self
                .arrays
                .as_ref()
                .map_or(0, |a| self.stream.first_groups(&self.ctx, a, shape)),
            Family::MonteCarlo => self.mc[self.path as usize].grid(n, shape),
            Family::Roofline => self
                .roofline
                .as_ref()
                .map_or(0, |a| self.roofline_gpu.first_groups(&self.ctx, a, shape)),
        };
        Some(Launch {
            family,
            tuned: self.tuning == Tuning::Auto,
            shape,
            groups,
            probed_on: None,
            reduction: (family == Family::Dot).then(|| self.stream.reduction()),
            probes: Vec::new(),
        })
    }
}
