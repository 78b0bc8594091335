//! The fixed train/test rule for sources that ship without a test split.
//!
//! Per class `c` with `n_c` samples (in source order), the **last**
//! `round(test_fraction * n_c)` samples are held out for test and the rest train.
//! No randomness: the split depends only on the file order. The embedded sets use
//! `test_fraction = 0.2` (see [`crate::embedded`]).

use crate::dataset::{Dataset, Split};
use crate::error::{Error, Result};

/// The split applied to the embedded sets and to image folders without `train/` and `test/`.
pub const DEFAULT_TEST_FRACTION: f64 = 0.2;

/// Sample indices of the `(train, test)` parts, each in source order.
///
/// # Errors
/// [`Error::InvalidFraction`] unless `0 < test_fraction < 1`.
pub fn holdout_indices(
    labels: &[usize],
    num_classes: usize,
    test_fraction: f64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(Error::InvalidFraction {
            fraction: test_fraction,
            range: "(0, 1) for a test hold-out",
        });
    }
    let mut by_class = vec![Vec::new(); num_classes];
    for (i, &label) in labels.iter().enumerate() {
        by_class[label].push(i);
    }
    let mut train = Vec::new();
    let mut test = Vec::new();
    for members in &by_class {
        let n_test = (test_fraction * members.len() as f64).round() as usize;
        let (keep, held) = members.split_at(members.len() - n_test);
        train.extend_from_slice(keep);
        test.extend_from_slice(held);
    }
    train.sort_unstable();
    test.sort_unstable();
    Ok((train, test))
}

impl Dataset {
    /// Splits into `(train, test)` by [`holdout_indices`] (the last `round(f n_c)` of each class
    /// go to test).
    ///
    /// # Errors
    /// [`Error::InvalidFraction`]; [`Error::Empty`] when either part would be empty.
    pub fn holdout_per_class(&self, test_fraction: f64) -> Result<(Dataset, Dataset)> {
        let (train, test) = holdout_indices(self.labels(), self.num_classes(), test_fraction)?;
        Ok((
            self.subset(&train, Split::Train)?,
            self.subset(&test, Split::Test)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::ImageShape;

    #[test]
    fn last_fifth_of_each_class_is_held_out() {
        // Class 0 at 0..5 and 9, class 1 at 5..9: 6 and 4 samples, hold out 1 and 1.
        let labels = vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 0];
        let (train, test) = holdout_indices(&labels, 2, 0.2).unwrap();
        assert_eq!(test, vec![8, 9]);
        assert_eq!(train, vec![0, 1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn dataset_holdout_sets_splits_and_rejects_bad_fractions() {
        let labels = vec![0, 1, 0, 1, 0, 1];
        let d = Dataset::new(
            "d",
            Split::Train,
            ImageShape::new(1, 1, 1),
            (0..6).collect(),
            labels,
            vec!["a".into(), "b".into()],
        )
        .unwrap();
        let (train, test) = d.holdout_per_class(0.34).unwrap();
        assert_eq!((train.len(), test.len()), (4, 2));
        assert_eq!((train.split(), test.split()), (Split::Train, Split::Test));
        assert_eq!(test.pixels(), &[4, 5]);
        for f in [0.0, 1.0, -0.5, f64::NAN] {
            assert!(matches!(
                d.holdout_per_class(f),
                Err(Error::InvalidFraction { .. })
            ));
        }
        // A fraction so small that nothing is held out leaves an empty test part.
        assert!(matches!(
            d.holdout_per_class(0.01),
            Err(Error::Empty { .. })
        ));
    }
}
