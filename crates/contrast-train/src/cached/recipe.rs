//! The trainer's recipes as a [`SplitLoss`]: chunks are [`Batch::samples`] of the batch.

use std::borrow::Cow;
use std::ops::Range;

use contrast_autodiff::{Graph, Var};
use contrast_gpu::GpuContext;

use super::{Pass, SplitLoss};
use crate::batch::Batch;
use crate::config::TrainConfig;
use crate::distributed::Ranks;
use crate::error::Result;
use crate::model::ContrastModel;
use crate::recipes::{Encoded, Recipe};

/// A recipe on one batch, as a cached-gradient step sees it: chunks are
/// [`Batch::samples`] of the batch; the replay asks for [`Recipe::encode_rows`] only. With
/// `ranks`, the batch is this rank's shard and the loss sees every rank's rows (gathered, the
/// gradient summed back to the owner), so the cached gradient of each row is the global one.
pub(crate) struct RecipeSplit<'a> {
    pub(crate) recipe: &'a mut Recipe,
    pub(crate) batch: &'a Batch,
    pub(crate) config: &'a TrainConfig,
    pub(crate) gpu: Option<&'a GpuContext>,
    pub(crate) ranks: Option<&'a Ranks>,
}

impl SplitLoss<f32, ContrastModel> for RecipeSplit<'_> {
    fn samples(&self) -> usize {
        self.batch.len()
    }

    fn encode(
        &mut self,
        g: &mut Graph<f32>,
        model: &mut ContrastModel,
        samples: Range<usize>,
        pass: Pass,
    ) -> Result<Encoded> {
        let chunk = if samples == (0..self.batch.len()) {
            Cow::Borrowed(self.batch)
        } else {
            Cow::Owned(self.batch.samples(samples))
        };
        Ok(match pass {
            Pass::Cache => self.recipe.encode(g, model, &chunk)?,
            Pass::Replay => Encoded {
                rows: self.recipe.encode_rows(g, model, &chunk)?,
                frozen: Vec::new(),
            },
        })
    }

    fn loss(&mut self, g: &mut Graph<f32>, whole: &Encoded) -> Result<Var> {
        let meta = self.batch.meta();
        let Some(ranks) = self.ranks else {
            return self.recipe.loss(g, whole, &meta, self.config, self.gpu);
        };
        let local = Encoded {
            rows: whole.rows.clone(),
            frozen: whole.frozen.clone(),
        };
        let (global, meta) = ranks.gather(g, local, &meta)?;
        self.recipe.loss(g, &global, &meta, self.config, self.gpu)
    }
}
