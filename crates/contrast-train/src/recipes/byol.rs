//! BYOL (Grill et al. 2020), the non-contrastive comparison: no negatives. The online network
//! (encoder, head, predictor `q`) regresses the projection `z'` that a target network (encoder
//! and head, an EMA of the online ones, no gradient) gives for the *other* view:
//!
//! ```text
//! L = 2 - 2 cos(q(z_1), z'_2), symmetrised: (L(view 1 -> 2) + L(view 2 -> 1)) / 2
//! theta' <- m_k theta' + (1 - m_k) theta,  m_k = 1 - (1 - m_0) (cos(pi k / K) + 1) / 2
//! ```
//!
//! `2 - 2 cos(p, z) = ||p / |p| - z / |z| ||^2`, so the loss is Wang and Isola's alignment
//! (alpha 2, rows normalised) between the predictions and the swapped target projections,
//! averaged over the `2N` rows. The paper sums the two directions: its loss is twice ours.
//! Both views go through each network as one batch of `2N`, as SimCLR's do.

use contrast_autodiff::{Graph, Var};
use contrast_losses::AlignmentConfig;
use contrast_losses::autodiff::alignment_op;
use contrast_nn::Module;
use contrast_nn::ema::{MomentumSchedule, ema_update_params};
use ndarray::{Array2, Axis, Ix2, s};

use super::{Encoded, halves, stacked, view};
use crate::batch::{Batch, Input};
use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::model::ContrastModel;

/// The online predictions of both views (one batch of `2N`), split into view 1's and view
/// 2's rows.
pub(super) fn predictions(
    g: &mut Graph<f32>,
    model: &mut ContrastModel,
    batch: &Batch,
) -> Result<Vec<Var>> {
    let x = Input::concat(&[view(batch, 0)?, view(batch, 1)?])?;
    let z = model.project(g, &x)?;
    let p = model.predict(g, z)?;
    Ok(halves(g, p, batch.len())?.to_vec())
}

/// The target network and its momentum schedule.
pub struct ByolState {
    target: ContrastModel,
    schedule: MomentumSchedule,
}

impl ByolState {
    /// A target network initialised as a copy of `model`'s encoder and head; its momentum
    /// rises from `config.byol_momentum` to 1 over `total_steps`.
    pub fn new(
        g: &mut Graph<f32>,
        config: &TrainConfig,
        model: &ContrastModel,
        build: impl FnOnce(&mut Graph<f32>) -> Result<ContrastModel>,
        total_steps: usize,
    ) -> Result<Self> {
        let target = build(g)?;
        ema_update_params(g, &target.named_params(), &model.backbone_params(), 0.0)?;
        let schedule = MomentumSchedule::new(f64::from(config.byol_momentum), total_steps.max(1))?;
        Ok(Self { target, schedule })
    }

    /// The target network (saved in checkpoints beside the online model).
    pub fn target(&self) -> &ContrastModel {
        &self.target
    }

    /// Mutable target network (loaded from checkpoints).
    pub fn target_mut(&mut self) -> &mut ContrastModel {
        &mut self.target
    }

    /// The online predictions of both views (rows) and the target's projections of both
    /// views (frozen), each split into view 1's and view 2's rows.
    pub fn encode(
        &mut self,
        g: &mut Graph<f32>,
        model: &mut ContrastModel,
        batch: &Batch,
    ) -> Result<Encoded> {
        let rows = predictions(g, model, batch)?;
        let x = Input::concat(&[view(batch, 0)?, view(batch, 1)?])?;
        let target = g.no_grad(|g| -> Result<_> {
            let z = self.target.project(g, &x)?;
            Ok(g.value(z).clone())
        })?;
        let target = target
            .into_dimensionality::<Ix2>()
            .map_err(|_| Error::Config("BYOL target projections must be a matrix".into()))?;
        let n = batch.len();
        Ok(Encoded {
            rows,
            frozen: vec![
                target.slice(s![..n, ..]).to_owned(),
                target.slice(s![n.., ..]).to_owned(),
            ],
        })
    }

    /// The symmetrised BYOL loss: view 1's predictions regress view 2's targets and back.
    pub fn loss(
        &mut self,
        g: &mut Graph<f32>,
        rows: &[Var],
        frozen: &[Array2<f32>],
    ) -> Result<Var> {
        let p = stacked(g, rows)?;
        let swapped = ndarray::concatenate(Axis(0), &[frozen[1].view(), frozen[0].view()])
            .map_err(|e| Error::Config(format!("BYOL targets: {e}")))?;
        let z_target = g.input(swapped.into_dyn());
        Ok(alignment_op(g, p, z_target, &AlignmentConfig::default())?)
    }

    /// `theta' <- m_k theta' + (1 - m_k) theta` after global step `k` (from 0).
    pub fn momentum_update(
        &mut self,
        g: &mut Graph<f32>,
        model: &ContrastModel,
        k: usize,
    ) -> Result<()> {
        ema_update_params(
            g,
            &self.target.named_params(),
            &model.backbone_params(),
            self.schedule.momentum(k),
        )?;
        Ok(())
    }
}
