//! Preparing the next batch on a background thread while the current step runs.
//!
//! [`prefetch`] moves any iterator (of images batches, of index lists, ...) onto a
//! `std::thread` that takes each item and applies the caller's `prepare` closure (in
//! training: the augmentations that make the views; this crate does not know them);
//! [`Batches::prefetch`] is the same for this crate's image batches. Results pass through a rendezvous
//! channel (`sync_channel(0)`), so the worker runs exactly one batch ahead: it finishes the
//! next batch, then waits until the consumer takes it. The sequence is the plain
//! iterator's, each batch paired with `prepare(&batch)`.
//!
//! Dropping the iterator early closes the channel, the worker's pending send fails, and the
//! drop joins the thread, so no thread outlives the iterator. A panic in `prepare` is
//! re-raised in the consumer at the next `next()`, never turned into a silently short epoch.

use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;

use crate::batches::{Batch, Batches};

/// Items with their prepared values, computed one item ahead on a background thread.
#[derive(Debug)]
pub struct Prefetch<B, T> {
    receiver: Option<Receiver<(B, T)>>,
    worker: Option<JoinHandle<()>>,
    remaining: usize,
}

/// Runs `items` on a background thread, yielding `(item, prepare(&item))` in order.
///
/// `prepare` may use rayon inside; it runs on one worker thread, item after item.
///
/// # Panics
/// If the operating system cannot start a thread.
pub fn prefetch<I, T, F>(items: I, mut prepare: F) -> Prefetch<I::Item, T>
where
    I: ExactSizeIterator + Send + 'static,
    I::Item: Send + 'static,
    T: Send + 'static,
    F: FnMut(&I::Item) -> T + Send + 'static,
{
    let remaining = items.len();
    let (sender, receiver) = sync_channel(0);
    let worker = std::thread::Builder::new()
        .name("contrast-data-prefetch".into())
        .spawn(move || {
            for item in items {
                let prepared = prepare(&item);
                if sender.send((item, prepared)).is_err() {
                    break; // the consumer went away: stop early
                }
            }
        })
        .expect("spawning the prefetch thread");
    Prefetch {
        receiver: Some(receiver),
        worker: Some(worker),
        remaining,
    }
}

impl Batches {
    /// Runs this epoch on a background thread, yielding `(batch, prepare(&batch))`
    /// (see [`prefetch`]).
    pub fn prefetch<T, F>(self, prepare: F) -> Prefetch<Batch, T>
    where
        T: Send + 'static,
        F: FnMut(&Batch) -> T + Send + 'static,
    {
        prefetch(self, prepare)
    }
}

impl<B, T> Iterator for Prefetch<B, T> {
    type Item = (B, T);

    fn next(&mut self) -> Option<(B, T)> {
        let item = self.receiver.as_ref()?.recv().ok();
        match item {
            Some(item) => {
                self.remaining -= 1;
                Some(item)
            }
            None => {
                // The worker is done: finished normally, or panicked inside `prepare`.
                self.receiver = None;
                if let Some(worker) = self.worker.take()
                    && let Err(panic) = worker.join()
                {
                    std::panic::resume_unwind(panic);
                }
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<B, T> ExactSizeIterator for Prefetch<B, T> {}

impl<B, T> Drop for Prefetch<B, T> {
    fn drop(&mut self) {
        // Close the channel first so a worker blocked in `send` wakes up and exits.
        self.receiver = None;
        if let Some(worker) = self.worker.take() {
            // A panic here was never observed by the consumer; do not double-panic in drop.
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batches::BatchConfig;
    use crate::dataset::{Dataset, ImageShape, synthetic};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn dataset(n: usize) -> Dataset {
        synthetic(n, ImageShape::new(1, 2, 2), 4)
    }

    /// A stand-in for the augmentations: depends on the images and on the batch identity.
    fn prepare(batch: &Batch) -> Vec<f32> {
        let offset = batch.epoch as f32 + batch.step as f32;
        batch.images.iter().map(|x| x * 2.0 + offset).collect()
    }

    #[test]
    fn prefetch_yields_exactly_the_plain_sequence() {
        let d = dataset(103);
        for config in [
            BatchConfig::new(8, 4),
            BatchConfig {
                drop_last: false,
                ..BatchConfig::new(10, 4)
            },
        ] {
            for epoch in 0..3 {
                let plain: Vec<(Batch, Vec<f32>)> = d
                    .batches(&config, epoch)
                    .unwrap()
                    .map(|b| {
                        let p = prepare(&b);
                        (b, p)
                    })
                    .collect();
                let it = d.batches(&config, epoch).unwrap().prefetch(prepare);
                assert_eq!(it.len(), plain.len());
                let fetched: Vec<(Batch, Vec<f32>)> = it.collect();
                assert_eq!(fetched, plain);
            }
        }
    }

    #[test]
    fn any_exact_size_iterator_can_be_prefetched() {
        let lists: Vec<Vec<usize>> = (0..7).map(|i| vec![i, i * i]).collect();
        let it = prefetch(lists.clone().into_iter(), |l: &Vec<usize>| {
            l.iter().sum::<usize>()
        });
        assert_eq!(it.len(), 7);
        let fetched: Vec<(Vec<usize>, usize)> = it.collect();
        let plain: Vec<(Vec<usize>, usize)> = lists
            .into_iter()
            .map(|l| (l.clone(), l.iter().sum()))
            .collect();
        assert_eq!(fetched, plain);
    }

    #[test]
    fn early_drop_stops_and_joins_the_worker() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let mut it = dataset(400)
            .batches(&BatchConfig::new(2, 0), 0)
            .unwrap()
            .prefetch(move |b| {
                counter.fetch_add(1, Ordering::SeqCst);
                b.step
            });
        assert_eq!(it.next().map(|(_, step)| step), Some(0));
        assert_eq!(it.next().map(|(_, step)| step), Some(1));
        drop(it);
        // The joined worker dropped its closure (and so its clone of the counter)...
        assert_eq!(Arc::strong_count(&calls), 1);
        // ...having prepared at most one batch beyond the two consumed.
        assert!(
            calls.load(Ordering::SeqCst) <= 3,
            "{} calls",
            calls.load(Ordering::SeqCst)
        );
    }

    #[test]
    #[should_panic(expected = "prepare failed on step 2")]
    fn a_panic_in_prepare_reaches_the_consumer() {
        let it = dataset(40)
            .batches(&BatchConfig::new(4, 0), 0)
            .unwrap()
            .prefetch(|b| {
                assert!(b.step != 2, "prepare failed on step {}", b.step);
            });
        let consumed = it.count();
        unreachable!("epoch ended quietly after {consumed} batches");
    }
}
