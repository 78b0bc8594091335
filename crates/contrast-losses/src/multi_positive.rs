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
//! Equals pytorch-metric-learning `NTXentLoss(temperature=T)(z, labels)`. A batch without
//! positive pairs gives 0 (the empty mean, as the peer).
//!
//! **Positives summed inside the log** ([`positives_in_log`]), the solo-learn / VISSL form:
//! ```text
//! l_i  = -log sum_{p in P(i)} exp(s_ip) + log sum_{k != i} exp(s_ik)
//! loss = mean over all anchors (each must have a positive)
//! ```
//! Both reduce to NT-Xent for two views with labels `[0..N, 0..N]`.

use crate::error::{Error, Result};
use crate::labels;
use crate::log_sum_exp::log_sum_exp;
use crate::output::{LossGrad, SoftmaxConfig};
use ndarray::{ArrayView2, NdFloat};

/// pytorch-metric-learning `NTXentLoss` with labels: one softmax term per positive pair.
///
/// # Errors
/// Empty or non-finite `z`, a label count other than n, all labels equal, bad temperature.
pub fn nt_xent_pairs<A: NdFloat>(
    z: ArrayView2<A>,
    labels: &[usize],
    config: &SoftmaxConfig,
) -> Result<LossGrad<A>> {
    let pairs = |y: &[usize]| Ok(labels::positive_counts(y).iter().sum());
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
/// As [`nt_xent_pairs`], and [`Error::NoPositive`] for an anchor without a positive.
pub fn positives_in_log<A: NdFloat>(
    z: ArrayView2<A>,
    labels: &[usize],
    config: &SoftmaxConfig,
) -> Result<LossGrad<A>> {
    let all_anchors = |y: &[usize]| match labels::positive_counts(y).iter().position(|&c| c == 0) {
        Some(anchor) => Err(Error::NoPositive {
            what: "positives_in_log",
            anchor,
        }),
        None => Ok(y.len()),
    };
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
