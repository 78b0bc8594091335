//! Compiling WGSL into compute pipelines and dispatching them. Every kernel uses one
//! bind group: a uniform block of dimensions at binding 0, then storage buffers.

use wgpu::util::DeviceExt;

use crate::context::GpuContext;
use crate::error::{Error, Result};

/// How a kernel sees one of its storage buffers.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Access {
    /// `var<storage, read>`.
    Read,
    /// `var<storage, read_write>`.
    Write,
}

/// A compiled compute pipeline with its explicit bind-group layout.
pub(crate) struct Kernel {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

/// What to compile: WGSL source parts (concatenated, so that shared fragments such as
/// the tile product need no include mechanism), entry point, storage bindings in
/// order after the uniform, and pipeline-overridable constants.
pub(crate) struct KernelSpec<'a> {
    pub label: &'a str,
    pub sources: &'a [&'a str],
    pub entry: &'a str,
    pub storage: &'a [Access],
    pub constants: &'a [(&'a str, f64)],
}

impl Kernel {
    /// Compiles `spec`, turning validation failures into [`Error::Pipeline`].
    pub(crate) fn build(device: &wgpu::Device, spec: &KernelSpec<'_>) -> Result<Self> {
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let source: String = spec.sources.concat();
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(spec.label),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let mut entries = vec![wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        }];
        for (i, access) in spec.storage.iter().enumerate() {
            entries.push(wgpu::BindGroupLayoutEntry {
                binding: i as u32 + 1,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Storage {
                        read_only: matches!(access, Access::Read),
                    },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            });
        }
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(spec.label),
            entries: &entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(spec.label),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(spec.label),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some(spec.entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: spec.constants,
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Pipeline {
                label: spec.label.to_string(),
                reason: e.to_string(),
            });
        }
        Ok(Self { pipeline, layout })
    }
}

/// A grid that covers `groups` workgroups within the 65,535-per-dimension limit:
/// kernels recover the linear index as `wid.y * num_workgroups.x + wid.x`.
pub(crate) fn linear_grid(groups: usize) -> (u32, u32) {
    let x = groups.clamp(1, 65_535);
    (x as u32, groups.div_ceil(x) as u32)
}

impl GpuContext {
    /// Records and submits one dispatch of `kernel`. Submissions run in order on the
    /// queue, so kernels chain through resident buffers with no host round trip.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when the grid exceeds the device's workgroups per dimension.
    pub(crate) fn dispatch(
        &self,
        kernel: &Kernel,
        uniform: &[u8],
        buffers: &[&wgpu::Buffer],
        grid: (u32, u32),
    ) -> Result<()> {
        let max = self.device.limits().max_compute_workgroups_per_dimension;
        if grid.0.max(grid.1) > max {
            return Err(Error::Unsupported {
                what: "max_compute_workgroups_per_dimension",
                needed: grid.0.max(grid.1).into(),
                available: max.into(),
            });
        }
        let params = self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("dims"),
                contents: uniform,
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: params.as_entire_binding(),
        }];
        for (i, b) in buffers.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: b.as_entire_binding(),
            });
        }
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &kernel.layout,
            entries: &entries,
        });
        let mut encoder = self.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&kernel.pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(grid.0, grid.1, 1);
        }
        self.queue.submit([encoder.finish()]);
        Ok(())
    }
}
