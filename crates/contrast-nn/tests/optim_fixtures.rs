//! Each optimizer against several steps of PyTorch (fixtures from
//! `tests/fixtures/make_optim_fixtures.py`), including a learning rate changed between steps.

use contrast_nn::optim::{Adam, Lars, Optimizer, ParamKind, ParamRef, Sgd};
use ndarray::{ArrayD, IxDyn};
use serde_json::Value;

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn build(case: &Value) -> Box<dyn Optimizer<f64>> {
    let c = &case["config"];
    let get = |k: &str, d: f64| c.get(k).and_then(Value::as_f64).unwrap_or(d);
    let lr = get("lr", 0.0);
    match case["optimizer"].as_str().unwrap() {
        "sgd" => Box::new(
            Sgd::new(lr)
                .unwrap()
                .momentum(get("momentum", 0.0))
                .unwrap()
                .dampening(get("dampening", 0.0))
                .unwrap()
                .nesterov(c.get("nesterov").and_then(Value::as_bool).unwrap_or(false))
                .unwrap()
                .weight_decay(get("weight_decay", 0.0), false)
                .unwrap(),
        ),
        "adam" => {
            let betas = c.get("betas").map(floats).unwrap_or(vec![0.9, 0.999]);
            Box::new(
                Adam::new(lr)
                    .unwrap()
                    .betas(betas[0], betas[1])
                    .unwrap()
                    .eps(get("eps", 1e-8))
                    .unwrap()
                    .weight_decay(get("weight_decay", 0.0), false)
                    .unwrap(),
            )
        }
        "adamw" => Box::new(Adam::adamw(lr, get("weight_decay", 0.01)).unwrap()),
        "lars" => Box::new(
            Lars::new(lr, get("weight_decay", 0.0))
                .unwrap()
                .momentum(get("momentum", 0.9))
                .unwrap()
                .trust_coefficient(get("eta", 0.001))
                .unwrap(),
        ),
        other => panic!("unknown optimizer {other}"),
    }
}

#[test]
fn optimizers_match_pytorch_for_several_steps() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/optim_fixtures.json"
    ))
    .unwrap();
    let all: Value = serde_json::from_str(&text).unwrap();
    let cases = all["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 9);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let mut opt = build(case);
        let mut w = ArrayD::from_shape_vec(IxDyn(&[3, 4]), floats(&case["weight"])).unwrap();
        let mut b = ArrayD::from_shape_vec(IxDyn(&[3]), floats(&case["bias"])).unwrap();
        let lrs = floats(&case["lrs"]);
        for (t, (grads, after)) in case["grads"]
            .as_array()
            .unwrap()
            .iter()
            .zip(case["after"].as_array().unwrap())
            .enumerate()
        {
            let gw = ArrayD::from_shape_vec(IxDyn(&[3, 4]), floats(&grads[0])).unwrap();
            let gb = ArrayD::from_shape_vec(IxDyn(&[3]), floats(&grads[1])).unwrap();
            opt.set_lr(lrs[t]);
            let mut params = [
                ParamRef {
                    name: "layer.weight",
                    kind: ParamKind::Weight,
                    value: &mut w,
                    grad: &gw,
                },
                ParamRef {
                    name: "layer.bias",
                    kind: ParamKind::Bias,
                    value: &mut b,
                    grad: &gb,
                },
            ];
            opt.step(&mut params).unwrap();
            for (got, want) in [(&w, &after[0]), (&b, &after[1])] {
                let want = floats(want);
                let err = got
                    .iter()
                    .zip(&want)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                assert!(
                    err < 1e-12,
                    "{name} step {t}: max error {err}\n got {got}\nwant {want:?}"
                );
            }
        }
        // The update must actually move the parameters (guards against a vacuous fixture).
        assert_ne!(
            w.iter().copied().collect::<Vec<_>>(),
            floats(&case["weight"]),
            "{name}"
        );
    }
}

#[test]
fn state_dict_round_trip_continues_identically() {
    let gw = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![0.1, -0.2, 0.3, 0.05]).unwrap();
    let start = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1.0, 2.0, -1.0, 0.5]).unwrap();
    type Maker = fn() -> Box<dyn Optimizer<f64>>;
    let makers: Vec<Maker> = vec![
        || Box::new(Sgd::new(0.1).unwrap().momentum(0.9).unwrap()),
        || Box::new(Adam::adamw(0.01, 0.1).unwrap()),
        || Box::new(Lars::new(1.0, 1e-4).unwrap()),
    ];
    for make in makers {
        let mut a = make();
        let mut w1 = start.clone();
        for _ in 0..2 {
            a.step(&mut [ParamRef {
                name: "w",
                kind: ParamKind::Weight,
                value: &mut w1,
                grad: &gw,
            }])
            .unwrap();
        }
        let mut b = make();
        b.load_state_dict(&a.state_dict()).unwrap();
        let mut w2 = w1.clone();
        a.step(&mut [ParamRef {
            name: "w",
            kind: ParamKind::Weight,
            value: &mut w1,
            grad: &gw,
        }])
        .unwrap();
        b.step(&mut [ParamRef {
            name: "w",
            kind: ParamKind::Weight,
            value: &mut w2,
            grad: &gw,
        }])
        .unwrap();
        assert_eq!(w1, w2);
        let mut bad = a.state_dict();
        bad.insert("nonsense".into(), ArrayD::zeros(IxDyn(&[1])));
        assert!(b.load_state_dict(&bad).is_err());
    }
}

#[test]
fn wrong_gradient_or_state_shape_is_an_error() {
    let mut w = ArrayD::<f32>::zeros(IxDyn(&[2, 3]));
    let g = ArrayD::<f32>::zeros(IxDyn(&[3, 2]));
    let mut sgd = Sgd::new(0.1).unwrap().momentum(0.9).unwrap();
    let err = sgd
        .step(&mut [ParamRef {
            name: "w",
            kind: ParamKind::Weight,
            value: &mut w,
            grad: &g,
        }])
        .unwrap_err();
    assert!(err.to_string().contains("[3, 2]"), "{err}");
    // A momentum buffer of the wrong shape (e.g. state from another model) is refused too.
    let g = ArrayD::<f32>::zeros(IxDyn(&[2, 3]));
    sgd.step(&mut [ParamRef {
        name: "w",
        kind: ParamKind::Weight,
        value: &mut w,
        grad: &g,
    }])
    .unwrap();
    let mut other = ArrayD::<f32>::zeros(IxDyn(&[4]));
    let g4 = ArrayD::<f32>::zeros(IxDyn(&[4]));
    assert!(
        sgd.step(&mut [ParamRef {
            name: "w",
            kind: ParamKind::Weight,
            value: &mut other,
            grad: &g4
        }])
        .is_err()
    );
}

#[test]
fn bad_settings_are_errors() {
    assert!(Sgd::<f32>::new(-0.1).is_err());
    assert!(Sgd::<f32>::new(0.1).unwrap().momentum(1.0).is_err());
    assert!(Sgd::<f32>::new(0.1).unwrap().nesterov(true).is_err());
    assert!(Adam::<f32>::new(f64::NAN).is_err());
    assert!(Adam::<f32>::new(0.1).unwrap().betas(0.9, 1.0).is_err());
    assert!(Lars::<f32>::new(0.1, -1.0).is_err());
}

#[test]
fn decay_only_weights_leaves_biases_undecayed() {
    // Zero gradient: only decay moves the parameters.
    let z = ArrayD::<f64>::zeros(IxDyn(&[2]));
    let mut w = ArrayD::from_elem(IxDyn(&[2]), 1.0);
    let mut b = ArrayD::from_elem(IxDyn(&[2]), 1.0);
    let mut opt = Sgd::new(0.5).unwrap().weight_decay(0.1, true).unwrap();
    opt.step(&mut [
        ParamRef {
            name: "w",
            kind: ParamKind::Weight,
            value: &mut w,
            grad: &z,
        },
        ParamRef {
            name: "b",
            kind: ParamKind::Bias,
            value: &mut b,
            grad: &z,
        },
    ])
    .unwrap();
    assert!((w[0] - 0.95).abs() < 1e-15);
    assert_eq!(b[0], 1.0);
}
