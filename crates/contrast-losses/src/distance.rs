//! All-pairs Euclidean distances of (normalised) rows and their backward pass, shared by
//! the margin losses (triplet over labels, contrastive pairs).
//!
//! ```text
//! d_ij = ||zn_i - zn_j||_2         (unsquared, as pytorch-metric-learning's LpDistance)
//! d d_ij / d zn_i = (zn_i - zn_j) / d_ij,   taken as 0 where d_ij = 0
//! ```
//! Differences are formed directly rather than from the Gram matrix, so distances of
//! nearly equal rows keep their precision (torch.cdist does the same for small batches).

use crate::normalize::RowNormalized;
use ndarray::{Array2, ArrayView2, NdFloat};

/// Rows and their distance matrix.
pub(crate) struct PairDistances<A> {
    pub emb: RowNormalized<A>,
    pub dist: Array2<A>,
}

impl<A: NdFloat> PairDistances<A> {
    pub fn new(z: ArrayView2<A>, normalize: bool) -> Self {
        let emb = RowNormalized::new(z, normalize);
        let r = &emb.rows;
        let n = r.nrows();
        let dist = Array2::from_shape_fn((n, n), |(i, j)| {
            r.row(i)
                .iter()
                .zip(r.row(j))
                .fold(A::zero(), |acc, (&a, &b)| acc + (a - b) * (a - b))
                .sqrt()
        });
        Self { emb, dist }
    }

    /// `d loss / d z` from `d loss / d dist` (any matrix; entry (i, j) moves rows i and j).
    pub fn backward(&self, ddist: &Array2<A>) -> Array2<A> {
        let r = &self.emb.rows;
        let n = r.nrows();
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
        self.emb.backward(grad)
    }
}
