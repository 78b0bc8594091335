//! Layers: each a [`Module`](crate::Module) with PyTorch's parameter names and shapes.
//!
//! | layer | input -> output | params (PyTorch names) |
//! |---|---|---|
//! | [`Linear`] | `(N, in) -> (N, out)`, `y = x W^T + b` | `weight (out, in)`, `bias (out)` |
//! | [`Conv2d`] | `(N, Cin, H, W) -> (N, Cout, H', W')` | `weight (Cout, Cin, k, k)`, `bias (Cout)` |
//! | [`ConvBlock`] | `Conv2d -> [BatchNorm] -> ReLU -> MaxPool2d` as one fused op | the conv's (`0.*`) and batch norm's (`1.*`) |
//! | [`BatchNorm`] | `(N, C)` (1d) or `(N, C, H, W)` (2d) | `weight (C)`, `bias (C)`; buffers `running_mean`, `running_var` |
//! | [`LayerNorm`] | `(..., D)`, normalised over the last axis | `weight (D)`, `bias (D)` |
//! | [`EmbeddingBag`] | bags of ids `(N bags) -> (N, dim)`, sum or mean of table rows (call `forward_bags`) | `weight (buckets, dim)` |
//! | [`Dropout`] | any; zeroes with probability `p`, scales by `1/(1-p)` in training | none |
//! | [`Activation`] | any, element-wise | none |
//! | [`MaxPool2d`], [`AvgPool2d`], [`GlobalAvgPool`] | `(N, C, H, W) -> (N, C, H', W')` / `(N, C)` | none |
//! | [`Flatten`] | `(N, ...) -> (N, prod ...)` | none |
//! | [`Sequential`] | chains its children, named `0`, `1`, ... | children's |

mod activation;
mod conv;
mod conv_block;
mod dropout;
mod embedding;
mod linear;
mod norm;
mod pool;
mod sequential;

pub use activation::Activation;
pub use conv::{Conv2d, ConvSpec};
pub use conv_block::ConvBlock;
pub use dropout::Dropout;
pub use embedding::EmbeddingBag;
pub use linear::Linear;
pub use norm::{BatchNorm, LayerNorm};
pub use pool::{Avg, AvgPool2d, Flatten, GlobalAvgPool, Max, MaxPool2d, Pool2d, PoolOp};
pub use sequential::Sequential;

use contrast_autodiff::{Graph, Var};
use ndarray::NdFloat;

use crate::error::{Error, Result};

/// The shape of `x`, or an [`Error::InputShape`] naming `layer` unless `ok(shape)`.
pub(crate) fn check_input<A: NdFloat>(
    g: &Graph<A>,
    x: Var,
    layer: &'static str,
    expected: impl FnOnce() -> String,
    ok: impl FnOnce(&[usize]) -> bool,
) -> Result<Vec<usize>> {
    let shape = g.try_value(x)?.shape().to_vec();
    if ok(&shape) {
        Ok(shape)
    } else {
        Err(Error::InputShape {
            layer,
            expected: expected(),
            got: shape,
        })
    }
}
