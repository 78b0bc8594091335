//! Adam and AdamW (the updates of `torch.optim.Adam` and `torch.optim.AdamW`, no AMSGrad).

use ndarray::{ArrayD, IxDyn, NdFloat, Zip};

use super::{Buffers, Decay, Optimizer, ParamRef, check_grad, check_range, reject_leftovers};
use crate::error::{Error, Result};
use crate::scalar;
use crate::state::StateDict;

/// Adam (Kingma and Ba 2015) with PyTorch's bias correction; [`Adam::adamw`] gives AdamW
/// (Loshchilov and Hutter 2019), whose decay `p *= 1 - lr wd` is decoupled from the moments.
///
/// State: `<param>.exp_avg`, `<param>.exp_avg_sq` and the scalar `step` (the number of
/// steps taken, stored as a float: exact up to 2^24 steps in f32). The count is the
/// exponent of the bias correction, so it stops at `i32::MAX`: a step past it is an
/// [`Error::InvalidConfig`], and so is loading a count that is not an integer in that range.
/// Loading also refuses non-finite moments and a negative second moment.
#[derive(Clone, Debug)]
pub struct Adam<A> {
    lr: A,
    beta1: A,
    beta2: A,
    eps: A,
    decay: Decay<A>,
    decoupled: bool,
    step: u64,
    exp_avg: Buffers<A>,
    exp_avg_sq: Buffers<A>,
}

impl<A: NdFloat> Adam<A> {
    /// Adam with PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, no weight decay.
    pub fn new(lr: f64) -> Result<Self> {
        check_range("lr", lr, 0.0, None)?;
        Ok(Self {
            lr: scalar(lr),
            beta1: scalar(0.9),
            beta2: scalar(0.999),
            eps: scalar(1e-8),
            decay: Decay::none(),
            decoupled: false,
            step: 0,
            exp_avg: Buffers::new("exp_avg"),
            exp_avg_sq: Buffers::non_negative("exp_avg_sq"),
        })
    }

    /// AdamW with decoupled weight decay `wd` (PyTorch's default is 0.01).
    pub fn adamw(lr: f64, wd: f64) -> Result<Self> {
        let mut a = Self::new(lr)?.weight_decay(wd, false)?;
        a.decoupled = true;
        Ok(a)
    }

    /// Moment decay rates, each in `[0, 1)`.
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Result<Self> {
        check_range("beta1", beta1, 0.0, Some(1.0))?;
        check_range("beta2", beta2, 0.0, Some(1.0))?;
        self.beta1 = scalar(beta1);
        self.beta2 = scalar(beta2);
        Ok(self)
    }

    /// Denominator guard `eps >= 0`.
    pub fn eps(mut self, eps: f64) -> Result<Self> {
        check_range("eps", eps, 0.0, None)?;
        self.eps = scalar(eps);
        Ok(self)
    }

    /// Weight decay `wd >= 0` (L2 for Adam, decoupled for AdamW). With `only_weights`, biases
    /// and norm parameters are not decayed.
    pub fn weight_decay(mut self, wd: f64, only_weights: bool) -> Result<Self> {
        self.decay = Decay::new(wd, only_weights)?;
        Ok(self)
    }

    /// Steps taken so far.
    pub fn steps_taken(&self) -> u64 {
        self.step
    }
}

impl<A: NdFloat> Optimizer<A> for Adam<A> {
    fn lr(&self) -> A {
        self.lr
    }

    fn set_lr(&mut self, lr: A) {
        self.lr = lr;
    }

    fn step(&mut self, params: &mut [ParamRef<'_, A>]) -> Result<()> {
        for p in params.iter() {
            check_grad(p)?;
        }
        // The count is a power in `powi`: past i32::MAX it would wrap (a bias correction of
        // 1 - b^negative, or of 0 after a u64 wrap), so refuse the step instead.
        let next = self.step + 1;
        let t = i32::try_from(next).map_err(|_| step_out_of_range(next as f64))?;
        self.step = next;
        let (lr, b1, b2, eps) = (self.lr, self.beta1, self.beta2, self.eps);
        let one = A::one();
        let step_size = lr / (one - b1.powi(t));
        let bc2_sqrt = (one - b2.powi(t)).sqrt();
        for p in params.iter_mut() {
            let wd = self.decay.rate_for(p.kind);
            let (l2, shrink) = if self.decoupled {
                (A::zero(), one - lr * wd)
            } else {
                (wd, one)
            };
            let (m, _) = self.exp_avg.get_or_zeros(p)?;
            let (v, _) = self.exp_avg_sq.get_or_zeros(p)?;
            Zip::from(&mut *p.value)
                .and(p.grad)
                .and(m)
                .and(v)
                .for_each(|w, &g, m, v| {
                    *w *= shrink;
                    let g = g + l2 * *w;
                    *m = b1 * *m + (one - b1) * g;
                    *v = b2 * *v + (one - b2) * g * g;
                    *w -= step_size * *m / (v.sqrt() / bc2_sqrt + eps);
                });
        }
        Ok(())
    }

    fn state_dict(&self) -> StateDict<A> {
        let mut out = StateDict::new();
        self.exp_avg.write_into(&mut out);
        self.exp_avg_sq.write_into(&mut out);
        out.insert(
            "step".into(),
            ArrayD::from_elem(IxDyn(&[]), scalar(self.step as f64)),
        );
        out
    }

    fn load_state_dict(&mut self, state: &StateDict<A>) -> Result<()> {
        let mut rest = state.clone();
        let step = rest.remove("step").ok_or_else(|| Error::StateMismatch {
            missing: vec!["step".into()],
            unexpected: vec![],
            mismatched: vec![],
        })?;
        let s = match step.iter().next() {
            Some(s) if step.len() == 1 => s.to_f64().unwrap_or(f64::NAN),
            _ => {
                return Err(Error::InvalidConfig {
                    what: "optimizer step",
                    value: format!("{step:?}"),
                    why: "must be one number",
                });
            }
        };
        if !(0.0..=MAX_STEP).contains(&s) || s.fract() != 0.0 {
            return Err(step_out_of_range(s));
        }
        // Parse into copies so that a bad state leaves the optimizer unchanged.
        let (mut m, mut v) = (self.exp_avg.clone(), self.exp_avg_sq.clone());
        m.read_from(&mut rest)?;
        v.read_from(&mut rest)?;
        reject_leftovers(rest)?;
        (self.exp_avg, self.exp_avg_sq, self.step) = (m, v, s as u64);
        Ok(())
    }
}

/// The largest step count Adam takes: the count is the exponent of `powi`.
const MAX_STEP: f64 = i32::MAX as f64;

/// A step count that is negative, not an integer, not finite or beyond [`MAX_STEP`].
fn step_out_of_range(s: f64) -> Error {
    Error::InvalidConfig {
        what: "optimizer step",
        value: s.to_string(),
        why: "must be an integer in [0, 2147483647] (the exponent of the bias correction)",
    }
}
