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
use crate::SigLipConfig;
use crate::error::{Error, Result};
use crate::validate::cast;
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
fn scalar_grad<A: NdFloat>(g: &Graph<A>, v: Var, grad: A) -> Result<Option<ArrayD<A>>> {
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
