//! Weighted k-nearest-neighbour classification on frozen features.
//!
//! The protocol of InstDisc (Wu et al. 2018), used by lightly's `knn_predict` and solo-learn:
//! features are L2-normalised; for a test feature `q`, take the `k` training features with the
//! highest cosine similarity `s_j = q . f_j`, weight each by `exp(s_j / T)`, add the weights per
//! class and predict the class with the largest sum (ties go to the lower class index).
//! Defaults `k = 200, T = 0.1` (InstDisc, lightly); solo-learn uses `k = 20, T = 0.07`.

use contrast_linalg::l2_normalize_rows;
use ndarray::{ArrayView2, Axis, s};
use rayon::prelude::*;

use crate::error::{Error, Result};

/// Settings of the weighted kNN classifier.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KnnConfig {
    /// Number of neighbours (clamped to the size of the training bank).
    pub k: usize,
    /// Temperature of the similarity weights `exp(s / T)`.
    pub temperature: f32,
}

impl KnnConfig {
    /// InstDisc / lightly: `k = 200, T = 0.1`.
    pub const INSTDISC: Self = Self {
        k: 200,
        temperature: 0.1,
    };
    /// solo-learn: `k = 20, T = 0.07`.
    pub const SOLO_LEARN: Self = Self {
        k: 20,
        temperature: 0.07,
    };
}

/// Rows of test features processed together: bounds the similarity block held in memory.
const BLOCK_ROWS: usize = 256;

/// Predicts a class for every row of `test` from the labelled bank `train`.
///
/// Shapes: `train` (n, d) with `train_labels` of length n and values below `num_classes`;
/// `test` (m, d). Returns m predictions.
pub fn knn_predict(
    train: ArrayView2<f32>,
    train_labels: &[usize],
    test: ArrayView2<f32>,
    num_classes: usize,
    config: KnnConfig,
) -> Result<Vec<usize>> {
    validate(train, train_labels, test, num_classes, config)?;
    let bank = l2_normalize_rows(train);
    let queries = l2_normalize_rows(test);
    let k = config.k.min(bank.nrows());
    let inv_t = 1.0 / config.temperature;
    let mut predictions = vec![0; queries.nrows()];
    predictions
        .par_chunks_mut(BLOCK_ROWS)
        .enumerate()
        .for_each(|(block, out)| {
            let start = block * BLOCK_ROWS;
            let rows = queries.slice(s![start..start + out.len(), ..]);
            let sims = rows.dot(&bank.t());
            let mut order: Vec<usize> = (0..bank.nrows()).collect();
            let mut scores = vec![0f32; num_classes];
            for (row, slot) in sims.axis_iter(Axis(0)).zip(out.iter_mut()) {
                // Partial selection of the k most similar; ties by lower index keep it deterministic.
                let by_similarity =
                    |&a: &usize, &b: &usize| row[b].total_cmp(&row[a]).then(a.cmp(&b));
                order.iter_mut().enumerate().for_each(|(i, o)| *o = i);
                if k < order.len() {
                    order.select_nth_unstable_by(k - 1, by_similarity);
                }
                scores.iter_mut().for_each(|v| *v = 0.0);
                for &j in &order[..k] {
                    // exp((s - 1) / T) = exp(s / T) e^{-1/T}: the same vote, never overflowing.
                    scores[train_labels[j]] += ((row[j] - 1.0) * inv_t).exp();
                }
                *slot = argmax(&scores);
            }
        });
    Ok(predictions)
}

/// Top-1 accuracy of [`knn_predict`] against `test_labels`.
pub fn knn_accuracy(
    train: ArrayView2<f32>,
    train_labels: &[usize],
    test: ArrayView2<f32>,
    test_labels: &[usize],
    num_classes: usize,
    config: KnnConfig,
) -> Result<f64> {
    if test_labels.len() != test.nrows() {
        return Err(Error::LabelCount {
            what: "kNN test labels",
            expected: test.nrows(),
            got: test_labels.len(),
        });
    }
    let predictions = knn_predict(train, train_labels, test, num_classes, config)?;
    Ok(accuracy(&predictions, test_labels))
}

/// Fraction of equal entries.
pub fn accuracy(predictions: &[usize], labels: &[usize]) -> f64 {
    let hits = predictions
        .iter()
        .zip(labels)
        .filter(|(p, l)| p == l)
        .count();
    hits as f64 / labels.len().max(1) as f64
}

fn validate(
    train: ArrayView2<f32>,
    train_labels: &[usize],
    test: ArrayView2<f32>,
    num_classes: usize,
    config: KnnConfig,
) -> Result<()> {
    if train.nrows() == 0 || test.nrows() == 0 {
        return Err(Error::Empty(
            "kNN needs a non-empty training bank and test set",
        ));
    }
    if train.ncols() != test.ncols() {
        return Err(Error::Shape {
            what: "kNN features",
            expected: vec![test.nrows(), train.ncols()],
            got: test.shape().to_vec(),
        });
    }
    if train_labels.len() != train.nrows() {
        return Err(Error::LabelCount {
            what: "kNN training labels",
            expected: train.nrows(),
            got: train_labels.len(),
        });
    }
    if let Some(&bad) = train_labels.iter().find(|&&l| l >= num_classes) {
        return Err(Error::LabelRange {
            label: bad,
            num_classes,
        });
    }
    if config.k == 0 || !(config.temperature > 0.0 && config.temperature.is_finite()) {
        return Err(Error::Config(format!(
            "kNN needs k >= 1 and a finite temperature > 0, got k = {}, T = {}",
            config.k, config.temperature
        )));
    }
    if train.iter().chain(test.iter()).any(|v| !v.is_finite()) {
        return Err(Error::NonFinite("kNN features"));
    }
    Ok(())
}

fn argmax(scores: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in scores.iter().enumerate() {
        if v > scores[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};
    use proptest::prelude::*;

    /// Brute force: full sort of all similarities, then the weighted vote.
    fn reference(
        train: &Array2<f32>,
        labels: &[usize],
        q: &[f32],
        classes: usize,
        c: KnnConfig,
    ) -> usize {
        let qn: f32 = q.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        let mut sims: Vec<(f32, usize)> = train
            .axis_iter(Axis(0))
            .enumerate()
            .map(|(j, r)| {
                let rn = r.dot(&r).sqrt().max(1e-12);
                let dot: f32 = r.iter().zip(q).map(|(a, b)| a * b).sum();
                (dot / (rn * qn), j)
            })
            .collect();
        sims.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut scores = vec![0f32; classes];
        for &(s, j) in sims.iter().take(c.k) {
            scores[labels[j]] += ((s - 1.0) / c.temperature).exp();
        }
        argmax(&scores)
    }

    #[test]
    fn separable_clusters_are_classified_exactly() {
        let train = array![[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]];
        let test = array![[2.0, 0.1], [0.05, 3.0]];
        let config = KnnConfig {
            k: 2,
            temperature: 0.1,
        };
        let acc =
            knn_accuracy(train.view(), &[0, 0, 1, 1], test.view(), &[0, 1], 2, config).unwrap();
        assert_eq!(acc, 1.0);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let train = array![[1.0, 0.0], [0.0, 1.0]];
        let test = array![[1.0, 0.0, 0.0]];
        let c = KnnConfig::INSTDISC;
        assert!(matches!(
            knn_predict(train.view(), &[0, 1], test.view(), 2, c),
            Err(Error::Shape { .. })
        ));
        assert!(matches!(
            knn_predict(train.view(), &[0], train.view(), 2, c),
            Err(Error::LabelCount { .. })
        ));
        assert!(matches!(
            knn_predict(train.view(), &[0, 5], train.view(), 2, c),
            Err(Error::LabelRange { .. })
        ));
        let zero_t = KnnConfig {
            k: 1,
            temperature: 0.0,
        };
        assert!(matches!(
            knn_predict(train.view(), &[0, 1], train.view(), 2, zero_t),
            Err(Error::Config(_))
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn matches_brute_force(n in 1usize..40, m in 1usize..10, d in 1usize..6, k in 1usize..50,
                               seed in any::<u64>()) {
            use rand::{Rng, SeedableRng};
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let train = Array2::from_shape_fn((n, d), |_| rng.random_range(-1.0f32..1.0));
            let test = Array2::from_shape_fn((m, d), |_| rng.random_range(-1.0f32..1.0));
            let labels: Vec<usize> = (0..n).map(|_| rng.random_range(0..3)).collect();
            let c = KnnConfig { k, temperature: 0.1 };
            let got = knn_predict(train.view(), &labels, test.view(), 3, c).unwrap();
            for (i, row) in test.axis_iter(Axis(0)).enumerate() {
                let q: Vec<f32> = row.to_vec();
                prop_assert_eq!(got[i], reference(&train, &labels, &q, 3, c));
            }
        }
    }
}
