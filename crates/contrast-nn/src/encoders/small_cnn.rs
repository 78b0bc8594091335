//! A small CNN for 28x28 (MNIST-like) and 32x32 (CIFAR-like) images.

use contrast_autodiff::{Graph, Var};
use ndarray::NdFloat;
use rand::Rng;

use crate::error::{Error, Result};
use crate::layers::{
    Activation, BatchNorm, Conv2d, ConvSpec, Flatten, Linear, MaxPool2d, Sequential,
};
use crate::module::Module;

/// Shape of a [`SmallCnn`].
#[derive(Clone, Debug, PartialEq)]
pub struct SmallCnnConfig {
    /// Input channels (1 for grayscale, 3 for RGB).
    pub in_channels: usize,
    /// Input side (28 or 32; any side that survives the pooling).
    pub image_side: usize,
    /// Output channels of each conv stage.
    pub channels: Vec<usize>,
    /// Width of the final linear layer; `None` outputs the flattened features.
    pub out_dim: Option<usize>,
    /// Batch norm after each convolution (whose bias is then off).
    pub batch_norm: bool,
}

impl SmallCnnConfig {
    /// The benchmark CNN: `conv3x3(1->32)-relu-maxpool2-conv3x3(32->64)-relu-maxpool2-flatten-linear(3136->128)`.
    pub fn mnist() -> Self {
        Self {
            in_channels: 1,
            image_side: 28,
            channels: vec![32, 64],
            out_dim: Some(128),
            batch_norm: false,
        }
    }
}

/// Stages `conv3x3 (pad 1) -> [BN] -> ReLU -> maxpool 2`, then flatten and an optional linear
/// layer. Parameter names follow a PyTorch `nn.Sequential` called `net`: `net.0.weight`, ...
pub struct SmallCnn<A> {
    net: Sequential<A>,
    out_features: usize,
}

impl<A: NdFloat> SmallCnn<A> {
    /// Build the CNN, drawing weights from `rng` (PyTorch's default init).
    pub fn new(g: &mut Graph<A>, config: &SmallCnnConfig, rng: &mut impl Rng) -> Result<Self> {
        let mut side = config.image_side;
        if config.channels.is_empty() || config.in_channels == 0 || config.channels.contains(&0) {
            return Err(Error::InvalidConfig {
                what: "CNN channels",
                value: format!("in {}, stages {:?}", config.in_channels, config.channels),
                why: "need at least one stage and non-zero channels",
            });
        }
        let mut net = Sequential::new();
        let mut c_in = config.in_channels;
        for &c in &config.channels {
            if side < 2 {
                return Err(Error::InvalidConfig {
                    what: "CNN image side",
                    value: config.image_side.to_string(),
                    why: "too small for the number of 2x2 poolings",
                });
            }
            net.push(Conv2d::new(
                g,
                ConvSpec::same(c_in, c, 3),
                !config.batch_norm,
                rng,
            )?);
            if config.batch_norm {
                net.push(BatchNorm::new_2d(g, c));
            }
            net.push(Activation::Relu);
            net.push(MaxPool2d::new(2, 2)?);
            side /= 2;
            c_in = c;
        }
        net.push(Flatten);
        let flat = c_in * side * side;
        let out_features = match config.out_dim {
            Some(d) => {
                net.push(Linear::new(g, flat, d, true, rng)?);
                d
            }
            None => flat,
        };
        Ok(Self { net, out_features })
    }

    /// Width of the output features.
    pub fn out_features(&self) -> usize {
        self.out_features
    }
}

impl<A: NdFloat> Module<A> for SmallCnn<A> {
    fn forward(&mut self, g: &mut Graph<A>, x: Var) -> Result<Var> {
        self.net.forward(g, x)
    }

    fn children(&self) -> Vec<(String, &dyn Module<A>)> {
        vec![("net".into(), &self.net)]
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<A>)> {
        vec![("net".into(), &mut self.net)]
    }
}
