//! GPU kernels for contrastive learning, in WGSL, run through wgpu: on Vulkan, Metal,
//! DX12 and in browsers, no CUDA needed. Every kernel has a CPU reference here, and
//! the tests compare the two on random shapes.
//!
//! # The math
//! - [`gemm`]: `C = alpha op(A) op(B)`, `op` identity or transpose
//!   ([`matmul`] `A B`, [`matmul_nt`] `A B^T`, [`matmul_tn`] `A^T B`).
//! - [`l2_normalize_rows`]: `zn_i = z_i / max(||z_i||, eps)`; backward
//!   `dz_i = (dzn_i - zn_i (zn_i . dzn_i)) / max(||z_i||, eps)`.
//! - [`cosine_similarity`]: `S = norm(A) norm(B)^T / T`.
//! - [`nt_xent()`] (fused, SimCLR layout: rows `i` and `(i + N) mod 2N` positive):
//!   `loss = (1/2N) sum_i [log sum_{j != i} exp(s_ij) - s_i,p(i)]`, `s = zn zn^T / T`,
//!   with its exact gradient, streaming over column tiles so the `2N x 2N` matrix
//!   is never stored (see [`nt_xent`](mod@nt_xent) for the formulas and the kernel plan).
//! - [`top_k()`]: the `k` best columns of each row (hard-negative mining).
//!
//! # Conventions
//! f32 on the device, row-major [`GpuMatrix`] buffers that stay resident: kernels take
//! and return `GpuMatrix`, so chains run without the host; only a download waits.
//! Reductions: the NT-Xent loss is the mean over the `2N` anchors. CPU references
//! accumulate in f64. A missing adapter is [`Error::NoAdapter`], never a panic, so
//! callers can fall back to the CPU. `WGPU_BACKEND` and `WGPU_ADAPTER_NAME` pick the
//! adapter (see [`GpuContext::new`]).
//!
//! # Example
//! ```
//! use contrast_gpu::{GpuContext, GpuMatrix, matmul, gemm_reference, Transpose};
//! use ndarray::array;
//!
//! let a = array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]];
//! let b = array![[1.0f32, 0.0], [0.0, 1.0], [1.0, 1.0]];
//! let c = match GpuContext::new() {
//!     Ok(ctx) => {
//!         let (ga, gb) = (GpuMatrix::upload(&ctx, a.view())?, GpuMatrix::upload(&ctx, b.view())?);
//!         matmul(&ctx, &ga, &gb)?.download(&ctx)?
//!     }
//!     // No GPU here: the CPU reference computes the same function.
//!     Err(e) => {
//!         eprintln!("contrast-gpu example: {e}; using the CPU reference");
//!         gemm_reference(a.view(), Transpose::No, b.view(), Transpose::No, 1.0)?
//!     }
//! };
//! assert_eq!(c, array![[4.0f32, 5.0], [10.0, 11.0]]);
//! # Ok::<(), contrast_gpu::Error>(())
//! ```

mod context;
mod error;
mod kernel;
mod matmul;
mod matrix;
pub mod normalize;
pub mod nt_xent;
pub mod top_k;

pub use context::{AdapterSummary, GpuContext};
pub use error::{Error, Result};
pub use matmul::{Transpose, gemm, gemm_reference, matmul, matmul_nt, matmul_tn};
pub use matrix::GpuMatrix;
pub use normalize::{
    NORM_EPS, Normalized, cosine_similarity, cosine_similarity_reference, l2_normalize_rows,
    l2_normalize_rows_backward, l2_normalize_rows_backward_reference, l2_normalize_rows_reference,
};
pub use nt_xent::{NtXentForward, nt_xent, nt_xent_backward, nt_xent_forward, nt_xent_reference};
pub use top_k::{MAX_K, TopK, top_k, top_k_reference};
