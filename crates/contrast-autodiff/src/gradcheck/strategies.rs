//! Proptest strategies for gradient checks: shapes, arrays, and values kept away from the
//! kinks of piecewise ops (relu, abs, max, pooling), where finite differences straddle a
//! corner and disagree with any one-sided derivative.

use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;

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
