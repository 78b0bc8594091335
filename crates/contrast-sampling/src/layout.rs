//! Pair layouts: which rows of a batch are positives and which are negatives of each other.
//!
//! Every layout answers two questions about an ordered pair (anchor `i`, other `j`) through
//! [`PairRule`]: is `j` a positive of `i`, is `j` a negative of `i`. A row is never its own
//! positive or negative. Rows that are neither (e.g. a same-class row when false negatives
//! are removed) are simply left out of both masks.
//!
//! | layout | rows | positives of `i` | negatives of `i` |
//! |---|---|---|---|
//! | [`TwoViews`] | `2n`, view-major | `(i + n) mod 2n` | every other sample |
//! | [`MultiView`] | `v n`, row `view * n + sample` | other views of the sample | every other sample |
//! | [`ExplicitPairs`] | any | rows listed with `i` in a pair | rows not paired with `i` |
//! | [`Labelled`] | `n` | other rows with the same label | rows with another label |
//!
//! With class labels attached ([`TwoViews::with_labels`], ...), rows of another sample but
//! the same class are removed from the negatives (they are "false negatives"), but are not
//! promoted to positives: the positives stay those of the layout.

use ndarray::Array2;

use crate::error::{Error, Result, check_len};

/// Decides, for an anchor `i` and another row `j`, whether `j` is a positive or a negative.
///
/// Implemented by every layout, by [`crate::temporal::TemporalLayout`] and by
/// [`LabelRule`] (anchors against a separate bank such as a memory queue). Miners only ever
/// ask these two questions, so they never need a materialised `(n, n)` mask.
pub trait PairRule: Sync {
    /// `true` when `other` is a positive of `anchor`.
    fn is_positive(&self, anchor: usize, other: usize) -> bool;
    /// `true` when `other` is a negative of `anchor`.
    fn is_negative(&self, anchor: usize, other: usize) -> bool;
    /// `(anchors, others)` the rule is defined for, or `None` when it holds for any size.
    /// Miners check it against their inputs and fail with [`Error::LengthMismatch`].
    fn shape(&self) -> Option<(usize, usize)>;
}

/// Checks that `rule` covers `anchors x others` rows.
pub(crate) fn check_rule_shape(rule: &impl PairRule, anchors: usize, others: usize) -> Result<()> {
    if let Some((a, o)) = rule.shape() {
        check_len("rule anchors", anchors, a)?;
        check_len("rule candidates", others, o)?;
    }
    Ok(())
}

/// `(anchors, others)` mask, `true` at `[i, j]` when `j` is a positive of `i`.
pub fn positive_mask(rule: &impl PairRule, anchors: usize, others: usize) -> Result<Array2<bool>> {
    check_rule_shape(rule, anchors, others)?;
    Ok(mask_of(anchors, others, |i, j| rule.is_positive(i, j)))
}

/// `(anchors, others)` mask, `true` at `[i, j]` when `j` is a negative of `i`.
pub fn negative_mask(rule: &impl PairRule, anchors: usize, others: usize) -> Result<Array2<bool>> {
    check_rule_shape(rule, anchors, others)?;
    Ok(mask_of(anchors, others, |i, j| rule.is_negative(i, j)))
}

fn mask_of(anchors: usize, others: usize, f: impl Fn(usize, usize) -> bool) -> Array2<bool> {
    Array2::from_shape_fn((anchors, others), |(i, j)| f(i, j))
}

/// A layout of one batch whose anchors and candidates are the same `rows()` rows.
pub trait PairLayout: PairRule {
    /// Number of rows of the embedding matrix this layout describes.
    fn rows(&self) -> usize;

    /// `(rows, rows)` mask, `true` at `[i, j]` when `j` is a positive of `i`.
    fn positive_mask(&self) -> Array2<bool> {
        mask_of(self.rows(), self.rows(), |i, j| self.is_positive(i, j))
    }

    /// `(rows, rows)` mask, `true` at `[i, j]` when `j` is a negative of `i`.
    fn negative_mask(&self) -> Array2<bool> {
        mask_of(self.rows(), self.rows(), |i, j| self.is_negative(i, j))
    }
}

/// Optional class labels of the samples of a layout, used to drop false negatives.
fn same_class(labels: Option<&[usize]>, a: usize, b: usize) -> bool {
    labels.is_some_and(|l| l[a] == l[b])
}

fn check_labels(labels: &[usize], samples: usize) -> Result<()> {
    check_len("labels", samples, labels.len())
}

/// Two augmented views per sample in the SimCLR `(2n, d)` layout: rows `i` and `i + n`
/// are the two views of sample `i`.
#[derive(Debug, Clone, PartialEq)]
pub struct TwoViews {
    n: usize,
    labels: Option<Vec<usize>>,
}

impl TwoViews {
    /// Layout for `n` samples (`2n` rows). Errors on `n = 0`.
    pub fn new(n: usize) -> Result<Self> {
        if n == 0 {
            return Err(Error::Empty { what: "batch" });
        }
        Ok(Self { n, labels: None })
    }

    /// Same, with one class label per sample (length `n`) to remove false negatives.
    pub fn with_labels(labels: Vec<usize>) -> Result<Self> {
        let mut layout = Self::new(labels.len())?;
        layout.labels = Some(labels);
        Ok(layout)
    }

    /// Number of samples `n` (half the rows).
    pub fn samples(&self) -> usize {
        self.n
    }

    /// Sample index of row `i < 2n`: `i mod n`, without a division (miners ask this for
    /// every pair).
    pub fn sample_of(&self, i: usize) -> usize {
        if i >= self.n { i - self.n } else { i }
    }

    /// Row holding the other view of row `i`: `(i + n) mod 2n`.
    pub fn partner(&self, i: usize) -> usize {
        if i >= self.n { i - self.n } else { i + self.n }
    }
}

impl PairRule for TwoViews {
    fn is_positive(&self, i: usize, j: usize) -> bool {
        j == self.partner(i)
    }
    fn is_negative(&self, i: usize, j: usize) -> bool {
        let (a, b) = (self.sample_of(i), self.sample_of(j));
        a != b && !same_class(self.labels.as_deref(), a, b)
    }
    fn shape(&self) -> Option<(usize, usize)> {
        Some((2 * self.n, 2 * self.n))
    }
}

impl PairLayout for TwoViews {
    fn rows(&self) -> usize {
        2 * self.n
    }
}

/// `v >= 2` views per sample, view-major: row `view * n + sample`
/// (with `v = 2` this is exactly [`TwoViews`]).
#[derive(Debug, Clone, PartialEq)]
pub struct MultiView {
    n: usize,
    views: usize,
    labels: Option<Vec<usize>>,
}

impl MultiView {
    /// Layout for `n` samples with `views` views each. Errors on `n = 0` or `views < 2`.
    pub fn new(n: usize, views: usize) -> Result<Self> {
        if n == 0 {
            return Err(Error::Empty { what: "batch" });
        }
        if views < 2 {
            return Err(crate::error::invalid(
                "views",
                views,
                "at least 2 views make a pair",
            ));
        }
        Ok(Self {
            n,
            views,
            labels: None,
        })
    }

    /// Same, with one class label per sample (length `n`) to remove false negatives.
    pub fn with_labels(views: usize, labels: Vec<usize>) -> Result<Self> {
        let mut layout = Self::new(labels.len(), views)?;
        layout.labels = Some(labels);
        Ok(layout)
    }

    /// Sample index of row `i`.
    pub fn sample_of(&self, i: usize) -> usize {
        i % self.n
    }

    /// View index of row `i`.
    pub fn view_of(&self, i: usize) -> usize {
        i / self.n
    }
}

impl PairRule for MultiView {
    fn is_positive(&self, i: usize, j: usize) -> bool {
        i != j && i % self.n == j % self.n
    }
    fn is_negative(&self, i: usize, j: usize) -> bool {
        let (a, b) = (i % self.n, j % self.n);
        a != b && !same_class(self.labels.as_deref(), a, b)
    }
    fn shape(&self) -> Option<(usize, usize)> {
        Some((self.n * self.views, self.n * self.views))
    }
}

impl PairLayout for MultiView {
    fn rows(&self) -> usize {
        self.n * self.views
    }
}

/// Explicit `(anchor, positive)` row pairs among `rows` rows. Pairs are symmetric: if
/// `(a, p)` is listed, `a` is also a positive of `p`. Every row that is not paired with the
/// anchor (and is not the anchor) is a negative, unless labels mark it as the same class.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplicitPairs {
    rows: usize,
    // Sorted, deduplicated `(min, max)` pairs, searched by binary search.
    pairs: Vec<(usize, usize)>,
    labels: Option<Vec<usize>>,
}

impl ExplicitPairs {
    /// Layout from row pairs. Errors on no rows, no pairs, an index `>= rows` or a self pair.
    pub fn new(rows: usize, pairs: &[(usize, usize)]) -> Result<Self> {
        if rows == 0 {
            return Err(Error::Empty { what: "rows" });
        }
        if pairs.is_empty() {
            return Err(Error::Empty { what: "pairs" });
        }
        let mut sorted = Vec::with_capacity(pairs.len());
        for &(a, p) in pairs {
            for index in [a, p] {
                if index >= rows {
                    return Err(Error::IndexOutOfRange {
                        what: "pairs",
                        index,
                        len: rows,
                    });
                }
            }
            if a == p {
                return Err(crate::error::invalid(
                    "pair",
                    a,
                    "a row cannot be its own positive",
                ));
            }
            sorted.push((a.min(p), a.max(p)));
        }
        sorted.sort_unstable();
        sorted.dedup();
        Ok(Self {
            rows,
            pairs: sorted,
            labels: None,
        })
    }

    /// Same, with one class label per row to remove false negatives.
    pub fn with_labels(pairs: &[(usize, usize)], labels: Vec<usize>) -> Result<Self> {
        let mut layout = Self::new(labels.len(), pairs)?;
        check_labels(&labels, layout.rows)?;
        layout.labels = Some(labels);
        Ok(layout)
    }

    /// The deduplicated pairs, each as `(smaller, larger)` row index, sorted.
    pub fn pairs(&self) -> &[(usize, usize)] {
        &self.pairs
    }
}

impl PairRule for ExplicitPairs {
    fn is_positive(&self, i: usize, j: usize) -> bool {
        self.pairs.binary_search(&(i.min(j), i.max(j))).is_ok()
    }
    fn is_negative(&self, i: usize, j: usize) -> bool {
        i != j && !self.is_positive(i, j) && !same_class(self.labels.as_deref(), i, j)
    }
    fn shape(&self) -> Option<(usize, usize)> {
        Some((self.rows, self.rows))
    }
}

impl PairLayout for ExplicitPairs {
    fn rows(&self) -> usize {
        self.rows
    }
}

/// A labelled batch (supervised contrastive, metric learning): rows with the same label are
/// positives, rows with different labels are negatives.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    labels: Vec<usize>,
}

impl Labelled {
    /// Layout from one label per row. Errors on an empty batch.
    pub fn new(labels: Vec<usize>) -> Result<Self> {
        if labels.is_empty() {
            return Err(Error::Empty { what: "labels" });
        }
        Ok(Self { labels })
    }

    /// The labels, one per row.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }
}

impl PairRule for Labelled {
    fn is_positive(&self, i: usize, j: usize) -> bool {
        i != j && self.labels[i] == self.labels[j]
    }
    fn is_negative(&self, i: usize, j: usize) -> bool {
        self.labels[i] != self.labels[j]
    }
    fn shape(&self) -> Option<(usize, usize)> {
        Some((self.labels.len(), self.labels.len()))
    }
}

impl PairLayout for Labelled {
    fn rows(&self) -> usize {
        self.labels.len()
    }
}

/// Anchors against a separate bank (a memory queue, a gallery): positive when the labels are
/// equal, negative when they differ. Anchor `i` has label `anchor_labels[i]`, bank row `j`
/// has `bank_labels[j]`.
#[derive(Debug, Clone, Copy)]
pub struct LabelRule<'a> {
    anchor_labels: &'a [usize],
    bank_labels: &'a [usize],
}

impl<'a> LabelRule<'a> {
    /// Rule from the labels of the anchors and of the bank rows.
    pub fn new(anchor_labels: &'a [usize], bank_labels: &'a [usize]) -> Self {
        Self {
            anchor_labels,
            bank_labels,
        }
    }
}

impl PairRule for LabelRule<'_> {
    fn is_positive(&self, i: usize, j: usize) -> bool {
        self.anchor_labels[i] == self.bank_labels[j]
    }
    fn is_negative(&self, i: usize, j: usize) -> bool {
        self.anchor_labels[i] != self.bank_labels[j]
    }
    fn shape(&self) -> Option<(usize, usize)> {
        Some((self.anchor_labels.len(), self.bank_labels.len()))
    }
}

/// Instance discrimination against a separate bank: every bank row is a negative, none is
/// a positive (the MoCo queue without labels; the positive key is supplied separately).
#[derive(Debug, Clone, Copy, Default)]
pub struct AllNegatives;

impl PairRule for AllNegatives {
    fn is_positive(&self, _: usize, _: usize) -> bool {
        false
    }
    fn is_negative(&self, _: usize, _: usize) -> bool {
        true
    }
    fn shape(&self) -> Option<(usize, usize)> {
        None
    }
}
