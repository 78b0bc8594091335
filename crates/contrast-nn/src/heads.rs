//! Projection heads (SimCLR) and predictors (BYOL).
//!
//! SimCLR's head maps encoder features `h` to `z = W2 relu(BN(W1 h))` (v2: deeper, same
//! pattern); the loss is computed on `z` and `h` is kept for downstream tasks. BYOL's
//! predictor has the same shape (`Linear(d, 4096) - BN - ReLU - Linear(4096, d)`) and sits only
//! on the online branch.

use contrast_autodiff::{Graph, Var};
use ndarray::NdFloat;
use rand::Rng;

use crate::encoders::{Mlp, MlpConfig};
use crate::error::Result;
use crate::layers::Activation;
use crate::module::Module;

/// `(Linear -> [BN] -> ReLU)` for every hidden width, then a final `Linear`.
/// Names: `layers.<i>.weight`, ... (hidden linears have no bias when batch norm follows).
pub struct ProjectionHead<A> {
    mlp: Mlp<A>,
}

impl<A: NdFloat> ProjectionHead<A> {
    /// A head with widths `[input, hidden..., output]` (at least two), batch norm on the
    /// hidden layers when `batch_norm`.
    pub fn new(
        g: &mut Graph<A>,
        dims: &[usize],
        batch_norm: bool,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let config = MlpConfig {
            dims: dims.to_vec(),
            activation: Activation::Relu,
            batch_norm,
            activate_last: false,
        };
        Ok(Self {
            mlp: Mlp::new(g, &config, rng)?,
        })
    }

    /// SimCLR's head `Linear(input, hidden) - BN - ReLU - Linear(hidden, output)`.
    pub fn simclr(
        g: &mut Graph<A>,
        input: usize,
        hidden: usize,
        output: usize,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        Self::new(g, &[input, hidden, output], true, rng)
    }

    /// BYOL's predictor `Linear(dim, hidden) - BN - ReLU - Linear(hidden, dim)` (BYOL: 256, 4096).
    pub fn byol_predictor(
        g: &mut Graph<A>,
        dim: usize,
        hidden: usize,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        Self::new(g, &[dim, hidden, dim], true, rng)
    }

    /// Width of the output.
    pub fn out_features(&self) -> usize {
        self.mlp.out_features()
    }
}

impl<A: NdFloat> Module<A> for ProjectionHead<A> {
    fn forward(&mut self, g: &mut Graph<A>, x: Var) -> Result<Var> {
        self.mlp.forward(g, x)
    }

    // The head's params are the MLP's `layers.*`, without an extra level in the names.
    fn children(&self) -> Vec<(String, &dyn Module<A>)> {
        self.mlp.children()
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<A>)> {
        self.mlp.children_mut()
    }
}
