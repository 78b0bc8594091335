//! The contrastive recipes. Each has two halves, so that the same recipe runs in one graph,
//! in cached-gradient chunks, or across ranks:
//!
//! - **encode**: a batch's views -> the rows its loss sees, one row per sample in each block
//!   ([`Encoded`]): blocks that carry gradient back to the model (`rows`) and blocks that do
//!   not (`frozen`: a momentum network's keys or targets);
//! - **loss**: every block of the whole batch -> one loss node.
//!
//! | recipe | views | rows (gradient) | frozen | positives | negatives | loss |
//! |---|---|---|---|---|---|---|
//! | SimCLR | 2 per sample, one encoder | `z1`, `z2` | | the other view | the other 2N - 2 rows | NT-Xent |
//! | MoCo v2 | query and key views; key encoder = EMA of the query encoder | `q` | keys `k` | the sample's key | a FIFO queue of past keys | InfoNCE |
//! | SupCon | 2 per sample | `z1`, `z2` | | every row of the same class | every other row | SupCon `L_out` |
//! | triplet | 1 per sample, P x K batches | `z` | | hardest same-class row | hardest other-class row | triplet margin |
//! | BYOL | 2 per sample; target = EMA of the online encoder + head | predictions `p1`, `p2` | targets `t1`, `t2` | the other view's target | none | `2 - 2 cos(p, t)` |
//! | temporal | `o_t`, `o_{t+k}` and the actions; optional EMA target encoder | predictions `p_t` (and `z_{t+k}` without a target) | target keys `z'_{t+k}` | the sample's future | the other samples' futures | InfoNCE |

mod byol;
mod moco;
mod simclr;
mod supcon;
mod temporal;
mod triplet;

pub use byol::ByolState;
pub use moco::MocoState;
pub use temporal::TemporalState;

use contrast_autodiff::{Graph, Var};
use contrast_gpu::GpuContext;
use ndarray::Array2;

use crate::batch::{Batch, Input, Meta};
use crate::config::{Method, TrainConfig};
use crate::error::{Error, Result};
use crate::model::ContrastModel;

/// A recipe with the state it keeps between steps.
pub enum Recipe {
    /// SimCLR: stateless.
    SimClr,
    /// MoCo v2: the momentum key encoder and the queue.
    Moco(Box<MocoState>),
    /// SupCon: stateless.
    SupCon,
    /// Triplet with batch-hard mining: stateless.
    Triplet,
    /// BYOL: the target network and its momentum schedule.
    Byol(Box<ByolState>),
    /// Temporal contrast: the optional target encoder.
    Temporal(Box<TemporalState>),
}

/// The rows a recipe's loss sees for a batch (or a chunk, or a rank's shard of it): each
/// block has one row per sample, in the batch's sample order. (Generic over the float so the
/// cached-gradient step can be checked in f64; the recipes use f32.)
pub struct Encoded<A = f32> {
    /// Blocks through which the gradient reaches the model.
    pub rows: Vec<Var>,
    /// Blocks computed without gradient (a momentum network's outputs).
    pub frozen: Vec<Array2<A>>,
}

impl Recipe {
    /// The recipe named in `config`; MoCo and BYOL build their momentum network with
    /// `momentum_model` and start it as a copy of `model`; BYOL's momentum reaches 1 after
    /// `total_steps`.
    pub fn new(
        g: &mut Graph<f32>,
        config: &TrainConfig,
        model: &ContrastModel,
        momentum_model: impl FnOnce(&mut Graph<f32>) -> Result<ContrastModel>,
        total_steps: usize,
    ) -> Result<Self> {
        Ok(match config.method {
            Method::Simclr => Recipe::SimClr,
            Method::Moco => {
                Recipe::Moco(Box::new(MocoState::new(g, config, model, momentum_model)?))
            }
            Method::Supcon => Recipe::SupCon,
            Method::Triplet => Recipe::Triplet,
            Method::Byol => Recipe::Byol(Box::new(ByolState::new(
                g,
                config,
                model,
                momentum_model,
                total_steps,
            )?)),
            Method::Temporal => Recipe::Temporal(Box::new(TemporalState::new(
                g,
                config,
                model,
                momentum_model,
            )?)),
        })
    }

    /// The momentum network the recipe keeps, with the prefix of its tensors in checkpoints:
    /// MoCo's key encoder (`key`), BYOL's and the temporal recipe's target (`target`).
    pub fn momentum_model(&self) -> Option<(&'static str, &ContrastModel)> {
        match self {
            Recipe::Moco(state) => Some(("key", state.key_model())),
            Recipe::Byol(state) => Some(("target", state.target())),
            Recipe::Temporal(state) => state.target().map(|t| ("target", t)),
            _ => None,
        }
    }

    /// [`Recipe::momentum_model`], mutable (to load a checkpoint).
    pub fn momentum_model_mut(&mut self) -> Option<(&'static str, &mut ContrastModel)> {
        match self {
            Recipe::Moco(state) => Some(("key", state.key_model_mut())),
            Recipe::Byol(state) => Some(("target", state.target_mut())),
            Recipe::Temporal(state) => state.target_mut().map(|t| ("target", t)),
            _ => None,
        }
    }

    /// The rows of `batch` that the loss will see (see the table above).
    pub fn encode(
        &mut self,
        g: &mut Graph<f32>,
        model: &mut ContrastModel,
        batch: &Batch,
    ) -> Result<Encoded> {
        match self {
            Recipe::SimClr | Recipe::SupCon => two_views(g, model, batch),
            Recipe::Moco(state) => state.encode(g, model, batch),
            Recipe::Triplet => Ok(Encoded {
                rows: vec![model.project(g, view(batch, 0)?)?],
                frozen: Vec::new(),
            }),
            Recipe::Byol(state) => state.encode(g, model, batch),
            Recipe::Temporal(state) => state.encode(g, model, batch),
        }
    }

    /// Only the blocks that carry gradient ([`Encoded::rows`]) of `batch`: what the second
    /// pass of a cached-gradient step recomputes. Momentum networks do not run, so MoCo's key
    /// encoder and BYOL's target see each sample once per step. A recipe without frozen
    /// blocks needs no arm here (its `encode` is all rows); one with a momentum network adds
    /// one, or its network runs (and moves its running statistics) twice per step.
    pub fn encode_rows(
        &mut self,
        g: &mut Graph<f32>,
        model: &mut ContrastModel,
        batch: &Batch,
    ) -> Result<Vec<Var>> {
        match self {
            Recipe::Moco(_) => moco::queries(g, model, batch),
            Recipe::Byol(_) => byol::predictions(g, model, batch),
            _ => Ok(self.encode(g, model, batch)?.rows),
        }
    }

    /// The loss of a whole batch from its encoded blocks (`rows` and `frozen` as
    /// [`Recipe::encode`] made them, covering every sample of the batch) and its per-sample
    /// facts. With `gpu`, SimCLR's NT-Xent runs as the fused GPU kernel.
    pub fn loss(
        &mut self,
        g: &mut Graph<f32>,
        encoded: &Encoded,
        meta: &Meta,
        config: &TrainConfig,
        gpu: Option<&GpuContext>,
    ) -> Result<Var> {
        let rows = &encoded.rows;
        match self {
            Recipe::SimClr => simclr::loss(g, rows, config.temperature, gpu),
            Recipe::Moco(state) => state.loss(g, rows, &encoded.frozen, config.temperature),
            Recipe::SupCon => supcon::loss(g, rows, &meta.labels, config.temperature),
            Recipe::Triplet => triplet::loss(g, rows, &meta.labels, config.margin),
            Recipe::Byol(state) => state.loss(g, rows, &encoded.frozen),
            Recipe::Temporal(state) => state.loss(g, encoded, config.temperature),
        }
    }

    /// Work after the optimizer step `k` (from 0): the momentum update of MoCo's key encoder
    /// or BYOL's target.
    pub fn after_step(
        &mut self,
        g: &mut Graph<f32>,
        model: &ContrastModel,
        k: usize,
    ) -> Result<()> {
        match self {
            Recipe::Moco(state) => state.momentum_update(g, model),
            Recipe::Byol(state) => state.momentum_update(g, model, k),
            Recipe::Temporal(state) => state.momentum_update(g, model),
            _ => Ok(()),
        }
    }
}

/// How many views of each sample `config`'s recipe needs.
pub fn views_per_sample(config: &TrainConfig) -> usize {
    match config.method {
        Method::Triplet => 1,
        _ => 2,
    }
}

/// View `v` of a batch, or an error naming the recipe's need.
fn view(batch: &Batch, v: usize) -> Result<&Input> {
    batch.views.get(v).ok_or_else(|| {
        Error::Config(format!(
            "the recipe needs view {v}, the batch has {}",
            batch.views.len()
        ))
    })
}

/// Both views through the model as one batch of `2N` rows (batch norm sees both, as in
/// SimCLR), split back into view 1's rows and view 2's.
fn two_views(g: &mut Graph<f32>, model: &mut ContrastModel, batch: &Batch) -> Result<Encoded> {
    let x = Input::concat(&[view(batch, 0)?, view(batch, 1)?])?;
    let z = model.project(g, &x)?;
    Ok(Encoded {
        rows: halves(g, z, batch.len())?.to_vec(),
        frozen: Vec::new(),
    })
}

/// Rows `0..n` and `n..2n` of a `(2n, d)` node.
fn halves(g: &mut Graph<f32>, z: Var, n: usize) -> Result<[Var; 2]> {
    Ok([g.narrow(z, 0, 0, n)?, g.narrow(z, 0, n, n)?])
}

/// The SimCLR layout `(2N, d)` from view 1's and view 2's blocks: rows `i` and `i + N` pair.
fn stacked(g: &mut Graph<f32>, rows: &[Var]) -> Result<Var> {
    Ok(g.concat(rows, 0)?)
}
