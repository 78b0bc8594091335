//! Loading optimizer state that no optimizer could have written: non-finite or negative
//! moments, step counts out of range, buffers of unknown params or the wrong shape. Each is
//! refused with a typed error when loaded and leaves the optimizer (and model) unchanged.

use std::collections::HashMap;

use contrast_autodiff::Graph;
use contrast_nn::checkpoint::{
    check_optimizer_state, load_checkpoint, param_shapes, save_checkpoint, state_dict,
};
use contrast_nn::encoders::{Mlp, MlpConfig};
use contrast_nn::optim::{Adam, Lars, Optimizer, ParamKind, ParamRef, Sgd, graph_step};
use contrast_nn::param_file::{load_safetensors, save_safetensors};
use contrast_nn::state::StateDict;
use contrast_nn::{Error, Module};
use ndarray::{ArrayD, IxDyn};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The state of `opt` after two steps on a `[2, 3]` param named `w`.
fn stepped(opt: &mut dyn Optimizer<f64>) -> StateDict<f64> {
    let mut w = ArrayD::from_shape_fn(IxDyn(&[2, 3]), |i| i[0] as f64 - 0.5 * i[1] as f64);
    let g = ArrayD::from_shape_fn(IxDyn(&[2, 3]), |i| 0.1 + i[1] as f64);
    for _ in 0..2 {
        opt.step(&mut [ParamRef {
            name: "w",
            kind: ParamKind::Weight,
            value: &mut w,
            grad: &g,
        }])
        .unwrap();
    }
    opt.state_dict()
}

fn optimizers() -> Vec<(&'static str, Box<dyn Optimizer<f64>>)> {
    vec![
        (
            "sgd",
            Box::new(Sgd::new(0.1).unwrap().momentum(0.9).unwrap()),
        ),
        ("lars", Box::new(Lars::new(0.1, 1e-4).unwrap())),
        ("adam", Box::new(Adam::new(0.01).unwrap())),
        ("adamw", Box::new(Adam::adamw(0.01, 0.1).unwrap())),
    ]
}

/// Asserts an `InvalidConfig` whose message holds every needle.
fn assert_invalid(err: Error, needles: &[&str]) {
    let msg = err.to_string();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
    for n in needles {
        assert!(msg.contains(n), "`{n}` not in `{msg}`");
    }
}

#[test]
fn non_finite_buffers_are_refused_and_change_nothing() {
    for (label, mut opt) in optimizers() {
        let good = stepped(opt.as_mut());
        let before = opt.state_dict();
        for key in good.keys().filter(|k| k.contains('.')) {
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                let mut state = good.clone();
                state.get_mut(key).unwrap()[[1, 2]] = bad;
                let err = opt.load_state_dict(&state).unwrap_err();
                assert_invalid(err, &[key.as_str(), "[1, 2]", &bad.to_string()]);
                let after = opt.state_dict();
                assert_eq!(
                    after.keys().collect::<Vec<_>>(),
                    before.keys().collect::<Vec<_>>()
                );
                assert!(
                    after.iter().zip(&before).all(|((_, a), (_, b))| a == b),
                    "{label}: a refused load changed the state"
                );
            }
        }
        // The untouched state still loads.
        opt.load_state_dict(&good).unwrap();
    }
}

#[test]
fn negative_second_moment_is_refused_but_negative_first_moment_is_not() {
    let mut adam = Adam::<f64>::new(0.01).unwrap();
    let good = stepped(&mut adam);
    let mut state = good.clone();
    state.get_mut("w.exp_avg_sq").unwrap()[[0, 1]] = -2.5;
    assert_invalid(
        adam.load_state_dict(&state).unwrap_err(),
        &["w.exp_avg_sq", "[0, 1]", "-2.5", "non-negative"],
    );
    // A first moment (or momentum) is a running mean of gradients and may be negative.
    let mut state = good.clone();
    state.get_mut("w.exp_avg").unwrap()[[0, 1]] = -2.5;
    adam.load_state_dict(&state).unwrap();
    let mut sgd = Sgd::<f64>::new(0.1).unwrap().momentum(0.9).unwrap();
    let mut state = stepped(&mut sgd);
    state.get_mut("w.momentum_buffer").unwrap()[[0, 0]] = -2.5;
    sgd.load_state_dict(&state).unwrap();
}

#[test]
fn adam_step_count_must_be_an_integer_in_range() {
    let mut adam = Adam::<f64>::new(0.01).unwrap();
    let good = stepped(&mut adam);
    let max = f64::from(i32::MAX);
    for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY, max + 1.0, 1e20] {
        let mut state = good.clone();
        state.insert("step".into(), ArrayD::from_elem(IxDyn(&[]), bad));
        assert_invalid(
            adam.load_state_dict(&state).unwrap_err(),
            &["optimizer step"],
        );
        assert_eq!(
            adam.steps_taken(),
            2,
            "a refused step count changed the optimizer"
        );
    }
    let mut state = good.clone();
    state.insert("step".into(), ArrayD::from_elem(IxDyn(&[2]), 1.0));
    assert_invalid(
        adam.load_state_dict(&state).unwrap_err(),
        &["optimizer step"],
    );
    for ok in [0.0, max] {
        let mut state = good.clone();
        state.insert("step".into(), ArrayD::from_elem(IxDyn(&[]), ok));
        adam.load_state_dict(&state).unwrap();
        assert_eq!(adam.steps_taken() as f64, ok);
    }
    // At the largest count the next step would wrap in `powi`: it is refused and nothing moves.
    let mut w = ArrayD::<f64>::ones(IxDyn(&[2, 3]));
    let g = ArrayD::<f64>::ones(IxDyn(&[2, 3]));
    let err = adam
        .step(&mut [ParamRef {
            name: "w",
            kind: ParamKind::Weight,
            value: &mut w,
            grad: &g,
        }])
        .unwrap_err();
    assert_invalid(err, &["optimizer step", "2147483648"]);
    assert_eq!(w, ArrayD::<f64>::ones(IxDyn(&[2, 3])));
    assert_eq!(adam.steps_taken(), i32::MAX as u64);
}

fn params() -> Vec<(String, Vec<usize>)> {
    vec![
        ("enc.layers.0.weight".to_string(), vec![4, 3]),
        ("enc.layers.0.bias".to_string(), vec![4]),
    ]
}

#[test]
fn optimizer_state_is_checked_against_the_params() {
    let z = |s: &[usize]| ArrayD::<f32>::zeros(IxDyn(s));
    let mut state = StateDict::new();
    state.insert("step".to_string(), z(&[]));
    state.insert("enc.layers.0.weight.exp_avg".to_string(), z(&[4, 3]));
    // No buffer for the bias yet: buffers appear on a param's first step.
    check_optimizer_state(&params(), &state).unwrap();
    state.insert("enc.layers.0.bias.exp_avg".to_string(), z(&[3]));
    state.insert("enc.layers.1.weight.exp_avg".to_string(), z(&[4, 3]));
    state.insert("enc.layers.0.exp_avg".to_string(), z(&[4]));
    let err = check_optimizer_state(&params(), &state).unwrap_err();
    let msg = err.to_string();
    match err {
        Error::StateMismatch {
            missing,
            unexpected,
            mismatched,
        } => {
            assert!(missing.is_empty());
            assert_eq!(
                unexpected,
                [
                    "optimizer.enc.layers.0.exp_avg",
                    "optimizer.enc.layers.1.weight.exp_avg"
                ]
            );
            assert_eq!(mismatched.len(), 1);
            assert_eq!(mismatched[0].name, "optimizer.enc.layers.0.bias.exp_avg");
            assert_eq!(
                (&mismatched[0].expected[..], &mismatched[0].found[..]),
                (&[4][..], &[3][..])
            );
        }
        e => panic!("expected StateMismatch, got {e:?}"),
    }
    assert!(
        msg.contains("optimizer.enc.layers.0.bias.exp_avg (model [4], file [3])"),
        "{msg}"
    );
}

fn mlp(g: &mut Graph<f32>, dims: &[usize]) -> Mlp<f32> {
    Mlp::new(g, &MlpConfig::relu(dims), &mut ChaCha8Rng::seed_from_u64(3)).unwrap()
}

#[test]
fn checkpoint_reports_model_and_optimizer_problems_together_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ckpt.safetensors");
    let mut g = Graph::new();
    let mut m = mlp(&mut g, &[3, 4, 2]);
    let mut opt = Sgd::new(0.1).unwrap().momentum(0.9).unwrap();
    let x = g.input(ArrayD::from_elem(IxDyn(&[2, 3]), 0.5f32));
    let y = m.forward(&mut g, x).unwrap();
    let loss = g.sum_all(y).unwrap();
    g.backward(loss).unwrap();
    graph_step(&mut opt, &mut g, &m.named_params()).unwrap();
    save_checkpoint(&path, &g, &m, Some(&opt), &HashMap::new()).unwrap();

    // A model whose first layer is wider: its weight and that weight's buffer both mismatch.
    let mut g2 = Graph::new();
    let mut m2 = mlp(&mut g2, &[5, 4, 2]);
    let mut opt2 = Sgd::new(0.1).unwrap().momentum(0.9).unwrap();
    let before = state_dict(&g2, &m2);
    let err = load_checkpoint(&path, &mut g2, &mut m2, Some(&mut opt2)).unwrap_err();
    match &err {
        Error::StateMismatch { mismatched, .. } => {
            let names: Vec<&str> = mismatched.iter().map(|s| s.name.as_str()).collect();
            assert!(names.contains(&"layers.0.weight"), "{err}");
            assert!(
                names.contains(&"optimizer.layers.0.weight.momentum_buffer"),
                "{err}"
            );
        }
        other => panic!("expected StateMismatch, got {other:?}"),
    }
    assert_eq!(state_dict(&g2, &m2), before);
    assert!(opt2.state_dict().is_empty());

    // A buffer for a param the model lacks, in an otherwise good file: refused whole.
    let mut state = load_safetensors::<f32>(&path).unwrap();
    let buf = state["optimizer.layers.0.bias.momentum_buffer"].clone();
    state.insert("optimizer.layers.9.bias.momentum_buffer".into(), buf);
    save_safetensors(&path, &state).unwrap();
    let mut g3 = Graph::new();
    let mut m3 = mlp(&mut g3, &[3, 4, 2]);
    let before = state_dict(&g3, &m3);
    let mut opt3 = Sgd::new(0.1).unwrap().momentum(0.9).unwrap();
    let err = load_checkpoint(&path, &mut g3, &mut m3, Some(&mut opt3)).unwrap_err();
    match &err {
        Error::StateMismatch { unexpected, .. } => {
            assert_eq!(unexpected, &["optimizer.layers.9.bias.momentum_buffer"]);
        }
        other => panic!("expected StateMismatch, got {other:?}"),
    }
    assert_eq!(state_dict(&g3, &m3), before);
    assert!(opt3.state_dict().is_empty());
    // The check the trainer runs before loading sees the same problem.
    let opt_state = contrast_nn::state::strip_prefix("optimizer", &state);
    assert!(check_optimizer_state(&param_shapes(&g3, &m3), &opt_state).is_err());
    // Without an optimizer the optimizer entries are ignored and the model loads.
    load_checkpoint(&path, &mut g3, &mut m3, None).unwrap();
}
