//! Ranks that disagree, leave, panic or never arrive: every rank gets a typed error, none
//! hangs. (A hang would stall this test binary; the timeouts below keep each case short.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use contrast_collective::{Collective, Error, Group, ThreadGroup};

/// Every rank's outcome, in rank order.
fn outcomes<R: Send>(
    world: usize,
    f: impl Fn(&contrast_collective::ThreadMember) -> Result<R, Error> + Sync,
) -> Vec<Result<R, Error>> {
    ThreadGroup::new(world)
        .unwrap()
        .with_timeout(Duration::from_secs(20))
        .run(|member| f(&member))
        .unwrap()
}

#[test]
fn unequal_all_reduce_lengths_fail_on_every_rank() {
    let results = outcomes(3, |c| {
        let mut buf = vec![1.0f64; 2 + usize::from(c.rank() == 1)];
        c.all_reduce_sum(&mut buf)
    });
    for r in results {
        assert_eq!(
            r.unwrap_err(),
            Error::Mismatch {
                op: "all_reduce_sum",
                what: "element count",
                per_rank: vec![2, 3, 2],
            }
        );
    }
}

#[test]
fn unequal_all_gather_lengths_fail_but_varcount_accepts_them() {
    let results = outcomes(2, |c| {
        let rows = vec![0.5f32; 1 + c.rank()];
        let err = c.all_gather(&rows).unwrap_err();
        let ok = c.all_gather_varcount(&rows)?;
        Ok((err, ok.counts))
    });
    for r in results {
        let (err, counts) = r.unwrap();
        assert!(
            matches!(
                err,
                Error::Mismatch {
                    what: "element count",
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(counts, [1, 2]);
    }
}

#[test]
fn different_operations_fail_on_every_rank_and_the_group_goes_on() {
    let results = outcomes(2, |c| {
        let mut buf = [1.0f64];
        let err = if c.rank() == 0 {
            c.all_reduce_sum(&mut buf).unwrap_err()
        } else {
            c.broadcast(&mut buf, 0).unwrap_err()
        };
        // Both saw the same headers and gave up together: the group is still in step.
        c.all_reduce_sum(&mut buf)?;
        Ok((err, buf[0]))
    });
    for r in results {
        let (err, sum) = r.unwrap();
        assert!(
            matches!(&err, Error::Mismatch { what: "operation", per_rank, .. } if per_rank.len() == 2),
            "{err}"
        );
        assert_eq!(sum, 2.0);
    }
}

#[test]
fn different_element_types_fail_on_every_rank() {
    let results = outcomes(2, |c| {
        if c.rank() == 0 {
            c.all_gather(&[1.0f32]).map(|_| ())
        } else {
            c.all_gather(&[1.0f64]).map(|_| ())
        }
    });
    for r in results {
        let err = r.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Mismatch {
                    what: "element type",
                    ..
                }
            ),
            "{err}"
        );
    }
}

#[test]
fn different_roots_and_bad_roots_fail_on_every_rank() {
    let results = outcomes(2, |c| {
        let mut buf = [0u64; 2];
        let differ = c.broadcast(&mut buf, c.rank()).unwrap_err();
        let invalid = c.broadcast(&mut buf, 5).unwrap_err();
        Ok((differ, invalid))
    });
    for r in results {
        let (differ, invalid) = r.unwrap();
        assert!(
            matches!(differ, Error::Mismatch { what: "root", .. }),
            "{differ}"
        );
        assert_eq!(
            invalid,
            Error::InvalidRank {
                what: "root",
                value: 5,
                world: 2
            }
        );
    }
}

#[test]
fn a_rank_that_left_breaks_the_group_for_the_others() {
    let results = outcomes(3, |c| {
        if c.rank() == 2 {
            return Ok(()); // returns at once: its handle is dropped
        }
        let mut buf = [1.0f32];
        c.all_reduce_sum(&mut buf)
    });
    assert!(results[2].is_ok());
    for r in &results[..2] {
        assert_eq!(
            r.as_ref().unwrap_err(),
            &Error::RankLeft {
                op: "all_reduce_sum",
                rank: 2
            }
        );
    }
}

#[test]
fn a_panicking_rank_is_reported_and_does_not_hang_the_others() {
    let group = ThreadGroup::new(2).unwrap();
    let err = group
        .run(|member| {
            if member.rank() == 1 {
                panic!("rank one fails");
            }
            let mut buf = [1.0f64];
            member.all_reduce_sum(&mut buf)
        })
        .unwrap_err();
    assert_eq!(
        err,
        Error::RankPanicked {
            rank: 1,
            message: "rank one fails".into()
        }
    );
}

#[test]
fn a_rank_that_never_arrives_times_out_and_breaks_the_group() {
    // Rank 1 arrives only after rank 0 has given up, whatever the scheduling.
    let rank0_gave_up = AtomicBool::new(false);
    let results = ThreadGroup::new(2)
        .unwrap()
        .with_timeout(Duration::from_millis(100))
        .run(|member| {
            if member.rank() == 1 {
                while !rank0_gave_up.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(5));
                }
                return member.barrier();
            }
            let result = member.barrier();
            rank0_gave_up.store(true, Ordering::Release);
            result
        })
        .unwrap();
    assert!(
        matches!(results[0], Err(Error::Timeout { op: "barrier", .. })),
        "{:?}",
        results[0]
    );
    assert_eq!(
        results[1],
        Err(Error::RankLeft {
            op: "barrier",
            rank: 0
        })
    );
}

#[test]
fn zero_ranks_is_an_error() {
    assert!(matches!(
        ThreadGroup::new(0),
        Err(Error::InvalidRank {
            what: "world size",
            ..
        })
    ));
}
