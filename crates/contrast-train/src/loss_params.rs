//! Parameters that belong to the loss, not to the network, but are learned with it:
//! SigLIP's log-scale `t` (the logits are scaled by `exp(t)`) and bias `b`.
//!
//! They live in the model as its child `loss` (`loss.log_scale`, `loss.bias`), so the
//! optimizer steps them, checkpoints save and restore them, and the divergence guard
//! checks their gradients like any other parameter's. They are kinds that take no weight
//! decay ([`ParamKind::Bias`]), and the momentum copies of MoCo and BYOL leave them out
//! (a key encoder has no loss).

use contrast_autodiff::{Graph, Var};
use contrast_nn::Module;
use contrast_nn::optim::ParamKind;
use ndarray::arr0;

use crate::loss_choice::LossChoice;

/// The learned scalars of a loss (each a `[]`-shaped parameter node).
pub struct LossParams {
    log_scale: Var,
    bias: Var,
}

impl LossParams {
    /// The scalars `loss` learns, at their initial values; `None` for a loss without any.
    pub fn new(g: &mut Graph<f32>, loss: &LossChoice) -> Option<Self> {
        match *loss {
            LossChoice::Siglip { log_scale, bias } => Some(Self {
                log_scale: g.param(arr0(log_scale as f32).into_dyn()),
                bias: g.param(arr0(bias as f32).into_dyn()),
            }),
            _ => None,
        }
    }

    /// The log-scale node `t`.
    pub fn log_scale(&self) -> Var {
        self.log_scale
    }

    /// The bias node `b`.
    pub fn bias(&self) -> Var {
        self.bias
    }
}

impl Module<f32> for LossParams {
    /// The scalars transform no input: the loss reads them directly.
    fn forward(&mut self, _g: &mut Graph<f32>, x: Var) -> contrast_nn::Result<Var> {
        Ok(x)
    }

    fn own_params(&self) -> Vec<(&'static str, Var, ParamKind)> {
        vec![
            ("log_scale", self.log_scale, ParamKind::Bias),
            ("bias", self.bias, ParamKind::Bias),
        ]
    }
}
