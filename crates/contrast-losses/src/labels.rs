//! Label bookkeeping shared by the supervised losses: who is whose positive and negative.
//!
//! Positives of anchor `i`: `P(i) = {j != i : y_j = y_i}`; negatives: `{k : y_k != y_i}`
//! (the pytorch-metric-learning convention of `GenericPairLoss` with labels).

use crate::error::{Error, Result};
use crate::logits::LogitMatrix;
use crate::output::{LossGrad, SoftmaxConfig};
use crate::validate::{self, cast};
use ndarray::{ArrayView2, ArrayViewMut1, NdFloat};

/// Checks one label per row and that some pair of rows has different labels.
pub(crate) fn check(what: &'static str, labels: &[usize], rows: usize) -> Result<()> {
    validate::labels(labels, rows)?;
    if labels.iter().all(|&y| y == labels[0]) {
        return Err(Error::NoNegative { what, rows });
    }
    Ok(())
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

/// The driver of the label softmax losses: checks, the logit matrix, a per-row rule filling `dS` in place (given the
/// row, the anchor index and the weight `w`), then the common backward. `what` and
/// `z_what` name the loss and its input in errors.
pub(crate) fn per_anchor<A: NdFloat>(
    (what, z_what): (&'static str, &'static str),
    z: ArrayView2<A>,
    labels: &[usize],
    config: &SoftmaxConfig,
    averaged: impl Fn(&[usize]) -> Result<usize>,
    rule: impl Fn(ArrayViewMut1<A>, usize, A) -> A + Sync,
) -> Result<LossGrad<A>> {
    validate::embeddings(z_what, &z)?;
    validate::temperature::<A>(config.temperature)?;
    check(what, labels, z.nrows())?;
    let w = cast::<A>(1.0 / averaged(labels)?.max(1) as f64);
    let sim = LogitMatrix::new(z, config.temperature, config.normalize);
    // The rule already weights dS by w; the loss sum is scaled once here.
    Ok(sim.reduce_rows(w, |row, i| rule(row, i, w)))
}
