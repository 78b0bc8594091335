//! The sigmoid pairwise loss of SigLIP (Zhai et al. 2023, "Sigmoid Loss for Language Image
//! Pre-Training"), with its learnable temperature and bias.
//!
//! ```text
//! x, y: (n, D), row i of x and row i of y a positive pair (image / text, or view 1 / view 2)
//! xn_i = x_i / max(||x_i||, 1e-12),  yn_j likewise      (or the rows as given, `normalize = false`)
//! s    = exp(t)                       (t: the learnable log-scale, open_clip `logit_scale`)
//! l_ij = s xn_i . yn_j + b            (b: the learnable bias, open_clip `logit_bias`)
//! z_ij = +1 if i = j, else -1         (every pair is its own binary classification)
//! loss = -(1 / n) sum_ij log sigmoid(z_ij l_ij) = (1 / n) sum_ij softplus(-z_ij l_ij)
//!
//! g_ij   = d loss / d l_ij = -(z_ij / n) sigmoid(-z_ij l_ij)
//! dxn    = s g yn,   dyn = s g^T xn,   d loss / d b = sum_ij g_ij,
//! d loss / d t = sum_ij g_ij s xn_i . yn_j = sum_ij g_ij (l_ij - b)
//! ```
//! The reduction is open_clip's `SigLipLoss`: the sum over all `n^2` pairs divided by the
//! batch size `n` (not by `n^2`). Equals
//! `-F.logsigmoid(labels * (exp(t) * xn @ yn.T + b)).sum() / n` with
//! `labels = 2 eye(n) - 1`, the formula of open_clip's `SigLipLoss` (one device, no
//! negatives from other devices), written in torch in `tests/fixtures/make_fixtures.py`.
//! The paper initialises `t = log 10` and `b = -10` ([`SIGLIP_INIT_LOG_SCALE`],
//! [`SIGLIP_INIT_BIAS`]).
//!
//! `log sigmoid` is evaluated as `-softplus(-v)`, `softplus(v) = max(v, 0) + log1p(exp(-|v|))`,
//! and the sigmoid from `exp(-|v|)`: no exponential of a positive number, so logits of
//! any size stay finite.

use crate::error::{Error, Result};
use crate::validate;
use contrast_linalg::RowNormalized;
use contrast_linalg::par_gemm;
use ndarray::{Array2, ArrayView2, Axis, NdFloat};
use rayon::prelude::*;

/// The paper's initial log-scale, `t = log 10` (scale 10).
pub const SIGLIP_INIT_LOG_SCALE: f64 = std::f64::consts::LN_10;

/// The paper's initial bias, `b = -10`: every pair starts near "negative", as most are.
pub const SIGLIP_INIT_BIAS: f64 = -10.0;

/// Settings of [`siglip`]. The temperature and bias are learnable, so they are arguments
/// of the call, not settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SigLipConfig {
    /// L2-normalise the rows of `x` and `y` first (open_clip normalises the features).
    pub normalize: bool,
}

impl Default for SigLipConfig {
    fn default() -> Self {
        Self { normalize: true }
    }
}

/// The SigLIP loss and its gradients with respect to both inputs and both parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct SigLipGrad<A> {
    /// The loss (sum over the `n^2` pairs, divided by `n`).
    pub loss: A,
    /// `d loss / d x`.
    pub grad_x: Array2<A>,
    /// `d loss / d y`.
    pub grad_y: Array2<A>,
    /// `d loss / d t`, `t` the log-scale.
    pub grad_log_scale: A,
    /// `d loss / d b`.
    pub grad_bias: A,
}

/// SigLIP loss of the pairs `(x_i, y_i)` with log-scale `log_scale` (`s = exp(log_scale)`)
/// and bias `bias`.
///
/// # Errors
/// Empty or non-finite inputs, `y` not shaped like `x`, a non-finite bias, or a log-scale
/// whose `exp` is not a finite normal number in `A`.
///
/// ```
/// use contrast_losses::{siglip, SigLipConfig, SIGLIP_INIT_BIAS, SIGLIP_INIT_LOG_SCALE};
/// use ndarray::array;
///
/// let x = array![[1.0f64, 0.2], [0.1, 1.0], [-0.7, 0.4]];
/// let y = array![[0.9, 0.3], [0.0, 1.1], [-0.6, 0.5]];
/// let out = siglip(x.view(), y.view(), SIGLIP_INIT_LOG_SCALE, SIGLIP_INIT_BIAS,
///                  &SigLipConfig::default())?;
/// // With b = -10 every positive pair is pushed up, so the bias wants to grow.
/// assert!(out.loss > 0.0 && out.grad_bias < 0.0);
/// # Ok::<(), contrast_losses::Error>(())
/// ```
pub fn siglip<A: NdFloat>(
    x: ArrayView2<A>,
    y: ArrayView2<A>,
    log_scale: A,
    bias: A,
    config: &SigLipConfig,
) -> Result<SigLipGrad<A>> {
    validate::view_pair(("siglip x", "siglip y"), &x, &y)?;
    let scale = log_scale.exp();
    if !(log_scale.is_finite() && scale.is_normal()) {
        return Err(Error::Parameter {
            name: "log_scale",
            value: log_scale.to_f64().unwrap_or(f64::NAN),
            expected: "finite, with exp(log_scale) a finite normal number in the loss's float type",
        });
    }
    if !bias.is_finite() {
        return Err(Error::Parameter {
            name: "bias",
            value: bias.to_f64().unwrap_or(f64::NAN),
            expected: "finite",
        });
    }
    let n = x.nrows();
    let (xn, yn) = (
        RowNormalized::new(x, config.normalize),
        RowNormalized::new(y, config.normalize),
    );
    // m_ij = s xn_i . yn_j, then overwritten by g_ij.
    let mut m = Array2::zeros((n, n));
    par_gemm(scale, xn.rows.view(), yn.rows.t(), A::zero(), m.view_mut());
    let inv_n = A::one() / validate::cast::<A>(n as f64);
    // Per row: (loss, d/db, d/dt), each summed in f64; combined in row order.
    let rows: Vec<[f64; 3]> = m
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .map(|(i, mut row)| {
            let mut acc = [0.0f64; 3];
            for (j, v) in row.iter_mut().enumerate() {
                let z = if i == j { A::one() } else { -A::one() };
                let margin = z * (*v + bias);
                let g = -z * inv_n * sigmoid(-margin);
                acc[0] += to_f64(softplus(-margin));
                acc[1] += to_f64(g);
                acc[2] += to_f64(g * *v);
                *v = g;
            }
            acc
        })
        .collect();
    let total = |k: usize| rows.iter().map(|r| r[k]).sum::<f64>();
    let mut dx = Array2::zeros(xn.rows.raw_dim());
    par_gemm(scale, m.view(), yn.rows.view(), A::zero(), dx.view_mut());
    let mut dy = Array2::zeros(yn.rows.raw_dim());
    par_gemm(scale, m.t(), xn.rows.view(), A::zero(), dy.view_mut());
    Ok(SigLipGrad {
        loss: validate::cast(total(0) / n as f64),
        grad_x: xn.backward(dx),
        grad_y: yn.backward(dy),
        grad_log_scale: validate::cast(total(2)),
        grad_bias: validate::cast(total(1)),
    })
}

/// `log(1 + exp(v))`, stable for any `v`.
fn softplus<A: NdFloat>(v: A) -> A {
    v.max(A::zero()) + (-v.abs()).exp().ln_1p()
}

/// `1 / (1 + exp(-v))`, from `exp(-|v|)` only.
fn sigmoid<A: NdFloat>(v: A) -> A {
    let e = (-v.abs()).exp();
    if v >= A::zero() {
        A::one() / (A::one() + e)
    } else {
        e / (A::one() + e)
    }
}

fn to_f64<A: NdFloat>(x: A) -> f64 {
    x.to_f64().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softplus_and_sigmoid_are_stable_and_exact() {
        for v in [-800.0f64, -30.0, -1.0, 0.0, 0.5, 30.0, 800.0] {
            let naive_sp = (1.0 + v.exp()).ln();
            if v.abs() < 30.0 {
                assert!((softplus(v) - naive_sp).abs() < 1e-15, "{v}");
                assert!((sigmoid(v) - 1.0 / (1.0 + (-v).exp())).abs() < 1e-16, "{v}");
            }
            assert!(softplus(v).is_finite() && sigmoid(v).is_finite());
        }
        assert_eq!(softplus(800.0f64), 800.0);
        assert_eq!(softplus(-800.0f64), 0.0);
        assert_eq!(sigmoid(-800.0f64), 0.0);
        assert_eq!(sigmoid(800.0f32), 1.0);
    }
}
