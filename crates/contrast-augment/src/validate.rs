//! Checks shared by every operation's constructor, so a bad parameter fails when the
//! op is built and never in the middle of training.

use crate::error::{Error, Result};

/// `p` must be a probability in `[0, 1]`.
pub(crate) fn probability(op: &'static str, p: f32) -> Result<f32> {
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(Error::Probability { op, p: p as f64 })
    }
}

/// A finite `(low, high)` pair with `low <= high`, each inside `[min, max]`.
pub(crate) fn range(
    op: &'static str,
    param: &'static str,
    (low, high): (f32, f32),
    (min, max): (f32, f32),
    allowed: &'static str,
) -> Result<(f32, f32)> {
    value(op, param, low, (min, max), allowed)?;
    value(op, param, high, (min, max), allowed)?;
    if low > high {
        return Err(Error::ReversedRange {
            op,
            param,
            low: low as f64,
            high: high as f64,
        });
    }
    Ok((low, high))
}

/// A finite value inside `[min, max]` (NaN is rejected because it fails the comparison).
pub(crate) fn value(
    op: &'static str,
    param: &'static str,
    v: f32,
    (min, max): (f32, f32),
    allowed: &'static str,
) -> Result<f32> {
    if v.is_finite() && v >= min && v <= max {
        Ok(v)
    } else {
        Err(Error::OutOfRange {
            op,
            param,
            value: v as f64,
            allowed,
        })
    }
}

/// Every size must be non-zero.
pub(crate) fn sizes(op: &'static str, size: &[usize]) -> Result<()> {
    if size.contains(&0) {
        Err(Error::ZeroSize {
            op,
            size: size.to_vec(),
        })
    } else {
        Ok(())
    }
}

/// The image must have exactly `expected` channels.
pub(crate) fn channels(op: &'static str, expected: usize, found: usize) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::Channels {
            op,
            expected,
            found,
        })
    }
}

/// A finite value `> 0`.
pub(crate) fn positive(op: &'static str, param: &'static str, v: f32) -> Result<f32> {
    value(op, param, v, (f32::MIN_POSITIVE, f32::MAX), "(0, inf)")
}

/// A `(low, high)` range with `0 < low <= high`, both finite.
pub(crate) fn positive_range(
    op: &'static str,
    param: &'static str,
    r: (f32, f32),
) -> Result<(f32, f32)> {
    range(op, param, r, (f32::MIN_POSITIVE, f32::MAX), "(0, inf)")
}

/// Any finite value.
pub(crate) fn finite(op: &'static str, param: &'static str, v: f32) -> Result<f32> {
    value(op, param, v, (f32::MIN, f32::MAX), "finite")
}
