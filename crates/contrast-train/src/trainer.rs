//! The data path, in the order it runs:
//!
//! ```text
//! dataset -> batch -> augment (views, on a background thread) -> encoder -> head -> loss
//!         -> backward -> optimizer step (learning rate from the schedule) -> recipe update
//! ```
//!
//! [`Trainer::epoch`] walks one epoch; [`Trainer::step`] is one step. Everything random is
//! keyed by `(seed, epoch, sample index, view)`, and every reduction has a fixed order, so a
//! run gives the same parameters whatever the number of threads.

use contrast_augment::Views;
use contrast_autodiff::Graph;
use contrast_data::{BatchConfig, Batches, Dataset};
use contrast_losses::gpu::GpuLossError;
use contrast_nn::optim::{Adam, Optimizer, graph_step};
use contrast_nn::schedule::Schedule;
use contrast_nn::{Module, NamedParam};
use contrast_sampling::sampler::{ClassBalancedSampler, SmallClassPolicy};
use ndarray::Array4;
use rand::SeedableRng;

use crate::augmentation::views_for;
use crate::config::{Method, TrainConfig};
use crate::device::Placement;
use crate::error::{Error, Result};
use crate::model::ContrastModel;
use crate::recipes::Recipe;

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
    /// AdamW (decoupled weight decay on weights only).
    pub optimizer: Adam<f32>,
    /// The contrastive recipe and its state.
    pub recipe: Recipe,
    schedule: Schedule,
    views: Views,
    steps_per_epoch: usize,
    /// Where the matrix products and the loss run.
    pub placement: Placement,
    /// Global steps taken so far.
    pub steps_done: usize,
}

impl Trainer {
    /// A freshly initialised model for `train`, seeded from `config.seed`.
    pub fn new(config: &TrainConfig, train: &Dataset) -> Result<Self> {
        config.validate()?;
        let shape = train.shape();
        let mut g = Graph::new();
        let placement = Placement::new(config.device)?;
        g.set_matmul_backend(placement.matmul_backend());
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(config.seed);
        let model = ContrastModel::new(&mut g, config, shape, &mut rng)?;
        let steps_per_epoch = plan_epoch(config, train, config.method, 0)?.steps();
        let total = config.epochs * steps_per_epoch;
        let recipe = Recipe::new(
            &mut g,
            config,
            &model,
            |g| ContrastModel::without_predictor(g, config, shape, &mut rng),
            total,
        )?;
        let params = model.named_params();
        let warmup = (config.warmup_epochs * steps_per_epoch).min(total.saturating_sub(1));
        let schedule = Schedule::warmup_cosine(f64::from(config.lr), warmup, total, 0.0)?;
        let optimizer = Adam::adamw(f64::from(config.lr), f64::from(config.weight_decay))?
            .weight_decay(f64::from(config.weight_decay), true)?;
        let views = views_for(
            config.augmentation,
            &config.dataset,
            shape,
            recipe.views_per_sample(),
        )?;
        Ok(Self {
            config: config.clone(),
            g,
            model,
            params,
            optimizer,
            recipe,
            schedule,
            views,
            steps_per_epoch,
            placement,
            steps_done: 0,
        })
    }

    /// Steps in every epoch.
    pub fn steps_per_epoch(&self) -> usize {
        self.steps_per_epoch
    }

    /// One epoch (`epoch` from 0) over `train`; `on_step` sees every step's report.
    /// Returns the mean loss.
    pub fn epoch(
        &mut self,
        train: &Dataset,
        epoch: usize,
        mut on_step: impl FnMut(StepReport),
    ) -> Result<f64> {
        let views = self.views.clone();
        let seed = self.config.seed;
        let batches = plan_epoch(&self.config, train, self.config.method, epoch as u64)?;
        let mut total = 0.0;
        let mut count = 0usize;
        // The next batch's views are drawn on a background thread while this step runs.
        for (batch, prepared) in batches.prefetch(move |b| {
            let indices: Vec<u64> = b.indices.iter().map(|&i| i as u64).collect();
            views.batch(b.images.view(), &indices, seed, b.epoch)
        }) {
            let loss = self.step(&prepared?, &batch.labels, epoch)?;
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

    /// One optimisation step on a batch's views: encode, project, loss, backward, update.
    /// A non-finite loss stops before any parameter changes.
    pub fn step(&mut self, views: &[Array4<f32>], labels: &[usize], epoch: usize) -> Result<f32> {
        self.optimizer
            .set_lr(self.schedule.lr(self.steps_done) as f32);
        self.model.set_training(true);
        let diverged = |what: String| Error::Diverged {
            step: self.steps_done + 1,
            epoch: epoch + 1,
            what,
            suggested_lr: self.config.lr / 10.0,
        };
        // Batch norm updates its running statistics during the forward pass: keep a copy so
        // that a diverging step leaves the model exactly as it was.
        let buffers: Vec<ndarray::ArrayD<f32>> = self
            .model
            .named_buffers()
            .into_iter()
            .map(|(_, b)| b.to_owned())
            .collect();
        let gpu = self.placement.gpu.as_deref();
        let recorded = self.recipe.loss(
            &mut self.g,
            &mut self.model,
            views,
            labels,
            &self.config,
            gpu,
        );
        let loss = match recorded {
            Ok(loss) => loss,
            // The encoder's output itself overflowed: the loss refuses NaN embeddings.
            Err(
                Error::Loss(contrast_losses::Error::NonFinite { .. })
                | Error::GpuLoss(GpuLossError::Loss(contrast_losses::Error::NonFinite { .. })),
            ) => {
                self.g.reset();
                restore_buffers(&mut self.model, &buffers);
                return Err(diverged(
                    "the embeddings overflowed to NaN or infinity".into(),
                ));
            }
            Err(e) => return Err(e),
        };
        let value = self.g.value(loss).iter().copied().sum::<f32>();
        if !value.is_finite() {
            self.g.reset();
            restore_buffers(&mut self.model, &buffers);
            return Err(diverged(format!("the loss is {value}")));
        }
        self.g.backward(loss)?;
        // A finite loss can still carry an overflowed gradient: check before it reaches a weight.
        let finite = |a: &ndarray::ArrayD<f32>| a.iter().all(|v| v.is_finite());
        if !self
            .params
            .iter()
            .all(|p| self.g.grad(p.var).is_none_or(finite))
        {
            self.g.zero_grad();
            restore_buffers(&mut self.model, &buffers);
            return Err(diverged(format!("a gradient is not finite (loss {value})")));
        }
        graph_step(&mut self.optimizer, &mut self.g, &self.params)?;
        self.g.zero_grad();
        self.recipe
            .after_step(&mut self.g, &self.model, self.steps_done)?;
        self.steps_done += 1;
        Ok(value)
    }
}

fn restore_buffers(model: &mut ContrastModel, saved: &[ndarray::ArrayD<f32>]) {
    let mut saved = saved.iter();
    model.visit_buffers_mut("", &mut |_, mut view| {
        if let Some(old) = saved.next() {
            view.assign(old);
        }
    });
}

/// The batches of one epoch: a seeded shuffle cut into full batches, or for the triplet
/// recipe class-balanced P x K batches (P = batch_size / K classes, K samples each).
fn plan_epoch(
    config: &TrainConfig,
    train: &Dataset,
    method: Method,
    epoch: u64,
) -> Result<Batches> {
    if method == Method::Triplet {
        let k = config.samples_per_class;
        let p = config.batch_size / k;
        let sampler = ClassBalancedSampler::new(
            train.labels(),
            p,
            k,
            SmallClassPolicy::WithReplacement,
            config.seed,
        )?;
        let order: Vec<usize> = sampler.batches(epoch).into_iter().flatten().collect();
        return Ok(train.batches_in_order(order, config.batch_size, epoch)?);
    }
    Ok(train.batches(&BatchConfig::new(config.batch_size, config.seed), epoch)?)
}
