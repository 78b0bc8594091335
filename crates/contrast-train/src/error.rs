//! The error type of `contrast-train`.

use thiserror::Error;

/// Everything that can go wrong while configuring, training or evaluating.
#[derive(Debug, Error)]
pub enum Error {
    /// An input that must not be empty was.
    #[error("empty input: {0}")]
    Empty(&'static str),
    /// A matrix of the wrong shape.
    #[error("{what}: expected shape {expected:?}, got {got:?}")]
    Shape {
        /// What was checked.
        what: &'static str,
        /// The shape that was expected.
        expected: Vec<usize>,
        /// The shape that arrived.
        got: Vec<usize>,
    },
    /// Labels whose count does not match the rows.
    #[error("{what}: expected {expected} labels, got {got}")]
    LabelCount {
        /// What was checked.
        what: &'static str,
        /// Number of rows.
        expected: usize,
        /// Number of labels.
        got: usize,
    },
    /// A label outside `0..num_classes`.
    #[error("label {label} is out of range for {num_classes} classes")]
    LabelRange {
        /// The offending label.
        label: usize,
        /// The number of classes.
        num_classes: usize,
    },
    /// NaN or infinity where finite numbers are required.
    #[error("non-finite values in {0}")]
    NonFinite(&'static str),
    /// An invalid setting.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A setting (or method) that the chosen method or dataset cannot use.
    #[error("{setting} does not apply here: {reason}")]
    NotApplicable {
        /// The setting and its value, as in a config file (`method = simclr`).
        setting: String,
        /// Why, and what to use instead.
        reason: String,
    },
    /// A plot could not be drawn.
    #[error("plot: {0}")]
    Plot(String),
    /// The loss became NaN or infinite: the run stops before the bad step updates anything.
    #[error(
        "training diverged at step {step} (epoch {epoch}): {what}; parameters were not updated and \
         the last checkpoint is kept. Likely causes: a learning rate too high for the batch \
         (try --lr {suggested_lr:.1e}) or a temperature too low (try --temperature 0.2 or above)"
    )]
    Diverged {
        /// Global step (from 1).
        step: usize,
        /// Epoch (from 1).
        epoch: usize,
        /// What became non-finite.
        what: String,
        /// A tenth of the configured learning rate.
        suggested_lr: f32,
    },
    /// The second pass of a cached-gradient step computed other rows than the first: the
    /// cached loss gradient would belong to other rows, so the step stops.
    #[error(
        "cached-gradient step: the replay of chunk {chunk} gave other values for block {block} \
         than its first pass (largest difference {difference:e}); the model must draw its \
         randomness from streams it exposes (Module::own_streams_mut) and compute the same \
         values with and without a graph"
    )]
    ReplayMismatch {
        /// Chunk (from 0).
        chunk: usize,
        /// Block of rows (from 0).
        block: usize,
        /// Largest absolute difference between the passes.
        difference: f64,
    },
    /// The dataset could not be loaded.
    #[error(transparent)]
    Data(#[from] contrast_data::Error),
    /// Trajectories could not be generated, read or cut into observations (includes a frame
    /// stack of 0 and a horizon longer than every episode).
    #[error(transparent)]
    Env(#[from] contrast_env::Error),
    /// Text data (pairs, Bible modules, features) could not be loaded.
    #[error(transparent)]
    Text(#[from] contrast_text::Error),
    /// An augmentation failed.
    #[error(transparent)]
    Augment(#[from] contrast_augment::Error),
    /// A graph op failed.
    #[error(transparent)]
    Autodiff(#[from] contrast_autodiff::Error),
    /// A loss rejected its input.
    #[error(transparent)]
    Loss(#[from] contrast_losses::Error),
    /// Sampling or mining failed.
    #[error(transparent)]
    Sampling(#[from] contrast_sampling::Error),
    /// A layer, optimizer or parameter file failed.
    #[error(transparent)]
    Nn(#[from] contrast_nn::Error),
    /// The fused GPU loss failed.
    #[error(transparent)]
    GpuLoss(#[from] contrast_losses::gpu::GpuLossError),
    /// A collective operation of data-parallel training failed.
    #[error(transparent)]
    Collective(#[from] contrast_collective::Error),
    /// The GPU could not be used.
    #[error(transparent)]
    Gpu(#[from] contrast_gpu::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// `Result` with this crate's [`enum@Error`].
pub type Result<T> = std::result::Result<T, Error>;
