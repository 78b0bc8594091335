//! Retrieval of a known match among a pool of candidates: the next observation among other
//! observations, a verse's translation among other verses, a caption's image among others.
//!
//! Query `i` has one true candidate `truth[i]`; its pool holds that candidate and `pool - 1`
//! others drawn uniformly without replacement from the rest of the candidates, from a
//! random stream of its own (ChaCha8 seeded with `seed`, stream `i`), so the pools do not
//! depend on the order or the threads that score them. Scores are cosine similarities, and
//!
//! ```text
//! rank_i = 1 + #{ j in pool_i, j != truth[i] : cos(q_i, c_j) >= cos(q_i, c_truth[i]) }
//! top-1  = (1 / m) #{ i : rank_i = 1 },     MRR = (1 / m) sum_i 1 / rank_i
//! ```
//!
//! A tie counts against the query, so features that cannot tell candidates apart (a
//! constant embedding) rank last, never first. [`RETRIEVAL_POOL`] = 1,000 is the
//! evaluations' pool size; chance is `1 / pool` top-1.

use ndarray::{Array1, ArrayView2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::error::{Error, Result};

/// Candidates per pool in the evaluations (the true one included).
pub const RETRIEVAL_POOL: usize = 1000;

/// How well the queries found their candidates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Retrieval {
    /// Fraction of queries whose true candidate scored highest in its pool.
    pub top1: f64,
    /// Mean reciprocal rank of the true candidate.
    pub mrr: f64,
}

/// The rank (from 1) of every query's true candidate in its pool (see the module docs):
/// `queries` `(m, d)`, `candidates` `(n, d)`, `truth[i] < n`, `1 <= pool <= n`.
///
/// # Errors
/// Widths that differ, a truth count other than `m`, a truth index out of range, a pool of 0
/// or larger than the candidates, non-finite values.
pub fn ranks(
    queries: ArrayView2<f32>,
    candidates: ArrayView2<f32>,
    truth: &[usize],
    pool: usize,
    seed: u64,
) -> Result<Vec<usize>> {
    let n = candidates.nrows();
    if queries.ncols() != candidates.ncols() {
        return Err(Error::Shape {
            what: "retrieval candidates",
            expected: vec![n, queries.ncols()],
            got: candidates.shape().to_vec(),
        });
    }
    check_truth(queries.nrows(), n, truth, pool)?;
    if queries
        .iter()
        .chain(candidates.iter())
        .any(|v| !v.is_finite())
    {
        return Err(Error::NonFinite("retrieval features"));
    }
    // The query's own norm does not change its ranking; candidates are scaled by theirs.
    let inverse_norms: Array1<f32> =
        candidates.map_axis(Axis(1), |r| 1.0 / r.dot(&r).sqrt().max(1e-12));
    let score = |q: usize, c: usize| queries.row(q).dot(&candidates.row(c)) * inverse_norms[c];
    Ok(ranks_by(queries.nrows(), n, truth, pool, seed, score))
}

/// [`ranks`] from a precomputed score matrix, `scores[[i, j]]` the similarity of query `i`
/// to candidate `j` (e.g. all cosines at once by a matrix product, or TF-IDF cosines):
/// the same pools, the same tie rule.
///
/// # Errors
/// A truth count other than the rows, a truth index out of range, a pool of 0 or larger than
/// the columns, non-finite scores.
pub fn ranks_of_scores(
    scores: ArrayView2<f32>,
    truth: &[usize],
    pool: usize,
    seed: u64,
) -> Result<Vec<usize>> {
    let (m, n) = scores.dim();
    check_truth(m, n, truth, pool)?;
    if scores.iter().any(|v| !v.is_finite()) {
        return Err(Error::NonFinite("retrieval scores"));
    }
    Ok(ranks_by(m, n, truth, pool, seed, |q, c| scores[[q, c]]))
}

/// The checks shared by [`ranks`] and [`ranks_of_scores`]: `m` queries, `n` candidates.
fn check_truth(m: usize, n: usize, truth: &[usize], pool: usize) -> Result<()> {
    if m == 0 {
        return Err(Error::Empty("retrieval needs at least one query"));
    }
    if truth.len() != m {
        return Err(Error::LabelCount {
            what: "retrieval ground truth",
            expected: m,
            got: truth.len(),
        });
    }
    if let Some(&bad) = truth.iter().find(|&&t| t >= n) {
        return Err(Error::Config(format!(
            "retrieval: true candidate {bad} of a query is out of range ({n} candidates)"
        )));
    }
    if pool == 0 || pool > n {
        return Err(Error::Config(format!(
            "retrieval: a pool of {pool} candidates needs 1 <= pool <= {n} (the candidates)"
        )));
    }
    Ok(())
}

/// The rank of every query's true candidate in its seeded pool under `score(query,
/// candidate)` (inputs already checked).
fn ranks_by(
    m: usize,
    n: usize,
    truth: &[usize],
    pool: usize,
    seed: u64,
    score: impl Fn(usize, usize) -> f32 + Sync,
) -> Vec<usize> {
    (0..m)
        .into_par_iter()
        .map(|i| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(i as u64);
            let positive = score(i, truth[i]);
            // Draw among the n - 1 other candidates: index r stands for r, or r + 1 past truth.
            let others = rand::seq::index::sample(&mut rng, n - 1, pool - 1);
            1 + others
                .into_iter()
                .map(|r| if r >= truth[i] { r + 1 } else { r })
                .filter(|&j| score(i, j) >= positive)
                .count()
        })
        .collect()
}

/// Top-1 accuracy and mean reciprocal rank of ranks (from 1).
pub fn summarize(ranks: &[usize]) -> Retrieval {
    let m = ranks.len().max(1) as f64;
    Retrieval {
        top1: ranks.iter().filter(|&&r| r == 1).count() as f64 / m,
        mrr: ranks.iter().map(|&r| 1.0 / r as f64).sum::<f64>() / m,
    }
}

/// Top-1 accuracy and mean reciprocal rank of [`ranks`].
///
/// ```
/// use contrast_train::eval::retrieval::retrieval;
/// use ndarray::array;
/// // Two queries whose true candidates are 1 and 0; pools of all three candidates.
/// let queries = array![[1.0f32, 0.0], [0.0, 1.0]];
/// let candidates = array![[0.1f32, 1.0], [1.0, 0.1], [1.0, 1.0]];
/// let found = retrieval(queries.view(), candidates.view(), &[1, 0], 3, 7)?;
/// assert_eq!(found.top1, 1.0);
/// let found = retrieval(queries.view(), candidates.view(), &[2, 1], 3, 7)?;
/// assert_eq!((found.top1, found.mrr), (0.0, 0.5 * (1.0 / 2.0 + 1.0 / 3.0)));
/// # Ok::<(), contrast_train::Error>(())
/// ```
///
/// # Errors
/// As [`ranks`].
pub fn retrieval(
    queries: ArrayView2<f32>,
    candidates: ArrayView2<f32>,
    truth: &[usize],
    pool: usize,
    seed: u64,
) -> Result<Retrieval> {
    Ok(summarize(&ranks(queries, candidates, truth, pool, seed)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use proptest::prelude::*;
    use rand::Rng;

    fn random(n: usize, d: usize, rng: &mut impl Rng) -> Array2<f32> {
        Array2::from_shape_fn((n, d), |_| rng.random_range(-1.0f32..1.0))
    }

    fn cosine(a: &[f32], b: &[f32]) -> f64 {
        let (a, b): (Vec<f64>, Vec<f64>) = (
            a.iter().map(|&v| f64::from(v)).collect(),
            b.iter().map(|&v| f64::from(v)).collect(),
        );
        let dot: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
        dot / (norm(&a) * norm(&b))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        /// With the pool as large as the candidates, every candidate is in every pool and the
        /// rank is the brute-force one: 1 + the candidates at least as similar (f64 cosines;
        /// near-ties within 1e-5 of the true one are left out of the comparison).
        #[test]
        fn full_pools_rank_as_brute_force(n in 1usize..120, m in 1usize..60, d in 2usize..7, seed in any::<u64>()) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let queries = random(m, d, &mut rng);
            let candidates = random(n, d, &mut rng);
            let truth: Vec<usize> = (0..m).map(|_| rng.random_range(0..n)).collect();
            let got = ranks(queries.view(), candidates.view(), &truth, n, seed).unwrap();
            for i in 0..m {
                let q = queries.row(i).to_vec();
                let sims: Vec<f64> = candidates.rows().into_iter().map(|c| cosine(&q, &c.to_vec())).collect();
                let positive = sims[truth[i]];
                let near = sims.iter().enumerate().any(|(j, s)| j != truth[i] && (s - positive).abs() < 1e-5);
                if !near {
                    let want = 1 + sims.iter().enumerate().filter(|&(j, &s)| j != truth[i] && s >= positive).count();
                    prop_assert_eq!(got[i], want);
                }
            }
        }
    }

    #[test]
    fn pools_are_seeded_hold_the_truth_and_are_uniform() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let queries = random(300, 4, &mut rng);
        let candidates = random(50, 4, &mut rng);
        let truth: Vec<usize> = (0..300).map(|i| i % 50).collect();
        let a = ranks(queries.view(), candidates.view(), &truth, 10, 3).unwrap();
        assert_eq!(
            a,
            ranks(queries.view(), candidates.view(), &truth, 10, 3).unwrap()
        );
        assert_ne!(
            a,
            ranks(queries.view(), candidates.view(), &truth, 10, 4).unwrap()
        );
        assert!(a.iter().all(|&r| (1..=10).contains(&r)));
        // Random features: the true candidate's rank is uniform in 1..=10, mean 5.5.
        let mean = a.iter().sum::<usize>() as f64 / a.len() as f64;
        assert!((mean - 5.5).abs() < 0.6, "mean rank {mean}");
        // A pool of one is the true candidate alone.
        assert!(
            ranks(queries.view(), candidates.view(), &truth, 1, 0)
                .unwrap()
                .iter()
                .all(|&r| r == 1)
        );
    }

    #[test]
    fn a_score_matrix_ranks_as_the_features_it_came_from() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let queries = random(40, 3, &mut rng);
        let candidates = random(30, 3, &mut rng);
        let truth: Vec<usize> = (0..40).map(|i| (i * 7) % 30).collect();
        let unit = |x: &Array2<f32>| {
            let norms = x.map_axis(Axis(1), |r| r.dot(&r).sqrt());
            x / &norms.insert_axis(Axis(1))
        };
        let scores = unit(&queries).dot(&unit(&candidates).t());
        for pool in [1, 9, 30] {
            let want = ranks(queries.view(), candidates.view(), &truth, pool, 2).unwrap();
            let got = ranks_of_scores(scores.view(), &truth, pool, 2).unwrap();
            let differ = want.iter().zip(&got).filter(|(a, b)| a != b).count();
            assert!(differ <= 1, "pool {pool}: {want:?} vs {got:?}"); // float near-ties only
        }
        let mut bad = scores.clone();
        bad[[0, 0]] = f32::NAN;
        assert!(matches!(
            ranks_of_scores(bad.view(), &truth, 3, 0),
            Err(Error::NonFinite(_))
        ));
    }

    #[test]
    fn identical_features_rank_last() {
        let queries = Array2::<f32>::ones((3, 2));
        let candidates = Array2::<f32>::ones((8, 2));
        let found = retrieval(queries.view(), candidates.view(), &[0, 3, 7], 8, 0).unwrap();
        assert_eq!(found.top1, 0.0);
        assert!((found.mrr - 1.0 / 8.0).abs() < 1e-12);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let q = Array2::<f32>::ones((2, 3));
        let c = Array2::<f32>::ones((5, 3));
        assert!(ranks(q.view(), c.view(), &[0, 5], 3, 0).is_err());
        assert!(ranks(q.view(), c.view(), &[0, 1], 6, 0).is_err());
        assert!(ranks(q.view(), c.view(), &[0, 1], 0, 0).is_err());
        assert!(matches!(
            ranks(q.view(), c.view(), &[0], 3, 0),
            Err(Error::LabelCount { .. })
        ));
        assert!(matches!(
            ranks(q.view(), Array2::ones((5, 2)).view(), &[0, 1], 3, 0),
            Err(Error::Shape { .. })
        ));
    }
}
