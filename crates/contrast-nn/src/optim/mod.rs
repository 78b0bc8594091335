//! Optimizers over plain parameter / gradient arrays.
//!
//! An optimizer sees a slice of [`ParamRef`]s: a dotted name, what kind of parameter it is
//! ([`ParamKind`]), the value to update in place and its gradient. It keeps its per-parameter
//! state (momentum buffers, Adam moments) keyed by the name, so the same optimizer works on
//! an autodiff graph ([`graph_step`]) or on arrays a user holds
//! directly, and its state can be saved with the parameters ([`Optimizer::state_dict`]).
//!
//! | optimizer | update (per element, `g` the gradient, `lr` the learning rate) |
//! |---|---|
//! | [`Sgd`] | `g += wd p`; `b = mu b + (1 - damp) g` (`b = g` on the first step); `d = g + mu b` (Nesterov) or `b`; `p -= lr d` |
//! | [`Adam`] | `g += wd p`; `m = b1 m + (1-b1) g`; `v = b2 v + (1-b2) g^2`; `p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)` |
//! | [`Adam::adamw`] | as Adam, but decoupled decay `p *= 1 - lr wd` before the moment update |
//! | [`Lars`] | weights: `g' = g + wd p`, `r = eta ||p|| / ||g'||` (1 if a norm is 0); biases and norm params: `g' = g`, `r = 1`; `b = mu b + lr r g'`; `p -= b` |
//!
//! The formulas are PyTorch's (`torch.optim.SGD`, `Adam`, `AdamW`) and SimCLR's LARS; the tests
//! compare several steps against fixtures written by PyTorch.
//!
//! # Row-sparse gradients
//!
//! A parameter whose gradient is row-sparse (an embedding table: see
//! [`contrast_autodiff::sparse`]) comes as a [`SparseParamRef`], through
//! [`Optimizer::step_with_sparse`] ([`graph_step`] sorts the params by gradient kind). The
//! update is *lazy* ([`sparse`]): the rule above is applied to the rows present only, and
//! every other row of the parameter and of its state is left as it was.
//!
//! | optimizer | row-sparse gradient |
//! |---|---|
//! | [`Adam`], [`Adam::adamw`] | lazy Adam: the present rows' moments and values by the dense rule with the optimizer's one step count `t` (as `torch.optim.SparseAdam`, whose per-parameter count is the same when the table gets a gradient every step); weight decay (L2 or decoupled) on the present rows only. `SparseAdam`'s placement of `eps` is [`AdamEps::Uncorrected`] |
//! | [`Sgd`] without momentum | `p[r] -= lr (g[r] + wd p[r])` for the present rows `r` (PyTorch's SGD would decay every row) |
//! | [`Sgd`] with momentum, [`Lars`] | refused: [`Error::SparseGradient`] |

mod adam;
mod graph;
mod lars;
mod sgd;
pub mod sparse;

pub use adam::{Adam, AdamEps};
pub use graph::graph_step;
pub use lars::Lars;
pub use sgd::Sgd;
pub use sparse::SparseParamRef;

use std::collections::{BTreeMap, HashMap};

use ndarray::{ArrayD, Dimension, NdFloat};

use crate::error::{Error, Result};
use crate::state::StateDict;

/// What a parameter is for; LARS (and optionally weight decay) treats the kinds differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// A weight matrix or convolution kernel: adapted by LARS and weight-decayed.
    Weight,
    /// An additive bias.
    Bias,
    /// A normalisation scale or shift (batch norm / layer norm gamma and beta).
    Norm,
}

impl ParamKind {
    /// True for weights: the only kind that LARS adapts and excludes-from-decay options keep decaying.
    pub fn is_weight(self) -> bool {
        self == ParamKind::Weight
    }
}

/// One parameter handed to an optimizer: its name, kind, value (updated in place) and gradient.
#[derive(Debug)]
pub struct ParamRef<'a, A> {
    /// Dotted name, the key of the optimizer state (`encoder.layers.0.weight`).
    pub name: &'a str,
    /// Kind of parameter.
    pub kind: ParamKind,
    /// Value, updated in place.
    pub value: &'a mut ArrayD<A>,
    /// Gradient of the loss with respect to `value` (same shape).
    pub grad: &'a ArrayD<A>,
}

/// A first-order optimizer.
pub trait Optimizer<A: NdFloat> {
    /// Current learning rate.
    fn lr(&self) -> A;
    /// Set the learning rate (a schedule calls this before each step).
    fn set_lr(&mut self, lr: A);
    /// Update every parameter in place from its gradient.
    ///
    /// Errors (nothing is updated past the offending parameter): gradient or stored state
    /// whose shape differs from the parameter's.
    fn step(&mut self, params: &mut [ParamRef<'_, A>]) -> Result<()>;
    /// One step over params with dense gradients (`dense`) and params with row-sparse
    /// gradients (`sparse`), counted as one step. Optimizers with a row-sparse update
    /// ([`Adam`], [`Sgd`] without momentum) apply it lazily to the present rows (see the
    /// module docs); this default has none: a row-sparse gradient is an
    /// [`Error::SparseGradient`] naming the param, and nothing is updated.
    fn step_with_sparse(
        &mut self,
        dense: &mut [ParamRef<'_, A>],
        sparse: &mut [SparseParamRef<'_, A>],
    ) -> Result<()> {
        sparse::refuse_sparse(
            sparse,
            "this optimizer has no row-sparse update (Adam, AdamW and Sgd without momentum have one)",
        )?;
        self.step(dense)
    }
    /// The optimizer's state as named tensors: `<param name>.<buffer>` plus scalars such as `step`.
    fn state_dict(&self) -> StateDict<A>;
    /// Restore state written by [`Optimizer::state_dict`]. Unknown names are an error.
    fn load_state_dict(&mut self, state: &StateDict<A>) -> Result<()>;
}

/// Per-parameter buffers of one kind (momentum, first moment, ...), keyed by parameter name.
#[derive(Clone, Debug, Default)]
pub(crate) struct Buffers<A> {
    suffix: &'static str,
    /// Whether every entry must be `>= 0` (a running mean of squares), checked on load.
    non_negative: bool,
    map: HashMap<String, ArrayD<A>>,
}

impl<A: NdFloat> Buffers<A> {
    /// Buffers whose entries may be any finite number (momentum, first moment).
    pub(crate) fn new(suffix: &'static str) -> Self {
        Self {
            suffix,
            non_negative: false,
            map: HashMap::new(),
        }
    }

    /// Buffers whose entries are finite and `>= 0` (Adam's second moment, whose square
    /// root the step takes).
    pub(crate) fn non_negative(suffix: &'static str) -> Self {
        Self {
            non_negative: true,
            ..Self::new(suffix)
        }
    }

    /// The buffer of the param `name` of value `value`, created as zeros on first use;
    /// `true` when it was just created.
    pub(crate) fn get_or_zeros(
        &mut self,
        name: &str,
        value: &ArrayD<A>,
    ) -> Result<(&mut ArrayD<A>, bool)> {
        let fresh = !self.map.contains_key(name);
        let buf = self
            .map
            .entry(name.to_string())
            .or_insert_with(|| ArrayD::zeros(value.raw_dim()));
        if buf.shape() != value.shape() {
            return Err(Error::GradientShape {
                name: format!("{name}.{}", self.suffix),
                expected: value.shape().to_vec(),
                got: buf.shape().to_vec(),
            });
        }
        Ok((buf, fresh))
    }

    /// The buffers as `<name>.<suffix>` entries.
    pub(crate) fn state_dict(&self) -> StateDict<A> {
        let mut out = StateDict::new();
        self.write_into(&mut out);
        out
    }

    /// A copy holding the buffers of `state`, which must hold nothing else.
    pub(crate) fn loaded(&self, state: &StateDict<A>) -> Result<Self> {
        let mut rest = state.clone();
        let mut next = self.clone();
        next.read_from(&mut rest)?;
        reject_leftovers(rest)?;
        Ok(next)
    }

    pub(crate) fn write_into(&self, out: &mut StateDict<A>) {
        for (name, buf) in &self.map {
            out.insert(format!("{name}.{}", self.suffix), buf.clone());
        }
    }

    /// Take `<name>.<suffix>` entries out of `rest` into this buffer set.
    ///
    /// Every value must be finite (and `>= 0` for [`Buffers::non_negative`]): a file the
    /// optimizer could not have written is refused here, not turned into NaN weights by the
    /// next step. On error the buffer set is unchanged (entries may be gone from `rest`).
    pub(crate) fn read_from(&mut self, rest: &mut BTreeMap<String, ArrayD<A>>) -> Result<()> {
        let dot_suffix = format!(".{}", self.suffix);
        let keys: Vec<String> = rest
            .keys()
            .filter(|k| k.ends_with(&dot_suffix))
            .cloned()
            .collect();
        let mut map = HashMap::with_capacity(keys.len());
        for k in keys {
            let v = rest.remove(&k).expect("key listed above");
            self.check_values(&k, &v)?;
            map.insert(k[..k.len() - dot_suffix.len()].to_string(), v);
        }
        self.map = map;
        Ok(())
    }

    /// The first entry of `v` (stored as `name`) that breaks this set's rule is an error
    /// naming the entry, its index and its value.
    fn check_values(&self, name: &str, v: &ArrayD<A>) -> Result<()> {
        let bad = v
            .indexed_iter()
            .find(|(_, x)| !x.is_finite() || (self.non_negative && **x < A::zero()));
        match bad {
            None => Ok(()),
            Some((idx, x)) => Err(Error::InvalidConfig {
                what: "optimizer state",
                value: format!("{name}{:?} = {x}", idx.slice()),
                why: if self.non_negative {
                    "must be finite and non-negative"
                } else {
                    "must be finite"
                },
            }),
        }
    }
}

/// A weight-decay rate and whether biases and norm parameters are exempt from it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Decay<A> {
    rate: A,
    only_weights: bool,
}

impl<A: NdFloat> Decay<A> {
    pub(crate) fn none() -> Self {
        Self {
            rate: A::zero(),
            only_weights: false,
        }
    }

    pub(crate) fn new(wd: f64, only_weights: bool) -> Result<Self> {
        check_range("weight_decay", wd, 0.0, None)?;
        Ok(Self {
            rate: crate::scalar(wd),
            only_weights,
        })
    }

    /// The rate that applies to a parameter of `kind`.
    pub(crate) fn rate_for(&self, kind: ParamKind) -> A {
        if self.only_weights && !kind.is_weight() {
            A::zero()
        } else {
            self.rate
        }
    }
}

/// The gradient must have the parameter's shape.
pub(crate) fn check_grad<A>(p: &ParamRef<'_, A>) -> Result<()> {
    if p.grad.shape() != p.value.shape() {
        return Err(Error::GradientShape {
            name: p.name.to_string(),
            expected: p.value.shape().to_vec(),
            got: p.grad.shape().to_vec(),
        });
    }
    Ok(())
}

/// A setting must be finite and at least `min` (and below `max_exclusive` when given).
pub(crate) fn check_range(
    what: &'static str,
    v: f64,
    min: f64,
    max_exclusive: Option<f64>,
) -> Result<()> {
    let ok = v.is_finite() && v >= min && max_exclusive.is_none_or(|m| v < m);
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidConfig {
            what,
            value: v.to_string(),
            why: match max_exclusive {
                Some(_) => "must be finite and in [min, max)",
                None => "must be finite and non-negative",
            },
        })
    }
}

/// Whatever is left after an optimizer took its names is unexpected.
pub(crate) fn reject_leftovers<A>(rest: BTreeMap<String, ArrayD<A>>) -> Result<()> {
    if rest.is_empty() {
        Ok(())
    } else {
        Err(Error::StateMismatch {
            missing: vec![],
            unexpected: rest.into_keys().collect(),
            mismatched: vec![],
        })
    }
}
