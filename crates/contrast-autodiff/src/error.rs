//! The crate's one error type: every variant names the op and carries the offending shapes
//! or values, so a message says what went wrong and where.

/// Everything that can go wrong when building or differentiating a graph.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Input shapes that the op cannot combine.
    #[error("{op}: incompatible shapes {shapes:?}: {msg}")]
    Shape {
        /// The op that refused its inputs.
        op: &'static str,
        /// The shapes of the offending inputs, in argument order.
        shapes: Vec<Vec<usize>>,
        /// What was expected.
        msg: String,
    },
    /// An axis outside `0..ndim`, or named twice.
    #[error("{op}: axis {axis} is invalid for a value of shape {shape:?}")]
    Axis {
        /// The op that refused the axis.
        op: &'static str,
        /// The offending axis.
        axis: usize,
        /// The shape of the input.
        shape: Vec<usize>,
    },
    /// A scalar argument outside its domain (dropout probability, kernel size, eps...).
    #[error("{op}: invalid argument: {msg}")]
    InvalidArgument {
        /// The op that refused the argument.
        op: &'static str,
        /// Which argument and why.
        msg: String,
    },
    /// `backward` needs a 1-element loss.
    #[error("backward: the loss must have exactly one element, got shape {shape:?}")]
    NotScalar {
        /// Shape of the value passed as the loss.
        shape: Vec<usize>,
    },
    /// The loss of a `backward` call is NaN or infinite.
    #[error("backward: the loss is not finite ({value})")]
    NonFinite {
        /// The loss, formatted.
        value: String,
    },
    /// A handle whose node was released (by `backward` or `reset`) or that belongs to
    /// another graph.
    #[error("stale or foreign variable handle (slot {index}, generation {generation})")]
    StaleVar {
        /// Arena slot of the handle.
        index: usize,
        /// Generation of the handle.
        generation: u32,
    },
    /// A custom op's backward rule or a matmul backend failed.
    #[error("{op}: {msg}")]
    Op {
        /// The custom op or backend name.
        op: String,
        /// What it reported.
        msg: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Shorthand for [`Error::Shape`].
    pub fn shape(op: &'static str, shapes: &[&[usize]], msg: impl Into<String>) -> Self {
        Error::Shape {
            op,
            shapes: shapes.iter().map(|s| s.to_vec()).collect(),
            msg: msg.into(),
        }
    }

    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(op: &'static str, msg: impl Into<String>) -> Self {
        Error::InvalidArgument {
            op,
            msg: msg.into(),
        }
    }
}
