//! Decoupled contrastive loss, DCL and DCL-W (Yeh et al. 2022, "Decoupled Contrastive
//! Learning", eq. 6).
//!
//! ```text
//! z: (2N, D) two-view layout, p(i) = (i + N) mod 2N, s_ij = zn_i . zn_j / T
//! l_i  = -w_c(i) s_i,p(i) + log sum_{k not in {i, p(i)}} exp(s_ik)   (positive decoupled)
//! loss = (1 / 2N) sum_i l_i                    (both directions, = 0.5 (L(z1,z2) + L(z2,z1)))
//! DCL:   w = 1
//! DCL-W: w_c = 2 - N softmax_c(u / sigma),  u_c = zn_c . zn_{c+N}   (von Mises-Fisher weight)
//! ```
//! Equals lightly `DCLLoss(temperature=T)(z1, z2)` and `DCLWLoss(temperature=T, sigma)`.
//! lightly computes the DCL-W weight from detached embeddings (no gradient through `w`);
//! the authors' code lets the gradient flow. [`DclWeight::VonMisesFisher`] offers both.
//!
//! [`dcl_masked`] removes negatives from each anchor's log-sum-exp as a
//! [`NegativeMask`] says (`k` also needs `keep(i, k)`), like [`crate::nt_xent_masked`].
//! The debiased and hard-negative losses do not take a mask: their estimators assume
//! the `2N - 2` negatives are a sample of the data distribution.

use crate::error::Result;
use crate::log_sum_exp::log_sum_exp;
use crate::logits::LogitMatrix;
use crate::negative_mask::NegativeMask;
use crate::output::LossGrad;
use crate::validate::{self, cast};
use ndarray::{Array1, ArrayView2, NdFloat};

/// The weight of the positive term.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum DclWeight {
    /// DCL: weight 1.
    #[default]
    None,
    /// DCL-W: `w_c = 2 - N softmax_c(u / sigma)`.
    VonMisesFisher {
        /// Scale of the weighting softmax (paper and lightly: 0.5).
        sigma: f64,
        /// No gradient through the weight (lightly); `false` differentiates it (authors' code).
        detach: bool,
    },
}

/// Settings of [`dcl`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DclConfig {
    /// Temperature `T > 0` (lightly default 0.1).
    pub temperature: f64,
    /// L2-normalise rows first.
    pub normalize: bool,
    /// DCL or DCL-W.
    pub weight: DclWeight,
}

impl Default for DclConfig {
    fn default() -> Self {
        Self {
            temperature: 0.1,
            normalize: true,
            weight: DclWeight::None,
        }
    }
}

/// DCL / DCL-W of a two-view batch `z` (2N, D) and `d loss / d z`.
///
/// # Errors
/// Empty or non-finite `z`, an odd row count, fewer than two pairs, a bad temperature or
/// sigma.
pub fn dcl<A: NdFloat>(z: ArrayView2<A>, config: &DclConfig) -> Result<LossGrad<A>> {
    dcl_masked(z, &NegativeMask::All, config)
}

/// DCL / DCL-W whose anchors keep only the negatives `mask` allows.
///
/// # Errors
/// As [`dcl`], and a mask of the wrong shape, a kept index out of range, or an anchor the
/// mask leaves without a negative.
pub fn dcl_masked<A: NdFloat>(
    z: ArrayView2<A>,
    mask: &NegativeMask,
    config: &DclConfig,
) -> Result<LossGrad<A>> {
    validate::embeddings("dcl z", &z)?;
    validate::temperature::<A>(config.temperature)?;
    let n = validate::two_view_rows("dcl", &z)?;
    if let DclWeight::VonMisesFisher { sigma, .. } = config.weight {
        validate::divisor::<A>("sigma", sigma)?;
    }
    let keep = mask.resolve("dcl", 2 * n, |i| (i + n) % (2 * n))?;
    let kept = |i: usize, j: usize| keep.as_ref().is_none_or(|k| k[[i, j]]);
    let sim = LogitMatrix::new(z, config.temperature, config.normalize);
    let t = cast::<A>(config.temperature);
    let u = Array1::from_shape_fn(n, |c| sim.logits[[c, c + n]] * t);
    let (w, dw) = weights(&u, config.weight);
    let scale = cast::<A>(1.0 / (2 * n) as f64);
    Ok(sim.reduce_rows(scale, |mut row, i| {
        let (p, c) = ((i + n) % (2 * n), i % n);
        let lse = log_sum_exp(
            row.iter()
                .enumerate()
                .filter(|&(j, _)| j != i && j != p && kept(i, j))
                .map(|(_, &x)| x),
        );
        let loss = lse - w[c] * row[p];
        for (j, x) in row.iter_mut().enumerate() {
            *x = if kept(i, j) {
                (*x - lse).exp() * scale
            } else {
                A::zero()
            };
        }
        row[i] = A::zero();
        row[p] = -w[c] * scale;
        // The weight's own gradient: one entry per pair (the backward adds dS^T).
        if i < n {
            row[p] += dw[c];
        }
        loss
    }))
}

/// The weights `w_c` and `d loss / d S_{c,c+N}` through them (zero when detached or DCL).
///
/// With `L+ = -(1/(N T)) sum_c w_c u_c` and `d w_j / d u_c = -(N / sigma) pi_j ([j = c] - pi_c)`,
/// `d L+ / d u_c (through w) = pi_c (u_c - sum_j pi_j u_j) / (sigma T)`; times `T` for `S`.
/// Evaluated with the shifted logits `(u_c - max u) / sigma`, so that a sigma near the
/// smallest normal number (F5b) stays finite.
fn weights<A: NdFloat>(u: &Array1<A>, weight: DclWeight) -> (Array1<A>, Array1<A>) {
    let n = u.len();
    let zeros = Array1::zeros(n);
    let DclWeight::VonMisesFisher { sigma, detach } = weight else {
        return (Array1::ones(n), zeros);
    };
    let sigma = cast::<A>(sigma);
    // Shift before dividing (softmax is shift-invariant): u / sigma itself overflows for
    // sigma near the smallest normal number (F5b), (u - max u) / sigma only goes to -inf.
    let u_max = u.fold(A::neg_infinity(), |a, &x| a.max(x));
    let logits = u.mapv(|x| (x - u_max) / sigma);
    let lse = log_sum_exp(logits.iter().copied());
    let pi = logits.mapv(|x| (x - lse).exp());
    let w = pi.mapv(|p| cast::<A>(2.0) - cast::<A>(n as f64) * p);
    if detach {
        return (w, zeros);
    }
    // (u_c - sum_j pi_j u_j) / sigma = logit_c - sum_j pi_j logit_j: bounded where pi_c > 0,
    // and pi_c = 0 contributes nothing (its logit may be -inf).
    let present = |c: &usize| pi[*c] > A::zero();
    let mean_logit = (0..n)
        .filter(present)
        .fold(A::zero(), |acc, c| acc + pi[c] * logits[c]);
    let dw = Array1::from_shape_fn(n, |c| {
        if present(&c) {
            pi[c] * (logits[c] - mean_logit)
        } else {
            A::zero()
        }
    });
    (w, dw)
}
