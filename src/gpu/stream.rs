//! The stream set on the GPU (`shaders/stream.wgsl`): pipelines built once per precision, arrays
//! bound in windows no larger than the device's storage-binding limit.

use std::num::NonZeroU64;

use super::{GpuContext, GpuError, PassTime, Span, spans_of};
use crate::kernels::{Element, StreamKernel};

const SOURCE: &str = include_str!("../../shaders/stream.wgsl");

/// One precision's pipelines, one per kernel, in `StreamKernel::ALL` order.
struct Pipelines {
    layout: wgpu::BindGroupLayout,
    kernels: Vec<wgpu::ComputePipeline>,
}

impl Pipelines {
    fn new(ctx: &GpuContext, precision: &str) -> Result<Self, GpuError> {
        let source = SOURCE.replacen("alias T = f32;", &format!("alias T = {precision};"), 1);
        let label = format!("stream.wgsl ({precision})");
        let module = ctx.scoped(&label, || {
            ctx.device()
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(&label),
                    source: wgpu::ShaderSource::Wgsl(source.into()),
                })
        })?;
        // a, b, c, partials: read-write storage; the window's parameters: uniform.
        let layout = ctx.layout(&label, &[false; 4], true)?;
        let kernels = StreamKernel::ALL
            .iter()
            .map(|k| ctx.pipeline(k.name(), &module, k.name(), &layout))
            .collect::<Result<_, _>>()?;
        Ok(Pipelines { layout, kernels })
    }
}

/// The stream pipelines of one context: f32 always, f64 where the adapter has SHADER_F64.
pub struct StreamGpu {
    f32: Pipelines,
    f64: Option<Pipelines>,
}

/// One dispatch's share of the arrays.
struct Window {
    bind_group: wgpu::BindGroup,
    params: wgpu::Buffer,
    n: u32,
    groups: u32,
    partial_base: u32,
}

/// Three device arrays of `n` elements and their windows.
pub struct GpuArrays {
    abc: [wgpu::Buffer; 3],
    partials: wgpu::Buffer,
    partial_count: usize,
    windows: Vec<Window>,
    n: usize,
    /// The scalar the windows' parameters hold, as bits of an f64.
    scalar: u64,
}

impl StreamGpu {
    pub fn new(ctx: &GpuContext) -> Result<Self, GpuError> {
        Ok(StreamGpu {
            f32: Pipelines::new(ctx, "f32")?,
            f64: ctx
                .has_f64()
                .then(|| Pipelines::new(ctx, "f64"))
                .transpose()?,
        })
    }

    fn pipelines<T: Element>(&self, ctx: &GpuContext) -> Result<&Pipelines, GpuError> {
        match T::NAME {
            "f32" => Ok(&self.f32),
            _ => self.f64.as_ref().ok_or_else(|| {
                GpuError::Limit(format!(
                    "{} has no f64 shaders (SHADER_F64): use --precision f32",
                    ctx.summary().name
                ))
            }),
        }
    }

    /// Checks, before anything is allocated, that three arrays of `n` elements fit one buffer each.
    pub fn check_size<T: Element>(&self, ctx: &GpuContext, n: usize) -> Result<(), GpuError> {
        self.pipelines::<T>(ctx)?;
        ctx.check_buffer_size("each stream array", (n * size_of::<T>()) as u64)
    }

    /// Device arrays a, b, c filled with `init` through mappings made at creation.
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

    /// Device arrays holding copies of `host` (uploaded through mappings made at creation), for
    /// the end-to-end time; arrays the kernel does not read are left uninitialised.
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
                ctx.scoped("stream array", || {
                    ctx.device().create_buffer(&wgpu::BufferDescriptor {
                        label: Some("stream array"),
                        size: (n * size_of::<T>()) as u64,
                        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                        mapped_at_creation: false,
                    })
                })
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
        let pipelines = self.pipelines::<T>(ctx)?;
        let elem = size_of::<T>() as u64;
        let mut spans = Vec::new();
        let mut partial_count = 0usize;
        for Span { start, len, groups } in spans_of(ctx, n, size_of::<T>()) {
            spans.push((start, len, groups, partial_count as u32));
            partial_count += groups as usize;
        }
        let partials = ctx.scoped("dot partials", || {
            ctx.device().create_buffer(&wgpu::BufferDescriptor {
                label: Some("dot partials"),
                size: (partial_count as u64 * elem).next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT),
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            })
        })?;
        let windows = spans
            .into_iter()
            .map(|(start, len, groups, partial_base)| {
                let params = ctx.uniform(
                    "stream params",
                    &params_bytes(len as u32, partial_base, T::from_f64(0.0)),
                )?;
                let bind_group = ctx.scoped("stream bind group", || {
                    let window = |i: usize| {
                        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: &abc[i],
                            offset: start * elem,
                            size: NonZeroU64::new(len * elem),
                        })
                    };
                    ctx.device().create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some("stream window"),
                        layout: &pipelines.layout,
                        entries: &[
                            wgpu::BindGroupEntry {
                                binding: 0,
                                resource: window(0),
                            },
                            wgpu::BindGroupEntry {
                                binding: 1,
                                resource: window(1),
                            },
                            wgpu::BindGroupEntry {
                                binding: 2,
                                resource: window(2),
                            },
                            wgpu::BindGroupEntry {
                                binding: 3,
                                resource: partials.as_entire_binding(),
                            },
                            wgpu::BindGroupEntry {
                                binding: 4,
                                resource: params.as_entire_binding(),
                            },
                        ],
                    })
                })?;
                Ok(Window {
                    bind_group,
                    params,
                    n: len as u32,
                    groups,
                    partial_base,
                })
            })
            .collect::<Result<_, GpuError>>()?;
        Ok(GpuArrays {
            abc,
            partials,
            partial_count,
            windows,
            n,
            scalar: 0f64.to_bits(),
        })
    }

    /// Runs `kernel` once over the whole arrays (one dispatch per window, one pass). Returns the
    /// dot product for `Dot` (partials summed on the host in f64, in order), 0 otherwise.
    pub fn run<T: Element>(
        &self,
        ctx: &GpuContext,
        arrays: &mut GpuArrays,
        kernel: StreamKernel,
        scalar: T,
    ) -> Result<(f64, PassTime), GpuError> {
        let pipelines = self.pipelines::<T>(ctx)?;
        if scalar.to_f64().to_bits() != arrays.scalar {
            for w in &arrays.windows {
                ctx.write(&w.params, &params_bytes(w.n, w.partial_base, scalar));
            }
            arrays.scalar = scalar.to_f64().to_bits();
        }
        let index = StreamKernel::ALL
            .iter()
            .position(|&k| k == kernel)
            .expect("every kernel is in ALL");
        let pipeline = &pipelines.kernels[index];
        let time = ctx.run_pass(kernel.name(), |pass| {
            pass.set_pipeline(pipeline);
            for w in &arrays.windows {
                pass.set_bind_group(0, &w.bind_group, &[]);
                pass.dispatch_workgroups(w.groups, 1, 1);
            }
        })?;
        let dot = if kernel == StreamKernel::Dot {
            ctx.download::<T>("dot partials", &arrays.partials, 0, arrays.partial_count)?
                .iter()
                .map(|p| p.to_f64())
                .sum()
        } else {
            0.0
        };
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
