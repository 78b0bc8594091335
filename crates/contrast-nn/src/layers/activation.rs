//! Element-wise activations as modules.

use contrast_autodiff::{Graph, Var};
use ndarray::NdFloat;

use crate::error::Result;
use crate::module::Module;
use crate::scalar;

/// An element-wise nonlinearity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x > 0`, else `slope x`.
    LeakyRelu(f64),
    /// GELU, tanh approximation.
    Gelu,
    /// `tanh x`.
    Tanh,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `x` (no-op; handy in configurable stacks).
    Identity,
}

impl Activation {
    /// Apply to `x` on `g`.
    pub fn apply<A: NdFloat>(&self, g: &mut Graph<A>, x: Var) -> Result<Var> {
        Ok(match *self {
            Activation::Relu => g.relu(x)?,
            Activation::LeakyRelu(s) => g.leaky_relu(x, scalar(s))?,
            Activation::Gelu => g.gelu(x)?,
            Activation::Tanh => g.tanh(x)?,
            Activation::Sigmoid => g.sigmoid(x)?,
            Activation::Identity => x,
        })
    }
}

impl<A: NdFloat> Module<A> for Activation {
    fn forward(&mut self, g: &mut Graph<A>, x: Var) -> Result<Var> {
        self.apply(g, x)
    }
}
