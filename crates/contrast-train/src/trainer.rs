//! The data path, in the order it runs:
//!
//! ```text
//! source -> batch of views (built on a background thread) -> recipe.encode (model: encoder,
//!        head) -> recipe.loss -> backward -> optimizer step (learning rate from the schedule)
//!        -> recipe.after_step (momentum networks)
//! ```
//!
//! [`Trainer::epoch`] walks one epoch; [`Trainer::step`] is one step. With `chunk_size` set,
//! encode -> loss -> backward runs as a cached-gradient step ([`crate::cached`]): the batch is
//! encoded in chunks, the loss once, with the same gradient in one chunk's memory. Everything random is
//! keyed by `(seed, epoch, sample index, view)`, and every reduction has a fixed order, so a
//! run gives the same parameters whatever the number of threads.

use std::sync::Arc;

use contrast_autodiff::Graph;
use contrast_nn::optim::{Optimizer, graph_step};
use contrast_nn::schedule::Schedule;
use contrast_nn::{Module, NamedParam};
use rand::SeedableRng;

use crate::batch::Batch;
use crate::cached::{RecipeSplit, cached_backward};
use crate::config::TrainConfig;
use crate::device::Placement;
use crate::distributed::Ranks;
use crate::error::Result;
use crate::guard::Guard;
use crate::model::ContrastModel;
use crate::optimizer::TrainOptimizer;
use crate::recipes::{Recipe, views_per_sample};
use crate::source::{Plan, Source};
use crate::tasks::Task;

/// What one step reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    /// Global step, from 1.
    pub step: usize,
    /// Steps in this epoch.
    pub steps_in_epoch: usize,
    /// Loss of the step.
    pub loss: f32,
    /// Learning rate used.
    pub lr: f64,
}

/// A model, its optimizer and its recipe: everything that changes during training.
pub struct Trainer {
    /// The run's settings.
    pub config: TrainConfig,
    /// The graph holding every parameter.
    pub g: Graph<f32>,
    /// Encoder + projection head.
    pub model: ContrastModel,
    /// The trained parameters (the MoCo key encoder is not among them).
    pub params: Vec<NamedParam>,
    /// The optimizer (AdamW by default; weight decay on weights only).
    pub optimizer: TrainOptimizer,
    /// The contrastive recipe and its state.
    pub recipe: Recipe,
    schedule: Schedule,
    source: Arc<dyn Source>,
    plan: Plan,
    steps_per_epoch: usize,
    /// Where the matrix products and the loss run.
    pub placement: Placement,
    /// Global steps taken so far.
    pub steps_done: usize,
    /// The ranks of data-parallel training (`None`: this process alone).
    pub ranks: Option<Ranks>,
}

impl Trainer {
    /// A freshly initialised model for `task`'s training data, seeded from `config.seed`.
    pub fn new(config: &TrainConfig, task: &dyn Task) -> Result<Self> {
        config.validate()?;
        let mut g = Graph::new();
        let placement = Placement::new(config.device)?;
        g.set_matmul_backend(placement.matmul_backend());
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(config.seed);
        let input = task.input();
        let model = ContrastModel::new(&mut g, config, &input, &mut rng)?;
        let source = task.source(config, views_per_sample(config))?;
        let plan = Plan::for_config(config);
        let steps_per_epoch = plan
            .batches(source.as_ref(), config.batch_size, config.seed, 0)?
            .len();
        let total = config.epochs * steps_per_epoch;
        let recipe = Recipe::new(
            &mut g,
            config,
            &model,
            |g| ContrastModel::without_predictor(g, config, &input, &mut rng),
            total,
        )?;
        let params = model.named_params();
        let warmup = (config.warmup_epochs * steps_per_epoch).min(total.saturating_sub(1));
        let schedule = Schedule::warmup_cosine(f64::from(config.lr), warmup, total, 0.0)?;
        let optimizer = TrainOptimizer::new(config)?;
        Ok(Self {
            config: config.clone(),
            g,
            model,
            params,
            optimizer,
            recipe,
            schedule,
            source,
            plan,
            steps_per_epoch,
            placement,
            steps_done: 0,
            ranks: None,
        })
    }

    /// Trains data-parallel from now on: this rank takes its shard of every global batch,
    /// batch norm synchronises over the ranks, and every model starts as rank 0's (see
    /// [`crate::distributed`]).
    pub fn distribute(&mut self, ranks: Ranks) -> Result<()> {
        ranks.join(&mut self.g, &mut self.model)?;
        if let Some((_, momentum)) = self.recipe.momentum_model_mut() {
            ranks.join(&mut self.g, momentum)?;
        }
        self.ranks = Some(ranks);
        Ok(())
    }

    /// Steps in every epoch.
    pub fn steps_per_epoch(&self) -> usize {
        self.steps_per_epoch
    }

    /// One epoch (`epoch` from 0); `on_step` sees every step's report. Returns the mean loss.
    pub fn epoch(&mut self, epoch: usize, mut on_step: impl FnMut(StepReport)) -> Result<f64> {
        let plan = self.plan(epoch)?;
        let source = Arc::clone(&self.source);
        let ranks = self.ranks.clone();
        let mut total = 0.0;
        let mut count = 0usize;
        // The next batch's views are made on a background thread while this step runs.
        for (_, batch) in contrast_data::prefetch(plan.into_iter(), move |indices| {
            make_batch(source.as_ref(), ranks.as_ref(), indices, epoch)
        }) {
            let loss = self.step(&batch?, epoch)?;
            total += f64::from(loss);
            count += 1;
            on_step(StepReport {
                step: self.steps_done,
                steps_in_epoch: self.steps_per_epoch,
                loss,
                lr: f64::from(self.optimizer.lr()),
            });
        }
        Ok(total / count.max(1) as f64)
    }

    /// The sample indices of every global batch of epoch `epoch`.
    pub fn plan(&self, epoch: usize) -> Result<Vec<Vec<usize>>> {
        let c = &self.config;
        self.plan
            .batches(self.source.as_ref(), c.batch_size, c.seed, epoch as u64)
    }

    /// The batch this process trains on for the global batch `indices` of epoch `epoch`:
    /// all of it, or this rank's shard.
    pub fn batch(&self, indices: &[usize], epoch: usize) -> Result<Batch> {
        make_batch(self.source.as_ref(), self.ranks.as_ref(), indices, epoch)
    }

    /// One optimisation step on a batch: encode, loss, backward, update. A loss, embedding
    /// or gradient that is not finite stops the step before anything changes.
    pub fn step(&mut self, batch: &Batch, epoch: usize) -> Result<f32> {
        self.optimizer
            .set_lr(self.schedule.lr(self.steps_done) as f32);
        self.model.set_training(true);
        let guard = Guard::new(&self.model, self.steps_done + 1, epoch + 1, self.config.lr);
        let loss = self.loss_and_gradients(batch);
        let loss = guard.check(loss, &mut self.g, &mut self.model, &self.params)?;
        graph_step(&mut self.optimizer, &mut self.g, &self.params)?;
        self.g.zero_grad();
        self.recipe
            .after_step(&mut self.g, &self.model, self.steps_done)?;
        self.steps_done += 1;
        Ok(loss)
    }

    /// `views -> encode -> (gather) -> loss -> backward (-> average over ranks)`: leaves
    /// `dL/d theta` in the params' gradients (added to what they held: clear them with
    /// `g.zero_grad()` when only inspecting) and returns the loss. [`Trainer::step`] is this,
    /// checked and followed by the update.
    pub fn loss_and_gradients(&mut self, batch: &Batch) -> Result<f32> {
        let gpu = self.placement.gpu.as_deref();
        let value = match self.config.chunk_size {
            Some(chunk_size) => {
                if let Some(ranks) = &self.ranks {
                    ranks.check_chunks(batch.len(), chunk_size)?;
                }
                let mut split = RecipeSplit {
                    recipe: &mut self.recipe,
                    batch,
                    config: &self.config,
                    gpu,
                    ranks: self.ranks.as_ref(),
                };
                cached_backward(&mut self.g, &mut self.model, &mut split, chunk_size)?
            }
            None => {
                let mut encoded = self.recipe.encode(&mut self.g, &mut self.model, batch)?;
                let mut meta = batch.meta();
                if let Some(ranks) = &self.ranks {
                    (encoded, meta) = ranks.gather(&mut self.g, encoded, &meta)?;
                }
                let loss = self
                    .recipe
                    .loss(&mut self.g, &encoded, &meta, &self.config, gpu)?;
                self.g.backward(loss)?
            }
        };
        if let Some(ranks) = &self.ranks {
            ranks.average_gradients(&mut self.g, &self.params)?;
        }
        Ok(value)
    }
}

/// The views of `indices` (this rank's shard of them, with `ranks`) in epoch `epoch`.
fn make_batch(
    source: &dyn Source,
    ranks: Option<&Ranks>,
    indices: &[usize],
    epoch: usize,
) -> Result<Batch> {
    let shard = match ranks {
        Some(ranks) => ranks.shard(indices)?,
        None => indices,
    };
    source.batch(shard, epoch as u64)
}
