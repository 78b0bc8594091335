//! A small CNN for 28x28 (MNIST-like) and 32x32 (CIFAR-like) images.

use contrast_autodiff::{Graph, Var};
use ndarray::NdFloat;
use rand::Rng;

use crate::error::{Error, Result};
use crate::layers::{BatchNorm, Conv2d, ConvBlock, ConvSpec, Flatten, Linear};
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
/// (with batch norm: conv `net.0`, BN `net.1`, ReLU and pool `net.2`, `net.3`, next conv
/// `net.4`, ...). Each stage runs as one fused [`ConvBlock`] op.
pub struct SmallCnn<A> {
    stages: Vec<ConvBlock<A>>,
    linear: Option<Linear<A>>,
    /// Layers per stage in the PyTorch `Sequential` (3, or 4 with batch norm).
    per_stage: usize,
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
        let mut stages = Vec::new();
        let mut c_in = config.in_channels;
        for &c in &config.channels {
            if side < 2 {
                return Err(Error::InvalidConfig {
                    what: "CNN image side",
                    value: config.image_side.to_string(),
                    why: "too small for the number of 2x2 poolings",
                });
            }
            let conv = Conv2d::new(g, ConvSpec::same(c_in, c, 3), !config.batch_norm, rng)?;
            let norm = config.batch_norm.then(|| BatchNorm::new_2d(g, c));
            stages.push(ConvBlock::new(conv, norm, 2, 2)?);
            side /= 2;
            c_in = c;
        }
        let flat = c_in * side * side;
        let (linear, out_features) = match config.out_dim {
            Some(d) => (Some(Linear::new(g, flat, d, true, rng)?), d),
            None => (None, flat),
        };
        Ok(Self {
            stages,
            linear,
            per_stage: if config.batch_norm { 4 } else { 3 },
            out_features,
        })
    }

    /// Width of the output features.
    pub fn out_features(&self) -> usize {
        self.out_features
    }
}

impl<A: NdFloat> Module<A> for SmallCnn<A> {
    fn forward(&mut self, g: &mut Graph<A>, x: Var) -> Result<Var> {
        let mut h = x;
        for stage in &mut self.stages {
            h = stage.forward(g, h)?;
        }
        let h = Flatten.forward(g, h)?;
        match &mut self.linear {
            Some(linear) => linear.forward(g, h),
            None => Ok(h),
        }
    }

    fn children(&self) -> Vec<(String, &dyn Module<A>)> {
        let mut out = Vec::new();
        for (i, stage) in self.stages.iter().enumerate() {
            for (name, child) in stage.children() {
                out.push((self.layer_name(i, &name), child));
            }
        }
        if let Some(linear) = &self.linear {
            out.push((self.linear_name(), linear as &dyn Module<A>));
        }
        out
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<A>)> {
        let names: Vec<Vec<String>> = (self.stages.iter().enumerate())
            .map(|(i, s)| {
                s.children()
                    .iter()
                    .map(|(n, _)| self.layer_name(i, n))
                    .collect()
            })
            .collect();
        let linear_name = self.linear_name();
        let mut out = Vec::new();
        for (stage, names) in self.stages.iter_mut().zip(names) {
            for ((_, child), name) in stage.children_mut().into_iter().zip(names) {
                out.push((name, child));
            }
        }
        if let Some(linear) = &mut self.linear {
            out.push((linear_name, linear as &mut dyn Module<A>));
        }
        out
    }
}

impl<A: NdFloat> SmallCnn<A> {
    /// `net.<i>` of a stage's child, whose name is its index within the stage.
    fn layer_name(&self, stage: usize, child: &str) -> String {
        let offset: usize = child
            .parse()
            .expect("a conv block names its children by index");
        format!("net.{}", stage * self.per_stage + offset)
    }

    /// `net.<i>` of the linear layer, after the stages and the flatten.
    fn linear_name(&self) -> String {
        format!("net.{}", self.stages.len() * self.per_stage + 1)
    }
}
