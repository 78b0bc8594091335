use contrast_linalg::{l2_normalize_rows, pairwise_distances};
use contrast_sampling::Error;
use contrast_sampling::layout::Labelled;
use contrast_sampling::triplets::{
    MarginFilter, Triplet, TripletMiner, all_valid_triplets, batch_hard, batch_semi_hard,
    easy_positive_hard_negative, filter_by_margin,
};
use ndarray::{Array2, array};
use proptest::prelude::*;

use crate::strategies::{embeddings, int_distances};

/// Brute force over label triples: every (a, p, n) with y_a = y_p, a != p, y_n != y_a.
fn all_reference(labels: &[usize]) -> Vec<Triplet> {
    let n = labels.len();
    let mut out = Vec::new();
    for anchor in 0..n {
        for positive in 0..n {
            for negative in 0..n {
                if anchor != positive
                    && labels[anchor] == labels[positive]
                    && labels[negative] != labels[anchor]
                {
                    out.push(Triplet {
                        anchor,
                        positive,
                        negative,
                    });
                }
            }
        }
    }
    out
}

/// The first element of `items` after sorting by (key, index): lower index wins ties.
fn first_by(mut items: Vec<(f64, usize)>) -> Option<usize> {
    items.sort_by(|a, b| a.0.partial_cmp(&b.0).expect("finite").then(a.1.cmp(&b.1)));
    items.first().map(|&(_, j)| j)
}

/// Per-anchor reference: positive chosen by `pos_sign * d` (smallest first), nearest negative.
fn per_anchor_reference(d: &Array2<f64>, labels: &[usize], pos_sign: f64) -> Vec<Triplet> {
    let n = labels.len();
    (0..n)
        .filter_map(|a| {
            let pos = (0..n)
                .filter(|&j| j != a && labels[j] == labels[a])
                .map(|j| (pos_sign * d[[a, j]], j))
                .collect();
            let neg = (0..n)
                .filter(|&j| labels[j] != labels[a])
                .map(|j| (d[[a, j]], j))
                .collect();
            Some(Triplet {
                anchor: a,
                positive: first_by(pos)?,
                negative: first_by(neg)?,
            })
        })
        .collect()
}

fn semi_hard_reference(d: &Array2<f64>, labels: &[usize], margin: f64) -> Vec<Triplet> {
    all_reference(labels)
        .chunk_by(|x, y| (x.anchor, x.positive) == (y.anchor, y.positive))
        .filter_map(|group| {
            let (a, p) = (group[0].anchor, group[0].positive);
            let ok = group
                .iter()
                .filter(|t| {
                    d[[a, p]] < d[[a, t.negative]] && d[[a, t.negative]] < d[[a, p]] + margin
                })
                .map(|t| (d[[a, t.negative]], t.negative))
                .collect();
            first_by(ok).map(|negative| Triplet {
                anchor: a,
                positive: p,
                negative,
            })
        })
        .collect()
}

fn labels_and_distances() -> impl Strategy<Value = (Array2<f64>, Vec<usize>)> {
    int_distances(1..10).prop_flat_map(|d| {
        let n = d.nrows();
        (Just(d), proptest::collection::vec(0usize..3, n))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn miners_match_brute_force((d, labels) in labels_and_distances(), margin in 0.0f64..3.0) {
        let rule = Labelled::new(labels.clone()).unwrap();
        prop_assert_eq!(all_valid_triplets(d.view(), &rule).unwrap(), all_reference(&labels));
        prop_assert_eq!(batch_hard(d.view(), &rule).unwrap(), per_anchor_reference(&d, &labels, -1.0));
        prop_assert_eq!(easy_positive_hard_negative(d.view(), &rule).unwrap(), per_anchor_reference(&d, &labels, 1.0));
        prop_assert_eq!(batch_semi_hard(d.view(), &rule, margin).unwrap(), semi_hard_reference(&d, &labels, margin));
        prop_assert_eq!(
            TripletMiner::BatchSemiHard.mine(d.view(), &rule, margin).unwrap(),
            batch_semi_hard(d.view(), &rule, margin).unwrap()
        );
    }

    #[test]
    fn margin_filters_partition_the_triplets((d, labels) in labels_and_distances(), margin in 0.0f64..3.0) {
        let rule = Labelled::new(labels).unwrap();
        let all = all_valid_triplets(d.view(), &rule).unwrap();
        let keep = |f| filter_by_margin(&all, d.view(), f, margin).unwrap();
        for t in &all {
            let m = d[[t.anchor, t.negative]] - d[[t.anchor, t.positive]];
            prop_assert_eq!(keep(MarginFilter::Violating).contains(t), m < margin);
            prop_assert_eq!(keep(MarginFilter::Hard).contains(t), m < 0.0);
            prop_assert_eq!(keep(MarginFilter::SemiHard).contains(t), (0.0..margin).contains(&m));
            prop_assert_eq!(keep(MarginFilter::Easy).contains(t), m >= margin);
        }
        prop_assert_eq!(keep(MarginFilter::All), all.clone());
        prop_assert_eq!(keep(MarginFilter::Hard).len() + keep(MarginFilter::SemiHard).len(), keep(MarginFilter::Violating).len());
        prop_assert_eq!(keep(MarginFilter::Violating).len() + keep(MarginFilter::Easy).len(), all.len());
    }

    /// On real embeddings: every batch-semi-hard triplet is semi-hard by the filter too.
    #[test]
    fn semi_hard_triplets_pass_the_semi_hard_filter(z in embeddings(2..10, 2..4), labels in proptest::collection::vec(0usize..2, 10)) {
        let labels = labels[..z.nrows()].to_vec();
        let d = pairwise_distances(l2_normalize_rows(z.view()).view());
        let rule = Labelled::new(labels).unwrap();
        let semi = batch_semi_hard(d.view(), &rule, 0.3).unwrap();
        let filtered = filter_by_margin(&semi, d.view(), MarginFilter::SemiHard, 0.3).unwrap();
        prop_assert!(semi.iter().all(|t| d[[t.anchor, t.negative]] > d[[t.anchor, t.positive]]));
        prop_assert_eq!(filtered, semi);
    }
}

#[test]
fn bad_inputs_are_typed_errors() {
    let rule = Labelled::new(vec![0, 0, 1]).unwrap();
    let d = Array2::<f64>::zeros((3, 3));
    let empty = Array2::<f64>::zeros((0, 0));
    assert_eq!(
        batch_hard(empty.view(), &rule),
        Err(Error::Empty { what: "distances" })
    );
    let rect = Array2::<f64>::zeros((3, 2));
    assert_eq!(
        batch_hard(rect.view(), &rule),
        Err(Error::LengthMismatch {
            what: "distance columns",
            expected: 3,
            got: 2
        })
    );
    let wrong_labels = Labelled::new(vec![0, 1]).unwrap();
    assert_eq!(
        all_valid_triplets(d.view(), &wrong_labels),
        Err(Error::LengthMismatch {
            what: "rule anchors",
            expected: 3,
            got: 2
        })
    );
    assert!(matches!(
        batch_semi_hard(d.view(), &rule, -0.1),
        Err(Error::InvalidParameter { name: "margin", .. })
    ));
    let mut nan = d.clone();
    nan[[1, 2]] = f64::NAN;
    assert_eq!(
        easy_positive_hard_negative(nan.view(), &rule),
        Err(Error::NonFinite {
            what: "distances",
            row: 1,
            col: 2
        })
    );
    let bad = [Triplet {
        anchor: 0,
        positive: 1,
        negative: 7,
    }];
    assert_eq!(
        filter_by_margin(&bad, d.view(), MarginFilter::All, 0.1),
        Err(Error::IndexOutOfRange {
            what: "triplets",
            index: 7,
            len: 3
        })
    );
}

#[test]
fn batch_hard_picks_farthest_positive_and_nearest_negative() {
    // Points on a line: 0 and 3 are class 0, 1 and 2 class 1.
    let z = array![[0.0], [1.0], [2.5], [3.0]];
    let d = pairwise_distances(z.view());
    let rule = Labelled::new(vec![0, 1, 1, 0]).unwrap();
    let hard = batch_hard(d.view(), &rule).unwrap();
    assert_eq!(
        hard[0],
        Triplet {
            anchor: 0,
            positive: 3,
            negative: 1
        }
    );
    assert_eq!(
        hard[3],
        Triplet {
            anchor: 3,
            positive: 0,
            negative: 2
        }
    );
}
