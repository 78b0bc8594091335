//! LARS, layer-wise adaptive rate scaling (You et al. 2017), as SimCLR uses it.
//!
//! For a weight `p` with gradient `g`: `g' = g + wd p`, trust ratio
//! `r = eta ||p|| / ||g'||` (1 when either norm is 0), then momentum on the scaled step:
//! `b = mu b + lr r g'`, `p -= b` (with Nesterov: `p -= mu b + lr r g'`).
//! Biases and normalisation parameters get neither decay nor the trust ratio
//! (`g' = g`, `r = 1`), following SimCLR's `exclude_from_weight_decay` /
//! `exclude_from_layer_adaptation` for `bias` and `batch_normalization`.

use ndarray::{ArrayD, NdFloat, Zip};

use super::{Buffers, Optimizer, ParamRef, check_grad, check_range};
use crate::error::Result;
use crate::scalar;
use crate::state::StateDict;

/// LARS with momentum; see the module docs for the update.
#[derive(Clone, Debug)]
pub struct Lars<A> {
    lr: A,
    momentum: A,
    weight_decay: A,
    eta: A,
    nesterov: bool,
    buffers: Buffers<A>,
}

impl<A: NdFloat> Lars<A> {
    /// LARS with SimCLR's settings: momentum 0.9, trust coefficient `eta = 0.001`, weight decay `wd`.
    pub fn new(lr: f64, wd: f64) -> Result<Self> {
        check_range("lr", lr, 0.0, None)?;
        check_range("weight_decay", wd, 0.0, None)?;
        Ok(Self {
            lr: scalar(lr),
            momentum: scalar(0.9),
            weight_decay: scalar(wd),
            eta: scalar(0.001),
            nesterov: false,
            buffers: Buffers::new("momentum_buffer"),
        })
    }

    /// Momentum `mu` in `[0, 1)`.
    pub fn momentum(mut self, mu: f64) -> Result<Self> {
        check_range("momentum", mu, 0.0, Some(1.0))?;
        self.momentum = scalar(mu);
        Ok(self)
    }

    /// Trust coefficient `eta >= 0` (0 freezes the weights; SimCLR uses 0.001).
    pub fn trust_coefficient(mut self, eta: f64) -> Result<Self> {
        check_range("trust coefficient", eta, 0.0, None)?;
        self.eta = scalar(eta);
        Ok(self)
    }

    /// Nesterov momentum.
    pub fn nesterov(mut self, on: bool) -> Self {
        self.nesterov = on;
        self
    }

    /// Trust ratio `eta ||p|| / ||g'||`, 1 when either norm is zero.
    fn trust_ratio(&self, p: &ArrayD<A>, g: &ArrayD<A>, wd: A) -> A {
        let (mut pp, mut gg) = (A::zero(), A::zero());
        Zip::from(p).and(g).for_each(|&w, &g| {
            let gd = g + wd * w;
            pp += w * w;
            gg += gd * gd;
        });
        if pp > A::zero() && gg > A::zero() {
            self.eta * pp.sqrt() / gg.sqrt()
        } else {
            A::one()
        }
    }
}

impl<A: NdFloat> Optimizer<A> for Lars<A> {
    fn lr(&self) -> A {
        self.lr
    }

    fn set_lr(&mut self, lr: A) {
        self.lr = lr;
    }

    fn step(&mut self, params: &mut [ParamRef<'_, A>]) -> Result<()> {
        let (mu, nesterov) = (self.momentum, self.nesterov);
        for p in params.iter_mut() {
            check_grad(p)?;
            let (wd, ratio) = if p.kind.is_weight() {
                let wd = self.weight_decay;
                (wd, self.trust_ratio(p.value, p.grad, wd))
            } else {
                (A::zero(), A::one())
            };
            let scaled_lr = self.lr * ratio;
            let (buf, _) = self.buffers.get_or_zeros(p.name, p.value)?;
            Zip::from(&mut *p.value)
                .and(p.grad)
                .and(buf)
                .for_each(|w, &g, b| {
                    let step = scaled_lr * (g + wd * *w);
                    *b = mu * *b + step;
                    *w -= if nesterov { mu * *b + step } else { *b };
                });
        }
        Ok(())
    }

    fn state_dict(&self) -> StateDict<A> {
        self.buffers.state_dict()
    }

    fn load_state_dict(&mut self, state: &StateDict<A>) -> Result<()> {
        self.buffers = self.buffers.loaded(state)?;
        Ok(())
    }
}
