//! Column statistics over a batch, shared by the non-contrastive losses (VICReg, Barlow
//! Twins), which regularise each embedding dimension across the batch.
//!
//! ```text
//! xc_ij = x_ij - m_j,   m_j = (1 / n) sum_i x_ij
//! std_j = sqrt(sum_i xc_ij^2 / divisor + eps)   (divisor n - 1: unbiased, n: biased)
//! ```

use crate::validate::cast;
use ndarray::{Array1, Array2, ArrayView2, Axis, NdFloat};

/// The rows minus their column means.
pub(crate) fn centred<A: NdFloat>(x: ArrayView2<A>) -> Array2<A> {
    let inv_n = cast::<A>(1.0 / x.nrows() as f64);
    let mean = x.sum_axis(Axis(0)) * inv_n;
    &x - &mean
}

/// `sqrt(sum_i xc_ij^2 / divisor + eps)` per column of the centred `xc`.
pub(crate) fn column_std<A: NdFloat>(xc: &Array2<A>, divisor: usize, eps: f64) -> Array1<A> {
    let inv = cast::<A>(1.0 / divisor as f64);
    let eps = cast::<A>(eps);
    xc.map_axis(Axis(0), |c| (c.dot(&c) * inv + eps).sqrt())
}
