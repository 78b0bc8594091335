//! Batch samplers: a fresh permutation every epoch, and class-balanced `P x K` batches.
//!
//! Each epoch draws from its own stream, `ChaCha8Rng::seed_from_u64(seed)` with
//! `set_stream(epoch)`, so epoch `e` is the same whatever was sampled before it and
//! whatever the thread count: same `(seed, epoch)`, same batches, bit for bit.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result, invalid};

/// The random stream of one epoch.
pub fn epoch_rng(seed: u64, epoch: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch);
    rng
}

/// Shuffles `0..n` anew every epoch and cuts it into batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochShuffler {
    n: usize,
    seed: u64,
}

impl EpochShuffler {
    /// A shuffler over `n >= 1` samples.
    pub fn new(n: usize, seed: u64) -> Result<Self> {
        if n == 0 {
            return Err(Error::Empty { what: "dataset" });
        }
        Ok(Self { n, seed })
    }

    /// The permutation of `0..n` for `epoch` (Fisher-Yates on the epoch's stream).
    pub fn permutation(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.n).collect();
        order.shuffle(&mut epoch_rng(self.seed, epoch));
        order
    }

    /// The epoch's permutation cut into batches of `batch_size`; the last, shorter batch is
    /// dropped when `drop_last` is set. Fails on `batch_size = 0`, or when `drop_last`
    /// leaves no batch.
    pub fn batches(
        &self,
        epoch: u64,
        batch_size: usize,
        drop_last: bool,
    ) -> Result<Vec<Vec<usize>>> {
        if batch_size == 0 {
            return Err(invalid("batch_size", 0, "must be at least 1"));
        }
        if drop_last && batch_size > self.n {
            return Err(invalid(
                "batch_size",
                batch_size,
                "larger than the dataset with drop_last: no batch",
            ));
        }
        let order = self.permutation(epoch);
        Ok(order
            .chunks(batch_size)
            .filter(|c| !drop_last || c.len() == batch_size)
            .map(<[usize]>::to_vec)
            .collect())
    }
}

/// What to do with a class holding fewer than `K` samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmallClassPolicy {
    /// Refuse to build the sampler ([`Error::ClassTooSmall`]).
    Error,
    /// Keep the class: take each of its samples once, then fill up to `K` by drawing its
    /// samples again uniformly with replacement.
    WithReplacement,
    /// Leave the class out of sampling.
    Skip,
}

/// Class-balanced `P x K` batches (Hermans et al. 2017): each batch holds `P` distinct
/// classes, drawn uniformly, and `K` samples of each, class after class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassBalancedSampler {
    // (label, sample indices), sorted by label.
    classes: Vec<(usize, Vec<usize>)>,
    p: usize,
    k: usize,
    batches_per_epoch: usize,
    seed: u64,
}

impl ClassBalancedSampler {
    /// A sampler over `labels` (one per sample). Batches per epoch default to
    /// `max(1, samples in usable classes / (P K))`. Fails on empty labels, `P = 0` or
    /// `K = 0`, a small class under [`SmallClassPolicy::Error`], or `P` larger than the
    /// number of usable classes.
    pub fn new(
        labels: &[usize],
        p: usize,
        k: usize,
        policy: SmallClassPolicy,
        seed: u64,
    ) -> Result<Self> {
        if labels.is_empty() {
            return Err(Error::Empty { what: "labels" });
        }
        if p == 0 || k == 0 {
            return Err(invalid(
                "P x K",
                format!("{p} x {k}"),
                "both must be at least 1",
            ));
        }
        let mut by_label: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, &label) in labels.iter().enumerate() {
            by_label.entry(label).or_default().push(i);
        }
        let mut classes = Vec::with_capacity(by_label.len());
        for (label, members) in by_label {
            if members.len() >= k || policy == SmallClassPolicy::WithReplacement {
                classes.push((label, members));
            } else if policy == SmallClassPolicy::Error {
                return Err(Error::ClassTooSmall {
                    class: label,
                    size: members.len(),
                    required: k,
                });
            }
        }
        if p > classes.len() {
            return Err(Error::TooManyClasses {
                requested: p,
                available: classes.len(),
            });
        }
        let samples: usize = classes.iter().map(|(_, m)| m.len()).sum();
        let batches_per_epoch = (samples / (p * k)).max(1);
        Ok(Self {
            classes,
            p,
            k,
            batches_per_epoch,
            seed,
        })
    }

    /// Sets the number of batches drawn per epoch (at least 1).
    pub fn with_batches_per_epoch(mut self, batches: usize) -> Result<Self> {
        if batches == 0 {
            return Err(invalid("batches_per_epoch", 0, "must be at least 1"));
        }
        self.batches_per_epoch = batches;
        Ok(self)
    }

    /// Batches per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        self.batches_per_epoch
    }

    /// The labels that can be drawn, ascending.
    pub fn usable_classes(&self) -> Vec<usize> {
        self.classes.iter().map(|(label, _)| *label).collect()
    }

    /// The batches of `epoch`, each `P K` sample indices, `K` per class, class-major.
    pub fn batches(&self, epoch: u64) -> Vec<Vec<usize>> {
        let mut rng = epoch_rng(self.seed, epoch);
        (0..self.batches_per_epoch)
            .map(|_| {
                let mut batch = Vec::with_capacity(self.p * self.k);
                for c in sample(&mut rng, self.classes.len(), self.p) {
                    let members = &self.classes[c].1;
                    if members.len() >= self.k {
                        batch.extend(
                            sample(&mut rng, members.len(), self.k)
                                .into_iter()
                                .map(|r| members[r]),
                        );
                    } else {
                        batch.extend_from_slice(members);
                        batch.extend(
                            (members.len()..self.k).map(|_| {
                                members[rand::Rng::random_range(&mut rng, 0..members.len())]
                            }),
                        );
                    }
                }
                batch
            })
            .collect()
    }
}
