//! The stream set and Monte Carlo on the GPU, through one wgpu context built once.

use std::borrow::Cow;
use std::time::Instant;

use anyhow::Result;
use cpu_kernels::mc::{McParams, McSums, normal_at};
use cpu_kernels::philox::philox4x32_10;
use cpu_kernels::stream::Stores;

use super::{
    Backend, BackendKind, EndToEnd, MonteCarlo, Output, Ran, RngAgreement, Roofline, Stream,
    no_arrays,
};
use crate::gpu::{
    GpuArrays, GpuContext, GpuError, McGpu, NORMAL_ULPS, RooflineArray, RooflineGpu, StreamGpu,
    WORKGROUP, ulp_distance,
};
use crate::kernels::{Element, StreamKernel};

pub struct GpuBackend {
    ctx: GpuContext,
    stream: StreamGpu,
    mc: McGpu,
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

impl GpuBackend {
    /// Builds the context (adapter `wanted`, or the preferred one) and every pipeline, once.
    pub fn new(wanted: Option<&str>) -> Result<Self, GpuError> {
        let ctx = GpuContext::new(wanted)?;
        let stream = StreamGpu::new(&ctx)?;
        let mc = McGpu::new(&ctx)?;
        let roofline_gpu = RooflineGpu::new(&ctx)?;
        Ok(GpuBackend {
            ctx,
            stream,
            mc,
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
        let (dot, time) = self.stream.run(&self.ctx, arrays, kernel, scalar)?;
        Ok(Ran {
            value: dot,
            kernel_s: Some(time.best_estimate()),
        })
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
        let (dot, _) = self.stream.run(&self.ctx, &mut arrays, kernel, scalar)?;
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

    /// Each invocation adds its grid-stride elements in order (at most ⌈n / (groups·256)⌉ terms),
    /// the workgroup adds 256 partials as a binary tree (8 levels), and the host adds the
    /// partials (at most one per 256 elements, plus one per window) in f64. All terms are
    /// positive, so the relative error is at most (terms + 8 + 1) unit roundoffs of T, counting
    /// the product's own rounding, plus (partials) unit roundoffs of f64; the bound is twice that
    /// (machine epsilons are two unit roundoffs).
    fn dot_bound(&self, n: usize) -> f64 {
        let limits = self.ctx.limits();
        let invocations =
            u64::from(limits.max_compute_workgroups_per_dimension) * u64::from(WORKGROUP);
        let terms = (n as u64).div_ceil(invocations.max(1)) as f64;
        let windows =
            ((n * size_of::<T>()) as u64).div_ceil(limits.max_storage_buffer_binding_size.max(1));
        let partials = (n as u64).div_ceil(u64::from(WORKGROUP)) + windows;
        (terms + 8.0 + 1.0) * T::EPSILON + partials as f64 * f64::EPSILON
    }
}

impl MonteCarlo for GpuBackend {
    /// One dispatch: no progress within it.
    fn simulate(
        &mut self,
        params: &McParams,
        paths: u64,
        _progress: &mut dyn FnMut(f64),
    ) -> Result<Ran<McSums>> {
        let (sums, time) = self.mc.simulate(&self.ctx, params, paths)?;
        Ok(Ran {
            value: sums,
            kernel_s: Some(time.best_estimate()),
        })
    }

    fn check_mc(&self, params: &McParams, paths: u64) -> Result<()> {
        super::check_mc_params(params)?;
        Ok(self.mc.check(params, paths)?)
    }

    fn rng_agreement(&mut self, seed: u64) -> Result<Option<RngAgreement>> {
        Ok(Some(rng_agreement(&self.ctx, &self.mc, seed)?))
    }
}

/// Draws the GPU's Philox words and normals for the first paths of `seed` and compares them with
/// `cpu_kernels`': the words must be equal; the normals within [`NORMAL_ULPS`].
fn rng_agreement(ctx: &GpuContext, mc: &McGpu, seed: u64) -> Result<RngAgreement, GpuError> {
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
    let agrees = words_equal == counters.len() && worst <= NORMAL_ULPS;
    Ok(RngAgreement {
        agrees,
        detail: format!(
            "{words_equal}/{} Philox words equal; normals: {identical}/{} bit-identical, worst {worst} ulp (bound {NORMAL_ULPS})",
            counters.len(),
            normals.len()
        ),
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
        let time = self.roofline_gpu.run(&self.ctx, x, fmas, alpha, beta)?;
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

    fn adapter(&self) -> Option<&crate::gpu::AdapterSummary> {
        Some(self.ctx.summary())
    }

    fn is_offload(&self) -> bool {
        true
    }
}
