//! Where the heavy linear algebra runs: `--device cpu`, `gpu` (an error when no adapter
//! exists) or `auto` (a hardware GPU when one exists, else the CPU, and the log says which).
//!
//! On the GPU, the autodiff graph's matrix products go through the WGSL tiled matmul of
//! `contrast-gpu` (products too small to pay for the transfer stay on the CPU kernel), and
//! SimCLR's NT-Xent runs as the fused streaming kernel.

use std::sync::Arc;

use contrast_autodiff::MatmulBackend;
use contrast_gpu::GpuContext;
use contrast_nn::gpu_matmul::GpuMatmul;

use crate::config::Device;
use crate::error::Result;

/// The device a run uses.
#[derive(Clone)]
pub struct Placement {
    /// The GPU, when one is used.
    pub gpu: Option<Arc<GpuContext>>,
    /// What was chosen, in words, for the log.
    pub description: String,
}

impl Placement {
    /// Resolves `device`: opens the GPU for `gpu` (error without one) and for `auto` when
    /// a hardware adapter exists.
    pub fn new(device: Device) -> Result<Self> {
        let cpu = |why: String| Self {
            gpu: None,
            description: format!("device: cpu{why}"),
        };
        let gpu = |ctx: GpuContext| {
            let a = ctx.adapter();
            let description = format!(
                "device: gpu ({}, {:?}, {:?})",
                a.name, a.backend, a.device_type
            );
            Self {
                gpu: Some(Arc::new(ctx)),
                description,
            }
        };
        Ok(match device {
            Device::Cpu => cpu(String::new()),
            Device::Gpu => gpu(GpuContext::new()?),
            Device::Auto => match GpuContext::new() {
                // A software adapter (lavapipe) is far slower than the CPU kernels.
                Ok(ctx) if ctx.adapter().is_software() => cpu(format!(
                    " (auto: only a software adapter, {})",
                    ctx.adapter().name
                )),
                Ok(ctx) => gpu(ctx),
                Err(e) => cpu(format!(" (auto: no usable GPU: {e})")),
            },
        })
    }

    /// The graph's matmul backend: the GPU's, or `None` for the built-in CPU kernel.
    pub fn matmul_backend(&self) -> Option<Arc<dyn MatmulBackend<f32>>> {
        self.gpu
            .as_ref()
            .map(|ctx| Arc::new(GpuMatmul::new(ctx.clone())) as Arc<dyn MatmulBackend<f32>>)
    }
}
