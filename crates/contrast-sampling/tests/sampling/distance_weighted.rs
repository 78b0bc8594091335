use contrast_linalg::{l2_normalize_rows, pairwise_distances};
use contrast_sampling::Error;
use contrast_sampling::distance_weighted::{
    DistanceWeighted, distance_weighted_negatives, draw_index,
};
use contrast_sampling::layout::{Labelled, PairRule};
use ndarray::{Array1, Array2, array};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::strategies::labelled;

/// The paper's weight without logarithms: 1 / q(d) with d clipped to the cutoff, zero for
/// non-negatives and beyond the non-zero-loss cutoff, then normalised.
fn reference_weights(
    d: &Array2<f64>,
    anchor: usize,
    dim: usize,
    rule: &impl PairRule,
) -> Option<Vec<f64>> {
    let n = dim as f64;
    let w: Vec<f64> = (0..d.ncols())
        .map(|j| {
            let dist = d[[anchor, j]];
            if !rule.is_negative(anchor, j) || dist >= 1.4 {
                return 0.0;
            }
            let c = dist.max(0.5);
            1.0 / (c.powf(n - 2.0) * (1.0 - c * c / 4.0).powf((n - 3.0) / 2.0))
        })
        .collect();
    let total: f64 = w.iter().sum();
    (total > 0.0).then(|| w.iter().map(|x| x / total).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn weights_match_the_closed_form((z, labels) in labelled(2..10, 3..9, 3, false)) {
        let (n, dim) = z.dim();
        let d = pairwise_distances(l2_normalize_rows(z.view()).view());
        let rule = Labelled::new(labels).unwrap();
        let cfg = DistanceWeighted::default();
        for a in 0..n {
            let got = cfg.weights(d.view(), a, dim, &rule);
            match reference_weights(&d, a, dim, &rule) {
                Some(want) => {
                    let got = got.unwrap();
                    for (g, w) in got.iter().zip(&want) {
                        prop_assert!((g - w).abs() <= 1e-9 * w.max(1e-3), "{} vs {}", g, w);
                    }
                }
                // No negative in the support: uniform over the negatives, or None without any.
                None => match got {
                    Some(p) => {
                        let negs: Vec<usize> = (0..n).filter(|&j| rule.is_negative(a, j)).collect();
                        for j in 0..n {
                            let want = if negs.contains(&j) { 1.0 / negs.len() as f64 } else { 0.0 };
                            prop_assert!((p[j] - want).abs() < 1e-12);
                        }
                    }
                    None => prop_assert!((0..n).all(|j| !rule.is_negative(a, j))),
                },
            }
        }
    }

    #[test]
    fn samples_are_negatives_in_the_support((z, labels) in labelled(3..10, 3..6, 2, false), seed: u64) {
        let rule = Labelled::new(labels.clone()).unwrap();
        prop_assume!(labels.iter().any(|&l| l != labels[0]) );
        let d = pairwise_distances(l2_normalize_rows(z.view()).view());
        let cfg = DistanceWeighted::default();
        let drawn = distance_weighted_negatives(z.view(), &rule, 4, &cfg, &mut ChaCha8Rng::seed_from_u64(seed));
        let has_all = (0..labels.len()).all(|a| (0..labels.len()).any(|j| rule.is_negative(a, j)));
        prop_assume!(has_all);
        let drawn = drawn.unwrap();
        for ((a, _), &j) in drawn.indexed_iter() {
            let p = cfg.weights(d.view(), a, z.ncols(), &rule).unwrap();
            prop_assert!(rule.is_negative(a, j) && p[j] > 0.0, "anchor {} drew {}", a, j);
        }
    }
}

#[test]
fn empirical_frequencies_follow_the_weights() {
    let p = Array1::from(vec![0.1, 0.0, 0.6, 0.3]);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut counts = [0usize; 4];
    let draws = 40_000;
    for _ in 0..draws {
        counts[draw_index(&p, &mut rng)] += 1;
    }
    assert_eq!(counts[1], 0);
    for j in 0..4 {
        let freq = counts[j] as f64 / draws as f64;
        assert!((freq - p[j]).abs() < 0.01, "index {j}: {freq} vs {}", p[j]);
    }
}

#[test]
fn closer_negatives_weigh_more_in_high_dimension() {
    // In 64 dimensions q(d) peaks near sqrt(2): 1/q strongly favours d = 0.8 over d = 1.3.
    let cfg = DistanceWeighted::default();
    assert!(cfg.log_inverse_density(0.8, 64) > cfg.log_inverse_density(1.3, 64) + 5.0);
    // Below the cutoff the weight is flat.
    assert_eq!(
        cfg.log_inverse_density(0.1, 64),
        cfg.log_inverse_density(0.5, 64)
    );
}

#[test]
fn bad_inputs_are_typed_errors() {
    let z = array![[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let cfg = DistanceWeighted::default();
    let one_class = Labelled::new(vec![4, 4, 4]).unwrap();
    assert_eq!(
        distance_weighted_negatives(z.view(), &one_class, 1, &cfg, &mut rng),
        Err(Error::TooFewCandidates {
            anchor: 0,
            available: 0,
            requested: 1
        })
    );
    let rule = Labelled::new(vec![0, 1, 2]).unwrap();
    assert!(matches!(
        distance_weighted_negatives(z.view(), &rule, 0, &cfg, &mut rng),
        Err(Error::InvalidParameter {
            name: "per_anchor",
            ..
        })
    ));
    let bad = DistanceWeighted {
        cutoff: 1.5,
        nonzero_loss_cutoff: 1.4,
    };
    assert!(matches!(
        distance_weighted_negatives(z.view(), &rule, 1, &bad, &mut rng),
        Err(Error::InvalidParameter {
            name: "nonzero_loss_cutoff",
            ..
        })
    ));
    let short = Labelled::new(vec![0, 1]).unwrap();
    assert!(matches!(
        distance_weighted_negatives(z.view(), &short, 1, &cfg, &mut rng),
        Err(Error::LengthMismatch { .. })
    ));
}
