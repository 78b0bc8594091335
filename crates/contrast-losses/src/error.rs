//! The crate's error type: every bad input is reported as a value naming what was wrong.

/// Everything a loss can reject. Variants carry the offending shape or value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// An input with no rows or no columns.
    #[error("{what}: empty input of shape {shape:?}")]
    Empty {
        /// Which input.
        what: &'static str,
        /// Its shape.
        shape: Vec<usize>,
    },
    /// A NaN or infinite entry in an input.
    #[error("{what}: non-finite value {value} at {index:?}")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// Row and column of the first bad entry.
        index: [usize; 2],
        /// The entry (as f64).
        value: f64,
    },
    /// Temperature not finite, not positive, or not usable as a divisor in the loss's float
    /// type (0 or subnormal there, or with an infinite reciprocal).
    #[error(
        "temperature must be finite and > 0, and in the loss's float type normal with a \
         finite reciprocal, got {0}"
    )]
    Temperature(f64),
    /// Another hyper-parameter outside its valid range.
    #[error("{name} = {value} is out of range: expected {expected}")]
    Parameter {
        /// Parameter name.
        name: &'static str,
        /// Its value.
        value: f64,
        /// The valid range, in words.
        expected: &'static str,
    },
    /// A two-view layout `(2N, D)` with an odd number of rows.
    #[error("{what}: rows i and i + N are pairs, so the row count must be even, got {rows}")]
    OddRows {
        /// Which loss.
        what: &'static str,
        /// The row count.
        rows: usize,
    },
    /// Two inputs whose shapes must agree do not.
    #[error("{what}: expected shape {expected:?}, got {got:?}")]
    Shape {
        /// Which input.
        what: &'static str,
        /// The shape required by the other inputs.
        expected: Vec<usize>,
        /// The shape given.
        got: Vec<usize>,
    },
    /// A label vector whose length differs from the row count.
    #[error("{labels} labels for {rows} rows")]
    LabelLength {
        /// Number of labels.
        labels: usize,
        /// Number of embedding rows.
        rows: usize,
    },
    /// A batch too small (or too uniform) to contain a negative.
    #[error("{what}: no negative in a batch of {rows} rows")]
    NoNegative {
        /// Which loss.
        what: &'static str,
        /// The row count.
        rows: usize,
    },
    /// An anchor without a positive where the loss needs one.
    #[error("{what}: anchor {anchor} has no positive")]
    NoPositive {
        /// Which loss.
        what: &'static str,
        /// The anchor row.
        anchor: usize,
    },
    /// An anchor left without a single negative (every candidate removed by a negatives
    /// mask): its softmax would hold only the positive.
    #[error("{what}: anchor {anchor} has no negative left after the mask")]
    AnchorWithoutNegative {
        /// Which loss.
        what: &'static str,
        /// The anchor row.
        anchor: usize,
    },
    /// A negatives mask naming a candidate that does not exist.
    #[error("{what}: anchor {anchor} keeps candidate {index}, but there are {rows} rows")]
    MaskIndex {
        /// Which loss.
        what: &'static str,
        /// The anchor row.
        anchor: usize,
        /// The candidate index given.
        index: usize,
        /// The number of rows (valid indices are below it).
        rows: usize,
    },
    /// Too few rows for a statistic over the batch (a variance needs two).
    #[error("{what}: needs at least {min} rows, got {rows}")]
    TooFewRows {
        /// Which loss.
        what: &'static str,
        /// The row count.
        rows: usize,
        /// The least row count accepted.
        min: usize,
    },
    /// A graph error (feature `autodiff`): a stale handle or a value of the wrong rank.
    #[cfg(feature = "autodiff")]
    #[error(transparent)]
    Graph(#[from] contrast_autodiff::Error),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;
