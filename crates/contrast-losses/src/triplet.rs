//! Triplet margin losses (Weinberger and Saul 2009; Schroff et al. 2015), in two forms.
//!
//! **Explicit triplets** ([`triplet_margin`]), torch's functional form:
//! ```text
//! a, p, n: (B, D)
//! l_i = max(||a_i - p_i + eps||_2 - ||a_i - n_i + eps||_2 + margin, 0),   eps = 1e-6
//! loss = mean_i l_i | sum_i l_i | (none: the vector l)
//! ```
//! Equals `torch.nn.functional.triplet_margin_loss(a, p, n, margin, p=2, eps=1e-6,
//! reduction)`; rows are not normalised. At the hinge (`l_i = 0` exactly) the gradient is
//! taken from the active side, as torch's `clamp_min`.
//!
//! **All triplets from labels** ([`triplet_margin_labels`]), pytorch-metric-learning's form:
//! ```text
//! d_ij = ||zn_i - zn_j||_2 on L2-normalised rows (unsquared)
//! every (a, p, n) with a != p, y_p = y_a, y_n != y_a:  l_apn = max(d_ap - d_an + margin, 0)
//! loss = mean of the l_apn > 0   (0 if none; or the mean over all triplets)
//! ```
//! Equals `pytorch_metric_learning.losses.TripletMarginLoss(margin)(z, labels)` (its
//! default `AvgNonZeroReducer`). Switches: plain mean, no normalisation. An anchor without
//! a positive has no triplet; [`LabelTripletConfig::no_positive`] says whether that is
//! skipped and reported (default) or an error.

use crate::error::Result;
use crate::labels;
use crate::output::{LabelLossGrad, NoPositive, PerSample, Reduction};
use crate::validate::{self, cast};
use contrast_linalg::PairDistances;
use ndarray::{Array1, Array2, ArrayView2, NdFloat};

/// Settings of [`triplet_margin`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TripletConfig {
    /// Margin (torch default 1.0).
    pub margin: f64,
    /// Added to each difference vector before the norm (torch: 1e-6).
    pub eps: f64,
    /// How the per-triplet losses combine.
    pub reduction: Reduction,
}

impl Default for TripletConfig {
    fn default() -> Self {
        Self {
            margin: 1.0,
            eps: 1e-6,
            reduction: Reduction::Mean,
        }
    }
}

/// Explicit-triplet loss and the three gradients.
#[derive(Clone, Debug, PartialEq)]
pub struct TripletGrad<A> {
    /// The reduced loss (the sum for [`Reduction::None`]).
    pub loss: A,
    /// Per-triplet losses `l_i`.
    pub losses: PerSample<A>,
    /// `d loss / d anchor`.
    pub grad_anchor: Array2<A>,
    /// `d loss / d positive`.
    pub grad_positive: Array2<A>,
    /// `d loss / d negative`.
    pub grad_negative: Array2<A>,
}

/// torch's `triplet_margin_loss` with p = 2.
///
/// # Errors
/// Empty or non-finite inputs, shapes that differ, a non-finite margin or eps < 0.
pub fn triplet_margin<A: NdFloat>(
    anchor: ArrayView2<A>,
    positive: ArrayView2<A>,
    negative: ArrayView2<A>,
    config: &TripletConfig,
) -> Result<TripletGrad<A>> {
    validate::embeddings("triplet anchor", &anchor)?;
    validate::same_shape("triplet positive", &anchor, &positive)?;
    validate::same_shape("triplet negative", &anchor, &negative)?;
    validate::embeddings("triplet positive", &positive)?;
    validate::embeddings("triplet negative", &negative)?;
    validate::parameter::<A>("margin", config.margin, "finite", |_| true)?;
    validate::parameter::<A>("eps", config.eps, ">= 0", |e| e >= 0.0)?;
    let b = anchor.nrows();
    let (margin, eps) = (cast::<A>(config.margin), cast::<A>(config.eps));
    let w = cast::<A>(config.reduction.weight(b));
    let mut losses = Array1::zeros(b);
    let mut ga = Array2::zeros(anchor.raw_dim());
    let mut gp = Array2::zeros(anchor.raw_dim());
    let mut gn = Array2::zeros(anchor.raw_dim());
    for i in 0..b {
        let dp = &anchor.row(i) - &positive.row(i) + eps;
        let dn = &anchor.row(i) - &negative.row(i) + eps;
        let (np, nn) = (dp.dot(&dp).sqrt(), dn.dot(&dn).sqrt());
        let l = np - nn + margin;
        if l < A::zero() {
            continue;
        }
        losses[i] = l;
        // d||v|| / dv = v / ||v||, and 0 at v = 0 (torch's norm backward).
        let unit = |v: &Array1<A>, norm: A| {
            if norm > A::zero() {
                v / norm
            } else {
                v * A::zero()
            }
        };
        let (up, un) = (unit(&dp, np) * w, unit(&dn, nn) * w);
        ga.row_mut(i).assign(&(&up - &un));
        gp.row_mut(i).assign(&up.mapv(|g| -g));
        gn.row_mut(i).assign(&un);
    }
    let loss = match config.reduction {
        Reduction::Mean => losses.sum() * w,
        Reduction::Sum | Reduction::None => losses.sum(),
    };
    Ok(TripletGrad {
        loss,
        losses,
        grad_anchor: ga,
        grad_positive: gp,
        grad_negative: gn,
    })
}

/// Which triplets [`triplet_margin_labels`] averages over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TripletMean {
    /// Only triplets with a positive loss (pytorch-metric-learning `AvgNonZeroReducer`).
    #[default]
    NonZero,
    /// Every valid triplet.
    All,
}

/// Settings of [`triplet_margin_labels`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LabelTripletConfig {
    /// Margin (pytorch-metric-learning default 0.05).
    pub margin: f64,
    /// L2-normalise rows first.
    pub normalize: bool,
    /// Which triplets the mean runs over.
    pub mean: TripletMean,
    /// What an anchor without a positive does (default: skipped and reported).
    pub no_positive: NoPositive,
}

impl Default for LabelTripletConfig {
    fn default() -> Self {
        Self {
            margin: 0.05,
            normalize: true,
            mean: TripletMean::NonZero,
            no_positive: NoPositive::Skip,
        }
    }
}

/// Triplet margin loss over every valid triplet of a labelled batch.
///
/// # Errors
/// Empty or non-finite `z`, a label count other than n, all labels equal, a bad margin,
/// or (with [`NoPositive::Error`]) an anchor without a positive.
pub fn triplet_margin_labels<A: NdFloat>(
    z: ArrayView2<A>,
    labels: &[usize],
    config: &LabelTripletConfig,
) -> Result<LabelLossGrad<A>> {
    const WHAT: &str = "triplet_margin_labels";
    validate::embeddings("triplet z", &z)?;
    labels::check(WHAT, labels, z.nrows())?;
    validate::parameter::<A>("margin", config.margin, "finite", |_| true)?;
    let skipped = labels::without_positive(WHAT, labels, config.no_positive)?;
    let pd = PairDistances::new(z, config.normalize);
    let n = z.nrows();
    let margin = cast::<A>(config.margin);
    // Active triplets only move d_ap up and d_an down; count them for the mean.
    let mut ddist = Array2::<A>::zeros((n, n));
    let (mut total, mut active, mut all) = (A::zero(), 0usize, 0usize);
    for a in 0..n {
        for p in (0..n).filter(|&p| labels::is_positive(labels, a, p)) {
            for m in (0..n).filter(|&m| labels[m] != labels[a]) {
                all += 1;
                let l = pd.dist[[a, p]] - pd.dist[[a, m]] + margin;
                if l > A::zero() {
                    total += l;
                    active += 1;
                    ddist[[a, p]] += A::one();
                    ddist[[a, m]] -= A::one();
                }
            }
        }
    }
    let count = match config.mean {
        TripletMean::NonZero => active,
        TripletMean::All => all,
    };
    let w = cast::<A>(1.0 / count.max(1) as f64);
    ddist.mapv_inplace(|x| x * w);
    Ok(LabelLossGrad {
        loss: total * w,
        grad: pd.backward(ddist.view()),
        skipped,
    })
}
