use std::collections::{BTreeMap, BTreeSet};

use contrast_sampling::Error;
use contrast_sampling::sampler::{ClassBalancedSampler, EpochShuffler, SmallClassPolicy};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn every_epoch_is_a_permutation(n in 1usize..60, seed: u64, batch in 1usize..9) {
        let s = EpochShuffler::new(n, seed).unwrap();
        for epoch in 0..3 {
            let mut p = s.permutation(epoch);
            prop_assert_eq!(&p, &EpochShuffler::new(n, seed).unwrap().permutation(epoch));
            let batches = s.batches(epoch, batch, false).unwrap();
            prop_assert_eq!(batches.concat(), p.clone());
            prop_assert!(batches.iter().rev().skip(1).all(|b| b.len() == batch));
            p.sort_unstable();
            prop_assert_eq!(p, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn class_balanced_batches_hold_p_classes_of_k(
        labels in proptest::collection::vec(0usize..6, 1..60), p in 1usize..4, k in 1usize..4, seed: u64,
        replace: bool,
    ) {
        let policy = if replace { SmallClassPolicy::WithReplacement } else { SmallClassPolicy::Skip };
        // Brute force: the classes the policy keeps; construction fails iff P exceeds them.
        let usable: BTreeSet<usize> = labels
            .iter()
            .copied()
            .filter(|&c| replace || labels.iter().filter(|&&l| l == c).count() >= k)
            .collect();
        let built = ClassBalancedSampler::new(&labels, p, k, policy, seed);
        let Ok(sampler) = built else {
            prop_assert_eq!(built, Err(Error::TooManyClasses { requested: p, available: usable.len() }));
            prop_assert!(p > usable.len());
            return Ok(());
        };
        prop_assert_eq!(sampler.usable_classes(), usable.iter().copied().collect::<Vec<_>>());
        for epoch in 0..2 {
            let batches = sampler.batches(epoch);
            prop_assert_eq!(batches.len(), sampler.batches_per_epoch());
            prop_assert_eq!(&batches, &sampler.batches(epoch));
            for batch in &batches {
                prop_assert_eq!(batch.len(), p * k);
                let mut per_class: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
                for chunk in batch.chunks(k) {
                    let class = labels[chunk[0]];
                    prop_assert!(chunk.iter().all(|&i| labels[i] == class), "chunk mixes classes");
                    prop_assert!(per_class.insert(class, chunk.to_vec()).is_none(), "class twice");
                    prop_assert!(usable.contains(&class));
                }
                prop_assert_eq!(per_class.len(), p);
                for (class, members) in per_class {
                    let size = labels.iter().filter(|&&l| l == class).count();
                    let distinct: BTreeSet<usize> = members.iter().copied().collect();
                    // Without replacement when the class is large enough; all of it otherwise.
                    prop_assert_eq!(distinct.len(), size.min(k));
                }
            }
        }
    }
}

#[test]
fn different_epochs_and_seeds_give_different_orders() {
    let s = EpochShuffler::new(50, 1).unwrap();
    assert_ne!(s.permutation(0), s.permutation(1));
    assert_ne!(
        s.permutation(0),
        EpochShuffler::new(50, 2).unwrap().permutation(0)
    );
    let labels: Vec<usize> = (0..40).map(|i| i % 8).collect();
    let c = ClassBalancedSampler::new(&labels, 2, 3, SmallClassPolicy::Error, 9).unwrap();
    assert_ne!(c.batches(0), c.batches(1));
}

#[test]
fn drop_last_drops_the_short_batch() {
    let s = EpochShuffler::new(10, 0).unwrap();
    let batches = s.batches(0, 4, true).unwrap();
    assert_eq!(batches.len(), 2);
    assert!(batches.iter().all(|b| b.len() == 4));
}

#[test]
fn bad_inputs_are_typed_errors() {
    assert_eq!(
        EpochShuffler::new(0, 0),
        Err(Error::Empty { what: "dataset" })
    );
    let s = EpochShuffler::new(3, 0).unwrap();
    assert!(matches!(
        s.batches(0, 0, false),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        s.batches(0, 4, true),
        Err(Error::InvalidParameter {
            name: "batch_size",
            ..
        })
    ));
    let labels = [0, 0, 0, 1, 1, 2];
    let new = |p, k, policy| ClassBalancedSampler::new(&labels, p, k, policy, 0);
    assert_eq!(
        new(4, 1, SmallClassPolicy::Error),
        Err(Error::TooManyClasses {
            requested: 4,
            available: 3
        })
    );
    assert_eq!(
        new(2, 2, SmallClassPolicy::Error),
        Err(Error::ClassTooSmall {
            class: 2,
            size: 1,
            required: 2
        })
    );
    assert_eq!(
        new(3, 2, SmallClassPolicy::Skip),
        Err(Error::TooManyClasses {
            requested: 3,
            available: 2
        })
    );
    assert!(new(3, 2, SmallClassPolicy::WithReplacement).is_ok());
    assert!(matches!(
        new(0, 2, SmallClassPolicy::Error),
        Err(Error::InvalidParameter { .. })
    ));
    assert_eq!(
        ClassBalancedSampler::new(&[], 1, 1, SmallClassPolicy::Error, 0),
        Err(Error::Empty { what: "labels" })
    );
    assert!(
        new(1, 1, SmallClassPolicy::Error)
            .unwrap()
            .with_batches_per_epoch(0)
            .is_err()
    );
}
