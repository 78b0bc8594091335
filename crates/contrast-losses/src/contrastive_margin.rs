//! Contrastive (margin) loss over pairs (Hadsell, Chopra and LeCun 2006).
//!
//! ```text
//! d_ij = ||zn_i - zn_j||_2 on L2-normalised rows, ordered pairs i != j
//! positive pairs (y_i = y_j):  l+_ij = max(d_ij - pos_margin, 0)
//! negative pairs (y_i != y_j): l-_ij = max(neg_margin - d_ij, 0)
//! loss = mean of the l+ > 0  +  mean of the l- > 0      (an empty set contributes 0)
//! ```
//! Equals `pytorch_metric_learning.losses.ContrastiveLoss(pos_margin, neg_margin)(z, labels)`
//! (defaults 0 and 1, `AvgNonZeroReducer` on each half).
//!
//! An anchor without a positive has no positive pair; with [`NoPositive::Skip`] (default)
//! its negative pairs still count, as in the peer (they are well defined), and the anchor
//! is listed in [`LabelLossGrad::skipped`]; [`NoPositive::Error`] refuses the batch.

use crate::error::Result;
use crate::labels;
use crate::output::{LabelLossGrad, NoPositive};
use crate::validate::{self, cast};
use contrast_linalg::PairDistances;
use ndarray::{Array2, ArrayView2, NdFloat};

/// Settings of [`contrastive_margin`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ContrastiveMarginConfig {
    /// Positive pairs are pulled until closer than this.
    pub pos_margin: f64,
    /// Negative pairs are pushed until farther than this.
    pub neg_margin: f64,
    /// L2-normalise rows first.
    pub normalize: bool,
    /// What an anchor without a positive does (default: reported, its negative pairs kept).
    pub no_positive: NoPositive,
}

impl Default for ContrastiveMarginConfig {
    fn default() -> Self {
        Self {
            pos_margin: 0.0,
            neg_margin: 1.0,
            normalize: true,
            no_positive: NoPositive::Skip,
        }
    }
}

/// Contrastive margin loss of a labelled batch and `d loss / d z`.
///
/// # Errors
/// Empty or non-finite `z`, a label count other than n, all labels equal, non-finite
/// margins, or (with [`NoPositive::Error`]) an anchor without a positive.
pub fn contrastive_margin<A: NdFloat>(
    z: ArrayView2<A>,
    labels: &[usize],
    config: &ContrastiveMarginConfig,
) -> Result<LabelLossGrad<A>> {
    const WHAT: &str = "contrastive_margin";
    validate::embeddings("contrastive z", &z)?;
    labels::check(WHAT, labels, z.nrows())?;
    validate::parameter::<A>("pos_margin", config.pos_margin, "finite", |_| true)?;
    validate::parameter::<A>("neg_margin", config.neg_margin, "finite", |_| true)?;
    let skipped = labels::without_positive(WHAT, labels, config.no_positive)?;
    let pd = PairDistances::new(z, config.normalize);
    let n = z.nrows();
    let (pm, nm) = (cast::<A>(config.pos_margin), cast::<A>(config.neg_margin));
    // Sign of d l / d d_ij for each active pair, and the two halves' sums and counts.
    let mut ddist = Array2::<A>::zeros((n, n));
    let mut half = [(A::zero(), 0usize); 2];
    for i in 0..n {
        for j in (0..n).filter(|&j| j != i) {
            let d = pd.dist[[i, j]];
            let (which, l, sign) = if labels[i] == labels[j] {
                (0, d - pm, A::one())
            } else {
                (1, nm - d, -A::one())
            };
            if l > A::zero() {
                half[which].0 += l;
                half[which].1 += 1;
                ddist[[i, j]] = sign;
            }
        }
    }
    let mean = |(sum, count): (A, usize)| sum / cast::<A>(count.max(1) as f64);
    let weight = |count: usize| A::one() / cast::<A>(count.max(1) as f64);
    let (wp, wn) = (weight(half[0].1), weight(half[1].1));
    for i in 0..n {
        for j in 0..n {
            let w = if labels[i] == labels[j] { wp } else { wn };
            ddist[[i, j]] *= w;
        }
    }
    Ok(LabelLossGrad {
        loss: mean(half[0]) + mean(half[1]),
        grad: pd.backward(ddist.view()),
        skipped,
    })
}
