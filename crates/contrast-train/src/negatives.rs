//! Where a loss's negatives come from, and what happens to two copies of one sample.
//!
//! - `batch`: the batch's other rows (SimCLR: the other `2N - 2`).
//! - `queue`: a FIFO of the keys of past batches, detached (MoCo; with SimCLR the queue
//!   holds past view-2 rows and extends `info_nce`'s negatives). The loss reads the queue
//!   before the batch's keys enter it, so a row never meets its own key as a negative.
//! - `xbm`: cross-batch memory (Wang et al. 2020): the last rows of past batches with their
//!   labels, extra positives and negatives of the label-aware loss (SupCon).
//! - `hardest`: only the `hardest_k` most similar negatives of each anchor stay in its
//!   denominator (the blocked top-k miner of `contrast-sampling`); HCL's soft reweighting
//!   is the loss `hcl` instead.
//!
//! **False negatives.** Two copies of one sample in a batch (sampling with replacement, or
//! data that holds duplicates) must not be each other's negatives. `duplicates = "avoid"`
//! draws batches that never hold a sample twice ([`crate::source::Plan`]);
//! `duplicates = "mask"` removes the rows of the anchor's own sample (same
//! [`crate::batch::Batch::ids`]) from its negatives. The multi-positive losses and SupCon
//! need neither: their labels come from the ids or classes, so a copy is a positive.
//!
//! The memories ([`Memory`]) go into checkpoints row for row (`queue.keys`,
//! `queue.next_row`; `xbm.keys`, `xbm.labels`, `xbm.next_row`), so a resumed run sees the
//! same negatives in the same order as an uninterrupted one.

use contrast_nn::state::StateDict;
use contrast_sampling::cross_batch::CrossBatchMemory;
use contrast_sampling::queue::MemoryQueue;
use ndarray::{Array2, ArrayD, ArrayView2, Ix2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where the negatives come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Negatives {
    /// The batch's other rows.
    Batch,
    /// A FIFO queue of past keys (`queue_size` of them).
    Queue,
    /// Cross-batch memory of past rows with their labels (`queue_size` rows; SupCon).
    Xbm,
    /// Only the `hardest_k` most similar negatives of each anchor in the batch.
    Hardest,
}

impl Negatives {
    /// The name used in config files.
    pub fn name(self) -> &'static str {
        match self {
            Negatives::Batch => "batch",
            Negatives::Queue => "queue",
            Negatives::Xbm => "xbm",
            Negatives::Hardest => "hardest",
        }
    }
}

/// How the samples of a batch are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Sampling {
    /// A seeded shuffle per epoch: no sample twice in an epoch.
    Shuffle,
    /// Every sample of every batch drawn uniformly, with replacement.
    Replacement,
}

/// What happens to two copies of one sample in a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Duplicates {
    /// Nothing: a copy counts as a negative.
    Keep,
    /// The sampler never puts a sample twice in one batch.
    Avoid,
    /// The loss removes the anchor's own sample's rows from its negatives.
    Mask,
}

/// Negatives kept between steps.
#[derive(Clone, Debug, PartialEq)]
pub enum Memory {
    /// A FIFO of past keys (checkpoint prefix `queue`).
    Queue(MemoryQueue<f32>),
    /// Past rows with their labels (checkpoint prefix `xbm`).
    Xbm(CrossBatchMemory<f32>),
}

impl Memory {
    /// An empty queue of `capacity` keys of width `dim`.
    pub fn queue(capacity: usize, dim: usize) -> Result<Self> {
        Ok(Memory::Queue(MemoryQueue::new(capacity, dim)?))
    }

    /// An empty cross-batch memory of `capacity` labelled rows of width `dim`.
    pub fn xbm(capacity: usize, dim: usize) -> Result<Self> {
        Ok(Memory::Xbm(CrossBatchMemory::new(capacity, dim)?))
    }

    fn fifo(&self) -> &MemoryQueue<f32> {
        match self {
            Memory::Queue(queue) => queue,
            Memory::Xbm(xbm) => xbm.queue(),
        }
    }

    fn prefix(&self) -> &'static str {
        match self {
            Memory::Queue(_) => "queue",
            Memory::Xbm(_) => "xbm",
        }
    }

    /// The rows held, in storage order (the order a loss sums them in).
    pub fn rows(&self) -> ArrayView2<'_, f32> {
        self.fifo().negatives()
    }

    /// Their labels, row for row (cross-batch memory only).
    pub fn labels(&self) -> Option<&[usize]> {
        self.fifo().negative_labels()
    }

    /// Number of rows held.
    pub fn len(&self) -> usize {
        self.fifo().len()
    }

    /// Whether no row is held yet (the first step).
    pub fn is_empty(&self) -> bool {
        self.fifo().is_empty()
    }

    /// Adds a batch's rows (after its loss was computed); `labels` for the cross-batch
    /// memory.
    pub fn push(&mut self, rows: ArrayView2<'_, f32>, labels: Option<&[usize]>) -> Result<()> {
        match self {
            Memory::Queue(queue) => queue.enqueue(rows, None)?,
            Memory::Xbm(xbm) => {
                let labels = labels.ok_or_else(|| {
                    Error::Config("the cross-batch memory stores a label per row".into())
                })?;
                xbm.enqueue(rows, labels)?;
            }
        }
        Ok(())
    }

    /// The tensors a checkpoint keeps: the rows oldest first, the next storage row, and
    /// the labels of a cross-batch memory (as `f32`: exact below 2^24).
    pub fn state(&self) -> StateDict<f32> {
        let queue = self.fifo();
        let p = self.prefix();
        let mut state = StateDict::new();
        state.insert(format!("{p}.keys"), queue.keys_oldest_first().into_dyn());
        state.insert(
            format!("{p}.next_row"),
            ArrayD::from_elem(ndarray::IxDyn(&[1]), queue.next_row() as f32),
        );
        if let Some(labels) = queue.labels_oldest_first() {
            let labels: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
            state.insert(
                format!("{p}.labels"),
                ArrayD::from_shape_vec(ndarray::IxDyn(&[labels.len()]), labels)
                    .expect("one label per row"),
            );
        }
        state
    }

    /// The memory rebuilt from a checkpoint's tensors (see [`Memory::state`]), with the
    /// capacity and width of `self`; `self` is unchanged (the caller swaps it in once every
    /// other part of the checkpoint passed its checks). A checkpoint without `next_row`
    /// (written before it was saved) gets the row a fresh queue would have.
    pub fn restored(&self, state: &StateDict<f32>) -> Result<Self> {
        let p = self.prefix();
        let bad = |what: String| Error::Config(format!("checkpoint {p}.{what}"));
        let keys = state
            .get(&format!("{p}.keys"))
            .ok_or_else(|| bad("keys is missing".into()))?
            .clone()
            .into_dimensionality::<Ix2>()
            .map_err(|_| bad("keys must be a matrix".into()))?;
        let queue = self.fifo();
        if keys.ncols() != queue.dim() || keys.nrows() > queue.capacity() {
            return Err(bad(format!(
                "keys is {}x{}, the memory holds at most {}x{}",
                keys.nrows(),
                keys.ncols(),
                queue.capacity(),
                queue.dim()
            )));
        }
        let next_row = match state.get(&format!("{p}.next_row")) {
            Some(v) => whole_numbers(v).and_then(|v| match v.as_slice() {
                [row] => Some(*row),
                _ => None,
            }),
            None => Some(keys.nrows() % queue.capacity()),
        }
        .ok_or_else(|| bad("next_row must be one whole number".into()))?;
        let labels = match self {
            Memory::Queue(_) => None,
            Memory::Xbm(_) => Some(
                state
                    .get(&format!("{p}.labels"))
                    .and_then(whole_numbers)
                    .ok_or_else(|| bad("labels must be whole numbers".into()))?,
            ),
        };
        let rebuilt =
            MemoryQueue::restore(queue.capacity(), keys.view(), labels.as_deref(), next_row)
                .map_err(|e| bad(format!("does not fit the memory: {e}")))?;
        Ok(match self {
            Memory::Queue(_) => Memory::Queue(rebuilt),
            Memory::Xbm(_) => Memory::Xbm(CrossBatchMemory::from_queue(rebuilt)?),
        })
    }
}

/// The values of `v` as whole numbers, or `None` when one is negative or fractional.
fn whole_numbers(v: &ArrayD<f32>) -> Option<Vec<usize>> {
    v.iter()
        .map(|&x| (x >= 0.0 && x.fract() == 0.0).then_some(x as usize))
        .collect()
}

/// Dense labels of the samples of a batch from their instance ids: copies of one sample
/// share a label, the first copy's position; the labels of a multi-positive loss.
pub fn instance_labels(ids: &[u64]) -> Vec<usize> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| ids[..i].iter().position(|x| x == id).unwrap_or(i))
        .collect()
}

/// `rows` repeated for every one of `views` blocks (block-major, as the blocks stack).
pub fn per_view<T: Clone>(rows: &[T], views: usize) -> Vec<T> {
    (0..views).flat_map(|_| rows.iter().cloned()).collect()
}

/// A block's value as a matrix, for a memory.
pub fn as_matrix(value: &ArrayD<f32>, what: &'static str) -> Result<Array2<f32>> {
    value
        .clone()
        .into_dimensionality::<Ix2>()
        .map_err(|_| Error::Shape {
            what,
            expected: vec![0, 0],
            got: value.shape().to_vec(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn instance_labels_give_copies_one_label() {
        assert_eq!(instance_labels(&[7, 3, 7, 9, 3]), vec![0, 1, 0, 3, 1]);
        assert_eq!(instance_labels(&[1, 2, 3]), vec![0, 1, 2]);
        assert_eq!(per_view(&[0, 1], 3), vec![0, 1, 0, 1, 0, 1]);
    }

    #[test]
    fn memories_survive_their_checkpoint_tensors_row_for_row() {
        for mut memory in [Memory::queue(3, 2).unwrap(), Memory::xbm(3, 2).unwrap()] {
            let labels = [1, 2];
            for b in 0..3 {
                let rows = array![[b as f32, 0.0], [b as f32, 1.0]];
                let labels = matches!(memory, Memory::Xbm(_)).then_some(&labels[..]);
                memory.push(rows.view(), labels).unwrap();
                let back = memory.restored(&memory.state()).unwrap();
                assert_eq!(back, memory);
                assert_eq!(back.rows(), memory.rows());
            }
        }
    }

    #[test]
    fn a_spoiled_memory_tensor_is_refused_by_name() {
        let mut memory = Memory::xbm(4, 2).unwrap();
        memory
            .push(array![[1.0, 0.0], [0.0, 1.0]].view(), Some(&[0, 1]))
            .unwrap();
        let good = memory.state();
        let spoil = |key: &str, value: ArrayD<f32>| {
            let mut state = good.clone();
            state.insert(key.into(), value);
            memory.restored(&state).unwrap_err().to_string()
        };
        let e = spoil("xbm.labels", array![0.5f32, 1.0].into_dyn());
        assert!(e.contains("xbm.labels"), "{e}");
        let e = spoil("xbm.next_row", array![3.0f32].into_dyn());
        assert!(e.contains("xbm.") && e.contains("next_row"), "{e}");
        let e = spoil("xbm.keys", Array2::<f32>::zeros((5, 2)).into_dyn());
        assert!(e.contains("xbm.keys is 5x2"), "{e}");
        let mut missing = good.clone();
        missing.remove("xbm.keys");
        assert!(memory.restored(&missing).is_err());
        // A queue checkpoint from before `next_row` was saved still loads.
        let mut queue = Memory::queue(4, 2).unwrap();
        queue.push(array![[1.0, 0.0]].view(), None).unwrap();
        let mut old = queue.state();
        old.remove("queue.next_row");
        assert_eq!(queue.restored(&old).unwrap(), queue);
    }
}
