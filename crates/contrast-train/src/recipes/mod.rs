//! The contrastive recipes: each turns a batch's views into a loss node on the graph.
//!
//! | recipe | views | positives | negatives | loss |
//! |---|---|---|---|---|
//! | SimCLR | 2 per sample, one encoder | the other view | the other 2N - 2 rows | NT-Xent |
//! | MoCo v2 | query and key views; key encoder = EMA of the query encoder | the sample's key | a FIFO queue of past keys | InfoNCE |
//! | SupCon | 2 per sample | every row of the same class | every other row | SupCon `L_out` |
//! | triplet | 1 per sample, P x K batches | hardest same-class row | hardest other-class row | triplet margin |
//! | BYOL | 2 per sample; target = EMA of the online encoder + head | the other view's target projection | none | `2 - 2 cos` of prediction and target |

mod byol;
mod moco;
mod simclr;
mod supcon;
mod triplet;

pub use byol::ByolState;
pub use moco::MocoState;

use contrast_autodiff::{Graph, Var};
use contrast_gpu::GpuContext;
use ndarray::Array4;

use crate::config::{Method, TrainConfig};
use crate::error::Result;
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
        })
    }

    /// The momentum network the recipe keeps, with the prefix of its tensors in checkpoints:
    /// MoCo's key encoder (`key`), BYOL's target (`target`).
    pub fn momentum_model(&self) -> Option<(&'static str, &ContrastModel)> {
        match self {
            Recipe::Moco(state) => Some(("key", state.key_model())),
            Recipe::Byol(state) => Some(("target", state.target())),
            _ => None,
        }
    }

    /// [`Recipe::momentum_model`], mutable (to load a checkpoint).
    pub fn momentum_model_mut(&mut self) -> Option<(&'static str, &mut ContrastModel)> {
        match self {
            Recipe::Moco(state) => Some(("key", state.key_model_mut())),
            Recipe::Byol(state) => Some(("target", state.target_mut())),
            _ => None,
        }
    }

    /// How many augmented views of each sample the recipe needs.
    pub fn views_per_sample(&self) -> usize {
        match self {
            Recipe::Triplet => 1,
            _ => 2,
        }
    }

    /// Records the loss of one batch: `views[v]` is view `v` of every sample (NCHW), `labels`
    /// the samples' labels (used by SupCon and triplet only); with `gpu`, SimCLR's NT-Xent
    /// runs as the fused GPU kernel.
    pub fn loss(
        &mut self,
        g: &mut Graph<f32>,
        model: &mut ContrastModel,
        views: &[Array4<f32>],
        labels: &[usize],
        config: &TrainConfig,
        gpu: Option<&GpuContext>,
    ) -> Result<Var> {
        match self {
            Recipe::SimClr => simclr::loss(g, model, views, config.temperature, gpu),
            Recipe::Moco(state) => state.loss(g, model, views, config.temperature),
            Recipe::SupCon => supcon::loss(g, model, views, labels, config.temperature),
            Recipe::Triplet => triplet::loss(g, model, &views[0], labels, config.margin),
            Recipe::Byol(state) => state.loss(g, model, views),
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
            _ => Ok(()),
        }
    }
}

/// The two views stacked into one `(2N, C, H, W)` input: rows `i` and `i + N` are a positive
/// pair (the SimCLR layout that the losses expect).
fn stacked_input(g: &mut Graph<f32>, views: &[Array4<f32>]) -> Result<Var> {
    let parts: Vec<_> = views.iter().map(|v| v.view()).collect();
    let x = ndarray::concatenate(ndarray::Axis(0), &parts)
        .map_err(|e| crate::error::Error::Config(format!("views of different shapes: {e}")))?;
    Ok(g.input(x.into_dyn()))
}
