//! One convolution stage of a CNN as a single op:
//! `y = max_pool(relu(norm(conv2d(x, w) + b)))`.
//!
//! Per output channel `c` (`m = N·H'·W'` values of `z` per channel, `s = 1/sqrt(σ² + eps)`):
//!
//! ```text
//! z = conv2d(x, w) + b                       cross-correlation, as Graph::conv2d
//! u = z                                      norm = None
//! u = γ (z - μ) s + β                        norm = Batch (train: batch μ, σ²; eval: running)
//! y = max_pool(relu(u))                      see relu_pool: a byte per window keeps the winner
//!
//! backward, g_u = the pooled gradient routed to each live window's winner:
//! g_z = g_u                                  None
//! g_z = γ s g_u                              Batch, eval
//! g_z = γ s / m (m g_u - Σ g_u - ẑ Σ g_u ẑ)  Batch, train, ẑ = (z - μ) s
//! dγ = Σ g_u ẑ,  dβ = Σ g_u,  db = Σ g_z
//! dW = Σ_n g_z,n · cols(x_n)ᵀ,  dx_n = col2im(Wᵀ g_z,n)    (as Graph::conv2d)
//! ```
//!
//! The value and gradients are those of the composition
//! `max_pool2d(relu(batch_norm(conv2d(x, w, b))))`; the tests check both against it. What
//! the fusion saves is memory traffic: the convolution's output never exists as a whole
//! (without batch norm) or is written once and read once per pass (with it), the ReLU and
//! pooling passes and their large gradients vanish, and the backward pass rebuilds each
//! chunk's `g_z` in cache from the pooled gradient and the winners' codes.
//!
//! Layout and determinism: the batch is cut into chunks of a few samples whose columns sit
//! side by side, `cols: (Cin·kh·kw, S·H'·W')`, so each chunk's convolution is one gemm
//! `z = W · cols` with `z: (Cout, S·H'·W')`; consecutive chunks form the tasks of the
//! parallel loops. Chunk and task sizes depend on shapes only, and every sum over the batch
//! (batch statistics, `dW`, `db`, `dγ`, `dβ`) adds per-task partial sums in task order, so
//! the result does not depend on the number of threads.

mod block;
mod passes;
mod sums;

use ndarray::{Array1, Array2, ArrayD, IxDyn, NdFloat};

use self::block::{Affine, Block, NormState};
use self::passes::Needs;
use super::conv::Geometry;
use super::norm::{BatchNormMode, BatchStats};
use super::relu_pool::PoolGeometry;
use crate::error::{Error, Result};
use crate::graph::{Backprop, Graph, Var};

/// What sits between a [`Graph::conv_block`]'s convolution and its ReLU.
#[derive(Clone, Copy, Debug)]
pub enum BlockNorm<'a, A> {
    /// Nothing: the ReLU sees `conv2d(x, w) + b`.
    None,
    /// Batch normalisation of the convolution's output, per output channel.
    Batch {
        /// Scale `γ`, shape `(Cout,)`.
        gamma: Var,
        /// Shift `β`, shape `(Cout,)`.
        beta: Var,
        /// Batch statistics (training) or running ones (evaluation).
        mode: BatchNormMode<'a, A>,
    },
}

/// Strides, padding and pooling window of a [`Graph::conv_block`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvBlockSpec {
    /// Convolution stride (both directions).
    pub stride: usize,
    /// Zero padding on every side of the convolution's input.
    pub padding: usize,
    /// Side of the max-pooling window (at most 15).
    pub pool_kernel: usize,
    /// Stride of the max-pooling window.
    pub pool_stride: usize,
}

/// The values of a batch norm's `γ`, `β` and its statistics mode.
struct BatchParams<'a, A> {
    gamma: Vec<A>,
    beta: Vec<A>,
    mode: BatchNormMode<'a, A>,
}

impl<A: NdFloat> Graph<A> {
    /// A convolution stage, `max_pool(relu(norm(conv2d(x, w) + b)))`, as one op (see the
    /// module docs for the math): `x: (N,Cin,H,W)`, `w: (Cout,Cin,kh,kw)`, `bias`, `γ`, `β`:
    /// `(Cout,)`; the output is `(N, Cout, Hp, Wp)` with `H' = (H + 2p - kh) / s + 1` after
    /// the convolution and `Hp = (H' - k) / t + 1` after pooling with window `k`, stride
    /// `t`. A training-mode batch norm also returns the batch mean and unbiased variance.
    pub fn conv_block(
        &mut self,
        x: Var,
        w: Var,
        bias: Option<Var>,
        norm: BlockNorm<'_, A>,
        spec: ConvBlockSpec,
    ) -> Result<(Var, Option<BatchStats<A>>)> {
        let (block, batch) = self.block_inputs(x, w, bias, norm, spec)?;
        let n = block.plan.samples;
        let xv = self.try_value(x)?.as_standard_layout();
        let xs = xv.as_slice().expect("standard layout");
        let mut out = vec![A::zero(); n * block.out_len()];
        let mut codes = vec![0u8; n * block.out_len()];
        // Batch norm keeps the convolution's output: for the batch statistics before
        // pooling, and for ẑ in the backward pass.
        let keep = batch
            .as_ref()
            .is_some_and(|b| matches!(b.mode, BatchNormMode::Train { .. }) || self.is_recording());
        let mut kept = keep.then(|| vec![A::zero(); n * block.z_len()]);
        let (state, stats) = match batch {
            None => {
                let affine = Affine::identity(block.cout);
                block.forward_pass(xs, kept.as_deref_mut(), Some(&affine), &mut out, &mut codes);
                (None, None)
            }
            Some(BatchParams { gamma, beta, mode }) => match mode {
                BatchNormMode::Eval { mean, var, eps } => {
                    let (affine, state) = normalisation(gamma, beta, mean, var, eps, false);
                    block.forward_pass(
                        xs,
                        kept.as_deref_mut(),
                        Some(&affine),
                        &mut out,
                        &mut codes,
                    );
                    (Some(state), None)
                }
                BatchNormMode::Train { eps } => {
                    let moments =
                        block.forward_pass(xs, kept.as_deref_mut(), None, &mut out, &mut codes);
                    let m = A::from(n * block.conv_len()).expect("float");
                    let stat = |f: &dyn Fn(&sums::Moments<A>) -> A| {
                        moments.iter().map(f).collect::<Array1<A>>()
                    };
                    let (mean, var) = (stat(&|mo| mo.mean), stat(&|mo| mo.m2 / m));
                    let (affine, state) = normalisation(gamma, beta, &mean, &var, eps, true);
                    block.pool_pass(
                        kept.as_deref().expect("kept"),
                        &affine,
                        &mut out,
                        &mut codes,
                    );
                    let unbiased = stat(&|mo| mo.m2 / (m - A::one()));
                    (
                        Some(state),
                        Some(BatchStats {
                            mean,
                            var: unbiased,
                        }),
                    )
                }
            },
        };
        let out = ArrayD::from_shape_vec(IxDyn(&block.out_shape()), out).expect("count");
        let (has_bias, has_norm) = (bias.is_some(), state.is_some());
        let parents: Vec<Var> = [x, w]
            .into_iter()
            .chain(bias)
            .chain(match norm {
                BlockNorm::None => Vec::new(),
                BlockNorm::Batch { gamma, beta, .. } => vec![gamma, beta],
            })
            .collect();
        let backward = move |bp: Backprop<'_, A>| {
            let at = 2 + usize::from(has_bias);
            let needs = Needs {
                x: bp.needs[0],
                w: bp.needs[1],
                bias: has_bias && bp.needs[2],
                norm: has_norm && (bp.needs[at] || bp.needs[at + 1]),
            };
            let x = bp.inputs[0].as_standard_layout();
            let g = bp.grad.as_standard_layout();
            let grads = block.backward_pass(
                x.as_slice().expect("standard layout"),
                g.as_slice().expect("standard layout"),
                &codes,
                kept.as_deref(),
                state.as_ref(),
                needs,
            );
            Ok(grads.into_parent_order(bp.inputs, has_bias, has_norm))
        };
        let y = self.record("conv_block", out, &parents, Box::new(backward))?;
        Ok((y, stats))
    }

    /// Checks the inputs of [`Graph::conv_block`] and gathers what its passes need.
    fn block_inputs<'a>(
        &self,
        x: Var,
        w: Var,
        bias: Option<Var>,
        norm: BlockNorm<'a, A>,
        spec: ConvBlockSpec,
    ) -> Result<(Block<A>, Option<BatchParams<'a, A>>)> {
        let (xv, wv) = (self.try_value(x)?, self.try_value(w)?);
        let (gamma, beta, mode) = match norm {
            BlockNorm::None => (None, None, None),
            BlockNorm::Batch { gamma, beta, mode } => (Some(gamma), Some(beta), Some(mode)),
        };
        let vectors = [bias, gamma, beta].map(|v| v.map(|v| self.try_value(v)).transpose());
        let [bias_v, gamma_v, beta_v] = vectors;
        let (bias_v, gamma_v, beta_v) = (bias_v?, gamma_v?, beta_v?);
        let ws = wv.shape();
        let per_channel = [bias_v, gamma_v, beta_v];
        if ws.len() != 4
            || xv.ndim() != 4
            || ws[1] != xv.shape()[1]
            || per_channel.iter().flatten().any(|v| v.shape() != [ws[0]])
        {
            let mut shapes = vec![xv.shape(), ws];
            shapes.extend(per_channel.iter().flatten().map(|v| v.shape()));
            return Err(Error::shape(
                "conv_block",
                &shapes,
                "expects x (N,Cin,H,W), w (Cout,Cin,kh,kw), and bias, gamma, beta (Cout,)",
            ));
        }
        let op = "conv_block";
        let geo = Geometry::new(op, xv.shape(), (ws[2], ws[3]), spec.stride, spec.padding)?;
        let pool = PoolGeometry::new(op, geo.out_h, geo.out_w, spec.pool_kernel, spec.pool_stride)?;
        let (n, cout) = (xv.shape()[0], ws[0]);
        let batch = match mode {
            None => None,
            Some(mode) => {
                let eps = match mode {
                    BatchNormMode::Train { eps } | BatchNormMode::Eval { eps, .. } => eps,
                };
                if eps.is_nan() || eps < A::zero() {
                    return Err(Error::invalid(op, format!("eps must be >= 0, got {eps}")));
                }
                if let BatchNormMode::Eval { mean, var, .. } = mode
                    && (mean.len() != cout || var.len() != cout)
                {
                    return Err(Error::shape(
                        op,
                        &[&[cout], mean.shape(), var.shape()],
                        "running mean and var must have one entry per output channel",
                    ));
                }
                if matches!(mode, BatchNormMode::Train { .. }) && n * geo.out_h * geo.out_w < 2 {
                    return Err(Error::shape(
                        op,
                        &[xv.shape()],
                        "batch norm training needs at least 2 values per channel",
                    ));
                }
                let to_vec =
                    |v: Option<&ArrayD<A>>| v.expect("batch norm").iter().copied().collect();
                Some(BatchParams {
                    gamma: to_vec(per_channel[1]),
                    beta: to_vec(per_channel[2]),
                    mode,
                })
            }
        };
        let wmat: Array2<A> = wv
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order((cout, geo.cols_rows()))
            .expect("count");
        let bias = per_channel[0].map(|b| b.iter().copied().collect());
        Ok((Block::new(geo, pool, n, wmat, bias), batch))
    }
}

/// `u = γ (z - μ) / sqrt(σ² + eps) + β` as a per-channel affine map, and what the backward
/// pass keeps of it.
fn normalisation<A: NdFloat>(
    gamma: Vec<A>,
    beta: Vec<A>,
    mean: &Array1<A>,
    var: &Array1<A>,
    eps: A,
    train: bool,
) -> (Affine<A>, NormState<A>) {
    let inv_std: Vec<A> = var.iter().map(|&v| (v + eps).sqrt().recip()).collect();
    let affine = Affine {
        shift: mean.to_vec(),
        scale: gamma.iter().zip(&inv_std).map(|(&g, &s)| g * s).collect(),
        offset: beta,
    };
    let state = NormState {
        gamma,
        mean: mean.to_vec(),
        inv_std,
        train,
    };
    (affine, state)
}
