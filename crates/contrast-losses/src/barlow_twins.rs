//! Barlow Twins (Zbontar et al. 2021), a non-contrastive loss: the cross-correlation of the
//! two views' batch-normalised embeddings is pushed towards the identity.
//!
//! ```text
//! a, b: (n, D), row i of a and row i of b two views of one sample
//! x^_ij = (x_ij - m_j) / sqrt(v_j + eps),  m_j the column mean,
//!         v_j = (1 / n) sum_i (x_ij - m_j)^2   (biased: torch batch_norm in training mode)
//! c     = a^T b^ / n                              (D, D) cross-correlation
//! loss  = sum_j (1 - c_jj)^2 + lambda sum_{j != k} c_jk^2
//!
//! G = d loss / d c:  G_jj = -2 (1 - c_jj),  G_jk = 2 lambda c_jk
//! d loss / d a^ = b^ G^T / n,   d loss / d b^ = a^ G / n
//! batch-norm backward, per column (g = d loss / d x^, means over the n rows):
//! d loss / d x = (g - mean(g) - x^ mean(g x^)) / sqrt(v + eps)
//! ```
//! Equals lightly's `BarlowTwinsLoss(lambda_param=5e-3)(a, b)` (`gather_distributed =
//! False`): its `F.batch_norm(z, None, None, training=True)` uses the biased variance and
//! `eps = 1e-5`, and it divides the cross-correlation by `n`.

use crate::batch_statistics;
use crate::error::Result;
use crate::output::PairLossGrad;
use crate::validate::{self, cast};
use contrast_linalg::par_gemm;
use ndarray::{Array1, Array2, ArrayView2, NdFloat, Zip};

/// Settings of [`barlow_twins`] (lightly's defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BarlowTwinsConfig {
    /// Weight of the redundancy-reduction (off-diagonal) term (paper and lightly: 5e-3).
    pub lambda: f64,
    /// Added to the batch variance under the square root (torch `batch_norm`: 1e-5).
    pub eps: f64,
}

impl Default for BarlowTwinsConfig {
    fn default() -> Self {
        Self {
            lambda: 5e-3,
            eps: 1e-5,
        }
    }
}

/// Barlow Twins loss of two views `a` and `b` (n, D) and its gradients.
///
/// # Errors
/// Empty or non-finite inputs, `b` not shaped like `a`, fewer than two rows (no batch
/// statistics), `lambda` negative or not finite, or `eps` not positive.
///
/// ```
/// use contrast_losses::{barlow_twins, BarlowTwinsConfig};
/// use ndarray::array;
///
/// let a = array![[1.0f64, 0.3], [-0.2, 1.0], [0.4, -0.8], [-1.1, 0.1]];
/// let out = barlow_twins(a.view(), (&a * 3.0).view(), &BarlowTwinsConfig::default())?;
/// // Batch normalisation removes the scale: c_jj is close to 1, the diagonal term to 0.
/// assert!(out.loss < 0.05);
/// # Ok::<(), contrast_losses::Error>(())
/// ```
pub fn barlow_twins<A: NdFloat>(
    a: ArrayView2<A>,
    b: ArrayView2<A>,
    config: &BarlowTwinsConfig,
) -> Result<PairLossGrad<A>> {
    validate::view_pair(("barlow_twins a", "barlow_twins b"), &a, &b)?;
    validate::parameter::<A>("lambda", config.lambda, ">= 0", |w| w >= 0.0)?;
    validate::divisor::<A>("eps", config.eps)?;
    let (n, d) = a.dim();
    validate::min_rows("barlow_twins", n, 2)?;
    let na = BatchNormalized::new(a, config.eps);
    let nb = BatchNormalized::new(b, config.eps);
    let inv_n = cast::<A>(1.0 / n as f64);
    let mut c = Array2::zeros((d, d));
    par_gemm(inv_n, na.rows.t(), nb.rows.view(), A::zero(), c.view_mut());
    let lambda = cast::<A>(config.lambda);
    let two = cast::<A>(2.0);
    let mut loss = A::zero();
    // c becomes G = d loss / d c in place.
    for ((j, k), x) in c.indexed_iter_mut() {
        if j == k {
            let miss = A::one() - *x;
            loss += miss * miss;
            *x = -two * miss;
        } else {
            loss += lambda * *x * *x;
            *x = two * lambda * *x;
        }
    }
    let mut ga = Array2::zeros((n, d));
    par_gemm(inv_n, nb.rows.view(), c.t(), A::zero(), ga.view_mut());
    let mut gb = Array2::zeros((n, d));
    par_gemm(inv_n, na.rows.view(), c.view(), A::zero(), gb.view_mut());
    Ok(PairLossGrad {
        loss,
        grad_x: na.backward(ga),
        grad_y: nb.backward(gb),
    })
}

/// Columns normalised to mean 0 and (biased) variance 1, as torch's `batch_norm` in
/// training mode without affine parameters.
struct BatchNormalized<A> {
    /// `x^`.
    rows: Array2<A>,
    /// `1 / sqrt(v_j + eps)` per column.
    inv_std: Array1<A>,
}

impl<A: NdFloat> BatchNormalized<A> {
    fn new(x: ArrayView2<A>, eps: f64) -> Self {
        let mut rows = batch_statistics::centred(x);
        let inv_std = batch_statistics::column_std(&rows, x.nrows(), eps).mapv(|s| A::one() / s);
        rows *= &inv_std;
        Self { rows, inv_std }
    }

    /// `d loss / d x` from `g = d loss / d x^` (consumes and returns the buffer).
    fn backward(&self, mut g: Array2<A>) -> Array2<A> {
        let inv_n = cast::<A>(1.0 / g.nrows() as f64);
        Zip::from(g.columns_mut())
            .and(self.rows.columns())
            .and(&self.inv_std)
            .for_each(|mut g, xh, &inv_std| {
                let mean_g = g.sum() * inv_n;
                let mean_gx = g.dot(&xh) * inv_n;
                Zip::from(&mut g)
                    .and(&xh)
                    .for_each(|g, &x| *g = (*g - mean_g - x * mean_gx) * inv_std);
            });
        g
    }
}
