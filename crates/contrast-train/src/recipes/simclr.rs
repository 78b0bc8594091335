//! SimCLR (Chen et al. 2020): every view through one network (views of one size as one
//! batch, so batch norm sees them together), then the chosen loss of [`super::pair`] over
//! the blocks; by default NT-Xent over the `2N` rows.

use contrast_autodiff::{Graph, Var};
use contrast_gpu::GpuContext;
use contrast_losses::NtXentConfig;
use contrast_losses::autodiff::nt_xent_op;
use contrast_losses::gpu::nt_xent_gpu_op;

use crate::error::Result;

/// `NT-Xent(z)` of the stacked `(2N, d)` rows at temperature `t`; on `gpu` the loss is the
/// fused streaming kernel (same value and gradient).
pub fn nt_xent(g: &mut Graph<f32>, z: Var, t: f64, gpu: Option<&GpuContext>) -> Result<Var> {
    let config = NtXentConfig::new(t);
    Ok(match gpu {
        Some(ctx) => nt_xent_gpu_op(g, ctx, z, &config)?,
        None => nt_xent_op(g, z, &config)?,
    })
}
