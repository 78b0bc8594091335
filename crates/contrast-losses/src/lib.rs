//! `contrast-losses`: contrastive losses as pure functions over `ndarray` views, each
//! returning the loss and its exact analytic gradient with respect to every embedding input.
//!
//! # The math
//!
//! Rows are L2-normalised inside every cosine loss, `zn_i = z_i / max(||z_i||, 1e-12)`
//! (torch's `F.normalize`; the gradient flows through it, see
//! [`contrast_linalg::RowNormalized`]), and logits
//! are `s_ij = zn_i . zn_j / T`. Each module opens with its formula; in short:
//!
//! | loss | formula (per anchor) | reduction | equals |
//! |---|---|---|---|
//! | [`nt_xent()`] | `lse_{k != i} s_ik - s_i,p(i)`, `p(i) = (i + N) mod 2N` | mean over 2N anchors | pml `NTXentLoss` (labels `[0..N, 0..N]`), lightly `NTXentLoss` |
//! | [`nt_xent_masked`] | as NT-Xent, `k` over the negatives a [`NegativeMask`] keeps; also `l_i`, `dL/dT` | mean over 2N anchors | torch `cross_entropy` on masked logits |
//! | [`info_nce()`] | `lse([q.k+, q.n_1..n_K] / T) - q.k+ / T`; `in_batch`: the other keys too (CLIP); also `dL/dT` | mean over queries | MoCo / torch cross-entropy; CLIP (open_clip `ClipLoss`, symmetric = mean of both directions) |
//! | [`supcon()`] | `-(1/|P|) sum_p (s_ip - lse_{k != i} s_ik)` | mean over anchors with positives | pml `SupConLoss` |
//! | [`nt_xent_pairs`] | `-s_ip + log(exp s_ip + sum_neg exp s_in)` | mean over positive pairs | pml `NTXentLoss` with labels |
//! | [`positives_in_log`] | `-lse_P s_ip + lse_{k != i} s_ik` | mean over anchors with positives | solo-learn / VISSL |
//! | [`triplet_margin`] | `max(|a-p+eps| - |a-n+eps| + m, 0)` | mean / sum / none | `F.triplet_margin_loss` |
//! | [`triplet_margin_labels`] | `max(d_ap - d_an + m, 0)` all triplets | mean of non-zero | pml `TripletMarginLoss` |
//! | [`contrastive_margin()`] | `max(d - m+, 0)`, `max(m- - d, 0)` | mean non-zero pos + neg | pml `ContrastiveLoss` |
//! | [`dcl()`], [`dcl_masked`] | `-w s_ip + lse_{k not in {i,p}} s_ik` | mean over 2N | lightly `DCLLoss`, `DCLWLoss` |
//! | [`debiased()`], [`hcl()`] | `-log(pos / (pos + Ng))` | mean over 2N | Chuang et al., Robinson et al. |
//! | [`alignment`], [`uniformity`] | `E |f(x)-f(y)|^2`, `log E exp(-2 |f(x)-f(y)|^2)` | means | Wang and Isola |
//! | [`siglip()`] | `softplus(-z_ij (exp(t) xn_i.yn_j + b))`, `z = 2I - 1`; grads for x, y, t, b | sum over n^2 pairs / n | open_clip `SigLipLoss` (its formula in torch) |
//! | [`vicreg()`] | `lambda MSE + mu (var_a + var_b)/2 + nu (cov_a + cov_b)`, unbiased var, `eps = 1e-4` | batch statistics | lightly `VICRegLoss` |
//! | [`barlow_twins()`] | `sum (1 - c_jj)^2 + lambda sum_{j != k} c_jk^2`, `c = a^T b^ / n` (batch norm, biased var, `eps = 1e-5`) | batch statistics | lightly `BarlowTwinsLoss` |
//!
//! # Conventions
//!
//! - Embeddings are `(n, D)` matrices, one row per sample. The two-view layout `(2N, D)`
//!   pairs rows `i` and `i + N` (SimCLR). Labelled losses take one `usize` label per row.
//! - Every function checks its input and returns [`Error`] for empty or non-finite input,
//!   bad hyper-parameters, mismatched shapes or labels and batches without a negative.
//! - **Anchors without a positive** (a class seen once) in the labelled losses follow
//!   [`NoPositive`]: skipped, out of the mean, and listed in [`LabelLossGrad::skipped`]
//!   (default, as pytorch-metric-learning), or an [`Error::NoPositive`] naming the anchor.
//! - **Negatives masks** ([`NegativeMask`]) remove chosen negatives from the two-view
//!   softmax losses: duplicates of one instance (false negatives), or all but the k
//!   hardest (the top-k lists of a miner). Masked losses are evaluated densely.
//! - **Learnable temperature**: [`nt_xent_masked`] and [`info_nce()`] return `dL/dT`;
//!   the graph nodes of `autodiff` (feature) take CLIP's log-scale `t` (`T = exp(-t)`) as a scalar
//!   node, and SigLIP's log-scale and bias are arguments with their own gradients.
//! - Log-sum-exp always subtracts the maximum and `log sigmoid` is a stable softplus:
//!   T = 0.01 with norms of 1e4 stays finite.
//! - NT-Xent and InfoNCE switch to a tiled evaluation ([`tiled`]) above
//!   [`AUTO_TILED_ABOVE`] logits, with memory linear in the batch.
//! - Feature `autodiff`: each loss as a `contrast_autodiff` graph op. Feature `gpu`: the
//!   fused WGSL NT-Xent.
//!
//! # Example
//!
//! ```
//! use contrast_losses::{nt_xent, NtXentConfig};
//! use ndarray::array;
//!
//! // Two samples, two views each: rows 0 and 2 are a pair, rows 1 and 3 are a pair.
//! let z = array![[1.0f64, 0.1], [0.0, 1.0], [0.9, 0.2], [0.1, 1.1]];
//! let out = nt_xent(z.view(), &NtXentConfig::new(0.5)).unwrap();
//! assert!(out.loss.is_finite() && out.loss > 0.0);
//! assert_eq!(out.grad.shape(), &[4, 2]);
//! // Odd row counts cannot be split into pairs:
//! assert!(nt_xent(z.slice(ndarray::s![..3, ..]), &NtXentConfig::new(0.5)).is_err());
//! ```

pub mod align_uniform;
#[cfg(feature = "autodiff")]
pub mod autodiff;
pub mod barlow_twins;
mod batch_statistics;
pub mod contrastive_margin;
pub mod dcl;
pub mod debiased;
pub mod error;
pub mod hcl;
pub mod info_nce;
mod labels;
pub mod log_sum_exp;
mod logits;
pub mod multi_positive;
pub mod negative_mask;
pub mod nt_xent;
pub mod output;
mod row_softmax;
pub mod siglip;
pub mod supcon;
mod tile_pairs;
pub mod tiled;
pub mod triplet;
mod validate;
pub mod vicreg;

pub use align_uniform::{AlignmentConfig, UniformityConfig, alignment, uniformity};
pub use barlow_twins::{BarlowTwinsConfig, barlow_twins};
pub use contrastive_margin::{ContrastiveMarginConfig, contrastive_margin};
pub use dcl::{DclConfig, DclWeight, dcl, dcl_masked};
pub use debiased::{DebiasedConfig, debiased};
pub use error::{Error, Result};
pub use hcl::{HclConfig, hcl};
pub use info_nce::{InfoNceConfig, InfoNceGrad, info_nce};
pub use labels::anchors_without_positive;
pub use multi_positive::{nt_xent_pairs, positives_in_log};
pub use negative_mask::NegativeMask;
pub use nt_xent::{NtXentConfig, NtXentOutput, nt_xent, nt_xent_masked};
pub use output::{
    AUTO_TILED_ABOVE, Evaluation, LabelLossGrad, LossGrad, NoPositive, PairLossGrad, Reduction,
    SoftmaxConfig, TileSize,
};
pub use siglip::{SIGLIP_INIT_BIAS, SIGLIP_INIT_LOG_SCALE, SigLipConfig, SigLipGrad, siglip};
pub use supcon::{SupConConfig, supcon};
pub use triplet::{
    LabelTripletConfig, TripletConfig, TripletGrad, TripletMean, triplet_margin,
    triplet_margin_labels,
};
pub use vicreg::{VicRegConfig, vicreg};

#[cfg(feature = "gpu")]
pub mod gpu;
