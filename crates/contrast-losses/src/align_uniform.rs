//! Alignment and uniformity (Wang and Isola 2020), as metrics with gradients.
//!
//! ```text
//! x, y: (N, D), row i of x and y a positive pair; f = rows L2-normalised
//! align(x, y) = (1 / N) sum_i ||f(x_i) - f(y_i)||^alpha                     (alpha = 2)
//! unif(x)     = log (2 / (N (N - 1))) sum_{i < j} exp(-t ||f(x_i) - f(x_j)||^2)   (t = 2)
//! ```
//! The paper's `align_loss(x, y, alpha)` and `uniform_loss(x, t)` (`torch.pdist` form).
//! Lower is better for both; `align + lambda (unif(x) + unif(y)) / 2` is their loss.
//! d/d v of `||v||^alpha` is `alpha ||v||^(alpha - 2) v`, taken as 0 at `v = 0`.

use crate::error::{Error, Result};
use crate::log_sum_exp::log_sum_exp;
use crate::output::{LossGrad, PairLossGrad};
use crate::validate::{self, cast};
use contrast_linalg::RowNormalized;
use ndarray::{Array1, Array2, ArrayView2, NdFloat};

/// Settings of [`alignment`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AlignmentConfig {
    /// Exponent `alpha > 0` (paper: 2).
    pub alpha: f64,
    /// L2-normalise rows first.
    pub normalize: bool,
}

impl Default for AlignmentConfig {
    fn default() -> Self {
        Self {
            alpha: 2.0,
            normalize: true,
        }
    }
}

/// Settings of [`uniformity`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UniformityConfig {
    /// Scale `t > 0` of the Gaussian potential (paper: 2).
    pub t: f64,
    /// L2-normalise rows first.
    pub normalize: bool,
}

impl Default for UniformityConfig {
    fn default() -> Self {
        Self {
            t: 2.0,
            normalize: true,
        }
    }
}

/// Alignment of positive pairs `(x_i, y_i)` and its gradients.
///
/// # Errors
/// Empty or non-finite inputs, `y` not shaped like `x`, `alpha <= 0`.
pub fn alignment<A: NdFloat>(
    x: ArrayView2<A>,
    y: ArrayView2<A>,
    config: &AlignmentConfig,
) -> Result<PairLossGrad<A>> {
    validate::embeddings("alignment x", &x)?;
    validate::same_shape("alignment y", &x, &y)?;
    validate::embeddings("alignment y", &y)?;
    validate::parameter::<A>("alpha", config.alpha, "> 0", |a| a > 0.0)?;
    let (xn, yn) = (
        RowNormalized::new(x, config.normalize),
        RowNormalized::new(y, config.normalize),
    );
    let alpha = cast::<A>(config.alpha);
    let w = cast::<A>(1.0 / x.nrows() as f64);
    let diff = &xn.rows - &yn.rows;
    let mut grad = diff.clone();
    let mut loss = A::zero();
    for mut row in grad.rows_mut() {
        let norm = row.dot(&row).sqrt();
        loss += norm.powf(alpha);
        let coef = if norm > A::zero() {
            alpha * norm.powf(alpha - cast(2.0)) * w
        } else {
            A::zero()
        };
        row *= coef;
    }
    let grad_y = yn.backward(grad.mapv(|g| -g));
    Ok(PairLossGrad {
        loss: loss * w,
        grad_x: xn.backward(grad),
        grad_y,
    })
}

/// Uniformity of the rows of `x` and its gradient.
///
/// # Errors
/// Empty or non-finite `x`, fewer than two rows, `t <= 0`.
pub fn uniformity<A: NdFloat>(x: ArrayView2<A>, config: &UniformityConfig) -> Result<LossGrad<A>> {
    validate::embeddings("uniformity x", &x)?;
    validate::parameter::<A>("t", config.t, "> 0", |t| t > 0.0)?;
    let n = x.nrows();
    if n < 2 {
        return Err(Error::NoNegative {
            what: "uniformity",
            rows: n,
        });
    }
    let xn = RowNormalized::new(x, config.normalize);
    let r = &xn.rows;
    let t = cast::<A>(config.t);
    let pairs: Vec<(usize, usize)> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .collect();
    let potential: Array1<A> = pairs
        .iter()
        .map(|&(i, j)| {
            let d = &r.row(i) - &r.row(j);
            -t * d.dot(&d)
        })
        .collect();
    let lse = log_sum_exp(potential.iter().copied());
    let loss = lse - cast::<A>(pairs.len() as f64).ln();
    // d unif / d v_ij = softmax over pairs; d v_ij / d f_i = -2 t (f_i - f_j).
    let mut grad = Array2::zeros(r.raw_dim());
    for (&(i, j), &v) in pairs.iter().zip(&potential) {
        let coef = -cast::<A>(2.0) * t * (v - lse).exp();
        let d = &r.row(i) - &r.row(j);
        grad.row_mut(i).scaled_add(coef, &d);
        grad.row_mut(j).scaled_add(-coef, &d);
    }
    Ok(LossGrad {
        loss,
        grad: xn.backward(grad),
    })
}
