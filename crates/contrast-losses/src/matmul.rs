//! Matrix products: `out = alpha a b + beta out`, on one thread ([`gemm_into`]) or shared
//! out over row blocks with rayon ([`par_gemm`]).
//!
//! f32 and f64 go to the `gemm` crate (runtime-selected AVX2 / AVX-512 kernels, about 20%
//! faster than ndarray's `matrixmultiply` here); other float types to ndarray. Each call
//! runs on one thread and parallelism comes only from fixed row blocks, so results never
//! depend on the thread count.

use ndarray::{ArrayView2, ArrayViewMut2, Axis, NdFloat, linalg::general_mat_mul};
use rayon::prelude::*;
use std::any::TypeId;

/// Rows per parallel task: large enough for the packed kernel to pay off.
const ROW_BLOCK: usize = 64;

/// `out = alpha a b + beta out` on the calling thread.
///
/// # Panics
/// If the shapes do not chain (`a: m x k`, `b: k x n`, `out: m x n`); callers here build
/// them from checked inputs.
pub(crate) fn gemm_into<A: NdFloat>(
    alpha: A,
    a: &ArrayView2<A>,
    b: &ArrayView2<A>,
    beta: A,
    out: &mut ArrayViewMut2<A>,
) {
    let ((m, k), (k2, n)) = (a.dim(), b.dim());
    assert!(
        k == k2 && out.dim() == (m, n),
        "gemm_into: {m}x{k} times {k2}x{n} into {:?}",
        out.dim()
    );
    let native =
        TypeId::of::<A>() == TypeId::of::<f32>() || TypeId::of::<A>() == TypeId::of::<f64>();
    if !native || m == 0 || n == 0 || k == 0 {
        general_mat_mul(alpha, a, b, beta, out);
        return;
    }
    let stride = |s: &[isize]| (s[0], s[1]);
    let (os, as_, bs) = (
        stride(out.strides()),
        stride(a.strides()),
        stride(b.strides()),
    );
    // gemm computes `dst = alpha dst + beta lhs rhs` (its alpha and beta are swapped
    // with respect to BLAS) and reads `dst` only when told to.
    let read_dst = beta != A::zero();
    // SAFETY: the pointers address the first elements of views whose shapes were checked
    // above and whose strides (in elements, possibly negative) describe exactly where
    // ndarray keeps every element, so gemm reads and writes only those. `out` is a unique
    // borrow, so it aliases neither `a` nor `b`. `A` is f32 or f64 (checked above), types
    // gemm implements; it dispatches on the `TypeId` itself.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            os.1,
            os.0,
            read_dst,
            a.as_ptr(),
            as_.1,
            as_.0,
            b.as_ptr(),
            bs.1,
            bs.0,
            beta,
            alpha,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

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
        .for_each(|(mut out, a)| gemm_into(alpha, &a, &b, beta, &mut out));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, s};

    #[test]
    fn gemm_into_matches_ndarray_for_strided_views_and_both_betas() {
        let a = Array2::from_shape_fn((7, 12), |(i, j)| (i * 3 + j) as f64 * 0.25 - 2.0);
        let b = Array2::from_shape_fn((5, 9), |(i, j)| (i + 2 * j) as f64 * 0.5 - 1.0);
        // A strided lhs (every other column), a transposed rhs, an output with padding.
        let lhs = a.slice(s![.., ..;2]); // 7 x 6
        let rhs = b.t();
        let rhs = rhs.slice(s![..6, ..]); // 6 x 5
        let mut padded = Array2::from_elem((7, 8), 3.0);
        let want = lhs.dot(&rhs) * 2.0 + 1.5;
        gemm_into(2.0, &lhs, &rhs, 0.5, &mut padded.slice_mut(s![.., ..5]));
        assert_eq!(padded.slice(s![.., ..5]), want);
        assert!(padded.slice(s![.., 5..]).iter().all(|&x| x == 3.0));
        let mut fresh = Array2::from_elem((7, 5), f32::NAN);
        let (l32, r32) = (lhs.mapv(|x| x as f32), rhs.mapv(|x| x as f32));
        gemm_into(1.0, &l32.view(), &r32.view(), 0.0, &mut fresh.view_mut());
        assert_eq!(
            fresh,
            l32.dot(&r32),
            "beta = 0 must overwrite, not read, NaN"
        );
    }
}
