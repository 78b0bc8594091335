//! Pooling over NCHW batches and flattening.

use std::marker::PhantomData;

use contrast_autodiff::{Graph, Var};
use ndarray::NdFloat;

use super::check_input;
use crate::error::{Error, Result};
use crate::module::Module;

fn check_window(kernel: usize, stride: usize) -> Result<()> {
    if kernel == 0 || stride == 0 {
        return Err(Error::InvalidConfig {
            what: "pool kernel/stride",
            value: format!("kernel {kernel}, stride {stride}"),
            why: "must be > 0",
        });
    }
    Ok(())
}

fn check_nchw<A: NdFloat>(g: &Graph<A>, x: Var, layer: &'static str, kernel: usize) -> Result<()> {
    check_input(
        g,
        x,
        layer,
        || format!("(N, C, H, W) with H, W >= {kernel}"),
        |s| s.len() == 4 && s[2] >= kernel && s[3] >= kernel,
    )
    .map(|_| ())
}

/// Which reduction a [`Pool2d`] applies over each window.
pub trait PoolOp: Send + Sync + 'static {
    /// Layer name in error messages.
    const NAME: &'static str;
    /// Record the pooling of `x` on `g`.
    fn pool<A: NdFloat>(g: &mut Graph<A>, x: Var, kernel: usize, stride: usize) -> Result<Var>;
}

/// Maximum over the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Max;

impl PoolOp for Max {
    const NAME: &'static str = "MaxPool2d";
    fn pool<A: NdFloat>(g: &mut Graph<A>, x: Var, kernel: usize, stride: usize) -> Result<Var> {
        Ok(g.max_pool2d(x, kernel, stride)?)
    }
}

/// Mean over the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Avg;

impl PoolOp for Avg {
    const NAME: &'static str = "AvgPool2d";
    fn pool<A: NdFloat>(g: &mut Graph<A>, x: Var, kernel: usize, stride: usize) -> Result<Var> {
        Ok(g.avg_pool2d(x, kernel, stride)?)
    }
}

/// Pooling over `kernel x kernel` windows every `stride` pixels, no padding
/// (output side `(H - k) / s + 1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2d<P> {
    kernel: usize,
    stride: usize,
    _op: PhantomData<P>,
}

/// Max pooling (PyTorch `nn.MaxPool2d(kernel, stride)`).
pub type MaxPool2d = Pool2d<Max>;

/// Average pooling (PyTorch `nn.AvgPool2d(kernel, stride)`).
pub type AvgPool2d = Pool2d<Avg>;

impl<P: PoolOp> Pool2d<P> {
    /// Pooling with the given window and stride (both > 0).
    pub fn new(kernel: usize, stride: usize) -> Result<Self> {
        check_window(kernel, stride)?;
        Ok(Self {
            kernel,
            stride,
            _op: PhantomData,
        })
    }
}

impl<A: NdFloat, P: PoolOp> Module<A> for Pool2d<P> {
    fn forward(&mut self, g: &mut Graph<A>, x: Var) -> Result<Var> {
        check_nchw(g, x, P::NAME, self.kernel)?;
        P::pool(g, x, self.kernel, self.stride)
    }
}

/// Mean over all spatial positions: `(N, C, H, W) -> (N, C)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalAvgPool;

impl<A: NdFloat> Module<A> for GlobalAvgPool {
    fn forward(&mut self, g: &mut Graph<A>, x: Var) -> Result<Var> {
        check_nchw(g, x, "GlobalAvgPool", 1)?;
        Ok(g.global_avg_pool(x)?)
    }
}

/// `(N, d1, d2, ...) -> (N, d1 d2 ...)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flatten;

impl<A: NdFloat> Module<A> for Flatten {
    fn forward(&mut self, g: &mut Graph<A>, x: Var) -> Result<Var> {
        let s = check_input(
            g,
            x,
            "Flatten",
            || "(N, ...) with rank >= 1".into(),
            |s| !s.is_empty(),
        )?;
        let rest: usize = s[1..].iter().product();
        Ok(g.reshape(x, &[s[0], rest])?)
    }
}
