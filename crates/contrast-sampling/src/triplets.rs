//! Triplet miners: index triplets `(anchor, positive, negative)` for a triplet loss.
//!
//! All miners read a precomputed `(n, n)` distance matrix `d` (e.g. from
//! [`contrast_linalg::pairwise_distances`]) and a [`PairRule`] saying which rows are
//! positives and negatives of each other ([`crate::layout::Labelled`] for class labels).
//!
//! | miner | triplets |
//! |---|---|
//! | [`all_valid_triplets`] | every `(a, p, n)` with `p` a positive and `n` a negative of `a` |
//! | [`batch_hard`] (Hermans et al. 2017) | per anchor: farthest positive, nearest negative |
//! | [`batch_semi_hard`] (FaceNet, Schroff et al. 2015) | per pair `(a, p)`: nearest `n` with `d_ap < d_an < d_ap + margin` |
//! | [`easy_positive_hard_negative`] (Xuan et al. 2020) | per anchor: nearest positive, nearest negative |
//!
//! **Ties** are broken by the lower index everywhere. Anchors without a positive or without
//! a negative produce no triplet; a pair `(a, p)` without a semi-hard negative produces none.
//! Output is sorted by `(anchor, positive, negative)`.
//!
//! [`filter_by_margin`] keeps the triplets of one kind, with `m = d_an - d_ap`:
//! violating `m < margin` (non-zero hinge loss), hard `m < 0`, semi-hard `0 <= m < margin`,
//! easy `m >= margin`.

use ndarray::{ArrayView2, NdFloat};

use crate::error::{Error, Result, check_finite, invalid};
use crate::layout::{PairRule, check_rule_shape};

/// One training triplet of row indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Triplet {
    /// Anchor row.
    pub anchor: usize,
    /// A positive of the anchor.
    pub positive: usize,
    /// A negative of the anchor.
    pub negative: usize,
}

/// Which triplets [`filter_by_margin`] keeps, by `m = d_an - d_ap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarginFilter {
    /// Every triplet.
    All,
    /// `m < margin`: the hinge `max(d_ap - d_an + margin, 0)` is non-zero.
    Violating,
    /// `m < 0`: the negative is closer than the positive.
    Hard,
    /// `0 <= m < margin`.
    SemiHard,
    /// `m >= margin`: zero loss.
    Easy,
}

/// The miners, as a value (e.g. read from a config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TripletMiner {
    /// [`all_valid_triplets`].
    AllValid,
    /// [`batch_hard`].
    BatchHard,
    /// [`batch_semi_hard`] (uses the margin).
    BatchSemiHard,
    /// [`easy_positive_hard_negative`].
    EasyPositiveHardNegative,
}

impl TripletMiner {
    /// Runs this miner; `margin` is used by [`TripletMiner::BatchSemiHard`] only.
    pub fn mine<A: NdFloat>(
        self,
        dist: ArrayView2<'_, A>,
        rule: &impl PairRule,
        margin: A,
    ) -> Result<Vec<Triplet>> {
        match self {
            Self::AllValid => all_valid_triplets(dist, rule),
            Self::BatchHard => batch_hard(dist, rule),
            Self::BatchSemiHard => batch_semi_hard(dist, rule, margin),
            Self::EasyPositiveHardNegative => easy_positive_hard_negative(dist, rule),
        }
    }
}

fn check_distances<A: NdFloat>(dist: ArrayView2<'_, A>, rule: &impl PairRule) -> Result<usize> {
    let n = dist.nrows();
    if n == 0 {
        return Err(Error::Empty { what: "distances" });
    }
    if dist.ncols() != n {
        return Err(Error::LengthMismatch {
            what: "distance columns",
            expected: n,
            got: dist.ncols(),
        });
    }
    check_finite("distances", dist)?;
    check_rule_shape(rule, n, n)?;
    Ok(n)
}

fn check_margin<A: NdFloat>(margin: A) -> Result<()> {
    if margin.is_finite() && margin >= A::zero() {
        Ok(())
    } else {
        Err(invalid("margin", margin, "must be finite and >= 0"))
    }
}

/// Index of the row `j` of `anchor` with `keep(j)` minimising `key(d[anchor, j])`,
/// lower index on ties.
fn arg_best<A: NdFloat>(
    dist: ArrayView2<'_, A>,
    anchor: usize,
    keep: impl Fn(usize) -> bool,
    key: impl Fn(A) -> A,
) -> Option<usize> {
    let row = dist.row(anchor);
    (0..row.len())
        .filter(|&j| keep(j))
        .fold(None, |best: Option<usize>, j| match best {
            Some(b) if key(row[b]) <= key(row[j]) => Some(b),
            _ => Some(j),
        })
}

/// Every valid triplet: `p` a positive and `n` a negative of `a` (O(n^3) output at most).
pub fn all_valid_triplets<A: NdFloat>(
    dist: ArrayView2<'_, A>,
    rule: &impl PairRule,
) -> Result<Vec<Triplet>> {
    let n = check_distances(dist, rule)?;
    let mut out = Vec::new();
    for anchor in 0..n {
        let negatives: Vec<usize> = (0..n).filter(|&j| rule.is_negative(anchor, j)).collect();
        for positive in (0..n).filter(|&j| rule.is_positive(anchor, j)) {
            out.extend(negatives.iter().map(|&negative| Triplet {
                anchor,
                positive,
                negative,
            }));
        }
    }
    Ok(out)
}

/// One triplet per anchor from a positive chosen by `positive_key` (smallest key wins)
/// and the nearest negative.
fn per_anchor<A: NdFloat>(
    dist: ArrayView2<'_, A>,
    rule: &impl PairRule,
    positive_key: impl Fn(A) -> A + Copy,
) -> Result<Vec<Triplet>> {
    let n = check_distances(dist, rule)?;
    Ok((0..n)
        .filter_map(|anchor| {
            let positive = arg_best(dist, anchor, |j| rule.is_positive(anchor, j), positive_key)?;
            let negative = arg_best(dist, anchor, |j| rule.is_negative(anchor, j), |d| d)?;
            Some(Triplet {
                anchor,
                positive,
                negative,
            })
        })
        .collect())
}

/// Batch-hard (Hermans et al. 2017): per anchor, the farthest positive and the nearest
/// negative.
pub fn batch_hard<A: NdFloat>(
    dist: ArrayView2<'_, A>,
    rule: &impl PairRule,
) -> Result<Vec<Triplet>> {
    per_anchor(dist, rule, |d| -d)
}

/// Easy-positive / hard-negative (Xuan et al. 2020): per anchor, the nearest positive and
/// the nearest negative.
pub fn easy_positive_hard_negative<A: NdFloat>(
    dist: ArrayView2<'_, A>,
    rule: &impl PairRule,
) -> Result<Vec<Triplet>> {
    per_anchor(dist, rule, |d| d)
}

/// Batch semi-hard (FaceNet): for every positive pair `(a, p)`, the nearest negative with
/// `d_ap < d_an < d_ap + margin`; pairs without one are skipped. `margin` must be
/// finite and >= 0.
pub fn batch_semi_hard<A: NdFloat>(
    dist: ArrayView2<'_, A>,
    rule: &impl PairRule,
    margin: A,
) -> Result<Vec<Triplet>> {
    check_margin(margin)?;
    let n = check_distances(dist, rule)?;
    let mut out = Vec::new();
    for anchor in 0..n {
        for positive in (0..n).filter(|&j| rule.is_positive(anchor, j)) {
            let d_ap = dist[[anchor, positive]];
            let semi_hard = |j: usize| {
                let d_an = dist[[anchor, j]];
                rule.is_negative(anchor, j) && d_ap < d_an && d_an < d_ap + margin
            };
            if let Some(negative) = arg_best(dist, anchor, semi_hard, |d| d) {
                out.push(Triplet {
                    anchor,
                    positive,
                    negative,
                });
            }
        }
    }
    Ok(out)
}

/// Keeps the triplets of the kind `filter` (see the module docs), in their order.
/// Fails on indices outside `dist` or a negative/non-finite margin.
pub fn filter_by_margin<A: NdFloat>(
    triplets: &[Triplet],
    dist: ArrayView2<'_, A>,
    filter: MarginFilter,
    margin: A,
) -> Result<Vec<Triplet>> {
    check_margin(margin)?;
    let n = dist.nrows();
    let mut out = Vec::with_capacity(triplets.len());
    for &t in triplets {
        for index in [t.anchor, t.positive, t.negative] {
            if index >= n || index >= dist.ncols() {
                return Err(Error::IndexOutOfRange {
                    what: "triplets",
                    index,
                    len: n,
                });
            }
        }
        let m = dist[[t.anchor, t.negative]] - dist[[t.anchor, t.positive]];
        let keep = match filter {
            MarginFilter::All => true,
            MarginFilter::Violating => m < margin,
            MarginFilter::Hard => m < A::zero(),
            MarginFilter::SemiHard => A::zero() <= m && m < margin,
            MarginFilter::Easy => m >= margin,
        };
        if keep {
            out.push(t);
        }
    }
    Ok(out)
}
