//! VICReg: variance-invariance-covariance regularisation (Bardes, Ponce and LeCun 2022), a
//! non-contrastive loss: no negatives, the batch statistics keep the embeddings apart.
//!
//! ```text
//! a, b: (n, D), row i of a and row i of b two views of one sample; no normalisation
//! inv     = (1 / (n D)) sum_ij (a_ij - b_ij)^2                        (MSE)
//! var(x)  = (1 / D) sum_j relu(1 - sqrt(v_j + eps)),
//!           v_j = (1 / (n - 1)) sum_i (x_ij - m_j)^2                   (unbiased, m_j the column mean)
//! cov(x)  = (1 / D) sum_{j != k} C_jk^2,   C = xc^T xc / (n - 1),  xc = x - m
//! loss    = lambda inv + mu (var(a) + var(b)) / 2 + nu (cov(a) + cov(b))
//!
//! d inv / d a   = 2 (a - b) / (n D) = -d inv / d b
//! d var / d x_ij = -[sqrt(v_j + eps) < 1] (x_ij - m_j) / (D (n - 1) sqrt(v_j + eps))
//! d cov / d x    = 4 xc C_off / (D (n - 1)),  C_off = C with a zero diagonal
//! ```
//! (Centring needs no backward term: the gradients above are linear in `xc`, whose
//! columns sum to zero, so subtracting their column means changes nothing.)
//!
//! Equals lightly's `VICRegLoss()(a, b)` with its defaults `lambda = 25, mu = 25, nu = 1,
//! eps = 1e-4`, `gather_distributed = False`: the variance term is the mean of the two
//! views' terms, the covariance term their sum, the variance unbiased (`x.var(dim=0)`).
//! At the hinge (`sqrt(v_j + eps) = 1` exactly) the gradient is 0, as torch's `relu`.

use crate::batch_statistics;
use crate::error::Result;
use crate::output::PairLossGrad;
use crate::validate::{self, cast};
use contrast_linalg::par_gemm;
use ndarray::{Array1, Array2, ArrayView2, NdFloat, Zip};

/// Settings of [`vicreg`] (lightly's defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VicRegConfig {
    /// Weight of the invariance (MSE) term (lightly `lambda_param`, 25).
    pub lambda: f64,
    /// Weight of the variance term (lightly `mu_param`, 25).
    pub mu: f64,
    /// Weight of the covariance term (lightly `nu_param`, 1).
    pub nu: f64,
    /// Added to the variance under the square root (lightly 1e-4).
    pub eps: f64,
}

impl Default for VicRegConfig {
    fn default() -> Self {
        Self {
            lambda: 25.0,
            mu: 25.0,
            nu: 1.0,
            eps: 1e-4,
        }
    }
}

/// VICReg loss of two views `a` and `b` (n, D) and its gradients.
///
/// # Errors
/// Empty or non-finite inputs, `b` not shaped like `a`, fewer than two rows (no variance),
/// a weight that is negative or not finite, or `eps` not positive.
///
/// ```
/// use contrast_losses::{vicreg, VicRegConfig};
/// use ndarray::array;
///
/// let a = array![[1.0f64, 0.0], [0.0, 1.0], [-1.0, 0.5]];
/// let out = vicreg(a.view(), a.view(), &VicRegConfig::default())?;
/// // Equal views: no invariance term, and the two gradients are equal.
/// assert_eq!(out.grad_x, out.grad_y);
/// # Ok::<(), contrast_losses::Error>(())
/// ```
pub fn vicreg<A: NdFloat>(
    a: ArrayView2<A>,
    b: ArrayView2<A>,
    config: &VicRegConfig,
) -> Result<PairLossGrad<A>> {
    validate::view_pair(("vicreg a", "vicreg b"), &a, &b)?;
    let weight = |name, value| validate::parameter::<A>(name, value, ">= 0", |w| w >= 0.0);
    weight("lambda", config.lambda)?;
    weight("mu", config.mu)?;
    weight("nu", config.nu)?;
    validate::divisor::<A>("eps", config.eps)?;
    let (n, d) = a.dim();
    validate::min_rows("vicreg", n, 2)?;
    let (lambda, mu, nu) = (
        cast::<A>(config.lambda),
        cast::<A>(config.mu),
        cast::<A>(config.nu),
    );
    let diff = &a - &b;
    let inv_nd = cast::<A>(1.0 / (n * d) as f64);
    let inv = diff.iter().fold(A::zero(), |s, &v| s + v * v) * inv_nd;
    let dinv = diff.mapv(|v| v * cast(2.0) * inv_nd * lambda);
    let half = cast::<A>(0.5);
    let sa = Statistics::new(a, config.eps);
    let sb = Statistics::new(b, config.eps);
    let loss = lambda * inv + mu * half * (sa.variance + sb.variance) + nu * (sa.cov + sb.cov);
    Ok(PairLossGrad {
        loss,
        grad_x: sa.backward(mu * half, nu) + &dinv,
        grad_y: sb.backward(mu * half, nu) - &dinv,
    })
}

/// One view's variance and covariance terms, and what their backward needs.
struct Statistics<A> {
    /// `x - m`, the centred rows.
    centred: Array2<A>,
    /// `sqrt(v_j + eps)` per column.
    std: Array1<A>,
    /// The covariance with a zero diagonal.
    cov_off: Array2<A>,
    variance: A,
    cov: A,
}

impl<A: NdFloat> Statistics<A> {
    fn new(x: ArrayView2<A>, eps: f64) -> Self {
        let (n, d) = x.dim();
        let centred = batch_statistics::centred(x);
        let std = batch_statistics::column_std(&centred, n - 1, eps);
        let unbiased = cast::<A>(1.0 / (n - 1) as f64);
        let inv_d = cast::<A>(1.0 / d as f64);
        let variance = std.fold(A::zero(), |s, &v| s + (A::one() - v).max(A::zero())) * inv_d;
        let mut cov_off = Array2::zeros((d, d));
        par_gemm(
            unbiased,
            centred.t(),
            centred.view(),
            A::zero(),
            cov_off.view_mut(),
        );
        cov_off.diag_mut().fill(A::zero());
        let cov = cov_off.iter().fold(A::zero(), |s, &c| s + c * c) * inv_d;
        Self {
            centred,
            std,
            cov_off,
            variance,
            cov,
        }
    }

    /// `d (w_var var + w_cov cov) / d x`.
    fn backward(&self, w_var: A, w_cov: A) -> Array2<A> {
        let (n, d) = self.centred.dim();
        let inv_d = cast::<A>(1.0 / d as f64);
        let unbiased = cast::<A>(1.0 / (n - 1) as f64);
        let mut grad = Array2::zeros((n, d));
        let alpha = w_cov * cast(4.0) * inv_d * unbiased;
        par_gemm(
            alpha,
            self.centred.view(),
            self.cov_off.view(),
            A::zero(),
            grad.view_mut(),
        );
        // The hinge is active where the standard deviation is below 1.
        let coef = self.std.mapv(|s| {
            if s < A::one() {
                -w_var * inv_d * unbiased / s
            } else {
                A::zero()
            }
        });
        Zip::from(grad.rows_mut())
            .and(self.centred.rows())
            .for_each(|mut g, c| {
                Zip::from(&mut g)
                    .and(&c)
                    .and(&coef)
                    .for_each(|g, &c, &k| *g += k * c);
            });
        grad
    }
}
