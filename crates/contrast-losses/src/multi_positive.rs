//! Two more readings of "NT-Xent with several positives", each a named function.
//! (The third, SupCon `L_out`, is [`crate::supcon()`].) Positives and negatives follow the
//! labels: `P(i) = {j != i : y_j = y_i}`, `N(i) = {k : y_k != y_i}`, `s_ij = zn_i . zn_j / T`.
//!
//! **One softmax per positive pair** ([`nt_xent_pairs`]), the anchor's other positives left
//! out of the denominator:
//! ```text
//! l_ip = -s_ip + log(exp(s_ip) + sum_{k in N(i)} exp(s_ik))     for every ordered pair (i, p)
//! loss = mean over all positive pairs
//! ```
//! Equals pytorch-metric-learning `NTXentLoss(temperature=T)(z, labels)`.
//!
//! **Positives summed inside the log** ([`positives_in_log`]), the solo-learn / VISSL form:
//! ```text
//! l_i  = -log sum_{p in P(i)} exp(s_ip) + log sum_{k != i} exp(s_ik)
//! loss = mean over the anchors with a positive
//! ```
//! Both reduce to NT-Xent for two views with labels `[0..N, 0..N]`.
//!
//! **Anchors without a positive** follow [`SoftmaxConfig::no_positive`]: with
//! [`crate::NoPositive::Skip`] (default) such an anchor has no pair (no term in the mean) and is
//! listed in [`LabelLossGrad::skipped`]; a batch without any positive gives 0 and a zero
//! gradient (the empty mean, as the peer). [`crate::NoPositive::Error`] refuses the batch with
//! [`crate::Error::NoPositive`] naming the first such anchor.

use crate::error::Result;
use crate::labels;
use crate::log_sum_exp::log_sum_exp;
use crate::output::{LabelLossGrad, SoftmaxConfig};
use ndarray::{ArrayView2, NdFloat};

/// pytorch-metric-learning `NTXentLoss` with labels: one softmax term per positive pair.
///
/// # Errors
/// Empty or non-finite `z`, a label count other than n, all labels equal, bad temperature,
/// or (with [`crate::NoPositive::Error`]) an anchor without a positive.
pub fn nt_xent_pairs<A: NdFloat>(
    z: ArrayView2<A>,
    labels: &[usize],
    config: &SoftmaxConfig,
) -> Result<LabelLossGrad<A>> {
    let pairs = |counts: &[usize]| counts.iter().sum();
    labels::per_anchor(
        ("nt_xent_pairs", "nt_xent_pairs z"),
        z,
        labels,
        config,
        pairs,
        |mut row, i, w| {
            let neg = |j: usize| labels[j] != labels[i];
            let neg_lse = log_sum_exp(
                row.iter()
                    .enumerate()
                    .filter(|&(j, _)| neg(j))
                    .map(|(_, &x)| x),
            );
            // Per pair: lse_ip = logaddexp(s_ip, neg_lse). c = sum_p exp(neg_lse - lse_ip) collects
            // each pair's share of the negatives' softmax, so the row costs O(n).
            let mut loss = A::zero();
            let mut c = A::zero();
            for (j, x) in row.iter_mut().enumerate() {
                if labels::is_positive(labels, i, j) {
                    let lse = log_sum_exp([*x, neg_lse].into_iter());
                    loss += lse - *x;
                    c += (neg_lse - lse).exp();
                    *x = w * ((*x - lse).exp() - A::one());
                }
            }
            for (j, x) in row.iter_mut().enumerate() {
                if neg(j) {
                    *x = w * c * (*x - neg_lse).exp();
                } else if !labels::is_positive(labels, i, j) {
                    *x = A::zero();
                }
            }
            loss
        },
    )
}

/// The solo-learn / VISSL form: all positives summed inside one log.
///
/// # Errors
/// As [`nt_xent_pairs`].
pub fn positives_in_log<A: NdFloat>(
    z: ArrayView2<A>,
    labels: &[usize],
    config: &SoftmaxConfig,
) -> Result<LabelLossGrad<A>> {
    let all_anchors = |counts: &[usize]| counts.iter().filter(|&&c| c > 0).count();
    labels::per_anchor(
        ("positives_in_log", "positives_in_log z"),
        z,
        labels,
        config,
        all_anchors,
        |mut row, i, w| {
            let pos = |j: usize| labels::is_positive(labels, i, j);
            let all = log_sum_exp(
                row.iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(_, &x)| x),
            );
            let num = log_sum_exp(
                row.iter()
                    .enumerate()
                    .filter(|&(j, _)| pos(j))
                    .map(|(_, &x)| x),
            );
            for (j, x) in row.iter_mut().enumerate() {
                *x = if j == i {
                    A::zero()
                } else {
                    let own = if pos(j) { (*x - num).exp() } else { A::zero() };
                    w * ((*x - all).exp() - own)
                };
            }
            all - num
        },
    )
}
