//! Adam and AdamW (the updates of `torch.optim.Adam` and `torch.optim.AdamW`, no AMSGrad),
//! and their lazy form for row-sparse gradients (`torch.optim.SparseAdam`).

use ndarray::{ArrayD, IxDyn, NdFloat, Zip};

use super::sparse::{SparseParamRef, check_all, for_each_row};
use super::{Buffers, Decay, Optimizer, ParamRef, check_range, reject_leftovers};
use crate::error::{Error, Result};
use crate::scalar;
use crate::state::StateDict;

/// Where Adam adds `eps` to its denominator (`t` the step count, `v` the second moment).
///
/// The two forms differ by `eps (1/sqrt(1 - b2^t) - 1)` in the denominator: noticeable in
/// the first steps (`1/sqrt(1 - 0.999) ≈ 31.6`), vanishing later.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AdamEps {
    /// `p -= lr/(1 - b1^t) * m / (sqrt(v)/sqrt(1 - b2^t) + eps)`: `torch.optim.Adam` and
    /// `AdamW` (Algorithm 1 of Kingma and Ba). The default.
    #[default]
    Corrected,
    /// `p -= lr sqrt(1 - b2^t)/(1 - b1^t) * m / (sqrt(v) + eps)`: `torch.optim.SparseAdam`,
    /// TensorFlow's `Adam` and `LazyAdam` (the paper's "epsilon hat" form).
    Uncorrected,
}

/// Adam (Kingma and Ba 2015) with PyTorch's bias correction; [`Adam::adamw`] gives AdamW
/// (Loshchilov and Hutter 2019), whose decay `p *= 1 - lr wd` is decoupled from the moments.
///
/// A row-sparse gradient ([`Optimizer::step_with_sparse`]) gets the lazy update: the rows
/// present are updated by the same rule, with the same step count `t`; the other rows, of
/// the value and of both moments, are not touched (see [`crate::optim`] and
/// [`crate::optim::sparse`]). With [`AdamEps::Uncorrected`] and no weight decay, that is
/// `torch.optim.SparseAdam` (tested against it).
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
    eps_placement: AdamEps,
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
            eps_placement: AdamEps::Corrected,
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

    /// Where `eps` enters the denominator (default [`AdamEps::Corrected`], as `torch.optim.Adam`).
    pub fn eps_placement(mut self, placement: AdamEps) -> Self {
        self.eps_placement = placement;
        self
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
        self.step_with_sparse(params, &mut [])
    }

    fn step_with_sparse(
        &mut self,
        dense: &mut [ParamRef<'_, A>],
        sparse: &mut [SparseParamRef<'_, A>],
    ) -> Result<()> {
        check_all(dense, sparse)?;
        // The count is a power in `powi`: past i32::MAX it would wrap (a bias correction of
        // 1 - b^negative, or of 0 after a u64 wrap), so refuse the step instead.
        let next = self.step + 1;
        let t = i32::try_from(next).map_err(|_| step_out_of_range(next as f64))?;
        self.step = next;
        let one = A::one();
        let lr = self.lr;
        let bc1 = one - self.beta1.powi(t);
        let bc2_sqrt = (one - self.beta2.powi(t)).sqrt();
        // Both placements are `p -= a * (m / (sqrt(v) / c + eps))`; one formula keeps the
        // hot loop free of branches (so it vectorises).
        let (step_size, denom_scale) = match self.eps_placement {
            AdamEps::Corrected => (lr / bc1, bc2_sqrt),
            AdamEps::Uncorrected => (lr * bc2_sqrt / bc1, one),
        };
        let step = AdamStep {
            b1: self.beta1,
            b2: self.beta2,
            eps: self.eps,
            step_size,
            denom_scale,
            l2: A::zero(),
            shrink: one,
        };
        let with_decay = |kind| {
            let wd = self.decay.rate_for(kind);
            if self.decoupled {
                AdamStep {
                    shrink: one - lr * wd,
                    ..step
                }
            } else {
                AdamStep { l2: wd, ..step }
            }
        };
        for p in dense.iter_mut() {
            let s = with_decay(p.kind);
            let (m, _) = self.exp_avg.get_or_zeros(p.name, p.value)?;
            let (v, _) = self.exp_avg_sq.get_or_zeros(p.name, p.value)?;
            let zip = Zip::from(&mut *p.value).and(p.grad).and(m).and(v);
            let update = |w: &mut A, &g: &A, m: &mut A, v: &mut A| s.update(w, g, m, v);
            // Large tensors (an embedding table) in parallel; elementwise, so the same result.
            if p.grad.len() >= PARALLEL_MIN_LEN {
                zip.par_for_each(update);
            } else {
                zip.for_each(update);
            }
        }
        for p in sparse.iter_mut() {
            let s = with_decay(p.kind);
            let (m, _) = self.exp_avg.get_or_zeros(p.name, p.value)?;
            let (v, _) = self.exp_avg_sq.get_or_zeros(p.name, p.value)?;
            for_each_row(p, [m, v], |w, [m, v], g| {
                for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                    s.update(w, g, m, v);
                }
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

/// Below this many elements a dense update runs on one thread (rayon's overhead would show).
const PARALLEL_MIN_LEN: usize = 1 << 16;

/// The coefficients of one Adam step for one parameter.
#[derive(Clone, Copy)]
struct AdamStep<A> {
    b1: A,
    b2: A,
    eps: A,
    /// `lr / (1 - b1^t)` ([`AdamEps::Corrected`]) or `lr sqrt(1 - b2^t) / (1 - b1^t)`.
    step_size: A,
    /// `sqrt(1 - b2^t)` ([`AdamEps::Corrected`]) or 1.
    denom_scale: A,
    /// L2 decay added to the gradient (Adam).
    l2: A,
    /// Decoupled decay factor `1 - lr wd` (AdamW), else 1.
    shrink: A,
}

impl<A: NdFloat> AdamStep<A> {
    /// One element: decay, moments, and the step (the same arithmetic for dense and lazy).
    #[inline(always)]
    fn update(&self, w: &mut A, g: A, m: &mut A, v: &mut A) {
        let one = A::one();
        *w *= self.shrink;
        let g = g + self.l2 * *w;
        *m = self.b1 * *m + (one - self.b1) * g;
        *v = self.b2 * *v + (one - self.b2) * g * g;
        // `a * (m / d)`: the grouping of PyTorch's `param.addcdiv_(m, d, value=-a)`.
        *w -= self.step_size * (*m / (v.sqrt() / self.denom_scale + self.eps));
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
