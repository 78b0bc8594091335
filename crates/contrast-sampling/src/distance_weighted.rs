//! Distance-weighted negative sampling (Wu, Manmatha, Smola, Krähenbühl 2017,
//! "Sampling Matters in Deep Embedding Learning").
//!
//! On the unit sphere in `R^n`, the distance `d` between two uniformly random points has
//! density `q(d) ∝ d^(n-2) (1 - d^2/4)^((n-3)/2)`. Sampling negatives with probability
//! `∝ 1/q(d)` spreads them evenly over distances instead of concentrating at `d ≈ sqrt 2`.
//! As in the authors' code, each distance is first clipped to at least `cutoff` (0.5, which
//! bounds the weight of very close pairs, the paper's `min(λ, q^-1)`), and negatives at
//! `d >= nonzero_loss_cutoff` (1.4) get weight 0 because they give no loss. Weights are
//! computed in log space and shifted by their maximum, so large `n` does not overflow:
//!
//! `log w_ij = -(n - 2) ln d - ((n - 3)/2) ln(1 - d^2/4)`, `d = max(d_ij, cutoff)`.
//!
//! Rows are L2-normalised first; `n` is the embedding dimension. When every negative of an
//! anchor has weight 0, that anchor falls back to uniform sampling over its negatives (the
//! authors' code fell back to uniform over all rows, negatives or not).

use ndarray::{Array1, Array2, ArrayView2, NdFloat};
use rand::Rng;

use contrast_linalg::{l2_normalize_rows, pairwise_distances};

use crate::error::{Error, Result, check_embeddings, invalid};
use crate::layout::{PairRule, check_rule_shape};

/// Settings of distance-weighted sampling; [`Default`] gives the paper's values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DistanceWeighted {
    /// Distances below this are clipped up to it (default 0.5).
    pub cutoff: f64,
    /// Negatives at or beyond this distance get weight 0 (default 1.4).
    pub nonzero_loss_cutoff: f64,
}

impl Default for DistanceWeighted {
    fn default() -> Self {
        Self {
            cutoff: 0.5,
            nonzero_loss_cutoff: 1.4,
        }
    }
}

impl DistanceWeighted {
    fn validate(&self) -> Result<()> {
        if !(self.cutoff > 0.0 && self.cutoff < 2.0) {
            return Err(invalid("cutoff", self.cutoff, "must lie in (0, 2)"));
        }
        if self.nonzero_loss_cutoff.is_nan() || self.nonzero_loss_cutoff <= self.cutoff {
            return Err(invalid(
                "nonzero_loss_cutoff",
                self.nonzero_loss_cutoff,
                "must exceed cutoff",
            ));
        }
        Ok(())
    }

    /// Unnormalised log weight `-log q(d)` for one distance in dimension `dim`.
    pub fn log_inverse_density(&self, d: f64, dim: usize) -> f64 {
        let n = dim as f64;
        // Clip to the sphere's diameter too: 1 - d^2/4 must stay > 0 for the logarithm.
        let d = d.max(self.cutoff).min(2.0 - 1e-6);
        -(n - 2.0) * d.ln() - ((n - 3.0) / 2.0) * (1.0 - 0.25 * d * d).ln()
    }

    /// Sampling probabilities of the candidates of `anchor`: row of the `(n, n)`
    /// distances `dist`, embedding dimension `dim`. Non-negatives get 0. Returns `None`
    /// when the anchor has no negative at all.
    pub fn weights<A: NdFloat>(
        &self,
        dist: ArrayView2<'_, A>,
        anchor: usize,
        dim: usize,
        rule: &impl PairRule,
    ) -> Option<Array1<f64>> {
        let row = dist.row(anchor);
        let negative = |j: usize| rule.is_negative(anchor, j);
        let in_support = |j: usize| {
            negative(j)
                && row[j]
                    .to_f64()
                    .is_some_and(|d| d < self.nonzero_loss_cutoff)
        };
        let log_w = |j: usize| self.log_inverse_density(row[j].to_f64().unwrap_or(2.0), dim);
        let max = (0..row.len())
            .filter(|&j| in_support(j))
            .map(log_w)
            .fold(f64::NEG_INFINITY, f64::max);
        let mut w = if max.is_finite() {
            Array1::from_shape_fn(row.len(), |j| {
                if in_support(j) {
                    (log_w(j) - max).exp()
                } else {
                    0.0
                }
            })
        } else {
            Array1::from_shape_fn(row.len(), |j| if negative(j) { 1.0 } else { 0.0 })
        };
        let total = w.sum();
        (total > 0.0).then(|| {
            w /= total;
            w
        })
    }
}

/// Draws one index from probabilities `p` (summing to 1) by inverse CDF on one uniform
/// number; zero-probability entries are never drawn.
pub fn draw_index(p: &Array1<f64>, rng: &mut impl Rng) -> usize {
    let u: f64 = rng.random::<f64>();
    let mut acc = 0.0;
    let mut last = 0;
    for (j, &pj) in p.iter().enumerate() {
        if pj > 0.0 {
            acc += pj;
            last = j;
            if u < acc {
                return j;
            }
        }
    }
    // Rounding can leave `acc` a hair below 1: the last index in the support takes the rest.
    last
}

/// Samples `per_anchor` negatives for every row of `embeddings` (`(n, d)`, normalised
/// internally), with replacement, by distance-weighted sampling. Returns `(n, per_anchor)`
/// indices. Fails on bad input, a rule of another shape, or an anchor with no negative.
pub fn distance_weighted_negatives<A: NdFloat>(
    embeddings: ArrayView2<'_, A>,
    rule: &impl PairRule,
    per_anchor: usize,
    config: &DistanceWeighted,
    rng: &mut impl Rng,
) -> Result<Array2<usize>> {
    config.validate()?;
    check_embeddings("embeddings", embeddings)?;
    if per_anchor == 0 {
        return Err(invalid("per_anchor", per_anchor, "must be at least 1"));
    }
    let (n, dim) = embeddings.dim();
    check_rule_shape(rule, n, n)?;
    let dist = pairwise_distances(l2_normalize_rows(embeddings).view());
    let mut out = Array2::zeros((n, per_anchor));
    for anchor in 0..n {
        let p = config
            .weights(dist.view(), anchor, dim, rule)
            .ok_or(Error::TooFewCandidates {
                anchor,
                available: 0,
                requested: per_anchor,
            })?;
        for slot in out.row_mut(anchor).iter_mut() {
            *slot = draw_index(&p, rng);
        }
    }
    Ok(out)
}
