use contrast_linalg::l2_normalize_rows;
use contrast_sampling::Error;
use contrast_sampling::hard_negatives::Similarity;
use contrast_sampling::hard_negatives::{
    TopK, TopKConfig, hardest_negatives, hardest_negatives_dense,
};
use contrast_sampling::layout::{AllNegatives, LabelRule, Labelled, PairRule, TwoViews};
use ndarray::{Array2, ArrayView2, array};
use proptest::prelude::*;

use crate::strategies::{embeddings, labelled};

/// Brute force: score every pair with a scalar loop, sort by (score desc, index asc), cut.
/// `None` when some anchor has fewer than k negatives.
fn reference(
    q: ArrayView2<'_, f64>,
    c: ArrayView2<'_, f64>,
    rule: &impl PairRule,
    k: usize,
) -> Option<Vec<Vec<(f64, usize)>>> {
    (0..q.nrows())
        .map(|i| {
            let mut cands: Vec<(f64, usize)> = (0..c.nrows())
                .filter(|&j| rule.is_negative(i, j))
                .map(|j| ((0..q.ncols()).map(|d| q[[i, d]] * c[[j, d]]).sum(), j))
                .collect();
            // IEEE order (-0 == +0), as the miner compares; then the lower index.
            cands.sort_by(|a, b| b.0.partial_cmp(&a.0).expect("finite").then(a.1.cmp(&b.1)));
            (cands.len() >= k).then(|| cands[..k].to_vec())
        })
        .collect()
}

fn as_rows(top: &TopK<f64>) -> Vec<Vec<(f64, usize)>> {
    top.indices
        .outer_iter()
        .zip(top.scores.outer_iter())
        .map(|(i, s)| s.iter().copied().zip(i.iter().copied()).collect())
        .collect()
}

fn config(k: usize, similarity: Similarity, rows: usize, cols: usize) -> TopKConfig {
    TopKConfig {
        k,
        similarity,
        block_rows: rows,
        block_cols: cols,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Integer embeddings and dot similarity: scores are exact, so the index sets must be
    /// identical to the reference, ties included (lower index first).
    #[test]
    fn blocked_and_dense_equal_brute_force_with_ties(
        (z, labels) in labelled(1..14, 1..4, 3, true),
        k in 1usize..5, br in 1usize..6, bc in 1usize..6,
    ) {
        let rule = Labelled::new(labels).unwrap();
        let cfg = config(k, Similarity::Dot, br, bc);
        let blocked = hardest_negatives(z.view(), z.view(), &rule, &cfg);
        let dense = hardest_negatives_dense(z.view(), z.view(), &rule, &cfg);
        match reference(z.view(), z.view(), &rule, k) {
            Some(expected) => {
                prop_assert_eq!(as_rows(blocked.as_ref().unwrap()), expected.clone());
                prop_assert_eq!(as_rows(dense.as_ref().unwrap()), expected);
            }
            None => {
                prop_assert!(matches!(blocked, Err(Error::TooFewCandidates { .. })), "{:?}", blocked);
                prop_assert_eq!(blocked, dense);
            }
        }
    }

    /// Real embeddings, cosine: blocked equals dense bit for bit, and both match the
    /// brute-force scores (up to rounding) with every index a valid negative.
    #[test]
    fn cosine_blocked_equals_dense_and_reference(
        z in embeddings(2..12, 1..6), k in 1usize..3, br in 1usize..5, bc in 1usize..5,
    ) {
        let n = z.nrows() / 2;
        prop_assume!(n >= 2 && 2 * n - 2 >= k);
        let z = z.slice(ndarray::s![..2 * n, ..]).to_owned();
        let rule = TwoViews::new(n).unwrap();
        let cfg = config(k, Similarity::Cosine, br, bc);
        let blocked = hardest_negatives(z.view(), z.view(), &rule, &cfg).unwrap();
        let dense = hardest_negatives_dense(z.view(), z.view(), &rule, &cfg).unwrap();
        prop_assert_eq!(&blocked, &dense);
        let zn = l2_normalize_rows(z.view());
        let expected = reference(zn.view(), zn.view(), &rule, k).unwrap();
        for (got, want) in as_rows(&blocked).iter().zip(&expected) {
            for ((s, _), (t, _)) in got.iter().zip(want) {
                prop_assert!((s - t).abs() < 1e-12, "score {} vs {}", s, t);
            }
        }
        for ((i, _), &j) in blocked.indices.indexed_iter() {
            prop_assert!(rule.is_negative(i, j), "row {} got non-negative {}", i, j);
        }
    }

    /// Anchors against a separate labelled bank (queue / gallery).
    #[test]
    fn bank_mining_matches_brute_force(
        (q, ql) in labelled(1..6, 2..3, 2, true),
        (c, cl) in labelled(1..10, 2..3, 2, true),
        k in 1usize..3,
    ) {
        let rule = LabelRule::new(&ql, &cl);
        let cfg = config(k, Similarity::Dot, 2, 3);
        let got = hardest_negatives(q.view(), c.view(), &rule, &cfg);
        match reference(q.view(), c.view(), &rule, k) {
            Some(expected) => prop_assert_eq!(as_rows(&got.unwrap()), expected),
            None => prop_assert!(matches!(got, Err(Error::TooFewCandidates { .. })), "{:?}", got),
        }
    }
}

#[test]
fn f32_blocked_equals_dense_on_a_larger_set() {
    let z = Array2::from_shape_fn((301, 17), |(i, j)| {
        ((i * 31 + j * 7) % 23) as f32 - 11.0 + 0.01 * i as f32
    });
    let cfg = TopKConfig {
        block_rows: 64,
        block_cols: 50,
        ..TopKConfig::new(5)
    };
    let blocked = hardest_negatives(z.view(), z.view(), &AllNegatives, &cfg).unwrap();
    let dense = hardest_negatives_dense(z.view(), z.view(), &AllNegatives, &cfg).unwrap();
    assert_eq!(blocked, dense);
    assert_eq!(blocked.indices.dim(), (301, 5));
}

#[test]
fn bad_inputs_are_typed_errors() {
    let z = array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
    let empty = Array2::<f64>::zeros((0, 2));
    let cfg = TopKConfig::new(1);
    let rule = AllNegatives;
    assert_eq!(
        hardest_negatives(empty.view(), z.view(), &rule, &cfg),
        Err(Error::Empty { what: "anchors" })
    );
    assert_eq!(
        hardest_negatives(z.view(), empty.view(), &rule, &cfg),
        Err(Error::Empty { what: "candidates" })
    );
    let wide = Array2::<f64>::ones((3, 3));
    assert_eq!(
        hardest_negatives(z.view(), wide.view(), &rule, &cfg),
        Err(Error::DimensionMismatch {
            what: "candidates",
            expected: 2,
            got: 3
        })
    );
    assert!(matches!(
        hardest_negatives(z.view(), z.view(), &rule, &TopKConfig::new(0)),
        Err(Error::InvalidParameter { name: "k", .. })
    ));
    assert!(matches!(
        hardest_negatives(
            z.view(),
            z.view(),
            &rule,
            &TopKConfig {
                block_rows: 0,
                ..cfg
            }
        ),
        Err(Error::InvalidParameter { .. })
    ));
    // k larger than the candidates: anchor 0 has a single other-label row.
    let labels = Labelled::new(vec![0, 0, 1]).unwrap();
    assert_eq!(
        hardest_negatives(z.view(), z.view(), &labels, &TopKConfig::new(2)),
        Err(Error::TooFewCandidates {
            anchor: 0,
            available: 1,
            requested: 2
        })
    );
    assert_eq!(
        hardest_negatives_dense(z.view(), z.view(), &labels, &TopKConfig::new(2)),
        Err(Error::TooFewCandidates {
            anchor: 0,
            available: 1,
            requested: 2
        })
    );
    let short = Labelled::new(vec![0, 1]).unwrap();
    assert_eq!(
        hardest_negatives(z.view(), z.view(), &short, &cfg),
        Err(Error::LengthMismatch {
            what: "rule anchors",
            expected: 3,
            got: 2
        })
    );
    let mut nan = z.clone();
    nan[[2, 1]] = f64::NAN;
    assert_eq!(
        hardest_negatives(nan.view(), z.view(), &rule, &cfg),
        Err(Error::NonFinite {
            what: "anchors",
            row: 2,
            col: 1
        })
    );
}
