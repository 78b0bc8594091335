//! # contrast-sampling
//!
//! Which pairs are positives and which are negatives decides what a contrastive model
//! learns. This crate builds those pairs over plain [`ndarray`] embeddings, without a
//! trainer or an autodiff graph: pair layouts and their masks, temporal positives, the MoCo
//! memory queue and the cross-batch memory, hard-negative and triplet miners, and batch
//! samplers.
//!
//! | module | what it holds |
//! |---|---|
//! | [`layout`] | `TwoViews`, `MultiView`, `ExplicitPairs`, `Labelled`, the `PairRule` trait, masks |
//! | [`temporal`] | `(x_t, x_{t+k})` positives from trajectories, CPC/CURL negatives |
//! | [`queue`] | MoCo `MemoryQueue`: FIFO of `K` keys, loss first, then enqueue |
//! | [`cross_batch`] | XBM `CrossBatchMemory` for metric learning |
//! | [`hard_negatives`] | blocked top-k most similar negatives, and its dense reference |
//! | [`distance_weighted`] | distance-weighted negative sampling |
//! | [`triplets`] | all-valid, batch-hard, batch semi-hard, easy-positive miners, margin filters |
//! | [`sampler`] | per-epoch permutations, class-balanced `P x K` batches |
//!
//! ## Conventions
//!
//! - Embeddings are `(n, d)` matrices, one row per sample, generic over
//!   `A: ndarray::NdFloat`. Two views of `n` samples are a `(2n, d)` matrix whose rows `i`
//!   and `i + n` are a positive pair (the SimCLR layout, [`layout::TwoViews`]).
//! - A [`layout::PairRule`] says, for an anchor `i` and a candidate `j`, whether `j` is a
//!   positive or a negative of `i`; masks are `Array2<bool>` with `mask[[i, j]]` for that
//!   question. Miners only query the rule, so they never need an `(n, n)` mask.
//! - Similarity is cosine by default: `s_ij = zn_i . zn_j`, `zn_i = z_i / max(||z_i||, 1e-12)`
//!   ([`hard_negatives::Similarity`]). Triplet miners read unsquared Euclidean distances
//!   `d_ij = ||z_i - z_j||`, e.g. from [`contrast_linalg::pairwise_distances`] (the row
//!   normalisation and distances of this crate are those of `contrast-linalg`).
//! - **Ties** are broken by the lower index, in every miner, so each returns one exact set.
//! - Randomness comes from an `&mut impl rand::Rng`; samplers derive each epoch's stream
//!   from `(seed, epoch)`.
//! - Bad input (empty sets, `k` larger than the candidates, labels of the wrong length,
//!   `P` larger than the classes, a queue dimension that does not match) returns an
//!   [`Error`], never a panic.
//!
//! ## Math in one place
//!
//! - Hard negatives: `top-k_j { s_ij : rule.is_negative(i, j) }`, blocked over row and
//!   column tiles so memory is `O(n k + tile)` ([`hard_negatives`]).
//! - Semi-hard (FaceNet): nearest `n` with `d_ap < d_an < d_ap + margin` ([`triplets`]).
//! - Distance-weighted (Wu et al. 2017): `P(n | a) ∝ min(λ, 1/q(d_an))`,
//!   `q(d) ∝ d^(D-2) (1 - d^2/4)^((D-3)/2)` ([`distance_weighted`]).
//! - MoCo: loss on the queue as it was, then enqueue ([`queue`]).
//!
//! ## Example
//!
//! ```
//! use contrast_sampling::hard_negatives::{TopKConfig, hardest_negatives};
//! use contrast_sampling::layout::{PairLayout, TwoViews};
//! use ndarray::array;
//!
//! // Two views of 3 samples: rows i and i + 3 are positives.
//! let z = array![[1.0, 0.0], [0.0, 1.0], [0.7, 0.7], [0.9, 0.1], [0.1, 0.9], [0.6, 0.8]];
//! let layout = TwoViews::new(3)?;
//! assert!(layout.positive_mask()[[0, 3]]);
//! assert!(!layout.negative_mask()[[0, 3]]);
//!
//! // The hardest negative of row 0 ([1, 0]) is the most similar row of another sample.
//! let top = hardest_negatives(z.view(), z.view(), &layout, &TopKConfig::new(1))?;
//! assert_eq!(top.indices[[0, 0]], 2);
//! # Ok::<(), contrast_sampling::Error>(())
//! ```

pub mod cross_batch;
pub mod distance_weighted;
mod error;
pub mod hard_negatives;
pub mod layout;
pub mod queue;
pub mod sampler;
pub mod temporal;
pub mod triplets;

pub use error::{Error, Result};
