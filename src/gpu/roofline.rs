//! The roofline kernel on the GPU (`shaders/roofline.wgsl`): one f32 array, bound in windows like
//! the stream arrays, put through `fmas` dependent FMAs per element; one module per width, one
//! pipeline per width and workgroup size, built when first used.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::num::NonZeroU64;

use bytemuck::{Pod, Zeroable};

use super::launch::{self, Space};
use super::{GpuContext, GpuError, PassTime, spans_of};
use crate::model::{Family, Shape};

const SOURCE: &str = include_str!("../../shaders/roofline.wgsl");

/// `Params` in the shader.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, PartialEq)]
struct Params {
    n: u32,
    fmas: u32,
    alpha: f32,
    beta: f32,
}

/// The roofline pipelines of one context.
pub struct RooflineGpu {
    layout: wgpu::BindGroupLayout,
    modules: HashMap<u32, wgpu::ShaderModule>,
    pipelines: HashMap<(u32, u32), wgpu::ComputePipeline>,
}

/// One device array and its windows.
pub struct RooflineArray {
    buffer: wgpu::Buffer,
    windows: Vec<Window>,
    n: usize,
}

struct Window {
    bind_group: wgpu::BindGroup,
    params_buffer: wgpu::Buffer,
    /// What `params_buffer` holds now.
    params: Option<Params>,
    len: u64,
}

impl RooflineArray {
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
}

impl RooflineGpu {
    pub fn new(ctx: &GpuContext) -> Result<Self, GpuError> {
        Ok(RooflineGpu {
            layout: ctx.layout("roofline", &[false], true)?,
            modules: HashMap::new(),
            pipelines: HashMap::new(),
        })
    }

    /// The shapes the roofline kernel may launch with.
    pub fn space(&self, ctx: &GpuContext) -> Space {
        Space::new(Family::Roofline, ctx.limits(), 0)
    }

    fn pipeline(
        &mut self,
        ctx: &GpuContext,
        shape: Shape,
    ) -> Result<&wgpu::ComputePipeline, GpuError> {
        let key = (shape.width, shape.workgroup);
        if !self.pipelines.contains_key(&key) {
            if let Entry::Vacant(slot) = self.modules.entry(shape.width) {
                let vector = match shape.width {
                    1 => "f32".to_string(),
                    w => format!("vec{w}<f32>"),
                };
                let source =
                    super::rewrite(SOURCE, "alias V = f32;", &format!("alias V = {vector};"));
                slot.insert(ctx.module(&format!("roofline.wgsl (width {})", shape.width), source)?);
            }
            let pipeline = ctx.pipeline(
                "roofline",
                &self.modules[&shape.width],
                "roofline",
                &self.layout,
                shape.workgroup,
            )?;
            self.pipelines.insert(key, pipeline);
        }
        Ok(&self.pipelines[&key])
    }

    /// A device array of `n` copies of `x0`.
    pub fn alloc(&self, ctx: &GpuContext, n: usize, x0: f32) -> Result<RooflineArray, GpuError> {
        let buffer = ctx.upload_filled("roofline array", n, x0)?;
        let windows = spans_of(ctx, n, size_of::<f32>())
            .into_iter()
            .map(|span| {
                let params_buffer = ctx.uniform("roofline params", &Params::zeroed())?;
                let bind_group = ctx.scoped("roofline window", || {
                    ctx.device().create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some("roofline window"),
                        layout: &self.layout,
                        entries: &[
                            wgpu::BindGroupEntry {
                                binding: 0,
                                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                    buffer: &buffer,
                                    offset: span.start * 4,
                                    size: NonZeroU64::new(
                                        super::padded(span.len as usize) as u64 * 4,
                                    ),
                                }),
                            },
                            wgpu::BindGroupEntry {
                                binding: 1,
                                resource: params_buffer.as_entire_binding(),
                            },
                        ],
                    })
                })?;
                Ok(Window {
                    bind_group,
                    params_buffer,
                    params: None,
                    len: span.len,
                })
            })
            .collect::<Result<_, GpuError>>()?;
        Ok(RooflineArray { buffer, windows, n })
    }

    /// Sets every element back to `x`, in place.
    pub fn refill(&self, ctx: &GpuContext, array: &RooflineArray, x: f32) -> Result<(), GpuError> {
        ctx.fill("roofline array", &array.buffer, array.n, x)
    }

    /// Workgroups of the first window's dispatch at `shape`.
    pub fn first_groups(&self, ctx: &GpuContext, array: &RooflineArray, shape: Shape) -> u32 {
        array.windows.first().map_or(0, |w| {
            launch::groups(
                shape,
                w.len.div_ceil(u64::from(shape.width)),
                ctx.limits().max_compute_workgroups_per_dimension,
            )
        })
    }

    /// `fmas` times `x = fma(x, alpha, beta)` on every element at `shape`, one pass over all
    /// windows.
    pub fn run(
        &mut self,
        ctx: &GpuContext,
        array: &mut RooflineArray,
        fmas: u32,
        (alpha, beta): (f32, f32),
        shape: Shape,
    ) -> Result<PassTime, GpuError> {
        let max_groups = ctx.limits().max_compute_workgroups_per_dimension;
        let mut grids = Vec::with_capacity(array.windows.len());
        for w in &mut array.windows {
            let params = Params {
                n: w.len.div_ceil(u64::from(shape.width)) as u32,
                fmas,
                alpha,
                beta,
            };
            if w.params != Some(params) {
                ctx.write(&w.params_buffer, bytemuck::bytes_of(&params));
                w.params = Some(params);
            }
            grids.push(launch::groups(shape, u64::from(params.n), max_groups));
        }
        let pipeline = self.pipeline(ctx, shape)?;
        ctx.run_pass("roofline", |pass| {
            pass.set_pipeline(pipeline);
            for (w, &groups) in array.windows.iter().zip(&grids) {
                pass.set_bind_group(0, &w.bind_group, &[]);
                pass.dispatch_workgroups(groups, 1, 1);
            }
        })
    }

    /// The array, copied back through the context's staging buffer.
    pub fn read(&self, ctx: &GpuContext, array: &RooflineArray) -> Result<Vec<f32>, GpuError> {
        ctx.download("roofline array", &array.buffer, 0, array.n)
    }
}
