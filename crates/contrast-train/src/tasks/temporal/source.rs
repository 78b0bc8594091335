//! The training samples of the temporal recipe: every `(t, t + k)` pair of the training
//! episodes, made into batches of two frame-stack views and the actions between them.
//!
//! Sample `i` is the `i`-th pair in episode-then-time order ([`TransitionSet::pairs`]). Its
//! views are the observations `o_t` (view 0) and `o_{t+k}` (view 1), `(N, frames, H, W)`; its
//! context row holds `a_t .. a_{t+k-1}` one-hot, `k * num_actions` values (action `a_{t+j}`
//! at `j * num_actions + a`); its instance id is the global step index of `t`. With the
//! `shift` augmentation, view `v` of the sample is shifted by the stream
//! `(seed, epoch, id, v)`, the same for every frame of the stack (see
//! [`contrast_augment::RandomShift`]); then every view is standardised per pixel
//! ([`PixelStats`]).

use std::sync::Arc;

use contrast_augment::RandomShift;
use contrast_env::{TimePair, TransitionSet};
use ndarray::Array2;

use super::PixelStats;
use crate::batch::{Batch, Input};
use crate::error::{Error, Result};
use crate::source::Source;

/// Every `(t, t + k)` pair of a set of episodes, as a [`Source`] of batches.
pub struct TransitionPairs {
    set: Arc<TransitionSet>,
    pairs: Vec<TimePair>,
    labels: Vec<usize>,
    horizon: usize,
    shift: Option<RandomShift>,
    stats: Arc<PixelStats>,
    seed: u64,
}

impl TransitionPairs {
    /// The pairs `k = horizon` steps apart in `set`, views shifted by `shift` when given,
    /// then standardised by `stats`.
    ///
    /// # Errors
    /// A horizon of 0, or longer than every episode.
    pub fn new(
        set: Arc<TransitionSet>,
        horizon: usize,
        shift: Option<RandomShift>,
        stats: Arc<PixelStats>,
        seed: u64,
    ) -> Result<Self> {
        let pairs = set.pairs(horizon)?;
        Ok(Self {
            labels: vec![0; pairs.len()],
            set,
            pairs,
            horizon,
            shift,
            stats,
            seed,
        })
    }
}

/// The one-hot actions `a_t .. a_{t+k-1}` of every pair, `(n, k * num_actions)`.
pub fn actions_one_hot(set: &TransitionSet, pairs: &[TimePair]) -> Result<Array2<f32>> {
    let a = set.system().num_actions();
    let k = pairs.first().map_or(0, |p| p.future - p.t);
    let mut out = Array2::zeros((pairs.len(), k * a));
    for (row, pair) in pairs.iter().enumerate() {
        for j in 0..pair.future - pair.t {
            out[[row, j * a + set.action(pair.episode, pair.t + j)?]] = 1.0;
        }
    }
    Ok(out)
}

impl Source for TransitionPairs {
    fn len(&self) -> usize {
        self.pairs.len()
    }

    fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// Pairs per episode (episodes too short for the horizon have none).
    fn sequences(&self) -> Option<Vec<usize>> {
        let k = self.horizon;
        let counts = self
            .set
            .episodes()
            .iter()
            .map(|e| (e.len + 1).saturating_sub(k));
        Some(counts.filter(|&c| c > 0).collect())
    }

    fn batch(&self, indices: &[usize], epoch: u64) -> Result<Batch> {
        let pairs = indices
            .iter()
            .map(|&i| {
                self.pairs.get(i).copied().ok_or_else(|| {
                    Error::Config(format!(
                        "sample {i} is past the {} pairs of horizon {}",
                        self.pairs.len(),
                        self.horizon
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let ids = pairs
            .iter()
            .map(|p| Ok(self.set.global_index(p.episode, p.t)? as u64))
            .collect::<Result<Vec<_>>>()?;
        let present: Vec<(usize, usize)> = pairs.iter().map(|p| (p.episode, p.t)).collect();
        let future: Vec<(usize, usize)> = pairs.iter().map(|p| (p.episode, p.future)).collect();
        let mut views = Vec::with_capacity(2);
        for (v, at) in [present, future].iter().enumerate() {
            let stacks = self.set.observations(at)?;
            let mut stacks = match self.shift {
                Some(shift) => shift.batch(stacks.view(), &ids, self.seed, epoch, v as u64)?,
                None => stacks,
            };
            self.stats.apply(&mut stacks)?;
            views.push(Input::Images(stacks));
        }
        Ok(Batch {
            views,
            labels: vec![0; pairs.len()],
            ids,
            context: Some(actions_one_hot(&self.set, &pairs)?),
        })
    }
}
