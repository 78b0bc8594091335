//! Temporal contrast (CPC, van den Oord et al. 2018; CURL, Laskin et al. 2020; ATC, Stooke et
//! al. 2021): the positive of an observation is what follows it. View 0 of a sample is the
//! observation `o_t`, view 1 the observation `o_{t+k}`, and the batch's context holds the
//! actions `a_t .. a_{t+k-1}` one-hot. With `f` the encoder, `h` the projection head
//! (the identity with `projection_head = false`) and `q` the predictor:
//!
//! ```text
//! p_t = q(concat(f(o_t), a_t..a_{t+k-1}))     (p_t = h(f(o_t)) with predictor = false)
//! y   = h(f(o_{t+k}))                         (or h'(f'(o_{t+k})), the EMA target's)
//! L   = InfoNCE(p, y): -(1/N) sum_i log softmax_j(cos(p_i, y_j) / T)_i
//! ```
//!
//! The probes read `f`. The predictor is an MLP on the query side; the head gives the keys
//! one too, so the features need not themselves be the space in which the futures spread
//! apart (SimCLR's finding that the representation is better taken before a head).
//!
//! The negatives of `p_i` are the other rows' futures `y_j`: other moments of other episodes
//! (and now and then of the same episode), as the batch was drawn shuffled from every
//! `(t, t + k)` pair of the training episodes. With a target encoder (`target_momentum =
//! m`), `f' <- m f' + (1 - m) f` after every step and the keys `y` get no gradient (CURL and
//! ATC); without one, the gradient flows through both sides, the keys' share of it scaled
//! by `key_gradient = b` in `[0, 1]`:
//!
//! ```text
//! y = b f(o_{t+k}) + (1 - b) stop_gradient(f(o_{t+k}))
//! ```
//!
//! (the same value; `b = 1` the plain loss, `b = 0` keys as constants). Below 1 the
//! encoder learns more from predicting the future than from being predictable, which keeps
//! more of the velocities in its features (what an EMA target does) while the keys still
//! spread apart (what retrieval needs).
//!
//! In the encode/loss split: rows = `[p]` and `[y]` without a target encoder, `[p]` with
//! one; frozen = `[]` without, the target's keys `[y]` with one.

use contrast_autodiff::{Graph, Var};
use contrast_losses::InfoNceConfig;
use contrast_losses::autodiff::info_nce_op;
use contrast_nn::Module;
use contrast_nn::ema::ema_update_params;
use ndarray::Ix2;

use super::{Encoded, halves, view};
use crate::batch::{Batch, Input};
use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::model::ContrastModel;

/// The optional target encoder and its momentum.
pub struct TemporalState {
    target: Option<(ContrastModel, f64)>,
    /// Share of the gradient through the keys, without a target.
    key_gradient: f32,
}

impl TemporalState {
    /// With `config.target_momentum`, a target encoder built by `build` and started as a
    /// copy of `model`'s encoder; otherwise none.
    pub fn new(
        g: &mut Graph<f32>,
        config: &TrainConfig,
        model: &ContrastModel,
        build: impl FnOnce(&mut Graph<f32>) -> Result<ContrastModel>,
    ) -> Result<Self> {
        let target = match config.temporal().target_momentum {
            Some(m) => {
                let target = build(g)?;
                ema_update_params(g, &target.named_params(), &model.backbone_params(), 0.0)?;
                Some((target, f64::from(m)))
            }
            None => None,
        };
        Ok(Self {
            target,
            key_gradient: config.temporal().key_gradient,
        })
    }

    /// The target encoder, if any (saved in checkpoints beside the online model).
    pub fn target(&self) -> Option<&ContrastModel> {
        self.target.as_ref().map(|(t, _)| t)
    }

    /// Mutable target encoder (loaded from checkpoints).
    pub fn target_mut(&mut self) -> Option<&mut ContrastModel> {
        self.target.as_mut().map(|(t, _)| t)
    }

    /// Predictions from view 0 and the actions (rows); futures from view 1, as rows or, from
    /// the target encoder, frozen.
    pub fn encode(
        &mut self,
        g: &mut Graph<f32>,
        model: &mut ContrastModel,
        batch: &Batch,
    ) -> Result<Encoded> {
        let n = batch.len();
        let (present, future) = match &mut self.target {
            // Both views as one batch through the encoder, as SimCLR does.
            None => {
                let x = Input::concat(&[view(batch, 0)?, view(batch, 1)?])?;
                let z = model.features(g, &x)?;
                let [present, future] = halves(g, z, n)?;
                (present, Some(model.head(g, future)?))
            }
            Some(_) => (model.features(g, view(batch, 0)?)?, None),
        };
        let prediction = if model.has_predictor() {
            let actions = batch.context.as_ref().ok_or_else(|| {
                Error::Config("the temporal predictor needs the actions (batch context)".into())
            })?;
            let actions = g.input(actions.clone().into_dyn());
            let joint = g.concat(&[present, actions], 1)?;
            model.predict(g, joint)?
        } else {
            model.head(g, present)?
        };
        match (future, &mut self.target) {
            (Some(future), _) => Ok(Encoded {
                rows: vec![prediction, scale_gradient(g, future, self.key_gradient)?],
                frozen: Vec::new(),
            }),
            (None, Some((target, _))) => {
                let keys = g.no_grad(|g| -> Result<_> {
                    let y = target.project(g, view(batch, 1)?)?;
                    Ok(g.value(y).clone())
                })?;
                let keys = keys
                    .into_dimensionality::<Ix2>()
                    .map_err(|_| Error::Config("temporal target keys must be a matrix".into()))?;
                Ok(Encoded {
                    rows: vec![prediction],
                    frozen: vec![keys],
                })
            }
            (None, None) => unreachable!("the future comes from the encoder or the target"),
        }
    }

    /// InfoNCE of the predictions against the futures, the batch's other futures as
    /// negatives.
    pub fn loss(&mut self, g: &mut Graph<f32>, encoded: &Encoded, temperature: f32) -> Result<Var> {
        let prediction = encoded.rows[0];
        let future = match (encoded.rows.get(1), encoded.frozen.first()) {
            (Some(&rows), _) => rows,
            (None, Some(keys)) => g.input(keys.clone().into_dyn()),
            (None, None) => {
                return Err(Error::Config(
                    "the temporal loss needs the futures' embeddings".into(),
                ));
            }
        };
        let config = InfoNceConfig::new(f64::from(temperature)).in_batch(true);
        Ok(info_nce_op(g, prediction, future, None, &config)?)
    }

    /// `f' <- m f' + (1 - m) f`, when there is a target encoder.
    pub fn momentum_update(&mut self, g: &mut Graph<f32>, model: &ContrastModel) -> Result<()> {
        if let Some((target, m)) = &self.target {
            ema_update_params(g, &target.named_params(), &model.backbone_params(), *m)?;
        }
        Ok(())
    }
}

/// `b x + (1 - b) stop_gradient(x)`: the value of `x`, with the gradient that reaches `x`
/// scaled by `b` (`x` itself when `b = 1`).
fn scale_gradient(g: &mut Graph<f32>, x: Var, b: f32) -> Result<Var> {
    if b == 1.0 {
        return Ok(x);
    }
    let constant = g.input(g.value(x).clone());
    let constant = g.mul_scalar(constant, 1.0 - b)?;
    let scaled = g.mul_scalar(x, b)?;
    Ok(g.add(scaled, constant)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    #[test]
    fn scale_gradient_keeps_the_value_and_scales_the_gradient() {
        let x0 =
            ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![0.5, -1.0, 2.0, 0.25, 3.0, -0.75]).unwrap();
        let w = x0.mapv(|v| v * 2.0 - 1.0);
        for b in [1.0f32, 0.5, 0.0] {
            let mut g = Graph::new();
            let x = g.param(x0.clone());
            let y = scale_gradient(&mut g, x, b).unwrap();
            assert!(
                g.value(y)
                    .iter()
                    .zip(&x0)
                    .all(|(a, e)| (a - e).abs() < 1e-6)
            );
            let weights = g.input(w.clone());
            let prod = g.mul(y, weights).unwrap();
            let loss = g.sum_all(prod).unwrap();
            g.backward(loss).unwrap();
            let grad = g
                .grad(x)
                .cloned()
                .unwrap_or_else(|| ArrayD::zeros(x0.raw_dim()));
            for (got, want) in grad.iter().zip(&w) {
                assert!(
                    (got - b * want).abs() < 1e-6,
                    "b = {b}: {got} vs {}",
                    b * want
                );
            }
        }
    }
}
