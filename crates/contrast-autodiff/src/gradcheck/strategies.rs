//! Proptest strategies for gradient checks: shapes, arrays, and values kept away from the
//! kinks of piecewise ops (relu, abs, max, pooling), where finite differences straddle a
//! corner and disagree with any one-sided derivative; and, for losses over embeddings,
//! batches in the workspace's layouts with [`assert_gradient`] to check a loss's gradient.
//!
//! The embedding strategies keep every row norm at least 0.5: losses normalise rows, and
//! the derivative of `z / ||z||` grows as `1 / ||z||`, so tiny rows would make the central
//! difference measure its own truncation error instead of the gradient.
//!
//! Testing a loss of your own (here `sum_i ||z_i||^2 / 2`, gradient `z`):
//!
//! ```
//! use contrast_autodiff::gradcheck::strategies::{assert_gradient, two_view};
//! use proptest::prelude::*;
//!
//! proptest!(|(z in two_view())| {
//!     let loss = |z: ndarray::ArrayView2<f64>| z.iter().map(|v| v * v).sum::<f64>() / 2.0;
//!     assert_gradient("half squared norm", &z, &z.clone(), loss);
//! });
//! ```

use ndarray::{Array2, ArrayD, ArrayView2, IxDyn};
use proptest::prelude::*;

use super::{GradCheckConfig, GradCheckReport, check_gradient, retry_smaller_steps};

/// Relative error bound of [`assert_gradient`]: analytic against central differences.
pub const GRAD_TOL: f64 = 1e-6;

/// Shapes of rank `1..=max_rank` with every dimension in `1..=max_dim`.
pub fn shape(max_rank: usize, max_dim: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(1..=max_dim, 1..=max_rank)
}

/// Arrays of the given shape with values uniform in `[lo, hi)`.
pub fn array(shape: Vec<usize>, lo: f64, hi: f64) -> impl Strategy<Value = ArrayD<f64>> {
    let n: usize = shape.iter().product();
    proptest::collection::vec(lo..hi, n)
        .prop_map(move |v| ArrayD::from_shape_vec(IxDyn(&shape), v).expect("count"))
}

/// `(rows, cols)` matrices with dimensions in the given ranges and values in `[lo, hi)`.
pub fn matrix(
    rows: std::ops::RangeInclusive<usize>,
    cols: std::ops::RangeInclusive<usize>,
    lo: f64,
    hi: f64,
) -> impl Strategy<Value = ArrayD<f64>> {
    (rows, cols).prop_flat_map(move |(r, c)| array(vec![r, c], lo, hi))
}

/// Arrays whose values have magnitude in `[min_abs, max_abs)` and a random sign: at least
/// `min_abs` away from the kink at 0 of relu, abs and leaky_relu.
pub fn away_from_zero(
    shape: Vec<usize>,
    min_abs: f64,
    max_abs: f64,
) -> impl Strategy<Value = ArrayD<f64>> {
    let n: usize = shape.iter().product();
    proptest::collection::vec((min_abs..max_abs, any::<bool>()), n).prop_map(move |v| {
        let v = v
            .into_iter()
            .map(|(m, neg)| if neg { -m } else { m })
            .collect();
        ArrayD::from_shape_vec(IxDyn(&shape), v).expect("count")
    })
}

/// Arrays whose values are pairwise at least `gap` apart (a shuffled ladder with a small
/// jitter), so max and max-pool have a unique winner that a probe of size `< gap / 4`
/// cannot change.
pub fn distinct(shape: Vec<usize>, gap: f64) -> impl Strategy<Value = ArrayD<f64>> {
    let n: usize = shape.iter().product();
    let ladder: Vec<usize> = (0..n).collect();
    (
        Just(ladder).prop_shuffle(),
        proptest::collection::vec(0.0..gap / 4.0, n),
    )
        .prop_map(move |(order, jitter)| {
            let centre = n as f64 * gap / 2.0;
            let v = order
                .iter()
                .zip(jitter)
                .map(|(&k, j)| k as f64 * gap + j - centre)
                .collect();
            ArrayD::from_shape_vec(IxDyn(&shape), v).expect("count")
        })
}

/// A `rows x cols` embedding matrix with entries in `[-1.5, 1.5)` and every row norm at
/// least 0.5 (see the module docs for why).
pub fn embeddings(rows: usize, cols: usize) -> impl Strategy<Value = Array2<f64>> {
    proptest::collection::vec(-1.5f64..1.5, rows * cols)
        .prop_map(move |v| Array2::from_shape_vec((rows, cols), v).expect("rows * cols"))
        .prop_filter("row norms >= 0.5", |m| {
            m.rows().into_iter().all(|r| r.dot(&r) >= 0.25)
        })
}

/// A two-view batch `(2N, D)` in the SimCLR layout (rows `i` and `i + N` a positive pair),
/// `N` in `[2, 5)`, `D` in `[2, 6)`, drawn by [`embeddings`].
pub fn two_view() -> impl Strategy<Value = Array2<f64>> {
    (2usize..5, 2usize..6).prop_flat_map(|(n, d)| embeddings(2 * n, d))
}

/// A labelled batch: `n` in `[4, 10)` rows of dimension `D` in `[2, 6)` drawn by
/// [`embeddings`], one label in `0..3` per row, at least two classes present.
pub fn labelled() -> impl Strategy<Value = (Array2<f64>, Vec<usize>)> {
    (4usize..10, 2usize..6)
        .prop_flat_map(|(n, d)| (embeddings(n, d), proptest::collection::vec(0usize..3, n)))
        .prop_filter("two classes", |(_, y)| y.iter().any(|&c| c != y[0]))
}

/// Asserts that `analytic` is the gradient of the loss `f` at `x`: central differences of
/// `f` (step `1e-5`, every element) agree within a relative error of [`GRAD_TOL`].
///
/// A check that fails is repeated with steps `1e-6` and `1e-7`: the truncation error of a
/// central difference grows with the third derivative, which a batch statistic of nearly
/// equal values makes huge (Barlow Twins' column standardisation over two rows 2e-4 apart);
/// a smaller step removes it, while a wrong gradient stays wrong at every step.
///
/// # Panics
/// With `what` and the [`super::GradCheckReport`] when they do not (inside `proptest!` the
/// panic fails the case and proptest shrinks it).
pub fn assert_gradient(
    what: &str,
    x: &Array2<f64>,
    analytic: &Array2<f64>,
    f: impl Fn(ArrayView2<f64>) -> f64,
) {
    let (xd, gd) = (x.clone().into_dyn(), analytic.clone().into_dyn());
    let report = passing_step(|config| {
        check_gradient(
            |v| {
                f(v.view()
                    .into_dimensionality()
                    .expect("the input's 2-D shape"))
            },
            &xd,
            &gd,
            config,
        )
    });
    assert!(report.passes(GRAD_TOL), "{what}: {report}");
}

/// The report at the default step, or at the first smaller step (`1e-6`, `1e-7`) that passes
/// (see [`assert_gradient`]).
fn passing_step(check: impl FnMut(&GradCheckConfig) -> GradCheckReport) -> GradCheckReport {
    retry_smaller_steps(&GradCheckConfig::default(), GRAD_TOL, &[1e1, 1e2], check)
}

/// Asserts that `analytic` is `df/dx` of a scalar function at `x` (relative error <=
/// [`GRAD_TOL`]): for learnable scalars of a loss (a temperature, a log-scale, a bias).
///
/// # Panics
/// As [`assert_gradient`].
pub fn assert_scalar_gradient(what: &str, x: f64, analytic: f64, f: impl Fn(f64) -> f64) {
    let xd = ArrayD::from_elem(IxDyn(&[1]), x);
    let gd = ArrayD::from_elem(IxDyn(&[1]), analytic);
    let report = passing_step(|config| check_gradient(|v| f(v[0]), &xd, &gd, config));
    assert!(report.passes(GRAD_TOL), "{what}: {report}");
}

/// A two-view batch `(2N, D)` drawn by [`embeddings`] and a random keep-mask `(2N, 2N)` of
/// negatives in which every anchor keeps at least one (row `i + 1`).
pub fn two_view_masked() -> impl Strategy<Value = (Array2<f64>, Array2<bool>)> {
    (2usize..5, 2usize..6).prop_flat_map(|(n, d)| {
        let rows = 2 * n;
        (
            embeddings(rows, d),
            proptest::collection::vec(proptest::bool::weighted(0.5), rows * rows).prop_map(
                move |bits| {
                    let mut keep =
                        Array2::from_shape_vec((rows, rows), bits).expect("rows * rows bits");
                    for i in 0..rows {
                        keep[[i, (i + 1) % rows]] = true;
                    }
                    keep
                },
            ),
        )
    })
}

/// Two views `(n, D)` of the same samples (row `i` of each a positive pair), `n` in `[2, 7)`,
/// `D` in `[1, 6)`, drawn by [`embeddings`]: the input of two-input losses (SigLIP, VICReg,
/// Barlow Twins).
pub fn view_pair() -> impl Strategy<Value = (Array2<f64>, Array2<f64>)> {
    (2usize..7, 1usize..6).prop_flat_map(|(n, d)| (embeddings(n, d), embeddings(n, d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn batches_have_their_layout_and_row_norms((z, y) in labelled(), v in two_view()) {
            prop_assert!(v.nrows() % 2 == 0 && (4..10).contains(&v.nrows()));
            prop_assert_eq!(z.nrows(), y.len());
            prop_assert!(y.iter().any(|&c| c != y[0]) && y.iter().all(|&c| c < 3));
            for r in z.rows().into_iter().chain(v.rows()) {
                prop_assert!(r.dot(&r) >= 0.25 && r.iter().all(|x| x.abs() <= 1.5));
            }
        }
    }

    #[test]
    fn assert_gradient_accepts_the_gradient_and_rejects_another() {
        let x = Array2::from_shape_fn((3, 2), |(i, j)| i as f64 - j as f64 * 0.5);
        let cube = |v: ArrayView2<f64>| v.iter().map(|a| a * a * a).sum::<f64>();
        assert_gradient("cube", &x, &x.mapv(|a| 3.0 * a * a), cube);
        let wrong = std::panic::catch_unwind(|| {
            assert_gradient("cube", &x, &x.mapv(|a| 2.0 * a * a), cube)
        });
        assert!(wrong.is_err(), "a wrong gradient must fail");
    }
}
