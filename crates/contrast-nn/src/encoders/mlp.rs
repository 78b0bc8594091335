//! A multi-layer perceptron with configurable widths.

use contrast_autodiff::{Graph, Var};
use ndarray::NdFloat;
use rand::Rng;

use crate::error::{Error, Result};
use crate::layers::{Activation, BatchNorm, Linear, Sequential};
use crate::module::Module;

/// Widths and options of an [`Mlp`].
#[derive(Clone, Debug, PartialEq)]
pub struct MlpConfig {
    /// `[input, hidden..., output]`, at least two entries, all > 0.
    pub dims: Vec<usize>,
    /// Nonlinearity between layers.
    pub activation: Activation,
    /// Batch norm after each linear layer that is followed by an activation (bias then off).
    pub batch_norm: bool,
    /// Apply the activation (and batch norm) after the last layer too.
    pub activate_last: bool,
}

impl MlpConfig {
    /// ReLU MLP with the given widths, no batch norm, activation after every layer
    /// (an encoder whose output feeds a projection head).
    pub fn relu(dims: &[usize]) -> Self {
        Self {
            dims: dims.to_vec(),
            activation: Activation::Relu,
            batch_norm: false,
            activate_last: true,
        }
    }
}

/// `Linear -> [BN] -> act` per layer; inputs of rank > 2 are flattened to `(N, features)`.
/// Parameter names: `layers.<i>.weight`, `layers.<i>.bias`, ...
pub struct Mlp<A> {
    layers: Sequential<A>,
    in_features: usize,
    out_features: usize,
}

impl<A: NdFloat> Mlp<A> {
    /// Build the MLP, drawing weights from `rng` (PyTorch's default init).
    pub fn new(g: &mut Graph<A>, config: &MlpConfig, rng: &mut impl Rng) -> Result<Self> {
        let d = &config.dims;
        if d.len() < 2 || d.contains(&0) {
            return Err(Error::InvalidConfig {
                what: "MLP widths",
                value: format!("{d:?}"),
                why: "need at least [input, output], all > 0",
            });
        }
        let mut layers = Sequential::new();
        for (i, w) in d.windows(2).enumerate() {
            let activated = config.activate_last || i + 2 < d.len();
            let bn = config.batch_norm && activated;
            layers.push(Linear::new(g, w[0], w[1], !bn, rng)?);
            if bn {
                layers.push(BatchNorm::new_1d(g, w[1]));
            }
            if activated {
                layers.push(config.activation);
            }
        }
        Ok(Self {
            layers,
            in_features: d[0],
            out_features: d[d.len() - 1],
        })
    }

    /// Width of the output features.
    pub fn out_features(&self) -> usize {
        self.out_features
    }
}

impl<A: NdFloat> Module<A> for Mlp<A> {
    fn forward(&mut self, g: &mut Graph<A>, x: Var) -> Result<Var> {
        let shape = g.try_value(x)?.shape().to_vec();
        let x = if shape.len() > 2 {
            g.reshape(x, &[shape[0], shape[1..].iter().product()])?
        } else {
            x
        };
        let features = g.try_value(x)?.shape().get(1).copied();
        if features != Some(self.in_features) {
            return Err(Error::InputShape {
                layer: "Mlp",
                expected: format!(
                    "(N, {}) or (N, ...) with {0} values per sample",
                    self.in_features
                ),
                got: shape,
            });
        }
        self.layers.forward(g, x)
    }

    fn children(&self) -> Vec<(String, &dyn Module<A>)> {
        vec![("layers".into(), &self.layers)]
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<A>)> {
        vec![("layers".into(), &mut self.layers)]
    }
}
