//! MoCo v2 (He et al. 2020; Chen et al. 2020): queries from the trained encoder, keys from a
//! momentum copy `theta_k <- m theta_k + (1 - m) theta_q` that gets no gradient, negatives
//! from a FIFO queue of past keys. The batch's keys enter the queue only after its loss is
//! computed, so a query never meets its own key as a negative. Until the queue holds any
//! key (the first step), the batch's other keys serve as negatives.

use contrast_autodiff::{Graph, Var};
use contrast_losses::InfoNceConfig;
use contrast_losses::autodiff::info_nce_op;
use contrast_nn::Module;
use contrast_nn::ema::ema_update_params;
use contrast_sampling::queue::MemoryQueue;
use ndarray::{Array2, Ix2};

use super::{Encoded, view};
use crate::batch::Batch;
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

/// The key encoder and the queue of negatives.
pub struct MocoState {
    key_model: ContrastModel,
    queue: MemoryQueue<f32>,
    momentum: f64,
}

impl MocoState {
    /// A key encoder initialised as a copy of `model`, and an empty queue.
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
            queue: MemoryQueue::new(config.queue_size, config.projection_dim)?,
            momentum: f64::from(config.moco_momentum),
        })
    }

    /// The key encoder (saved in checkpoints beside the query model).
    pub fn key_model(&self) -> &ContrastModel {
        &self.key_model
    }

    /// Mutable key encoder (loaded from checkpoints).
    pub fn key_model_mut(&mut self) -> &mut ContrastModel {
        &mut self.key_model
    }

    /// The queued keys, oldest first.
    pub fn queue_keys(&self) -> ndarray::Array2<f32> {
        self.queue.keys_oldest_first()
    }

    /// Refills the queue with `keys` (oldest first), as [`MocoState::queue_keys`] gave them;
    /// on an error the queue is unchanged.
    pub fn restore_queue(&mut self, keys: ndarray::ArrayD<f32>) -> Result<()> {
        let keys = keys
            .into_dimensionality::<Ix2>()
            .map_err(|_| Error::Config("checkpoint queue.keys must be a matrix".into()))?;
        // Built aside and swapped in, so a rejected file leaves the old queue in place.
        if keys.ncols() != self.queue.dim() || keys.nrows() > self.queue.capacity() {
            return Err(Error::Config(format!(
                "checkpoint queue.keys is {}x{}, the queue holds at most {}x{}",
                keys.nrows(),
                keys.ncols(),
                self.queue.capacity(),
                self.queue.dim()
            )));
        }
        let mut queue = MemoryQueue::new(self.queue.capacity(), self.queue.dim())?;
        if keys.nrows() > 0 {
            queue.enqueue(keys.view(), None)?;
        }
        self.queue = queue;
        Ok(())
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

    /// InfoNCE of the queries against their keys and the queue; then enqueues the keys.
    pub fn loss(
        &mut self,
        g: &mut Graph<f32>,
        rows: &[Var],
        frozen: &[Array2<f32>],
        t: f32,
    ) -> Result<Var> {
        let (q, keys) = (rows[0], &frozen[0]);
        let config = InfoNceConfig::new(f64::from(t)).in_batch(self.queue.is_empty());
        let k = g.input(keys.clone().into_dyn());
        let loss = self
            .queue
            .step(keys.view(), None, |negatives, _| -> Result<Var> {
                let negatives =
                    (negatives.nrows() > 0).then(|| g.input(negatives.to_owned().into_dyn()));
                Ok(info_nce_op(g, q, k, negatives, &config)?)
            })??;
        Ok(loss)
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
