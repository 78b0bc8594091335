//! A strided CNN for frame stacks of any height and width: the encoder family of pixel-based
//! reinforcement learning (DQN's Atari network, and the smaller ones of CURL, DrQ and ATC).
//!
//! Stages `conv(kernel, stride, no padding) -> ReLU`, then flatten and one linear layer:
//!
//! ```text
//! side_out = floor((side_in - kernel) / stride) + 1          per stage, for H and W apiece
//! features = Linear(C_last * H_last * W_last -> out_dim)
//! ```
//!
//! [`StridedCnnConfig::frame_stack`] is the network of the temporal-contrast recipe:
//! `conv(k -> 32, 5x5, s2) - ReLU - conv(32 -> 64, 3x3, s2) - ReLU - flatten - linear(-> 64)`;
//! on 40 x 64 two-frame stacks the maps are 18 x 30 and 8 x 14, so the linear layer reads
//! 7,168 values. Strides instead of pooling keep where things are (a cart's position, a
//! pole's angle), which pooling would blur; no batch norm, so a sample's features never
//! depend on the rest of its batch. Unlike [`SmallCnn`](super::SmallCnn) the image need not
//! be square.

use contrast_autodiff::{Graph, Var};
use ndarray::NdFloat;
use rand::Rng;

use crate::error::{Error, Result};
use crate::layers::{Activation, Conv2d, ConvSpec, Flatten, Linear, Sequential, check_input};
use crate::module::Module;

/// One `conv -> ReLU` stage of a [`StridedCnn`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvStage {
    /// Output channels.
    pub channels: usize,
    /// Kernel side.
    pub kernel: usize,
    /// Stride (no padding).
    pub stride: usize,
}

/// Shape of a [`StridedCnn`].
#[derive(Clone, Debug, PartialEq)]
pub struct StridedCnnConfig {
    /// Input channels (frames in a stack).
    pub in_channels: usize,
    /// Input height, pixels.
    pub height: usize,
    /// Input width, pixels.
    pub width: usize,
    /// The conv stages, in order.
    pub stages: Vec<ConvStage>,
    /// Width of the final linear layer (the features).
    pub out_dim: usize,
}

impl StridedCnnConfig {
    /// `conv(k -> 32, 5x5, s2) - ReLU - conv(32 -> 64, 3x3, s2) - ReLU - linear(-> 64)` for
    /// stacks of `frames` frames of `height x width` pixels.
    pub fn frame_stack(frames: usize, height: usize, width: usize) -> Self {
        Self {
            in_channels: frames,
            height,
            width,
            stages: vec![
                ConvStage {
                    channels: 32,
                    kernel: 5,
                    stride: 2,
                },
                ConvStage {
                    channels: 64,
                    kernel: 3,
                    stride: 2,
                },
            ],
            out_dim: 64,
        }
    }

    /// `(channels, height, width)` after the last stage, or `None` when a kernel does not fit.
    pub fn last_map(&self) -> Option<(usize, usize, usize)> {
        let side =
            |s: usize, stage: &ConvStage| s.checked_sub(stage.kernel).map(|d| d / stage.stride + 1);
        self.stages.iter().try_fold(
            (self.in_channels, self.height, self.width),
            |(_, h, w), stage| Some((stage.channels, side(h, stage)?, side(w, stage)?)),
        )
    }
}

/// Stages `conv -> ReLU` (strided, no padding), flatten, linear. Parameter names follow a
/// PyTorch `nn.Sequential` called `net`: `net.0.weight`, `net.0.bias`, `net.2.weight`, ...
pub struct StridedCnn<A> {
    net: Sequential<A>,
    input: (usize, usize, usize),
    out_features: usize,
}

impl<A: NdFloat> StridedCnn<A> {
    /// Build the network, drawing weights from `rng` (PyTorch's default init).
    ///
    /// # Errors
    /// No stage, a zero channel count, kernel, stride or output width, or an input too small
    /// for the kernels.
    pub fn new(g: &mut Graph<A>, config: &StridedCnnConfig, rng: &mut impl Rng) -> Result<Self> {
        let zero = config
            .stages
            .iter()
            .any(|s| s.channels == 0 || s.kernel == 0 || s.stride == 0);
        if config.stages.is_empty() || config.in_channels == 0 || config.out_dim == 0 || zero {
            return Err(Error::InvalidConfig {
                what: "strided CNN",
                value: format!("{config:?}"),
                why: "need at least one stage and non-zero channels, kernels, strides and output",
            });
        }
        let (channels, height, width) = config.last_map().ok_or_else(|| Error::InvalidConfig {
            what: "strided CNN input",
            value: format!("{} x {}", config.height, config.width),
            why: "too small for the kernels of the stages",
        })?;
        let mut net = Sequential::new();
        let mut c_in = config.in_channels;
        for stage in &config.stages {
            let spec = ConvSpec::same(c_in, stage.channels, stage.kernel)
                .stride(stage.stride)
                .padding(0);
            net.push(Conv2d::new(g, spec, true, rng)?);
            net.push(Activation::Relu);
            c_in = stage.channels;
        }
        net.push(Flatten);
        net.push(Linear::new(
            g,
            channels * height * width,
            config.out_dim,
            true,
            rng,
        )?);
        Ok(Self {
            net,
            input: (config.in_channels, config.height, config.width),
            out_features: config.out_dim,
        })
    }

    /// Width of the output features.
    pub fn out_features(&self) -> usize {
        self.out_features
    }
}

impl<A: NdFloat> Module<A> for StridedCnn<A> {
    fn forward(&mut self, g: &mut Graph<A>, x: Var) -> Result<Var> {
        let (c, h, w) = self.input;
        check_input(
            g,
            x,
            "StridedCnn",
            || format!("(N, {c}, {h}, {w})"),
            |s| s.len() == 4 && s[1..] == [c, h, w],
        )?;
        self.net.forward(g, x)
    }

    fn children(&self) -> Vec<(String, &dyn Module<A>)> {
        vec![("net".into(), &self.net)]
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<A>)> {
        vec![("net".into(), &mut self.net)]
    }
}
