//! Where the matrix products run: `--device cpu`, `gpu` (an error when no adapter exists)
//! or `auto` (a hardware GPU when one exists, else the CPU, and the log says which).
//!
//! The GPU plugs into the autodiff graph as its matmul backend (the WGSL tiled matmul of
//! `contrast-gpu`); products too small to pay for the transfer stay on the CPU kernel.

use std::sync::Arc;

use contrast_autodiff::MatmulBackend;
use contrast_gpu::GpuContext;
use contrast_nn::gpu::GpuMatmul;

use crate::config::Device;
use crate::error::Result;

/// A matmul backend for the graph; `None` is the built-in CPU kernel.
pub type Backend = Option<Arc<dyn MatmulBackend<f32>>>;

/// The matmul backend for `device` and a line saying what was chosen.
pub fn matmul_backend(device: Device) -> Result<(Backend, String)> {
    match device {
        Device::Cpu => Ok((None, "device: cpu".into())),
        Device::Gpu => {
            let ctx = GpuContext::new()?;
            let line = describe(&ctx);
            Ok((Some(Arc::new(GpuMatmul::new(Arc::new(ctx)))), line))
        }
        Device::Auto => match GpuContext::new() {
            // A software adapter (lavapipe) is far slower than the CPU kernels.
            Ok(ctx) if ctx.adapter().is_software() => Ok((
                None,
                format!(
                    "device: cpu (auto: only a software adapter, {})",
                    ctx.adapter().name
                ),
            )),
            Ok(ctx) => {
                let line = describe(&ctx);
                Ok((Some(Arc::new(GpuMatmul::new(Arc::new(ctx)))), line))
            }
            Err(e) => Ok((None, format!("device: cpu (auto: no usable GPU: {e})"))),
        },
    }
}

fn describe(ctx: &GpuContext) -> String {
    let a = ctx.adapter();
    format!(
        "device: gpu ({}, {:?}, {:?})",
        a.name, a.backend, a.device_type
    )
}
