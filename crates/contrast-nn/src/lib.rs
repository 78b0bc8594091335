//! `contrast-nn`: layers, encoders, projection heads, optimizers, learning-rate schedules,
//! momentum (EMA) encoders and safetensors parameter files, on top of `contrast-autodiff`.
//!
//! # Conventions
//!
//! * A network is a tree of [`Module`]s. Parameters are persistent `param` leaves of a
//!   [`Graph`](contrast_autodiff::Graph); modules hold their handles and record their forward
//!   pass on the graph. Names are PyTorch's dotted paths (`layer2.0.conv1.weight`,
//!   `layers.1.running_mean`) and shapes are PyTorch's (`Linear.weight` is `(out, in)`), so a
//!   state dict matches the `state_dict()` of the same PyTorch architecture (batch norm's
//!   `num_batches_tracked` aside).
//! * Shapes: features `(N, d)`, images NCHW `(N, C, H, W)`. Everything is generic over
//!   `A: NdFloat` (f64 for gradient checks, f32 for training).
//! * Randomness: constructors take `&mut impl Rng`; the same seed gives the same weights.
//! * Train / eval: [`Module::set_training`]. Batch norm uses batch statistics and updates
//!   `running = 0.9 running + 0.1 batch` (unbiased variance) in training, the running
//!   statistics in evaluation; dropout is the identity in evaluation.
//!
//! # Math
//!
//! * [`layers`]: `Linear y = x W^T + b`; `BatchNorm y = gamma (x - mu) / sqrt(var + eps) + beta`
//!   per channel; `LayerNorm` the same over the last axis; conv / pool as in PyTorch;
//!   `EmbeddingBag y_b = (1/n_b) Σ_k W[i_k]` (or the weighted sum) over a bag of ids.
//! * [`encoders`]: MLP, small CNN, ResNet-18, and the text [`encoders::BagEncoder`]
//!   (embedding bag -> MLP). Modules that read bags of ids rather than a tensor are called
//!   through their `forward_bags`; their tables are ordinary named parameters.
//! * [`init`]: Kaiming `U(+-gain sqrt(3 / fan_in))` / `N(0, gain^2 / fan_in)`, Xavier
//!   `U(+-gain sqrt(6 / (fan_in + fan_out)))` / `N(0, 2 gain^2 / (fan_in + fan_out))`.
//! * [`optim`]: SGD (momentum, dampening, Nesterov, L2 decay), Adam, AdamW (decoupled decay),
//!   LARS (`r = eta ||w|| / ||g + wd w||` on weights only; biases and norm params get neither
//!   decay nor `r`). Updates match `torch.optim` and SimCLR's LARS (tests use PyTorch fixtures).
//!   A row-sparse gradient (an embedding table) gets the lazy update of its present rows
//!   only (`torch.optim.SparseAdam`'s semantics for Adam), through the same
//!   [`optim::graph_step`].
//! * [`schedule`]: constant; warm-up `base t / W` then cosine
//!   `min + (base - min)(1 + cos(pi (t - W) / (T - W))) / 2`; step `base gamma^floor(t / k)`.
//! * [`ema`]: `theta_k <- m theta_k + (1 - m) theta_q`, BYOL's
//!   `m_k = 1 - (1 - m_0)(cos(pi k / K) + 1) / 2`.
//! * [`param_file`] / [`checkpoint`]: safetensors files (F32 or F64), written atomically
//!   (temporary file, fsync, rename); loading checks every name and shape and reports all
//!   missing, unexpected and mismatched tensors in one [`Error::StateMismatch`].
//! * [`distributed`]: data-parallel training over a `contrast_collective` collective:
//!   gathered rows whose gradient is summed back to its owner, synchronised batch norm,
//!   the mean of gradients over ranks; `R` ranks compute exactly what one process computes
//!   on the whole batch (the derivation is in the module).
//!
//! # Example
//!
//! A SimCLR-style encoder + projection head, one SGD step, and a checkpoint round trip:
//!
//! ```
//! use contrast_autodiff::Graph;
//! use contrast_nn::encoders::{Mlp, MlpConfig};
//! use contrast_nn::heads::ProjectionHead;
//! use contrast_nn::layers::Sequential;
//! use contrast_nn::optim::{graph_step, Optimizer, Sgd};
//! use contrast_nn::schedule::Schedule;
//! use contrast_nn::checkpoint::{load_checkpoint, save_checkpoint};
//! use contrast_nn::Module;
//! use ndarray::{ArrayD, IxDyn};
//! use rand::SeedableRng;
//!
//! # fn main() -> contrast_nn::Result<()> {
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let mut g = Graph::<f32>::new();
//! let mut model = Sequential::new()
//!     .with(Mlp::new(&mut g, &MlpConfig::relu(&[8, 16]), &mut rng)?)
//!     .with(ProjectionHead::simclr(&mut g, 16, 16, 4, &mut rng)?);
//! let params = model.named_params();
//! assert_eq!(params[0].name, "0.layers.0.weight");
//!
//! let mut opt = Sgd::new(0.1)?.momentum(0.9)?;
//! let schedule = Schedule::warmup_cosine(0.1, 10, 100, 0.0)?;
//! let x = g.input(ArrayD::from_elem(IxDyn(&[4, 8]), 0.5f32));
//! let z = model.forward(&mut g, x)?;
//! let sq = g.mul(z, z)?;
//! let loss = g.mean_all(sq)?;
//! g.backward(loss)?;
//! opt.set_lr(schedule.lr(1) as f32);
//! graph_step(&mut opt, &mut g, &params)?;
//! g.zero_grad();
//!
//! let dir = std::env::temp_dir().join(format!("contrast-nn-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("model.safetensors");
//! save_checkpoint(&path, &g, &model, Some(&opt), &Default::default())?;
//! load_checkpoint(&path, &mut g, &mut model, Some(&mut opt))?;
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok(())
//! # }
//! ```

pub mod checkpoint;
pub mod distributed;
pub mod ema;
pub mod encoders;
pub mod error;
#[cfg(feature = "gpu")]
pub mod gpu_matmul;
pub mod heads;
pub mod init;
pub mod layers;
pub mod module;
pub mod optim;
pub mod param_file;
pub mod schedule;
pub mod state;

pub use error::{Error, Result};
pub use module::{Module, NamedParam};

/// `x` as the float type `A` (every f64 converts to f32/f64).
pub(crate) fn scalar<A: ndarray::NdFloat>(x: f64) -> A {
    A::from(x).expect("f64 converts to any NdFloat")
}
