//! All-pairs Euclidean distances between rows, and their backward pass.
//!
//! ```text
//! d_ij = ||x_i - x_j||_2                    (unsquared, as pytorch-metric-learning's LpDistance)
//! d d_ij / d x_i = (x_i - x_j) / d_ij,      taken as 0 where d_ij = 0
//! dx_i = sum_j (g_ij + g_ji) (x_i - x_j) / d_ij     for an upstream gradient g = d loss / d d
//! ```
//! Differences are formed directly rather than from the Gram matrix
//! (`|a|^2 + |b|^2 - 2 a.b`), so distances of nearly equal rows keep their precision and the
//! diagonal is exactly 0 (torch.cdist does the same for small batches). [`PairDistances`]
//! optionally L2-normalises the rows first (the margin losses' and miners' convention) and
//! carries the gradient back through that too.

use ndarray::{Array2, ArrayView2, Axis, NdFloat};
use rayon::prelude::*;

use crate::normalize::RowNormalized;

/// The `(n, n)` matrix of unsquared Euclidean distances between the rows of `x`.
///
/// Rows of the result are computed in parallel, each entry on its own, so the result does
/// not depend on the thread count.
///
/// ```
/// use contrast_linalg::pairwise_distances;
/// use ndarray::array;
///
/// let d = pairwise_distances(array![[0.0f64, 0.0], [3.0, 4.0]].view());
/// assert_eq!(d, array![[0.0, 5.0], [5.0, 0.0]]);
/// ```
pub fn pairwise_distances<A: NdFloat>(x: ArrayView2<A>) -> Array2<A> {
    let n = x.nrows();
    let mut dist = Array2::zeros((n, n));
    dist.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(i, mut row)| {
            let xi = x.row(i);
            for (d, xj) in row.iter_mut().zip(x.rows()) {
                *d = xi
                    .iter()
                    .zip(xj)
                    .fold(A::zero(), |acc, (&a, &b)| acc + (a - b) * (a - b))
                    .sqrt();
            }
        });
    dist
}

/// Rows (normalised or passed through) and their distance matrix, with the backward pass.
///
/// ```
/// use contrast_linalg::PairDistances;
/// use ndarray::array;
///
/// let pd = PairDistances::new(array![[1.0f64, 0.0], [0.0, 2.0]].view(), true);
/// assert!((pd.dist[[0, 1]] - 2f64.sqrt()).abs() < 1e-15);
/// // Pulling the two rows apart: the gradient of d_01 moves each row away from the other.
/// let dz = pd.backward(array![[0.0, 1.0], [0.0, 0.0]].view());
/// assert!(dz[[0, 1]] < 0.0 && dz[[1, 0]] < 0.0);
/// ```
#[derive(Clone, Debug)]
pub struct PairDistances<A> {
    /// The rows the distances are taken between.
    pub rows: RowNormalized<A>,
    /// `d_ij`, shape `(n, n)`.
    pub dist: Array2<A>,
}

impl<A: NdFloat> PairDistances<A> {
    /// Distances between the rows of `z`, L2-normalised first when `normalize`.
    pub fn new(z: ArrayView2<A>, normalize: bool) -> Self {
        let rows = RowNormalized::new(z, normalize);
        let dist = pairwise_distances(rows.rows.view());
        Self { rows, dist }
    }

    /// `d loss / d z` from `d loss / d dist` (any `(n, n)` matrix: entry `(i, j)` moves
    /// rows `i` and `j`).
    ///
    /// # Panics
    /// When `ddist` is not `(n, n)`.
    pub fn backward(&self, ddist: ArrayView2<A>) -> Array2<A> {
        let r = &self.rows.rows;
        let n = r.nrows();
        assert_eq!(ddist.dim(), (n, n), "PairDistances::backward: ddist shape");
        let mut grad = Array2::zeros(r.raw_dim());
        for i in 0..n {
            for j in 0..n {
                let g = ddist[[i, j]] + ddist[[j, i]];
                let d = self.dist[[i, j]];
                if i == j || g == A::zero() || d == A::zero() {
                    continue;
                }
                let coef = g / d;
                let mut gi = grad.row_mut(i);
                for ((gk, &a), &b) in gi.iter_mut().zip(r.row(i)).zip(r.row(j)) {
                    *gk += coef * (a - b);
                }
            }
        }
        self.rows.backward(grad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finite_differences::central_differences;
    use ndarray::array;
    use proptest::prelude::*;

    #[test]
    fn equal_rows_are_at_distance_zero_and_pass_no_gradient() {
        let z = array![[1.0f64, 2.0], [1.0, 2.0], [4.0, 6.0]];
        let pd = PairDistances::new(z.view(), false);
        assert_eq!(pd.dist[[0, 1]], 0.0);
        assert_eq!(pd.dist[[0, 2]], 5.0);
        assert!(pd.dist.diag().iter().all(|&d| d == 0.0));
        let g = pd.backward(array![[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]].view());
        assert!(
            g.iter().all(|&x| x == 0.0),
            "d_01 = 0 has no direction: {g}"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Against the Gram form on any rows, and the backward (normalised and not) against
        /// central differences of `sum(w * d)` on rows kept apart.
        #[test]
        fn distances_and_backward_match_references(
            (z, w, normalize) in (2usize..6, 2usize..5).prop_flat_map(|(n, d)| (
                proptest::collection::vec(-2.0f64..2.0, n * d)
                    .prop_map(move |v| Array2::from_shape_vec((n, d), v).expect("n * d")),
                proptest::collection::vec(-1.0f64..1.0, n * n)
                    .prop_map(move |v| Array2::from_shape_vec((n, n), v).expect("n * n")),
                any::<bool>(),
            ))
        ) {
            let gram = z.dot(&z.t());
            let d = pairwise_distances(z.view());
            for ((i, j), &dij) in d.indexed_iter() {
                let want = (gram[[i, i]] + gram[[j, j]] - 2.0 * gram[[i, j]]).max(0.0).sqrt();
                prop_assert!((dij - want).abs() <= 1e-6, "({}, {}): {} vs {}", i, j, dij, want);
            }
            let pd = PairDistances::new(z.view(), normalize);
            let apart = pd.dist.indexed_iter().all(|((i, j), &x)| i == j || x > 0.05);
            let rows_ok = z.rows().into_iter().all(|r| r.dot(&r) > 0.04);
            prop_assume!(apart && rows_ok);
            let f = |z: &Array2<f64>| (&PairDistances::new(z.view(), normalize).dist * &w).sum();
            let dz = pd.backward(w.view());
            let fd = central_differences(f, &z, 1e-6);
            for (((i, j), &g), &n) in dz.indexed_iter().zip(&fd) {
                prop_assert!((n - g).abs() <= 1e-5 * (1.0 + g.abs()), "({}, {}): {} vs {}", i, j, n, g);
            }
        }
    }
}
