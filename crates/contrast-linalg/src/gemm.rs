//! Matrix products through the `gemm` crate: `C = A B` into a fresh matrix ([`matmul`]) and
//! `C <- alpha A B + beta C` into an existing one, on the calling thread ([`gemm_into`]) or
//! over row blocks with rayon ([`par_gemm`]).
//!
//! `gemm` picks packed, cache-blocked AVX2 / AVX-512 micro-kernels at run time; measured
//! against ndarray's `dot` (matrixmultiply) it is about 20% faster on the products of this
//! workspace (`benches/autodiff.rs`). Operands are read through their strides, so transposed
//! or sliced views cost no copy. Float types other than f32 and f64 (none exist in
//! `NdFloat` today) take ndarray's path.
//!
//! **Thread count never changes a result.** [`matmul`] lets `gemm` use the current rayon
//! pool, and `gemm` splits only the output into tiles, never the sum over `k`; [`par_gemm`]
//! splits the output into fixed blocks of [`ROW_BLOCK`] rows, each computed on one thread.

use std::any::TypeId;

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, NdFloat, linalg::general_mat_mul};
use rayon::prelude::*;

/// Rows per parallel task of [`par_gemm`]: large enough for the packed kernel to pay off.
pub const ROW_BLOCK: usize = 64;

/// `a b` for `a: (m, k)`, `b: (k, n)`, any strides, into a new `(m, n)` matrix.
///
/// `gemm` runs on every thread of the current rayon pool (the global one honours
/// `RAYON_NUM_THREADS`; products below its threading threshold stay on one thread), with
/// a bit-identical result for any thread count.
///
/// # Panics
/// When the inner dimensions differ; callers check shapes and return their own errors first.
///
/// ```
/// use contrast_linalg::matmul;
/// use ndarray::array;
///
/// let a = array![[1.0f32, 2.0], [3.0, 4.0]];
/// assert_eq!(matmul(a.view(), a.t()), array![[5.0, 11.0], [11.0, 25.0]]);
/// ```
pub fn matmul<A: NdFloat>(a: ArrayView2<A>, b: ArrayView2<A>) -> Array2<A> {
    let ((m, k), (k2, n)) = (a.dim(), b.dim());
    assert_eq!(k, k2, "matmul: inner dimensions {k} and {k2} differ");
    if m == 0 || n == 0 || k == 0 || !is_native::<A>() {
        return a.dot(&b);
    }
    product(A::one(), a, b, A::zero(), None, pool_parallelism())
        .expect("a product without a destination returns a fresh matrix")
}

/// `out = alpha a b + beta out` on the calling thread. With `beta = 0`, `out` is written
/// without being read (a NaN already there does not leak into the result).
///
/// # Panics
/// If the shapes do not chain (`a: (m, k)`, `b: (k, n)`, `out: (m, n)`).
///
/// ```
/// use contrast_linalg::gemm_into;
/// use ndarray::{array, Array2};
///
/// let a = array![[1.0f64, 2.0]];
/// let mut out = Array2::from_elem((1, 1), 10.0);
/// gemm_into(2.0, a.view(), a.t(), 0.5, out.view_mut());
/// assert_eq!(out[[0, 0]], 2.0 * 5.0 + 0.5 * 10.0);
/// ```
pub fn gemm_into<A: NdFloat>(
    alpha: A,
    a: ArrayView2<A>,
    b: ArrayView2<A>,
    beta: A,
    mut out: ArrayViewMut2<A>,
) {
    let ((m, k), (k2, n)) = (a.dim(), b.dim());
    assert!(
        k == k2 && out.dim() == (m, n),
        "gemm_into: {m}x{k} times {k2}x{n} into {:?}",
        out.dim()
    );
    if m == 0 || n == 0 || k == 0 || !is_native::<A>() {
        general_mat_mul(alpha, &a, &b, beta, &mut out);
        return;
    }
    product(alpha, a, b, beta, Some(&mut out), gemm::Parallelism::None);
}

/// `out = alpha a b + beta out`, the rows of `a` and `out` shared out in blocks of
/// [`ROW_BLOCK`] over rayon, each block by [`gemm_into`].
///
/// # Panics
/// As [`gemm_into`].
pub fn par_gemm<A: NdFloat>(
    alpha: A,
    a: ArrayView2<A>,
    b: ArrayView2<A>,
    beta: A,
    mut out: ArrayViewMut2<A>,
) {
    assert_eq!(
        a.nrows(),
        out.nrows(),
        "par_gemm: {} rows of a for {} rows of out",
        a.nrows(),
        out.nrows()
    );
    out.axis_chunks_iter_mut(Axis(0), ROW_BLOCK)
        .into_par_iter()
        .zip(a.axis_chunks_iter(Axis(0), ROW_BLOCK))
        .for_each(|(out, a)| gemm_into(alpha, a, b, beta, out));
}

fn is_native<A: 'static>() -> bool {
    TypeId::of::<A>() == TypeId::of::<f32>() || TypeId::of::<A>() == TypeId::of::<f64>()
}

/// gemm's thread setting for [`matmul`]: every thread of the current rayon pool, or none on
/// a one-thread pool.
fn pool_parallelism() -> gemm::Parallelism {
    match rayon::current_num_threads() {
        0 | 1 => gemm::Parallelism::None,
        n => gemm::Parallelism::Rayon(n),
    }
}

fn strides2(s: &[isize]) -> (isize, isize) {
    (s[0], s[1])
}

/// The one call into `gemm`: `dst = alpha a b + beta dst` for `dst = into`, or for a fresh
/// uninitialised `(m, n)` matrix (returned) when `into` is `None`. The callers have checked
/// that the shapes chain, that `m, n, k > 0` and that `A` is f32 or f64.
fn product<A: NdFloat>(
    alpha: A,
    a: ArrayView2<A>,
    b: ArrayView2<A>,
    beta: A,
    into: Option<&mut ArrayViewMut2<A>>,
    parallelism: gemm::Parallelism,
) -> Option<Array2<A>> {
    let ((m, k), n) = (a.dim(), b.ncols());
    debug_assert!(m > 0 && n > 0 && k > 0 && b.nrows() == k && is_native::<A>());
    // A fresh output needs no memset: with `read_dst = false` gemm writes every element of
    // `dst` (in its first pass over `k`) before it reads any.
    let mut fresh = into.is_none().then(|| Array2::<A>::uninit((m, n)));
    let (dst, (dst_rs, dst_cs), read_dst) = match (into, fresh.as_mut()) {
        (Some(out), _) => {
            debug_assert_eq!(out.dim(), (m, n));
            (out.as_mut_ptr(), strides2(out.strides()), beta != A::zero())
        }
        (None, Some(fresh)) => (
            fresh.as_mut_ptr().cast::<A>(),
            strides2(fresh.strides()),
            false,
        ),
        (None, None) => unreachable!("`fresh` is made exactly when `into` is None"),
    };
    let (a_rs, a_cs) = strides2(a.strides());
    let (b_rs, b_cs) = strides2(b.strides());
    // SAFETY: each pointer addresses the first element of an array of the stated dims whose
    // strides (in elements, possibly negative) say where ndarray keeps every element, so gemm
    // reads and writes only those. `dst` is a unique borrow or a matrix made here, so it
    // aliases neither `a` nor `b`. `A` is f32 or f64 (checked by every caller), which gemm
    // implements and dispatches on by `TypeId`; `MaybeUninit<A>` has the layout of `A`.
    // gemm computes `dst = alpha dst + beta a b` (its alpha and beta are swapped with respect
    // to BLAS) and reads `dst` only when `read_dst`; for a fresh matrix `read_dst` is false
    // and `m, n, k > 0`, so gemm has initialised every element before `assume_init`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            dst_cs,
            dst_rs,
            read_dst,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            beta,
            alpha,
            false,
            false,
            false,
            parallelism,
        );
        fresh.map(|fresh| fresh.assume_init())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::s;
    use proptest::prelude::*;

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
        gemm_into(2.0, lhs, rhs, 0.5, padded.slice_mut(s![.., ..5]));
        assert_eq!(padded.slice(s![.., ..5]), want);
        assert!(padded.slice(s![.., 5..]).iter().all(|&x| x == 3.0));
        let mut fresh = Array2::from_elem((7, 5), f32::NAN);
        let (l32, r32) = (lhs.mapv(|x| x as f32), rhs.mapv(|x| x as f32));
        gemm_into(1.0, l32.view(), r32.view(), 0.0, fresh.view_mut());
        assert_eq!(
            fresh,
            l32.dot(&r32),
            "beta = 0 must overwrite, not read, NaN"
        );
    }

    #[test]
    fn empty_products_are_zero_or_scaled() {
        let a = Array2::<f64>::zeros((3, 0));
        let b = Array2::<f64>::zeros((0, 2));
        assert_eq!(matmul(a.view(), b.view()), Array2::zeros((3, 2)));
        let mut out = Array2::from_elem((3, 2), 4.0);
        gemm_into(1.0, a.view(), b.view(), 0.5, out.view_mut());
        assert_eq!(out, Array2::from_elem((3, 2), 2.0));
        assert_eq!(
            matmul(
                Array2::<f32>::zeros((0, 4)).view(),
                Array2::zeros((4, 3)).view()
            )
            .dim(),
            (0, 3)
        );
    }

    #[test]
    #[should_panic(expected = "inner dimensions 3 and 2 differ")]
    fn matmul_panics_on_a_broken_chain() {
        let _ = matmul(
            Array2::<f64>::zeros((2, 3)).view(),
            Array2::zeros((2, 2)).view(),
        );
    }

    /// gemm splits only the output among threads, so one and four threads agree bit for bit
    /// on a product large enough to be threaded.
    #[test]
    fn matmul_does_not_depend_on_the_thread_count() {
        let a = Array2::from_shape_fn((256, 300), |(i, j)| {
            ((i * 7 + j * 13) % 17) as f32 * 0.1 - 0.8
        });
        let b = Array2::from_shape_fn((300, 192), |(i, j)| {
            ((i * 5 + j * 3) % 11) as f32 * 0.2 - 1.0
        });
        let on = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a local pool")
                .install(|| matmul(a.view(), b.view()))
        };
        let one = on(1);
        assert_eq!(one, on(4));
        let want = a.dot(&b);
        assert!(
            one.iter()
                .zip(&want)
                .all(|(x, y)| (x - y).abs() <= 1e-3 * (1.0 + y.abs()))
        );
    }

    fn values(rows: usize, cols: usize) -> impl Strategy<Value = Array2<f64>> {
        proptest::collection::vec(-2.0f64..2.0, rows * cols)
            .prop_map(move |v| Array2::from_shape_vec((rows, cols), v).expect("rows * cols"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// `matmul` (f64 and f32, plain and transposed operands) and `par_gemm` (row blocks,
        /// both betas) against a naive triple loop; shapes straddle `ROW_BLOCK`.
        #[test]
        fn products_match_the_naive_sum(
            (a, b, c) in (1usize..150, 1usize..20, 1usize..20)
                .prop_flat_map(|(m, k, n)| (values(m, k), values(k, n), values(m, n)))
        ) {
            let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
            let naive = Array2::from_shape_fn((m, n), |(i, j)| {
                (0..k).map(|l| a[[i, l]] * b[[l, j]]).sum::<f64>()
            });
            let close = |x: &Array2<f64>, y: &Array2<f64>, tol: f64| {
                x.iter().zip(y).all(|(p, q)| (p - q).abs() <= tol * (1.0 + q.abs()))
            };
            prop_assert!(close(&matmul(a.view(), b.view()), &naive, 1e-12));
            let bt = b.t().to_owned();
            prop_assert!(close(&matmul(a.view(), bt.t()), &naive, 1e-12));
            let (a32, b32) = (a.mapv(|x| x as f32), b.mapv(|x| x as f32));
            prop_assert!(close(&matmul(a32.view(), b32.view()).mapv(f64::from), &naive, 1e-4));
            let mut out = c.clone();
            par_gemm(0.5, a.view(), b.view(), 2.0, out.view_mut());
            prop_assert!(close(&out, &(&naive * 0.5 + &c * 2.0), 1e-12));
            let mut over = Array2::from_elem((m, n), f64::NAN);
            par_gemm(1.0, a.view(), b.view(), 0.0, over.view_mut());
            prop_assert!(close(&over, &naive, 1e-12));
        }
    }
}
