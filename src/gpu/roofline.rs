//! The roofline kernel on the GPU (`shaders/roofline.wgsl`): one f32 array, bound in windows like
//! the stream arrays, put through `fmas` dependent FMAs per element.

use std::num::NonZeroU64;

use bytemuck::{Pod, Zeroable};

use super::{GpuContext, GpuError, PassTime, spans_of};

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

/// The roofline pipeline, built once per context.
pub struct RooflineGpu {
    layout: wgpu::BindGroupLayout,
    pipeline: wgpu::ComputePipeline,
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
    params: Params,
    groups: u32,
}

impl RooflineGpu {
    pub fn new(ctx: &GpuContext) -> Result<Self, GpuError> {
        let module = ctx.scoped("roofline.wgsl", || {
            ctx.device()
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some("roofline.wgsl"),
                    source: wgpu::ShaderSource::Wgsl(SOURCE.into()),
                })
        })?;
        let layout = ctx.layout("roofline", &[false], true)?;
        let pipeline = ctx.pipeline("roofline", &module, "roofline", &layout)?;
        Ok(RooflineGpu { layout, pipeline })
    }

    /// A device array of `n` copies of `x0`, filled through a mapping made at creation.
    pub fn alloc(&self, ctx: &GpuContext, n: usize, x0: f32) -> Result<RooflineArray, GpuError> {
        let buffer = ctx.upload_filled("roofline array", n, x0)?;
        let windows = spans_of(ctx, n, size_of::<f32>())
            .into_iter()
            .map(|span| {
                let params = Params {
                    n: span.len as u32,
                    fmas: 0,
                    alpha: 0.0,
                    beta: 0.0,
                };
                let params_buffer = ctx.uniform("roofline params", &params)?;
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
                                    size: NonZeroU64::new(span.len * 4),
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
                    params,
                    groups: span.groups,
                })
            })
            .collect::<Result<_, GpuError>>()?;
        Ok(RooflineArray { buffer, windows, n })
    }

    /// `fmas` times `x = fma(x, alpha, beta)` on every element, one pass over all windows.
    pub fn run(
        &self,
        ctx: &GpuContext,
        array: &mut RooflineArray,
        fmas: u32,
        alpha: f32,
        beta: f32,
    ) -> Result<PassTime, GpuError> {
        for w in &mut array.windows {
            let params = Params {
                fmas,
                alpha,
                beta,
                ..w.params
            };
            if params != w.params {
                ctx.write(&w.params_buffer, bytemuck::bytes_of(&params));
                w.params = params;
            }
        }
        ctx.run_pass("roofline", |pass| {
            pass.set_pipeline(&self.pipeline);
            for w in &array.windows {
                pass.set_bind_group(0, &w.bind_group, &[]);
                pass.dispatch_workgroups(w.groups, 1, 1);
            }
        })
    }

    /// The array, copied back through a MAP_READ staging buffer.
    pub fn read(&self, ctx: &GpuContext, array: &RooflineArray) -> Result<Vec<f32>, GpuError> {
        ctx.download("roofline array", &array.buffer, 0, array.n)
    }
}
