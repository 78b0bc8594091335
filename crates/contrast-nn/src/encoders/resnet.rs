//! ResNet-18, CIFAR variant (SimCLR appendix B.9): a 3x3 stride-1 stem and no max-pool, four
//! stages of two basic blocks with `64 w, 128 w, 256 w, 512 w` channels (width multiplier
//! `w`), strides 1, 2, 2, 2, then global average pooling to `512 w` features.
//!
//! Names match torchvision's `resnet18` without `fc`: `conv1.weight`, `bn1.running_mean`,
//! `layer2.0.conv1.weight`, `layer2.0.downsample.0.weight`, ... Convolutions have no bias and
//! are drawn from Kaiming normal over `fan_in` with the ReLU gain (torchvision uses
//! `fan_out`; both keep activations at unit scale, one forward, one backward).

use contrast_autodiff::{Graph, Var};
use ndarray::NdFloat;
use rand::Rng;

use crate::error::{Error, Result};
use crate::init::Init;
use crate::layers::{BatchNorm, Conv2d, ConvSpec, GlobalAvgPool, Sequential};
use crate::module::Module;

fn conv<A: NdFloat>(g: &mut Graph<A>, spec: ConvSpec, rng: &mut impl Rng) -> Result<Conv2d<A>> {
    Conv2d::with_init(g, spec, false, Init::kaiming_normal_relu(), rng)
}

/// `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`; the shortcut is the identity, or
/// `1x1 conv (stride s) -> BN` when the shape changes.
pub struct BasicBlock<A> {
    conv1: Conv2d<A>,
    bn1: BatchNorm<A>,
    conv2: Conv2d<A>,
    bn2: BatchNorm<A>,
    downsample: Option<Sequential<A>>,
}

impl<A: NdFloat> BasicBlock<A> {
    /// A block from `c_in` to `c_out` channels whose first convolution has `stride`.
    pub fn new(
        g: &mut Graph<A>,
        c_in: usize,
        c_out: usize,
        stride: usize,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let conv1 = conv(g, ConvSpec::same(c_in, c_out, 3).stride(stride), rng)?;
        let bn1 = BatchNorm::new_2d(g, c_out);
        let conv2 = conv(g, ConvSpec::same(c_out, c_out, 3), rng)?;
        let bn2 = BatchNorm::new_2d(g, c_out);
        let downsample = if stride != 1 || c_in != c_out {
            let c = conv(
                g,
                ConvSpec::same(c_in, c_out, 1).stride(stride).padding(0),
                rng,
            )?;
            Some(Sequential::new().with(c).with(BatchNorm::new_2d(g, c_out)))
        } else {
            None
        };
        Ok(Self {
            conv1,
            bn1,
            conv2,
            bn2,
            downsample,
        })
    }
}

impl<A: NdFloat> Module<A> for BasicBlock<A> {
    fn forward(&mut self, g: &mut Graph<A>, x: Var) -> Result<Var> {
        let h = self.conv1.forward(g, x)?;
        let h = self.bn1.forward(g, h)?;
        let h = g.relu(h)?;
        let h = self.conv2.forward(g, h)?;
        let h = self.bn2.forward(g, h)?;
        let shortcut = match &mut self.downsample {
            Some(d) => d.forward(g, x)?,
            None => x,
        };
        let sum = g.add(h, shortcut)?;
        Ok(g.relu(sum)?)
    }

    fn children(&self) -> Vec<(String, &dyn Module<A>)> {
        let mut c: Vec<(String, &dyn Module<A>)> = vec![
            ("conv1".into(), &self.conv1),
            ("bn1".into(), &self.bn1),
            ("conv2".into(), &self.conv2),
            ("bn2".into(), &self.bn2),
        ];
        if let Some(d) = &self.downsample {
            c.push(("downsample".into(), d));
        }
        c
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<A>)> {
        let mut c: Vec<(String, &mut dyn Module<A>)> = vec![
            ("conv1".into(), &mut self.conv1),
            ("bn1".into(), &mut self.bn1),
            ("conv2".into(), &mut self.conv2),
            ("bn2".into(), &mut self.bn2),
        ];
        if let Some(d) = &mut self.downsample {
            c.push(("downsample".into(), d));
        }
        c
    }
}

/// Shape of a [`ResNet`].
#[derive(Clone, Debug, PartialEq)]
pub struct ResNetConfig {
    /// Input channels (3 for CIFAR).
    pub in_channels: usize,
    /// Width multiplier `w`: stage channels are `round(64 w), round(128 w), ...` (at least 1).
    pub width: f64,
    /// Basic blocks per stage (`[2, 2, 2, 2]` is ResNet-18).
    pub blocks: [usize; 4],
}

impl ResNetConfig {
    /// ResNet-18 for RGB images with width multiplier `width`.
    pub fn resnet18(width: f64) -> Self {
        Self {
            in_channels: 3,
            width,
            blocks: [2, 2, 2, 2],
        }
    }
}

/// The CIFAR ResNet; output `(N, 512 w)` features.
pub struct ResNet<A> {
    conv1: Conv2d<A>,
    bn1: BatchNorm<A>,
    stages: Vec<Sequential<A>>,
    out_features: usize,
}

impl<A: NdFloat> ResNet<A> {
    /// Build the network, drawing weights from `rng`.
    pub fn new(g: &mut Graph<A>, config: &ResNetConfig, rng: &mut impl Rng) -> Result<Self> {
        if !(config.width.is_finite() && config.width > 0.0)
            || config.in_channels == 0
            || config.blocks.contains(&0)
        {
            return Err(Error::InvalidConfig {
                what: "ResNet config",
                value: format!("{config:?}"),
                why: "width must be > 0, in_channels and blocks per stage >= 1",
            });
        }
        let widths: Vec<usize> = [64.0, 128.0, 256.0, 512.0]
            .iter()
            .map(|c| ((c * config.width).round() as usize).max(1))
            .collect();
        let conv1 = conv(g, ConvSpec::same(config.in_channels, widths[0], 3), rng)?;
        let bn1 = BatchNorm::new_2d(g, widths[0]);
        let mut stages = Vec::with_capacity(4);
        let mut c_in = widths[0];
        for (i, (&c, &n)) in widths.iter().zip(&config.blocks).enumerate() {
            let mut stage = Sequential::new();
            for b in 0..n {
                let stride = if i > 0 && b == 0 { 2 } else { 1 };
                stage.push(BasicBlock::new(g, c_in, c, stride, rng)?);
                c_in = c;
            }
            stages.push(stage);
        }
        Ok(Self {
            conv1,
            bn1,
            stages,
            out_features: widths[3],
        })
    }

    /// Width of the output features (`512 w`).
    pub fn out_features(&self) -> usize {
        self.out_features
    }
}

const STAGE_NAMES: [&str; 4] = ["layer1", "layer2", "layer3", "layer4"];

impl<A: NdFloat> Module<A> for ResNet<A> {
    fn forward(&mut self, g: &mut Graph<A>, x: Var) -> Result<Var> {
        let h = self.conv1.forward(g, x)?;
        let h = self.bn1.forward(g, h)?;
        let mut h = g.relu(h)?;
        for stage in &mut self.stages {
            h = stage.forward(g, h)?;
        }
        GlobalAvgPool.forward(g, h)
    }

    fn children(&self) -> Vec<(String, &dyn Module<A>)> {
        let mut c: Vec<(String, &dyn Module<A>)> =
            vec![("conv1".into(), &self.conv1), ("bn1".into(), &self.bn1)];
        for (name, s) in STAGE_NAMES.iter().zip(&self.stages) {
            c.push((name.to_string(), s));
        }
        c
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<A>)> {
        let mut c: Vec<(String, &mut dyn Module<A>)> = vec![
            ("conv1".into(), &mut self.conv1),
            ("bn1".into(), &mut self.bn1),
        ];
        for (name, s) in STAGE_NAMES.iter().zip(&mut self.stages) {
            c.push((name.to_string(), s));
        }
        c
    }
}
