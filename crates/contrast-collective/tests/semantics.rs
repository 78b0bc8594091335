//! What every operation returns, on thread groups of 1 to 5 ranks and on `Single`: rank
//! order, uneven counts, rank-order sums bit-identical on every rank, broadcast from any root,
//! byte counters against their formulas.

use std::sync::Arc;

use contrast_collective::{
    Collective, CommStats, Communicator, Group, Result, Single, ThreadGroup, shard_range,
};
use proptest::prelude::*;

/// Runs `f` on every rank of a thread group of `world` and unwraps each rank's result.
fn on_group<R: Send>(world: usize, f: impl Fn(&dyn Communicator) -> Result<R> + Sync) -> Vec<R> {
    ThreadGroup::new(world)
        .unwrap()
        .run(|member| f(&member))
        .unwrap()
        .into_iter()
        .collect::<Result<Vec<R>>>()
        .unwrap()
}

/// Rank `r`'s buffer in the tests: `n` values that differ between ranks and positions.
fn values(rank: usize, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| (rank * 31 + i * 7) as f64 * 0.37 - 3.0)
        .collect()
}

#[test]
fn all_gather_concatenates_in_rank_order() {
    for world in 1..=5 {
        let results = on_group(world, |c| {
            let mine = values(c.rank(), 3);
            c.all_gather(&mine)
        });
        let expected: Vec<f64> = (0..world).flat_map(|r| values(r, 3)).collect();
        for got in results {
            assert_eq!(got, expected, "world {world}");
        }
    }
}

#[test]
fn varcount_gather_handles_uneven_and_empty_shards() {
    // 7 rows on 2 ranks, 2 rows on 3 ranks (one empty shard), 10 rows on 4 ranks.
    for (len, world) in [(7, 2), (2, 3), (10, 4), (0, 2)] {
        let results = on_group(world, |c| {
            let shard = shard_range(len, c.world(), c.rank())?;
            let mine: Vec<f32> = shard.map(|i| i as f32 * 0.5).collect();
            c.all_gather_varcount(&mine)
        });
        let expected: Vec<f32> = (0..len).map(|i| i as f32 * 0.5).collect();
        let counts: Vec<usize> = (0..world)
            .map(|r| shard_range(len, world, r).unwrap().len())
            .collect();
        for got in &results {
            assert_eq!(got.data, expected);
            assert_eq!(got.counts, counts);
            for r in 0..world {
                let range = shard_range(len, world, r).unwrap();
                assert_eq!(got.part(r), &expected[range.clone()]);
                assert_eq!(got.offset(r), range.start);
            }
        }
    }
}

#[test]
fn labels_travel_as_u64() {
    let results = on_group(3, |c| {
        let labels: Vec<u64> = vec![c.rank() as u64 * 10, 1];
        c.all_gather_varcount(&labels[..c.rank().min(2)])
    });
    for got in results {
        assert_eq!(got.data, [10, 20, 1]);
        assert_eq!(got.counts, [0, 1, 2]);
    }
}

#[test]
fn all_reduce_adds_in_rank_order() {
    // In f64, (1e16 + 1) - 1e16 = 0 but 1e16 + (1 - 1e16) = 1: only the left fold in rank
    // order gives 0, and every rank must get it.
    let contributions = [1e16, 1.0, -1e16];
    let results = on_group(3, |c| {
        let mut x = [contributions[c.rank()]];
        c.all_reduce_sum(&mut x)?;
        Ok(x[0])
    });
    assert_eq!(results, [0.0, 0.0, 0.0]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random buffers on 1 to 4 ranks: the all-reduce is the rank-order left fold, the same
    /// bits on every rank.
    #[test]
    fn all_reduce_is_the_rank_order_fold_on_every_rank(
        world in 1usize..=4,
        n in 0usize..20,
        seed in any::<u64>(),
    ) {
        let input = |rank: usize| -> Vec<f32> {
            (0..n)
                .map(|i| {
                    let k = seed.wrapping_mul(6364136223846793005).wrapping_add((rank * 97 + i) as u64);
                    ((k >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 10f32.powi((k % 7) as i32 - 3)
                })
                .collect()
        };
        let results = on_group(world, |c| {
            let mut x = input(c.rank());
            c.all_reduce_sum(&mut x)?;
            Ok(x)
        });
        let mut expected = input(0);
        for r in 1..world {
            for (e, v) in expected.iter_mut().zip(input(r)) {
                *e += v;
            }
        }
        for got in results {
            let bits: Vec<u32> = got.iter().map(|v| v.to_bits()).collect();
            let want: Vec<u32> = expected.iter().map(|v| v.to_bits()).collect();
            prop_assert_eq!(bits, want);
        }
    }
}

#[test]
fn broadcast_copies_the_roots_buffer() {
    for world in 1..=4 {
        for root in 0..world {
            let results = on_group(world, |c| {
                let mut buf = values(c.rank(), 4);
                c.broadcast(&mut buf, root)?;
                Ok(buf)
            });
            for got in results {
                assert_eq!(got, values(root, 4));
            }
        }
    }
}

#[test]
fn counts_are_exchanged_exactly() {
    // Counts above 2^53 would not survive a trip through f64; they travel as u64.
    let big = (1usize << 60) + 1;
    let results = on_group(3, |c| c.all_gather_count(big + c.rank()));
    for got in results {
        assert_eq!(got, [big, big + 1, big + 2]);
    }
}

#[test]
fn barrier_returns_on_every_rank() {
    assert_eq!(on_group(4, |c| c.barrier()), vec![(); 4]);
}

#[test]
fn byte_counters_follow_the_formulas() {
    // 2 ranks with 3 and 2 f64 rows; then an all-reduce of 4 f32; then a broadcast of 5 u64.
    let results = on_group(2, |c| {
        let before = c.stats();
        let mine = vec![1.0f64; 3 - c.rank()];
        c.all_gather_varcount(&mine)?;
        let mut grads = [0.5f32; 4];
        c.all_reduce_sum(&mut grads)?;
        let mut buf = [7u64; 5];
        c.broadcast(&mut buf, 1)?;
        c.barrier()?;
        Ok(c.stats().since(&before))
    });
    let header = |calls: u64| contrast_collective::OpBytes {
        calls,
        sent: 32 * calls,
        received: 32 * calls,
    };
    for (rank, stats) in results.iter().enumerate() {
        let own = (3 - rank) as u64 * 8;
        let other = (2 + rank) as u64 * 8;
        assert_eq!(stats.all_gather.calls, 1);
        assert_eq!(
            (stats.all_gather.sent, stats.all_gather.received),
            (own, other)
        );
        assert_eq!(stats.all_reduce.calls, 1);
        assert_eq!((stats.all_reduce.sent, stats.all_reduce.received), (16, 16));
        let bcast = if rank == 1 { (40, 0) } else { (0, 40) };
        assert_eq!((stats.broadcast.sent, stats.broadcast.received), bcast);
        assert_eq!(stats.header, header(4));
        assert_eq!(
            stats.total_bytes(),
            own + other + 32 + 40 + 2 * 32 * 4,
            "{stats:?}"
        );
    }
}

#[test]
fn single_returns_its_input_and_counts_only_sent_bytes() {
    let single = Single::new();
    assert_eq!((single.rank(), single.world()), (0, 1));
    let gathered = single.all_gather_varcount(&[1.0f32, -0.0]).unwrap();
    assert_eq!(gathered.counts, [2]);
    assert!(gathered.data[1].is_sign_negative());
    let mut x = [3.0f64, -0.0];
    single.all_reduce_sum(&mut x).unwrap();
    assert!(x[0] == 3.0 && x[1].is_sign_negative());
    let mut labels = [4u64];
    single.broadcast(&mut labels, 0).unwrap();
    assert_eq!(labels, [4]);
    single.barrier().unwrap();
    let stats = single.stats();
    assert_eq!(stats.all_gather.sent, 8);
    assert_eq!(stats.all_reduce.sent, 16);
    assert_eq!(stats.broadcast.sent, 8);
    assert_eq!(stats.header.calls, 4);
    let received: u64 = [
        stats.all_gather,
        stats.all_reduce,
        stats.broadcast,
        stats.header,
    ]
    .iter()
    .map(|o| o.received)
    .sum();
    assert_eq!(received, 0);
    assert_eq!(CommStats::default().total_bytes(), 0);
}

#[test]
fn a_communicator_upcasts_to_each_element_type() {
    let single: Arc<dyn Communicator> = Arc::new(Single::new());
    let for_f32: Arc<dyn Collective<f32>> = single.clone();
    let for_labels: Arc<dyn Collective<u64>> = single;
    assert_eq!(for_f32.all_gather(&[1.5]).unwrap(), [1.5]);
    assert_eq!(for_labels.all_gather(&[9]).unwrap(), [9]);
}

#[test]
fn a_member_prints_its_place_not_the_mailbox() {
    let members = ThreadGroup::new(2).unwrap().members();
    assert_eq!(
        format!("{:?}", members[1]),
        "ThreadMember { rank: 1, world: 2, .. }"
    );
}

/// The busy counter holds the time a rank waits inside an operation: rank 0 reaches the
/// all-reduce 100 ms before rank 1 and counts at least that wait; rank 1 arrives last and
/// waits for no one, far less.
#[test]
fn busy_time_counts_the_wait_for_other_ranks() {
    let busy = on_group(2, |c| {
        if c.rank() == 1 {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let before = c.stats();
        let mut x = [1.0f32; 4];
        Collective::<f32>::all_reduce_sum(c, &mut x)?;
        Ok(c.stats().since(&before).busy_ns)
    });
    assert!(busy[0] >= 90_000_000, "rank 0 waited {} ns", busy[0]);
    assert!(
        busy[1] < busy[0] / 2,
        "rank 1 {} ns, rank 0 {} ns",
        busy[1],
        busy[0]
    );
}
