//! The one error type of `contrast-nn`.

use std::path::PathBuf;

/// A parameter whose stored shape differs from the shape the model expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeMismatch {
    /// Dotted name, e.g. `encoder.layers.0.weight`.
    pub name: String,
    /// Shape the model (or optimizer) holds.
    pub expected: Vec<usize>,
    /// Shape found in the file.
    pub found: Vec<usize>,
}

/// Everything that can go wrong in layers, optimizers and parameter files.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An op of the autodiff graph refused its inputs (shape errors name the op and shapes).
    #[error(transparent)]
    Autodiff(#[from] contrast_autodiff::Error),
    /// A collective operation failed (ranks that disagree, a rank that left, MPI).
    #[error(transparent)]
    Collective(#[from] contrast_collective::Error),
    /// An input to a layer has the wrong shape.
    #[error("{layer}: expected input of shape {expected}, got {got:?}")]
    InputShape {
        /// Layer that refused the input.
        layer: &'static str,
        /// What it expects, in words (e.g. `(N, 784)`).
        expected: String,
        /// Shape it received.
        got: Vec<usize>,
    },
    /// A module that reads bags of ids ([`EmbeddingBag`](crate::layers::EmbeddingBag),
    /// [`BagEncoder`](crate::encoders::BagEncoder)) was called through `Module::forward`,
    /// which takes a tensor node.
    #[error("{layer} reads bags of ids, not a tensor node: call {layer}::forward_bags")]
    BagsInput {
        /// The layer.
        layer: &'static str,
    },
    /// A constructor or optimizer setting is out of range.
    #[error("invalid {what}: {value} ({why})")]
    InvalidConfig {
        /// Name of the setting.
        what: &'static str,
        /// The offending value, printed.
        value: String,
        /// The rule it breaks.
        why: &'static str,
    },
    /// A parameter and its gradient (or optimizer state) have different shapes.
    #[error(
        "parameter {name}: gradient/state shape {got:?} differs from parameter shape {expected:?}"
    )]
    GradientShape {
        /// Parameter name.
        name: String,
        /// Parameter shape.
        expected: Vec<usize>,
        /// Gradient or state shape.
        got: Vec<usize>,
    },
    /// A parameter has a row-sparse gradient that the optimizer (or its setting) cannot apply.
    #[error("parameter {name} has a row-sparse gradient: {why}")]
    SparseGradient {
        /// Parameter name.
        name: String,
        /// Why it cannot be applied, and what can.
        why: &'static str,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// File involved.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// A parameter file is truncated, corrupt or not safetensors.
    #[error("{path}: not a valid safetensors file: {msg}")]
    Corrupt {
        /// File involved.
        path: PathBuf,
        /// What the parser reported.
        msg: String,
    },
    /// A tensor in a parameter file has a dtype we cannot load as a float.
    #[error("tensor {name}: dtype {dtype} is not F32 or F64")]
    Dtype {
        /// Tensor name.
        name: String,
        /// Its dtype, printed.
        dtype: String,
    },
    /// Loaded names or shapes do not match the model: lists every problem at once.
    #[error("state does not match the model: missing {missing:?}, unexpected {unexpected:?}, shape mismatches {}", fmt_mismatches(.mismatched))]
    StateMismatch {
        /// Names the model needs that the file lacks.
        missing: Vec<String>,
        /// Names in the file the model does not have.
        unexpected: Vec<String>,
        /// Names present in both with different shapes.
        mismatched: Vec<ShapeMismatch>,
    },
}

fn fmt_mismatches(m: &[ShapeMismatch]) -> String {
    let parts: Vec<String> = m
        .iter()
        .map(|s| format!("{} (model {:?}, file {:?})", s.name, s.expected, s.found))
        .collect();
    format!("[{}]", parts.join(", "))
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
