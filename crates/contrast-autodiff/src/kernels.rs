//! The matrix-multiply kernel, the engine's hot spot, and the hook to replace it.
//!
//! [`matmul`] calls the `gemm` crate for `f32` and `f64`: packed, cache-blocked micro-kernels
//! chosen at run time for the CPU (AVX-512 where present), parallel over the global rayon
//! pool (honouring `RAYON_NUM_THREADS`; small products stay on one thread). It reads
//! operands through their strides, so transposed views cost no copy. Chosen by measurement
//! over ndarray's default `dot` (matrixmultiply); see `benches/autodiff.rs`.

use std::any::TypeId;

use ndarray::{Array2, ArrayView2, ArrayViewMut2, NdFloat};

use crate::error::Result;

/// A pluggable matmul kernel (e.g. a GPU one): computes `a · b` for `(m,k) x (k,n)`.
/// Installed with [`crate::Graph::set_matmul_backend`], it serves every forward and
/// backward product of that graph's `matmul` ops.
pub trait MatmulBackend<A>: Send + Sync {
    /// `a · b`. Shapes are already checked compatible by the caller.
    fn matmul(&self, a: ArrayView2<A>, b: ArrayView2<A>) -> Result<Array2<A>>;
}

/// The default CPU backend: [`matmul`].
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuMatmul;

impl<A: NdFloat> MatmulBackend<A> for CpuMatmul {
    fn matmul(&self, a: ArrayView2<A>, b: ArrayView2<A>) -> Result<Array2<A>> {
        Ok(matmul(a, b))
    }
}

/// `a · b` for `a: (m,k)`, `b: (k,n)`, any strides.
///
/// # Panics
/// When the inner dimensions differ (graph ops check shapes and return errors first).
pub fn matmul<A: NdFloat>(a: ArrayView2<A>, b: ArrayView2<A>) -> Array2<A> {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert_eq!(
        k, k2,
        "kernels::matmul: inner dimensions {k} and {k2} differ"
    );
    if m == 0 || n == 0 || k == 0 {
        return Array2::zeros((m, n));
    }
    if !(is::<A, f32>() || is::<A, f64>()) {
        // NdFloat only has f32 and f64 today; keep a correct path for any other.
        return a.dot(&b);
    }
    // Uninitialised output: with `read_dst = false` gemm writes every element of `dst`
    // (in its first pass over `k`) before it reads any, so no memset is needed.
    let mut out = Array2::<A>::uninit((m, n));
    // SAFETY: `out` is uniquely owned, does not alias `a` or `b`, and has shape (m, n);
    // `A` is f32 or f64 (checked above) and `MaybeUninit<A>` has `A`'s layout. With
    // `read_dst = false` and `m, n, k > 0` gemm overwrites all of `out`, so `assume_init`
    // below sees initialised memory.
    let strides = strides2(out.strides());
    unsafe {
        gemm_raw(
            a,
            b,
            out.as_mut_ptr().cast::<A>(),
            strides,
            false,
            parallelism(),
        );
        out.assume_init()
    }
}

/// `dst = a · b`, or `dst += a · b` with `accumulate`, on the calling thread only: for the
/// products that are themselves one task of a parallel loop (e.g. one chunk of a batch).
///
/// # Panics
/// When the shapes do not match (callers check them first).
pub fn matmul_into_serial<A: NdFloat>(
    a: ArrayView2<A>,
    b: ArrayView2<A>,
    mut dst: ArrayViewMut2<A>,
    accumulate: bool,
) {
    let ((m, k), (k2, n)) = (a.dim(), b.dim());
    assert!(
        k == k2 && dst.dim() == (m, n),
        "kernels::matmul_into_serial: {:?}·{:?} into {:?}",
        a.shape(),
        b.shape(),
        dst.shape()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 || !(is::<A, f32>() || is::<A, f64>()) {
        let product = a.dot(&b);
        if accumulate {
            dst += &product;
        } else {
            dst.assign(&product);
        }
        return;
    }
    let strides = strides2(dst.strides());
    // SAFETY: `dst` is a unique, initialised (m, n) view that does not alias `a` or `b`
    // (the borrow checker guarantees it); `A` is f32 or f64.
    unsafe {
        gemm_raw(
            a,
            b,
            dst.as_mut_ptr(),
            strides,
            accumulate,
            gemm::Parallelism::None,
        )
    }
}

fn is<A: 'static, B: 'static>() -> bool {
    TypeId::of::<A>() == TypeId::of::<B>()
}

/// The one call into `gemm`: `dst = a · b`, or `dst += a · b` with `read_dst`.
///
/// # Safety
/// `a: (m,k)`, `b: (k,n)` with `m, n, k > 0`; `dst` addresses an `(m, n)` array with the
/// given (row, column) strides that does not alias `a` or `b` and is valid for writes (and
/// initialised when `read_dst`); `A` is f32 or f64.
unsafe fn gemm_raw<A: NdFloat>(
    a: ArrayView2<A>,
    b: ArrayView2<A>,
    dst: *mut A,
    (dst_rs, dst_cs): (isize, isize),
    read_dst: bool,
    parallelism: gemm::Parallelism,
) {
    let ((m, k), n) = (a.dim(), b.ncols());
    let (a_rs, a_cs) = strides2(a.strides());
    let (b_rs, b_cs) = strides2(b.strides());
    // SAFETY: the caller's contract; ndarray guarantees every element of `a` and `b` within
    // their dims and strides is valid.
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
            A::one(),
            A::one(),
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// gemm's thread setting: every thread of the current rayon pool (the global one, sized by
/// `RAYON_NUM_THREADS`), or none on a one-thread pool. gemm itself keeps products below
/// its threading threshold (`m·n·k` under 48·48·256 per k-block) on one thread. Either way
/// the result is bit-identical: gemm splits the output into tiles, never the `k` sum.
fn parallelism() -> gemm::Parallelism {
    match rayon::current_num_threads() {
        0 | 1 => gemm::Parallelism::None,
        n => gemm::Parallelism::Rayon(n),
    }
}

fn strides2(s: &[isize]) -> (isize, isize) {
    (s[0], s[1])
}
