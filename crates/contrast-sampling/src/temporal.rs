//! Temporal positives for sequences and reinforcement-learning trajectories (CPC, CURL).
//!
//! Steps of all trajectories are numbered globally, trajectory by trajectory: step `t` of
//! trajectory `τ` is `offset_τ + t`. A **positive** of anchor `(τ, t)` is `(τ, t + k)` with
//! `min_offset <= k <= max_offset` (the window; CPC predicts `k` steps ahead). **Negatives**
//! come from other trajectories ([`NegativeSource::OtherTrajectories`]) or, in addition,
//! from steps of the same trajectory farther than a gap
//! ([`NegativeSource::DistantSteps`]`{ min_gap }`: `|t' - t| > min_gap`, with
//! `min_gap >= max_offset` so that no step of the window is ever a negative).
//!
//! The same-trajectory steps that are not negatives form one contiguous range of global
//! indices, so the negatives of an anchor are "everything but one range" and are sampled
//! without replacement in O(negatives) time, without listing the candidates ([`Candidates`]).
//! [`TemporalLayout`] states the same rule as a [`PairRule`] for a batch of steps, for the
//! masks and miners.
//!
//! [`window_batches`] goes the other way for in-batch negatives: it builds an epoch's batches
//! from windows of consecutive steps, so that a step's neighbours in time, the hardest
//! negatives there are, share its batch.

use std::ops::Range;

use ndarray::Array2;
use rand::Rng;
use rand::seq::SliceRandom;

use crate::error::{Error, Result, invalid};
use crate::layout::{PairLayout, PairRule};

/// A set of trajectories, given by their lengths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trajectories {
    // `offsets[τ]..offsets[τ + 1]` are the global indices of trajectory τ.
    offsets: Vec<usize>,
}

impl Trajectories {
    /// Trajectories of the given lengths. Fails when there are none or one is empty.
    pub fn new(lengths: &[usize]) -> Result<Self> {
        if lengths.is_empty() {
            return Err(Error::Empty {
                what: "trajectories",
            });
        }
        let mut offsets = vec![0];
        for &len in lengths {
            if len == 0 {
                return Err(Error::Empty { what: "trajectory" });
            }
            offsets.push(offsets[offsets.len() - 1] + len);
        }
        Ok(Self { offsets })
    }

    /// Total number of steps.
    pub fn total_steps(&self) -> usize {
        self.offsets[self.offsets.len() - 1]
    }

    /// Number of trajectories.
    pub fn count(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Global indices of trajectory `traj`.
    pub fn steps(&self, traj: usize) -> Range<usize> {
        self.offsets[traj]..self.offsets[traj + 1]
    }

    /// `(trajectory, step)` of a global index (`global < total_steps()`).
    pub fn locate(&self, global: usize) -> (usize, usize) {
        let traj = self.offsets.partition_point(|&o| o <= global) - 1;
        (traj, global - self.offsets[traj])
    }
}

/// Where the negatives of an anchor come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NegativeSource {
    /// Only steps of other trajectories.
    OtherTrajectories,
    /// Other trajectories and same-trajectory steps with `|t' - t| > min_gap`.
    DistantSteps {
        /// Smallest excluded time distance; must be `>= max_offset`.
        min_gap: usize,
    },
}

/// Settings of [`sample_temporal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemporalConfig {
    /// Smallest step offset of a positive (`>= 1`).
    pub min_offset: usize,
    /// Largest step offset of a positive (the window, `>= min_offset`).
    pub max_offset: usize,
    /// Negatives drawn per anchor, without replacement.
    pub negatives: usize,
    /// Where negatives come from.
    pub source: NegativeSource,
}

impl TemporalConfig {
    fn validate(&self) -> Result<()> {
        if self.min_offset == 0 {
            return Err(invalid("min_offset", 0, "a step is not its own positive"));
        }
        if self.max_offset < self.min_offset {
            return Err(invalid(
                "max_offset",
                self.max_offset,
                "must be >= min_offset",
            ));
        }
        if let NegativeSource::DistantSteps { min_gap } = self.source
            && min_gap < self.max_offset
        {
            return Err(invalid("min_gap", min_gap, "must be >= max_offset"));
        }
        Ok(())
    }
}

/// The negatives of one anchor: every global step outside `excluded`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidates {
    total: usize,
    excluded: Range<usize>,
}

impl Candidates {
    /// Candidates of the anchor at global step `anchor` under `source`.
    pub fn of(trajectories: &Trajectories, anchor: usize, source: NegativeSource) -> Self {
        let (traj, t) = trajectories.locate(anchor);
        let steps = trajectories.steps(traj);
        let excluded = match source {
            NegativeSource::OtherTrajectories => steps,
            NegativeSource::DistantSteps { min_gap } => {
                let start = steps.start + t.saturating_sub(min_gap);
                let end = (steps.start + t + min_gap + 1).min(steps.end);
                start..end
            }
        };
        Self {
            total: trajectories.total_steps(),
            excluded,
        }
    }

    /// Number of candidate negatives.
    pub fn len(&self) -> usize {
        self.total - self.excluded.len()
    }

    /// `true` when there is no candidate.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `r`-th candidate in increasing global order (`r < len()`).
    pub fn get(&self, r: usize) -> usize {
        if r < self.excluded.start {
            r
        } else {
            r + self.excluded.len()
        }
    }

    /// `true` when global step `j` is a candidate.
    pub fn contains(&self, j: usize) -> bool {
        j < self.total && !self.excluded.contains(&j)
    }
}

/// One batch of temporal pairs, as global step indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemporalBatch {
    /// Anchor steps `(τ, t)`.
    pub anchors: Vec<usize>,
    /// Their positives `(τ, t + k)`.
    pub positives: Vec<usize>,
    /// `(batch, negatives)` negatives of each anchor, distinct within a row.
    pub negatives: Array2<usize>,
}

/// Samples `batch` anchors uniformly among the steps that have a positive
/// (`t + min_offset < len`), a positive offset `k` uniformly in
/// `min_offset..=min(max_offset, len - 1 - t)`, and `config.negatives` distinct negatives
/// uniformly among the anchor's [`Candidates`]. Fails when no step has a positive or an
/// anchor has fewer candidates than requested.
pub fn sample_temporal(
    trajectories: &Trajectories,
    config: &TemporalConfig,
    batch: usize,
    rng: &mut impl Rng,
) -> Result<TemporalBatch> {
    config.validate()?;
    if batch == 0 {
        return Err(Error::Empty { what: "batch" });
    }
    // cumulative[τ + 1] - cumulative[τ] = anchors with a positive in trajectory τ.
    let mut cumulative = vec![0];
    for traj in 0..trajectories.count() {
        let valid = trajectories
            .steps(traj)
            .len()
            .saturating_sub(config.min_offset);
        cumulative.push(cumulative[cumulative.len() - 1] + valid);
    }
    let valid_total = cumulative[cumulative.len() - 1];
    if valid_total == 0 {
        return Err(Error::Empty {
            what: "steps with a positive in the window",
        });
    }
    let mut out = TemporalBatch {
        anchors: Vec::with_capacity(batch),
        positives: Vec::with_capacity(batch),
        negatives: Array2::zeros((batch, config.negatives)),
    };
    for b in 0..batch {
        let r = rng.random_range(0..valid_total);
        let traj = cumulative.partition_point(|&c| c <= r) - 1;
        let steps = trajectories.steps(traj);
        let t = r - cumulative[traj];
        let max_k = config.max_offset.min(steps.len() - 1 - t);
        let k = rng.random_range(config.min_offset..=max_k);
        let anchor = steps.start + t;
        let candidates = Candidates::of(trajectories, anchor, config.source);
        if candidates.len() < config.negatives {
            return Err(Error::TooFewCandidates {
                anchor,
                available: candidates.len(),
                requested: config.negatives,
            });
        }
        let drawn = rand::seq::index::sample(rng, candidates.len(), config.negatives);
        for (slot, r) in out.negatives.row_mut(b).iter_mut().zip(drawn) {
            *slot = candidates.get(r);
        }
        out.anchors.push(anchor);
        out.positives.push(anchor + k);
    }
    Ok(out)
}

/// One epoch of batches that keep neighbours in time together. Every trajectory is cut into
/// windows of `window` consecutive steps at a random phase (its first window holds
/// `1..=window` steps, so the cuts move from epoch to epoch); the windows of all
/// trajectories are shuffled, laid end to end and cut into batches of `batch` global steps,
/// the last incomplete batch dropped. Every other step is in exactly one batch.
///
/// With a loss whose negatives are the batch's other rows, the steps of a window are each
/// other's negatives: the near past and future of the same trajectory, which only a
/// representation that knows where the system is going can tell apart (CPC draws its
/// negatives from the same sequence). `window = 1` is a plain shuffle of the steps.
///
/// ```
/// use contrast_sampling::temporal::{Trajectories, window_batches};
/// use rand::SeedableRng;
/// let trajectories = Trajectories::new(&[30, 50, 20])?;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
/// let batches = window_batches(&trajectories, 4, 16, &mut rng)?;
/// assert_eq!(batches.len(), 100 / 16);
/// assert!(batches.iter().all(|b| b.len() == 16));
/// # Ok::<(), contrast_sampling::Error>(())
/// ```
///
/// # Errors
/// A window or batch of 0, or a batch larger than all the steps.
pub fn window_batches(
    trajectories: &Trajectories,
    window: usize,
    batch: usize,
    rng: &mut impl Rng,
) -> Result<Vec<Vec<usize>>> {
    if window == 0 {
        return Err(invalid("window", 0, "a window holds at least one step"));
    }
    if batch == 0 || batch > trajectories.total_steps() {
        return Err(invalid(
            "batch",
            batch,
            "must be between 1 and the number of steps",
        ));
    }
    let mut windows: Vec<Range<usize>> = Vec::new();
    for traj in 0..trajectories.count() {
        let steps = trajectories.steps(traj);
        let mut start = steps.start;
        let mut end = start + window - rng.random_range(0..window);
        while start < steps.end {
            windows.push(start..end.min(steps.end));
            start = end;
            end += window;
        }
    }
    windows.shuffle(rng);
    let order: Vec<usize> = windows.into_iter().flatten().collect();
    Ok(order.chunks_exact(batch).map(<[usize]>::to_vec).collect())
}

/// The temporal rule over a batch of steps given as `(trajectory, step)`: positive when in
/// the same trajectory with `min_offset <= |Δt| <= max_offset`, negative per the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemporalLayout {
    steps: Vec<(usize, usize)>,
    config: TemporalConfig,
}

impl TemporalLayout {
    /// Layout of the given steps; `config.negatives` is ignored.
    pub fn new(steps: Vec<(usize, usize)>, config: TemporalConfig) -> Result<Self> {
        config.validate()?;
        if steps.is_empty() {
            return Err(Error::Empty { what: "steps" });
        }
        Ok(Self { steps, config })
    }
}

impl PairRule for TemporalLayout {
    fn is_positive(&self, i: usize, j: usize) -> bool {
        let ((ti, si), (tj, sj)) = (self.steps[i], self.steps[j]);
        let dt = si.abs_diff(sj);
        ti == tj && (self.config.min_offset..=self.config.max_offset).contains(&dt)
    }
    fn is_negative(&self, i: usize, j: usize) -> bool {
        let ((ti, si), (tj, sj)) = (self.steps[i], self.steps[j]);
        match self.config.source {
            NegativeSource::OtherTrajectories => ti != tj,
            NegativeSource::DistantSteps { min_gap } => ti != tj || si.abs_diff(sj) > min_gap,
        }
    }
    fn shape(&self) -> Option<(usize, usize)> {
        Some((self.steps.len(), self.steps.len()))
    }
}

impl PairLayout for TemporalLayout {
    fn rows(&self) -> usize {
        self.steps.len()
    }
}
