//! Cross-batch memory (XBM, Wang et al. 2020) for metric learning.
//!
//! Embeddings drift slowly once a model has warmed up, so the embeddings of recent batches
//! can stand in for the current model's: XBM keeps the last `M` embeddings with their labels
//! and pairs every anchor of the current batch with all of them, giving `B x M` pairs per
//! step instead of `B x B`. Pairs are positive when labels match and negative when they
//! differ ([`LabelRule`]).
//!
//! Like [`MemoryQueue`], the memory is read before the current batch is added (see
//! [`CrossBatchMemory::step`]), so an anchor is never paired with its own stored copy;
//! in-batch pairs come from the batch's own [`crate::layout::Labelled`] layout.

use ndarray::{Array2, ArrayView2, NdFloat};

use crate::error::{Error, Result, check_finite, check_len};
use crate::hard_negatives::{TopK, TopKConfig, hardest_negatives};
use crate::layout::{LabelRule, negative_mask, positive_mask};
use crate::queue::MemoryQueue;

/// Pairs of a batch against the memory.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryPairs<A> {
    /// `(B, M)` dot products of the batch rows with the memory rows.
    pub similarities: Array2<A>,
    /// `(B, M)`: `true` where the memory row has the anchor's label.
    pub positives: Array2<bool>,
    /// `(B, M)`: `true` where the memory row has another label.
    pub negatives: Array2<bool>,
}

/// A labelled FIFO of the last `capacity` embeddings.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossBatchMemory<A> {
    queue: MemoryQueue<A>,
}

impl<A: NdFloat> CrossBatchMemory<A> {
    /// An empty memory of `capacity` embeddings of dimension `dim`.
    pub fn new(capacity: usize, dim: usize) -> Result<Self> {
        Ok(Self {
            queue: MemoryQueue::with_labels(capacity, dim)?,
        })
    }

    /// The underlying labelled queue (sizes, FIFO views).
    pub fn queue(&self) -> &MemoryQueue<A> {
        &self.queue
    }

    /// A memory around a labelled queue (e.g. one rebuilt by [`MemoryQueue::restore`]).
    /// Fails when the queue stores no labels.
    pub fn from_queue(queue: MemoryQueue<A>) -> Result<Self> {
        if queue.negative_labels().is_none() {
            return Err(Error::Labels("are required by a cross-batch memory"));
        }
        Ok(Self { queue })
    }

    fn labels(&self) -> &[usize] {
        self.queue.negative_labels().unwrap_or(&[])
    }

    /// Similarities and masks of `batch` (`(B, D)`, labels `(B)`) against the memory.
    pub fn pairs(&self, batch: ArrayView2<'_, A>, labels: &[usize]) -> Result<MemoryPairs<A>> {
        check_len("batch labels", batch.nrows(), labels.len())?;
        check_finite("batch", batch)?;
        let memory = self.queue.negatives();
        if batch.ncols() != memory.ncols() {
            return Err(Error::DimensionMismatch {
                what: "batch",
                expected: memory.ncols(),
                got: batch.ncols(),
            });
        }
        let rule = LabelRule::new(labels, self.labels());
        let (b, m) = (batch.nrows(), memory.nrows());
        Ok(MemoryPairs {
            similarities: batch.dot(&memory.t()),
            positives: positive_mask(&rule, b, m)?,
            negatives: negative_mask(&rule, b, m)?,
        })
    }

    /// The `config.k` hardest memory negatives (other label) of every batch row.
    pub fn hardest_negatives(
        &self,
        batch: ArrayView2<'_, A>,
        labels: &[usize],
        config: &TopKConfig,
    ) -> Result<TopK<A>> {
        let rule = LabelRule::new(labels, self.labels());
        hardest_negatives(batch, self.queue.negatives(), &rule, config)
    }

    /// Adds a batch (after its loss was computed).
    pub fn enqueue(&mut self, batch: ArrayView2<'_, A>, labels: &[usize]) -> Result<()> {
        self.queue.enqueue(batch, Some(labels))
    }

    /// Computes [`CrossBatchMemory::pairs`] with the memory as it was, passes them to
    /// `loss`, then enqueues the batch.
    pub fn step<R>(
        &mut self,
        batch: ArrayView2<'_, A>,
        labels: &[usize],
        loss: impl FnOnce(MemoryPairs<A>) -> R,
    ) -> Result<R> {
        let pairs = self.pairs(batch, labels)?;
        self.queue.step(batch, Some(labels), |_, _| loss(pairs))
    }
}
