//! `contrast-autodiff`: a minimal reverse-mode automatic differentiation engine over
//! [`ndarray`], generic over `A: ndarray::NdFloat` (f64 for gradient checks, f32 for
//! training), with a public gradient checker.
//!
//! # Design
//!
//! * **Arena and ids.** A [`Graph`] owns every value in a vector of slots. A [`Var`] is a
//!   `Copy` handle: the slot index plus the slot's generation. No `Rc<RefCell>` webs: ops
//!   take `&mut Graph` and handles, so the borrow checker stays out of the way. A handle to
//!   a released node is detected ([`Error::StaleVar`]) even after its slot is reused.
//! * **Leaves.** [`Graph::param`] makes a trainable leaf that persists across steps and
//!   accumulates a gradient; [`Graph::input`] a constant leaf of the current step.
//! * **The tape.** Each op computes its value eagerly and records, next to it, its parents
//!   and a backward closure mapping `dL/d output` to `dL/d input`. Every op's backward is
//!   written right beside its forward (`src/ops/*.rs`); [`CustomOp`] lets outside code add
//!   ops the same way.
//! * **Pruning.** A node *requires grad* when one of its parents does (params do). An op
//!   whose inputs cannot reach a param records no closure and no parents at all, and the
//!   reverse walk never enters it; [`Graph::no_grad`] / [`Graph::set_recording`] turn
//!   recording off entirely (inference), and [`Graph::detach`] cuts one edge.
//! * **Topological walk.** [`Graph::backward`] orders the nodes reachable from the loss
//!   through grad-requiring parents by a depth-first post-order (each node after all of its
//!   parents), seeds `dL/dL = 1`, and visits the order backwards, so a node's gradient is
//!   complete (summed over all consumers) before its closure runs. Intermediate gradients
//!   are dropped as soon as they are consumed.
//! * **Row-sparse gradients.** A table read by [`Graph::embedding_bag`] gets a gradient
//!   in its used rows only. The rule returns it as a [`RowSparse`] (sorted unique row ids
//!   and their summed rows); the walk carries every gradient as a [`Grad`] (dense or rows)
//!   and sums contributions by [`sparse`]'s table: rows + rows stay rows, anything + dense is
//!   dense, and a row-sparse gradient reaching an op is made dense before its rule reads it.
//!   So a param read only by `embedding_bag` keeps a row-sparse gradient
//!   ([`Graph::sparse_grad`]) and no table-sized array is allocated for it; every other
//!   param's gradient is dense ([`Graph::grad`]) and its path is unchanged.
//! * **Accumulation and release.** Param gradients are *added* to what earlier backward
//!   calls left, until [`Graph::zero_grad`]. After the walk, every node that is not a param
//!   is released (its slot freed for reuse), so a training loop keeps a flat memory:
//!   after each `backward` (or [`Graph::reset`]), [`Graph::live_nodes`] equals the number of
//!   params.
//! * **Matmul.** [`contrast_linalg::matmul`] runs the `gemm` crate (runtime-dispatched AVX-512/AVX2
//!   micro-kernels, parallel on rayon's global pool); a [`MatmulBackend`] installed with
//!   [`Graph::set_matmul_backend`] replaces it for every product of a graph (the GPU hook).
//!
//! # Math conventions
//!
//! * Elementwise binary ops broadcast as numpy does (shapes aligned on the right; a
//!   dimension of 1 or a missing leading dimension repeats). For `y = f(a, b)`,
//!   `dL/da = reduce_a(dL/dy ⊙ ∂f/∂a)` where `reduce_a` **sums** over every axis along which
//!   `a` was repeated (leading axes are summed away, size-1 axes summed with keepdims), so
//!   the gradient has `a`'s shape. This is the adjoint of broadcasting.
//! * Reductions take a list of axes and `keepdims`; `sum_all`/`mean_all` give 0-d values.
//! * `logsumexp`, `softmax`, `log_softmax` subtract the maximum first:
//!   `lse(x) = m + log Σ exp(x - m)`; nothing overflows at large logits (e.g. `T = 0.01`).
//! * Images are NCHW; `conv2d` is cross-correlation (as in PyTorch), weights
//!   `(Cout, Cin, kh, kw)`.
//! * `embedding_bag` (PyTorch's `EmbeddingBag` layout of flat ids and bag offsets): sum
//!   `y_b = Σ_k w_k W[i_k]` or mean `y_b = (1/n_b) Σ_k W[i_k]` over bag `b`; an empty bag
//!   gives 0; weights only with the sum.
//! * Subgradients at kinks: `relu'(0) = abs'(0) = 0`; `max` splits its gradient among
//!   ties; `max_pool2d` gives it to the first maximal element of a window.
//!
//! # Example: a two-layer MLP, its backward, and a gradient check
//!
//! ```
//! use contrast_autodiff::gradcheck::{check_graph, GradCheckConfig};
//! use contrast_autodiff::{Graph, Result, Var};
//! use ndarray::{ArrayD, IxDyn};
//!
//! fn arr(shape: &[usize], f: impl Fn(usize) -> f64) -> ArrayD<f64> {
//!     let n = shape.iter().product();
//!     ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(f).collect()).unwrap()
//! }
//!
//! /// mean((tanh(x W1 + b1) W2 + b2)^2) for a batch x of 4 rows.
//! fn mlp(g: &mut Graph<f64>, p: &[Var], x: Var) -> Result<Var> {
//!     let h = g.matmul(x, p[0])?;
//!     let h = g.add(h, p[1])?;          // (4,5) + (5,) broadcasts
//!     let h = g.tanh(h)?;
//!     let o = g.matmul(h, p[2])?;
//!     let o = g.add(o, p[3])?;
//!     let sq = g.mul(o, o)?;
//!     g.mean_all(sq)
//! }
//!
//! let values = [
//!     arr(&[3, 5], |i| (i as f64 * 0.37).sin()),
//!     arr(&[5], |i| 0.1 * i as f64),
//!     arr(&[5, 2], |i| (i as f64 * 0.91).cos()),
//!     arr(&[2], |i| -0.2 * i as f64),
//! ];
//! let x = arr(&[4, 3], |i| (i as f64 * 0.53).cos());
//!
//! // Training-style use: params persist, the step's tape is released by backward.
//! let mut g = Graph::new();
//! let params: Vec<Var> = values.iter().map(|v| g.param(v.clone())).collect();
//! let input = g.input(x.clone());
//! let loss = mlp(&mut g, &params, input)?;
//! let value = g.backward(loss)?;
//! assert!(value > 0.0);
//! assert_eq!(g.grad(params[0]).unwrap().shape(), &[3, 5]);
//! assert_eq!(g.live_nodes(), params.len());
//!
//! // The same function, checked against central finite differences in f64.
//! let reports = check_graph(&values, |g, p| {
//!     let input = g.input(x.clone());
//!     mlp(g, p, input)
//! }, &GradCheckConfig::default())?;
//! for r in &reports {
//!     assert!(r.passes(1e-6), "{r}");
//! }
//! # Ok::<(), contrast_autodiff::Error>(())
//! ```
//!
//! # Extending
//!
//! See [`custom`] for an op whose forward and backward come from outside the graph.
//!
//! # Deviations from the written contract
//!
//! * `dropout` takes `p: f64` (a probability, whatever `A` is) and returns `x` itself in
//!   evaluation or with `p = 0`.
//! * Additions: [`Graph::live_nodes`], [`Graph::requires_grad`], [`Graph::is_recording`],
//!   [`Graph::set_grad`] (data-parallel training writes averaged gradients back),
//!   [`Var::index`], [`kernels::CpuMatmul`]; row-sparse gradients ([`sparse`],
//!   [`Graph::gradient`], [`Graph::sparse_grad`]) for [`Graph::embedding_bag`].
//!
//! # Features
//!
//! * `strategies`: exports `gradcheck::strategies`, proptest strategies for shapes and
//!   values (including values away from kinks) to reuse in other crates' gradient checks.

mod backprop;
pub mod custom;
pub mod error;
pub mod gradcheck;
mod graph;
pub mod kernels;
mod ops;
pub mod sparse;

pub use custom::CustomOp;
pub use error::{Error, Result};
pub use graph::{Graph, Var};
pub use kernels::MatmulBackend;
pub use ops::{BagMode, Bags, BatchNormMode, BatchStats, BlockNorm, ConvBlockSpec};
pub use sparse::{Grad, RowSparse};
