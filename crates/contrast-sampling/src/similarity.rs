//! Similarities and distances between embedding rows.
//!
//! Cosine similarity `s_ij = zn_i . zn_j` with `zn_i = z_i / max(||z_i||, 1e-12)` (the
//! workspace convention), or the raw dot product `z_i . z_j`. Euclidean distances
//! `d_ij = ||z_i - z_j||_2` (unsquared), optionally on normalised rows, where
//! `d_ij = sqrt(max(0, 2 - 2 s_ij))`.

use ndarray::{Array2, ArrayView2, Axis, NdFloat};

use crate::error::{Error, Result, check_finite};

/// How two embedding rows are compared when mining.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Similarity {
    /// Cosine similarity of the rows (each row normalised first).
    #[default]
    Cosine,
    /// Raw dot product (for embeddings that are already normalised, or logits).
    Dot,
}

/// Rows of `x` divided by `max(||x_i||, 1e-12)`.
pub fn normalize_rows<A: NdFloat>(x: ArrayView2<'_, A>) -> Array2<A> {
    let eps = A::from(1e-12).expect("1e-12 fits every float");
    let mut out = x.to_owned();
    for mut row in out.axis_iter_mut(Axis(0)) {
        let norm = row.dot(&row).sqrt().max(eps);
        row.mapv_inplace(|v| v / norm);
    }
    out
}

/// Checks an embedding matrix: at least one row and one column, every value finite.
pub(crate) fn check_embeddings<A: NdFloat>(what: &'static str, x: ArrayView2<'_, A>) -> Result<()> {
    if x.nrows() == 0 || x.ncols() == 0 {
        return Err(Error::Empty { what });
    }
    check_finite(what, x)
}

/// Rows prepared for `Similarity`: normalised for cosine, as given for dot.
pub(crate) fn prepare<A: NdFloat>(x: ArrayView2<'_, A>, similarity: Similarity) -> Array2<A> {
    match similarity {
        Similarity::Cosine => normalize_rows(x),
        Similarity::Dot => x.to_owned(),
    }
}

/// `(n, n)` matrix of unsquared Euclidean distances between the rows of `x`, on normalised
/// rows when `normalize` is set (the pytorch-metric-learning convention for triplets).
///
/// Computed as `sqrt(max(0, |a|^2 + |b|^2 - 2 a.b))` with an exact zero diagonal.
pub fn pairwise_distances<A: NdFloat>(x: ArrayView2<'_, A>, normalize: bool) -> Result<Array2<A>> {
    check_embeddings("embeddings", x)?;
    let z = if normalize {
        normalize_rows(x)
    } else {
        x.to_owned()
    };
    let gram = z.dot(&z.t());
    let sq = gram.diag().to_owned();
    Ok(Array2::from_shape_fn(gram.dim(), |(i, j)| {
        if i == j {
            A::zero()
        } else {
            (sq[i] + sq[j] - gram[[i, j]] - gram[[i, j]])
                .max(A::zero())
                .sqrt()
        }
    }))
}
