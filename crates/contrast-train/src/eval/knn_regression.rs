//! k-nearest-neighbour regression on frozen features, with cosine neighbours:
//!
//! ```text
//! N_k(q) = the k bank rows b_j with the highest cos(q, b_j) = q . b_j / (|q| |b_j|)
//! prediction(q) = (1 / k) sum_{j in N_k(q)} y_j          (the mean of their targets)
//! ```
//!
//! Ties go to the lower bank index, so the neighbours are one exact set. The similarities of
//! a block of queries against the whole bank are one matrix product (`Q B^T`, scaled by
//! `1 / |b_j|`; the query's own norm does not change its ranking), so the bank is read in
//! place, never copied or normalised: a 50,000 x 5,120 pixel bank costs no extra memory.
//! [`KNN_REGRESSION_K`] = 20 is the evaluations' choice.

use contrast_linalg::matmul;
use ndarray::{Array1, Array2, ArrayView2, Axis, s};
use rayon::prelude::*;

use crate::batch::chunks;
use crate::error::{Error, Result};

/// Neighbours per query in the evaluations.
pub const KNN_REGRESSION_K: usize = 20;

/// Queries per matrix product: bounds the similarity block held in memory.
const QUERY_BLOCK: usize = 256;

/// The `k` nearest bank rows of every query by cosine similarity, most similar first:
/// `(m, k)` indices into `bank` `(n, d)`, for `queries` `(m, d)`.
///
/// # Errors
/// An empty bank or query set, widths that differ, `k` of 0 or above `n`, non-finite values.
pub fn cosine_neighbours(
    bank: ArrayView2<f32>,
    queries: ArrayView2<f32>,
    k: usize,
) -> Result<Array2<usize>> {
    if bank.nrows() == 0 || queries.nrows() == 0 {
        return Err(Error::Empty("kNN needs a non-empty bank and query set"));
    }
    if bank.ncols() != queries.ncols() {
        return Err(Error::Shape {
            what: "kNN queries",
            expected: vec![queries.nrows(), bank.ncols()],
            got: queries.shape().to_vec(),
        });
    }
    if k == 0 || k > bank.nrows() {
        return Err(Error::Config(format!(
            "kNN needs 1 <= k <= {} (the bank), got k = {k}",
            bank.nrows()
        )));
    }
    if bank.iter().chain(queries.iter()).any(|v| !v.is_finite()) {
        return Err(Error::NonFinite("kNN features"));
    }
    let inverse_norms: Array1<f32> = bank.map_axis(Axis(1), |r| 1.0 / r.dot(&r).sqrt().max(1e-12));
    let blocks = chunks(queries.nrows(), QUERY_BLOCK);
    let parts: Vec<Array2<usize>> = blocks
        .into_par_iter()
        .map(|rows| {
            let mut sims = matmul(queries.slice(s![rows.clone(), ..]), bank.t());
            sims *= &inverse_norms;
            let mut out = Array2::zeros((rows.len(), k));
            let mut order: Vec<usize> = Vec::with_capacity(bank.nrows());
            for (row, mut slot) in sims.rows().into_iter().zip(out.rows_mut()) {
                let by_similarity =
                    |&a: &usize, &b: &usize| row[b].total_cmp(&row[a]).then(a.cmp(&b));
                order.clear();
                order.extend(0..bank.nrows());
                if k < order.len() {
                    order.select_nth_unstable_by(k - 1, by_similarity);
                }
                let nearest = &mut order[..k];
                nearest.sort_unstable_by(by_similarity);
                slot.iter_mut()
                    .zip(nearest.iter())
                    .for_each(|(o, &j)| *o = j);
            }
            out
        })
        .collect();
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    Ok(ndarray::concatenate(Axis(0), &views).expect("blocks share the width k"))
}

/// Predictions `(m, t)`: for every query, the mean target of its `k` cosine neighbours in
/// `bank` `(n, d)`, whose targets are `targets` `(n, t)`.
///
/// # Errors
/// As [`cosine_neighbours`], and a target count other than `n`.
pub fn knn_regression(
    bank: ArrayView2<f32>,
    targets: ArrayView2<f64>,
    queries: ArrayView2<f32>,
    k: usize,
) -> Result<Array2<f64>> {
    if targets.nrows() != bank.nrows() {
        return Err(Error::LabelCount {
            what: "kNN regression targets",
            expected: bank.nrows(),
            got: targets.nrows(),
        });
    }
    let neighbours = cosine_neighbours(bank, queries, k)?;
    let mut out = Array2::zeros((queries.nrows(), targets.ncols()));
    for (found, mut prediction) in neighbours.rows().into_iter().zip(out.rows_mut()) {
        for &j in found {
            prediction += &targets.row(j);
        }
        prediction /= k as f64;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};

    fn random(n: usize, d: usize, rng: &mut impl Rng) -> Array2<f32> {
        Array2::from_shape_fn((n, d), |_| rng.random_range(-1.0f32..1.0))
    }

    /// Every cosine in f64, by brute force.
    fn cosines(bank: &Array2<f32>, q: &[f32]) -> Vec<f64> {
        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
        let q: Vec<f64> = q.iter().map(|&v| f64::from(v)).collect();
        bank.rows()
            .into_iter()
            .map(|b| {
                let b: Vec<f64> = b.iter().map(|&v| f64::from(v)).collect();
                let dot: f64 = b.iter().zip(&q).map(|(x, y)| x * y).sum();
                dot / (norm(&b) * norm(&q))
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]
        /// Against brute-force f64 cosines: the neighbours are k distinct rows, none less
        /// similar than a row left out, in order of similarity (up to f32 rounding, 1e-5: a
        /// near-tie at the boundary may go either way), and each prediction is exactly the
        /// mean of the neighbours' targets.
        #[test]
        fn equals_brute_force(n in 1usize..400, m in 1usize..200, d in 2usize..9, k in 1usize..25, seed in any::<u64>()) {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let k = k.min(n);
            let bank = random(n, d, &mut rng);
            let targets = Array2::from_shape_fn((n, 2), |_| rng.random_range(-5.0..5.0));
            let queries = random(m, d, &mut rng);
            let found = cosine_neighbours(bank.view(), queries.view(), k).unwrap();
            let predicted = knn_regression(bank.view(), targets.view(), queries.view(), k).unwrap();
            for (i, q) in queries.rows().into_iter().enumerate() {
                let sims = cosines(&bank, q.as_slice().unwrap());
                let chosen: Vec<usize> = found.row(i).to_vec();
                let mut distinct = chosen.clone();
                distinct.sort_unstable();
                distinct.dedup();
                prop_assert_eq!(distinct.len(), k);
                let weakest = chosen.iter().map(|&j| sims[j]).fold(f64::INFINITY, f64::min);
                let best_left_out = (0..n).filter(|j| !chosen.contains(j)).map(|j| sims[j]).fold(f64::NEG_INFINITY, f64::max);
                prop_assert!(weakest >= best_left_out - 1e-5, "query {}: {} < {}", i, weakest, best_left_out);
                for pair in chosen.windows(2) {
                    prop_assert!(sims[pair[0]] >= sims[pair[1]] - 1e-5);
                }
                for c in 0..2 {
                    let mean = chosen.iter().map(|&j| targets[[j, c]]).sum::<f64>() / k as f64;
                    prop_assert!((predicted[[i, c]] - mean).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn neighbours_are_ordered_and_ties_go_to_the_lower_index() {
        let bank = ndarray::array![[1.0, 0.0], [0.0, 1.0], [2.0, 0.0], [0.7, 0.7]];
        let queries = ndarray::array![[1.0, 0.1]];
        let found = cosine_neighbours(bank.view(), queries.view(), 3).unwrap();
        // Rows 0 and 2 point the same way (a tie): 0 first; then the diagonal.
        assert_eq!(found.row(0).to_vec(), vec![0, 2, 3]);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let bank = Array2::<f32>::ones((5, 3));
        let targets = Array2::<f64>::zeros((5, 1));
        let q = Array2::<f32>::ones((2, 3));
        assert!(knn_regression(bank.view(), targets.view(), q.view(), 6).is_err());
        assert!(knn_regression(bank.view(), targets.view(), q.view(), 0).is_err());
        assert!(matches!(
            knn_regression(bank.view(), targets.slice(s![..4, ..]), q.view(), 2),
            Err(Error::LabelCount { .. })
        ));
        assert!(matches!(
            knn_regression(bank.view(), targets.view(), Array2::ones((2, 4)).view(), 2),
            Err(Error::Shape { .. })
        ));
    }
}
