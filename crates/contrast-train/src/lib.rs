//! `contrast-train`: recipes, the training loop and evaluation (under construction).

pub mod config;
pub mod error;
pub mod eval;
pub mod metrics;
pub mod npy;
pub mod plot;

pub use error::{Error, Result};
