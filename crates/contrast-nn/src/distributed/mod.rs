//! Data-parallel building blocks: what each of `R` ranks does, holding one shard of the
//! global batch, so that together they compute exactly the loss, the gradients and the
//! update that one process computes on the whole batch, with every rank's negatives in
//! every loss.
//!
//! # One step
//!
//! ```text
//! shard of rank r (n_r samples, both views: [v1_r; v2_r])
//!   -> encoder + head, batch norm synchronised        (sync_batch_norm, via BatchNorm::set_sync)
//!   -> z_r (2 n_r rows)
//!   -> gather_rows: Z = [z_0; ...; z_{R-1}]            (all-gather)
//!   -> view_major: [v1 of all; v2 of all]             (a row permutation; rows i, i+N pair up)
//!   -> loss L(Z): the same global loss on every rank   (NT-Xent, SupCon with gather_labels)
//!   -> backward                                        (gathered rows' gradient summed back)
//!   -> all_reduce_gradients (mean)                     (the same gradient on every rank)
//!   -> optimizer step                                  (the same update on every rank)
//! ```
//!
//! Parameters start equal ([`broadcast_module`] once) and stay equal, because every rank
//! applies the same update to the same bits: every all-reduce here adds in rank order
//! ([`contrast_collective::Collective::all_reduce_sum`]).
//!
//! # The gradient convention
//!
//! Every rank computes the same global loss `L(Z)` on the gathered `Z`, so the gradient
//! reaching [`gather_rows`] is `G = dL/dZ` on every rank. Its backward returns to rank `r`
//! the sum over ranks of the upstream rows `r` owns (an all-reduce, then a slice: a
//! reduce-scatter):
//!
//! ```text
//! dz_r = Σ_s G[rows of r] = R dL/dz_r
//! ```
//!
//! A parameter `θ` before the gather then collects on rank `r` the gradient
//! `g_r = R ∂L/∂θ|_{through z_r}` (everything between `θ` and `z_r` is linear in the
//! upstream gradient, synchronised batch norm included: its all-reduced sums carry the same
//! factor `R` on every rank). [`all_reduce_gradients`] takes the **mean** over ranks:
//!
//! ```text
//! (1/R) Σ_r g_r = Σ_r ∂L/∂θ|_{through z_r} = dL/dθ
//! ```
//!
//! which is exactly the single-process gradient. A parameter after the gather (used on
//! `Z` itself) receives the full `dL/dθ` on every rank; the mean of `R` equal values is
//! `dL/dθ` again. Each half alone is wrong: a gather without the sum-back
//! ([`SumBack::Skip`]) followed by the mean gives `dL/dθ / R` (the classic "gradients not
//! summed back to their owner", "loss off by the world size" bugs), and the equivalence
//! tests show it.
//!
//! # What a step communicates (per rank, elements sent / received)
//!
//! | where | payload | sent | received |
//! |---|---|---|---|
//! | [`gather_rows`], forward | embeddings `(n_r, d)` | `n_r d` | `(N - n_r) d` |
//! | [`gather_rows`], backward | `dL/dZ`, all-reduced | `N d` | `(R - 1) N d` |
//! | [`gather_labels`] | labels (`u64`) | `n_r` | `N - n_r` |
//! | [`sync_batch_norm`], forward, per layer | mean and `M2` per channel | `2C` | `2C (R - 1)` |
//! | [`sync_batch_norm`], backward, per layer | `Σg`, `Σ g x̂` per channel | `2C` | `2C (R - 1)` |
//! | [`all_reduce_gradients`] | every gradient, one flag per param | `P + p` | `(R - 1)(P + p)` |
//! | [`broadcast_module`], once | parameters and buffers | root `P + B` | `P + B` |
//!
//! (`N = Σ n_r` rows gathered, `d` embedding width, `P` scalars in `p` params, `B` buffer
//! scalars; elements are 4 bytes in f32; every operation adds a 32-byte header per rank.)
//! [`contrast_collective::Group::stats`] counts the bytes.
//!
//! # Example
//!
//! Two ranks, a linear layer, a loss over the gathered rows; the averaged gradient equals
//! the gradient of one process on the whole batch:
//!
//! ```
//! use std::sync::Arc;
//! use contrast_autodiff::Graph;
//! use contrast_collective::{Group, ThreadGroup, shard_range};
//! use contrast_nn::distributed::{all_reduce_gradients, gather_rows, SharedCollective};
//! use contrast_nn::layers::Linear;
//! use contrast_nn::{Module, Result};
//! use ndarray::{Array2, ArrayD, Axis};
//! use rand::SeedableRng;
//!
//! /// The gradient of W for mean((x W^T + b)^2) over the batch, gathered when distributed.
//! fn grad_w(x: ArrayD<f64>, c: Option<&SharedCollective<f64>>) -> Result<ArrayD<f64>> {
//!     let mut g = Graph::new();
//!     let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7); // same init on every rank
//!     let mut layer = Linear::new(&mut g, 3, 2, true, &mut rng)?;
//!     let x = g.input(x);
//!     let mut z = layer.forward(&mut g, x)?;
//!     if let Some(c) = c {
//!         z = gather_rows(&mut g, z, c)?.var; // every rank sees all 5 rows
//!     }
//!     let sq = g.mul(z, z)?;
//!     let loss = g.mean_all(sq)?;
//!     g.backward(loss)?;
//!     if let Some(c) = c {
//!         all_reduce_gradients(&mut g, &layer.named_params(), &**c)?;
//!     }
//!     Ok(g.grad(layer.named_params()[0].var).unwrap().clone())
//! }
//!
//! let batch = Array2::from_shape_fn((5, 3), |(i, j)| ((i * 3 + j) as f64 * 0.7).sin()).into_dyn();
//! let single = grad_w(batch.clone(), None)?;
//! let per_rank = ThreadGroup::new(2)?.run(|member| {
//!     let shard = shard_range(5, member.world(), member.rank())?;
//!     let c: SharedCollective<f64> = Arc::new(member);
//!     grad_w(batch.slice_axis(Axis(0), shard.into()).to_owned(), Some(&c))
//! })?;
//! for grad in per_rank {
//!     assert!((&grad? - &single).iter().all(|d| d.abs() < 1e-12));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod gather;
mod gradients;
mod sync_batch_norm;

use std::sync::Arc;

use contrast_collective::Collective;

pub use gather::{
    GatheredRows, SumBack, gather_labels, gather_rows, gather_rows_with, view_major,
    view_major_order,
};
pub use gradients::{all_reduce_gradients, broadcast_module, broadcast_params};
pub use sync_batch_norm::sync_batch_norm;

/// A collective shared by the graph ops that communicate in their backward pass (they keep
/// a handle until the tape is released) and by layers ([`crate::layers::BatchNorm`]).
pub type SharedCollective<A> = Arc<dyn Collective<A>>;

/// A collective's error inside a backward rule, as the autodiff error the rule returns.
fn op_error(op: &str, e: contrast_collective::Error) -> contrast_autodiff::Error {
    contrast_autodiff::Error::Op {
        op: op.to_string(),
        msg: e.to_string(),
    }
}
