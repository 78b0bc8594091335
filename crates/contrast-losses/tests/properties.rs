//! Invariances, tiled == dense and extreme numerics (typed errors: `typed_errors.rs`).

mod batches;

use batches::extreme_batch;
use contrast_autodiff::gradcheck::strategies::{embeddings, labelled, two_view, view_pair};
use contrast_losses::*;
use ndarray::{Array2, ArrayView2, Axis, s};
use proptest::prelude::*;

type TwoViewLoss = Box<dyn Fn(ArrayView2<f64>) -> LossGrad<f64>>;
type LabelLoss = Box<dyn Fn(ArrayView2<f64>, &[usize]) -> LossGrad<f64>>;

/// Every loss over the two-view layout (2N, D), with rows normalised.
fn two_view_losses() -> Vec<(&'static str, TwoViewLoss)> {
    vec![
        (
            "nt_xent dense",
            Box::new(|z| {
                nt_xent(z, &NtXentConfig::new(0.3).evaluation(Evaluation::Dense)).unwrap()
            }),
        ),
        (
            "nt_xent tiled",
            Box::new(|z| {
                nt_xent(
                    z,
                    &NtXentConfig::new(0.3)
                        .evaluation(Evaluation::Tiled(TileSize { rows: 3, cols: 4 })),
                )
                .unwrap()
            }),
        ),
        ("dcl", Box::new(|z| dcl(z, &DclConfig::default()).unwrap())),
        (
            "dclw",
            Box::new(|z| {
                dcl(
                    z,
                    &DclConfig {
                        weight: DclWeight::VonMisesFisher {
                            sigma: 0.5,
                            detach: false,
                        },
                        ..DclConfig::default()
                    },
                )
                .unwrap()
            }),
        ),
        (
            "debiased",
            Box::new(|z| debiased(z, &DebiasedConfig::default()).unwrap()),
        ),
        ("hcl", Box::new(|z| hcl(z, &HclConfig::default()).unwrap())),
        (
            "uniformity",
            Box::new(|z| uniformity(z, &UniformityConfig::default()).unwrap()),
        ),
    ]
}

/// Every labelled loss, rows normalised.
fn label_losses() -> Vec<(&'static str, LabelLoss)> {
    vec![
        (
            "supcon",
            Box::new(|z, y| supcon(z, y, &SupConConfig::new(0.3)).unwrap().into()),
        ),
        (
            "nt_xent_pairs",
            Box::new(|z, y| {
                nt_xent_pairs(z, y, &SoftmaxConfig::new(0.3))
                    .unwrap()
                    .into()
            }),
        ),
        (
            "triplet_labels",
            Box::new(|z, y| {
                triplet_margin_labels(
                    z,
                    y,
                    &LabelTripletConfig {
                        margin: 0.3,
                        ..Default::default()
                    },
                )
                .unwrap()
                .into()
            }),
        ),
        (
            "contrastive",
            Box::new(|z, y| {
                contrastive_margin(z, y, &ContrastiveMarginConfig::default())
                    .unwrap()
                    .into()
            }),
        ),
    ]
}

fn assert_close(what: &str, a: &Array2<f64>, b: &Array2<f64>, tol: f64) {
    assert_eq!(a.shape(), b.shape(), "{what}");
    for ((idx, x), y) in a.indexed_iter().zip(b.iter()) {
        assert!(
            (x - y).abs() <= tol * y.abs().max(1.0),
            "{what} at {idx:?}: {x} vs {y}"
        );
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Relabelling the samples (the same permutation of both views) and swapping the views
    /// leave the loss unchanged and permute the gradient rows alike.
    #[test]
    fn two_view_losses_ignore_sample_order(z in two_view(), seed in any::<u64>(), swap: bool) {
        let n = z.nrows() / 2;
        let mut perm: Vec<usize> = (0..n).collect();
        let mut s = seed;
        for i in (1..n).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            perm.swap(i, (s >> 33) as usize % (i + 1));
        }
        let order: Vec<usize> = if swap {
            perm.iter().map(|&p| p + n).chain(perm.iter().copied()).collect()
        } else {
            perm.iter().copied().chain(perm.iter().map(|&p| p + n)).collect()
        };
        let zp = z.select(Axis(0), &order);
        for (name, loss) in two_view_losses() {
            let (a, b) = (loss(z.view()), loss(zp.view()));
            prop_assert!(close(a.loss, b.loss, 1e-12), "{}: {} vs {}", name, a.loss, b.loss);
            assert_close(name, &b.grad, &a.grad.select(Axis(0), &order), 1e-10);
        }
    }

    /// The two-input losses (SigLIP, VICReg, Barlow Twins) see a set of pairs: the same
    /// permutation of the rows of both inputs, or swapping the inputs, leaves the loss
    /// unchanged and permutes (or swaps) the gradients alike.
    #[test]
    fn pair_losses_ignore_pair_order_and_side((x, y) in view_pair(), seed in any::<u64>(), t in -1.0f64..3.0, b in -5.0f64..5.0) {
        let n = x.nrows();
        let mut order: Vec<usize> = (0..n).collect();
        order.rotate_left((seed % n as u64) as usize);
        order.swap(0, n - 1);
        let (xp, yp) = (x.select(Axis(0), &order), y.select(Axis(0), &order));
        type Pair = Box<dyn Fn(ArrayView2<f64>, ArrayView2<f64>) -> (f64, Array2<f64>, Array2<f64>)>;
        let losses: Vec<(&str, Pair)> = vec![
            ("siglip", Box::new(move |x, y| {
                let o = siglip(x, y, t, b, &SigLipConfig::default()).unwrap();
                (o.loss, o.grad_x, o.grad_y)
            })),
            ("vicreg", Box::new(|x, y| {
                let o = vicreg(x, y, &VicRegConfig::default()).unwrap();
                (o.loss, o.grad_x, o.grad_y)
            })),
            ("barlow_twins", Box::new(|x, y| {
                let o = barlow_twins(x, y, &BarlowTwinsConfig::default()).unwrap();
                (o.loss, o.grad_x, o.grad_y)
            })),
        ];
        for (name, loss) in losses {
            let a = loss(x.view(), y.view());
            let p = loss(xp.view(), yp.view());
            let s = loss(y.view(), x.view());
            prop_assert!(close(a.0, p.0, 1e-12), "{}: {} vs {}", name, a.0, p.0);
            prop_assert!(close(a.0, s.0, 1e-12), "{} swapped: {} vs {}", name, a.0, s.0);
            assert_close(name, &p.1, &a.1.select(Axis(0), &order), 1e-10);
            assert_close(name, &p.2, &a.2.select(Axis(0), &order), 1e-10);
            assert_close(name, &s.1, &a.2, 1e-10);
            assert_close(name, &s.2, &a.1, 1e-10);
        }
    }

    /// Permuting rows together with their labels changes nothing.
    #[test]
    fn label_losses_ignore_row_order((z, y) in labelled(), seed in any::<u64>()) {
        let n = z.nrows();
        let mut order: Vec<usize> = (0..n).collect();
        order.rotate_left((seed % n as u64) as usize);
        order.reverse();
        let zp = z.select(Axis(0), &order);
        let yp: Vec<usize> = order.iter().map(|&i| y[i]).collect();
        for (name, loss) in label_losses() {
            let (a, b) = (loss(z.view(), &y), loss(zp.view(), &yp));
            prop_assert!(close(a.loss, b.loss, 1e-12), "{}: {} vs {}", name, a.loss, b.loss);
            assert_close(name, &b.grad, &a.grad.select(Axis(0), &order), 1e-10);
        }
    }

    /// Normalised losses see only directions: scaling a row by c leaves the loss and
    /// divides that row's gradient by c.
    #[test]
    fn normalised_losses_ignore_row_scale((z, y) in labelled(), row in 0usize..4, c in 0.01f64..100.0) {
        let mut zs = z.clone();
        zs.row_mut(row).mapv_inplace(|x| x * c);
        let mut expect_scale = Array2::ones(z.raw_dim());
        expect_scale.row_mut(row).fill(1.0 / c);
        for (name, loss) in label_losses() {
            let (a, b) = (loss(z.view(), &y), loss(zs.view(), &y));
            prop_assert!(close(a.loss, b.loss, 1e-10), "{}: {} vs {}", name, a.loss, b.loss);
            assert_close(name, &b.grad, &(&a.grad * &expect_scale), 1e-9);
        }
        let even = z.slice(s![..z.nrows() / 2 * 2, ..]).to_owned();
        let mut evens = even.clone();
        evens.row_mut(row).mapv_inplace(|x| x * c);
        for (name, loss) in two_view_losses() {
            let (a, b) = (loss(even.view()), loss(evens.view()));
            prop_assert!(close(a.loss, b.loss, 1e-10), "{}: {} vs {}", name, a.loss, b.loss);
        }
    }

    /// The tiled evaluation equals the dense one for tile sizes that do and do not divide
    /// the row count, with and without normalisation.
    #[test]
    fn tiled_nt_xent_equals_dense(
        z in (2usize..24, 2usize..9).prop_flat_map(|(n, d)| embeddings(2 * n, d)),
        rows in 1usize..20, cols in 1usize..20, t in 0.05f64..1.0, normalize: bool,
    ) {
        let cfg = NtXentConfig::new(t).normalize(normalize);
        let dense = nt_xent(z.view(), &cfg.evaluation(Evaluation::Dense)).unwrap();
        let tiled = nt_xent(z.view(), &cfg.evaluation(Evaluation::Tiled(TileSize { rows, cols }))).unwrap();
        prop_assert!(close(tiled.loss, dense.loss, 1e-10), "{} vs {}", tiled.loss, dense.loss);
        assert_close("nt_xent tiled grad", &tiled.grad, &dense.grad, 1e-10);
    }

    #[test]
    fn tiled_info_nce_equals_dense(
        (q, k, neg) in (1usize..20, 0usize..30, 2usize..9).prop_flat_map(|(b, kq, d)| (embeddings(b, d), embeddings(b, d), embeddings(kq, d))),
        rows in 1usize..12, cols in 1usize..12, t in 0.05f64..1.0, in_batch: bool, normalize: bool,
    ) {
        prop_assume!(neg.nrows() > 0 || (in_batch && q.nrows() > 1));
        let negs = (neg.nrows() > 0).then(|| neg.view());
        let cfg = InfoNceConfig::new(t).in_batch(in_batch).normalize(normalize);
        let dense = info_nce(q.view(), k.view(), negs, &cfg.evaluation(Evaluation::Dense)).unwrap();
        let tiled = info_nce(q.view(), k.view(), negs, &cfg.evaluation(Evaluation::Tiled(TileSize { rows, cols }))).unwrap();
        prop_assert!(close(tiled.loss, dense.loss, 1e-10), "{} vs {}", tiled.loss, dense.loss);
        assert_close("dq", &tiled.grad_query, &dense.grad_query, 1e-10);
        assert_close("dk", &tiled.grad_key, &dense.grad_key, 1e-10);
        if let (Some(a), Some(b)) = (&tiled.grad_negatives, &dense.grad_negatives) {
            assert_close("dn", a, b, 1e-10);
        }
    }
}

/// Two views, labels [0..N, 0..N]: SupCon, the pair form and the sum-in-log form all reduce
/// to NT-Xent (value and gradient).
#[test]
fn multi_positive_forms_reduce_to_nt_xent() {
    let z = Array2::from_shape_fn((10, 4), |(i, j)| {
        ((i * 7 + j * 3) as f64 * 0.37).sin() + 0.1
    });
    let labels: Vec<usize> = (0..10).map(|i| i % 5).collect();
    let reference = nt_xent(z.view(), &NtXentConfig::new(0.2)).unwrap();
    let cfg = SoftmaxConfig::new(0.2);
    for (name, out) in [
        (
            "supcon",
            supcon(z.view(), &labels, &SupConConfig::new(0.2)).unwrap(),
        ),
        ("pairs", nt_xent_pairs(z.view(), &labels, &cfg).unwrap()),
        ("in_log", positives_in_log(z.view(), &labels, &cfg).unwrap()),
    ] {
        assert!(
            close(out.loss, reference.loss, 1e-12),
            "{name}: {} vs {}",
            out.loss,
            reference.loss
        );
        assert_close(name, &out.grad, &reference.grad, 1e-12);
    }
}

/// T = 0.01 with norms up to 1e4 (f64 and f32): every loss finite, every gradient finite.
#[test]
fn tiny_temperature_and_huge_norms_stay_finite() {
    let z64 = extreme_batch(6, 5);
    let z32 = z64.mapv(|x| x as f32);
    let labels: Vec<usize> = (0..12).map(|i| i % 6).collect();
    macro_rules! check {
        ($z:expr) => {{
            let z = $z.view();
            let finite = |name: &str, loss: f64, grads: &[f64]| {
                assert!(loss.is_finite(), "{name}: loss {loss}");
                assert!(
                    grads.iter().all(|g| g.is_finite()),
                    "{name}: non-finite gradient"
                );
            };
            let g = |m: &Array2<_>| m.iter().map(|&x| x as f64).collect::<Vec<f64>>();
            for ev in [
                Evaluation::Dense,
                Evaluation::Tiled(TileSize { rows: 5, cols: 7 }),
            ] {
                let o = nt_xent(z, &NtXentConfig::new(0.01).evaluation(ev)).unwrap();
                finite("nt_xent", o.loss as f64, &g(&o.grad));
                let o =
                    nt_xent(z, &NtXentConfig::new(0.01).normalize(false).evaluation(ev)).unwrap();
                finite("nt_xent raw", o.loss as f64, &g(&o.grad));
                let mask = NegativeMask::SameInstance(&[1, 2, 1, 3, 4, 3]);
                for normalize in [true, false] {
                    let cfg = NtXentConfig::new(0.01).normalize(normalize).evaluation(ev);
                    let o = nt_xent_masked(z, &mask, &cfg).unwrap();
                    finite("nt_xent masked", o.grad_temperature as f64, &g(&o.grad));
                }
                let o = info_nce(
                    z.slice(s![..6, ..]),
                    z.slice(s![6.., ..]),
                    Some(z),
                    &InfoNceConfig::new(0.01).in_batch(true).evaluation(ev),
                )
                .unwrap();
                finite("info_nce", o.loss as f64, &g(&o.grad_query));
                assert!(o.grad_temperature.is_finite(), "info_nce dL/dT");
            }
            let o = supcon(z, &labels, &SupConConfig::new(0.01)).unwrap();
            finite("supcon", o.loss as f64, &g(&o.grad));
            let o = nt_xent_pairs(z, &labels, &SoftmaxConfig::new(0.01)).unwrap();
            finite("pairs", o.loss as f64, &g(&o.grad));
            let o = positives_in_log(z, &labels, &SoftmaxConfig::new(0.01)).unwrap();
            finite("in_log", o.loss as f64, &g(&o.grad));
            let o = dcl(
                z,
                &DclConfig {
                    temperature: 0.01,
                    weight: DclWeight::VonMisesFisher {
                        sigma: 0.01,
                        detach: false,
                    },
                    ..Default::default()
                },
            )
            .unwrap();
            finite("dclw", o.loss as f64, &g(&o.grad));
            let o = debiased(
                z,
                &DebiasedConfig {
                    temperature: 0.01,
                    ..Default::default()
                },
            )
            .unwrap();
            finite("debiased", o.loss as f64, &g(&o.grad));
            let o = hcl(
                z,
                &HclConfig {
                    temperature: 0.01,
                    beta: 5.0,
                    ..Default::default()
                },
            )
            .unwrap();
            finite("hcl", o.loss as f64, &g(&o.grad));
            let o = uniformity(z, &UniformityConfig::default()).unwrap();
            finite("uniformity", o.loss as f64, &g(&o.grad));
            let o = triplet_margin_labels(z, &labels, &LabelTripletConfig::default()).unwrap();
            finite("triplet", o.loss as f64, &g(&o.grad));
        }};
    }
    check!(z64);
    check!(z32);
}

/// A zero row is handled by the normalisation's eps: finite loss and gradient.
#[test]
fn zero_row_is_finite() {
    let mut z = extreme_batch(3, 4);
    z.row_mut(1).fill(0.0);
    let out = nt_xent(z.view(), &NtXentConfig::new(0.1)).unwrap();
    assert!(out.loss.is_finite() && out.grad.iter().all(|g| g.is_finite()));
}
