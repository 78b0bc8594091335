//! Supervised contrastive loss, SupCon `L_out` (Khosla et al. 2020).
//!
//! ```text
//! z: (n, D), labels y: (n); P(i) = {j != i : y_j = y_i}
//! s_ij = zn_i . zn_j / T
//! l_i  = -(1 / |P(i)|) sum_{p in P(i)} (s_ip - log sum_{k != i} exp(s_ik))
//! loss = mean of l_i over the anchors with |P(i)| > 0   (default, = pytorch-metric-learning)
//!      or mean over all n anchors, l_i = 0 when P(i) is empty   (`average_all_anchors`)
//!
//! dS_ij = w (softmax_i(s)_j - [j in P(i)] / |P(i)|),  w = 1 / (anchors averaged)
//! ```
//! Equals pytorch-metric-learning `SupConLoss(temperature=T)(z, labels)` (its
//! `AvgNonZeroReducer` drops exactly the anchors without positives). With two views per
//! sample and labels `[0..N, 0..N]` it reduces to NT-Xent.
//!
//! **Anchors without a positive** (a class seen once in the batch) follow
//! [`SupConConfig::no_positive`]: [`NoPositive::Skip`] (default) gives them no term, leaves
//! them out of the mean (counted in it with `l_i = 0` under `average_all_anchors`, the
//! authors' code) and lists them in [`LabelLossGrad::skipped`]; [`NoPositive::Error`]
//! refuses the batch. A batch with no positive pair at all gives loss 0 and a zero gradient
//! under `Skip` (the empty mean, as the peer), every anchor listed.

use crate::error::Result;
use crate::labels;
use crate::log_sum_exp::{softmax_in_place, sum_f64};
use crate::output::{LabelLossGrad, NoPositive, SoftmaxConfig};
use crate::validate::cast;
use ndarray::{ArrayView2, NdFloat};

/// Settings of [`supcon`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SupConConfig {
    /// Temperature `T > 0` (pytorch-metric-learning default 0.1, the paper 0.1).
    pub temperature: f64,
    /// L2-normalise rows first.
    pub normalize: bool,
    /// Average over all anchors instead of those with a positive.
    pub average_all_anchors: bool,
    /// What an anchor without a positive does (default: skipped and reported).
    pub no_positive: NoPositive,
}

impl Default for SupConConfig {
    fn default() -> Self {
        Self {
            temperature: 0.1,
            normalize: true,
            average_all_anchors: false,
            no_positive: NoPositive::Skip,
        }
    }
}

impl SupConConfig {
    /// Defaults with temperature `t`.
    pub fn new(temperature: f64) -> Self {
        Self {
            temperature,
            ..Self::default()
        }
    }
    /// Turns row normalisation on or off.
    pub fn normalize(mut self, on: bool) -> Self {
        self.normalize = on;
        self
    }
    /// Averages over all anchors (`true`) or only those with a positive (`false`).
    pub fn average_all_anchors(mut self, on: bool) -> Self {
        self.average_all_anchors = on;
        self
    }
    /// Sets what an anchor without a positive does.
    pub fn no_positive(mut self, policy: NoPositive) -> Self {
        self.no_positive = policy;
        self
    }
}

/// SupCon loss of embeddings `z` (n, D) with one class label per row, and `d loss / d z`.
///
/// # Errors
/// Empty or non-finite `z`, a label count other than n, all labels equal (no negative),
/// a bad temperature, or (with [`NoPositive::Error`]) an anchor without a positive.
pub fn supcon<A: NdFloat>(
    z: ArrayView2<A>,
    labels: &[usize],
    config: &SupConConfig,
) -> Result<LabelLossGrad<A>> {
    let averaged = |counts: &[usize]| {
        if config.average_all_anchors {
            counts.len()
        } else {
            counts.iter().filter(|&&c| c > 0).count()
        }
    };
    let softmax = SoftmaxConfig {
        temperature: config.temperature,
        normalize: config.normalize,
        no_positive: config.no_positive,
    };
    labels::per_anchor(
        ("supcon", "supcon z"),
        z,
        labels,
        &softmax,
        averaged,
        |mut row, i, w| {
            let positive = |j: usize| labels::is_positive(labels, i, j);
            let count = row.iter().enumerate().filter(|&(j, _)| positive(j)).count();
            let inv_p = A::one() / cast::<A>(count as f64);
            let pos_sum = sum_f64(
                row.iter()
                    .enumerate()
                    .filter(|&(j, _)| positive(j))
                    .map(|(_, &x)| x),
            );
            let lse = softmax_in_place(row.view_mut(), i);
            for (j, x) in row.iter_mut().enumerate() {
                let target = if positive(j) { inv_p } else { A::zero() };
                *x = w * (*x - target);
            }
            lse - pos_sum * inv_p
        },
    )
}
