//! Class-balanced label-fraction subsets for semi-supervised evaluation (the "1% / 10% of
//! labels" protocol of SimCLR and others).
//!
//! For a fraction `f` of `N` samples in `C` classes, every class contributes the same
//! number `k = max(1, round(f N / C))` of samples. Within class `c` the samples are
//! shuffled by a ChaCha8 stream keyed by `(seed, c)` and the first `k` kept, so for one seed
//! the subsets are **nested**: the 1% subset lies inside the 10% subset.

use rand::seq::SliceRandom;

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::shuffle::stream_rng;

/// Samples per class for fraction `fraction` of `n` samples in `num_classes` classes.
pub fn per_class_count(n: usize, num_classes: usize, fraction: f64) -> usize {
    ((fraction * n as f64 / num_classes as f64).round() as usize).max(1)
}

/// Sorted indices of a class-balanced subset holding about `fraction` of the samples.
///
/// # Errors
/// [`Error::InvalidFraction`] unless `0 < fraction <= 1`; [`Error::ClassTooSmall`] when
/// some class has fewer than the per-class count (including a class with no samples).
pub fn label_fraction_indices(
    labels: &[usize],
    num_classes: usize,
    fraction: f64,
    seed: u64,
) -> Result<Vec<usize>> {
    if !(fraction > 0.0 && fraction <= 1.0) {
        return Err(Error::InvalidFraction {
            fraction,
            range: "(0, 1] for a label fraction",
        });
    }
    let k = per_class_count(labels.len(), num_classes, fraction);
    let mut by_class = vec![Vec::new(); num_classes];
    for (i, &label) in labels.iter().enumerate() {
        by_class[label].push(i);
    }
    let mut chosen = Vec::with_capacity(k * num_classes);
    for (class, mut members) in by_class.into_iter().enumerate() {
        if members.len() < k {
            return Err(Error::ClassTooSmall {
                class,
                available: members.len(),
                requested: k,
            });
        }
        members.shuffle(&mut stream_rng(seed, class as u64));
        chosen.extend_from_slice(&members[..k]);
    }
    chosen.sort_unstable();
    Ok(chosen)
}

impl Dataset {
    /// The class-balanced subset of [`label_fraction_indices`], keeping this split.
    ///
    /// # Errors
    /// As [`label_fraction_indices`].
    pub fn label_fraction(&self, fraction: f64, seed: u64) -> Result<Dataset> {
        let indices = label_fraction_indices(self.labels(), self.num_classes(), fraction, seed)?;
        self.subset(&indices, self.split())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3 classes of sizes 120, 120, 60.
    fn labels() -> Vec<usize> {
        (0..300).map(|i| if i < 240 { i % 2 } else { 2 }).collect()
    }

    #[test]
    fn subsets_are_balanced_nested_and_seeded() {
        let labels: Vec<usize> = (0..1000).map(|i| i % 10).collect();
        let one = label_fraction_indices(&labels, 10, 0.01, 5).unwrap();
        let ten = label_fraction_indices(&labels, 10, 0.1, 5).unwrap();
        assert_eq!((one.len(), ten.len()), (10, 100));
        let mut counts = [0; 10];
        for &i in &ten {
            counts[labels[i]] += 1;
        }
        assert_eq!(counts, [10; 10]);
        assert!(
            one.iter().all(|i| ten.contains(i)),
            "1% subset not inside 10% subset"
        );
        assert_eq!(ten, label_fraction_indices(&labels, 10, 0.1, 5).unwrap());
        assert_ne!(ten, label_fraction_indices(&labels, 10, 0.1, 6).unwrap());
        assert!(ten.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn bad_fractions_and_small_classes_are_errors() {
        let labels = labels();
        assert_eq!(labels.iter().filter(|&&l| l == 2).count(), 60);
        for f in [0.0, -0.1, 1.5, f64::NAN] {
            assert!(matches!(
                label_fraction_indices(&labels, 3, f, 0),
                Err(Error::InvalidFraction { .. })
            ));
        }
        // 90% of 300 over 3 classes is 90 per class; class 2 has only 60.
        assert!(matches!(
            label_fraction_indices(&labels, 3, 0.9, 0),
            Err(Error::ClassTooSmall {
                class: 2,
                available: 60,
                requested: 90
            })
        ));
        // A class with no samples at all cannot be balanced.
        assert!(matches!(
            label_fraction_indices(&labels, 4, 0.1, 0),
            Err(Error::ClassTooSmall {
                class: 3,
                available: 0,
                ..
            })
        ));
        assert_eq!(per_class_count(1000, 10, 0.0001), 1);
    }
}
