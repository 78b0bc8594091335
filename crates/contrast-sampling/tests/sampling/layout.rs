use contrast_sampling::Error;
use contrast_sampling::layout::{
    ExplicitPairs, LabelRule, Labelled, MultiView, PairLayout, PairRule, TwoViews, negative_mask,
    positive_mask,
};
use ndarray::Array2;
use proptest::prelude::*;

/// Reference masks from an explicit list of (sample id, class) per row: positives share
/// the sample id, negatives have another sample id and (when labelled) another class.
fn reference(rows: &[(usize, Option<usize>)]) -> (Array2<bool>, Array2<bool>) {
    let n = rows.len();
    let pos = Array2::from_shape_fn((n, n), |(i, j)| i != j && rows[i].0 == rows[j].0);
    let neg = Array2::from_shape_fn((n, n), |(i, j)| {
        rows[i].0 != rows[j].0 && (rows[i].1.is_none() || rows[i].1 != rows[j].1)
    });
    (pos, neg)
}

fn view_rows(n: usize, views: usize, labels: Option<&[usize]>) -> Vec<(usize, Option<usize>)> {
    let mut rows = Vec::new();
    for _view in 0..views {
        for sample in 0..n {
            rows.push((sample, labels.map(|l| l[sample])));
        }
    }
    rows
}

fn check_disjoint(layout: &impl PairLayout) {
    let (p, n) = (layout.positive_mask(), layout.negative_mask());
    for i in 0..layout.rows() {
        assert!(!p[[i, i]] && !n[[i, i]], "row {i} paired with itself");
        for j in 0..layout.rows() {
            assert!(
                !(p[[i, j]] && n[[i, j]]),
                "({i}, {j}) both positive and negative"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn two_views_match_reference(labels in proptest::collection::vec(0usize..3, 1..8), use_labels: bool) {
        let n = labels.len();
        let layout = if use_labels { TwoViews::with_labels(labels.clone()) } else { TwoViews::new(n) }.unwrap();
        let (pos, neg) = reference(&view_rows(n, 2, use_labels.then_some(&labels[..])));
        prop_assert_eq!(layout.positive_mask(), pos);
        prop_assert_eq!(layout.negative_mask(), neg);
        check_disjoint(&layout);
        for i in 0..2 * n {
            prop_assert_eq!(layout.partner(layout.partner(i)), i);
        }
    }

    #[test]
    fn multi_view_matches_reference(labels in proptest::collection::vec(0usize..3, 1..6), views in 2usize..5, use_labels: bool) {
        let n = labels.len();
        let layout = if use_labels { MultiView::with_labels(views, labels.clone()) } else { MultiView::new(n, views) }.unwrap();
        let (pos, neg) = reference(&view_rows(n, views, use_labels.then_some(&labels[..])));
        prop_assert_eq!(layout.positive_mask(), pos);
        prop_assert_eq!(layout.negative_mask(), neg);
        check_disjoint(&layout);
    }

    #[test]
    fn two_views_equal_multi_view_of_two(n in 1usize..8) {
        let (a, b) = (TwoViews::new(n).unwrap(), MultiView::new(n, 2).unwrap());
        prop_assert_eq!(a.positive_mask(), b.positive_mask());
        prop_assert_eq!(a.negative_mask(), b.negative_mask());
    }

    #[test]
    fn explicit_pairs_match_reference(
        rows in 2usize..9,
        raw in proptest::collection::vec((0usize..9, 0usize..9), 1..8),
        labels in proptest::collection::vec(0usize..3, 9),
        use_labels: bool,
    ) {
        let pairs: Vec<(usize, usize)> = raw.iter().map(|&(a, p)| (a % rows, p % rows)).filter(|(a, p)| a != p).collect();
        prop_assume!(!pairs.is_empty());
        let labels = &labels[..rows];
        let layout = if use_labels { ExplicitPairs::with_labels(&pairs, labels.to_vec()) } else { ExplicitPairs::new(rows, &pairs) }.unwrap();
        let mut pos = Array2::from_elem((rows, rows), false);
        for &(a, p) in &pairs {
            pos[[a, p]] = true;
            pos[[p, a]] = true;
        }
        let neg = Array2::from_shape_fn((rows, rows), |(i, j)| {
            i != j && !pos[[i, j]] && !(use_labels && labels[i] == labels[j])
        });
        prop_assert_eq!(layout.positive_mask(), pos);
        prop_assert_eq!(layout.negative_mask(), neg);
        check_disjoint(&layout);
    }

    #[test]
    fn labelled_matches_reference(labels in proptest::collection::vec(0usize..4, 1..12)) {
        let n = labels.len();
        let layout = Labelled::new(labels.clone()).unwrap();
        let pos = Array2::from_shape_fn((n, n), |(i, j)| i != j && labels[i] == labels[j]);
        let neg = Array2::from_shape_fn((n, n), |(i, j)| labels[i] != labels[j]);
        prop_assert_eq!(layout.positive_mask(), pos);
        prop_assert_eq!(layout.negative_mask(), neg);
        check_disjoint(&layout);
    }

    #[test]
    fn label_rule_masks_match_reference(
        a in proptest::collection::vec(0usize..3, 1..6),
        b in proptest::collection::vec(0usize..3, 1..9),
    ) {
        let rule = LabelRule::new(&a, &b);
        let pos = positive_mask(&rule, a.len(), b.len()).unwrap();
        let neg = negative_mask(&rule, a.len(), b.len()).unwrap();
        for i in 0..a.len() {
            for j in 0..b.len() {
                prop_assert_eq!(pos[[i, j]], a[i] == b[j]);
                prop_assert_eq!(neg[[i, j]], a[i] != b[j]);
                prop_assert_eq!(rule.is_negative(i, j), neg[[i, j]]);
            }
        }
    }
}

#[test]
fn bad_layouts_are_typed_errors() {
    assert_eq!(TwoViews::new(0), Err(Error::Empty { what: "batch" }));
    assert_eq!(
        TwoViews::with_labels(vec![]),
        Err(Error::Empty { what: "batch" })
    );
    assert!(matches!(
        MultiView::new(3, 1),
        Err(Error::InvalidParameter { name: "views", .. })
    ));
    assert_eq!(Labelled::new(vec![]), Err(Error::Empty { what: "labels" }));
    assert_eq!(
        ExplicitPairs::new(3, &[]),
        Err(Error::Empty { what: "pairs" })
    );
    assert_eq!(
        ExplicitPairs::new(3, &[(0, 3)]),
        Err(Error::IndexOutOfRange {
            what: "pairs",
            index: 3,
            len: 3
        })
    );
    assert!(matches!(
        ExplicitPairs::new(3, &[(1, 1)]),
        Err(Error::InvalidParameter { .. })
    ));
    let (a, b) = ([0usize, 1], [1usize, 2, 3]);
    assert_eq!(
        negative_mask(&LabelRule::new(&a, &b), 3, 3),
        Err(Error::LengthMismatch {
            what: "rule anchors",
            expected: 3,
            got: 2
        })
    );
}
