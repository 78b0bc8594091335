//! Every loss as one node of a `contrast_autodiff` graph (feature `autodiff`).
//!
//! The forward value and the gradients are computed here, by the same functions as the
//! rest of the crate; the node's backward only scales the stored gradients by the
//! upstream gradient (`dL/d input = g_out * d loss / d input`), through the graph's
//! [`CustomOp`] extension point. So a model built with `contrast-autodiff` gets the fused,
//! exact loss gradient instead of a long chain of primitive ops:
//!
//! ```
//! use contrast_autodiff::Graph;
//! use contrast_losses::{NtXentConfig, autodiff::nt_xent_op};
//! use ndarray::{Array2, IxDyn};
//!
//! let mut g = Graph::<f64>::new();
//! let z = g.param(Array2::from_shape_fn((4, 3), |(i, j)| (i + 2 * j) as f64 * 0.3 + 0.1).into_dyn());
//! let loss = nt_xent_op(&mut g, z, &NtXentConfig::new(0.5))?;
//! g.backward(loss)?;
//! assert_eq!(g.grad(z).unwrap().shape(), &[4, 3]);
//! # Ok::<(), contrast_losses::Error>(())
//! ```
//!
//! For [`crate::Reduction::None`] the triplet node's value is the vector of
//! per-triplet losses; each triplet's rows are scaled by their own upstream gradient.

use crate::error::{Error, Result};
use crate::{
    AlignmentConfig, BarlowTwinsConfig, ContrastiveMarginConfig, DclConfig, DebiasedConfig,
    HclConfig, InfoNceConfig, LabelTripletConfig, LossGrad, NegativeMask, NtXentConfig,
    PairLossGrad, Reduction, SoftmaxConfig, SupConConfig, TripletConfig, UniformityConfig,
    VicRegConfig,
};
use contrast_autodiff::{CustomOp, Graph, Var};
use ndarray::{Array2, ArrayD, ArrayView2, Ix2, IxDyn, NdFloat};

mod learned;
pub use learned::*;

/// The backward rule of a precomputed loss: stored gradients times the upstream gradient.
struct Precomputed<A> {
    name: &'static str,
    /// One per input, each of its input's shape (a matrix, or a scalar parameter).
    grads: Vec<Option<ArrayD<A>>>,
    /// The value is a per-row vector (triplets with no reduction): scale row i by g_out[i].
    per_row: bool,
}

impl<A: NdFloat> CustomOp<A> for Precomputed<A> {
    fn name(&self) -> &str {
        self.name
    }

    fn backward(
        &self,
        _inputs: &[&ArrayD<A>],
        _output: &ArrayD<A>,
        grad_output: &ArrayD<A>,
    ) -> contrast_autodiff::Result<Vec<Option<ArrayD<A>>>> {
        Ok(self
            .grads
            .iter()
            .map(|g| {
                g.as_ref().map(|g| {
                    if self.per_row {
                        let col = grad_output
                            .view()
                            .into_shape_with_order(IxDyn(&[g.shape()[0], 1]))
                            .expect("one upstream value per row");
                        g * &col
                    } else {
                        g * grad_output.iter().next().copied().unwrap_or_else(A::zero)
                    }
                })
            })
            .collect())
    }
}

/// The value of a node as a matrix, or a shape error naming the loss.
pub(crate) fn matrix<'g, A: NdFloat>(
    g: &'g Graph<A>,
    v: Var,
    what: &'static str,
) -> Result<ArrayView2<'g, A>> {
    let value = g.try_value(v)?;
    value
        .view()
        .into_dimensionality::<Ix2>()
        .map_err(|_| Error::Shape {
            what,
            expected: vec![0, 0],
            got: value.shape().to_vec(),
        })
}

/// A matrix gradient as a stored node gradient.
fn stored<A>(grad: Array2<A>) -> Option<ArrayD<A>> {
    Some(grad.into_dyn())
}

/// Records a scalar loss node over `inputs` with their gradients.
fn record<A: NdFloat>(
    g: &mut Graph<A>,
    name: &'static str,
    inputs: &[Var],
    loss: A,
    grads: Vec<Option<ArrayD<A>>>,
) -> Result<Var> {
    let value = ArrayD::from_elem(IxDyn(&[]), loss);
    Ok(g.custom(
        inputs,
        value,
        Box::new(Precomputed {
            name,
            grads,
            per_row: false,
        }),
    )?)
}

/// One-input losses: evaluate on the node's value, record the node.
pub(crate) fn single<A: NdFloat>(
    g: &mut Graph<A>,
    z: Var,
    name: &'static str,
    loss: impl FnOnce(ArrayView2<A>) -> Result<LossGrad<A>>,
) -> Result<Var> {
    let out = loss(matrix(g, z, name)?)?;
    record(g, name, &[z], out.loss, vec![stored(out.grad)])
}

/// [`crate::nt_xent()`] as a graph node.
pub fn nt_xent_op<A: NdFloat>(g: &mut Graph<A>, z: Var, config: &NtXentConfig) -> Result<Var> {
    single(g, z, "nt_xent", |z| crate::nt_xent(z, config))
}

/// [`crate::nt_xent_masked`] as a graph node: NT-Xent whose anchors keep only the
/// negatives `mask` allows.
pub fn nt_xent_masked_op<A: NdFloat>(
    g: &mut Graph<A>,
    z: Var,
    mask: &NegativeMask,
    config: &NtXentConfig,
) -> Result<Var> {
    single(g, z, "nt_xent", |z| {
        crate::nt_xent_masked(z, mask, config).map(LossGrad::from)
    })
}

/// [`crate::supcon()`] as a graph node.
pub fn supcon_op<A: NdFloat>(
    g: &mut Graph<A>,
    z: Var,
    labels: &[usize],
    config: &SupConConfig,
) -> Result<Var> {
    single(g, z, "supcon", |z| {
        crate::supcon(z, labels, config).map(LossGrad::from)
    })
}

/// [`crate::nt_xent_pairs`] as a graph node.
pub fn nt_xent_pairs_op<A: NdFloat>(
    g: &mut Graph<A>,
    z: Var,
    labels: &[usize],
    config: &SoftmaxConfig,
) -> Result<Var> {
    single(g, z, "nt_xent_pairs", |z| {
        crate::nt_xent_pairs(z, labels, config).map(LossGrad::from)
    })
}

/// [`crate::positives_in_log`] as a graph node.
pub fn positives_in_log_op<A: NdFloat>(
    g: &mut Graph<A>,
    z: Var,
    labels: &[usize],
    config: &SoftmaxConfig,
) -> Result<Var> {
    single(g, z, "positives_in_log", |z| {
        crate::positives_in_log(z, labels, config).map(LossGrad::from)
    })
}

/// [`crate::triplet_margin_labels`] as a graph node.
pub fn triplet_margin_labels_op<A: NdFloat>(
    g: &mut Graph<A>,
    z: Var,
    labels: &[usize],
    config: &LabelTripletConfig,
) -> Result<Var> {
    single(g, z, "triplet_margin_labels", |z| {
        crate::triplet_margin_labels(z, labels, config).map(LossGrad::from)
    })
}

/// [`crate::contrastive_margin()`] as a graph node.
pub fn contrastive_margin_op<A: NdFloat>(
    g: &mut Graph<A>,
    z: Var,
    labels: &[usize],
    config: &ContrastiveMarginConfig,
) -> Result<Var> {
    single(g, z, "contrastive_margin", |z| {
        crate::contrastive_margin(z, labels, config).map(LossGrad::from)
    })
}

/// [`crate::dcl()`] as a graph node.
pub fn dcl_op<A: NdFloat>(g: &mut Graph<A>, z: Var, config: &DclConfig) -> Result<Var> {
    single(g, z, "dcl", |z| crate::dcl(z, config))
}

/// [`crate::dcl_masked`] as a graph node.
pub fn dcl_masked_op<A: NdFloat>(
    g: &mut Graph<A>,
    z: Var,
    mask: &NegativeMask,
    config: &DclConfig,
) -> Result<Var> {
    single(g, z, "dcl", |z| crate::dcl_masked(z, mask, config))
}

/// [`crate::debiased()`] as a graph node.
pub fn debiased_op<A: NdFloat>(g: &mut Graph<A>, z: Var, config: &DebiasedConfig) -> Result<Var> {
    single(g, z, "debiased", |z| crate::debiased(z, config))
}

/// [`crate::hcl()`] as a graph node.
pub fn hcl_op<A: NdFloat>(g: &mut Graph<A>, z: Var, config: &HclConfig) -> Result<Var> {
    single(g, z, "hcl", |z| crate::hcl(z, config))
}

/// [`crate::uniformity`] as a graph node.
pub fn uniformity_op<A: NdFloat>(
    g: &mut Graph<A>,
    x: Var,
    config: &UniformityConfig,
) -> Result<Var> {
    single(g, x, "uniformity", |x| crate::uniformity(x, config))
}

/// Two-input losses: evaluate on the nodes' values, record the node.
fn pair<A: NdFloat>(
    g: &mut Graph<A>,
    (x, y): (Var, Var),
    (name, x_what, y_what): (&'static str, &'static str, &'static str),
    loss: impl FnOnce(ArrayView2<A>, ArrayView2<A>) -> Result<PairLossGrad<A>>,
) -> Result<Var> {
    let out = loss(matrix(g, x, x_what)?, matrix(g, y, y_what)?)?;
    let grads = vec![stored(out.grad_x), stored(out.grad_y)];
    record(g, name, &[x, y], out.loss, grads)
}

/// [`crate::alignment`] as a graph node over `x` and `y`.
pub fn alignment_op<A: NdFloat>(
    g: &mut Graph<A>,
    x: Var,
    y: Var,
    config: &AlignmentConfig,
) -> Result<Var> {
    let names = ("alignment", "alignment x", "alignment y");
    pair(g, (x, y), names, |x, y| crate::alignment(x, y, config))
}

/// [`crate::vicreg()`] as a graph node over the two views `a` and `b`.
pub fn vicreg_op<A: NdFloat>(
    g: &mut Graph<A>,
    a: Var,
    b: Var,
    config: &VicRegConfig,
) -> Result<Var> {
    let names = ("vicreg", "vicreg a", "vicreg b");
    pair(g, (a, b), names, |a, b| crate::vicreg(a, b, config))
}

/// [`crate::barlow_twins()`] as a graph node over the two views `a` and `b`.
pub fn barlow_twins_op<A: NdFloat>(
    g: &mut Graph<A>,
    a: Var,
    b: Var,
    config: &BarlowTwinsConfig,
) -> Result<Var> {
    let names = ("barlow_twins", "barlow_twins a", "barlow_twins b");
    pair(g, (a, b), names, |a, b| crate::barlow_twins(a, b, config))
}

/// [`crate::info_nce()`] as a graph node over queries, keys and (optionally) negatives.
pub fn info_nce_op<A: NdFloat>(
    g: &mut Graph<A>,
    q: Var,
    k: Var,
    negatives: Option<Var>,
    config: &InfoNceConfig,
) -> Result<Var> {
    info_nce_node(g, (q, k, negatives), config, None)
}

/// The InfoNCE node over `q`, `k`, the negatives if any, and, for a learnable logit scale,
/// the log-scale node `t` (whose `T = exp(-t)` replaces `config.temperature`).
fn info_nce_node<A: NdFloat>(
    g: &mut Graph<A>,
    (q, k, negatives): (Var, Var, Option<Var>),
    config: &InfoNceConfig,
    log_scale: Option<Var>,
) -> Result<Var> {
    let temperature = match log_scale {
        Some(t) => learned::temperature_of(g, t, "info_nce log_scale")?,
        None => config.temperature,
    };
    let config = InfoNceConfig {
        temperature,
        ..*config
    };
    let neg = negatives
        .map(|n| matrix(g, n, "info_nce negatives"))
        .transpose()?;
    let out = crate::info_nce(
        matrix(g, q, "info_nce query")?,
        matrix(g, k, "info_nce key")?,
        neg,
        &config,
    )?;
    let mut inputs = vec![q, k];
    let mut grads = vec![stored(out.grad_query), stored(out.grad_key)];
    if let Some(n) = negatives {
        inputs.push(n);
        grads.push(out.grad_negatives.map(Array2::into_dyn));
    }
    if let Some(t) = log_scale {
        // dL/dt = -T dL/dT for T = exp(-t).
        let dt = -out.grad_temperature * crate::validate::cast::<A>(temperature);
        inputs.push(t);
        grads.push(learned::scalar_grad(g, t, dt)?);
    }
    record(g, "info_nce", &inputs, out.loss, grads)
}

/// [`crate::triplet_margin`] as a graph node: a scalar for `Mean` / `Sum`, the `(B,)`
/// vector of per-triplet losses for `None`.
pub fn triplet_margin_op<A: NdFloat>(
    g: &mut Graph<A>,
    anchor: Var,
    positive: Var,
    negative: Var,
    config: &TripletConfig,
) -> Result<Var> {
    let out = crate::triplet_margin(
        matrix(g, anchor, "triplet anchor")?,
        matrix(g, positive, "triplet positive")?,
        matrix(g, negative, "triplet negative")?,
        config,
    )?;
    let grads = vec![
        stored(out.grad_anchor),
        stored(out.grad_positive),
        stored(out.grad_negative),
    ];
    let inputs = [anchor, positive, negative];
    if config.reduction != Reduction::None {
        return record(g, "triplet_margin", &inputs, out.loss, grads);
    }
    let op = Precomputed {
        name: "triplet_margin",
        grads,
        per_row: true,
    };
    Ok(g.custom(&inputs, out.losses.into_dyn(), Box::new(op))?)
}
