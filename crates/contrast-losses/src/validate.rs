//! Input checks shared by every loss: shapes, finiteness, hyper-parameter ranges.
//! Each returns the typed [`Error`] a user sees, so losses never panic on bad input.

use crate::error::{Error, Result};
use ndarray::{ArrayView2, NdFloat};

/// A non-empty matrix with finite entries.
pub(crate) fn embeddings<A: NdFloat>(what: &'static str, z: &ArrayView2<A>) -> Result<()> {
    if z.nrows() == 0 || z.ncols() == 0 {
        return Err(Error::Empty {
            what,
            shape: z.shape().to_vec(),
        });
    }
    if let Some(((i, j), v)) = z.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFinite {
            what,
            index: [i, j],
            value: v.to_f64().unwrap_or(f64::NAN),
        });
    }
    Ok(())
}

/// `other` has the same shape as `reference`.
pub(crate) fn same_shape<A>(
    what: &'static str,
    reference: &ArrayView2<A>,
    other: &ArrayView2<A>,
) -> Result<()> {
    if reference.shape() != other.shape() {
        return Err(Error::Shape {
            what,
            expected: reference.shape().to_vec(),
            got: other.shape().to_vec(),
        });
    }
    Ok(())
}

/// `other` has `cols` columns (negatives must live in the embedding space).
pub(crate) fn columns<A>(what: &'static str, cols: usize, other: &ArrayView2<A>) -> Result<()> {
    if other.ncols() != cols {
        return Err(Error::Shape {
            what,
            expected: vec![other.nrows(), cols],
            got: other.shape().to_vec(),
        });
    }
    Ok(())
}

/// Temperature finite and positive.
pub(crate) fn temperature(t: f64) -> Result<()> {
    if t.is_finite() && t > 0.0 {
        Ok(())
    } else {
        Err(Error::Temperature(t))
    }
}

/// A finite hyper-parameter inside `ok`.
pub(crate) fn parameter(
    name: &'static str,
    value: f64,
    expected: &'static str,
    ok: impl Fn(f64) -> bool,
) -> Result<()> {
    if value.is_finite() && ok(value) {
        Ok(())
    } else {
        Err(Error::Parameter {
            name,
            value,
            expected,
        })
    }
}

/// One label per row.
pub(crate) fn labels(labels: &[usize], rows: usize) -> Result<()> {
    if labels.len() != rows {
        return Err(Error::LabelLength {
            labels: labels.len(),
            rows,
        });
    }
    Ok(())
}

/// The two-view `(2N, D)` layout: even row count, at least two pairs (so a negative exists).
/// Returns N.
pub(crate) fn two_view_rows<A>(what: &'static str, z: &ArrayView2<A>) -> Result<usize> {
    let rows = z.nrows();
    if !rows.is_multiple_of(2) {
        return Err(Error::OddRows { what, rows });
    }
    if rows < 4 {
        return Err(Error::NoNegative { what, rows });
    }
    Ok(rows / 2)
}

/// Converts an f64 hyper-parameter to the working float type.
pub(crate) fn cast<A: NdFloat>(x: f64) -> A {
    A::from(x).expect("every f64 converts to an NdFloat (possibly rounding)")
}
