//! Cached-gradient steps (GradCache, Gao et al. 2021): a batch larger than memory, with
//! exactly the gradient of the whole batch's loss.
//!
//! # Why it is exact
//!
//! A contrastive loss couples every row of the batch, but the parameters reach it only
//! through the rows. With the rows `Z = [z_1; ...; z_N]`, `z_i = f_theta(x_i)`, and the batch
//! cut into chunks `C_1, ..., C_K`:
//!
//! ```text
//! dL/dtheta = sum_k sum_{i in C_k} (dL/dz_i)^T dz_i/dtheta
//!           = sum_k d/dtheta [ sum_{i in C_k} <z_i, G_i> ]      with G = dL/dZ held constant
//! ```
//!
//! so a step needs the activations of one chunk at a time:
//!
//! 1. **cache**: every chunk through the model without a graph; keep only its blocks of rows
//!    (and the frozen blocks: momentum keys or targets);
//! 2. **loss**: the rows of the whole batch become temporary leaves; the loss and its backward
//!    give `G = dL/dZ` (the loss's own memory: the tiled NT-Xent is linear in `N`);
//! 3. **replay**: every chunk through the model again, with a graph, then the backward of the
//!    surrogate `s_k = sum_b sum(Z_{k,b} * G_{k,b})`, whose gradient with respect to each row is
//!    the cached one; parameter gradients add up over the chunks;
//! 4. one optimizer step (the caller's).
//!
//! Cost: one extra forward pass without a graph per step. Memory: one chunk's activations plus
//! the rows of the batch and their gradients.
//!
//! # What the two passes must share
//!
//! The replay must recompute exactly the rows it cached, or `G` belongs to other rows:
//!
//! - **views** are made once per batch, before the step;
//! - **dropout**: the model's random streams are saved before each chunk's first pass and put
//!   back before its replay ([`Module::save_streams`]), so both passes draw the same masks;
//!   after the step the streams are where the first pass left them;
//! - **batch norm** normalises each chunk by its own statistics (ghost batch norm, Hoffer et
//!   al. 2017): a chunked step gives the exact gradient of *that* network, which is the
//!   whole-batch network when there is no batch norm or one chunk covers the batch. Both passes
//!   see the same chunk and parameters, hence the same statistics. Running statistics move in
//!   the first pass (one update per chunk, as in ghost batch norm) and are put back after the
//!   replay, so they move once per step, not twice. Batch norm needs two rows per chunk.
//! - **momentum networks** (MoCo's key encoder, BYOL's target) run in the first pass only
//!   ([`Pass::Replay`] asks for the gradient-carrying rows alone), and the loss (with MoCo's
//!   queue update) runs once.
//!
//! Every replayed row is compared with its cached value, bit for bit; a difference stops the
//! step with [`Error::ReplayMismatch`] instead of applying a silently wrong gradient. A chunk
//! that covers the batch makes the step the plain one: same rows, same `G`, same gradient.
//!
//! # Example
//!
//! The chunked gradient of NT-Xent through an MLP equals the whole batch's:
//!
//! ```
//! use std::ops::Range;
//! use contrast_autodiff::{Graph, Var};
//! use contrast_losses::{NtXentConfig, autodiff::nt_xent_op};
//! use contrast_nn::{Module, encoders::{Mlp, MlpConfig}};
//! use contrast_train::cached::{Pass, SplitLoss, cached_backward};
//! use contrast_train::recipes::Encoded;
//! use ndarray::{Array2, Axis, s};
//! use rand::SeedableRng;
//!
//! /// SimCLR on two views `x1`, `x2` (one row per sample).
//! struct Simclr { x1: Array2<f64>, x2: Array2<f64> }
//!
//! impl SplitLoss<f64, Mlp<f64>> for Simclr {
//!     fn samples(&self) -> usize { self.x1.nrows() }
//!     fn encode(&mut self, g: &mut Graph<f64>, model: &mut Mlp<f64>, r: Range<usize>, _: Pass)
//!         -> contrast_train::Result<Encoded<f64>> {
//!         let n = r.len();
//!         let x = ndarray::concatenate(Axis(0), &[self.x1.slice(s![r.clone(), ..]), self.x2.slice(s![r, ..])]).unwrap();
//!         let x = g.input(x.into_dyn());
//!         let z = model.forward(g, x)?;
//!         Ok(Encoded { rows: vec![g.narrow(z, 0, 0, n)?, g.narrow(z, 0, n, n)?], frozen: vec![] })
//!     }
//!     fn loss(&mut self, g: &mut Graph<f64>, whole: &Encoded<f64>) -> contrast_train::Result<Var> {
//!         let z = g.concat(&whole.rows, 0)?;
//!         Ok(nt_xent_op(g, z, &NtXentConfig::new(0.5))?)
//!     }
//! }
//!
//! # fn main() -> contrast_train::Result<()> {
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let mut g = Graph::<f64>::new();
//! let mut mlp = Mlp::new(&mut g, &MlpConfig::relu(&[3, 8, 4]), &mut rng)?;
//! let mut views = Simclr {
//!     x1: Array2::from_shape_fn((7, 3), |(i, j)| (i * 3 + j) as f64 / 10.0),
//!     x2: Array2::from_shape_fn((7, 3), |(i, j)| (i + 2 * j) as f64 / 10.0),
//! };
//! let gradients = |g: &Graph<f64>, mlp: &Mlp<f64>| -> Vec<_> {
//!     mlp.named_params().iter().map(|p| g.grad(p.var).unwrap().clone()).collect()
//! };
//! let whole_loss = cached_backward(&mut g, &mut mlp, &mut views, 7)?; // one chunk: the plain step
//! let whole = gradients(&g, &mlp);
//! g.zero_grad();
//! let chunked_loss = cached_backward(&mut g, &mut mlp, &mut views, 3)?; // chunks of 3, 3, 1
//! assert_eq!(whole_loss, chunked_loss);
//! for (a, b) in whole.iter().zip(gradients(&g, &mlp)) {
//!     assert!((a - &b).iter().all(|d| d.abs() < 1e-12));
//! }
//! # Ok(())
//! # }
//! ```

mod passes;
mod recipe;

use std::ops::Range;

use contrast_autodiff::{Graph, Var};
use contrast_nn::Module;
use ndarray::{ArrayD, NdFloat};
use rand_chacha::ChaCha8Rng;

use crate::batch::chunks;
use crate::error::{Error, Result};
use crate::recipes::Encoded;

pub(crate) use recipe::RecipeSplit;

/// Which pass of a cached-gradient step an [`SplitLoss::encode`] call belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// The first pass, without a graph: every block is kept, rows and frozen.
    Cache,
    /// The second pass, with the graph: only the rows are used; frozen blocks may be left out
    /// (momentum networks need not run twice).
    Replay,
}

/// A loss over a batch split into its two halves, so that a step can run in chunks: the
/// model's rows of some samples, and the loss of the rows of every sample.
pub trait SplitLoss<A: NdFloat, M: ?Sized> {
    /// Number of samples in the batch.
    fn samples(&self) -> usize;

    /// The blocks of the samples `samples` (a chunk of the batch), each with one row per
    /// sample in order. Called once per chunk and pass; the block count must not change.
    fn encode(
        &mut self,
        g: &mut Graph<A>,
        model: &mut M,
        samples: Range<usize>,
        pass: Pass,
    ) -> Result<Encoded<A>>;

    /// The loss of the whole batch from every block (rows as graph leaves, one row per sample
    /// of the batch), called once per step.
    fn loss(&mut self, g: &mut Graph<A>, whole: &Encoded<A>) -> Result<Var>;
}

/// One cached-gradient step in chunks of `chunk_size` samples: adds `dL/dtheta` of the whole
/// batch's loss to the gradients of `model`'s parameters (and of any parameter the loss
/// itself uses) and returns the loss. The graph's tape must be empty on entry; it is empty on
/// return. After an error the graph holds the parameters it held before (and their
/// gradients may be partial: clear them), and the model's buffers and random streams are as
/// they were on entry.
///
/// # Errors
/// [`Error::Config`] for a chunk size of 0, [`Error::Empty`] for an empty batch,
/// [`Error::Shape`] for blocks with the wrong number of rows or a changing block count,
/// [`Error::ReplayMismatch`] when the replay computes other rows than the first pass, and
/// whatever `split` or the graph returns.
pub fn cached_backward<A, M, S>(
    g: &mut Graph<A>,
    model: &mut M,
    split: &mut S,
    chunk_size: usize,
) -> Result<A>
where
    A: NdFloat,
    M: Module<A> + ?Sized,
    S: SplitLoss<A, M> + ?Sized,
{
    if chunk_size == 0 {
        return Err(Error::Config("chunk_size must be at least 1".into()));
    }
    if split.samples() == 0 {
        return Err(Error::Empty("cached-gradient batch"));
    }
    let entry = ModelState::save(model);
    let result = step(g, model, split, &chunks(split.samples(), chunk_size));
    if result.is_err() {
        entry.restore(model)?;
    }
    result
}

/// Cache, loss, replay.
fn step<A, M, S>(
    g: &mut Graph<A>,
    model: &mut M,
    split: &mut S,
    chunks: &[Range<usize>],
) -> Result<A>
where
    A: NdFloat,
    M: Module<A> + ?Sized,
    S: SplitLoss<A, M> + ?Sized,
{
    let cached = passes::cache(g, model, split, chunks)?;
    let gradients = passes::loss_gradients(g, split, cached.rows, cached.frozen)?;
    let after_cache = ModelState::save(model);
    let replayed = passes::replay(g, model, split, chunks, &cached.streams, &gradients);
    // The replay moved the running statistics (and the streams) again: back to pass 1's.
    after_cache.restore(model)?;
    replayed?;
    Ok(gradients.loss)
}

/// What a forward pass changes in a model besides its output: the buffers (batch norm's
/// running statistics) and the random streams.
struct ModelState<A> {
    buffers: Vec<ArrayD<A>>,
    streams: Vec<ChaCha8Rng>,
}

impl<A: NdFloat> ModelState<A> {
    fn save<M: Module<A> + ?Sized>(model: &mut M) -> Self {
        Self {
            buffers: model
                .named_buffers()
                .into_iter()
                .map(|(_, b)| b.to_owned())
                .collect(),
            streams: model.save_streams(),
        }
    }

    fn restore<M: Module<A> + ?Sized>(&self, model: &mut M) -> Result<()> {
        let mut saved = self.buffers.iter();
        model.visit_buffers_mut("", &mut |_, mut view| {
            if let Some(old) = saved.next() {
                view.assign(old);
            }
        });
        Ok(model.restore_streams(&self.streams)?)
    }
}
