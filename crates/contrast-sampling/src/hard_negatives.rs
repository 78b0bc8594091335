//! Hard-negative mining: per anchor, the `k` most similar negatives.
//!
//! For anchor `a_i` and candidates `c_j` with similarity `s_ij` (cosine by default, see
//! [`Similarity`]), the result holds for each `i` the `k` indices `j` with
//! `rule.is_negative(i, j)` and the largest `s_ij`, best first. **Ties** are broken by the
//! lower candidate index, so the result is one exact, deterministic set: order by
//! `(s_ij descending, j ascending)` and take the first `k`.
//!
//! [`hardest_negatives`] is the blocked version: rayon runs over blocks of `block_rows`
//! anchors; each block walks the candidates in blocks of `block_cols`, computes that
//! `(block_rows, block_cols)` tile of similarities with one matrix product and folds it into
//! per-anchor sorted lists of length `k`. The full `(n, m)` similarity matrix never exists:
//! extra memory is `O(n k + threads * block_rows * block_cols)` beside the normalised copies
//! of the inputs. [`hardest_negatives_dense`] builds the whole matrix first (`n m` floats:
//! 1 GiB of f32 at 16,384 x 16,384) and is kept as the reference and for small batches.
//!
//! Semi-hard negatives (FaceNet) are mined per anchor-positive pair by
//! [`crate::triplets::batch_semi_hard`]; distance-weighted sampling is in
//! [`crate::distance_weighted`].

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, NdFloat, linalg::general_mat_mul, s};
use rayon::prelude::*;

use crate::error::{Error, Result, check_embeddings, invalid};
use crate::layout::{PairRule, check_rule_shape};

/// How two embedding rows are compared when mining.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Similarity {
    /// Cosine similarity `zn_i . zn_j`, each row L2-normalised first
    /// ([`contrast_linalg::l2_normalize_rows`]).
    #[default]
    Cosine,
    /// Raw dot product `z_i . z_j` (for embeddings that are already normalised, or logits).
    Dot,
}

/// Rows prepared for `similarity`: normalised for cosine, as given for dot.
fn prepare<A: NdFloat>(x: ArrayView2<'_, A>, similarity: Similarity) -> Array2<A> {
    match similarity {
        Similarity::Cosine => contrast_linalg::l2_normalize_rows(x),
        Similarity::Dot => x.to_owned(),
    }
}

/// Settings of the top-k miners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopKConfig {
    /// Negatives kept per anchor.
    pub k: usize,
    /// How rows are compared.
    pub similarity: Similarity,
    /// Anchors per block (the unit of parallel work).
    pub block_rows: usize,
    /// Candidates per block (the width of one similarity tile).
    pub block_cols: usize,
}

impl TopKConfig {
    /// `k` negatives by cosine similarity, tiles of 256 x 2048 (2 MiB of f32 per thread).
    pub fn new(k: usize) -> Self {
        Self {
            k,
            similarity: Similarity::Cosine,
            block_rows: 256,
            block_cols: 2048,
        }
    }

    fn validate(&self) -> Result<()> {
        if self.k == 0 {
            return Err(invalid("k", self.k, "must be at least 1"));
        }
        if self.block_rows == 0 || self.block_cols == 0 {
            let size = format!("{}x{}", self.block_rows, self.block_cols);
            return Err(invalid("block size", size, "blocks must be non-empty"));
        }
        Ok(())
    }
}

/// The `k` hardest negatives of each anchor.
#[derive(Debug, Clone, PartialEq)]
pub struct TopK<A> {
    /// `(anchors, k)` candidate indices, most similar first.
    pub indices: Array2<usize>,
    /// `(anchors, k)` their similarities.
    pub scores: Array2<A>,
}

/// The best `k` `(score, index)` seen so far for one anchor, sorted best first. It holds
/// `min(k, negatives seen)` items, so a short list at the end means too few negatives.
#[derive(Debug, Clone)]
struct Best<A> {
    items: Vec<(A, usize)>,
}

/// `(s, j)` ranks before `(t, i)`: higher similarity, then lower index.
fn ranks_before<A: NdFloat>((s, j): (A, usize), (t, i): (A, usize)) -> bool {
    s > t || (s == t && j < i)
}

impl<A: NdFloat> Best<A> {
    fn new(k: usize) -> Self {
        Self {
            items: Vec::with_capacity(k + 1),
        }
    }

    /// `false` when `item` cannot enter the list. Checked before the (costlier) rule: once
    /// the list is full, almost every candidate is rejected by this one comparison.
    fn admits(&self, item: (A, usize), k: usize) -> bool {
        self.items.len() < k || ranks_before(item, self.items[k - 1])
    }

    fn insert(&mut self, item: (A, usize), k: usize) {
        let at = self.items.partition_point(|&held| ranks_before(held, item));
        self.items.insert(at, item);
        self.items.truncate(k);
    }
}

/// Folds one tile of similarities (anchors `row0..`, candidates `col0..`) into `bests`.
fn fold_tile<A: NdFloat>(
    tile: ArrayView2<'_, A>,
    (row0, col0): (usize, usize),
    rule: &impl PairRule,
    k: usize,
    bests: &mut [Best<A>],
) {
    for (r, (row, best)) in tile.outer_iter().zip(bests.iter_mut()).enumerate() {
        for (c, &s) in row.iter().enumerate() {
            let item = (s, col0 + c);
            if best.admits(item, k) && rule.is_negative(row0 + r, col0 + c) {
                best.insert(item, k);
            }
        }
    }
}

fn check_inputs<A: NdFloat>(
    anchors: ArrayView2<'_, A>,
    candidates: ArrayView2<'_, A>,
    rule: &impl PairRule,
    config: &TopKConfig,
) -> Result<()> {
    config.validate()?;
    check_embeddings("anchors", anchors)?;
    check_embeddings("candidates", candidates)?;
    if anchors.ncols() != candidates.ncols() {
        return Err(Error::DimensionMismatch {
            what: "candidates",
            expected: anchors.ncols(),
            got: candidates.ncols(),
        });
    }
    check_rule_shape(rule, anchors.nrows(), candidates.nrows())
}

/// The rows as compared (normalised for cosine). In-batch mining passes the same view
/// twice; it is then prepared once, which halves the `O(n d)` copy.
struct Prepared<A> {
    anchors: Array2<A>,
    candidates: Option<Array2<A>>,
}

impl<A: NdFloat> Prepared<A> {
    fn new(
        anchors: ArrayView2<'_, A>,
        candidates: ArrayView2<'_, A>,
        similarity: Similarity,
    ) -> Self {
        let same = anchors.as_ptr() == candidates.as_ptr()
            && anchors.dim() == candidates.dim()
            && anchors.strides() == candidates.strides();
        Self {
            anchors: prepare(anchors, similarity),
            candidates: (!same).then(|| prepare(candidates, similarity)),
        }
    }

    fn anchors(&self) -> ArrayView2<'_, A> {
        self.anchors.view()
    }

    fn candidates(&self) -> ArrayView2<'_, A> {
        self.candidates.as_ref().unwrap_or(&self.anchors).view()
    }
}

/// Turns per-anchor lists into a [`TopK`], failing when an anchor had fewer than `k`.
fn collect<A: NdFloat>(bests: Vec<Best<A>>, k: usize) -> Result<TopK<A>> {
    if let Some((anchor, best)) = bests.iter().enumerate().find(|(_, b)| b.items.len() < k) {
        return Err(Error::TooFewCandidates {
            anchor,
            available: best.items.len(),
            requested: k,
        });
    }
    let n = bests.len();
    let mut indices = Array2::zeros((n, k));
    let mut scores = Array2::zeros((n, k));
    for (i, best) in bests.iter().enumerate() {
        for (c, &(s, j)) in best.items.iter().enumerate() {
            indices[[i, c]] = j;
            scores[[i, c]] = s;
        }
    }
    Ok(TopK { indices, scores })
}

/// Blocked top-k hardest negatives: never holds the full similarity matrix.
///
/// `anchors` is `(n, d)`, `candidates` `(m, d)` (pass the same matrix twice for in-batch
/// mining with a [`crate::layout::PairLayout`] as the rule). Fails on empty or non-finite
/// inputs, a dimension mismatch, a rule of another shape, or an anchor with fewer than `k`
/// negatives ([`Error::TooFewCandidates`]).
pub fn hardest_negatives<A: NdFloat>(
    anchors: ArrayView2<'_, A>,
    candidates: ArrayView2<'_, A>,
    rule: &impl PairRule,
    config: &TopKConfig,
) -> Result<TopK<A>> {
    check_inputs(anchors, candidates, rule, config)?;
    let prepared = Prepared::new(anchors, candidates, config.similarity);
    let (q, c) = (prepared.anchors(), prepared.candidates());
    let (k, width) = (config.k, config.block_cols.min(c.nrows()));
    let per_block: Vec<Vec<Best<A>>> = q
        .axis_chunks_iter(Axis(0), config.block_rows)
        .into_par_iter()
        .enumerate()
        .map(|(b, q_block)| {
            let row0 = b * config.block_rows;
            let mut tile = Array2::zeros((q_block.nrows(), width));
            let mut bests = vec![Best::new(k); q_block.nrows()];
            for (cb, c_block) in c.axis_chunks_iter(Axis(0), width).enumerate() {
                let mut t = tile.slice_mut(s![.., ..c_block.nrows()]);
                general_mat_mul(A::one(), &q_block, &c_block.t(), A::zero(), &mut t);
                fold_tile(t.view(), (row0, cb * width), rule, k, &mut bests);
            }
            bests
        })
        .collect();
    collect(per_block.into_iter().flatten().collect(), k)
}

/// Dense reference: computes the full `(n, m)` similarity matrix (in parallel row strips),
/// then selects per anchor. Same result as [`hardest_negatives`], bit for bit, at
/// `n m` floats of extra memory.
pub fn hardest_negatives_dense<A: NdFloat>(
    anchors: ArrayView2<'_, A>,
    candidates: ArrayView2<'_, A>,
    rule: &impl PairRule,
    config: &TopKConfig,
) -> Result<TopK<A>> {
    check_inputs(anchors, candidates, rule, config)?;
    let prepared = Prepared::new(anchors, candidates, config.similarity);
    let (q, c) = (prepared.anchors(), prepared.candidates());
    let mut sims = Array2::zeros((q.nrows(), c.nrows()));
    let strip = config.block_rows;
    sims.axis_chunks_iter_mut(Axis(0), strip)
        .into_par_iter()
        .zip(q.axis_chunks_iter(Axis(0), strip).into_par_iter())
        .for_each(|(mut out, q_strip): (ArrayViewMut2<'_, A>, _)| {
            general_mat_mul(A::one(), &q_strip, &c.t(), A::zero(), &mut out);
        });
    let bests: Vec<Best<A>> = sims
        .outer_iter()
        .into_par_iter()
        .enumerate()
        .map(|(i, row)| {
            let mut best = [Best::new(config.k)];
            fold_tile(row.insert_axis(Axis(0)), (i, 0), rule, config.k, &mut best);
            let [best] = best;
            best
        })
        .collect();
    collect(bests, config.k)
}
