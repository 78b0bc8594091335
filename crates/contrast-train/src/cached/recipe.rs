//! The trainer's recipes as a [`SplitLoss`]: chunks are [`Batch::samples`] of the batch.

use std::borrow::Cow;
use std::ops::Range;

use contrast_autodiff::{Graph, Var};
use contrast_gpu::GpuContext;

use super::{Pass, SplitLoss};
use crate::batch::Batch;
use crate::config::TrainConfig;
use crate::error::Result;
use crate::model::ContrastModel;
use crate::recipes::{Encoded, Recipe};

/// A recipe on one batch, as a cached-gradient step sees it: chunks are
/// [`Batch::samples`] of the batch; the replay asks for [`Recipe::encode_rows`] only.
pub(crate) struct RecipeSplit<'a> {
    pub(crate) recipe: &'a mut Recipe,
    pub(crate) batch: &'a Batch,
    pub(crate) config: &'a TrainConfig,
    pub(crate) gpu: Option<&'a GpuContext>,
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
        self.recipe
            .loss(g, whole, &self.batch.meta(), self.config, self.gpu)
    }
}
