//! Monte Carlo option pricing on the GPU, two ways over the same entry points
//! (`shaders/montecarlo.wgsl`):
//!
//! - the **mirror** (`shaders/mirror-math.wgsl`) follows `cpu_kernels::{philox, normal, math,
//!   mc}` operation for operation, so that for a seed the GPU draws the numbers the CPU draws
//!   and prices the same paths (bit for bit wherever the GPU's `sqrt` is correctly rounded, as
//!   lavapipe's is; WGSL allows it a few ulp);
//! - the **native** path (`shaders/native-math.wgsl`) draws from the same Philox words with
//!   WGSL's built-in `log`, `sqrt`, `cos`, `sin` and `exp`, lets the compiler contract and
//!   reassociate, and multiplies Philox's words in 64-bit integers where the adapter has
//!   SHADER_INT64 (the 16-bit halves otherwise; both exact). It prices the CPU's paths with
//!   looser rounding, bounded by [`native_path_error`].
//!
//! The sums are added differently: each invocation accumulates its paths' payoffs (and squares)
//! in `f32` with two-sum, a workgroup folds its WG `hi + lo` pairs in a fixed tree, and the host
//! adds the workgroups' pairs in `f64`, in workgroup order, so a given grid always gives the same
//! bits. No first-order rounding error survives: the sum of `k` non-negative payoffs in one
//! workgroup is off by at most about `2·(k·2^-24)²` relative (the `lo` words' own rounding).
//! That is below 10^-8 for `k ≤ 1200`, against the 1% of a standard error (10^-2·cv/√n relative,
//! 3·10^-6 for cv = 1.4 at 2^24 paths) the mirror's prices are held to, which the worst case
//! stays inside up to `k ≈ 2^13` paths per workgroup. The tuner's widest shapes give a workgroup
//! more (1024 invocations × 16 quads = 2^16 paths at 2^24 paths), where this worst case is
//! looser than the tolerance; the errors it bounds are second order and of both signs, and the
//! agreement is measured rather than assumed: every mirror row is checked against the CPU's
//! price (0.000 SE on lavapipe, tests/gpu_montecarlo.rs at every shape). Squares are rounded to
//! `f32` first (relative 2^-24 each), which moves the standard error by about as much and
//! nothing else.

use std::collections::HashMap;
use std::marker::PhantomData;

use bytemuck::{Pod, Zeroable};
use cpu_kernels::mc::{self, Average, McParams, McSums, Z_MAX};

use super::launch::{self, Space};
use super::{GpuContext, GpuError, PassTime};
use crate::model::{Family, GpuPath, Shape};

/// How Philox's 32×32→64-bit products are formed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Multiply {
    /// From four 16-bit products (any adapter).
    Halves,
    /// Through `u64` (adapters with SHADER_INT64).
    Int64,
}

impl Multiply {
    /// The native path's choice on this adapter.
    pub fn native(ctx: &GpuContext) -> Multiply {
        if ctx.summary().shader_int64 {
            Multiply::Int64
        } else {
            Multiply::Halves
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Multiply::Halves => "16-bit halves",
            Multiply::Int64 => "64-bit integers",
        }
    }
}

/// One Monte Carlo module: WGSL has no includes, so the host puts the files together.
fn source(path: GpuPath, multiply: Multiply) -> String {
    [
        match multiply {
            Multiply::Halves => include_str!("../../shaders/mul-wide-halves.wgsl"),
            Multiply::Int64 => include_str!("../../shaders/mul-wide-int64.wgsl"),
        },
        include_str!("../../shaders/philox.wgsl"),
        match path {
            GpuPath::Mirror => include_str!("../../shaders/mirror-math.wgsl"),
            GpuPath::Native => include_str!("../../shaders/native-math.wgsl"),
        },
        include_str!("../../shaders/montecarlo.wgsl"),
    ]
    .concat()
}

/// Paths that share one Philox counter per step.
const QUAD: u64 = 4;

/// `PhiloxParams` in the shader (WGSL pads it to 16 bytes, a multiple of its alignment, 8).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct PhiloxParams {
    key: [u32; 2],
    count: u32,
    _pad: u32,
}

/// `NormalParams` in the shader (24 bytes, likewise padded).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct NormalParams {
    key: [u32; 2],
    paths: u32,
    steps: u32,
    zero: u32,
    _pad: u32,
}

/// `SimParams` in the shader (72 bytes: WGSL rounds the struct up to a multiple of its 8-byte
/// alignment; `vec2<u32>` members sit on 8-byte boundaries, as here).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct SimParams {
    key: [u32; 2],
    quads: [u32; 2],
    last: [u32; 2],
    group_first: u32,
    groups_total: u32,
    live_last: u32,
    steps: u32,
    drift: f32,
    vol: f32,
    s0: f32,
    strike: f32,
    inv_steps: f32,
    average: u32,
    put: u32,
    digital: u32,
    zero: u32,
    _pad: u32,
}

const _: () = assert!(size_of::<SimParams>() == 80);

/// `Partial` in the shader: `sum` and `sum_sq` as unevaluated `hi + lo` pairs (24 bytes).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Partial {
    sum: [f32; 2],
    sum_sq: [f32; 2],
    count: u32,
    _pad: u32,
}

/// One entry point: its bind-group layout, its pipelines (one per workgroup size, built when
/// first used), and its uniform buffer of parameters `P`, created once and rewritten with
/// `queue.write_buffer` before each run. The queue orders such a write after the work submitted
/// before it, so no earlier pass sees the new values.
struct Kernel<P> {
    entry: &'static str,
    layout: wgpu::BindGroupLayout,
    pipelines: HashMap<u32, wgpu::ComputePipeline>,
    params: wgpu::Buffer,
    /// The parameters' type: each run writes the struct its shader declares.
    _params: PhantomData<P>,
}

impl<P: Pod> Kernel<P> {
    fn new(ctx: &GpuContext, entry: &'static str, read_only: &[bool]) -> Result<Self, GpuError> {
        Ok(Kernel {
            entry,
            layout: ctx.layout(entry, read_only, true)?,
            pipelines: HashMap::new(),
            params: ctx.uniform(entry, &P::zeroed())?,
            _params: PhantomData,
        })
    }

    /// A bind group of `storage` in binding order, then the parameters.
    fn bind(
        &self,
        ctx: &GpuContext,
        storage: &[&wgpu::Buffer],
    ) -> Result<wgpu::BindGroup, GpuError> {
        let entries: Vec<_> = storage
            .iter()
            .copied()
            .chain([&self.params])
            .enumerate()
            .map(|(binding, buffer)| wgpu::BindGroupEntry {
                binding: binding as u32,
                resource: buffer.as_entire_binding(),
            })
            .collect();
        ctx.scoped("bind group", || {
            ctx.device().create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &self.layout,
                entries: &entries,
            })
        })
    }

    /// Writes `params` and runs one pass of `groups` workgroups of `workgroup` invocations over
    /// `bind_group`.
    fn run(
        &mut self,
        ctx: &GpuContext,
        module: &wgpu::ShaderModule,
        params: &P,
        bind_group: &wgpu::BindGroup,
        (workgroup, groups): (u32, u32),
    ) -> Result<PassTime, GpuError> {
        if !self.pipelines.contains_key(&workgroup) {
            let pipeline = ctx.pipeline(self.entry, module, self.entry, &self.layout, workgroup)?;
            self.pipelines.insert(workgroup, pipeline);
        }
        let pipeline = &self.pipelines[&workgroup];
        ctx.write(&self.params, bytemuck::bytes_of(params));
        ctx.run_pass(self.entry, |pass| {
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, bind_group, &[]);
            pass.dispatch_workgroups(groups, 1, 1);
        })
    }
}

/// The partial-sum buffer of the largest grid so far, and the simulate kernel's bind group over
/// it (and its parameters), both kept until a larger grid needs more room. Cloning shares them.
#[derive(Clone)]
struct Partials {
    buffer: wgpu::Buffer,
    capacity: u32,
    bind_group: wgpu::BindGroup,
}

/// The Monte Carlo kernels of one path on one [`GpuContext`]: the module, pipelines and parameter
/// buffers are built once, the partial-sum buffer is kept (and grown) across [`McGpu::simulate`]
/// calls.
pub struct McGpu {
    path: GpuPath,
    multiply: Multiply,
    module: wgpu::ShaderModule,
    philox: Kernel<PhiloxParams>,
    normals: Kernel<NormalParams>,
    simulate: Kernel<SimParams>,
    /// Cap on the workgroups of one dispatch.
    max_groups: u32,
    /// Room for one `Partial` per workgroup of the largest grid so far.
    partials: Option<Partials>,
}

impl McGpu {
    /// The kernels of `path`, with Philox's products formed by `multiply` (the mirror uses the
    /// halves, the native path [`Multiply::native`]; tests build every combination).
    pub fn new(ctx: &GpuContext, path: GpuPath, multiply: Multiply) -> Result<Self, GpuError> {
        if multiply == Multiply::Int64 && !ctx.summary().shader_int64 {
            return Err(GpuError::Limit(format!(
                "{} has no 64-bit integer shaders (SHADER_INT64)",
                ctx.summary().name
            )));
        }
        let label = format!("montecarlo.wgsl ({}, {})", path.name(), multiply.name());
        Ok(McGpu {
            path,
            multiply,
            module: ctx.module(&label, source(path, multiply))?,
            philox: Kernel::new(ctx, "philox_words", &[true, false])?,
            normals: Kernel::new(ctx, "normals", &[false])?,
            simulate: Kernel::new(ctx, "simulate", &[false])?,
            max_groups: ctx.limits().max_compute_workgroups_per_dimension,
            partials: None,
        })
    }

    pub fn path(&self) -> GpuPath {
        self.path
    }

    pub fn multiply(&self) -> Multiply {
        self.multiply
    }

    /// The shapes `simulate` may launch with: one 24-byte partial of workgroup memory per
    /// invocation bounds the workgroup size.
    pub fn space(&self, ctx: &GpuContext) -> Space {
        Space::new(
            Family::MonteCarlo,
            ctx.limits(),
            size_of::<Partial>() as u32,
        )
    }

    /// Workgroups `simulate` launches for `paths` at `shape`.
    pub fn grid(&self, paths: u64, shape: Shape) -> u32 {
        launch::groups(shape, paths.div_ceil(QUAD), self.max_groups)
    }

    /// Caps every dispatch at `n` workgroups (at least 1, at most the device's limit), so that a
    /// small run takes the shaders' grid-stride loops.
    pub fn with_max_groups(mut self, n: u32) -> Self {
        self.max_groups = self.max_groups.min(n).max(1);
        self
    }

    /// Philox4x32-10 of each counter under `key`: `cpu_kernels::philox::philox4x32_10` on the
    /// GPU.
    pub fn philox(
        &mut self,
        ctx: &GpuContext,
        key: [u32; 2],
        counters: &[[u32; 4]],
    ) -> Result<Vec<[u32; 4]>, GpuError> {
        if counters.is_empty() {
            return Ok(Vec::new());
        }
        let count = u32::try_from(counters.len()).map_err(|_| {
            GpuError::Limit(format!(
                "{} Philox counters: at most 2^32 - 1 per call",
                counters.len()
            ))
        })?;
        check_binding(ctx, "the Philox counters", size_of_val(counters) as u64)?;
        let input = ctx.upload("philox counters", counters)?;
        let output = ctx.upload_filled("philox words", counters.len(), [0u32; 4])?;
        let params = PhiloxParams {
            key,
            count,
            _pad: 0,
        };
        let bind_group = self.philox.bind(ctx, &[&input, &output])?;
        let grid = launch::groups(Shape::DEFAULT, u64::from(count), self.max_groups);
        let workgroup = (Shape::DEFAULT.workgroup, grid);
        self.philox
            .run(ctx, &self.module, &params, &bind_group, workgroup)?;
        ctx.download("philox words", &output, 0, counters.len())
    }

    /// The normal draw of every path at every step, path-major (`z[path · steps + step]`):
    /// `cpu_kernels::mc::normal_at(seed, path, step)` on the GPU.
    pub fn normals(
        &mut self,
        ctx: &GpuContext,
        seed: u64,
        paths: u64,
        steps: u32,
    ) -> Result<Vec<f32>, GpuError> {
        let n = paths.saturating_mul(u64::from(steps));
        if n == 0 {
            return Ok(Vec::new());
        }
        // The shader indexes draws with u32 and leaves the counter's high word at 0.
        let count = u32::try_from(n).map_err(|_| {
            GpuError::Limit(format!(
                "{paths} paths × {steps} steps = {n} normals: the normals kernel indexes at most 2^32 - 1"
            ))
        })?;
        check_binding(ctx, "the normals", n * 4)?;
        let output = ctx.upload_filled("normals", count as usize, 0f32)?;
        let params = NormalParams {
            key: key_of(seed),
            paths: paths as u32,
            steps,
            zero: 0,
            _pad: 0,
        };
        let bind_group = self.normals.bind(ctx, &[&output])?;
        let grid = launch::groups(
            Shape::DEFAULT,
            paths.div_ceil(QUAD) * u64::from(steps),
            self.max_groups,
        );
        let workgroup = (Shape::DEFAULT.workgroup, grid);
        self.normals
            .run(ctx, &self.module, &params, &bind_group, workgroup)?;
        ctx.download("normals", &output, 0, count as usize)
    }

    /// Checks, before anything runs, that [`McGpu::simulate`] can take this request at `shape`.
    pub fn check(&self, params: &McParams, paths: u64, shape: Shape) -> Result<(), GpuError> {
        if params.steps == 0 {
            return Err(GpuError::Limit(
                "Monte Carlo needs at least one step (steps = 0)".to_string(),
            ));
        }
        let quads = paths.div_ceil(QUAD);
        let grid = self.grid(paths, shape);
        let workgroup = u64::from(shape.workgroup);
        let invocations = u64::from(grid) * workgroup;
        // A workgroup counts its paths in a u32.
        let max_per_invocation = u64::from(u32::MAX) / (QUAD * workgroup);
        if quads.div_ceil(invocations) > max_per_invocation {
            return Err(GpuError::Limit(format!(
                "{paths} paths on a grid of {grid} workgroups of {workgroup}: a workgroup counts its paths in 32 bits, so at most {} paths",
                max_per_invocation * QUAD * invocations
            )));
        }
        Ok(())
    }

    /// The undiscounted payoff sums of `paths` paths, as the CPU backends'
    /// `MonteCarlo::simulate` returns them (see the module docs for how they are added), and the
    /// time of the compute pass.
    pub fn simulate(
        &mut self,
        ctx: &GpuContext,
        params: &McParams,
        paths: u64,
        shape: Shape,
    ) -> Result<(McSums, PassTime), GpuError> {
        let grid = self.grid(paths, shape);
        let (pieces, time) = self.simulate_groups(ctx, params, paths, 0..grid, shape)?;
        Ok((cpu_kernels::mc::McSums::merged(&pieces), time))
    }

    /// The sums of workgroups `groups` of the run's grid (`grid(paths, shape)` workgroups), one
    /// per workgroup in grid order: one rank's share. Every workgroup sums exactly the paths it
    /// sums when the whole grid runs, so any split of the grid, its pieces merged in order, gives
    /// the whole run's bits. No workgroups: no pieces, and no dispatch.
    pub fn simulate_groups(
        &mut self,
        ctx: &GpuContext,
        params: &McParams,
        paths: u64,
        groups: std::ops::Range<u32>,
        shape: Shape,
    ) -> Result<(Vec<McSums>, PassTime), GpuError> {
        self.check(params, paths, shape)?;
        let total = self.grid(paths, shape);
        assert!(
            groups.start <= groups.end && groups.end <= total,
            "workgroups {groups:?} of {total}"
        );
        let dispatched = groups.end - groups.start;
        if dispatched == 0 {
            return Ok((
                Vec::new(),
                PassTime {
                    wall_s: 0.0,
                    kernel_s: None,
                },
            ));
        }
        let quads = paths.div_ceil(QUAD);
        let partials = self.partials(ctx, dispatched)?;
        let last = quads.wrapping_sub(1);
        let live_last = paths.wrapping_sub(last.wrapping_mul(QUAD)) as u32;
        let p = params;
        // Mirrors cpu_kernels::mc::PathConsts::new: f64, then rounded once to f32.
        let dt = p.maturity / f64::from(p.steps);
        let uniform = SimParams {
            key: key_of(p.seed),
            quads: [quads as u32, (quads >> 32) as u32],
            last: [last as u32, (last >> 32) as u32],
            group_first: groups.start,
            groups_total: total,
            live_last,
            steps: p.steps,
            drift: ((p.rate - 0.5 * p.sigma * p.sigma) * dt) as f32,
            vol: (p.sigma * dt.sqrt()) as f32,
            s0: p.s0 as f32,
            strike: p.strike as f32,
            inv_steps: (1.0 / f64::from(p.steps)) as f32,
            // The shader's numbering.
            average: match p.payoff.average() {
                Average::None => 0,
                Average::Arithmetic => 1,
                Average::Geometric => 2,
            },
            put: u32::from(p.payoff.is_put()),
            digital: u32::from(p.payoff.is_digital()),
            zero: 0,
            _pad: 0,
        };
        let time = self.simulate.run(
            ctx,
            &self.module,
            &uniform,
            &partials.bind_group,
            (shape.workgroup, dispatched),
        )?;
        let parts: Vec<Partial> =
            ctx.download("partials", &partials.buffer, 0, dispatched as usize)?;
        // Each hi + lo pair added in f64 first: merging the pieces in order then adds exactly
        // what one loop over the whole grid's partials adds.
        let pieces: Vec<McSums> = parts
            .iter()
            .map(|part| McSums {
                sum: f64::from(part.sum[0]) + f64::from(part.sum[1]),
                sum_sq: f64::from(part.sum_sq[0]) + f64::from(part.sum_sq[1]),
                count: u64::from(part.count),
            })
            .collect();
        let summed: u64 = pieces.iter().map(|p| p.count).sum();
        let expected = paths_of_groups(paths, total, shape.workgroup, &groups);
        if summed != expected {
            return Err(GpuError::Failed {
                what: "simulate".to_string(),
                message: format!(
                    "workgroups {groups:?} of {total} summed {summed} paths, not their {expected}"
                ),
            });
        }
        Ok((pieces, time))
    }

    /// The partials and their bind group, replaced first by larger ones where they cannot hold
    /// `grid` workgroups' sums.
    fn partials(&mut self, ctx: &GpuContext, grid: u32) -> Result<Partials, GpuError> {
        match &self.partials {
            Some(p) if p.capacity >= grid => Ok(p.clone()),
            _ => {
                let buffer = ctx.upload_filled("partials", grid as usize, Partial::zeroed())?;
                let bind_group = self.simulate.bind(ctx, &[&buffer])?;
                let partials = Partials {
                    buffer,
                    capacity: grid,
                    bind_group,
                };
                self.partials = Some(partials.clone());
                Ok(partials)
            }
        }
    }
}

/// Two per-draw error terms of the native path, absolute, in the worst case WGSL allows (the
/// spec's accuracy rules for f32 built-ins; real hardware is far more accurate):
/// `log` is within 2^-21 absolute on [0.5, 2] and 3 ulp elsewhere, so `−2·ln u1` is off by at
/// most 2^-20 on [0.5, 1] (r then moves by at most √2^-20 = 2^-10, at r → 0) and by 6u·|ln u1|
/// ≤ 6u·16.7 below (r ≥ 1.18 there, so by under 10^-5); `sqrt` is 1/inverseSqrt, 2 + 2.5 ulp
/// and the quotient's rounding (11u relative); `cos` and `sin` are within 2^-11 absolute on
/// [−π, π], plus their argument's error, π·(2u2 − 1) rounded twice and π rounded to f32
/// (under 6·10^-7); the product r·cos adds u·|z|. So |ẑ − z| ≤ 2^-10 + Z_MAX·(11u + 2^-11 +
/// 6·10^-7 + u) = 3.8·10^-3, dominated by the sine and cosine bound.
pub const NATIVE_DRAW_ERROR: f64 = {
    const U: f64 = f32::EPSILON as f64 / 2.0;
    const LN_HALF: f64 = 0.0009765625; // 2^-10
    const TRIG: f64 = 0.00048828125; // 2^-11
    LN_HALF + Z_MAX * (11.0 * U + TRIG + 6e-7 + U)
};

/// The largest relative error the native path's arithmetic gives the observed value `X` (the
/// terminal price or the average) against exact arithmetic on the same draws, for `paths`
/// paths at `shape`, or `None` outside `cpu_kernels::mc::check_path_range`:
///
/// - every draw is within [`NATIVE_DRAW_ERROR`] of the exact transform; `N` steps add
///   `vol·|ẑ − z|` each to a log-price, and the geometric average of `y` no more, so `X` moves
///   by a factor within `exp(N·vol·NATIVE_DRAW_ERROR)`;
/// - WGSL's `exp` is within `3 + 2|x|` ulp, `|x| ≤ E` ([`cpu_kernels::mc::PathRange`]);
/// - the remaining additions and products are the CPU's, in an order the compiler may change
///   (contraction only removes roundings): `cpu_kernels::mc::path_rounding`;
/// - the payoffs' `f32` sums: each invocation adds its paths' payoffs (`4·per_invocation`
///   quads' worth, more where the grid is capped) and the workgroup tree adds log2(WG) levels,
///   with no compensation the compiler must keep, so `(terms + log2 WG + 1)·u` relative of the
///   sum of nonnegative payoffs, counted here as error in `X` (payoffs grow at most as fast).
pub fn native_path_error(p: &McParams, paths: u64, shape: Shape, max_groups: u32) -> Option<f64> {
    let range = mc::check_path_range(p).ok()?;
    let u = f64::from(f32::EPSILON) / 2.0;
    let n = f64::from(p.steps);
    let vol = p.sigma * (p.maturity / n).sqrt();
    let draws = (n * vol * NATIVE_DRAW_ERROR).exp_m1();
    let exp = (3.0 + 2.0 * range.extreme) * 2.0 * u;
    let quads = paths.div_ceil(QUAD);
    let grid = launch::groups(shape, quads, max_groups);
    let per_invocation = quads.div_ceil(u64::from(grid) * u64::from(shape.workgroup));
    let sums = ((QUAD * per_invocation) as f64 + f64::from(shape.workgroup).log2() + 1.0) * u;
    Some(mc::path_rounding(p)? + draws + exp + sums)
}

/// The paths workgroups `groups` of a grid of `total` workgroups of `workgroup` invocations sum:
/// invocation i takes quads i, i + stride, … (stride = every invocation of the grid), four paths
/// a quad, the run's last quad short.
fn paths_of_groups(paths: u64, total: u32, workgroup: u32, groups: &std::ops::Range<u32>) -> u64 {
    let quads = paths.div_ceil(QUAD);
    if quads == 0 {
        return 0;
    }
    let stride = u64::from(total) * u64::from(workgroup);
    let (from, to) = (
        u64::from(groups.start) * u64::from(workgroup),
        u64::from(groups.end) * u64::from(workgroup),
    );
    // Invocations below quads % stride take one quad more than the others.
    let (each, extra) = (quads / stride, quads % stride);
    let taken = (to - from) * each + to.min(extra).saturating_sub(from);
    let last = quads - 1;
    let short = if (from..to).contains(&(last % stride)) {
        QUAD * quads - paths
    } else {
        0
    };
    taken * QUAD - short
}

/// `(seed mod 2^32, seed div 2^32)`, the Philox key of every kernel.
fn key_of(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// Refuses a storage binding of `bytes` past the device's limits.
fn check_binding(ctx: &GpuContext, what: &str, bytes: u64) -> Result<(), GpuError> {
    let max = ctx.limits().max_storage_buffer_binding_size;
    if bytes > max {
        return Err(GpuError::Limit(format!(
            "{what} need a GPU binding of {bytes} bytes, past {}'s max_storage_buffer_binding_size of {max} bytes",
            ctx.summary().name
        )));
    }
    ctx.check_buffer_size(what, bytes)
}
