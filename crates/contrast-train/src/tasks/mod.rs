//! What differs between kinds of data: a [`Task`] knows its data (training samples as a
//! [`Source`] of batches, a held-out split), what input the model takes, and how to evaluate
//! frozen features beside the baselines that matter for that kind of data. Everything else
//! (recipes, the trainer, checkpoints, resume, metrics, plots, the divergence guard) is the
//! same for every task.
//!
//! | task | datasets | input | evaluation | baselines |
//! |---|---|---|---|---|
//! | images | `mnist5k`, `digits`, `fashion-mnist`, `cifar10:PATH`, ... | NCHW images | kNN (k = 200, 20), linear probe, alignment/uniformity | raw pixels |
//! | temporal | `cartpole`, `mountaincar` (generated, cached) | frame stacks + one-hot actions | next-state retrieval top-1, kNN and ridge R^2 per state variable | raw pixels |
//! | text | `bible:web-es`, `bible:kjv-web`, `bible:A-B`, `bible-slice:A-B`, `pairs:PATH` | bags of hashed n-gram ids | retrieval of the partner, both directions (top-1 in pools of 1,000 and in the full pool, MRR) | TF-IDF on the same features |

pub mod images;
pub mod temporal;
pub mod text;

use std::path::Path;
use std::sync::Arc;

use contrast_data::ImageShape;
use ndarray::Array2;

use crate::config::TrainConfig;
use crate::error::Result;
use crate::eval::report::Row;
use crate::metrics::EpochMetrics;
use crate::source::Source;
use crate::trainer::Trainer;

/// The input an encoder is built for.
#[derive(Clone, Debug, PartialEq)]
pub enum InputSpec {
    /// Images of this shape.
    Images(ImageShape),
    /// Frame stacks: `k` frames as channels, any height and width, with `context`
    /// conditioning values per sample (the one-hot actions a predictor reads).
    FrameStacks {
        /// `(k, H, W)`.
        shape: ImageShape,
        /// Width of each sample's context row.
        context: usize,
    },
    /// Bags of feature ids in `0..buckets`.
    Bags {
        /// Rows of the embedding table.
        buckets: usize,
    },
}

impl InputSpec {
    /// The shape of one image-like sample, `(C, H, W)` (`None` for bags).
    pub fn shape(&self) -> Option<ImageShape> {
        match self {
            InputSpec::Images(shape) | InputSpec::FrameStacks { shape, .. } => Some(*shape),
            InputSpec::Bags { .. } => None,
        }
    }

    /// Width of the per-sample context row (0 when there is none).
    pub fn context(&self) -> usize {
        match self {
            InputSpec::Images(_) | InputSpec::Bags { .. } => 0,
            InputSpec::FrameStacks { context, .. } => *context,
        }
    }
}

/// Which split of a task's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Split {
    /// The training split.
    Train,
    /// The held-out split.
    Test,
}

/// A kind of data with its evaluation.
pub trait Task: Send {
    /// What the model's encoder takes.
    fn input(&self) -> InputSpec;

    /// The training samples, each with `views` views per batch row.
    fn source(&self, config: &TrainConfig, views: usize) -> Result<Arc<dyn Source>>;

    /// The probes of the final report, in column order.
    fn columns(&self) -> Vec<String>;

    /// The trainer's frozen features scored by every probe (run on the encoder at its random
    /// initialisation and after training).
    fn score(&self, trainer: &mut Trainer) -> Result<Vec<f64>>;

    /// The rows of the baselines that need no encoder (e.g. raw pixels).
    fn baselines(&self, config: &TrainConfig) -> Result<Vec<Row>>;

    /// The cheap evaluation run every `eval_every` epochs, as named values (plotted per epoch).
    fn monitor(&self, trainer: &mut Trainer) -> Result<Vec<(String, f64)>>;

    /// Single figures of the trained features for the report (may be empty).
    fn extras(&self, trainer: &mut Trainer) -> Result<Vec<(String, f64)>>;

    /// Frozen features of a split, one row per sample in order (`embeddings.npy`, `contrast
    /// embed`).
    fn embed(&self, trainer: &mut Trainer, split: Split) -> Result<Array2<f32>>;

    /// Plots beyond the loss curve, written into the run folder `out`.
    fn plots(
        &self,
        out: &Path,
        trainer: &mut Trainer,
        history: &[EpochMetrics],
        test_features: &Array2<f32>,
    ) -> Result<()>;
}

/// The task of `config.dataset`, with its data loaded: trajectories for `cartpole` and
/// `mountaincar`, text for the text datasets, images otherwise.
pub fn load(config: &TrainConfig) -> Result<Box<dyn Task>> {
    if crate::config::is_trajectory_dataset(&config.dataset) {
        return Ok(Box::new(temporal::Temporal::load(config)?));
    }
    if text::is_text_dataset(&config.dataset) {
        return Ok(Box::new(text::Text::load(config)?));
    }
    Ok(Box::new(images::Images::load(config)?))
}
