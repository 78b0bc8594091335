//! The one comparison the layer and optimizer tests share.

use ndarray::ArrayD;

/// Largest absolute element-wise difference of two arrays of the same shape.
pub fn max_diff(a: &ArrayD<f64>, b: &ArrayD<f64>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}
