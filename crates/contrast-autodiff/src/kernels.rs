//! The matrix-multiply kernel, the engine's hot spot, and the hook to replace it.
//!
//! [`matmul`] calls the `gemm` crate for `f32` and `f64`: packed, cache-blocked micro-kernels
//! chosen at run time for the CPU (AVX-512 where present), parallel over the global rayon
//! pool (honouring `RAYON_NUM_THREADS`; small products stay on one thread). It reads
//! operands through their strides, so transposed views cost no copy. Chosen by measurement
//! over ndarray's default `dot` (matrixmultiply); see `benches/autodiff.rs`.

use std::any::TypeId;

use ndarray::{Array2, ArrayView2, NdFloat};

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
    let is_f32 = TypeId::of::<A>() == TypeId::of::<f32>();
    let is_f64 = TypeId::of::<A>() == TypeId::of::<f64>();
    if !(is_f32 || is_f64) {
        // NdFloat only has f32 and f64 today; keep a correct path for any other.
        return a.dot(&b);
    }
    // Uninitialised output: with `read_dst = false` gemm writes every element of `dst`
    // (in its first pass over `k`) before it reads any, so no memset is needed.
    let mut out = Array2::<A>::uninit((m, n));
    let (out_rs, out_cs) = strides2(out.strides());
    let (a_rs, a_cs) = strides2(a.strides());
    let (b_rs, b_cs) = strides2(b.strides());
    // SAFETY: the three pointers address arrays of the stated dims and strides (ndarray
    // guarantees every element within them is valid); `out` is uniquely owned and does
    // not alias `a` or `b`; `A` is f32 or f64 (checked above), which `gemm` supports, and
    // `MaybeUninit<A>` has `A`'s layout. With `read_dst = false` and `m, n, k > 0` gemm
    // overwrites all of `out`, so `assume_init` below sees initialised memory.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr().cast::<A>(),
            out_cs,
            out_rs,
            false,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            A::zero(),
            A::one(),
            false,
            false,
            false,
            parallelism(),
        );
        out.assume_init()
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
