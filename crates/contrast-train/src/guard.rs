//! The divergence guard: a step whose loss, embeddings or gradients stop being finite must
//! change nothing, and say where it stopped and what to try.
//!
//! Batch norm updates its running statistics during the forward pass, so the guard keeps a
//! copy of every buffer from before the step and puts it back when the step fails.

use contrast_autodiff::{Grad, Graph};
use contrast_losses::gpu::GpuLossError;
use contrast_nn::{Module, NamedParam};
use ndarray::ArrayD;

use crate::error::{Error, Result};
use crate::model::ContrastModel;

/// What the model held before a step, and where the step is.
pub(crate) struct Guard {
    buffers: Vec<ArrayD<f32>>,
    step: usize,
    epoch: usize,
    suggested_lr: f32,
}

impl Guard {
    /// Snapshots `model`'s buffers before global step `step` (from 1) of epoch `epoch`
    /// (from 1); `lr` is the configured learning rate.
    pub(crate) fn new(model: &ContrastModel, step: usize, epoch: usize, lr: f32) -> Self {
        Self {
            buffers: model
                .named_buffers()
                .into_iter()
                .map(|(_, b)| b.to_owned())
                .collect(),
            step,
            epoch,
            suggested_lr: lr / 10.0,
        }
    }

    /// Passes a finite loss with finite gradients through; otherwise clears the step's tape
    /// and gradients, restores the buffers, and returns the error ([`Error::Diverged`] for
    /// the symptoms of divergence).
    pub(crate) fn check(
        self,
        loss: Result<f32>,
        g: &mut Graph<f32>,
        model: &mut ContrastModel,
        params: &[NamedParam],
    ) -> Result<f32> {
        // Dense and row-sparse (embedding table) gradients alike.
        let finite = |p: &NamedParam| g.gradient(p.var).is_none_or(Grad::is_finite);
        let failure = match loss {
            Ok(value) if params.iter().all(finite) => {
                return Ok(value);
            }
            // A finite loss can still carry an overflowed gradient: stop before a weight sees it.
            Ok(value) => self.diverged(format!("a gradient is not finite (loss {value})")),
            // The encoder's output itself overflowed: the losses refuse NaN embeddings.
            Err(
                Error::Loss(contrast_losses::Error::NonFinite { .. })
                | Error::GpuLoss(GpuLossError::Loss(contrast_losses::Error::NonFinite { .. })),
            ) => self.diverged("the embeddings overflowed to NaN or infinity".into()),
            // The reverse pass refuses a non-finite loss.
            Err(Error::Autodiff(contrast_autodiff::Error::NonFinite { value })) => {
                self.diverged(format!("the loss is {value}"))
            }
            Err(other) => other,
        };
        g.reset();
        g.zero_grad();
        let mut saved = self.buffers.iter();
        model.visit_buffers_mut("", &mut |_, mut view| {
            if let Some(old) = saved.next() {
                view.assign(old);
            }
        });
        Err(failure)
    }

    fn diverged(&self, what: String) -> Error {
        Error::Diverged {
            step: self.step,
            epoch: self.epoch,
            what,
            suggested_lr: self.suggested_lr,
        }
    }
}
