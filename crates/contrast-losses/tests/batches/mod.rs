//! A fixed batch shared by the test files (the proptest strategies are public, in
//! `contrast_autodiff::gradcheck::strategies`).

use ndarray::Array2;

/// A large two-view batch `(2n, d)`, deterministic, raw norms up to 1e4.
pub fn extreme_batch(n: usize, d: usize) -> Array2<f64> {
    Array2::from_shape_fn((2 * n, d), |(i, j)| {
        let x = ((i * 31 + j * 17) as f64 * 0.731).sin();
        x * 10f64.powi((i % 5) as i32)
    })
}
