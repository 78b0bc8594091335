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
//! | pairs | the two sides of a pair (or two token views), one encoder | `z_l`, `z_r` | | the partner | the other partners, both directions | symmetric InfoNCE (CLIP), optional learnable `T` |
//!
//! **Choices** (`loss`, `negatives`, `views`; the first listed is the default, see
//! [`crate::loss_choice`] and [`crate::negatives`]):
//!
//! | recipe | loss | negatives | views |
//! |---|---|---|---|
//! | SimCLR | `nt_xent` (`positives_in_log` with small crops), `info_nce`, `dcl`, `dcl_w`, `debiased`, `hcl`, `align_uniform`, `nt_xent_pairs`, `positives_in_log`, `supcon`, `siglip`, `vicreg`, `barlow_twins` | `batch`, `queue` (`info_nce`), `hardest` (`nt_xent`, `dcl`, `dcl_w`) | `2`, `2+k` (multi-positive losses) |
//! | MoCo v2 | `info_nce`, and every other loss of SimCLR over `[q; k]` (keys constant) | `queue` (for `info_nce`), `batch` (the other losses' default), `hardest` (`nt_xent`, `dcl`, `dcl_w`) | `2` |
//! | SupCon | SupCon `L_out` (class labels) | `batch`, `xbm` | `2`, `2+k` |
//! | triplet | triplet margin | batch-hard | (1) |
//! | BYOL | `2 - 2 cos` | none | `2` |
//! | temporal | InfoNCE (fixed) | the batch's other futures | (`o_t`, `o_{t+k}`) |
//!
//! Samples: `sampling = "replacement"` (not triplet, whose batches are P x K) draws batches
//! with replacement; `duplicates = "avoid"` keeps a sample out of a batch that holds it
//! already, `duplicates = "mask"` keeps copies out of each other's negatives (`nt_xent`,
//! `dcl`, `dcl_w` by a mask; the multi-positive losses and SupCon, whose labels make copies
//! positives). A queue or memory must
//! hold at least one batch of keys (`queue_size`).

mod byol;
mod moco;
mod pair;
pub mod pairs;
mod simclr;
mod supcon;
mod temporal;
mod triplet;
pub mod xbm;

pub use byol::ByolState;
pub use moco::MocoState;
pub use pair::PairObjective;
pub use supcon::SupConState;
pub use temporal::TemporalState;

use contrast_autodiff::{Graph, Var};
use contrast_gpu::GpuContext;
use ndarray::Array2;

use crate::batch::{Batch, Input, Meta};
use crate::config::{Method, TrainConfig};
use crate::error::{Error, Result};
use crate::loss_choice::LossChoice;
use crate::model::ContrastModel;
use crate::negatives::{Duplicates, Memory, Negatives, Sampling};

/// A recipe with the state it keeps between steps.
pub enum Recipe {
    /// SimCLR: the chosen loss and its queue, if any.
    SimClr(Box<PairObjective>),
    /// MoCo v2: the momentum key encoder, the loss and the queue.
    Moco(Box<MocoState>),
    /// SupCon: its cross-batch memory, if any.
    SupCon(Box<SupConState>),
    /// Triplet with batch-hard mining: stateless.
    Triplet,
    /// BYOL: the target network and its momentum schedule.
    Byol(Box<ByolState>),
    /// Temporal contrast: the optional target encoder.
    Temporal(Box<TemporalState>),
    /// Pairs: the model's learnable log-scale parameter, if the temperature is learned.
    Pairs(Option<Var>),
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
            Method::Simclr => Recipe::SimClr(Box::new(PairObjective::new(
                config,
                true,
                model.loss_params(),
            )?)),
            Method::Moco => {
                Recipe::Moco(Box::new(MocoState::new(g, config, model, momentum_model)?))
            }
            Method::Supcon => Recipe::SupCon(Box::new(SupConState::new(config)?)),
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
            Method::Pairs => Recipe::Pairs(model.logit_scale()),
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

    /// The negatives the recipe keeps between steps (a queue or a cross-batch memory),
    /// saved in checkpoints.
    pub fn memory(&self) -> Option<&Memory> {
        match self {
            Recipe::SimClr(objective) => objective.memory(),
            Recipe::Moco(state) => state.objective().memory(),
            Recipe::SupCon(state) => state.memory(),
            _ => None,
        }
    }

    /// [`Recipe::memory`], mutable (to load a checkpoint).
    pub fn memory_mut(&mut self) -> Option<&mut Memory> {
        match self {
            Recipe::SimClr(objective) => objective.memory_mut(),
            Recipe::Moco(state) => state.objective_mut().memory_mut(),
            Recipe::SupCon(state) => state.memory_mut(),
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
            Recipe::SimClr(_) | Recipe::SupCon(_) | Recipe::Pairs(_) => every_view(g, model, batch),
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
    /// facts. With `gpu`, NT-Xent runs as the fused GPU kernel.
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
            Recipe::SimClr(objective) => objective.loss(g, rows, meta, gpu),
            Recipe::Moco(state) => state.loss(g, rows, &encoded.frozen, meta, gpu),
            Recipe::SupCon(state) => state.loss(g, rows, &meta.labels),
            Recipe::Triplet => triplet::loss(g, rows, &meta.labels, config.margin),
            Recipe::Byol(state) => state.loss(g, rows, &encoded.frozen),
            Recipe::Temporal(state) => state.loss(g, encoded, config.temperature),
            Recipe::Pairs(log_scale) => pairs::loss(g, rows, config.temperature, *log_scale),
        }
    }

    /// Work after the optimizer step `k` (from 0): the momentum update of MoCo's key encoder
    /// or BYOL's target, the clamp of a learnable temperature.
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
            Recipe::Pairs(Some(log_scale)) => {
                pairs::clamp(g, *log_scale);
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// How many views of each sample `config`'s recipe needs: views 0 and 1 are the global
/// views, views 2.. small crops.
pub fn views_per_sample(config: &TrainConfig) -> usize {
    match config.method {
        Method::Triplet => 1,
        Method::Simclr | Method::Supcon => config.views.total(),
        _ => 2,
    }
}

/// What a recipe takes: the losses and negatives it can be given (defaults first) and
/// whether it takes small crops. The table in the module docs, as data.
struct Choices {
    losses: &'static [&'static str],
    negatives: &'static [Negatives],
    small_crops: bool,
}

fn choices(method: Method) -> Choices {
    use Negatives::*;
    let pair_losses = LossChoice::NAMES;
    match method {
        Method::Simclr => Choices {
            losses: pair_losses,
            negatives: &[Batch, Queue, Hardest],
            small_crops: true,
        },
        Method::Moco => Choices {
            // The recipe's own first.
            losses: &[
                "info_nce",
                "nt_xent",
                "dcl",
                "dcl_w",
                "debiased",
                "hcl",
                "align_uniform",
                "nt_xent_pairs",
                "positives_in_log",
                "supcon",
                "siglip",
                "vicreg",
                "barlow_twins",
            ],
            negatives: &[Queue, Batch, Hardest],
            small_crops: false,
        },
        Method::Supcon => Choices {
            losses: &[],
            negatives: &[Batch, Xbm],
            small_crops: true,
        },
        Method::Triplet => Choices {
            losses: &[],
            negatives: &[Batch],
            small_crops: false,
        },
        Method::Byol => Choices {
            losses: &[],
            negatives: &[],
            small_crops: false,
        },
        Method::Pairs => Choices {
            losses: &[],
            negatives: &[Batch],
            small_crops: false,
        },
        Method::Temporal => Choices {
            losses: &[],
            negatives: &[Batch],
            small_crops: false,
        },
    }
}

/// The loss `config` trains a two-view recipe with: the one chosen, or the recipe's own
/// (`positives_in_log` when small crops give more than two views); `None` for the recipes
/// whose loss is fixed (SupCon, triplet, BYOL).
pub fn loss_of(config: &TrainConfig) -> Option<LossChoice> {
    let default = choices(config.method).losses.first()?;
    Some(match &config.loss {
        Some(loss) => loss.clone(),
        None if config.views.small > 0 => LossChoice::PositivesInLog {},
        None => LossChoice::named(default).expect("the table names known losses"),
    })
}

/// The negatives `config` trains with: the ones chosen, or the first of the recipe's that
/// its loss takes (MoCo with `dcl`: the batch); `None` for BYOL, which has none.
pub fn negatives_of(config: &TrainConfig) -> Option<Negatives> {
    let loss = loss_of(config);
    config.negatives.or_else(|| {
        choices(config.method)
            .negatives
            .iter()
            .copied()
            .find(|&n| takes(loss.as_ref(), n))
    })
}

/// Whether `loss` (`None`: a recipe's fixed loss) reads negatives of the kind `negatives`:
/// a queue extends `info_nce` only; the hardest negatives are a mask of `nt_xent`, `dcl`
/// and `dcl_w`.
fn takes(loss: Option<&LossChoice>, negatives: Negatives) -> bool {
    match negatives {
        Negatives::Queue => matches!(loss, Some(LossChoice::InfoNce {})),
        Negatives::Hardest => loss.is_some_and(masks_negatives),
        _ => true,
    }
}

/// Whether the loss takes a mask of each anchor's negatives (hardest, or copies removed).
fn masks_negatives(loss: &LossChoice) -> bool {
    matches!(
        loss,
        LossChoice::NtXent {} | LossChoice::Dcl {} | LossChoice::DclW { .. }
    )
}

/// Checks the loss, negatives, views and sampling of `config` against its recipe's table.
///
/// # Errors
/// [`Error::Config`] naming the setting and what the recipe takes instead.
pub fn check_choices(config: &TrainConfig) -> Result<()> {
    let method = format!("{:?}", config.method).to_lowercase();
    let table = choices(config.method);
    let bad = |msg: String| Err(Error::Config(msg));
    if let Some(loss) = &config.loss {
        loss.validate()?;
        if !table.losses.contains(&loss.name()) {
            return bad(format!(
                "method {method} has its own loss; `loss` applies to simclr and moco (got {})",
                loss.name()
            ));
        }
    }
    if let Some(negatives) = config.negatives
        && !table.negatives.contains(&negatives)
    {
        let takes: Vec<&str> = table.negatives.iter().map(|n| n.name()).collect();
        return bad(format!(
            "method {method} takes negatives {}; got {}",
            if takes.is_empty() {
                "none".to_string()
            } else {
                takes.join(", ")
            },
            negatives.name()
        ));
    }
    let loss = loss_of(config);
    let negatives = negatives_of(config);
    let loss_name = loss
        .as_ref()
        .map_or_else(|| method.clone(), |l| l.name().to_string());
    if config.views.small > 0 {
        if !table.small_crops {
            return bad(format!(
                "views {}: small crops are for simclr and supcon, not {method}",
                config.views
            ));
        }
        if loss.as_ref().is_some_and(|l| !l.multi_positive()) {
            return bad(format!(
                "views {}: loss {loss_name} pairs two views; with small crops choose \
                 nt_xent_pairs, positives_in_log or supcon",
                config.views
            ));
        }
    }
    match negatives {
        Some(Negatives::Hardest) if !takes(loss.as_ref(), Negatives::Hardest) => {
            return bad(format!(
                "negatives hardest masks the negatives of nt_xent, dcl and dcl_w; loss \
                 {loss_name} has no such mask (hcl reweights towards hard negatives itself)"
            ));
        }
        Some(Negatives::Hardest) => {
            // Each anchor has 2N - 2 negatives in the stacked rows.
            let most = 2 * config.batch_size - 2;
            match config.hardest_k {
                Some(k) if (1..=most).contains(&k) => {}
                Some(k) => {
                    return bad(format!(
                        "hardest_k {k} must be in 1..={most} (the negatives of an anchor in a \
                         batch of {})",
                        config.batch_size
                    ));
                }
                None => return bad("negatives hardest needs hardest_k (negatives kept)".into()),
            }
        }
        Some(n) if !takes(loss.as_ref(), n) => {
            return bad(format!(
                "negatives queue extends info_nce (each view's rows as queries against the other \
                 view's keys and the queue); loss {loss_name} takes the batch's negatives: use \
                 --loss info_nce or --negatives batch"
            ));
        }
        Some(Negatives::Queue | Negatives::Xbm) => {
            let rows = if config.method == Method::Supcon {
                config.batch_size * config.views.total()
            } else {
                config.batch_size
            };
            if config.queue_size < rows {
                return bad(format!(
                    "queue_size {} is shorter than one batch of keys ({rows}): the queue must \
                     hold at least a batch, or the batch's own keys would push each other out",
                    config.queue_size
                ));
            }
        }
        _ => {}
    }
    if config.hardest_k.is_some() && negatives != Some(Negatives::Hardest) {
        return bad("hardest_k applies to negatives = \"hardest\" only".into());
    }
    match (config.sampling, config.duplicates) {
        (Sampling::Shuffle, Duplicates::Avoid | Duplicates::Mask) => {
            return bad(format!(
                "duplicates = \"{}\" needs sampling = \"replacement\": a shuffle never puts a \
                 sample twice in a batch",
                duplicates_name(config.duplicates)
            ));
        }
        (Sampling::Replacement, _) if config.method == Method::Triplet => {
            return bad("triplet batches are P x K by class: sampling must be shuffle".into());
        }
        (_, Duplicates::Mask)
            if !(config.method == Method::Supcon
                || loss
                    .as_ref()
                    .is_some_and(|l| l.multi_positive() || masks_negatives(l))) =>
        {
            return bad(format!(
                "duplicates = \"mask\" needs a loss that masks copies out of the negatives \
                 (nt_xent, dcl, dcl_w) or whose labels make them positives (nt_xent_pairs, \
                 positives_in_log, supcon, or the supcon recipe); {loss_name} would count them \
                 as negatives: use duplicates = \"avoid\""
            ));
        }
        _ => {}
    }
    Ok(())
}

fn duplicates_name(d: Duplicates) -> &'static str {
    match d {
        Duplicates::Keep => "keep",
        Duplicates::Avoid => "avoid",
        Duplicates::Mask => "mask",
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

/// Every view through the model, views of one shape as one batch (the two global views as
/// one batch of `2N` rows, so batch norm sees both, as in SimCLR; the small crops as
/// another), split back into one block per view.
fn every_view(g: &mut Graph<f32>, model: &mut ContrastModel, batch: &Batch) -> Result<Encoded> {
    let n = batch.len();
    let mut rows = Vec::with_capacity(batch.views.len());
    let mut start = 0;
    while start < batch.views.len() {
        let shape = input_shape(&batch.views[start]);
        let end = (start..batch.views.len())
            .find(|&v| input_shape(&batch.views[v]) != shape)
            .unwrap_or(batch.views.len());
        let group: Vec<&Input> = batch.views[start..end].iter().collect();
        let z = model.project(g, &Input::concat(&group)?)?;
        for v in 0..end - start {
            rows.push(g.narrow(z, 0, v * n, n)?);
        }
        start = end;
    }
    if rows.len() < 2 {
        return Err(Error::Config(format!(
            "the recipe needs two views, the batch has {}",
            rows.len()
        )));
    }
    Ok(Encoded {
        rows,
        frozen: Vec::new(),
    })
}

/// The shape of one sample of an input (bags of any length go through the model together).
fn input_shape(input: &Input) -> Vec<usize> {
    match input {
        Input::Images(x) => x.shape()[1..].to_vec(),
        Input::Bags(_) => Vec::new(),
    }
}

/// Rows `0..n` and `n..2n` of a `(2n, d)` node.
fn halves(g: &mut Graph<f32>, z: Var, n: usize) -> Result<[Var; 2]> {
    Ok([g.narrow(z, 0, 0, n)?, g.narrow(z, 0, n, n)?])
}

/// The SimCLR layout `(2N, d)` from view 1's and view 2's blocks: rows `i` and `i + N` pair.
fn stacked(g: &mut Graph<f32>, rows: &[Var]) -> Result<Var> {
    Ok(g.concat(rows, 0)?)
}
