//! Where a trainer's batches come from: a [`Source`] turns the sample indices of a batch
//! into their views, for any kind of data, and the epoch's plan says which indices form
//! each batch.
//!
//! Every random choice in a source is keyed by `(seed, epoch, sample index, view)`, so a
//! batch is the same whichever thread, chunk or rank builds it.

use contrast_data::shuffled_indices;
use contrast_sampling::sampler::{ClassBalancedSampler, SmallClassPolicy, epoch_rng};
use contrast_sampling::temporal::{Trajectories, window_batches};
use rand::Rng;
use rand::seq::index::sample;

use crate::batch::Batch;
use crate::config::{Method, TrainConfig};
use crate::error::{Error, Result};
use crate::negatives::{Duplicates, Sampling};

/// The training samples of a run, made into batches of views on demand.
pub trait Source: Send + Sync {
    /// Number of samples an epoch draws from.
    fn len(&self) -> usize;

    /// Whether there is no sample.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Class label of every sample (all 0 when the data has none).
    fn labels(&self) -> &[usize];

    /// The views and facts of the samples `indices` in epoch `epoch`.
    fn batch(&self, indices: &[usize], epoch: u64) -> Result<Batch>;

    /// The lengths of the sequences the samples form in order (samples `0..l_0` are the
    /// first, `l_0..l_0 + l_1` the second, ...) when neighbouring samples are neighbours in
    /// time; `None` (the default) when samples are independent.
    fn sequences(&self) -> Option<Vec<usize>> {
        None
    }
}

/// How an epoch is cut into batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// A seeded shuffle cut into full batches (the last short one dropped: the batch size
    /// sets the number of negatives).
    Shuffled,
    /// Class-balanced P x K batches: P = batch_size / K classes, K samples of each.
    ClassBalanced {
        /// Samples per class (K).
        per_class: usize,
    },
    /// `len / batch_size` batches, each drawn uniformly with replacement from the epoch's
    /// stream; `distinct`: no sample twice within one batch (it may recur in the next).
    Replacement {
        /// Never the same sample twice in one batch.
        distinct: bool,
    },
    /// Shuffled windows of up to `length` consecutive samples of one sequence, laid end to
    /// end and cut into batches (`contrast_sampling::temporal::window_batches`), so that
    /// neighbours in time share a batch.
    Windows {
        /// Samples per window.
        length: usize,
    },
}

impl Plan {
    /// P x K batches for the triplet recipe, windows of time steps for the temporal recipe;
    /// otherwise a shuffle, or draws with replacement (`sampling`), distinct within a batch
    /// with `duplicates = "avoid"`.
    pub fn for_config(config: &TrainConfig) -> Self {
        match (config.method, config.sampling) {
            (Method::Triplet, _) => Plan::ClassBalanced {
                per_class: config.samples_per_class,
            },
            (Method::Temporal, _) => Plan::Windows {
                length: config.temporal().window,
            },
            (_, Sampling::Replacement) => Plan::Replacement {
                distinct: config.duplicates == Duplicates::Avoid,
            },
            (_, Sampling::Shuffle) => Plan::Shuffled,
        }
    }

    /// The sample indices of every batch of epoch `epoch`, for `batch_size` samples per batch.
    pub fn batches(
        self,
        source: &dyn Source,
        batch_size: usize,
        seed: u64,
        epoch: u64,
    ) -> Result<Vec<Vec<usize>>> {
        let len = source.len();
        if batch_size == 0 || batch_size > len {
            return Err(Error::Config(format!(
                "batch_size {batch_size} must be between 1 and the {len} training samples"
            )));
        }
        let order = match self {
            Plan::Shuffled => shuffled_indices(len, seed, epoch),
            Plan::ClassBalanced { per_class } => {
                let sampler = ClassBalancedSampler::new(
                    source.labels(),
                    batch_size / per_class,
                    per_class,
                    SmallClassPolicy::WithReplacement,
                    seed,
                )?;
                sampler.batches(epoch).into_iter().flatten().collect()
            }
            Plan::Replacement { distinct } => {
                let mut rng = epoch_rng(seed, epoch);
                let draws = (len / batch_size) * batch_size;
                if distinct {
                    (0..len / batch_size)
                        .flat_map(|_| sample(&mut rng, len, batch_size).into_vec())
                        .collect()
                } else {
                    (0..draws).map(|_| rng.random_range(0..len)).collect()
                }
            }
            Plan::Windows { length } => {
                let lengths = source.sequences().ok_or_else(|| {
                    Error::Config("windowed batches need samples that form sequences".into())
                })?;
                // The stream scheme of `shuffled_indices`: key `seed`, stream `epoch`.
                let mut rng = epoch_rng(seed, epoch);
                let trajectories = Trajectories::new(&lengths)?;
                return Ok(window_batches(&trajectories, length, batch_size, &mut rng)?);
            }
        };
        Ok(order
            .chunks_exact(batch_size)
            .map(<[usize]>::to_vec)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Numbers(Vec<usize>);
    impl Source for Numbers {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn labels(&self) -> &[usize] {
            &self.0
        }
        fn batch(&self, _: &[usize], _: u64) -> Result<Batch> {
            unreachable!("plans never build batches")
        }
    }

    #[test]
    fn a_shuffled_plan_covers_full_batches_once_and_changes_per_epoch() {
        let source = Numbers(vec![0; 10]);
        let plan = Plan::Shuffled.batches(&source, 4, 3, 0).unwrap();
        assert_eq!(plan.len(), 2);
        let mut seen: Vec<usize> = plan.iter().flatten().copied().collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 8);
        assert_eq!(plan, Plan::Shuffled.batches(&source, 4, 3, 0).unwrap());
        assert_ne!(plan, Plan::Shuffled.batches(&source, 4, 3, 1).unwrap());
    }

    #[test]
    fn a_class_balanced_plan_has_k_of_each_class() {
        let source = Numbers((0..40).map(|i| i % 4).collect());
        let plan = Plan::ClassBalanced { per_class: 2 };
        for batch in plan.batches(&source, 8, 0, 0).unwrap() {
            let mut counts = [0; 4];
            batch.iter().for_each(|&i| counts[source.0[i]] += 1);
            assert_eq!(counts, [2; 4], "{batch:?}");
        }
    }

    /// Drawn with replacement, small data repeats samples within a batch; the distinct
    /// plan never does, yet covers the data and changes per epoch.
    #[test]
    fn a_distinct_plan_never_repeats_a_sample_within_a_batch() {
        let source = Numbers(vec![0; 30]);
        let repeats = |distinct| {
            let plan = Plan::Replacement { distinct };
            (0..20)
                .flat_map(|epoch| plan.batches(&source, 10, 1, epoch).unwrap())
                .filter(|batch| {
                    let mut b = batch.clone();
                    b.sort_unstable();
                    b.dedup();
                    b.len() < batch.len()
                })
                .count()
        };
        assert!(
            repeats(false) > 0,
            "with replacement no batch repeated a sample"
        );
        assert_eq!(repeats(true), 0);
        let plan = Plan::Replacement { distinct: true };
        let epoch0 = plan.batches(&source, 10, 1, 0).unwrap();
        assert_eq!(epoch0.len(), 3);
        assert_eq!(epoch0, plan.batches(&source, 10, 1, 0).unwrap());
        assert_ne!(epoch0, plan.batches(&source, 10, 1, 1).unwrap());
        let seen: std::collections::BTreeSet<usize> = (0..10)
            .flat_map(|e| plan.batches(&source, 10, 1, e).unwrap())
            .flatten()
            .collect();
        assert_eq!(seen.len(), 30);
    }

    struct Episodes(Vec<usize>, Vec<usize>);
    impl Source for Episodes {
        fn len(&self) -> usize {
            self.1.len()
        }
        fn labels(&self) -> &[usize] {
            &self.1
        }
        fn batch(&self, _: &[usize], _: u64) -> Result<Batch> {
            unreachable!("plans never build batches")
        }
        fn sequences(&self) -> Option<Vec<usize>> {
            Some(self.0.clone())
        }
    }

    #[test]
    fn a_window_plan_keeps_time_neighbours_together_and_needs_sequences() {
        let source = Episodes(vec![60, 40, 100], vec![0; 200]);
        let plan = Plan::Windows { length: 10 };
        let batches = plan.batches(&source, 50, 1, 0).unwrap();
        assert_eq!(batches.len(), 4);
        assert_eq!(batches, plan.batches(&source, 50, 1, 0).unwrap());
        assert_ne!(batches, plan.batches(&source, 50, 1, 1).unwrap());
        let order = batches.concat();
        let neighbours = order.windows(2).filter(|p| p[1] == p[0] + 1).count();
        assert!(neighbours >= 150, "{neighbours} of 199 neighbours in time");
        let e = plan.batches(&Numbers(vec![0; 10]), 4, 0, 0).unwrap_err();
        assert!(e.to_string().contains("sequences"), "{e}");
    }

    #[test]
    fn a_batch_larger_than_the_data_is_an_error() {
        let e = Plan::Shuffled
            .batches(&Numbers(vec![0; 3]), 4, 0, 0)
            .unwrap_err();
        assert!(e.to_string().contains("batch_size 4"), "{e}");
    }
}
