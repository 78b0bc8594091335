//! Anchors without a positive (a class seen once in the batch) in every labelled loss:
//! [`NoPositive::Skip`] leaves them out of the mean and lists them in `skipped`;
//! [`NoPositive::Error`] refuses the batch naming the first of them.

use contrast_autodiff::Graph;
use contrast_losses::autodiff::supcon_op;
use contrast_losses::*;
use ndarray::{Array2, ArrayView2};

/// Nine rows; labels 3 (row 6) and 4 (row 8) are seen once.
const LABELS: [usize; 9] = [0, 1, 0, 2, 1, 0, 3, 2, 4];
const SINGLETONS: [usize; 2] = [6, 8];

fn batch(rows: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows, 4), |(i, j)| {
        ((i * 7 + j * 3) as f64 * 0.53).sin() + 0.2
    })
}

type Labelled = Box<dyn Fn(ArrayView2<f64>, &[usize], NoPositive) -> Result<LabelLossGrad<f64>>>;

/// Every labelled loss with its name in errors, under a given policy.
fn labelled_losses() -> Vec<(&'static str, Labelled)> {
    vec![
        (
            "supcon",
            Box::new(|z, y, p| supcon(z, y, &SupConConfig::new(0.3).no_positive(p))),
        ),
        (
            "nt_xent_pairs",
            Box::new(|z, y, p| nt_xent_pairs(z, y, &SoftmaxConfig::new(0.3).no_positive(p))),
        ),
        (
            "positives_in_log",
            Box::new(|z, y, p| positives_in_log(z, y, &SoftmaxConfig::new(0.3).no_positive(p))),
        ),
        (
            "triplet_margin_labels",
            Box::new(|z, y, p| {
                let cfg = LabelTripletConfig {
                    margin: 0.5,
                    no_positive: p,
                    ..Default::default()
                };
                triplet_margin_labels(z, y, &cfg)
            }),
        ),
        (
            "contrastive_margin",
            Box::new(|z, y, p| {
                // Unit rows are at most 2 apart: every negative pair is active.
                let cfg = ContrastiveMarginConfig {
                    neg_margin: 2.0,
                    no_positive: p,
                    ..Default::default()
                };
                contrastive_margin(z, y, &cfg)
            }),
        ),
    ]
}

#[test]
fn the_singletons_are_found() {
    assert_eq!(anchors_without_positive(&LABELS), SINGLETONS.to_vec());
    assert_eq!(anchors_without_positive(&[1, 1, 2, 2]), Vec::<usize>::new());
    assert_eq!(anchors_without_positive(&[]), Vec::<usize>::new());
    assert_eq!(anchors_without_positive(&[5, 6, 7]), vec![0, 1, 2]);
}

#[test]
fn skip_reports_and_error_names_the_anchor_in_every_labelled_loss() {
    let z = batch(LABELS.len());
    for (name, loss) in labelled_losses() {
        let out = loss(z.view(), &LABELS, NoPositive::Skip).unwrap();
        assert_eq!(out.skipped, SINGLETONS.to_vec(), "{name}");
        assert!(
            out.loss.is_finite() && out.loss > 0.0,
            "{name}: {}",
            out.loss
        );
        assert!(out.grad.iter().all(|g| g.is_finite()), "{name}");
        match loss(z.view(), &LABELS, NoPositive::Error) {
            Err(Error::NoPositive { what, anchor }) => {
                assert_eq!((what, anchor), (name, 6));
            }
            other => panic!("{name}: expected NoPositive, got {other:?}"),
        }
        // With a positive for every anchor both policies agree and nothing is skipped.
        let paired = [0, 1, 0, 2, 1, 0, 2, 2, 1];
        let skip = loss(z.view(), &paired, NoPositive::Skip).unwrap();
        assert_eq!(loss(z.view(), &paired, NoPositive::Error).unwrap(), skip);
        assert!(skip.skipped.is_empty(), "{name}");
    }
}

/// Skipping leaves the anchor out of the mean: SupCon's mean over the 7 anchors with a
/// positive, times 7, is its mean over all 9 anchors (where the skipped ones add 0),
/// times 9, for the loss and every gradient entry. A skipped anchor that contributed
/// anything of its own, or was counted in the default mean, breaks this.
#[test]
fn supcon_skip_excludes_the_anchor_from_the_mean() {
    let z = batch(LABELS.len());
    let skip = supcon(z.view(), &LABELS, &SupConConfig::new(0.3)).unwrap();
    let all = supcon(
        z.view(),
        &LABELS,
        &SupConConfig::new(0.3).average_all_anchors(true),
    )
    .unwrap();
    assert_eq!(all.skipped, skip.skipped);
    assert!((skip.loss * 7.0 - all.loss * 9.0).abs() < 1e-12);
    for (a, b) in skip.grad.iter().zip(&all.grad) {
        assert!((a * 7.0 - b * 9.0).abs() < 1e-12, "{a} vs {b}");
    }
}

/// A batch where no anchor has a positive (every label distinct, so negatives exist):
/// under `Skip` the softmax and triplet losses are the empty mean (0, zero gradient,
/// every anchor listed); the margin loss keeps its negative pairs, as the peer does.
#[test]
fn a_batch_without_any_positive() {
    let labels = [0, 1, 2, 3, 4];
    let z = batch(labels.len());
    for (name, loss) in labelled_losses() {
        let out = loss(z.view(), &labels, NoPositive::Skip).unwrap();
        assert_eq!(out.skipped, vec![0, 1, 2, 3, 4], "{name}");
        if name == "contrastive_margin" {
            assert!(out.loss > 0.0, "the negative pairs still count");
        } else {
            assert_eq!(out.loss, 0.0, "{name}");
            assert!(out.grad.iter().all(|&g| g == 0.0), "{name}");
        }
        assert!(matches!(
            loss(z.view(), &labels, NoPositive::Error),
            Err(Error::NoPositive { anchor: 0, .. })
        ));
    }
}

#[test]
fn the_graph_op_follows_the_policy() {
    let z = batch(LABELS.len());
    let mut g = Graph::<f64>::new();
    let v = g.param(z.clone().into_dyn());
    let strict = SupConConfig::new(0.3).no_positive(NoPositive::Error);
    assert!(matches!(
        supcon_op(&mut g, v, &LABELS, &strict),
        Err(Error::NoPositive { anchor: 6, .. })
    ));
    let node = supcon_op(&mut g, v, &LABELS, &SupConConfig::new(0.3)).unwrap();
    let want = supcon(z.view(), &LABELS, &SupConConfig::new(0.3)).unwrap();
    assert_eq!(g.value(node).iter().next().copied(), Some(want.loss));
}
