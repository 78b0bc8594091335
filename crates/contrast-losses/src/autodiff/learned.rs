//! Graph nodes with learnable scalar parameters beside the embeddings: SigLIP's
//! log-scale and bias, and the log-scale (inverse temperature) of CLIP-style InfoNCE and
//! of NT-Xent.
//!
//! A scalar parameter is a node holding one value, of shape `[]` or `[1]`; its gradient
//! comes back in the same shape. The log-scale `t` is CLIP's parameterisation: the logits
//! are multiplied by `s = exp(t)`, i.e. the temperature is `T = exp(-t)`, and
//! `dL/dt = -T dL/dT`. CLIP keeps `s <= 100` by clamping the parameter after each
//! optimiser step ([`clamp_log_scale`]), not inside the loss, so the loss stays a smooth
//! function of `t` and its gradient exact.

use super::{matrix, record, stored};
use crate::error::{Error, Result};
use crate::validate::cast;
use crate::{InfoNceConfig, NegativeMask, NtXentConfig, SigLipConfig};
use contrast_autodiff::{Graph, Var};
use ndarray::{ArrayD, NdFloat};

/// CLIP's bound on the logit scale `s = exp(t)`: 100, i.e. a temperature of at least 0.01.
pub const CLIP_MAX_LOGIT_SCALE: f64 = 100.0;

/// `min(t, ln max_scale)`: the clamp CLIP applies to its log-scale parameter after every
/// optimiser step (`logit_scale.clamp_(0, math.log(100))`; the lower bound 0 keeps
/// `T <= 1`). Apply it to the parameter's value, not inside the loss.
pub fn clamp_log_scale<A: NdFloat>(t: A, max_scale: f64) -> A {
    let top = cast::<A>(max_scale.ln());
    t.max(A::zero()).min(top)
}

/// The value of a one-element node (shape `[]` or `[1]`), or a shape error naming `what`.
pub(crate) fn scalar<A: NdFloat>(g: &Graph<A>, v: Var, what: &'static str) -> Result<A> {
    let value = g.try_value(v)?;
    match value.shape() {
        [] | [1] => Ok(value.iter().copied().next().expect("one element")),
        got => Err(Error::Shape {
            what,
            expected: vec![1],
            got: got.to_vec(),
        }),
    }
}

/// A scalar gradient in the shape of the parameter node `v`.
pub(super) fn scalar_grad<A: NdFloat>(g: &Graph<A>, v: Var, grad: A) -> Result<Option<ArrayD<A>>> {
    Ok(Some(ArrayD::from_elem(g.try_value(v)?.raw_dim(), grad)))
}

/// [`crate::siglip()`] as a graph node over `x`, `y` and the scalar parameters
/// `log_scale` (`t`, the logits scaled by `exp(t)`) and `bias` (`b`).
///
/// ```
/// use contrast_autodiff::Graph;
/// use contrast_losses::{SigLipConfig, SIGLIP_INIT_BIAS, SIGLIP_INIT_LOG_SCALE};
/// use contrast_losses::autodiff::siglip_op;
/// use ndarray::{arr0, Array2};
///
/// let mut g = Graph::<f64>::new();
/// let x = g.param(Array2::from_shape_fn((3, 2), |(i, j)| (i + j) as f64 + 0.5).into_dyn());
/// let y = g.param(Array2::from_shape_fn((3, 2), |(i, j)| (i * j) as f64 + 0.3).into_dyn());
/// let t = g.param(arr0(SIGLIP_INIT_LOG_SCALE).into_dyn());
/// let b = g.param(arr0(SIGLIP_INIT_BIAS).into_dyn());
/// let loss = siglip_op(&mut g, x, y, t, b, &SigLipConfig::default())?;
/// g.backward(loss)?;
/// assert_eq!(g.grad(b).unwrap().shape(), &[] as &[usize]);
/// # Ok::<(), contrast_losses::Error>(())
/// ```
pub fn siglip_op<A: NdFloat>(
    g: &mut Graph<A>,
    x: Var,
    y: Var,
    log_scale: Var,
    bias: Var,
    config: &SigLipConfig,
) -> Result<Var> {
    let t = scalar(g, log_scale, "siglip log_scale")?;
    let b = scalar(g, bias, "siglip bias")?;
    let out = crate::siglip(
        matrix(g, x, "siglip x")?,
        matrix(g, y, "siglip y")?,
        t,
        b,
        config,
    )?;
    let grads = vec![
        stored(out.grad_x),
        stored(out.grad_y),
        scalar_grad(g, log_scale, out.grad_log_scale)?,
        scalar_grad(g, bias, out.grad_bias)?,
    ];
    record(g, "siglip", &[x, y, log_scale, bias], out.loss, grads)
}

/// The temperature `T = exp(-t)` of a log-scale node, with `t` checked finite.
pub(super) fn temperature_of<A: NdFloat>(
    g: &Graph<A>,
    log_scale: Var,
    what: &'static str,
) -> Result<f64> {
    let t = scalar(g, log_scale, what)?;
    if !t.is_finite() {
        return Err(Error::Parameter {
            name: "log_scale",
            value: t.to_f64().unwrap_or(f64::NAN),
            expected: "finite",
        });
    }
    Ok((-t.to_f64().expect("a finite float converts to f64")).exp())
}

/// [`crate::info_nce()`] with CLIP's learnable logit scale: the logits are multiplied by
/// `exp(t)` for the scalar node `log_scale` (`t`), i.e. `T = exp(-t)` replaces
/// `config.temperature`. The node's inputs are `q`, `k`, the negatives if any, and `t`
/// (`dL/dt = -T dL/dT`). Symmetric CLIP is the mean of two such nodes, `(q, k)` and
/// `(k, q)`, sharing `t`:
///
/// ```
/// use contrast_autodiff::Graph;
/// use contrast_losses::InfoNceConfig;
/// use contrast_losses::autodiff::{clamp_log_scale, info_nce_log_scale_op, CLIP_MAX_LOGIT_SCALE};
/// use ndarray::{arr0, Array2};
///
/// let mut g = Graph::<f64>::new();
/// let img = g.param(Array2::from_shape_fn((4, 3), |(i, j)| (i * 3 + j) as f64 % 5.0 - 2.0).into_dyn());
/// let txt = g.param(Array2::from_shape_fn((4, 3), |(i, j)| (i + 2 * j) as f64 % 3.0 - 1.0).into_dyn());
/// let t = g.param(arr0((1.0f64 / 0.07).ln()).into_dyn()); // CLIP's initial scale, 1 / 0.07
/// let cfg = InfoNceConfig::default().in_batch(true);
/// let a = info_nce_log_scale_op(&mut g, img, txt, None, t, &cfg)?;
/// let b = info_nce_log_scale_op(&mut g, txt, img, None, t, &cfg)?;
/// let sum = g.add(a, b)?;
/// let loss = g.mul_scalar(sum, 0.5)?;
/// g.backward(loss)?;
/// let dt = g.grad(t).unwrap()[[]];
/// // After the optimiser step, CLIP clamps the parameter: s = exp(t) <= 100.
/// let stepped = clamp_log_scale(g.value(t)[[]] - 10.0 * dt, CLIP_MAX_LOGIT_SCALE);
/// assert!(stepped <= 100f64.ln());
/// # Ok::<(), contrast_losses::Error>(())
/// ```
pub fn info_nce_log_scale_op<A: NdFloat>(
    g: &mut Graph<A>,
    q: Var,
    k: Var,
    negatives: Option<Var>,
    log_scale: Var,
    config: &InfoNceConfig,
) -> Result<Var> {
    super::info_nce_node(g, (q, k, negatives), config, Some(log_scale))
}

/// [`crate::nt_xent_masked`] with a learnable logit scale: the logits are multiplied by
/// `exp(t)` for the scalar node `log_scale` (`t`), i.e. `T = exp(-t)` replaces
/// `config.temperature`. The node's inputs are `z` and `t` (`dL/dt = -T dL/dT`).
pub fn nt_xent_log_scale_op<A: NdFloat>(
    g: &mut Graph<A>,
    z: Var,
    log_scale: Var,
    mask: &NegativeMask,
    config: &NtXentConfig,
) -> Result<Var> {
    let temperature = temperature_of(g, log_scale, "nt_xent log_scale")?;
    let config = NtXentConfig {
        temperature,
        ..*config
    };
    let out = crate::nt_xent_masked(matrix(g, z, "nt_xent")?, mask, &config)?;
    let dt = -out.grad_temperature * cast::<A>(temperature);
    let grads = vec![stored(out.grad), scalar_grad(g, log_scale, dt)?];
    record(g, "nt_xent", &[z, log_scale], out.loss, grads)
}
