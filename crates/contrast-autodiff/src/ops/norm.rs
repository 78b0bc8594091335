//! Normalizations: row L2 normalization and batch normalization.
//!
//! * `l2_normalize_rows`: `y = x / n`, `n = max(||x||, eps)` per row. Where `||x|| > eps`,
//!   `dL/dx = (g - y (g·y)) / n` (the component along `y` is removed); below the floor `n`
//!   is the constant `eps` and `dL/dx = g / eps`. Forward and backward are
//!   [`contrast_linalg::RowNormalized`], shared with the losses.
//! * `batch_norm` over `(N,C)` or `(N,C,H,W)`, per channel `c` over its `m = N·H·W` values:
//!   `x̂ = (x - μ) / sqrt(σ² + eps)`, `y = γ x̂ + β`. In training `μ, σ²` are the batch mean
//!   and biased variance, and
//!   `dL/dx = (1 / (m sqrt(σ² + eps))) (m ĝ - Σĝ - x̂ Σ(ĝ x̂))` with `ĝ = γ g`; in evaluation
//!   they are the given running statistics (constants), so `dL/dx = γ g / sqrt(σ² + eps)`.
//!   Both: `dL/dγ = Σ g x̂`, `dL/dβ = Σ g`.

use contrast_linalg::RowNormalized;
use ndarray::{Array1, ArrayD, ArrayView3, ArrayViewD, Axis, Ix1, Ix2, NdFloat, Zip};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::graph::{Backprop, Graph, Var};

/// Which statistics `batch_norm` normalizes with.
#[derive(Clone, Copy, Debug)]
pub enum BatchNormMode<'a, A> {
    /// Batch mean and variance (training).
    Train {
        /// Added to the variance before the square root.
        eps: A,
    },
    /// Given running mean and variance, one per channel (evaluation).
    Eval {
        /// Running mean, shape `(C,)`.
        mean: &'a Array1<A>,
        /// Running variance, shape `(C,)`.
        var: &'a Array1<A>,
        /// Added to the variance before the square root.
        eps: A,
    },
}

/// Batch statistics from a training-mode `batch_norm`, per channel, for running averages.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchStats<A> {
    /// Batch mean, shape `(C,)`.
    pub mean: Array1<A>,
    /// Unbiased batch variance (divided by `m - 1`), shape `(C,)`.
    pub var: Array1<A>,
}

/// `x` as `(N, C, S)` with `S` the spatial size (1 for a 2-D input).
fn as_ncs<A: NdFloat>(x: ArrayViewD<'_, A>) -> ArrayView3<'_, A> {
    let s = x.shape().to_vec();
    let spatial = s[2..].iter().product();
    x.into_shape_with_order((s[0], s[1], spatial))
        .expect("standard layout checked")
}

impl<A: NdFloat> Graph<A> {
    /// Divides each row of a 2-D value by `max(||row||, eps)`.
    pub fn l2_normalize_rows(&mut self, x: Var, eps: A) -> Result<Var> {
        let value = self.try_value(x)?;
        if value.ndim() != 2 {
            return Err(Error::shape(
                "l2_normalize_rows",
                &[value.shape()],
                "expects a 2-D value",
            ));
        }
        if eps.is_nan() || eps <= A::zero() {
            return Err(Error::invalid(
                "l2_normalize_rows",
                format!("eps must be > 0, got {eps}"),
            ));
        }
        let rows = value
            .view()
            .into_dimensionality::<Ix2>()
            .expect("2-D checked above");
        let normalized = RowNormalized::with_eps(rows, eps);
        let out = normalized.rows.clone().into_dyn();
        let backward = move |bp: Backprop<'_, A>| {
            let grad = bp
                .grad
                .into_dimensionality::<Ix2>()
                .expect("the gradient has the output's 2-D shape");
            Ok(vec![Some(normalized.backward(grad).into_dyn())])
        };
        self.record("l2_normalize_rows", out, &[x], Box::new(backward))
    }

    /// Batch normalization of `(N,C)` or `(N,C,H,W)` with per-channel `gamma`, `beta` of
    /// shape `(C,)`. Training mode also returns the batch mean and unbiased variance.
    pub fn batch_norm(
        &mut self,
        x: Var,
        gamma: Var,
        beta: Var,
        mode: BatchNormMode<'_, A>,
    ) -> Result<(Var, Option<BatchStats<A>>)> {
        let (value, g, b) = (
            self.try_value(x)?,
            self.try_value(gamma)?,
            self.try_value(beta)?,
        );
        let shape = value.shape();
        if !(shape.len() == 2 || shape.len() == 4)
            || g.shape() != [shape[1]]
            || b.shape() != [shape[1]]
        {
            return Err(Error::shape(
                "batch_norm",
                &[shape, g.shape(), b.shape()],
                "expects x (N,C) or (N,C,H,W) with gamma and beta (C,)",
            ));
        }
        let channels = shape[1];
        let value = value.as_standard_layout();
        let x3 = as_ncs(value.view());
        let m = x3.len_of(Axis(0)) * x3.len_of(Axis(2));
        let (mean, var, eps, stats) = match mode {
            BatchNormMode::Train { eps } => {
                if m < 2 {
                    return Err(Error::shape(
                        "batch_norm",
                        &[shape],
                        "training needs at least 2 values per channel",
                    ));
                }
                let mf = A::from(m).expect("float");
                // Channels in parallel, each reduced in a fixed order: thread-count independent.
                let per_channel: Vec<(A, A)> = (0..channels)
                    .into_par_iter()
                    .map(|c| {
                        let xc = x3.index_axis(Axis(1), c);
                        let mean = xc.sum() / mf;
                        let sq = xc.fold(A::zero(), |acc, &v| acc + (v - mean) * (v - mean));
                        (mean, sq)
                    })
                    .collect();
                let mean = Array1::from_iter(per_channel.iter().map(|p| p.0));
                let sq = Array1::from_iter(per_channel.iter().map(|p| p.1));
                let var = sq.mapv(|s| s / mf);
                let unbiased = sq.mapv(|s| s / (mf - A::one()));
                let stats = BatchStats {
                    mean: mean.clone(),
                    var: unbiased,
                };
                (mean, var, eps, Some(stats))
            }
            BatchNormMode::Eval { mean, var, eps } => {
                if mean.len() != channels || var.len() != channels {
                    return Err(Error::shape(
                        "batch_norm",
                        &[shape, mean.shape(), var.shape()],
                        "running mean and var must have one entry per channel",
                    ));
                }
                (mean.clone(), var.clone(), eps, None)
            }
        };
        if eps.is_nan() || eps < A::zero() {
            return Err(Error::invalid(
                "batch_norm",
                format!("eps must be >= 0, got {eps}"),
            ));
        }
        let inv_std = var.mapv(|v| (v + eps).sqrt().recip());
        let gamma_v = g
            .view()
            .into_dimensionality::<Ix1>()
            .expect("checked")
            .to_owned();
        let beta_v = b
            .view()
            .into_dimensionality::<Ix1>()
            .expect("checked")
            .to_owned();
        let mut out = x3.to_owned();
        out.axis_iter_mut(Axis(1))
            .into_par_iter()
            .enumerate()
            .for_each(|(c, mut plane)| {
                let (mu, s, ga, be) = (mean[c], inv_std[c], gamma_v[c], beta_v[c]);
                plane.mapv_inplace(|v| ga * (v - mu) * s + be);
            });
        let out = out
            .into_shape_with_order(shape.to_vec())
            .expect("same count")
            .into_dyn();
        let train = stats.is_some();
        let backward = move |bp: Backprop<'_, A>| {
            let x = bp.inputs[0].as_standard_layout();
            let x3 = as_ncs(x.view());
            let gstd = bp.grad.as_standard_layout();
            let g3 = as_ncs(gstd.view());
            let mf = A::from(m).expect("float");
            let gamma = bp.inputs[1];
            let mut gx = ArrayD::zeros(x.raw_dim());
            let mut gx3 = gx
                .view_mut()
                .into_shape_with_order(x3.dim())
                .expect("same count");
            let sums: Vec<(A, A)> = gx3
                .axis_iter_mut(Axis(1))
                .into_par_iter()
                .enumerate()
                .map(|(c, mut gxc)| {
                    let (xc, gc) = (x3.index_axis(Axis(1), c), g3.index_axis(Axis(1), c));
                    let (mu, s, ga) = (mean[c], inv_std[c], gamma[[c]]);
                    let (mut sum_g, mut sum_gx) = (A::zero(), A::zero());
                    Zip::from(&xc).and(&gc).for_each(|&v, &g| {
                        sum_g += g;
                        sum_gx += g * (v - mu) * s;
                    });
                    Zip::from(&mut gxc).and(&xc).and(&gc).for_each(|d, &v, &g| {
                        *d = if train {
                            let xhat = (v - mu) * s;
                            ga * s / mf * (mf * g - sum_g - xhat * sum_gx)
                        } else {
                            ga * s * g
                        };
                    });
                    (sum_gx, sum_g)
                })
                .collect();
            let dgamma = Array1::from_iter(sums.iter().map(|s| s.0));
            let dbeta = Array1::from_iter(sums.iter().map(|s| s.1));
            Ok(vec![
                Some(gx),
                Some(dgamma.into_dyn()),
                Some(dbeta.into_dyn()),
            ])
        };
        let y = self.record("batch_norm", out, &[x, gamma, beta], Box::new(backward))?;
        Ok((y, stats))
    }
}
