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

/// Two views of one batch: both non-empty and finite, `b` shaped like `a`. `what` names
/// the two inputs in errors.
pub(crate) fn view_pair<A: NdFloat>(
    (a_what, b_what): (&'static str, &'static str),
    a: &ArrayView2<A>,
    b: &ArrayView2<A>,
) -> Result<()> {
    embeddings(a_what, a)?;
    same_shape(b_what, a, b)?;
    embeddings(b_what, b)
}

/// At least `min` rows, for a statistic over the batch.
pub(crate) fn min_rows(what: &'static str, rows: usize, min: usize) -> Result<()> {
    if rows < min {
        return Err(Error::TooFewRows { what, rows, min });
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

/// A temperature usable as a divisor in the loss's float type `A`: see [`divisor`].
/// `T = 1e-300` is positive as an f64 but 0 in f32, where `z.z / T` would be inf or NaN.
pub(crate) fn temperature<A: NdFloat>(t: f64) -> Result<()> {
    if is_divisor::<A>(t) {
        Ok(())
    } else {
        Err(Error::Temperature(t))
    }
}

/// A hyper-parameter that the loss divides by (DCL-W's `sigma`): positive and finite as
/// given, and in `A` a normal number (not 0, not subnormal) whose reciprocal is finite.
pub(crate) fn divisor<A: NdFloat>(name: &'static str, value: f64) -> Result<()> {
    if is_divisor::<A>(value) {
        Ok(())
    } else {
        Err(Error::Parameter {
            name,
            value,
            expected: "> 0, and in the loss's float type normal with a finite reciprocal",
        })
    }
}

/// `value > 0` and finite, normal in `A`, and `1 / value` finite in `A` (both as `A`
/// divides it and as the loss's f64 reciprocal cast to `A`).
fn is_divisor<A: NdFloat>(value: f64) -> bool {
    if !(value.is_finite() && value > 0.0) {
        return false;
    }
    let a = cast::<A>(value);
    a.is_normal() && (A::one() / a).is_finite() && cast::<A>(1.0 / value).is_finite()
}

/// A finite hyper-parameter inside `ok`, both as given and as converted to the loss's float
/// type `A` (where it may round onto a bound, e.g. `tau+ = 1 - 1e-12` is 1 in f32, or
/// overflow, e.g. a margin of 1e300).
pub(crate) fn parameter<A: NdFloat>(
    name: &'static str,
    value: f64,
    expected: &'static str,
    ok: impl Fn(f64) -> bool,
) -> Result<()> {
    let in_a = cast::<A>(value).to_f64().unwrap_or(f64::NAN);
    if value.is_finite() && ok(value) && in_a.is_finite() && ok(in_a) {
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
