//! TF-IDF on hashed features and the cosine similarity between two sets: the retrieval
//! baseline that a learned encoder must beat on the same features.
//!
//! Fitted on the training bags only (`N` bags; `df(t)` = number of them containing id `t`):
//!
//! ```text
//! idf(t)   = ln((1 + N) / (1 + df(t))) + 1          (smoothed, as scikit-learn's default)
//! w_t(x)   = tf_t(x) · idf(t)                         (tf = count of t in the bag)
//! v(x)     = w(x) / ‖w(x)‖₂                           (an empty bag stays the zero vector)
//! cos(x,y) = v(x) · v(y)
//! ```
//!
//! This equals scikit-learn's `TfidfTransformer(norm="l2", smooth_idf=True,
//! sublinear_tf=False)` applied to a count matrix over the same hashed ids (ids never seen
//! in training get the largest idf, `ln(1 + N) + 1`).
//!
//! Vectors are sparse ([`SparseVec`], ids sorted, unique). [`cosine_matrix`] returns the
//! dense `(n, m)` matrix of all cosines: `4·n·m` bytes (the 7,948-verse New Testament
//! against itself is 253 MB), so for larger sets pass `a` in row blocks. It walks an
//! inverted index of `b`, so its cost is the number of shared (row, column, id) triples,
//! not `n·m·buckets`; rows are computed in parallel, each row the same sum in the same
//! order whatever the thread count.

use crate::error::{Error, Result};
use crate::features::TokenBags;
use ndarray::Array2;
use rayon::prelude::*;

/// An L2-normalised sparse vector: `values[k]` is the weight of id `ids[k]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SparseVec {
    /// Distinct ids, increasing.
    pub ids: Vec<u32>,
    /// Weights, one per id.
    pub values: Vec<f32>,
}

impl SparseVec {
    /// Dot product of two sparse vectors (a merge of the sorted id lists).
    pub fn dot(&self, other: &SparseVec) -> f32 {
        let (mut i, mut j, mut s) = (0, 0, 0.0f64);
        while i < self.ids.len() && j < other.ids.len() {
            match self.ids[i].cmp(&other.ids[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    s += f64::from(self.values[i]) * f64::from(other.values[j]);
                    i += 1;
                    j += 1;
                }
            }
        }
        s as f32
    }
}

/// Inverse document frequencies over `buckets` ids, fitted on training bags.
#[derive(Clone, Debug)]
pub struct Tfidf {
    idf: Vec<f64>,
    documents: usize,
}

fn check_ids(bags: &TokenBags, buckets: u32) -> Result<()> {
    for (bag, ids) in bags.iter().enumerate() {
        if let Some(&id) = ids.iter().find(|&&id| id >= buckets) {
            return Err(Error::FeatureIdOutOfRange { id, bag, buckets });
        }
    }
    Ok(())
}

impl Tfidf {
    /// Fits `idf` on `train` (errors when an id is not below `buckets`).
    pub fn fit(train: &TokenBags, buckets: u32) -> Result<Self> {
        check_ids(train, buckets)?;
        let mut df = vec![0usize; buckets as usize];
        let mut seen: Vec<u32> = Vec::new();
        for bag in train.iter() {
            seen.clear();
            seen.extend_from_slice(bag);
            seen.sort_unstable();
            seen.dedup();
            for &id in &seen {
                df[id as usize] += 1;
            }
        }
        let n = train.len() as f64;
        let idf = df
            .iter()
            .map(|&d| ((1.0 + n) / (1.0 + d as f64)).ln() + 1.0)
            .collect();
        Ok(Self {
            idf,
            documents: train.len(),
        })
    }

    /// Number of training bags.
    pub fn documents(&self) -> usize {
        self.documents
    }

    /// Number of buckets.
    pub fn buckets(&self) -> u32 {
        self.idf.len() as u32
    }

    /// `idf(id)`.
    pub fn idf(&self, id: u32) -> f64 {
        self.idf[id as usize]
    }

    /// The L2-normalised TF-IDF vector of one bag (ids must be below [`Self::buckets`]).
    fn vector(&self, bag: &[u32]) -> SparseVec {
        let mut sorted = bag.to_vec();
        sorted.sort_unstable();
        let mut ids = Vec::new();
        let mut weights: Vec<f64> = Vec::new();
        for run in sorted.chunk_by(|a, b| a == b) {
            ids.push(run[0]);
            weights.push(run.len() as f64 * self.idf[run[0] as usize]);
        }
        let norm = weights.iter().map(|w| w * w).sum::<f64>().sqrt();
        let values = if norm > 0.0 {
            weights.iter().map(|w| (w / norm) as f32).collect()
        } else {
            vec![0.0; weights.len()]
        };
        SparseVec { ids, values }
    }

    /// TF-IDF vectors of `bags` (errors when an id is not below [`Self::buckets`]).
    pub fn transform(&self, bags: &TokenBags) -> Result<Vec<SparseVec>> {
        check_ids(bags, self.buckets())?;
        Ok((0..bags.len())
            .into_par_iter()
            .map(|i| self.vector(bags.bag(i)))
            .collect())
    }
}

/// All cosines `out[i, j] = a[i] · b[j]` of L2-normalised sparse vectors, dense `(n, m)`.
pub fn cosine_matrix(a: &[SparseVec], b: &[SparseVec]) -> Array2<f32> {
    // Inverted index of b: id -> (column, value), built with a counting sort by id.
    let max_id = b
        .iter()
        .flat_map(|v| v.ids.last().copied())
        .max()
        .map_or(0, |m| m as usize + 1);
    let mut start = vec![0usize; max_id + 1];
    for v in b {
        for &id in &v.ids {
            start[id as usize + 1] += 1;
        }
    }
    for k in 1..start.len() {
        start[k] += start[k - 1];
    }
    let mut fill = start.clone();
    let mut postings = vec![(0u32, 0f32); start[max_id]];
    for (col, v) in b.iter().enumerate() {
        for (&id, &val) in v.ids.iter().zip(&v.values) {
            postings[fill[id as usize]] = (col as u32, val);
            fill[id as usize] += 1;
        }
    }
    let m = b.len();
    let mut out = Array2::<f32>::zeros((a.len(), m));
    out.as_slice_mut()
        .expect("fresh array is contiguous")
        .par_chunks_mut(m.max(1))
        .zip(a.par_iter())
        .for_each(|(row, v)| {
            for (&id, &val) in v.ids.iter().zip(&v.values) {
                if (id as usize) < max_id {
                    for &(col, w) in &postings[start[id as usize]..start[id as usize + 1]] {
                        row[col as usize] += val * w;
                    }
                }
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bags(v: &[&[u32]]) -> TokenBags {
        TokenBags::from_bags(v.iter().copied())
    }

    #[test]
    fn idf_matches_the_formula() {
        // 3 documents; id 0 in all, id 1 in one, id 2 in none.
        let t = Tfidf::fit(&bags(&[&[0, 1, 1], &[0], &[0]]), 3).unwrap();
        assert!((t.idf(0) - ((4.0f64 / 4.0).ln() + 1.0)).abs() < 1e-12);
        assert!((t.idf(1) - ((4.0f64 / 2.0).ln() + 1.0)).abs() < 1e-12);
        assert!((t.idf(2) - (4.0f64.ln() + 1.0)).abs() < 1e-12);
        assert_eq!(t.documents(), 3);
    }

    #[test]
    fn vectors_are_unit_and_weighted_by_count() {
        let t = Tfidf::fit(&bags(&[&[0, 1, 1], &[0], &[0]]), 3).unwrap();
        let v = t.transform(&bags(&[&[1, 0, 1], &[]])).unwrap();
        assert_eq!(v[0].ids, [0, 1]);
        let (w0, w1) = (t.idf(0), 2.0 * t.idf(1));
        let n = (w0 * w0 + w1 * w1).sqrt();
        assert!((f64::from(v[0].values[0]) - w0 / n).abs() < 1e-6);
        assert!((f64::from(v[0].values[1]) - w1 / n).abs() < 1e-6);
        assert!((v[0].dot(&v[0]) - 1.0).abs() < 1e-6);
        assert!(v[1].ids.is_empty());
    }

    #[test]
    fn cosine_matrix_equals_pairwise_dots() {
        let t = Tfidf::fit(&bags(&[&[0, 1, 2], &[2, 3], &[4]]), 6).unwrap();
        let a = t
            .transform(&bags(&[&[0, 2, 2], &[5], &[3, 4, 4, 1]]))
            .unwrap();
        let b = t
            .transform(&bags(&[&[2], &[3, 1], &[], &[0, 2, 5]]))
            .unwrap();
        let m = cosine_matrix(&a, &b);
        assert_eq!(m.dim(), (3, 4));
        for i in 0..3 {
            for j in 0..4 {
                assert!((m[[i, j]] - a[i].dot(&b[j])).abs() < 1e-6, "{i},{j}");
            }
        }
        assert!(m[[0, 0]] > 0.5 && m[[1, 0]] == 0.0);
        assert_eq!(cosine_matrix(&a, &[]).dim(), (3, 0));
    }

    #[test]
    fn out_of_range_ids_are_errors() {
        assert!(matches!(
            Tfidf::fit(&bags(&[&[0], &[7]]), 4),
            Err(Error::FeatureIdOutOfRange {
                id: 7,
                bag: 1,
                buckets: 4
            })
        ));
        let t = Tfidf::fit(&bags(&[&[0]]), 4).unwrap();
        assert!(t.transform(&bags(&[&[4]])).is_err());
    }
}
