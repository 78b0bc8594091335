//! The one error type of this crate: every bad input is reported as a value.

/// Everything that can go wrong when building pairs, mining negatives or sampling batches.
///
/// Variants carry the offending sizes or values so that a message says what was wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A set that must hold at least one element was empty.
    #[error("{what} is empty")]
    Empty {
        /// What was empty (e.g. "embeddings", "labels", "trajectories").
        what: &'static str,
    },
    /// An anchor has fewer candidates than were requested.
    #[error("anchor {anchor} has {available} candidates, {requested} requested")]
    TooFewCandidates {
        /// Index of the anchor row.
        anchor: usize,
        /// How many valid candidates it has.
        available: usize,
        /// How many were asked for.
        requested: usize,
    },
    /// A slice or array has the wrong length.
    #[error("{what}: expected length {expected}, got {got}")]
    LengthMismatch {
        /// Which input.
        what: &'static str,
        /// The length it must have.
        expected: usize,
        /// The length it has.
        got: usize,
    },
    /// The embedding dimension does not match (e.g. keys vs. queue).
    #[error("{what}: expected dimension {expected}, got {got}")]
    DimensionMismatch {
        /// Which input.
        what: &'static str,
        /// The dimension it must have.
        expected: usize,
        /// The dimension it has.
        got: usize,
    },
    /// More classes were requested per batch than the data holds.
    #[error("{requested} classes requested per batch, only {available} usable")]
    TooManyClasses {
        /// Classes per batch (P).
        requested: usize,
        /// Classes that can be drawn.
        available: usize,
    },
    /// A class holds fewer samples than one batch needs from it.
    #[error("class {class} has {size} samples, {required} required")]
    ClassTooSmall {
        /// The class label.
        class: usize,
        /// Its number of samples.
        size: usize,
        /// Samples per class per batch (K).
        required: usize,
    },
    /// An index points outside the rows it refers to.
    #[error("{what}: index {index} out of range for {len} rows")]
    IndexOutOfRange {
        /// Which input.
        what: &'static str,
        /// The offending index.
        index: usize,
        /// The number of rows.
        len: usize,
    },
    /// An input holds NaN or an infinity.
    #[error("{what}: non-finite value at row {row}, column {col}")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// Row of the first non-finite value.
        row: usize,
        /// Column of the first non-finite value.
        col: usize,
    },
    /// A parameter is outside its valid range.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// Its value, formatted.
        value: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// Labels were required (or forbidden) by how the structure was built.
    #[error("labels {0}")]
    Labels(&'static str),
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Fails with [`Error::NonFinite`] at the first NaN or infinity of `x`.
pub(crate) fn check_finite<A: ndarray::NdFloat>(
    what: &'static str,
    x: ndarray::ArrayView2<'_, A>,
) -> Result<()> {
    match x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        Some(((row, col), _)) => Err(Error::NonFinite { what, row, col }),
        None => Ok(()),
    }
}

/// Checks an embedding matrix: at least one row and one column, every value finite.
pub(crate) fn check_embeddings<A: ndarray::NdFloat>(
    what: &'static str,
    x: ndarray::ArrayView2<'_, A>,
) -> Result<()> {
    if x.nrows() == 0 || x.ncols() == 0 {
        return Err(Error::Empty { what });
    }
    check_finite(what, x)
}

/// Fails with [`Error::LengthMismatch`] unless `got == expected`.
pub(crate) fn check_len(what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what,
            expected,
            got,
        })
    }
}

/// Builds an [`Error::InvalidParameter`].
pub(crate) fn invalid(name: &'static str, value: impl ToString, reason: &'static str) -> Error {
    Error::InvalidParameter {
        name,
        value: value.to_string(),
        reason,
    }
}
