//! MoCo memory queue: a FIFO of the `K` most recent keys, `(K, D)`, with wrap-around.
//!
//! He et al. 2020 (MoCo) compare each query `q` with its positive key `k+` and with the `K`
//! keys of earlier batches held here: `l = -log exp(q.k+/T) / (exp(q.k+/T) + sum_j exp(q.n_j/T))`.
//! The order matters: **compute the loss with the current queue, then enqueue this batch's
//! keys**. Enqueuing first would put each query's own positive key among its negatives
//! (a known bug in a popular library). [`MemoryQueue::step`] enforces the order: it hands the
//! current negatives to the loss closure, and only enqueues once the closure has returned.
//!
//! Storage is a ring buffer: new keys overwrite the oldest rows. [`MemoryQueue::negatives`]
//! returns the filled rows in storage order (order does not matter to a loss);
//! [`MemoryQueue::keys_oldest_first`] returns them in FIFO order. A batch larger than `K`
//! keeps only its last `K` keys. Keys are copied in (detached: the queue holds values, not
//! graph nodes). Optional labels, one per key, let a loss drop same-class false negatives.

use ndarray::{Array2, ArrayView2, Axis, NdFloat, s};

use crate::error::{Error, Result, check_finite, check_len, invalid};
use crate::layout::{LabelRule, negative_mask};

/// A FIFO of `capacity` keys of dimension `dim`, optionally with one label per key.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryQueue<A> {
    keys: Array2<A>,
    labels: Option<Vec<usize>>,
    head: usize,
    len: usize,
}

impl<A: NdFloat> MemoryQueue<A> {
    /// An empty queue of `capacity` keys of dimension `dim` (both must be >= 1).
    pub fn new(capacity: usize, dim: usize) -> Result<Self> {
        if capacity == 0 {
            return Err(invalid("capacity", capacity, "must be at least 1"));
        }
        if dim == 0 {
            return Err(invalid("dim", dim, "must be at least 1"));
        }
        Ok(Self {
            keys: Array2::zeros((capacity, dim)),
            labels: None,
            head: 0,
            len: 0,
        })
    }

    /// An empty queue that stores one class label per key; every enqueue must bring labels.
    pub fn with_labels(capacity: usize, dim: usize) -> Result<Self> {
        let mut queue = Self::new(capacity, dim)?;
        queue.labels = Some(vec![0; capacity]);
        Ok(queue)
    }

    /// Maximum number of keys `K`.
    pub fn capacity(&self) -> usize {
        self.keys.nrows()
    }

    /// Key dimension `D`.
    pub fn dim(&self) -> usize {
        self.keys.ncols()
    }

    /// Number of keys held (grows to `capacity`, then stays there).
    pub fn len(&self) -> usize {
        self.len
    }

    /// `true` before the first enqueue.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `true` once `capacity` keys have been enqueued.
    pub fn is_full(&self) -> bool {
        self.len == self.capacity()
    }

    /// The keys held, `(len, dim)`, in storage order: the negatives for the next loss.
    pub fn negatives(&self) -> ArrayView2<'_, A> {
        self.keys.slice(s![..self.len, ..])
    }

    /// Labels of [`MemoryQueue::negatives`], row for row, when the queue stores labels.
    pub fn negative_labels(&self) -> Option<&[usize]> {
        self.labels.as_deref().map(|l| &l[..self.len])
    }

    /// The storage row the next key goes to (once full, the row of the oldest key). With
    /// [`MemoryQueue::keys_oldest_first`] it is all [`MemoryQueue::restore`] needs to rebuild
    /// the queue row for row.
    pub fn next_row(&self) -> usize {
        self.head
    }

    /// A queue of `capacity` rows rebuilt from its keys oldest first (`(len, dim)`), their
    /// labels (for a queue that stores labels) and its [`MemoryQueue::next_row`]: every key
    /// lands in the storage row it had, so a loss that sums over
    /// [`MemoryQueue::negatives`] adds in the same order as before (a resumed run matches
    /// an uninterrupted one bit for bit). Fails on more keys than `capacity`, labels of
    /// another length, non-finite keys, or a `next_row` that no queue of that length has
    /// (before the queue is full it equals the length).
    pub fn restore(
        capacity: usize,
        keys_oldest_first: ArrayView2<'_, A>,
        labels: Option<&[usize]>,
        next_row: usize,
    ) -> Result<Self> {
        let mut queue = match labels {
            Some(_) => Self::with_labels(capacity, keys_oldest_first.ncols())?,
            None => Self::new(capacity, keys_oldest_first.ncols())?,
        };
        let len = keys_oldest_first.nrows();
        if len > capacity {
            return Err(invalid(
                "restored keys",
                len,
                "must not exceed the queue's capacity",
            ));
        }
        let head_ok = if len < capacity {
            next_row == len
        } else {
            next_row < capacity
        };
        if !head_ok {
            return Err(invalid(
                "next_row",
                next_row,
                "must equal the number of keys before the queue is full, and be below the capacity after",
            ));
        }
        queue.check_batch(keys_oldest_first, labels)?;
        // Oldest first from the oldest key's row: `next_row` once full, 0 before.
        let start = if len == capacity { next_row } else { 0 };
        for (i, key) in keys_oldest_first.outer_iter().enumerate() {
            let row = (start + i) % capacity;
            queue.keys.row_mut(row).assign(&key);
            if let (Some(stored), Some(given)) = (queue.labels.as_mut(), labels) {
                stored[row] = given[i];
            }
        }
        queue.len = len;
        queue.head = next_row % capacity;
        Ok(queue)
    }

    /// Storage rows from oldest to newest.
    fn fifo_rows(&self) -> Vec<usize> {
        let start = if self.is_full() { self.head } else { 0 };
        (0..self.len)
            .map(|i| (start + i) % self.capacity())
            .collect()
    }

    /// The keys held, oldest first, `(len, dim)`.
    pub fn keys_oldest_first(&self) -> Array2<A> {
        self.keys.select(Axis(0), &self.fifo_rows())
    }

    /// The labels held, oldest first, when the queue stores labels.
    pub fn labels_oldest_first(&self) -> Option<Vec<usize>> {
        let labels = self.labels.as_ref()?;
        Some(self.fifo_rows().into_iter().map(|r| labels[r]).collect())
    }

    /// `(queries, len)` mask: `true` where a queue row is a true negative of the query,
    /// i.e. has another label. Fails when the queue has no labels.
    pub fn negative_mask(&self, query_labels: &[usize]) -> Result<Array2<bool>> {
        let bank = self
            .negative_labels()
            .ok_or(Error::Labels("are not stored in this queue"))?;
        negative_mask(
            &LabelRule::new(query_labels, bank),
            query_labels.len(),
            self.len,
        )
    }

    fn check_batch(&self, keys: ArrayView2<'_, A>, labels: Option<&[usize]>) -> Result<()> {
        if keys.ncols() != self.dim() {
            return Err(Error::DimensionMismatch {
                what: "keys",
                expected: self.dim(),
                got: keys.ncols(),
            });
        }
        check_finite("keys", keys)?;
        match (&self.labels, labels) {
            (Some(_), Some(l)) => check_len("key labels", keys.nrows(), l.len()),
            (Some(_), None) => Err(Error::Labels("are required by this queue")),
            (None, Some(_)) => Err(Error::Labels("given to a queue built without labels")),
            (None, None) => Ok(()),
        }
    }

    /// Appends `keys` (`(b, dim)`) and their labels, overwriting the oldest keys once full.
    /// Fails, leaving the queue unchanged, on a dimension mismatch, non-finite keys, or
    /// labels missing, unexpected or of the wrong length.
    pub fn enqueue(&mut self, keys: ArrayView2<'_, A>, labels: Option<&[usize]>) -> Result<()> {
        self.check_batch(keys, labels)?;
        let cap = self.capacity();
        // Only the newest `cap` keys of an oversized batch can survive.
        let skip = keys.nrows().saturating_sub(cap);
        for (i, key) in keys.outer_iter().enumerate().skip(skip) {
            self.keys.row_mut(self.head).assign(&key);
            if let (Some(stored), Some(given)) = (self.labels.as_mut(), labels) {
                stored[self.head] = given[i];
            }
            self.head = (self.head + 1) % cap;
        }
        self.len = (self.len + keys.nrows() - skip).min(cap);
        Ok(())
    }

    /// One training step in the right order: validates `keys`, calls
    /// `loss(negatives, negative_labels)` with the queue as it was before this batch,
    /// then enqueues `keys`. The keys of this batch are never among its own negatives.
    pub fn step<R>(
        &mut self,
        keys: ArrayView2<'_, A>,
        labels: Option<&[usize]>,
        loss: impl FnOnce(ArrayView2<'_, A>, Option<&[usize]>) -> R,
    ) -> Result<R> {
        self.check_batch(keys, labels)?;
        let out = loss(self.negatives(), self.negative_labels());
        self.enqueue(keys, labels)?;
        Ok(out)
    }
}
