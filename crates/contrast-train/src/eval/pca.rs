//! Principal component analysis to two dimensions, for the scatter plot of embeddings.
//!
//! Rows are centred; the covariance `C = X^T X / (n - 1)` (d x d) is formed once and its two
//! leading eigenvectors are found by power iteration with deflation (`C <- C - l v v^T`).
//! The sign of each component is fixed so that its largest-magnitude entry is positive, which
//! makes the projection deterministic.

use ndarray::{Array1, Array2, ArrayView2, Axis};

use crate::error::{Error, Result};

const ITERATIONS: usize = 500;

/// Projects the rows of `x` (n, d) onto their first `components` principal axes.
/// Returns the (n, components) projection and the explained variances.
pub fn pca(x: ArrayView2<f32>, components: usize) -> Result<(Array2<f32>, Vec<f64>)> {
    let (n, d) = x.dim();
    if n < 2 || d == 0 {
        return Err(Error::Empty(
            "PCA needs at least two rows of at least one feature",
        ));
    }
    if components == 0 || components > d {
        return Err(Error::Config(format!(
            "PCA to {components} components of {d}-dimensional data"
        )));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(Error::NonFinite("PCA input"));
    }
    let x = x.mapv(f64::from);
    let mean = x.mean_axis(Axis(0)).expect("n >= 2");
    let centred = &x - &mean;
    let mut cov = centred.t().dot(&centred) / (n as f64 - 1.0);
    let mut axes = Array2::<f64>::zeros((d, components));
    let mut variances = Vec::with_capacity(components);
    for c in 0..components {
        let (value, vector) = leading_eigenpair(&cov);
        for i in 0..d {
            for j in 0..d {
                cov[[i, j]] -= value * vector[i] * vector[j];
            }
        }
        axes.column_mut(c).assign(&vector);
        variances.push(value);
    }
    Ok((centred.dot(&axes).mapv(|v| v as f32), variances))
}

fn leading_eigenpair(c: &Array2<f64>) -> (f64, Array1<f64>) {
    let d = c.nrows();
    // A fixed, non-symmetric start so that no eigenvector is orthogonal to it by construction.
    let mut v = Array1::from_shape_fn(d, |i| 1.0 + (i as f64 + 1.0).sqrt().fract());
    v /= v.dot(&v).sqrt();
    let mut value = 0.0;
    for _ in 0..ITERATIONS {
        let w = c.dot(&v);
        let norm = w.dot(&w).sqrt();
        if norm < 1e-300 {
            return (0.0, v);
        }
        value = v.dot(&w);
        v = w / norm;
    }
    let largest = v
        .iter()
        .copied()
        .fold(0.0f64, |m, e| if e.abs() > m.abs() { e } else { m });
    if largest < 0.0 {
        v.mapv_inplace(|e| -e);
    }
    (value.max(0.0), v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn recovers_the_dominant_axis_of_a_stretched_cloud() {
        // Points along (1, 1, 0) with a small spread along (0, 0, 1).
        let x = Array2::from_shape_fn((50, 3), |(i, j)| {
            let t = i as f32 - 25.0;
            let wiggle = if i % 2 == 0 { 0.1 } else { -0.1 };
            [t, t, wiggle][j]
        });
        let (proj, var) = pca(x.view(), 2).unwrap();
        assert_eq!(proj.dim(), (50, 2));
        assert!(var[0] > 100.0 * var[1], "{var:?}");
        // First component is the (scaled) position along the line.
        let expected = (0..50).map(|i| (i as f32 - 25.0 + 0.5) * 2f32.sqrt());
        for (p, e) in proj.column(0).iter().zip(expected) {
            assert!((p.abs() - e.abs()).abs() < 1e-3, "{p} vs {e}");
        }
    }

    #[test]
    fn variances_match_the_eigenvalues_of_a_diagonal_covariance() {
        let x = array![[2.0f32, 0.0], [-2.0, 0.0], [0.0, 1.0], [0.0, -1.0]];
        let (_, var) = pca(x.view(), 2).unwrap();
        assert!(
            (var[0] - 8.0 / 3.0).abs() < 1e-9 && (var[1] - 2.0 / 3.0).abs() < 1e-9,
            "{var:?}"
        );
    }

    #[test]
    fn too_few_rows_is_an_error() {
        assert!(pca(array![[1.0f32, 2.0]].view(), 1).is_err());
        assert!(pca(array![[1.0f32], [2.0]].view(), 2).is_err());
    }
}
