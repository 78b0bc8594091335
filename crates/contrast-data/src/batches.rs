//! Mini-batches over a dataset for one epoch.
//!
//! The epoch order is [`shuffled_indices`]`(len, seed, epoch)` (or `0..len` without
//! shuffling), cut into consecutive batches of `batch_size`. That gives `ceil(len / B)`
//! batches, the last one short, or `floor(len / B)` with `drop_last` (contrastive losses
//! usually want every batch full, since the batch size sets the number of negatives).

use ndarray::Array4;

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::shuffle::shuffled_indices;

/// How to cut an epoch into batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchConfig {
    /// Samples per batch, `1..=len`.
    pub batch_size: usize,
    /// Shuffle each epoch by `(seed, epoch)`; `false` keeps dataset order.
    pub shuffle: bool,
    /// Drop the final short batch.
    pub drop_last: bool,
    /// Seed of the epoch permutations.
    pub seed: u64,
}

impl BatchConfig {
    /// Shuffled, full batches only: the usual setting for contrastive pre-training.
    pub fn new(batch_size: usize, seed: u64) -> Self {
        BatchConfig {
            batch_size,
            shuffle: true,
            drop_last: true,
            seed,
        }
    }
}

/// One mini-batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// The epoch it belongs to.
    pub epoch: u64,
    /// Its position within the epoch (0, 1, ...).
    pub step: usize,
    /// Dataset indices of its samples; with `epoch`, the key for per-sample random streams.
    pub indices: Vec<usize>,
    /// Images, NCHW, values in `[0, 1]`.
    pub images: Array4<f32>,
    /// Labels, one per sample (ignored by self-supervised losses, used by SupCon and probes).
    pub labels: Vec<usize>,
}

/// Iterator over the batches of one epoch. Owns a (cheap) clone of the dataset, so it is
/// `Send + 'static` and can move to the prefetch thread.
#[derive(Clone, Debug)]
pub struct Batches {
    dataset: Dataset,
    order: Vec<usize>,
    batch_size: usize,
    epoch: u64,
    next_step: usize,
    steps: usize,
}

impl Dataset {
    /// The batches of epoch `epoch`.
    ///
    /// # Errors
    /// [`Error::ZeroBatchSize`]; [`Error::BatchTooLarge`] when `batch_size > len`.
    pub fn batches(&self, config: &BatchConfig, epoch: u64) -> Result<Batches> {
        let len = self.len();
        let batch_size = config.batch_size;
        if batch_size == 0 {
            return Err(Error::ZeroBatchSize);
        }
        if batch_size > len {
            return Err(Error::BatchTooLarge { batch_size, len });
        }
        let order = if config.shuffle {
            shuffled_indices(len, config.seed, epoch)
        } else {
            (0..len).collect()
        };
        let steps = if config.drop_last {
            len / batch_size
        } else {
            len.div_ceil(batch_size)
        };
        Ok(Batches {
            dataset: self.clone(),
            order,
            batch_size,
            epoch,
            next_step: 0,
            steps,
        })
    }
}

impl Dataset {
    /// Batches cut from a caller's own sample order (e.g. a class-balanced P x K sampler's):
    /// consecutive runs of `batch_size` indices of `order`, the last run dropped if short.
    ///
    /// # Errors
    /// [`Error::ZeroBatchSize`]; [`Error::BatchTooLarge`] when `order` holds fewer than
    /// `batch_size` indices; [`Error::IndexOutOfRange`] for an index past the dataset.
    pub fn batches_in_order(
        &self,
        order: Vec<usize>,
        batch_size: usize,
        epoch: u64,
    ) -> Result<Batches> {
        if batch_size == 0 {
            return Err(Error::ZeroBatchSize);
        }
        if batch_size > order.len() {
            return Err(Error::BatchTooLarge {
                batch_size,
                len: order.len(),
            });
        }
        if let Some(&index) = order.iter().find(|&&i| i >= self.len()) {
            return Err(Error::IndexOutOfRange {
                index,
                len: self.len(),
            });
        }
        Ok(Batches {
            dataset: self.clone(),
            steps: order.len() / batch_size,
            order,
            batch_size,
            epoch,
            next_step: 0,
        })
    }
}

impl Batches {
    /// Batches in this epoch (including any already yielded).
    pub fn steps(&self) -> usize {
        self.steps
    }
}

impl Iterator for Batches {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        if self.next_step >= self.steps {
            return None;
        }
        let step = self.next_step;
        self.next_step += 1;
        let start = step * self.batch_size;
        let end = (start + self.batch_size).min(self.order.len());
        let indices = self.order[start..end].to_vec();
        let labels = indices.iter().map(|&i| self.dataset.labels()[i]).collect();
        Some(Batch {
            epoch: self.epoch,
            step,
            images: self.dataset.images_unchecked(&indices),
            indices,
            labels,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.steps - self.next_step;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Batches {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{ImageShape, synthetic};

    fn dataset(n: usize) -> Dataset {
        synthetic(n, ImageShape::new(1, 1, 2), 3)
    }

    #[test]
    fn an_epoch_covers_every_sample_once() {
        let d = dataset(10);
        let config = BatchConfig {
            drop_last: false,
            ..BatchConfig::new(4, 1)
        };
        let batches: Vec<Batch> = d.batches(&config, 0).unwrap().collect();
        assert_eq!(
            batches.iter().map(|b| b.indices.len()).collect::<Vec<_>>(),
            vec![4, 4, 2]
        );
        let mut seen: Vec<usize> = batches.iter().flat_map(|b| b.indices.clone()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        for b in &batches {
            for (row, &i) in b.indices.iter().enumerate() {
                assert_eq!(b.labels[row], i % 3);
                assert_eq!(
                    b.images[[row, 0, 0, 1]],
                    ((2 * i + 1) * 37 % 256) as f32 / 255.0
                );
            }
        }
        assert_eq!(
            batches.iter().map(|b| b.step).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
    }

    #[test]
    fn drop_last_shuffle_and_epochs() {
        let d = dataset(10);
        let config = BatchConfig::new(4, 9);
        let it = d.batches(&config, 2).unwrap();
        assert_eq!((it.steps(), it.len()), (2, 2));
        let a: Vec<Batch> = it.collect();
        assert!(
            a.iter()
                .all(|b| b.images.shape() == [4, 1, 1, 2] && b.epoch == 2)
        );
        let again: Vec<Batch> = d.batches(&config, 2).unwrap().collect();
        assert_eq!(a, again);
        let other: Vec<Batch> = d.batches(&config, 3).unwrap().collect();
        assert_ne!(a, other);
        let plain = BatchConfig {
            shuffle: false,
            ..config
        };
        let first = d.batches(&plain, 5).unwrap().next().unwrap();
        assert_eq!(first.indices, vec![0, 1, 2, 3]);
    }

    #[test]
    fn bad_batch_sizes_are_errors() {
        let d = dataset(10);
        assert!(matches!(
            d.batches(&BatchConfig::new(0, 0), 0),
            Err(Error::ZeroBatchSize)
        ));
        let err = d.batches(&BatchConfig::new(11, 0), 0).unwrap_err();
        assert!(matches!(
            err,
            Error::BatchTooLarge {
                batch_size: 11,
                len: 10
            }
        ));
        assert!(err.to_string().contains("larger than the dataset"));
        assert_eq!(d.batches(&BatchConfig::new(10, 0), 0).unwrap().count(), 1);
    }
}
