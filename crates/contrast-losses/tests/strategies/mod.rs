//! Proptest strategies and the gradient-check assertion shared by the test files.
#![allow(dead_code)] // each test file uses a different subset

use contrast_autodiff::gradcheck::{GradCheckConfig, check_gradient};
use ndarray::{Array2, ArrayView2, IxDyn};
use proptest::prelude::*;

/// Relative error bound of every analytic gradient against central differences.
pub const GRAD_TOL: f64 = 1e-6;

/// A `rows x cols` matrix with entries in [-1.5, 1.5] and every row norm >= 0.5
/// (normalisation divides by the norm; tiny rows make finite differences meaningless).
pub fn matrix(rows: usize, cols: usize) -> impl Strategy<Value = Array2<f64>> {
    proptest::collection::vec(-1.5f64..1.5, rows * cols)
        .prop_map(move |v| Array2::from_shape_vec((rows, cols), v).unwrap())
        .prop_filter("row norms >= 0.5", |m| {
            m.rows().into_iter().all(|r| r.dot(&r) >= 0.25)
        })
}

/// A two-view batch `(2N, D)` with N in [2, 5) and D in [2, 6).
pub fn two_view() -> impl Strategy<Value = Array2<f64>> {
    (2usize..5, 2usize..6).prop_flat_map(|(n, d)| matrix(2 * n, d))
}

/// A labelled batch: n in [4, 10), D in [2, 6), labels in 0..3 with at least two classes.
pub fn labelled() -> impl Strategy<Value = (Array2<f64>, Vec<usize>)> {
    (4usize..10, 2usize..6)
        .prop_flat_map(|(n, d)| (matrix(n, d), proptest::collection::vec(0usize..3, n)))
        .prop_filter("two classes", |(_, y)| y.iter().any(|&c| c != y[0]))
}

/// Asserts that `analytic` is the gradient of `f` at `x` (relative error <= [`GRAD_TOL`]).
pub fn assert_gradient(
    what: &str,
    x: &Array2<f64>,
    analytic: &Array2<f64>,
    f: impl Fn(ArrayView2<f64>) -> f64,
) {
    let xd = x.clone().into_dimensionality::<IxDyn>().unwrap();
    let gd = analytic.clone().into_dimensionality::<IxDyn>().unwrap();
    let report = check_gradient(
        |v| f(v.view().into_dimensionality().unwrap()),
        &xd,
        &gd,
        &GradCheckConfig::default(),
    );
    assert!(report.passes(GRAD_TOL), "{what}: {report}");
}

/// Asserts that `analytic` is `df/dx` of a scalar function at `x` (relative error <=
/// [`GRAD_TOL`]), for learnable scalar parameters (a log-scale, a bias).
pub fn assert_scalar_gradient(what: &str, x: f64, analytic: f64, f: impl Fn(f64) -> f64) {
    let xd = ndarray::ArrayD::from_elem(IxDyn(&[1]), x);
    let gd = ndarray::ArrayD::from_elem(IxDyn(&[1]), analytic);
    let report = check_gradient(|v| f(v[0]), &xd, &gd, &GradCheckConfig::default());
    assert!(report.passes(GRAD_TOL), "{what}: {report}");
}

/// A two-view batch `(2N, D)` and a random keep-mask `(2N, 2N)` in which every anchor
/// keeps at least one negative (row `i + 1`).
pub fn two_view_masked() -> impl Strategy<Value = (Array2<f64>, Array2<bool>)> {
    (2usize..5, 2usize..6).prop_flat_map(|(n, d)| {
        let rows = 2 * n;
        (
            matrix(rows, d),
            proptest::collection::vec(proptest::bool::weighted(0.5), rows * rows).prop_map(
                move |bits| {
                    let mut keep = Array2::from_shape_vec((rows, rows), bits).unwrap();
                    for i in 0..rows {
                        keep[[i, (i + 1) % rows]] = true;
                    }
                    keep
                },
            ),
        )
    })
}

/// Two views `(n, D)` with n in [2, 7) and D in [1, 6).
pub fn view_pair() -> impl Strategy<Value = (Array2<f64>, Array2<f64>)> {
    (2usize..7, 1usize..6).prop_flat_map(|(n, d)| (matrix(n, d), matrix(n, d)))
}

/// Pairwise Euclidean distances of the L2-normalised rows (test-side, to keep hinge
/// losses away from their kinks, where finite differences are meaningless).
pub fn normalized_distances(z: &Array2<f64>) -> Array2<f64> {
    let zn = Array2::from_shape_fn(z.raw_dim(), |(i, j)| {
        z[[i, j]] / z.row(i).dot(&z.row(i)).sqrt()
    });
    let n = z.nrows();
    Array2::from_shape_fn((n, n), |(i, j)| {
        let d = &zn.row(i) - &zn.row(j);
        d.dot(&d).sqrt()
    })
}

/// A large random two-view batch, deterministic, raw norms up to 1e4.
pub fn extreme_batch(n: usize, d: usize) -> Array2<f64> {
    Array2::from_shape_fn((2 * n, d), |(i, j)| {
        let x = ((i * 31 + j * 17) as f64 * 0.731).sin();
        x * 10f64.powi((i % 5) as i32)
    })
}
