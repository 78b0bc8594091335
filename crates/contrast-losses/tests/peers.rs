//! Agreement with the peer libraries: torch, pytorch-metric-learning, lightly, and
//! open_clip's SigLIP formula written in torch.
//!
//! `fixtures/peers.json` holds inputs, loss values and input gradients computed by the
//! peers in float64 by `fixtures/make_fixtures.py` (versions in its `meta`). Each case is
//! evaluated here in f64 (tolerance 1e-10) and in f32 (tolerance 1e-6), relative to
//! `max(1, |reference|)`.

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
        "info_nce" => {
            let cfg = InfoNceConfig::new(f("temperature"))
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
            let grads = vec![
                ("query", back(&out.grad_query)),
                ("key", back(&out.grad_key)),
                ("negatives", back(&out.grad_negatives.unwrap())),
            ];
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
        other => panic!("fixture kind {other} has no evaluator"),
    }
}

fn check_all<A: NdFloat>(tol: f64) {
    let doc: Value = serde_json::from_str(FIXTURES).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(
        cases.len() >= 40,
        "fixture file lost cases: {}",
        cases.len()
    );
    let close = |a: f64, b: f64| (a - b).abs() <= tol * b.abs().max(1.0);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        for tiled in [false, true] {
            let (loss, grads) = evaluate::<A>(case, tiled);
            let want: Vec<f64> = match &case["loss"] {
                Value::Array(v) => v.iter().map(|x| x.as_f64().unwrap()).collect(),
                x => vec![x.as_f64().unwrap()],
            };
            assert_eq!(loss.len(), want.len(), "{name}");
            for (a, b) in loss.iter().zip(&want) {
                assert!(
                    close(*a, *b),
                    "{name} (tiled {tiled}): loss {a} vs peer {b}"
                );
            }
            for (input, grad) in grads {
                let want = matrix::<f64>(&case["grads"][input]);
                assert_eq!(grad.shape(), want.shape(), "{name} {input}");
                for ((idx, a), b) in grad.indexed_iter().zip(want.iter()) {
                    assert!(
                        close(*a, *b),
                        "{name} (tiled {tiled}): d/d{input}{idx:?} {a} vs peer {b}"
                    );
                }
            }
        }
    }
}

#[test]
fn peers_agree_in_f64() {
    check_all::<f64>(1e-10);
}

#[test]
fn peers_agree_in_f32() {
    check_all::<f32>(1e-6);
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
    ] {
        assert!(kinds.contains(k), "no fixture of kind {k}");
    }
}
