//! Label bookkeeping shared by the supervised losses: who is whose positive and negative.
//!
//! Positives of anchor `i`: `P(i) = {j != i : y_j = y_i}`; negatives: `{k : y_k != y_i}`
//! (the pytorch-metric-learning convention of `GenericPairLoss` with labels). An anchor
//! whose `P(i)` is empty is handled as its loss's [`NoPositive`] setting says.

use crate::error::{Error, Result};
use crate::logits::LogitMatrix;
use crate::output::{LabelLossGrad, NoPositive, SoftmaxConfig};
use crate::validate::{self, cast};
use ndarray::{Array2, ArrayView2, ArrayViewMut1, NdFloat};
use std::collections::HashMap;

/// Checks one label per row and that some pair of rows has different labels.
pub(crate) fn check(what: &'static str, labels: &[usize], rows: usize) -> Result<()> {
    validate::labels(labels, rows)?;
    if labels.iter().all(|&y| y == labels[0]) {
        return Err(Error::NoNegative { what, rows });
    }
    Ok(())
}

/// The anchors whose label occurs only once in `labels` (no positive in the batch), in
/// ascending order. A trainer can log or reject them before calling a labelled loss; the
/// labelled losses report the same list in [`LabelLossGrad::skipped`].
///
/// ```
/// assert_eq!(contrast_losses::anchors_without_positive(&[0, 1, 0, 2, 1]), vec![3]);
/// ```
pub fn anchors_without_positive(labels: &[usize]) -> Vec<usize> {
    let mut count: HashMap<usize, usize> = HashMap::new();
    for &y in labels {
        *count.entry(y).or_default() += 1;
    }
    (0..labels.len())
        .filter(|&i| count[&labels[i]] == 1)
        .collect()
}

/// The anchors without a positive, or [`Error::NoPositive`] naming the first of them
/// under [`NoPositive::Error`].
pub(crate) fn without_positive(
    what: &'static str,
    labels: &[usize],
    policy: NoPositive,
) -> Result<Vec<usize>> {
    let skipped = anchors_without_positive(labels);
    match (policy, skipped.first()) {
        (NoPositive::Error, Some(&anchor)) => Err(Error::NoPositive { what, anchor }),
        _ => Ok(skipped),
    }
}

/// `j` is a positive of `i`.
pub(crate) fn is_positive(labels: &[usize], i: usize, j: usize) -> bool {
    i != j && labels[i] == labels[j]
}

/// Number of positives of each anchor.
pub(crate) fn positive_counts(labels: &[usize]) -> Vec<usize> {
    (0..labels.len())
        .map(|i| {
            (0..labels.len())
                .filter(|&j| is_positive(labels, i, j))
                .count()
        })
        .collect()
}

/// The driver of the label softmax losses: checks (including the [`NoPositive`] policy),
/// the logit matrix, a per-row rule filling `dS` in place (given the row, the anchor index
/// and the weight `w`; it is not called for anchors without a positive, whose rows of `dS`
/// are 0), then the common backward. `averaged(counts)` is the number of terms of the mean
/// given each anchor's positive count. `what` and `z_what` name the loss and its input.
pub(crate) fn per_anchor<A: NdFloat>(
    (what, z_what): (&'static str, &'static str),
    z: ArrayView2<A>,
    labels: &[usize],
    config: &SoftmaxConfig,
    averaged: impl Fn(&[usize]) -> usize,
    rule: impl Fn(ArrayViewMut1<A>, usize, A) -> A + Sync,
) -> Result<LabelLossGrad<A>> {
    validate::embeddings(z_what, &z)?;
    validate::temperature::<A>(config.temperature)?;
    check(what, labels, z.nrows())?;
    let skipped = without_positive(what, labels, config.no_positive)?;
    let counts = positive_counts(labels);
    let terms = averaged(&counts);
    if terms == 0 {
        // No anchor has a positive: the empty mean, as the peers.
        return Ok(LabelLossGrad {
            loss: A::zero(),
            grad: Array2::zeros(z.raw_dim()),
            skipped,
        });
    }
    let w = cast::<A>(1.0 / terms as f64);
    let sim = LogitMatrix::new(z, config.temperature, config.normalize);
    // The rule already weights dS by w; the loss sum is scaled once here.
    let out = sim.reduce_rows(w, |mut row, i| {
        if counts[i] == 0 {
            row.fill(A::zero());
            return A::zero();
        }
        rule(row, i, w)
    });
    Ok(LabelLossGrad {
        loss: out.loss,
        grad: out.grad,
        skipped,
    })
}
