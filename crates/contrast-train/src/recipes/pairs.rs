//! Pairs (CLIP's symmetric InfoNCE, Radford et al. 2021): the two sides of each pair (a
//! sentence and its translation, or two token views of one sentence) through one shared
//! network, each side retrieving its partner among the batch's other partners:
//!
//! ```text
//! L = (InfoNCE(z_l -> z_r) + InfoNCE(z_r -> z_l)) / 2
//! InfoNCE(q -> k) = (1 / N) sum_i [ lse_j(qn_i . kn_j / T) - qn_i . kn_i / T ]
//! ```
//!
//! Both terms are the losses crate's InfoNCE with in-batch negatives and no queue. With a
//! learnable temperature the logits are scaled by `exp(t)` for the model's `logit_scale`
//! parameter `t` (`T = exp(-t)`), and after every optimizer step `t` is clamped to
//! `[0, ln 100]`, as CLIP clamps it (`0.01 <= T <= 1`).

use contrast_autodiff::{Graph, Var};
use contrast_losses::InfoNceConfig;
use contrast_losses::autodiff::{
    CLIP_MAX_LOGIT_SCALE, clamp_log_scale, info_nce_log_scale_op, info_nce_op,
};

use crate::error::{Error, Result};

/// `(InfoNCE(l -> r) + InfoNCE(r -> l)) / 2` over `rows = [z_l, z_r]`, at temperature `t`
/// or, with `log_scale`, at `exp(-log_scale)`.
pub fn loss(g: &mut Graph<f32>, rows: &[Var], t: f32, log_scale: Option<Var>) -> Result<Var> {
    let [left, right] = rows else {
        return Err(Error::Config(format!(
            "the pairs recipe needs two blocks (left, right), got {}",
            rows.len()
        )));
    };
    let config = InfoNceConfig::new(f64::from(t)).in_batch(true);
    let mut direction = |q: Var, k: Var| -> Result<Var> {
        Ok(match log_scale {
            Some(s) => info_nce_log_scale_op(g, q, k, None, s, &config)?,
            None => info_nce_op(g, q, k, None, &config)?,
        })
    };
    let forward = direction(*left, *right)?;
    let backward = direction(*right, *left)?;
    let sum = g.add(forward, backward)?;
    Ok(g.mul_scalar(sum, 0.5)?)
}

/// CLIP's clamp of the log-scale parameter, applied to its value after a step.
pub fn clamp(g: &mut Graph<f32>, log_scale: Var) {
    g.value_mut(log_scale)
        .mapv_inplace(|t| clamp_log_scale(t, CLIP_MAX_LOGIT_SCALE));
}

/// The temperature the log-scale parameter stands for, `exp(-t)`.
pub fn temperature(g: &Graph<f32>, log_scale: Var) -> f32 {
    (-g.value(log_scale).iter().next().copied().unwrap_or(0.0)).exp()
}
