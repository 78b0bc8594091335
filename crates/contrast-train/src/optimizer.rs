//! The optimizer a run updates its parameters with: AdamW (the default), SGD with momentum
//! (MoCo's choice) or LARS (SimCLR's), each with weight decay on weights only (not on biases
//! and normalisation parameters). The learning rate comes from the run's schedule.

use contrast_nn::optim::{Adam, Lars, Optimizer, ParamRef, Sgd, SparseParamRef};
use contrast_nn::state::StateDict;

use crate::config::{OptimizerKind, TrainConfig};
use crate::error::Result;

/// One of the optimizers of [`OptimizerKind`], behind the one [`Optimizer`] interface.
#[derive(Clone, Debug)]
pub enum TrainOptimizer {
    /// Adam with decoupled weight decay.
    AdamW(Adam<f32>),
    /// SGD with heavy-ball momentum and L2 weight decay.
    Sgd(Sgd<f32>),
    /// LARS with momentum.
    Lars(Lars<f32>),
}

impl TrainOptimizer {
    /// The optimizer `config` names, at its peak learning rate.
    pub fn new(config: &TrainConfig) -> Result<Self> {
        let (lr, wd) = (f64::from(config.lr), f64::from(config.weight_decay));
        let momentum = f64::from(config.momentum);
        Ok(match config.optimizer {
            OptimizerKind::Adamw => Self::AdamW(Adam::adamw(lr, wd)?.weight_decay(wd, true)?),
            OptimizerKind::Sgd => {
                Self::Sgd(Sgd::new(lr)?.momentum(momentum)?.weight_decay(wd, true)?)
            }
            OptimizerKind::Lars => Self::Lars(Lars::new(lr, wd)?.momentum(momentum)?),
        })
    }

    fn inner(&self) -> &dyn Optimizer<f32> {
        match self {
            Self::AdamW(o) => o,
            Self::Sgd(o) => o,
            Self::Lars(o) => o,
        }
    }

    fn inner_mut(&mut self) -> &mut dyn Optimizer<f32> {
        match self {
            Self::AdamW(o) => o,
            Self::Sgd(o) => o,
            Self::Lars(o) => o,
        }
    }
}

impl Optimizer<f32> for TrainOptimizer {
    fn lr(&self) -> f32 {
        self.inner().lr()
    }

    fn set_lr(&mut self, lr: f32) {
        self.inner_mut().set_lr(lr);
    }

    fn step(&mut self, params: &mut [ParamRef<'_, f32>]) -> contrast_nn::Result<()> {
        self.inner_mut().step(params)
    }

    fn step_with_sparse(
        &mut self,
        dense: &mut [ParamRef<'_, f32>],
        sparse: &mut [SparseParamRef<'_, f32>],
    ) -> contrast_nn::Result<()> {
        self.inner_mut().step_with_sparse(dense, sparse)
    }

    fn state_dict(&self) -> StateDict<f32> {
        self.inner().state_dict()
    }

    fn load_state_dict(&mut self, state: &StateDict<f32>) -> contrast_nn::Result<()> {
        self.inner_mut().load_state_dict(state)
    }
}
