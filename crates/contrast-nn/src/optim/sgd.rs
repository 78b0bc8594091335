//! Stochastic gradient descent with momentum, dampening, Nesterov and weight decay
//! (the update of `torch.optim.SGD`).

use ndarray::{NdFloat, Zip};

use super::sparse::{SparseParamRef, check_all, for_each_row, refuse_sparse};
use super::{Buffers, Decay, Optimizer, ParamRef, check_grad, check_range};
use crate::error::{Error, Result};
use crate::scalar;
use crate::state::StateDict;

/// SGD: `g += wd p`; `b = mu b + (1 - damp) g` (`b = g` on a parameter's first step);
/// `d = g + mu b` with Nesterov, else `d = b`; `p -= lr d`. With `mu = 0`, `d = g`.
///
/// A row-sparse gradient ([`Optimizer::step_with_sparse`]) is taken without momentum only:
/// `p[r] -= lr (g[r] + wd p[r])` for the rows `r` present, every other row untouched (so the
/// decay, too, reaches only the present rows, unlike `torch.optim.SGD`, which would decay
/// every row). With momentum it is an [`Error::SparseGradient`](crate::Error::SparseGradient).
#[derive(Clone, Debug)]
pub struct Sgd<A> {
    lr: A,
    momentum: A,
    dampening: A,
    nesterov: bool,
    decay: Decay<A>,
    buffers: Buffers<A>,
}

impl<A: NdFloat> Sgd<A> {
    /// Plain SGD with learning rate `lr` (no momentum, no decay).
    pub fn new(lr: f64) -> Result<Self> {
        check_range("lr", lr, 0.0, None)?;
        Ok(Self {
            lr: scalar(lr),
            momentum: A::zero(),
            dampening: A::zero(),
            nesterov: false,
            decay: Decay::none(),
            buffers: Buffers::new("momentum_buffer"),
        })
    }

    /// Heavy-ball momentum `mu` in `[0, 1)`.
    pub fn momentum(mut self, mu: f64) -> Result<Self> {
        check_range("momentum", mu, 0.0, Some(1.0))?;
        self.momentum = scalar(mu);
        Ok(self)
    }

    /// Dampening of the momentum update in `[0, 1)` (PyTorch's `dampening`).
    pub fn dampening(mut self, d: f64) -> Result<Self> {
        check_range("dampening", d, 0.0, Some(1.0))?;
        self.dampening = scalar(d);
        Ok(self)
    }

    /// Nesterov momentum (needs momentum > 0 and zero dampening, as in PyTorch).
    pub fn nesterov(mut self, on: bool) -> Result<Self> {
        if on && (self.momentum <= A::zero() || self.dampening != A::zero()) {
            return Err(Error::InvalidConfig {
                what: "nesterov",
                value: format!("momentum {} dampening {}", self.momentum, self.dampening),
                why: "Nesterov needs momentum > 0 and dampening = 0 (set momentum first)",
            });
        }
        self.nesterov = on;
        Ok(self)
    }

    /// L2 weight decay `wd >= 0`, added to the gradient. With `only_weights`, biases and norm
    /// parameters are not decayed (the SimCLR / BYOL convention).
    pub fn weight_decay(mut self, wd: f64, only_weights: bool) -> Result<Self> {
        self.decay = Decay::new(wd, only_weights)?;
        Ok(self)
    }
}

impl<A: NdFloat> Optimizer<A> for Sgd<A> {
    fn lr(&self) -> A {
        self.lr
    }

    fn set_lr(&mut self, lr: A) {
        self.lr = lr;
    }

    fn step(&mut self, params: &mut [ParamRef<'_, A>]) -> Result<()> {
        let (lr, mu, damp, nesterov) = (self.lr, self.momentum, self.dampening, self.nesterov);
        for p in params.iter_mut() {
            check_grad(p)?;
            let wd = self.decay.rate_for(p.kind);
            if mu == A::zero() {
                Zip::from(&mut *p.value)
                    .and(p.grad)
                    .for_each(|w, &g| plain_update(lr, wd, w, g));
                continue;
            }
            let (buf, fresh) = self.buffers.get_or_zeros(p.name, p.value)?;
            Zip::from(&mut *p.value)
                .and(p.grad)
                .and(buf)
                .for_each(|w, &g, b| {
                    let g = g + wd * *w;
                    *b = if fresh {
                        g
                    } else {
                        mu * *b + (A::one() - damp) * g
                    };
                    let d = if nesterov { g + mu * *b } else { *b };
                    *w -= lr * d;
                });
        }
        Ok(())
    }

    fn step_with_sparse(
        &mut self,
        dense: &mut [ParamRef<'_, A>],
        sparse: &mut [SparseParamRef<'_, A>],
    ) -> Result<()> {
        if self.momentum != A::zero() {
            refuse_sparse(
                sparse,
                "SGD with momentum has no row-sparse update (use momentum 0, or Adam)",
            )?;
        }
        check_all(dense, sparse)?;
        self.step(dense)?;
        let lr = self.lr;
        for p in sparse.iter_mut() {
            let wd = self.decay.rate_for(p.kind);
            for_each_row(p, [], |w, [], g| {
                for (w, &g) in w.iter_mut().zip(g) {
                    plain_update(lr, wd, w, g);
                }
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

/// SGD without momentum on one element: `w -= lr (g + wd w)`.
#[inline(always)]
fn plain_update<A: NdFloat>(lr: A, wd: A, w: &mut A, g: A) {
    *w -= lr * (g + wd * *w);
}
