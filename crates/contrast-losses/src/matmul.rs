//! Row-parallel matrix product: `out = a . b`, the row blocks of `out` shared out with rayon.
//!
//! ndarray's `dot` runs on one thread; the all-pairs similarity `zn zn^T` and the gradient
//! product `M zn` are the two costly steps of every loss here, so both go through this.

use ndarray::{ArrayView2, ArrayViewMut2, Axis, NdFloat, linalg::general_mat_mul};
use rayon::prelude::*;

/// Rows per parallel task: large enough for the packed kernel to pay off.
const ROW_BLOCK: usize = 64;

/// `out = alpha a b + beta out`, parallel over row blocks of `a` and `out`.
pub(crate) fn par_gemm<A: NdFloat>(
    alpha: A,
    a: ArrayView2<A>,
    b: ArrayView2<A>,
    beta: A,
    mut out: ArrayViewMut2<A>,
) {
    debug_assert_eq!(a.nrows(), out.nrows());
    out.axis_chunks_iter_mut(Axis(0), ROW_BLOCK)
        .into_par_iter()
        .zip(a.axis_chunks_iter(Axis(0), ROW_BLOCK))
        .for_each(|(mut out, a)| general_mat_mul(alpha, &a, &b, beta, &mut out));
}
