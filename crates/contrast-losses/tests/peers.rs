//! Agreement with the peer libraries: torch, pytorch-metric-learning, lightly, and
//! open_clip's SigLIP and CLIP formulas written in torch.
//!
//! `fixtures/peers.json` holds inputs (matrices, and scalars for learnable parameters),
//! loss values and input gradients computed by the peers in float64 by
//! `fixtures/make_fixtures.py` (versions in its `meta`). Each case is evaluated here in
//! f64 (tolerance 1e-10) and in f32 (tolerance 1e-6, times the logit scale over 10 for a
//! learnable log-scale), relative to `max(1, |reference|)`, with the dense and the tiled
//! evaluation. `cargo test --test peers -- --nocapture` prints the largest difference of
//! each kind.

use contrast_autodiff::Graph;
use contrast_losses::autodiff::info_nce_log_scale_op;
use contrast_losses::*;
use ndarray::{Array2, NdFloat};
use serde_json::Value;

const FIXTURES: &str = include_str!("fixtures/peers.json");

/// A matrix from nested lists; a number (a scalar parameter or its gradient) is `1 x 1`.
fn matrix<A: NdFloat>(v: &Value) -> Array2<A> {
    if let Some(x) = v.as_f64() {
        return Array2::from_elem((1, 1), A::from(x).unwrap());
    }
    let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
    let (n, d) = (rows.len(), rows[0].len());
    Array2::from_shape_fn((n, d), |(i, j)| A::from(rows[i][j]).unwrap())
}

fn back<A: NdFloat>(m: &Array2<A>) -> Array2<f64> {
    m.mapv(|x| x.to_f64().unwrap())
}

/// The loss (a vector for reduction 'none') and the named gradients of one case.
type Evaluated = (Vec<f64>, Vec<(&'static str, Array2<f64>)>);

/// Evaluates one fixture case with our implementation.
fn evaluate<A: NdFloat>(case: &Value, tiled: bool) -> Evaluated {
    let p = &case["params"];
    let f = |k: &str| p[k].as_f64().unwrap();
    let input = |k: &str| matrix::<A>(&case["inputs"][k]);
    let labels: Vec<usize> = case
        .get("labels")
        .map(|l| serde_json::from_value(l.clone()).unwrap())
        .unwrap_or_default();
    let evaluation = if tiled {
        Evaluation::Tiled(TileSize { rows: 3, cols: 5 })
    } else {
        Evaluation::Dense
    };
    fn scalar<A: NdFloat>(v: A) -> Array2<f64> {
        Array2::from_elem((1, 1), v.to_f64().unwrap())
    }
    fn pair<A: NdFloat>(out: PairLossGrad<A>) -> Evaluated {
        let grads = vec![("a", back(&out.grad_x)), ("b", back(&out.grad_y))];
        (vec![out.loss.to_f64().unwrap()], grads)
    }
    fn one<A: NdFloat>(out: impl Into<LossGrad<A>>) -> Evaluated {
        let out = out.into();
        (
            vec![out.loss.to_f64().unwrap()],
            vec![("z", back(&out.grad))],
        )
    }
    match case["kind"].as_str().unwrap() {
        "nt_xent" => one(nt_xent(
            input("z").view(),
            &NtXentConfig::new(f("temperature")).evaluation(evaluation),
        )
        .unwrap()),
        "dcl" => one(dcl(
            input("z").view(),
            &DclConfig {
                temperature: f("temperature"),
                ..DclConfig::default()
            },
        )
        .unwrap()),
        "dclw" => {
            let weight = DclWeight::VonMisesFisher {
                sigma: f("sigma"),
                detach: true,
            };
            one(dcl(
                input("z").view(),
                &DclConfig {
                    temperature: f("temperature"),
                    weight,
                    ..DclConfig::default()
                },
            )
            .unwrap())
        }
        "supcon" => one(supcon(
            input("z").view(),
            &labels,
            &SupConConfig::new(f("temperature")),
        )
        .unwrap()),
        "multi_positive_pairs" => one(nt_xent_pairs(
            input("z").view(),
            &labels,
            &SoftmaxConfig::new(f("temperature")),
        )
        .unwrap()),
        "triplet_labels" => {
            let cfg = LabelTripletConfig {
                margin: f("margin"),
                ..LabelTripletConfig::default()
            };
            one(triplet_margin_labels(input("z").view(), &labels, &cfg).unwrap())
        }
        "contrastive_margin" => {
            let cfg = ContrastiveMarginConfig {
                pos_margin: f("pos_margin"),
                neg_margin: f("neg_margin"),
                ..ContrastiveMarginConfig::default()
            };
            one(contrastive_margin(input("z").view(), &labels, &cfg).unwrap())
        }
        "triplet_explicit" => {
            let reduction = match p["reduction"].as_str().unwrap() {
                "mean" => Reduction::Mean,
                "sum" => Reduction::Sum,
                _ => Reduction::None,
            };
            let cfg = TripletConfig {
                margin: f("margin"),
                reduction,
                ..TripletConfig::default()
            };
            let out = triplet_margin(
                input("anchor").view(),
                input("positive").view(),
                input("negative").view(),
                &cfg,
            )
            .unwrap();
            let loss = match reduction {
                Reduction::None => out.losses.iter().map(|x| x.to_f64().unwrap()).collect(),
                _ => vec![out.loss.to_f64().unwrap()],
            };
            let grads = vec![
                ("anchor", back(&out.grad_anchor)),
                ("positive", back(&out.grad_positive)),
                ("negative", back(&out.grad_negative)),
            ];
            (loss, grads)
        }
        "info_nce" | "info_nce_temperature" => {
            // A temperature among the inputs is a leaf of the peer: its gradient is checked.
            let learned = case["inputs"].get("temperature").and_then(Value::as_f64);
            let cfg = InfoNceConfig::new(learned.unwrap_or_else(|| f("temperature")))
                .in_batch(p["in_batch"].as_bool().unwrap())
                .evaluation(evaluation);
            let neg = input("negatives");
            let out = info_nce(
                input("query").view(),
                input("key").view(),
                Some(neg.view()),
                &cfg,
            )
            .unwrap();
            let mut grads = vec![
                ("query", back(&out.grad_query)),
                ("key", back(&out.grad_key)),
                ("negatives", back(&out.grad_negatives.unwrap())),
            ];
            if learned.is_some() {
                grads.push(("temperature", scalar(out.grad_temperature)));
            }
            (vec![out.loss.to_f64().unwrap()], grads)
        }
        "siglip" => {
            let scalar = |k: &str| A::from(case["inputs"][k].as_f64().unwrap()).unwrap();
            let cfg = SigLipConfig {
                normalize: p["normalize"].as_bool().unwrap(),
            };
            let out = siglip(
                input("x").view(),
                input("y").view(),
                scalar("log_scale"),
                scalar("bias"),
                &cfg,
            )
            .unwrap();
            let one = |v: A| Array2::from_elem((1, 1), v.to_f64().unwrap());
            let grads = vec![
                ("x", back(&out.grad_x)),
                ("y", back(&out.grad_y)),
                ("log_scale", one(out.grad_log_scale)),
                ("bias", one(out.grad_bias)),
            ];
            (vec![out.loss.to_f64().unwrap()], grads)
        }
        "vicreg" => {
            let cfg = VicRegConfig {
                lambda: f("lambda"),
                mu: f("mu"),
                nu: f("nu"),
                eps: f("eps"),
            };
            pair(vicreg(input("a").view(), input("b").view(), &cfg).unwrap())
        }
        "barlow_twins" => {
            let cfg = BarlowTwinsConfig {
                lambda: f("lambda"),
                ..BarlowTwinsConfig::default()
            };
            pair(barlow_twins(input("a").view(), input("b").view(), &cfg).unwrap())
        }
        "nt_xent_masked" => {
            let ids: Vec<u64> = serde_json::from_value(p["instance_ids"].clone()).unwrap();
            let t = case["inputs"]["temperature"].as_f64().unwrap();
            let cfg = NtXentConfig::new(t).evaluation(evaluation);
            let out =
                nt_xent_masked(input("z").view(), &NegativeMask::SameInstance(&ids), &cfg).unwrap();
            let grads = vec![
                ("z", back(&out.grad)),
                ("temperature", scalar(out.grad_temperature)),
            ];
            (vec![out.loss.to_f64().unwrap()], grads)
        }
        "clip" => clip::<A>(case, evaluation),
        other => panic!("fixture kind {other} has no evaluator"),
    }
}

/// Symmetric CLIP as the text recipe builds it: two InfoNCE nodes with in-batch
/// negatives, `(x, y)` and `(y, x)`, sharing the log-scale node, averaged.
fn clip<A: NdFloat>(case: &Value, evaluation: Evaluation) -> Evaluated {
    let mut g = Graph::<A>::new();
    let x = g.param(matrix::<A>(&case["inputs"]["x"]).into_dyn());
    let y = g.param(matrix::<A>(&case["inputs"]["y"]).into_dyn());
    let t = A::from(case["inputs"]["log_scale"].as_f64().unwrap()).unwrap();
    let t = g.param(ndarray::arr0(t).into_dyn());
    let cfg = InfoNceConfig::default()
        .in_batch(true)
        .evaluation(evaluation);
    let a = info_nce_log_scale_op(&mut g, x, y, None, t, &cfg).unwrap();
    let b = info_nce_log_scale_op(&mut g, y, x, None, t, &cfg).unwrap();
    let sum = g.add(a, b).unwrap();
    let loss = g.mul_scalar(sum, A::from(0.5).unwrap()).unwrap();
    let value = g.backward(loss).unwrap();
    let grad = |v| {
        g.grad(v)
            .unwrap()
            .view()
            .into_dimensionality::<ndarray::Ix2>()
            .unwrap()
            .mapv(|x| x.to_f64().unwrap())
    };
    let dt = g.grad(t).unwrap()[[]].to_f64().unwrap();
    let grads = vec![
        ("x", grad(x)),
        ("y", grad(y)),
        ("log_scale", Array2::from_elem((1, 1), dt)),
    ];
    (vec![value.to_f64().unwrap()], grads)
}

/// How much a case amplifies the rounding of its inputs: the logit scale `exp(t)` of a
/// learnable log-scale over 10 (CLIP's clamp, scale 100, turns the f32 rounding of `t` and
/// of the rows into relative errors of about 1e-5 in the logits). 1 for everything else.
fn conditioning(case: &Value) -> f64 {
    case["inputs"]
        .get("log_scale")
        .and_then(Value::as_f64)
        .map_or(1.0, |t| (t.exp() / 10.0).max(1.0))
}

/// Checks every case within `tol` (times its [`conditioning`] when `conditioned`), relative
/// to `max(1, |reference|)`, and prints the largest error of each kind.
fn check_all<A: NdFloat>(tol: f64, conditioned: bool) {
    let doc: Value = serde_json::from_str(FIXTURES).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(
        cases.len() >= 60,
        "fixture file lost cases: {}",
        cases.len()
    );
    let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(1.0);
    let mut worst = std::collections::BTreeMap::<&str, f64>::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let kind = case["kind"].as_str().unwrap();
        let tol = if conditioned {
            tol * conditioning(case)
        } else {
            tol
        };
        for tiled in [false, true] {
            let (loss, grads) = evaluate::<A>(case, tiled);
            let want: Vec<f64> = match &case["loss"] {
                Value::Array(v) => v.iter().map(|x| x.as_f64().unwrap()).collect(),
                x => vec![x.as_f64().unwrap()],
            };
            assert_eq!(loss.len(), want.len(), "{name}");
            let mut seen = 0.0f64;
            for (a, b) in loss.iter().zip(&want) {
                seen = seen.max(rel(*a, *b));
                assert!(
                    rel(*a, *b) <= tol,
                    "{name} (tiled {tiled}): loss {a} vs peer {b}"
                );
            }
            for (input, grad) in grads {
                let want = matrix::<f64>(&case["grads"][input]);
                assert_eq!(grad.shape(), want.shape(), "{name} {input}");
                for ((idx, a), b) in grad.indexed_iter().zip(want.iter()) {
                    seen = seen.max(rel(*a, *b));
                    assert!(
                        rel(*a, *b) <= tol,
                        "{name} (tiled {tiled}): d/d{input}{idx:?} {a} vs peer {b}"
                    );
                }
            }
            let w = worst.entry(kind).or_default();
            *w = w.max(seen);
        }
    }
    for (kind, err) in worst {
        println!(
            "{:<22} {} largest relative difference {err:.1e}",
            kind,
            std::any::type_name::<A>()
        );
    }
}

#[test]
fn peers_agree_in_f64() {
    check_all::<f64>(1e-10, false);
}

#[test]
fn peers_agree_in_f32() {
    check_all::<f32>(1e-6, true);
}

#[test]
fn fixture_covers_every_peer_kind() {
    let doc: Value = serde_json::from_str(FIXTURES).unwrap();
    let kinds: std::collections::BTreeSet<&str> = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    for k in [
        "nt_xent",
        "supcon",
        "multi_positive_pairs",
        "triplet_explicit",
        "triplet_labels",
        "contrastive_margin",
        "dcl",
        "dclw",
        "info_nce",
        "siglip",
        "vicreg",
        "barlow_twins",
        "nt_xent_masked",
        "info_nce_temperature",
        "clip",
    ] {
        assert!(kinds.contains(k), "no fixture of kind {k}");
    }
}
