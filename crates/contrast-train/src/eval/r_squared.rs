//! The coefficient of determination of predictions, per target column:
//!
//! ```text
//! R^2 = 1 - sum_i (y_i - p_i)^2 / sum_i (y_i - mean(y))^2
//! ```
//!
//! as scikit-learn's `r2_score` (per output, the mean taken over the evaluated rows): 1 for
//! perfect predictions, 0 for always predicting the mean, negative for worse. A constant
//! target gives 1 when predicted exactly and 0 otherwise (scikit-learn's `force_finite`).

use ndarray::{ArrayView2, Axis};

use crate::error::{Error, Result};

/// `R^2` of every column of `predicted` against the same column of `truth`, both `(n, t)`.
///
/// # Errors
/// Shapes that differ, no row, or a value that is not finite.
pub fn r_squared(truth: ArrayView2<f64>, predicted: ArrayView2<f64>) -> Result<Vec<f64>> {
    if truth.dim() != predicted.dim() {
        return Err(Error::Shape {
            what: "R^2 predictions",
            expected: truth.shape().to_vec(),
            got: predicted.shape().to_vec(),
        });
    }
    if truth.nrows() == 0 {
        return Err(Error::Empty("R^2 needs at least one row"));
    }
    if truth.iter().chain(predicted.iter()).any(|v| !v.is_finite()) {
        return Err(Error::NonFinite("R^2 inputs"));
    }
    Ok(truth
        .axis_iter(Axis(1))
        .zip(predicted.axis_iter(Axis(1)))
        .map(|(y, p)| {
            let mean = y.mean().expect("rows exist");
            let total: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
            let residual: f64 = y.iter().zip(p).map(|(v, q)| (v - q).powi(2)).sum();
            match (total > 0.0, residual > 0.0) {
                (true, _) => 1.0 - residual / total,
                (false, false) => 1.0,
                (false, true) => 0.0,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn perfect_mean_and_worse_predictions() {
        let y = array![[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]];
        assert_eq!(r_squared(y.view(), y.view()).unwrap(), vec![1.0, 1.0]);
        let mean = array![[2.0, 5.0], [2.0, 5.0], [2.0, 4.0]];
        // Column 0: the mean, R^2 = 0. Column 1: a constant target missed, 0.
        assert_eq!(r_squared(y.view(), mean.view()).unwrap(), vec![0.0, 0.0]);
        let reversed = array![[3.0, 5.0], [2.0, 5.0], [1.0, 5.0]];
        // SS_res = 8, SS_tot = 2.
        assert_eq!(r_squared(y.view(), reversed.view()).unwrap()[0], -3.0);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let y = array![[1.0], [2.0]];
        assert!(matches!(
            r_squared(y.view(), array![[1.0]].view()),
            Err(Error::Shape { .. })
        ));
        assert!(matches!(
            r_squared(y.view(), array![[1.0], [f64::NAN]].view()),
            Err(Error::NonFinite(_))
        ));
    }
}
