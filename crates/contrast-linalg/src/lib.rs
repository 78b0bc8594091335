//! `contrast-linalg`: the numerics that several crates of `contrast` share, written once.
//!
//! The lowest crate of the workspace: it depends only on `ndarray`, `rayon` and `gemm`, and
//! every crate above it (autodiff, losses, sampling, training) calls these functions instead
//! of keeping its own copy.
//!
//! # The math
//!
//! | item | computes | shapes |
//! |---|---|---|
//! | [`matmul`] | `C = A B` into a fresh matrix | `(m, k) x (k, n) -> (m, n)` |
//! | [`gemm_into`], [`par_gemm`] | `C <- alpha A B + beta C` (one thread / row blocks) | as above |
//! | [`RowNormalized`], [`l2_normalize_rows`] | `zn_i = z_i / max(\|\|z_i\|\|, eps)`, `eps = `[`NORM_EPS`] | `(n, d) -> (n, d)` |
//! | [`RowNormalized::backward`] | `dz_i = (dzn_i - zn_i (zn_i . dzn_i)) / \|\|z_i\|\|`; `dzn_i / eps` when clamped | `(n, d)` |
//! | [`pairwise_distances`], [`PairDistances`] | `d_ij = \|\|x_i - x_j\|\|_2` (unsquared) | `(n, d) -> (n, n)` |
//! | [`PairDistances::backward`] | `dx_i = sum_j (g_ij + g_ji) (x_i - x_j) / d_ij` (0 where `d_ij = 0`) | `(n, n) -> (n, d)` |
//!
//! # Conventions
//!
//! - Everything is generic over `A: ndarray::NdFloat`: gradient checks run in f64, training
//!   in f32. Matrices are `(rows, cols)` views with any strides.
//! - `eps = 1e-12` is torch's `F.normalize` default, which the peer libraries
//!   (pytorch-metric-learning, lightly) inherit; the losses match them through it.
//! - Results never depend on the number of threads: products split only their output
//!   among threads (never a sum), distances compute each entry on its own.
//! - There are no fallible functions here: shapes that do not chain are a caller's bug and
//!   panic (as ndarray's `dot` does); the crates above check user input and return typed
//!   errors before calling in.
//! - The crate's one `unsafe` block is the call into `gemm` (see [`gemm`]'s source).
//!
//! # Example
//!
//! Cosine similarities of a batch and the gradient of their sum, by hand:
//!
//! ```
//! use contrast_linalg::{RowNormalized, matmul};
//! use ndarray::array;
//!
//! let z = array![[3.0f64, 4.0], [1.0, 0.0], [0.0, 2.0]];
//! let zn = RowNormalized::new(z.view(), true);
//! let s = matmul(zn.rows.view(), zn.rows.t()); // s_ij = cos(z_i, z_j)
//! assert!((s[[0, 1]] - 0.6).abs() < 1e-15 && (s[[1, 1]] - 1.0).abs() < 1e-15);
//!
//! // d sum(s) / d zn = 2 * (sum of all rows), then back through the normalisation.
//! let total = zn.rows.sum_axis(ndarray::Axis(0));
//! let dzn = ndarray::Array2::from_shape_fn(z.dim(), |(_, j)| 2.0 * total[j]);
//! let dz = zn.backward(dzn);
//! // The gradient of a row is orthogonal to that row (its norm does not matter).
//! for (g, r) in dz.rows().into_iter().zip(z.rows()) {
//!     assert!(g.dot(&r).abs() < 1e-12);
//! }
//! ```

pub mod distance;
#[cfg(test)]
mod finite_differences;
pub mod gemm;
pub mod normalize;

pub use distance::{PairDistances, pairwise_distances};
pub use gemm::{gemm_into, matmul, par_gemm};
pub use normalize::{NORM_EPS, RowNormalized, l2_normalize_rows};
