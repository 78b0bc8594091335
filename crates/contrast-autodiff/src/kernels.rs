//! The matrix-multiply kernel, the engine's hot spot, and the hook to replace it.
//!
//! By default every `matmul` op runs [`contrast_linalg::matmul`]: the `gemm` crate's packed,
//! cache-blocked micro-kernels chosen at run time for the CPU (AVX-512 where present),
//! parallel over the current rayon pool (honouring `RAYON_NUM_THREADS`; small products stay
//! on one thread) with a result that does not depend on the thread count. Chosen by
//! measurement over ndarray's default `dot` (matrixmultiply); see `benches/autodiff.rs`.
//! A [`MatmulBackend`] (e.g. the GPU one of `contrast-nn`) replaces it per graph.

use ndarray::{Array2, ArrayView2, NdFloat};

use crate::error::Result;

/// A pluggable matmul kernel (e.g. a GPU one): computes `a · b` for `(m,k) x (k,n)`.
/// Installed with [`crate::Graph::set_matmul_backend`], it serves every forward and
/// backward product of that graph's `matmul` ops.
pub trait MatmulBackend<A>: Send + Sync {
    /// `a · b`. Shapes are already checked compatible by the caller.
    fn matmul(&self, a: ArrayView2<A>, b: ArrayView2<A>) -> Result<Array2<A>>;
}

/// The default CPU backend: [`contrast_linalg::matmul`].
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuMatmul;

impl<A: NdFloat> MatmulBackend<A> for CpuMatmul {
    fn matmul(&self, a: ArrayView2<A>, b: ArrayView2<A>) -> Result<Array2<A>> {
        Ok(contrast_linalg::matmul(a, b))
    }
}
