use std::collections::VecDeque;

use contrast_sampling::Error;
use contrast_sampling::cross_batch::CrossBatchMemory;
use contrast_sampling::hard_negatives::TopKConfig;
use contrast_sampling::queue::MemoryQueue;
use ndarray::{Array2, ArrayView2, array};
use proptest::prelude::*;

/// Batch `b` of `size` keys whose rows are all distinct across batches: row r = [b, r].
fn batch(b: usize, size: usize) -> Array2<f64> {
    Array2::from_shape_fn((size, 2), |(r, c)| if c == 0 { b as f64 } else { r as f64 })
}

fn rows_of(x: ArrayView2<'_, f64>) -> Vec<Vec<f64>> {
    x.outer_iter().map(|r| r.to_vec()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Against a VecDeque model: FIFO order, wrap-around and capacity.
    #[test]
    fn queue_is_a_bounded_fifo(capacity in 1usize..7, sizes in proptest::collection::vec(0usize..9, 1..8)) {
        let mut queue = MemoryQueue::<f64>::with_labels(capacity, 2).unwrap();
        let mut model: VecDeque<(Vec<f64>, usize)> = VecDeque::new();
        for (b, &size) in sizes.iter().enumerate() {
            let keys = batch(b, size);
            let labels: Vec<usize> = (0..size).map(|r| 10 * b + r).collect();
            queue.enqueue(keys.view(), Some(&labels)).unwrap();
            for (row, &l) in keys.outer_iter().zip(&labels) {
                model.push_back((row.to_vec(), l));
                if model.len() > capacity {
                    model.pop_front();
                }
            }
            prop_assert_eq!(queue.len(), model.len());
            prop_assert_eq!(queue.is_full(), model.len() == capacity);
            prop_assert_eq!(rows_of(queue.keys_oldest_first().view()), model.iter().map(|m| m.0.clone()).collect::<Vec<_>>());
            prop_assert_eq!(queue.labels_oldest_first().unwrap(), model.iter().map(|m| m.1).collect::<Vec<_>>());
            // The storage-order view holds the same rows (as a multiset).
            let mut stored = rows_of(queue.negatives());
            let mut fifo = rows_of(queue.keys_oldest_first().view());
            stored.sort_by(|a, b| a.partial_cmp(b).unwrap());
            fifo.sort_by(|a, b| a.partial_cmp(b).unwrap());
            prop_assert_eq!(stored, fifo);
            // Restored from what a checkpoint keeps, the queue is the same, row for row.
            let restored = MemoryQueue::restore(
                capacity,
                queue.keys_oldest_first().view(),
                queue.labels_oldest_first().as_deref(),
                queue.next_row(),
            ).unwrap();
            prop_assert_eq!(&restored, &queue);
        }
    }
}

#[test]
fn restore_refuses_what_no_queue_could_hold() {
    let keys = batch(0, 3);
    let restore = |cap, next, labels: Option<&[usize]>| {
        MemoryQueue::<f64>::restore(cap, keys.view(), labels, next)
    };
    assert!(restore(3, 1, None).is_ok());
    assert!(restore(4, 3, None).is_ok());
    for (cap, next) in [(2, 0), (4, 1), (3, 3)] {
        let e = restore(cap, next, None).unwrap_err();
        assert!(
            matches!(e, Error::InvalidParameter { .. }),
            "{cap} {next}: {e}"
        );
    }
    assert!(restore(3, 0, Some(&[1, 2])).is_err());
    let mut bad = keys.clone();
    bad[[1, 1]] = f64::NAN;
    assert!(MemoryQueue::restore(4, bad.view(), None, 3).is_err());
}

#[test]
fn wrap_around_overwrites_the_oldest_rows_in_place() {
    let mut queue = MemoryQueue::<f64>::new(4, 2).unwrap();
    queue.enqueue(batch(0, 3).view(), None).unwrap();
    queue.enqueue(batch(1, 3).view(), None).unwrap();
    // Storage: slots 0..3 held batch 0; batch 1 filled slot 3, then wrapped to 0 and 1.
    assert_eq!(
        queue.negatives(),
        array![[1.0, 1.0], [1.0, 2.0], [0.0, 2.0], [1.0, 0.0]]
    );
    assert_eq!(
        queue.keys_oldest_first(),
        array![[0.0, 2.0], [1.0, 0.0], [1.0, 1.0], [1.0, 2.0]]
    );
}

#[test]
fn oversized_batch_keeps_its_newest_keys() {
    let mut queue = MemoryQueue::<f64>::new(3, 2).unwrap();
    queue.enqueue(batch(5, 7).view(), None).unwrap();
    assert_eq!(
        queue.keys_oldest_first(),
        array![[5.0, 4.0], [5.0, 5.0], [5.0, 6.0]]
    );
}

/// MoCo order: the loss of batch b sees only keys of batches < b. Enqueuing first (the bug
/// this guards against) would put the batch's own keys among its negatives.
#[test]
fn step_computes_the_loss_before_enqueuing() {
    let mut queue = MemoryQueue::<f64>::new(8, 2).unwrap();
    for b in 0..5 {
        let keys = batch(b, 3);
        let own_keys_seen = queue
            .step(keys.view(), None, |negatives, _| {
                negatives
                    .outer_iter()
                    .filter(|row| row[0] == b as f64)
                    .count()
            })
            .unwrap();
        assert_eq!(
            own_keys_seen, 0,
            "batch {b} saw its own keys among its negatives"
        );
        assert!(queue.negatives().outer_iter().any(|row| row[0] == b as f64));
    }
    // The wrong order exposes the keys: the same check fails.
    let keys = batch(9, 3);
    queue.enqueue(keys.view(), None).unwrap();
    assert_eq!(
        queue
            .negatives()
            .outer_iter()
            .filter(|row| row[0] == 9.0)
            .count(),
        3
    );
}

#[test]
fn label_mask_marks_other_classes() {
    let mut queue = MemoryQueue::<f64>::with_labels(4, 2).unwrap();
    queue.enqueue(batch(0, 3).view(), Some(&[1, 2, 1])).unwrap();
    let mask = queue.negative_mask(&[1, 3]).unwrap();
    assert_eq!(mask, array![[false, true, false], [true, true, true]]);
}

#[test]
fn bad_inputs_are_typed_errors_and_leave_the_queue_unchanged() {
    let mut queue = MemoryQueue::<f64>::with_labels(4, 2).unwrap();
    queue.enqueue(batch(0, 2).view(), Some(&[0, 1])).unwrap();
    let before = queue.clone();
    let wide = Array2::<f64>::zeros((2, 3));
    assert_eq!(
        queue.enqueue(wide.view(), Some(&[0, 0])),
        Err(Error::DimensionMismatch {
            what: "keys",
            expected: 2,
            got: 3
        })
    );
    assert_eq!(
        queue.enqueue(batch(1, 2).view(), None),
        Err(Error::Labels("are required by this queue"))
    );
    assert_eq!(
        queue.enqueue(batch(1, 2).view(), Some(&[0])),
        Err(Error::LengthMismatch {
            what: "key labels",
            expected: 2,
            got: 1
        })
    );
    let mut nan = batch(1, 2);
    nan[[1, 0]] = f64::INFINITY;
    assert_eq!(
        queue.step(nan.view(), Some(&[0, 0]), |_, _| panic!(
            "loss must not run on bad keys"
        )),
        Err(Error::NonFinite {
            what: "keys",
            row: 1,
            col: 0
        })
    );
    assert_eq!(queue, before);
    let mut plain = MemoryQueue::<f64>::new(4, 2).unwrap();
    assert_eq!(
        plain.enqueue(batch(0, 1).view(), Some(&[0])),
        Err(Error::Labels("given to a queue built without labels"))
    );
    assert!(plain.negative_mask(&[0]).is_err());
    assert!(matches!(
        MemoryQueue::<f32>::new(0, 2),
        Err(Error::InvalidParameter {
            name: "capacity",
            ..
        })
    ));
}

#[test]
fn cross_batch_memory_pairs_and_order() {
    let mut xbm = CrossBatchMemory::<f64>::new(6, 2).unwrap();
    let first = array![[1.0, 0.0], [0.0, 1.0]];
    let pairs = xbm.step(first.view(), &[0, 1], |p| p).unwrap();
    assert_eq!(
        pairs.similarities.dim(),
        (2, 0),
        "memory is empty during the first batch"
    );
    let second = array![[1.0, 1.0], [2.0, 0.0], [0.0, 3.0]];
    let pairs = xbm.step(second.view(), &[1, 0, 2], |p| p).unwrap();
    assert_eq!(
        pairs.similarities,
        array![[1.0, 1.0], [2.0, 0.0], [0.0, 3.0]]
    );
    assert_eq!(
        pairs.positives,
        array![[false, true], [true, false], [false, false]]
    );
    assert_eq!(
        pairs.negatives,
        array![[true, false], [false, true], [true, true]]
    );
    assert_eq!(xbm.queue().len(), 5);
    let top = xbm
        .hardest_negatives(second.view(), &[1, 0, 2], &TopKConfig::new(1))
        .unwrap();
    // Memory = first (labels 0, 1) then second (1, 0, 2). Query [2, 0] has label 0, so its
    // negatives are rows 1 [0, 1], 2 [1, 1] and 4 [0, 3]; the most similar is row 2.
    assert_eq!(top.indices[[1, 0]], 2);
    assert_eq!(
        xbm.pairs(second.view(), &[1]),
        Err(Error::LengthMismatch {
            what: "batch labels",
            expected: 3,
            got: 1
        })
    );
}

#[test]
fn cross_batch_memory_wraps_only_a_labelled_queue() {
    let mut xbm = CrossBatchMemory::<f64>::new(3, 2).unwrap();
    xbm.enqueue(batch(0, 2).view(), &[4, 5]).unwrap();
    let q = xbm.queue();
    let rebuilt = MemoryQueue::restore(
        3,
        q.keys_oldest_first().view(),
        q.labels_oldest_first().as_deref(),
        q.next_row(),
    )
    .unwrap();
    assert_eq!(CrossBatchMemory::from_queue(rebuilt).unwrap(), xbm);
    let plain = MemoryQueue::<f64>::new(3, 2).unwrap();
    assert_eq!(
        CrossBatchMemory::from_queue(plain).unwrap_err(),
        Error::Labels("are required by a cross-batch memory")
    );
}
