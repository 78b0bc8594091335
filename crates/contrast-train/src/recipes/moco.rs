//! MoCo v2 (He et al. 2020; Chen et al. 2020): queries from the trained encoder, keys from a
//! momentum copy `theta_k <- m theta_k + (1 - m) theta_q` that gets no gradient. By default
//! the loss is InfoNCE with negatives from a FIFO queue of past keys; the batch's keys enter
//! the queue only after its loss is computed, so a query never meets its own key as a
//! negative. Until the queue holds any key (the first step), the batch's other keys serve
//! as negatives. Other losses and negatives: [`super::pair`].

use contrast_autodiff::{Graph, Var};
use contrast_gpu::GpuContext;
use contrast_nn::Module;
use contrast_nn::ema::ema_update_params;
use ndarray::{Array2, Ix2};

use super::pair::PairObjective;
use super::{Encoded, view};
use crate::batch::{Batch, Meta};
use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::model::ContrastModel;

/// The queries: view 1 through the trained model (one block).
pub(super) fn queries(
    g: &mut Graph<f32>,
    model: &mut ContrastModel,
    batch: &Batch,
) -> Result<Vec<Var>> {
    Ok(vec![model.project(g, view(batch, 0)?)?])
}

/// The key encoder and the loss with its negatives.
pub struct MocoState {
    key_model: ContrastModel,
    objective: PairObjective,
    momentum: f64,
}

impl MocoState {
    /// A key encoder initialised as a copy of `model`, and the loss of `config` (an empty
    /// queue by default).
    pub fn new(
        g: &mut Graph<f32>,
        config: &TrainConfig,
        model: &ContrastModel,
        build: impl FnOnce(&mut Graph<f32>) -> Result<ContrastModel>,
    ) -> Result<Self> {
        let key_model = build(g)?;
        ema_update_params(g, &key_model.named_params(), &model.backbone_params(), 0.0)?;
        Ok(Self {
            key_model,
            objective: PairObjective::new(config, false, model.loss_params())?,
            momentum: f64::from(config.moco_momentum),
        })
    }

    /// The loss and its negatives (the queue).
    pub fn objective(&self) -> &PairObjective {
        &self.objective
    }

    /// [`MocoState::objective`], mutable (to load a checkpoint).
    pub fn objective_mut(&mut self) -> &mut PairObjective {
        &mut self.objective
    }

    /// The key encoder (saved in checkpoints beside the query model).
    pub fn key_model(&self) -> &ContrastModel {
        &self.key_model
    }

    /// Mutable key encoder (loaded from checkpoints).
    pub fn key_model_mut(&mut self) -> &mut ContrastModel {
        &mut self.key_model
    }

    /// Queries of view 1 from the trained model (rows) and keys of view 2 from the key
    /// encoder (frozen).
    pub fn encode(
        &mut self,
        g: &mut Graph<f32>,
        model: &mut ContrastModel,
        batch: &Batch,
    ) -> Result<Encoded> {
        let rows = queries(g, model, batch)?;
        let keys = g.no_grad(|g| -> Result<_> {
            let k = self.key_model.project(g, view(batch, 1)?)?;
            Ok(g.value(k).clone())
        })?;
        let keys = keys
            .into_dimensionality::<Ix2>()
            .map_err(|_| Error::Config("MoCo keys must be a matrix".into()))?;
        Ok(Encoded {
            rows,
            frozen: vec![keys],
        })
    }

    /// The chosen loss of the queries against their keys (a constant block); by default
    /// InfoNCE against the queue, then the keys join the queue.
    pub fn loss(
        &mut self,
        g: &mut Graph<f32>,
        rows: &[Var],
        frozen: &[Array2<f32>],
        meta: &Meta,
        gpu: Option<&GpuContext>,
    ) -> Result<Var> {
        let k = g.input(frozen[0].clone().into_dyn());
        self.objective.loss(g, &[rows[0], k], meta, gpu)
    }

    /// `theta_k <- m theta_k + (1 - m) theta_q`.
    pub fn momentum_update(&mut self, g: &mut Graph<f32>, model: &ContrastModel) -> Result<()> {
        ema_update_params(
            g,
            &self.key_model.named_params(),
            &model.backbone_params(),
            self.momentum,
        )?;
        Ok(())
    }
}
