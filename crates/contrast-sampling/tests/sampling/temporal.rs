use contrast_sampling::Error;
use contrast_sampling::layout::{PairLayout, PairRule};
use contrast_sampling::temporal::{
    Candidates, NegativeSource, TemporalConfig, TemporalLayout, Trajectories, sample_temporal,
    window_batches,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn source(gap: Option<usize>) -> NegativeSource {
    gap.map_or(NegativeSource::OtherTrajectories, |min_gap| {
        NegativeSource::DistantSteps { min_gap }
    })
}

/// Brute-force negative test from (trajectory, step) pairs.
fn is_negative(a: (usize, usize), b: (usize, usize), gap: Option<usize>) -> bool {
    a.0 != b.0 || gap.is_some_and(|g| a.1.abs_diff(b.1) > g)
}

fn config(
    min_offset: usize,
    window: usize,
    negatives: usize,
    gap: Option<usize>,
) -> TemporalConfig {
    TemporalConfig {
        min_offset,
        max_offset: window,
        negatives,
        source: source(gap),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn candidates_equal_brute_force_enumeration(
        lengths in proptest::collection::vec(1usize..8, 1..5), gap in proptest::option::of(0usize..4), pick in 0usize..100,
    ) {
        let traj = Trajectories::new(&lengths).unwrap();
        let anchor = pick % traj.total_steps();
        let cands = Candidates::of(&traj, anchor, source(gap));
        let expected: Vec<usize> = (0..traj.total_steps())
            .filter(|&j| is_negative(traj.locate(anchor), traj.locate(j), gap))
            .collect();
        let got: Vec<usize> = (0..cands.len()).map(|r| cands.get(r)).collect();
        prop_assert_eq!(&got, &expected);
        for j in 0..traj.total_steps() {
            prop_assert_eq!(cands.contains(j), expected.contains(&j));
        }
    }

    #[test]
    fn sampled_pairs_obey_the_window_and_negatives_the_rule(
        lengths in proptest::collection::vec(1usize..10, 2..5),
        min_offset in 1usize..3, extra in 0usize..3, gap_extra in proptest::option::of(0usize..3),
        negatives in 0usize..3, seed: u64,
    ) {
        let window = min_offset + extra;
        let gap = gap_extra.map(|g| window + g);
        let traj = Trajectories::new(&lengths).unwrap();
        let cfg = config(min_offset, window, negatives, gap);
        let result = sample_temporal(&traj, &cfg, 6, &mut ChaCha8Rng::seed_from_u64(seed));
        let Ok(batch) = result else {
            // Only two failures are legitimate, and each must be true of the input.
            match result {
                Err(Error::TooFewCandidates { anchor, available, requested }) => {
                    let brute = (0..traj.total_steps())
                        .filter(|&j| is_negative(traj.locate(anchor), traj.locate(j), gap))
                        .count();
                    prop_assert_eq!(available, brute);
                    prop_assert!(available < requested && requested == negatives);
                }
                Err(Error::Empty { .. }) => prop_assert!(lengths.iter().all(|&l| l <= min_offset)),
                other => prop_assert!(false, "unexpected {:?}", other),
            }
            return Ok(());
        };
        for (b, (&a, &p)) in batch.anchors.iter().zip(&batch.positives).enumerate() {
            let ((ta, sa), (tp, sp)) = (traj.locate(a), traj.locate(p));
            prop_assert_eq!(ta, tp);
            prop_assert!((min_offset..=window).contains(&(sp - sa)));
            let row = batch.negatives.row(b).to_vec();
            for (i, &n) in row.iter().enumerate() {
                prop_assert!(is_negative((ta, sa), traj.locate(n), gap));
                prop_assert!(!row[..i].contains(&n), "negative {} repeated", n);
            }
        }
        let again = sample_temporal(&traj, &cfg, 6, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
        prop_assert_eq!(again, batch);
    }

    #[test]
    fn temporal_layout_masks_match_brute_force(
        steps in proptest::collection::vec((0usize..3, 0usize..8), 1..10),
        min_offset in 1usize..3, extra in 0usize..3, gap_extra in proptest::option::of(0usize..3),
    ) {
        let window = min_offset + extra;
        let gap = gap_extra.map(|g| window + g);
        let layout = TemporalLayout::new(steps.clone(), config(min_offset, window, 0, gap)).unwrap();
        let (pos, neg) = (layout.positive_mask(), layout.negative_mask());
        for (i, &a) in steps.iter().enumerate() {
            for (j, &b) in steps.iter().enumerate() {
                let dt = a.1.abs_diff(b.1);
                prop_assert_eq!(pos[[i, j]], a.0 == b.0 && dt >= min_offset && dt <= window);
                prop_assert_eq!(neg[[i, j]], is_negative(a, b, gap));
                prop_assert!(!(pos[[i, j]] && neg[[i, j]]));
                prop_assert_eq!(layout.is_negative(i, j), neg[[i, j]]);
            }
        }
    }
}

#[test]
fn anchors_cover_every_valid_step() {
    // Lengths 3 and 1 with min_offset 1: only steps 0 and 1 of trajectory 0 have a positive.
    let traj = Trajectories::new(&[3, 1]).unwrap();
    let cfg = config(1, 2, 1, None);
    let batch = sample_temporal(&traj, &cfg, 200, &mut ChaCha8Rng::seed_from_u64(3)).unwrap();
    assert!(batch.anchors.contains(&0) && batch.anchors.contains(&1));
    assert!(batch.anchors.iter().all(|&a| a < 2));
    assert!(
        batch.negatives.iter().all(|&n| n == 3),
        "the only other trajectory is step 3"
    );
    assert!(
        batch.positives.contains(&2),
        "offset 2 from step 0 is in the window"
    );
}

#[test]
fn bad_inputs_are_typed_errors() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    assert_eq!(
        Trajectories::new(&[]),
        Err(Error::Empty {
            what: "trajectories"
        })
    );
    assert_eq!(
        Trajectories::new(&[3, 0]),
        Err(Error::Empty { what: "trajectory" })
    );
    let traj = Trajectories::new(&[4, 2]).unwrap();
    assert!(matches!(
        sample_temporal(&traj, &config(0, 1, 1, None), 1, &mut rng),
        Err(Error::InvalidParameter {
            name: "min_offset",
            ..
        })
    ));
    assert!(matches!(
        sample_temporal(&traj, &config(1, 3, 1, Some(2)), 1, &mut rng),
        Err(Error::InvalidParameter {
            name: "min_gap",
            ..
        })
    ));
    assert!(matches!(
        sample_temporal(&traj, &config(1, 1, 3, None), 4, &mut rng),
        Err(Error::TooFewCandidates { requested: 3, .. })
    ));
    assert_eq!(
        sample_temporal(
            &Trajectories::new(&[2, 2]).unwrap(),
            &config(2, 2, 1, None),
            1,
            &mut rng
        ),
        Err(Error::Empty {
            what: "steps with a positive in the window"
        })
    );
    assert_eq!(
        sample_temporal(&traj, &config(1, 1, 1, None), 0, &mut rng),
        Err(Error::Empty { what: "batch" })
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every step lands in at most one batch, only the last incomplete batch is dropped, and
    /// the same stream gives the same batches.
    #[test]
    fn window_batches_cover_every_step_once_in_windows(
        lengths in proptest::collection::vec(1usize..40, 1..6), window in 1usize..9,
        batch in 1usize..20, seed: u64,
    ) {
        let traj = Trajectories::new(&lengths).unwrap();
        let total = traj.total_steps();
        let batch = batch.min(total);
        let batches = window_batches(&traj, window, batch, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
        prop_assert_eq!(batches.len(), total / batch);
        prop_assert!(batches.iter().all(|b| b.len() == batch));
        let order: Vec<usize> = batches.concat();
        let mut seen = order.clone();
        seen.sort_unstable();
        seen.dedup();
        prop_assert_eq!(seen.len(), order.len());
        prop_assert!(order.iter().all(|&g| g < total));
        // Same stream, same batches.
        let again = window_batches(&traj, window, batch, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
        prop_assert_eq!(&again, &batches);
    }
}

#[test]
fn windows_keep_neighbours_in_time_together_and_one_is_a_shuffle() {
    let traj = Trajectories::new(&[400, 300, 300]).unwrap();
    let next_in_time = |order: &[usize]| {
        order
            .windows(2)
            .filter(|p| p[1] == p[0] + 1 && traj.locate(p[0]).0 == traj.locate(p[1]).0)
            .count() as f64
            / (order.len() - 1) as f64
    };
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    // Windows of 8: 7 of every 8 neighbours in the order are neighbours in time.
    let order = window_batches(&traj, 8, 1000, &mut rng).unwrap().concat();
    let share = next_in_time(&order);
    assert!((0.85..0.9).contains(&share), "{share}");
    // Window 1: a shuffle, where time neighbours meet by chance only.
    let order = window_batches(&traj, 1, 1000, &mut rng).unwrap().concat();
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
    assert!(next_in_time(&order) < 0.01);
    // Cuts move between epochs (draws): two epochs differ.
    let a = window_batches(&traj, 8, 1000, &mut rng).unwrap();
    let b = window_batches(&traj, 8, 1000, &mut rng).unwrap();
    assert_ne!(a, b);
}

#[test]
fn window_batches_reject_bad_sizes() {
    let traj = Trajectories::new(&[5, 5]).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for (window, batch) in [(0, 4), (2, 0), (2, 11)] {
        let e = window_batches(&traj, window, batch, &mut rng).unwrap_err();
        assert!(matches!(e, Error::InvalidParameter { .. }), "{e}");
    }
}
