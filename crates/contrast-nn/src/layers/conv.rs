//! 2-D convolution over NCHW batches (PyTorch's `nn.Conv2d` layout, square kernels).

use std::marker::PhantomData;

use contrast_autodiff::{Graph, Var};
use ndarray::NdFloat;
use rand::Rng;

use super::check_input;
use crate::error::{Error, Result};
use crate::init::{Init, fans};
use crate::module::Module;
use crate::optim::ParamKind;

/// `y[n, o] = b[o] + sum_c w[o, c] * x[n, c]` (cross-correlation), with stride and zero padding.
/// Output side: `(H + 2 padding - kernel) / stride + 1`.
#[derive(Clone, Debug)]
pub struct Conv2d<A> {
    weight: Var,
    bias: Option<Var>,
    in_channels: usize,
    out_channels: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    _float: PhantomData<fn() -> A>,
}

/// Shape of a convolution: channels, kernel side, stride and padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvSpec {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel side.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding on each side.
    pub padding: usize,
}

impl ConvSpec {
    /// A `kernel x kernel` convolution, stride 1, "same" padding `kernel / 2`.
    pub fn same(in_channels: usize, out_channels: usize, kernel: usize) -> Self {
        Self {
            in_channels,
            out_channels,
            kernel,
            stride: 1,
            padding: kernel / 2,
        }
    }

    /// The same spec with another stride.
    pub fn stride(mut self, stride: usize) -> Self {
        self.stride = stride;
        self
    }

    /// The same spec with another padding.
    pub fn padding(mut self, padding: usize) -> Self {
        self.padding = padding;
        self
    }
}

impl<A: NdFloat> Conv2d<A> {
    /// A convolution with PyTorch's default init (`U(+-1/sqrt(fan_in))` for weight and bias).
    pub fn new(g: &mut Graph<A>, spec: ConvSpec, bias: bool, rng: &mut impl Rng) -> Result<Self> {
        Self::with_init(g, spec, bias, Init::torch_default(), rng)
    }

    /// A convolution whose weight is drawn from `init`.
    pub fn with_init(
        g: &mut Graph<A>,
        spec: ConvSpec,
        bias: bool,
        init: Init,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        if spec.kernel == 0 || spec.stride == 0 {
            return Err(Error::InvalidConfig {
                what: "conv kernel/stride",
                value: format!("{spec:?}"),
                why: "kernel and stride must be > 0",
            });
        }
        let shape = [
            spec.out_channels,
            spec.in_channels,
            spec.kernel,
            spec.kernel,
        ];
        let weight = g.param(init.sample::<A>(&shape, rng)?);
        let bias = if bias {
            let (fan_in, _) = fans(&shape)?;
            let b = Init::Uniform {
                bound: 1.0 / fan_in.sqrt(),
            }
            .sample::<A>(&[spec.out_channels], rng)?;
            Some(g.param(b))
        } else {
            None
        };
        Ok(Self {
            weight,
            bias,
            in_channels: spec.in_channels,
            out_channels: spec.out_channels,
            kernel: spec.kernel,
            stride: spec.stride,
            padding: spec.padding,
            _float: PhantomData,
        })
    }

    /// Handle of the weight `(Cout, Cin, k, k)`.
    pub fn weight(&self) -> Var {
        self.weight
    }

    /// Handle of the bias `(Cout,)`, if any.
    pub fn bias(&self) -> Option<Var> {
        self.bias
    }

    /// Channels, kernel side, stride and padding.
    pub fn spec(&self) -> ConvSpec {
        ConvSpec {
            in_channels: self.in_channels,
            out_channels: self.out_channels,
            kernel: self.kernel,
            stride: self.stride,
            padding: self.padding,
        }
    }

    /// Fails with [`Error::InputShape`] (naming `layer`) unless `x` is `(N, Cin, H, W)`
    /// with the kernel fitting the padded image.
    pub(crate) fn check(&self, g: &Graph<A>, x: Var, layer: &'static str) -> Result<Vec<usize>> {
        let (c, k, p) = (self.in_channels, self.kernel, self.padding);
        check_input(
            g,
            x,
            layer,
            || format!("(N, {c}, H, W) with H, W + 2*{p} >= {k}"),
            |s| s.len() == 4 && s[1] == c && s[2] + 2 * p >= k && s[3] + 2 * p >= k,
        )
    }

    /// Spatial output side for an input side `h` (`None` if the kernel does not fit).
    pub fn output_side(&self, h: usize) -> Option<usize> {
        (h + 2 * self.padding)
            .checked_sub(self.kernel)
            .map(|s| s / self.stride + 1)
    }
}

impl<A: NdFloat> Module<A> for Conv2d<A> {
    fn forward(&mut self, g: &mut Graph<A>, x: Var) -> Result<Var> {
        self.check(g, x, "Conv2d")?;
        Ok(g.conv2d(x, self.weight, self.bias, self.stride, self.padding)?)
    }

    fn own_params(&self) -> Vec<(&'static str, Var, ParamKind)> {
        let mut p = vec![("weight", self.weight, ParamKind::Weight)];
        if let Some(b) = self.bias {
            p.push(("bias", b, ParamKind::Bias));
        }
        p
    }
}
