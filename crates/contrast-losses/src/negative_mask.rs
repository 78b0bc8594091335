//! Which negatives each anchor keeps: false-negative removal and hard-negative selection
//! for the two-view losses ([`crate::nt_xent_masked`], [`crate::dcl_masked`]).
//!
//! ```text
//! two-view layout (2N, D), anchor i, positive p(i) = (i + N) mod 2N
//! plain:   negatives(i) = {k : k != i, k != p(i)}                       (2N - 2 of them)
//! masked:  negatives(i) = {k : k != i, k != p(i), keep(i, k)}
//! ```
//! The anchor itself is never a candidate and its positive is always kept, whatever the
//! mask says: a mask only removes negatives from the denominator. `keep` need not be
//! symmetric (anchor i may keep k while k drops i; hard-negative lists are not symmetric).
//! An anchor left without any negative is an error ([`Error::AnchorWithoutNegative`]):
//! its softmax would hold the positive alone, a loss of exactly 0 that would hide a bad
//! mask or sampler.
//!
//! - **False negatives**: [`NegativeMask::SameInstance`] takes one instance id per sample
//!   (e.g. the dataset index); rows whose sample has the anchor's id are removed, so two
//!   copies of one image in a batch are never each other's negatives.
//! - **Hard negatives**: [`NegativeMask::Only`] takes, per anchor, the candidate rows to
//!   keep, exactly the `indices` of `contrast-sampling`'s blocked top-k miner
//!   (`hardest_negatives(z, z, &layout, &TopKConfig::new(k))`), so only the k hardest
//!   negatives enter each denominator.
//! - Anything else: [`NegativeMask::Keep`], a boolean `(2N, 2N)` keep-mask.

use crate::error::{Error, Result};
use ndarray::{Array2, ArrayView2};

/// Which candidates each anchor keeps as negatives (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum NegativeMask<'a> {
    /// Every row other than the anchor and its positive: the plain loss.
    #[default]
    All,
    /// One instance id per sample (`N` ids for `2N` rows; row `i` belongs to sample
    /// `i mod N`): rows of the anchor's instance, other than its positive, are removed.
    SameInstance(&'a [u64]),
    /// Per anchor (one row per anchor, `2N` rows), the candidate rows it keeps: the
    /// `indices` of a top-k miner. The anchor and its positive may appear (ignored), and a
    /// candidate listed twice counts once.
    Only(ArrayView2<'a, usize>),
    /// `keep[[i, k]]` keeps row `k` as a negative of anchor `i`; `(2N, 2N)`. The diagonal
    /// and the positives' entries are ignored.
    Keep(ArrayView2<'a, bool>),
}

impl NegativeMask<'_> {
    /// For `rows` anchors whose positive is `positive(i)`: the dense mask of the entries in
    /// each anchor's denominator (its positive and its kept negatives; never the diagonal),
    /// or `None` for [`NegativeMask::All`]. Checks shapes, indices, and that every anchor
    /// keeps a negative; `what` names the loss in errors.
    pub(crate) fn resolve(
        &self,
        what: &'static str,
        rows: usize,
        positive: impl Fn(usize) -> usize,
    ) -> Result<Option<Array2<bool>>> {
        let mut keep = match *self {
            NegativeMask::All => return Ok(None),
            NegativeMask::SameInstance(ids) => {
                let n = rows / 2;
                if ids.len() != n {
                    return Err(Error::Shape {
                        what: "instance ids (one per sample)",
                        expected: vec![n],
                        got: vec![ids.len()],
                    });
                }
                Array2::from_shape_fn((rows, rows), |(i, k)| ids[i % n] != ids[k % n])
            }
            NegativeMask::Only(lists) => {
                if lists.nrows() != rows {
                    return Err(Error::Shape {
                        what: "kept negatives (one row per anchor)",
                        expected: vec![rows, lists.ncols()],
                        got: lists.shape().to_vec(),
                    });
                }
                let mut keep = Array2::from_elem((rows, rows), false);
                for ((anchor, _), &index) in lists.indexed_iter() {
                    if index >= rows {
                        return Err(Error::MaskIndex {
                            what,
                            anchor,
                            index,
                            rows,
                        });
                    }
                    keep[[anchor, index]] = true;
                }
                keep
            }
            NegativeMask::Keep(mask) => {
                if mask.dim() != (rows, rows) {
                    return Err(Error::Shape {
                        what: "negatives keep-mask",
                        expected: vec![rows, rows],
                        got: mask.shape().to_vec(),
                    });
                }
                mask.to_owned()
            }
        };
        for i in 0..rows {
            let p = positive(i);
            keep[[i, i]] = false;
            keep[[i, p]] = false;
            if !keep.row(i).iter().any(|&k| k) {
                return Err(Error::AnchorWithoutNegative { what, anchor: i });
            }
            // The positive stays in the denominator: the caller's rule for it, not the mask's.
            keep[[i, p]] = true;
        }
        Ok(Some(keep))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn positive(i: usize) -> usize {
        (i + 2) % 4
    }

    #[test]
    fn each_form_resolves_to_the_same_mask() {
        // Samples 0 and 1 are the same instance: no negatives left at all.
        let same = NegativeMask::SameInstance(&[7, 7]);
        assert_eq!(
            same.resolve("t", 4, positive),
            Err(Error::AnchorWithoutNegative {
                what: "t",
                anchor: 0
            })
        );
        let ids = NegativeMask::SameInstance(&[3, 9]).resolve("t", 4, positive);
        let lists = array![[1, 3], [0, 2], [3, 1], [2, 0]];
        let only = NegativeMask::Only(lists.view()).resolve("t", 4, positive);
        let keep = Array2::from_shape_fn((4, 4), |(i, k)| i % 2 != k % 2);
        let dense = NegativeMask::Keep(keep.view()).resolve("t", 4, positive);
        let want = array![
            [false, true, true, true],
            [true, false, true, true],
            [true, true, false, true],
            [true, true, true, false]
        ];
        assert_eq!(ids, Ok(Some(want.clone())));
        assert_eq!(only, Ok(Some(want.clone())));
        assert_eq!(dense, Ok(Some(want)));
        assert_eq!(NegativeMask::All.resolve("t", 4, positive), Ok(None));
    }

    #[test]
    fn bad_masks_are_typed_errors() {
        let lists = array![[1], [0], [3], [9]];
        assert_eq!(
            NegativeMask::Only(lists.view()).resolve("t", 4, positive),
            Err(Error::MaskIndex {
                what: "t",
                anchor: 3,
                index: 9,
                rows: 4
            })
        );
        // Anchor 1 keeps only its positive (row 3).
        let lists = array![[1], [3], [3], [0]];
        assert_eq!(
            NegativeMask::Only(lists.view()).resolve("t", 4, positive),
            Err(Error::AnchorWithoutNegative {
                what: "t",
                anchor: 1
            })
        );
        assert!(matches!(
            NegativeMask::SameInstance(&[1, 2, 3]).resolve("t", 4, positive),
            Err(Error::Shape { .. })
        ));
        let keep = Array2::from_elem((4, 3), true);
        assert!(matches!(
            NegativeMask::Keep(keep.view()).resolve("t", 4, positive),
            Err(Error::Shape { .. })
        ));
    }
}
