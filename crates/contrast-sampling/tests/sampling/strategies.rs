//! Shared proptest strategies: small embedding matrices and label vectors.

use ndarray::Array2;
use proptest::prelude::*;

/// `(rows, cols)` matrix with entries from `values`.
pub fn matrix(
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
    values: impl Strategy<Value = f64> + Clone,
) -> impl Strategy<Value = Array2<f64>> {
    (rows, cols).prop_flat_map(move |(r, c)| {
        proptest::collection::vec(values.clone(), r * c)
            .prop_map(move |v| Array2::from_shape_vec((r, c), v).expect("r * c values"))
    })
}

/// Real-valued embeddings in [-1, 1].
pub fn embeddings(
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
) -> impl Strategy<Value = Array2<f64>> {
    matrix(rows, cols, -1.0..1.0f64)
}

/// Small-integer embeddings: dot products are exact, so ties are frequent and real.
pub fn int_embeddings(
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
) -> impl Strategy<Value = Array2<f64>> {
    matrix(rows, cols, (-2i32..=2).prop_map(f64::from))
}

/// Embeddings with labels from `classes` classes.
pub fn labelled(
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
    classes: usize,
    ints: bool,
) -> impl Strategy<Value = (Array2<f64>, Vec<usize>)> {
    let values = if ints {
        int_embeddings(rows, cols).boxed()
    } else {
        embeddings(rows, cols).boxed()
    };
    values.prop_flat_map(move |z| {
        let n = z.nrows();
        (Just(z), proptest::collection::vec(0..classes, n))
    })
}

/// Square matrix of small integer "distances" (many ties).
pub fn int_distances(rows: std::ops::Range<usize>) -> impl Strategy<Value = Array2<f64>> {
    rows.prop_flat_map(|n| matrix(n..n + 1, n..n + 1, (0i32..5).prop_map(f64::from)))
}
