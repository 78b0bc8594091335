//! Synchronised batch normalisation: batch norm whose statistics are those of the global
//! batch, all ranks' rows together, in forward and in backward.
//!
//! Per channel `c`, over the `m = Σ_r m_r` values of every rank (`m_r = n_r · H · W`):
//!
//! ```text
//! forward   μ = (1/m) Σ x,   σ² = (1/m) Σ (x - μ)²   (biased),   s = 1 / sqrt(σ² + eps)
//!           x̂ = (x - μ) s,   y = γ x̂ + β
//! backward  with global sums  Σg  and  Σ g x̂  (g = dL/dy):
//!           dL/dx = (γ s / m) (m g - Σg - x̂ Σ g x̂)
//!           dL/dγ = Σ_local g x̂,   dL/dβ = Σ_local g   (this rank's share; the gradient
//!           all-reduce adds the shares)
//! running   mean ← (1 - momentum) mean + momentum μ,  var ← ... + momentum σ² m / (m - 1)
//! ```
//!
//! **Statistics.** Each rank sends, per channel, its mean and its sum of squared deviations
//! `M2_r = Σ_local (x - μ_r)²` (each computed in two passes over its rows); the ranks' pairs
//! are merged in rank order by Chan et al.'s update
//! `δ = μ_b - μ_a, μ = μ_a + δ m_b / m, M2 = M2_a + M2_b + δ² m_a m_b / m`. The simpler
//! all-reduce of `Σx` and `Σx²` gives `σ² = Σx²/m - μ²`, a difference of two nearly equal
//! numbers when `|μ| ≫ σ` (un-normalised pixels, activations with a large offset): in f32
//! it loses `log2(μ²/σ²)` of its 24 bits and can even turn negative. `(m, μ, M2)` keeps
//! the two-pass accuracy of one process for one message of the same size (`2C` values;
//! the counts `m_r` travel exactly, as `u64`, in a header).
//!
//! Communication per call: forward, a header (`m_r`) and an all-gather of `2C` values;
//! backward, an all-reduce of `2C` values.

use contrast_autodiff::{BatchStats, CustomOp, Graph, Var};
use ndarray::{Array1, ArrayD, ArrayView3, Axis, NdFloat, Zip};
use rayon::prelude::*;

use super::{SharedCollective, op_error};
use crate::error::{Error, Result};

/// `x` as `(N, C, S)` with `S` the spatial size (1 for a 2-D input).
fn as_ncs<A: NdFloat>(x: &ArrayD<A>) -> ArrayView3<'_, A> {
    let s = x.shape();
    let spatial = s[2..].iter().product();
    x.view()
        .into_shape_with_order((s[0], s[1], spatial))
        .expect("standard layout")
}

/// Per channel `(Σ_local a(x, g), Σ_local b(x, g))` over the `(N, S)` values of `x` (and
/// `g`), channels in parallel, each summed in a fixed order.
fn channel_sums<A: NdFloat>(
    x: ArrayView3<'_, A>,
    f: impl Fn(usize, ndarray::ArrayView2<'_, A>) -> (A, A) + Sync,
) -> (Vec<A>, Vec<A>) {
    (0..x.len_of(Axis(1)))
        .into_par_iter()
        .map(|c| f(c, x.index_axis(Axis(1), c)))
        .unzip()
}

/// Batch norm of `x` (`(N, C)` or `(N, C, H, W)`) with per-channel `gamma`, `beta` of shape
/// `(C,)`, normalised by the statistics of every rank's `x` together. Returns the output
/// and the global batch mean and unbiased variance (for the running statistics).
///
/// A rank may hold no rows (`N = 0`) as long as all ranks together hold at least two
/// values per channel. Every rank must call it at the same point of the same graph.
///
/// # Errors
/// Shapes other than the above, ranks that disagree on `C`, fewer than two values per
/// channel over all ranks, or a failed collective.
pub fn sync_batch_norm<A: NdFloat>(
    g: &mut Graph<A>,
    x: Var,
    gamma: Var,
    beta: Var,
    eps: A,
    collective: &SharedCollective<A>,
) -> Result<(Var, BatchStats<A>)> {
    let (value, gv, bv) = (g.try_value(x)?, g.try_value(gamma)?, g.try_value(beta)?);
    let shape = value.shape().to_vec();
    if !(shape.len() == 2 || shape.len() == 4)
        || gv.shape() != [shape[1]]
        || bv.shape() != [shape[1]]
    {
        return Err(Error::InputShape {
            layer: "sync_batch_norm",
            expected: format!(
                "x (N, C) or (N, C, H, W) with gamma and beta (C,); gamma {:?}, beta {:?}",
                gv.shape(),
                bv.shape()
            ),
            got: shape,
        });
    }
    let value = value.as_standard_layout().into_owned();
    let x3 = as_ncs(&value);
    let local_m = x3.len_of(Axis(0)) * x3.len_of(Axis(2));
    let counts = collective.all_gather_count(local_m)?;
    let m: usize = counts.iter().sum();
    if m < 2 {
        return Err(Error::InputShape {
            layer: "sync_batch_norm",
            expected: "at least 2 values per channel over all ranks".into(),
            got: shape,
        });
    }
    let local_mf = A::from(local_m).expect("float");
    let (means, m2s) = channel_sums(x3, |_, xc| {
        if local_m == 0 {
            return (A::zero(), A::zero());
        }
        let mean = xc.sum() / local_mf;
        (
            mean,
            xc.fold(A::zero(), |acc, &v| acc + (v - mean) * (v - mean)),
        )
    });
    let channels = means.len();
    let mut send = means;
    send.extend(m2s);
    let all = collective.all_gather(&send)?;
    let (mean, m2) = merge_in_rank_order(&all, &counts, channels);
    let mf = A::from(m).expect("float");
    let inv_std = m2.mapv(|q| A::one() / (q / mf + eps).sqrt());
    let stats = BatchStats {
        mean: mean.clone(),
        var: m2.mapv(|q| q / (mf - A::one())),
    };
    let (gamma_v, beta_v) = (gv.view(), bv.view());
    let mut out = value.clone();
    as_ncs_mut(&mut out)
        .axis_iter_mut(Axis(1))
        .into_par_iter()
        .enumerate()
        .for_each(|(c, mut oc)| {
            let (mu, s, ga, be) = (mean[c], inv_std[c], gamma_v[[c]], beta_v[[c]]);
            oc.mapv_inplace(|v| ga * (v - mu) * s + be);
        });
    let op = SyncBatchNorm {
        collective: SharedCollective::clone(collective),
        mean,
        inv_std,
        m: mf,
    };
    let y = g.custom(&[x, gamma, beta], out, Box::new(op))?;
    Ok((y, stats))
}

fn as_ncs_mut<A: NdFloat>(x: &mut ArrayD<A>) -> ndarray::ArrayViewMut3<'_, A> {
    let s = x.shape().to_vec();
    let spatial = s[2..].iter().product();
    x.view_mut()
        .into_shape_with_order((s[0], s[1], spatial))
        .expect("standard layout")
}

/// Merges every rank's `[means (C); M2 (C)]` (rank order in `all`) with `counts[r]` values
/// per channel into the global mean and M2, adding ranks in rank order (Chan et al.).
fn merge_in_rank_order<A: NdFloat>(
    all: &[A],
    counts: &[usize],
    channels: usize,
) -> (Array1<A>, Array1<A>) {
    let mut mean = Array1::zeros(channels);
    let mut m2 = Array1::zeros(channels);
    let mut n = A::zero();
    for (part, &count) in all.chunks(2 * channels).zip(counts) {
        if count == 0 {
            continue;
        }
        let nb = A::from(count).expect("float");
        let total = n + nb;
        for c in 0..channels {
            let (mean_b, m2_b) = (part[c], part[channels + c]);
            let delta = mean_b - mean[c];
            mean[c] += delta * (nb / total);
            m2[c] += m2_b + delta * delta * (n * nb / total);
        }
        n = total;
    }
    (mean, m2)
}

/// The backward rule of [`sync_batch_norm`].
struct SyncBatchNorm<A> {
    collective: SharedCollective<A>,
    mean: Array1<A>,
    inv_std: Array1<A>,
    /// Values per channel over all ranks.
    m: A,
}

impl<A: NdFloat> CustomOp<A> for SyncBatchNorm<A> {
    fn name(&self) -> &str {
        "sync_batch_norm"
    }

    fn backward(
        &self,
        inputs: &[&ArrayD<A>],
        _output: &ArrayD<A>,
        grad_output: &ArrayD<A>,
    ) -> contrast_autodiff::Result<Vec<Option<ArrayD<A>>>> {
        let x = inputs[0].as_standard_layout().into_owned();
        let grad = grad_output.as_standard_layout().into_owned();
        let (x3, g3) = (as_ncs(&x), as_ncs(&grad));
        let (mean, inv_std) = (&self.mean, &self.inv_std);
        let (sum_g, sum_gx) = channel_sums(x3, |c, xc| {
            let gc = g3.index_axis(Axis(1), c);
            let (mu, s) = (mean[c], inv_std[c]);
            let (mut sg, mut sgx) = (A::zero(), A::zero());
            Zip::from(&xc).and(&gc).for_each(|&v, &g| {
                sg += g;
                sgx += g * (v - mu) * s;
            });
            (sg, sgx)
        });
        let channels = sum_g.len();
        let mut global: Vec<A> = sum_g.iter().chain(&sum_gx).copied().collect();
        self.collective
            .all_reduce_sum(&mut global)
            .map_err(|e| op_error("sync_batch_norm", e))?;
        let gamma = inputs[1];
        let m = self.m;
        let mut gx = ArrayD::zeros(x.raw_dim());
        as_ncs_mut(&mut gx)
            .axis_iter_mut(Axis(1))
            .into_par_iter()
            .enumerate()
            .for_each(|(c, mut gxc)| {
                let (mu, s, ga) = (mean[c], inv_std[c], gamma[[c]]);
                let (total_g, total_gx) = (global[c], global[channels + c]);
                Zip::from(&mut gxc)
                    .and(&x3.index_axis(Axis(1), c))
                    .and(&g3.index_axis(Axis(1), c))
                    .for_each(|d, &v, &g| {
                        let xhat = (v - mu) * s;
                        *d = ga * s / m * (m * g - total_g - xhat * total_gx);
                    });
            });
        let dgamma = Array1::from(sum_gx).into_dyn();
        let dbeta = Array1::from(sum_g).into_dyn();
        Ok(vec![Some(gx), Some(dgamma), Some(dbeta)])
    }
}
