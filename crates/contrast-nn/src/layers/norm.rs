//! Batch normalisation (with running statistics) and layer normalisation.
//!
//! Batch norm, per channel `c` over the batch (and spatial positions):
//! `y = gamma (x - mu) / sqrt(var + eps) + beta`. Training uses the batch mean and biased
//! variance and updates `running = (1 - momentum) running + momentum batch` with the
//! *unbiased* batch variance (PyTorch's convention, momentum 0.1, eps 1e-5); evaluation uses
//! the running statistics. Layer norm normalises each sample over its last axis with the
//! biased variance and has no running statistics.
//!
//! Synchronised batch norm (data-parallel training) is a switch on the same layer:
//! [`BatchNorm::set_sync`] (or [`Module::set_collective`] for a whole model) makes training
//! use the statistics of every rank's batch together
//! ([`crate::distributed::sync_batch_norm`]); evaluation is unchanged.

use contrast_autodiff::{BatchNormMode, BatchStats, Graph, Var};
use ndarray::{Array1, ArrayD, ArrayViewD, ArrayViewMutD, IxDyn, NdFloat, Zip};

use super::check_input;
use crate::distributed::{SharedCollective, sync_batch_norm};
use crate::error::{Error, Result};
use crate::module::Module;
use crate::optim::ParamKind;
use crate::scalar;

/// `BatchNorm1d` (input `(N, C)`) or `BatchNorm2d` (input `(N, C, H, W)`).
#[derive(Clone, Debug)]
pub struct BatchNorm<A> {
    weight: Var,
    bias: Var,
    running_mean: Array1<A>,
    running_var: Array1<A>,
    momentum: A,
    eps: A,
    rank: usize,
    training: bool,
    /// Synchronise the batch statistics over this collective's ranks (training only).
    sync: Option<SharedCollective<A>>,
}

impl<A: NdFloat> BatchNorm<A> {
    fn new(g: &mut Graph<A>, channels: usize, rank: usize) -> Self {
        Self {
            weight: g.param(ArrayD::ones(IxDyn(&[channels]))),
            bias: g.param(ArrayD::zeros(IxDyn(&[channels]))),
            running_mean: Array1::zeros(channels),
            running_var: Array1::ones(channels),
            momentum: scalar(0.1),
            eps: scalar(1e-5),
            rank,
            training: true,
            sync: None,
        }
    }

    /// Batch norm over `(N, C)` features (PyTorch `BatchNorm1d`): gamma 1, beta 0, running (0, 1).
    pub fn new_1d(g: &mut Graph<A>, channels: usize) -> Self {
        Self::new(g, channels, 2)
    }

    /// Batch norm over `(N, C, H, W)` images (PyTorch `BatchNorm2d`).
    pub fn new_2d(g: &mut Graph<A>, channels: usize) -> Self {
        Self::new(g, channels, 4)
    }

    /// Set the running-average momentum (in `[0, 1]`) and the variance guard `eps > 0`.
    pub fn with_momentum_eps(mut self, momentum: f64, eps: f64) -> Result<Self> {
        if !((0.0..=1.0).contains(&momentum) && eps > 0.0 && eps.is_finite()) {
            return Err(Error::InvalidConfig {
                what: "batch norm momentum/eps",
                value: format!("momentum {momentum}, eps {eps}"),
                why: "momentum must be in [0, 1] and eps finite and > 0",
            });
        }
        self.momentum = scalar(momentum);
        self.eps = scalar(eps);
        Ok(self)
    }

    /// Synchronise the batch statistics of training over the ranks of `collective` (the
    /// global batch's mean and variance, in forward and backward), or stop (`None`).
    pub fn set_sync(&mut self, collective: Option<SharedCollective<A>>) {
        self.sync = collective;
    }

    /// Whether training statistics are synchronised over ranks ([`BatchNorm::set_sync`]); a
    /// layer that fuses this batch norm into another op must then run it on its own.
    pub fn is_synced(&self) -> bool {
        self.sync.is_some()
    }

    /// Handles of `gamma` (`weight`) and `beta` (`bias`), shape `(C,)`.
    pub fn params(&self) -> (Var, Var) {
        (self.weight, self.bias)
    }

    /// The statistics a forward pass normalises with now: the batch's in training, the
    /// running ones in evaluation.
    pub fn mode(&self) -> BatchNormMode<'_, A> {
        if self.training {
            BatchNormMode::Train { eps: self.eps }
        } else {
            BatchNormMode::Eval {
                mean: &self.running_mean,
                var: &self.running_var,
                eps: self.eps,
            }
        }
    }

    /// `running = (1 - momentum) running + momentum batch`, after a training-mode pass that
    /// returned `stats` (a layer that fuses this batch norm into another op calls it).
    pub fn update_running(&mut self, stats: &BatchStats<A>) {
        let m = self.momentum;
        let keep = A::one() - m;
        Zip::from(&mut self.running_mean)
            .and(&stats.mean)
            .for_each(|r, &b| *r = keep * *r + m * b);
        Zip::from(&mut self.running_var)
            .and(&stats.var)
            .for_each(|r, &b| *r = keep * *r + m * b);
    }

    /// Channels `C`.
    pub fn channels(&self) -> usize {
        self.running_mean.len()
    }

    /// Whether this layer normalises with batch statistics (training) now.
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// Running mean per channel.
    pub fn running_mean(&self) -> &Array1<A> {
        &self.running_mean
    }

    /// Running (unbiased) variance per channel.
    pub fn running_var(&self) -> &Array1<A> {
        &self.running_var
    }
}

impl<A: NdFloat> Module<A> for BatchNorm<A> {
    fn forward(&mut self, g: &mut Graph<A>, x: Var) -> Result<Var> {
        let (c, rank) = (self.running_mean.len(), self.rank);
        // Synchronised, a rank may hold few rows (or none): the op checks the global count.
        let min_n = match (self.training, &self.sync) {
            (true, Some(_)) => 0,
            (true, None) => 2,
            (false, _) => 1,
        };
        check_input(
            g,
            x,
            if rank == 2 {
                "BatchNorm1d"
            } else {
                "BatchNorm2d"
            },
            || {
                let dims = if rank == 2 {
                    format!("(N, {c})")
                } else {
                    format!("(N, {c}, H, W)")
                };
                format!("{dims} with N >= {min_n}")
            },
            |s| s.len() == rank && s[1] == c && s[0] >= min_n,
        )?;
        let (y, stats) = match (&self.sync, self.training) {
            (Some(c), true) => {
                let (y, stats) = sync_batch_norm(g, x, self.weight, self.bias, self.eps, c)?;
                (y, Some(stats))
            }
            _ => g.batch_norm(x, self.weight, self.bias, self.mode())?,
        };
        if let Some(s) = stats {
            self.update_running(&s);
        }
        Ok(y)
    }

    fn own_params(&self) -> Vec<(&'static str, Var, ParamKind)> {
        vec![
            ("weight", self.weight, ParamKind::Norm),
            ("bias", self.bias, ParamKind::Norm),
        ]
    }

    fn own_buffers(&self) -> Vec<(&'static str, ArrayViewD<'_, A>)> {
        vec![
            ("running_mean", self.running_mean.view().into_dyn()),
            ("running_var", self.running_var.view().into_dyn()),
        ]
    }

    fn own_buffers_mut(&mut self) -> Vec<(&'static str, ArrayViewMutD<'_, A>)> {
        vec![
            ("running_mean", self.running_mean.view_mut().into_dyn()),
            ("running_var", self.running_var.view_mut().into_dyn()),
        ]
    }

    fn set_own_training(&mut self, training: bool) {
        self.training = training;
    }

    fn set_own_collective(&mut self, collective: Option<SharedCollective<A>>) {
        self.set_sync(collective);
    }
}

/// Layer norm over the last axis of size `D`: `y = gamma (x - mean) / sqrt(var + eps) + beta`.
#[derive(Clone, Debug)]
pub struct LayerNorm<A> {
    weight: Var,
    bias: Var,
    dim: usize,
    eps: A,
}

impl<A: NdFloat> LayerNorm<A> {
    /// Layer norm over a last axis of size `dim` (gamma 1, beta 0, eps 1e-5).
    pub fn new(g: &mut Graph<A>, dim: usize) -> Self {
        Self {
            weight: g.param(ArrayD::ones(IxDyn(&[dim]))),
            bias: g.param(ArrayD::zeros(IxDyn(&[dim]))),
            dim,
            eps: scalar(1e-5),
        }
    }
}

impl<A: NdFloat> Module<A> for LayerNorm<A> {
    fn forward(&mut self, g: &mut Graph<A>, x: Var) -> Result<Var> {
        let d = self.dim;
        let shape = check_input(
            g,
            x,
            "LayerNorm",
            || format!("(..., {d})"),
            |s| s.last() == Some(&d),
        )?;
        let axis = shape.len() - 1;
        // Composed from graph primitives, so its gradient is the chain rule through them.
        let mean = g.mean(x, &[axis], true)?;
        let centred = g.sub(x, mean)?;
        let sq = g.mul(centred, centred)?;
        let var = g.mean(sq, &[axis], true)?;
        let var_eps = g.add_scalar(var, self.eps)?;
        let std = g.sqrt(var_eps)?;
        let xhat = g.div(centred, std)?;
        let scaled = g.mul(xhat, self.weight)?;
        Ok(g.add(scaled, self.bias)?)
    }

    fn own_params(&self) -> Vec<(&'static str, Var, ParamKind)> {
        vec![
            ("weight", self.weight, ParamKind::Norm),
            ("bias", self.bias, ParamKind::Norm),
        ]
    }
}
