//! Bad input gives a typed error: shapes, labels, hyper-parameters, and NaN or infinite
//! embeddings (`Error::NonFinite` naming the input and the first bad entry, in f64 and
//! f32, whichever input holds it).

mod batches;

use batches::extreme_batch;
use contrast_losses::*;
use ndarray::{Array2, ArrayView2, NdFloat, s};

/// A loss over `inputs` (all the same shape), as a closure returning only the error side.
type Loss<A> = Box<dyn Fn(&[ArrayView2<A>]) -> Result<()>>;

/// Each loss with the names its inputs carry in errors, and how many inputs it takes.
fn losses<A: NdFloat>() -> Vec<(Vec<&'static str>, Loss<A>)> {
    let labels = [0, 0, 1, 1, 2, 2];
    let small = Evaluation::Tiled(TileSize { rows: 2, cols: 3 });
    let dense = NtXentConfig::new(0.5).evaluation(Evaluation::Dense);
    let tiled = NtXentConfig::new(0.5).evaluation(small);
    let nce = move |in_batch: bool, tiled: bool| InfoNceConfig {
        in_batch,
        evaluation: if tiled { small } else { Evaluation::Dense },
        ..InfoNceConfig::default()
    };
    let (qk, qkn) = (
        vec!["info_nce query", "info_nce key"],
        vec!["info_nce query", "info_nce key", "info_nce negatives"],
    );
    vec![
        (
            vec!["nt_xent z"],
            Box::new(move |x| nt_xent(x[0], &dense).map(drop)),
        ),
        (
            vec!["nt_xent z"],
            Box::new(move |x| nt_xent(x[0], &tiled).map(drop)),
        ),
        (
            vec!["supcon z"],
            Box::new(move |x| supcon(x[0], &labels, &SupConConfig::default()).map(drop)),
        ),
        (
            vec!["nt_xent_pairs z"],
            Box::new(move |x| nt_xent_pairs(x[0], &labels, &SoftmaxConfig::default()).map(drop)),
        ),
        (
            vec!["positives_in_log z"],
            Box::new(move |x| positives_in_log(x[0], &labels, &SoftmaxConfig::default()).map(drop)),
        ),
        (
            vec!["dcl z"],
            Box::new(|x| dcl(x[0], &DclConfig::default()).map(drop)),
        ),
        (
            vec!["debiased z"],
            Box::new(|x| debiased(x[0], &DebiasedConfig::default()).map(drop)),
        ),
        (
            vec!["hcl z"],
            Box::new(|x| hcl(x[0], &HclConfig::default()).map(drop)),
        ),
        (
            vec!["contrastive z"],
            Box::new(move |x| {
                contrastive_margin(x[0], &labels, &ContrastiveMarginConfig::default()).map(drop)
            }),
        ),
        (
            vec!["triplet z"],
            Box::new(move |x| {
                triplet_margin_labels(x[0], &labels, &LabelTripletConfig::default()).map(drop)
            }),
        ),
        (
            vec!["uniformity x"],
            Box::new(|x| uniformity(x[0], &UniformityConfig::default()).map(drop)),
        ),
        (
            vec!["alignment x", "alignment y"],
            Box::new(|x| alignment(x[0], x[1], &AlignmentConfig::default()).map(drop)),
        ),
        (
            vec!["siglip x", "siglip y"],
            Box::new(|x| {
                let (t, b) = (
                    A::from(SIGLIP_INIT_LOG_SCALE).unwrap(),
                    A::from(-10.0).unwrap(),
                );
                siglip(x[0], x[1], t, b, &SigLipConfig::default()).map(drop)
            }),
        ),
        (
            vec!["vicreg a", "vicreg b"],
            Box::new(|x| vicreg(x[0], x[1], &VicRegConfig::default()).map(drop)),
        ),
        (
            vec!["barlow_twins a", "barlow_twins b"],
            Box::new(|x| barlow_twins(x[0], x[1], &BarlowTwinsConfig::default()).map(drop)),
        ),
        (
            vec!["triplet anchor", "triplet positive", "triplet negative"],
            Box::new(|x| triplet_margin(x[0], x[1], x[2], &TripletConfig::default()).map(drop)),
        ),
        (
            qk.clone(),
            Box::new(move |x| info_nce(x[0], x[1], None, &nce(true, false)).map(drop)),
        ),
        (
            qk,
            Box::new(move |x| info_nce(x[0], x[1], None, &nce(true, true)).map(drop)),
        ),
        (
            qkn.clone(),
            Box::new(move |x| info_nce(x[0], x[1], Some(x[2]), &nce(false, false)).map(drop)),
        ),
        (
            qkn,
            Box::new(move |x| info_nce(x[0], x[1], Some(x[2]), &nce(false, true)).map(drop)),
        ),
    ]
}

/// Six distinct rows of four finite values (three two-view pairs, or three label pairs).
fn batch<A: NdFloat>(seed: usize) -> Array2<A> {
    Array2::from_shape_fn((6, 4), |(i, j)| {
        A::from(((i * 5 + j * 3 + seed) % 7) as f64 * 0.3 - 0.8).unwrap()
    })
}

fn views<A>(m: &[Array2<A>]) -> Vec<ArrayView2<'_, A>> {
    m.iter().map(|a| a.view()).collect()
}

fn every_loss_names_the_non_finite_input<A: NdFloat>() {
    let bads = [A::nan(), A::infinity(), A::neg_infinity()];
    for (names, loss) in losses::<A>() {
        let clean: Vec<Array2<A>> = (0..names.len()).map(batch).collect();
        assert_eq!(loss(&views(&clean)), Ok(()), "{names:?} on clean input");
        for (input, &name) in names.iter().enumerate() {
            for &bad in &bads {
                let mut inputs = clean.clone();
                inputs[input][[4, 1]] = bad;
                inputs[input][[5, 3]] = bad; // a later bad entry: the first one is reported
                match loss(&views(&inputs)) {
                    Err(Error::NonFinite { what, index, value }) => {
                        assert_eq!(what, name, "{names:?}");
                        assert_eq!(index, [4, 1], "{name}");
                        let value_matches = if bad.is_nan() {
                            value.is_nan()
                        } else {
                            value == bad.to_f64().unwrap()
                        };
                        assert!(value_matches, "{name}: reported {value}");
                    }
                    other => panic!("{name} with {bad:?}: expected NonFinite, got {other:?}"),
                }
            }
        }
    }
}

#[test]
fn every_loss_names_the_non_finite_input_f64() {
    every_loss_names_the_non_finite_input::<f64>();
}

#[test]
fn every_loss_names_the_non_finite_input_f32() {
    every_loss_names_the_non_finite_input::<f32>();
}

/// Each kind of bad input gives its typed error.
#[test]
fn bad_input_is_a_typed_error() {
    let z = extreme_batch(3, 4);
    let cfg = NtXentConfig::new(0.5);
    let odd = z.slice(s![..5, ..]);
    assert!(matches!(
        nt_xent(odd, &cfg),
        Err(Error::OddRows { rows: 5, .. })
    ));
    assert!(matches!(
        nt_xent(z.slice(s![..2, ..]), &cfg),
        Err(Error::NoNegative { rows: 2, .. })
    ));
    assert!(matches!(
        nt_xent(z.slice(s![..0, ..]), &cfg),
        Err(Error::Empty { .. })
    ));
    for t in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(
            matches!(
                nt_xent(z.view(), &NtXentConfig::new(t)),
                Err(Error::Temperature(_))
            ),
            "T = {t}"
        );
    }
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut zb = z.clone();
        zb[[2, 1]] = bad;
        assert!(matches!(
            nt_xent(zb.view(), &cfg),
            Err(Error::NonFinite { index: [2, 1], .. })
        ));
        assert!(matches!(
            supcon(zb.view(), &[0, 0, 1, 1, 2, 2], &SupConConfig::default()),
            Err(Error::NonFinite { .. })
        ));
    }
    let tiles = NtXentConfig::new(0.5).evaluation(Evaluation::Tiled(TileSize { rows: 0, cols: 4 }));
    assert!(matches!(
        nt_xent(z.view(), &tiles),
        Err(Error::Parameter {
            name: "tile rows",
            ..
        })
    ));
    // Labels.
    assert!(matches!(
        supcon(z.view(), &[0, 1], &SupConConfig::default()),
        Err(Error::LabelLength { labels: 2, rows: 6 })
    ));
    assert!(matches!(
        supcon(z.view(), &[1; 6], &SupConConfig::default()),
        Err(Error::NoNegative { .. })
    ));
    assert!(matches!(
        nt_xent_pairs(z.view(), &[0; 6], &SoftmaxConfig::default()),
        Err(Error::NoNegative { .. })
    ));
    assert!(matches!(
        positives_in_log(
            z.view(),
            &[0, 0, 1, 1, 2, 3],
            &SoftmaxConfig::default().no_positive(NoPositive::Error)
        ),
        Err(Error::NoPositive { anchor: 4, .. })
    ));
    assert!(matches!(
        triplet_margin_labels(z.view(), &[0; 5], &LabelTripletConfig::default()),
        Err(Error::LabelLength { .. })
    ));
    assert!(matches!(
        contrastive_margin(z.view(), &[2; 6], &ContrastiveMarginConfig::default()),
        Err(Error::NoNegative { .. })
    ));
    let nan_margin = ContrastiveMarginConfig {
        neg_margin: f64::NAN,
        ..Default::default()
    };
    assert!(matches!(
        contrastive_margin(z.view(), &[0, 0, 1, 1, 2, 2], &nan_margin),
        Err(Error::Parameter {
            name: "neg_margin",
            ..
        })
    ));
    // Shapes.
    let (a, b) = (z.slice(s![..3, ..]), z.slice(s![3.., ..3]));
    assert!(matches!(
        triplet_margin(a, b, a, &TripletConfig::default()),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        alignment(a, b, &AlignmentConfig::default()),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        info_nce(a, b, None, &InfoNceConfig::default()),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        info_nce(a, a, Some(b), &InfoNceConfig::default()),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        info_nce(a, a, None, &InfoNceConfig::default()),
        Err(Error::NoNegative { .. })
    ));
    assert!(matches!(
        info_nce(
            a.slice(s![..1, ..]),
            a.slice(s![..1, ..]),
            None,
            &InfoNceConfig::default().in_batch(true)
        ),
        Err(Error::NoNegative { .. })
    ));
    // Hyper-parameters.
    assert!(matches!(
        debiased(
            z.view(),
            &DebiasedConfig {
                tau_plus: 1.0,
                ..Default::default()
            }
        ),
        Err(Error::Parameter {
            name: "tau_plus",
            ..
        })
    ));
    assert!(matches!(
        hcl(
            z.view(),
            &HclConfig {
                beta: -1.0,
                ..Default::default()
            }
        ),
        Err(Error::Parameter { name: "beta", .. })
    ));
    let dclw = DclConfig {
        weight: DclWeight::VonMisesFisher {
            sigma: 0.0,
            detach: true,
        },
        ..Default::default()
    };
    assert!(matches!(
        dcl(z.view(), &dclw),
        Err(Error::Parameter { name: "sigma", .. })
    ));
    assert!(matches!(
        alignment(
            a,
            a,
            &AlignmentConfig {
                alpha: 0.0,
                normalize: true
            }
        ),
        Err(Error::Parameter { name: "alpha", .. })
    ));
    assert!(matches!(
        uniformity(a.slice(s![..1, ..]), &UniformityConfig::default()),
        Err(Error::NoNegative { .. })
    ));
    assert!(matches!(
        uniformity(
            a,
            &UniformityConfig {
                t: f64::NAN,
                normalize: true
            }
        ),
        Err(Error::Parameter { name: "t", .. })
    ));
    assert!(matches!(
        triplet_margin(
            a,
            a,
            a,
            &TripletConfig {
                eps: -1.0,
                ..Default::default()
            }
        ),
        Err(Error::Parameter { name: "eps", .. })
    ));
}

/// The new losses' own parameters and shapes.
#[test]
fn siglip_vicreg_barlow_parameters_are_checked() {
    let z = extreme_batch(3, 4);
    let (a, b) = (z.slice(s![..3, ..]), z.slice(s![3.., ..]));
    let sig = SigLipConfig::default();
    for t in [f64::NAN, f64::INFINITY, 710.0] {
        assert!(
            matches!(
                siglip(a, b, t, 0.0, &sig),
                Err(Error::Parameter {
                    name: "log_scale",
                    ..
                })
            ),
            "t = {t}"
        );
    }
    // exp(89) overflows f32 only.
    let (a32, b32) = (a.mapv(|x| x as f32), b.mapv(|x| x as f32));
    assert!(matches!(
        siglip(a32.view(), b32.view(), 89.0, 0.0, &sig),
        Err(Error::Parameter {
            name: "log_scale",
            ..
        })
    ));
    assert!(siglip(a, b, 89.0, 0.0, &sig).is_ok());
    assert!(matches!(
        siglip(a, b, 0.0, f64::NAN, &sig),
        Err(Error::Parameter { name: "bias", .. })
    ));
    assert!(matches!(
        siglip(a, b.slice(s![..2, ..]), 0.0, 0.0, &sig),
        Err(Error::Shape {
            what: "siglip y",
            ..
        })
    ));
    for (name, cfg) in [
        (
            "mu",
            VicRegConfig {
                mu: -1.0,
                ..Default::default()
            },
        ),
        (
            "lambda",
            VicRegConfig {
                lambda: f64::NAN,
                ..Default::default()
            },
        ),
        (
            "nu",
            VicRegConfig {
                nu: f64::INFINITY,
                ..Default::default()
            },
        ),
        (
            "eps",
            VicRegConfig {
                eps: 0.0,
                ..Default::default()
            },
        ),
    ] {
        match vicreg(a, b, &cfg) {
            Err(Error::Parameter { name: got, .. }) => assert_eq!(got, name),
            other => panic!("vicreg {name}: {other:?}"),
        }
    }
    let one = a.slice(s![..1, ..]);
    assert_eq!(
        vicreg(one, one, &VicRegConfig::default()),
        Err(Error::TooFewRows {
            what: "vicreg",
            rows: 1,
            min: 2
        })
    );
    assert!(matches!(
        vicreg(a, b.slice(s![.., ..3]), &VicRegConfig::default()),
        Err(Error::Shape {
            what: "vicreg b",
            ..
        })
    ));
    for (name, cfg) in [
        (
            "lambda",
            BarlowTwinsConfig {
                lambda: -0.1,
                ..Default::default()
            },
        ),
        (
            "eps",
            BarlowTwinsConfig {
                eps: -1.0,
                ..Default::default()
            },
        ),
    ] {
        match barlow_twins(a, b, &cfg) {
            Err(Error::Parameter { name: got, .. }) => assert_eq!(got, name),
            other => panic!("barlow {name}: {other:?}"),
        }
    }
    assert_eq!(
        barlow_twins(one, one, &BarlowTwinsConfig::default()),
        Err(Error::TooFewRows {
            what: "barlow_twins",
            rows: 1,
            min: 2
        })
    );
}
