//! `contrast-train`: contrastive training recipes, the loop, and evaluation.
//!
//! # What it computes
//!
//! A run trains an encoder `f` and a projection head `g` so that two augmented views of one
//! image land close together and other images far apart:
//!
//! - **SimCLR**: `z = g(f([v1; v2]))` of shape `(2N, d)`; NT-Xent
//!   `l_i = -log(exp(s_{i,p(i)}) / sum_{k != i} exp(s_ik))`, `s = zn zn^T / T`, mean over `2N`.
//! - **MoCo v2**: InfoNCE of queries `g(f(v1))` against keys of a momentum encoder
//!   (`theta_k <- m theta_k + (1 - m) theta_q`) and a queue of past keys.
//! - **SupCon**: all same-class rows are positives (Khosla et al. 2020, `L_out`).
//! - **Triplet**: P x K batches, batch-hard mining, `max(d(a,p) - d(a,n) + margin, 0)`.
//! - **BYOL** (the non-contrastive comparison, no negatives): a predictor `q` regresses a
//!   momentum target's projection of the other view, `2 - 2 cos(q(z_1), z'_2)`, symmetrised.
//! - **Pairs** (text: a sentence and its translation or paraphrase): CLIP's symmetric InfoNCE,
//!   `(InfoNCE(z_l -> z_r) + InfoNCE(z_r -> z_l)) / 2` over in-batch negatives, optionally
//!   with a learnable, clamped temperature; evaluated by retrieving each held-out sentence's
//!   partner ([`tasks::text`]).
//!
//! The optimizer is AdamW (or SGD with momentum, or LARS) with linear warm-up then cosine
//! decay of the learning rate.
//! Evaluation uses the frozen encoder features `f(x)` (before the head) of the held-out split:
//! weighted kNN (`k = 200, T = 0.1` and `k = 20, T = 0.07`), a linear probe (multinomial
//! logistic regression on standardised features), alignment and uniformity, always beside
//! raw pixels and the randomly initialised encoder.
//!
//! # Where to read
//!
//! - [`trainer`]: the data path of one step, `views -> encode -> project -> loss ->
//!   backward -> step`.
//! - [`batch`], [`source`]: what a batch holds (views of any kind of input, labels, instance
//!   ids) and where batches come from.
//! - [`recipes`]: one short file per method, each split into `encode` and `loss`; its table
//!   says which loss ([`loss_choice`]), negatives ([`negatives`]) and views each takes.
//! - [`compare`]: several configurations on one budget and seeds, one table.
//! - [`cached`]: cached-gradient steps (`chunk_size`): batches larger than memory, encoded in
//!   chunks, with the whole batch's gradient.
//! - [`tasks`]: what differs between kinds of data (images, ...): the data, the encoder's
//!   input, the evaluation and its baselines.
//! - [`run`]: the run folder (config, metrics, checkpoints, embeddings, plots) and resume.
//! - [`eval`]: kNN, linear probe, PCA, the final report.
//!
//! # Example
//!
//! ```no_run
//! use contrast_train::config::TrainConfig;
//! use contrast_train::run::{Silent, train};
//!
//! let config = TrainConfig { dataset: "digits".into(), epochs: 2, ..TrainConfig::default() };
//! let summary = train(&config, false, &mut Silent)?;
//! let probe = summary.report.get("trained encoder", "linear probe");
//! println!("linear probe: {probe:?}");
//! # Ok::<(), contrast_train::Error>(())
//! ```

pub mod augmentation;
pub mod batch;
pub mod cached;
pub mod checkpoint;
pub mod compare;
pub mod config;
pub mod device;
pub mod distributed;
pub mod error;
pub mod eval;
mod guard;
pub mod loss_choice;
pub mod loss_params;
pub mod metrics;
pub mod model;
pub mod negatives;
pub mod npy;
pub mod optimizer;
pub mod plot;
pub mod recipes;
pub mod run;
pub mod source;
pub mod tasks;
pub mod trainer;

pub use error::{Error, Result};
