//! SimCLR (Chen et al. 2020): both views through one network, NT-Xent over the `2N` rows.

use contrast_autodiff::{Graph, Var};
use contrast_gpu::GpuContext;
use contrast_losses::NtXentConfig;
use contrast_losses::autodiff::nt_xent_op;
use contrast_losses::gpu::nt_xent_gpu_op;

use super::stacked;
use crate::error::Result;

/// `NT-Xent([z1; z2])` at temperature `t`; on `gpu` the loss is the fused streaming kernel
/// (same value and gradient).
pub fn loss(g: &mut Graph<f32>, rows: &[Var], t: f32, gpu: Option<&GpuContext>) -> Result<Var> {
    let z = stacked(g, rows)?;
    let config = NtXentConfig::new(f64::from(t));
    Ok(match gpu {
        Some(ctx) => nt_xent_gpu_op(g, ctx, z, &config)?,
        None => nt_xent_op(g, z, &config)?,
    })
}
