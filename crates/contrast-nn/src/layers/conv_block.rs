//! `Conv2d -> [BatchNorm2d] -> ReLU -> MaxPool2d`, the stage of a small CNN, recorded as one
//! graph op ([`Graph::conv_block`]): the same function as the four layers in a
//! [`Sequential`](super::Sequential), with far fewer passes over the convolution's output.

use contrast_autodiff::{BlockNorm, ConvBlockSpec, Graph, Var};
use ndarray::NdFloat;

use super::{BatchNorm, Conv2d};
use crate::error::{Error, Result};
use crate::module::Module;

/// A convolution, an optional batch norm, ReLU and max pooling. Children are named as in
/// PyTorch's `nn.Sequential(conv, bn, nn.ReLU(), nn.MaxPool2d(k, s))`: `0` (the convolution)
/// and `1` (the batch norm).
pub struct ConvBlock<A> {
    conv: Conv2d<A>,
    norm: Option<BatchNorm<A>>,
    pool_kernel: usize,
    pool_stride: usize,
}

impl<A: NdFloat> ConvBlock<A> {
    /// `conv`, then `norm` (over the convolution's output channels), ReLU, and max pooling
    /// over `pool_kernel` windows (1 to 15) every `pool_stride` pixels.
    pub fn new(
        conv: Conv2d<A>,
        norm: Option<BatchNorm<A>>,
        pool_kernel: usize,
        pool_stride: usize,
    ) -> Result<Self> {
        if !(1..=15).contains(&pool_kernel) || pool_stride == 0 {
            return Err(Error::InvalidConfig {
                what: "conv block pool kernel/stride",
                value: format!("kernel {pool_kernel}, stride {pool_stride}"),
                why: "the kernel must be in 1..=15 and the stride > 0",
            });
        }
        let out = conv.spec().out_channels;
        if let Some(bn) = norm.as_ref().filter(|bn| bn.channels() != out) {
            return Err(Error::InvalidConfig {
                what: "conv block batch norm",
                value: format!(
                    "{} channels after a {out}-channel convolution",
                    bn.channels()
                ),
                why: "the batch norm must have one channel per convolution output",
            });
        }
        Ok(Self {
            conv,
            norm,
            pool_kernel,
            pool_stride,
        })
    }

    /// The convolution.
    pub fn conv(&self) -> &Conv2d<A> {
        &self.conv
    }

    /// The batch norm, if any.
    pub fn norm(&self) -> Option<&BatchNorm<A>> {
        self.norm.as_ref()
    }

    /// Spatial output side for an input side `h` (`None` if the kernel or window does not fit).
    pub fn output_side(&self, h: usize) -> Option<usize> {
        let conv = self.conv.output_side(h)?;
        conv.checked_sub(self.pool_kernel)
            .map(|s| s / self.pool_stride + 1)
    }
}

impl<A: NdFloat> Module<A> for ConvBlock<A> {
    fn forward(&mut self, g: &mut Graph<A>, x: Var) -> Result<Var> {
        if self
            .norm
            .as_ref()
            .is_some_and(|bn| bn.is_training() && bn.is_synced())
        {
            // Synchronised batch norm needs every rank's statistics between the convolution
            // and the ReLU, so the stage runs as its four layers.
            let y = self.conv.forward(g, x)?;
            let y = self.norm.as_mut().map_or(Ok(y), |bn| bn.forward(g, y))?;
            let y = g.relu(y)?;
            return Ok(g.max_pool2d(y, self.pool_kernel, self.pool_stride)?);
        }
        let shape = self.conv.check(g, x, "ConvBlock")?;
        let (k, side) = (self.pool_kernel, shape[2].min(shape[3]));
        let training = self.norm.as_ref().is_some_and(|bn| bn.is_training());
        if self.output_side(side).is_none() || (training && shape[0] < 2) {
            return Err(Error::InputShape {
                layer: "ConvBlock",
                expected: format!(
                    "a convolution output of side >= {k}{}",
                    if training {
                        ", and N >= 2 for batch norm in training"
                    } else {
                        ""
                    }
                ),
                got: shape,
            });
        }
        let spec = self.conv.spec();
        let block = ConvBlockSpec {
            stride: spec.stride,
            padding: spec.padding,
            pool_kernel: self.pool_kernel,
            pool_stride: self.pool_stride,
        };
        let norm = match &self.norm {
            Some(bn) => {
                let (gamma, beta) = bn.params();
                BlockNorm::Batch {
                    gamma,
                    beta,
                    mode: bn.mode(),
                }
            }
            None => BlockNorm::None,
        };
        let (y, stats) = g.conv_block(x, self.conv.weight(), self.conv.bias(), norm, block)?;
        if let (Some(bn), Some(stats)) = (self.norm.as_mut(), stats) {
            bn.update_running(&stats);
        }
        Ok(y)
    }

    fn children(&self) -> Vec<(String, &dyn Module<A>)> {
        let mut out: Vec<(String, &dyn Module<A>)> = vec![("0".into(), &self.conv)];
        if let Some(bn) = &self.norm {
            out.push(("1".into(), bn));
        }
        out
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<A>)> {
        let mut out: Vec<(String, &mut dyn Module<A>)> = vec![("0".into(), &mut self.conv)];
        if let Some(bn) = &mut self.norm {
            out.push(("1".into(), bn));
        }
        out
    }
}
