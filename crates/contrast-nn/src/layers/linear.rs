//! Fully connected layer `y = x W^T + b` (PyTorch's `nn.Linear` layout).

use std::marker::PhantomData;

use contrast_autodiff::{Graph, Var};
use ndarray::NdFloat;
use rand::Rng;

use super::check_input;
use crate::error::Result;
use crate::init::Init;
use crate::module::Module;
use crate::optim::ParamKind;

/// `y = x W^T + b`, `x: (N, in)`, `W: (out, in)`, `b: (out)`.
#[derive(Clone, Debug)]
pub struct Linear<A> {
    weight: Var,
    bias: Option<Var>,
    in_features: usize,
    out_features: usize,
    _float: PhantomData<fn() -> A>,
}

impl<A: NdFloat> Linear<A> {
    /// A linear layer with PyTorch's default init: `W, b ~ U(-1/sqrt(in), 1/sqrt(in))`.
    pub fn new(
        g: &mut Graph<A>,
        in_features: usize,
        out_features: usize,
        bias: bool,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        Self::with_init(
            g,
            in_features,
            out_features,
            bias,
            Init::torch_default(),
            rng,
        )
    }

    /// A linear layer whose weight is drawn from `init` (bias as PyTorch: `U(+-1/sqrt(in))`).
    pub fn with_init(
        g: &mut Graph<A>,
        in_features: usize,
        out_features: usize,
        bias: bool,
        init: Init,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let w = init.sample::<A>(&[out_features, in_features], rng)?;
        let weight = g.param(w);
        let bias = if bias {
            let bound = 1.0 / (in_features as f64).sqrt();
            Some(g.param(Init::Uniform { bound }.sample::<A>(&[out_features], rng)?))
        } else {
            None
        };
        Ok(Self {
            weight,
            bias,
            in_features,
            out_features,
            _float: PhantomData,
        })
    }

    /// Handle of the weight `(out, in)`.
    pub fn weight(&self) -> Var {
        self.weight
    }

    /// Handle of the bias `(out)`, if any.
    pub fn bias(&self) -> Option<Var> {
        self.bias
    }

    /// `(in_features, out_features)`.
    pub fn dims(&self) -> (usize, usize) {
        (self.in_features, self.out_features)
    }
}

impl<A: NdFloat> Module<A> for Linear<A> {
    fn forward(&mut self, g: &mut Graph<A>, x: Var) -> Result<Var> {
        let n_in = self.in_features;
        check_input(
            g,
            x,
            "Linear",
            || format!("(N, {n_in})"),
            |s| s.len() == 2 && s[1] == n_in,
        )?;
        let wt = g.transpose(self.weight)?;
        let y = g.matmul(x, wt)?;
        match self.bias {
            Some(b) => Ok(g.add(y, b)?),
            None => Ok(y),
        }
    }

    fn own_params(&self) -> Vec<(&'static str, Var, ParamKind)> {
        let mut p = vec![("weight", self.weight, ParamKind::Weight)];
        if let Some(b) = self.bias {
            p.push(("bias", b, ParamKind::Bias));
        }
        p
    }
}
