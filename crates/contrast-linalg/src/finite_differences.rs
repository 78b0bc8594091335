//! Central differences `(f(z + h e_ij) - f(z - h e_ij)) / 2h`, the tests' reference for
//! every backward pass of this crate (the workspace's full checker, `gradcheck` of
//! contrast-autodiff, sits above this crate).

use ndarray::Array2;

/// The finite-difference gradient of `f` at `z`, step `h`.
pub(crate) fn central_differences(
    f: impl Fn(&Array2<f64>) -> f64,
    z: &Array2<f64>,
    h: f64,
) -> Array2<f64> {
    Array2::from_shape_fn(z.dim(), |(i, j)| {
        let (mut up, mut down) = (z.clone(), z.clone());
        up[[i, j]] += h;
        down[[i, j]] -= h;
        (f(&up) - f(&down)) / (2.0 * h)
    })
}
