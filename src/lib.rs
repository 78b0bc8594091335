//! # contrast
//!
//! Contrastive self-supervised representation learning from scratch, in plain Rust.
//! This facade re-exports the workspace crates under short names so that a user can depend
//! on one package; each crate also stands alone.
//!
//! | module | crate | what it holds |
//! |---|---|---|
//! | [`linalg`] | `contrast-linalg` | gemm products, row normalisation, pairwise distances |
//! | [`autodiff`] | `contrast-autodiff` | reverse-mode engine, ops, `gradcheck` |
//! | [`losses`] | `contrast-losses` | contrastive losses with exact gradients |
//! | [`augment`] | `contrast-augment` | image and sequence augmentations |
//! | [`sampling`] | `contrast-sampling` | pairs, negatives, queues, miners, samplers |
//! | [`gpu`] | `contrast-gpu` | wgpu context and WGSL kernels |
//! | [`nn`] | `contrast-nn` | layers, encoders, optimizers, parameter files |
//! | [`data`] | `contrast-data` | datasets and batching |
//! | [`text`] | `contrast-text` | text pairs, Bible modules, hashed n-gram features, TF-IDF |
//! | [`env`](mod@env) | `contrast-env` | classic-control environments, pixels, trajectories |
//! | [`collective`] | `contrast-collective` | all-gather / all-reduce / broadcast for data-parallel runs |
//! | [`train`] | `contrast-train` | recipes, the training loop, evaluation |

pub use contrast_augment as augment;
pub use contrast_autodiff as autodiff;
pub use contrast_collective as collective;
pub use contrast_data as data;
pub use contrast_env as env;
pub use contrast_gpu as gpu;
pub use contrast_linalg as linalg;
pub use contrast_losses as losses;
pub use contrast_nn as nn;
pub use contrast_sampling as sampling;
pub use contrast_text as text;
pub use contrast_train as train;
