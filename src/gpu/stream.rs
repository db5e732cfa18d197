//! The stream set on the GPU (`shaders/stream.wgsl`): one module per precision and width, one
//! pipeline per kernel and workgroup size (built when first used, then kept), arrays bound in
//! windows no larger than the device's storage-binding limit.

use std::collections::HashMap;
use std::num::NonZeroU64;

use super::launch::{self, Space};
use super::{GpuContext, GpuError, PassTime, Span, rewrite, spans_of};
use crate::model::{Element, Family, Precision, Reduction, Shape, StreamKernel};

const SOURCE: &str = include_str!("../../shaders/stream.wgsl");
const SUBGROUP_SOURCE: &str = include_str!("../../shaders/stream-subgroup.wgsl");

/// The shader text for one precision and width: the three lines stream.wgsl marks, rewritten.
fn source(precision: Precision, width: u32, subgroups: bool) -> String {
    let (vector, lanes) = match width {
        1 => ("T".to_string(), "v"),
        2 => ("vec2<T>".to_string(), "v.x + v.y"),
        _ => ("vec4<T>".to_string(), "(v.x + v.y) + (v.z + v.w)"),
    };
    let text = rewrite(
        SOURCE,
        "alias T = f32;",
        &format!("alias T = {};", precision.name()),
    );
    let text = rewrite(&text, "alias V = T;", &format!("alias V = {vector};"));
    let text = rewrite(
        &text,
        "fn lanes(v: V) -> T { return v; }",
        &format!("fn lanes(v: V) -> T {{ return {lanes}; }}"),
    );
    if subgroups {
        text + SUBGROUP_SOURCE
    } else {
        text
    }
}

/// The entry point a dispatch runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Entry {
    Kernel(StreamKernel),
    DotSubgroup,
}

impl Entry {
    fn name(self) -> &'static str {
        match self {
            Entry::Kernel(k) => k.name(),
            Entry::DotSubgroup => "dot_subgroup",
        }
    }
}

/// The stream pipelines of one context: f32 always, f64 where the adapter has SHADER_F64.
pub struct StreamGpu {
    /// a, b, c, partials: read-write storage; the window's parameters: uniform. The same for
    /// every precision and width.
    layout: wgpu::BindGroupLayout,
    modules: HashMap<(Precision, u32), wgpu::ShaderModule>,
    pipelines: HashMap<(Precision, u32, u32, Entry), wgpu::ComputePipeline>,
    /// Whether dot reduces with subgroup operations (adapters with SUBGROUP).
    subgroups: bool,
}

/// One dispatch's share of the arrays.
struct Window {
    bind_group: wgpu::BindGroup,
    params: wgpu::Buffer,
    /// Elements of the window.
    len: u64,
    /// Room for this window's dot partials at the grid of the most groups any shape launches.
    partial_base: u32,
    /// What `params` holds now: vectors and the scalar's bits.
    written: Option<(u32, u64)>,
}

/// Three device arrays of `n` elements and their windows.
pub struct GpuArrays {
    abc: [wgpu::Buffer; 3],
    partials: wgpu::Buffer,
    windows: Vec<Window>,
    n: usize,
    precision: Precision,
}

impl GpuArrays {
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
}

impl StreamGpu {
    pub fn new(ctx: &GpuContext) -> Result<Self, GpuError> {
        Ok(StreamGpu {
            layout: ctx.layout("stream", &[false; 4], true)?,
            modules: HashMap::new(),
            pipelines: HashMap::new(),
            subgroups: ctx.summary().subgroups,
        })
    }

    /// The shapes the stream kernels (`Family::Stream`) or dot (`Family::Dot`, which needs one
    /// element of workgroup memory per invocation) may launch with.
    pub fn space<T: Element>(&self, ctx: &GpuContext, family: Family) -> Space {
        let shared = if family == Family::Dot {
            size_of::<T>()
        } else {
            0
        };
        Space::new(family, ctx.limits(), shared as u32)
    }

    /// How dot reduces within a workgroup on this adapter.
    pub fn reduction(&self) -> Reduction {
        if self.subgroups {
            Reduction::Subgroup
        } else {
            Reduction::Tree
        }
    }

    fn check_precision<T: Element>(&self, ctx: &GpuContext) -> Result<(), GpuError> {
        if T::PRECISION == Precision::F64 && !ctx.has_f64() {
            return Err(GpuError::Limit(format!(
                "{} has no f64 shaders (SHADER_F64): use --precision f32",
                ctx.summary().name
            )));
        }
        Ok(())
    }

    fn pipeline(
        &mut self,
        ctx: &GpuContext,
        precision: Precision,
        shape: Shape,
        entry: Entry,
    ) -> Result<&wgpu::ComputePipeline, GpuError> {
        let key = (precision, shape.width, shape.workgroup, entry);
        if !self.pipelines.contains_key(&key) {
            let module_key = (precision, shape.width);
            if !self.modules.contains_key(&module_key) {
                let label = format!("stream.wgsl ({}, width {})", precision.name(), shape.width);
                let module = ctx.module(&label, source(precision, shape.width, self.subgroups))?;
                self.modules.insert(module_key, module);
            }
            let pipeline = ctx.pipeline(
                entry.name(),
                &self.modules[&module_key],
                entry.name(),
                &self.layout,
                shape.workgroup,
            )?;
            self.pipelines.insert(key, pipeline);
        }
        Ok(&self.pipelines[&key])
    }

    /// Checks, before anything is allocated, that three arrays of `n` elements fit one buffer each.
    pub fn check_size<T: Element>(&self, ctx: &GpuContext, n: usize) -> Result<(), GpuError> {
        self.check_precision::<T>(ctx)?;
        ctx.check_buffer_size(
            "each stream array",
            (super::padded(n) * size_of::<T>()) as u64,
        )
    }

    /// Device arrays a, b, c filled with `init`.
    pub fn alloc_filled<T: Element>(
        &self,
        ctx: &GpuContext,
        n: usize,
        init: [T; 3],
    ) -> Result<GpuArrays, GpuError> {
        self.check_size::<T>(ctx, n)?;
        let [a, b, c] = init.map(|v| ctx.upload_filled("stream array", n, v));
        self.windows::<T>(ctx, [a?, b?, c?], n)
    }

    /// Sets the arrays back to `init`, in place.
    pub fn refill<T: Element>(
        &self,
        ctx: &GpuContext,
        arrays: &GpuArrays,
        init: [T; 3],
    ) -> Result<(), GpuError> {
        for (buffer, value) in arrays.abc.iter().zip(init) {
            ctx.fill("stream array", buffer, arrays.n, value)?;
        }
        Ok(())
    }

    /// Device arrays holding copies of `host` (uploaded through mappings made at creation), for
    /// the end-to-end time; arrays the kernel does not read are left zero.
    pub fn upload<T: Element>(
        &self,
        ctx: &GpuContext,
        host: &[Vec<T>; 3],
        kernel: StreamKernel,
    ) -> Result<GpuArrays, GpuError> {
        let n = host[0].len();
        self.check_size::<T>(ctx, n)?;
        let buffer = |i: usize| {
            if kernel.reads().contains(&i) {
                ctx.upload("stream array", &host[i])
            } else {
                ctx.storage::<T>("stream array", n, false)
            }
        };
        self.windows::<T>(ctx, [buffer(0)?, buffer(1)?, buffer(2)?], n)
    }

    /// Splits the arrays into windows no larger than the storage-binding limit, each starting at
    /// an offset the device accepts, and builds one bind group per window.
    fn windows<T: Element>(
        &self,
        ctx: &GpuContext,
        abc: [wgpu::Buffer; 3],
        n: usize,
    ) -> Result<GpuArrays, GpuError> {
        let elem = size_of::<T>() as u64;
        let max_groups = ctx.limits().max_compute_workgroups_per_dimension;
        // Room for the partials of the grid with the most groups any dot shape launches.
        let most = self.space::<T>(ctx, Family::Dot).smallest();
        let mut spans = Vec::new();
        let mut partial_count = 0usize;
        for Span { start, len } in spans_of(ctx, n, size_of::<T>()) {
            spans.push((start, len, partial_count as u32));
            partial_count += launch::groups(most, len, max_groups) as usize;
        }
        let partials = ctx.storage::<T>("dot partials", partial_count, false)?;
        let windows = spans
            .into_iter()
            .map(|(start, len, partial_base)| {
                let params = ctx.uniform("stream params", &[0u8; 16])?;
                let bind_group = ctx.scoped("stream bind group", || {
                    let window = |i: usize| {
                        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: &abc[i],
                            offset: start * elem,
                            // Whole vec4s: the last window takes in the buffer's padding.
                            size: NonZeroU64::new(super::padded(len as usize) as u64 * elem),
                        })
                    };
                    let entries: Vec<_> = (0..3)
                        .map(window)
                        .chain([partials.as_entire_binding(), params.as_entire_binding()])
                        .enumerate()
                        .map(|(binding, resource)| wgpu::BindGroupEntry {
                            binding: binding as u32,
                            resource,
                        })
                        .collect();
                    ctx.device().create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some("stream window"),
                        layout: &self.layout,
                        entries: &entries,
                    })
                })?;
                Ok(Window {
                    bind_group,
                    params,
                    len,
                    partial_base,
                    written: None,
                })
            })
            .collect::<Result<_, GpuError>>()?;
        Ok(GpuArrays {
            abc,
            partials,
            windows,
            n,
            precision: T::PRECISION,
        })
    }

    /// Workgroups of the first window's dispatch at `shape`.
    pub fn first_groups(&self, ctx: &GpuContext, arrays: &GpuArrays, shape: Shape) -> u32 {
        arrays.windows.first().map_or(0, |w| {
            launch::groups(
                shape,
                w.len.div_ceil(u64::from(shape.width)),
                ctx.limits().max_compute_workgroups_per_dimension,
            )
        })
    }

    /// Runs `kernel` once over the whole arrays at `shape` (one dispatch per window, one pass).
    /// Returns the dot product for `Dot` (each window's partials summed on the host in f64, in
    /// order), 0 otherwise.
    pub fn run<T: Element>(
        &mut self,
        ctx: &GpuContext,
        arrays: &mut GpuArrays,
        kernel: StreamKernel,
        scalar: T,
        shape: Shape,
    ) -> Result<(f64, PassTime), GpuError> {
        self.check_precision::<T>(ctx)?;
        debug_assert_eq!(arrays.precision, T::PRECISION);
        let max_groups = ctx.limits().max_compute_workgroups_per_dimension;
        let mut grids = Vec::with_capacity(arrays.windows.len());
        for w in &mut arrays.windows {
            let vectors = w.len.div_ceil(u64::from(shape.width)) as u32;
            let state = (vectors, scalar.to_f64().to_bits());
            if w.written != Some(state) {
                ctx.write(&w.params, &params_bytes(vectors, w.partial_base, scalar));
                w.written = Some(state);
            }
            grids.push(launch::groups(shape, u64::from(vectors), max_groups));
        }
        let entry = match kernel {
            StreamKernel::Dot if self.subgroups => Entry::DotSubgroup,
            k => Entry::Kernel(k),
        };
        let pipeline = self.pipeline(ctx, T::PRECISION, shape, entry)?;
        let time = ctx.run_pass(kernel.name(), |pass| {
            pass.set_pipeline(pipeline);
            for (w, &groups) in arrays.windows.iter().zip(&grids) {
                pass.set_bind_group(0, &w.bind_group, &[]);
                pass.dispatch_workgroups(groups, 1, 1);
            }
        })?;
        let mut dot = 0.0;
        if kernel == StreamKernel::Dot {
            for (w, &groups) in arrays.windows.iter().zip(&grids) {
                let parts = ctx.download::<T>(
                    "dot partials",
                    &arrays.partials,
                    w.partial_base as usize,
                    groups as usize,
                )?;
                dot += parts.iter().map(|p| p.to_f64()).sum::<f64>();
            }
        }
        Ok((dot, time))
    }

    /// The three arrays, copied back through the context's staging buffer.
    pub fn read<T: Element>(
        &self,
        ctx: &GpuContext,
        arrays: &GpuArrays,
    ) -> Result<[Vec<T>; 3], GpuError> {
        let [a, b, c] = [0, 1, 2].map(|i| self.read_array::<T>(ctx, arrays, i));
        Ok([a?, b?, c?])
    }

    /// One array (0 = a, 1 = b, 2 = c), copied back through the context's staging buffer.
    pub fn read_array<T: Element>(
        &self,
        ctx: &GpuContext,
        arrays: &GpuArrays,
        index: usize,
    ) -> Result<Vec<T>, GpuError> {
        ctx.download("stream array", &arrays.abc[index], 0, arrays.n)
    }

    /// The largest relative error of the dot product over `n` elements at `shape`. Each
    /// invocation adds its grid-stride products lane by lane (at most `terms` per lane) and then
    /// its `width` lanes; the workgroup adds its invocations' sums (the tree: log2(WG) levels;
    /// subgroups: subgroupAdd in an unspecified order, at most `subgroup_max − 1` additions in a
    /// chain, then the subgroups' sums in order, at most WG / subgroup_min); the host adds the
    /// partials (at most one per 64 elements, plus one per window) in f64. All terms are
    /// positive, so the relative error is at most the longest chain of additions, plus the
    /// product's own rounding, in unit roundoffs of T, plus the partials' in f64; the bound is
    /// twice that (machine epsilons are two unit roundoffs).
    pub fn dot_bound<T: Element>(&self, ctx: &GpuContext, n: usize, shape: Shape) -> f64 {
        let limits = ctx.limits();
        let max_groups = limits.max_compute_workgroups_per_dimension;
        let spans = spans_of(ctx, n, size_of::<T>());
        let mut terms = 0u64;
        let mut partials = 0u64;
        for s in &spans {
            let vectors = s.len.div_ceil(u64::from(shape.width));
            let groups = launch::groups(shape, vectors, max_groups);
            terms = terms.max(vectors.div_ceil(u64::from(groups) * u64::from(shape.workgroup)));
            partials += u64::from(groups);
        }
        let workgroup = f64::from(shape.workgroup);
        let chain = match self.reduction() {
            Reduction::Tree => workgroup.log2(),
            Reduction::Subgroup => {
                let a = ctx.summary();
                f64::from(a.subgroup_max_size.max(1)) - 1.0
                    + (workgroup / f64::from(a.subgroup_min_size.max(1))).ceil()
            }
        };
        let chain = terms as f64 + f64::from(shape.width) - 1.0 + chain + 1.0;
        chain * T::EPSILON + (partials + spans.len() as u64) as f64 * f64::EPSILON
    }
}

/// The window's `Params` as WGSL lays them out: n and partial_base as u32, then the scalar at
/// offset 8 in the shader's precision (an f32 scalar leaves the last 4 bytes unused).
fn params_bytes<T: Element>(n: u32, partial_base: u32, scalar: T) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    bytes[0..4].copy_from_slice(&n.to_le_bytes());
    bytes[4..8].copy_from_slice(&partial_base.to_le_bytes());
    bytes[8..8 + size_of::<T>()].copy_from_slice(bytemuck::bytes_of(&scalar));
    bytes
}
