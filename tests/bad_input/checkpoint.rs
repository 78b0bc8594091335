//! Parameter files and checkpoints: `contrast-nn`.

use std::collections::HashMap;
use std::path::Path;

use contrast_autodiff::Graph;
use contrast_nn::checkpoint::{load_checkpoint, save_checkpoint};
use contrast_nn::layers::Linear;
use contrast_nn::optim::{Adam, Optimizer, Sgd, graph_step};
use contrast_nn::param_file::{load_safetensors, save_safetensors};
use contrast_nn::state::StateDict;
use contrast_nn::{Error, Module};
use ndarray::{ArrayD, IxDyn};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::assert_names;

/// A `Linear(fan_in -> 2)` with bias on a fresh graph.
fn linear(fan_in: usize) -> (Graph<f32>, Linear<f32>) {
    let mut g = Graph::new();
    let layer = Linear::new(&mut g, fan_in, 2, true, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
    (g, layer)
}

/// Saves a `Linear(3 -> 2)` checkpoint at `path`.
fn save_linear3(path: &Path) {
    let (g, layer) = linear(3);
    save_checkpoint(path, &g, &layer, None, &HashMap::new()).unwrap();
}

#[test]
fn checkpoint_that_matches_loads() {
    // The baseline the other checkpoint cases spoil one thing of.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    save_linear3(&path);
    let (mut g, mut layer) = linear(3);
    load_checkpoint(&path, &mut g, &mut layer, None).unwrap();
}

#[test]
fn checkpoint_with_a_wrong_shape() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    save_linear3(&path);
    let (mut g, mut layer) = linear(4);
    let before = g.value(layer.named_params()[0].var).clone();
    let err = load_checkpoint(&path, &mut g, &mut layer, None).unwrap_err();
    match &err {
        Error::StateMismatch {
            missing,
            unexpected,
            mismatched,
        } => {
            assert!(missing.is_empty() && unexpected.is_empty(), "{err}");
            assert_eq!(mismatched.len(), 1, "{err}");
            assert_eq!(mismatched[0].name, "weight");
            assert_eq!(
                (&mismatched[0].expected[..], &mismatched[0].found[..]),
                (&[2, 4][..], &[2, 3][..])
            );
        }
        other => panic!("expected StateMismatch, got {other:?}"),
    }
    assert_names(&err.to_string(), &["weight", "[2, 4]", "[2, 3]"]);
    // Nothing was changed by the failed load.
    assert_eq!(g.value(layer.named_params()[0].var), &before);
}

#[test]
fn checkpoint_with_a_missing_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    save_linear3(&path);
    let mut state = load_safetensors::<f32>(&path).unwrap();
    assert!(state.remove("bias").is_some());
    save_safetensors(&path, &state).unwrap();
    let (mut g, mut layer) = linear(3);
    let err = load_checkpoint(&path, &mut g, &mut layer, None).unwrap_err();
    match &err {
        Error::StateMismatch {
            missing,
            unexpected,
            mismatched,
        } => {
            assert_eq!(missing, &["bias".to_string()]);
            assert!(unexpected.is_empty() && mismatched.is_empty(), "{err}");
        }
        other => panic!("expected StateMismatch, got {other:?}"),
    }
    assert_names(&err.to_string(), &["missing", "bias"]);
}

#[test]
fn checkpoint_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    save_linear3(&path);
    let bytes = std::fs::read(&path).unwrap();
    // Cut inside the tensor data, then inside the JSON header, then inside the length prefix.
    for keep in [bytes.len() - 3, 20, 5] {
        std::fs::write(&path, &bytes[..keep]).unwrap();
        let (mut g, mut layer) = linear(3);
        let err = load_checkpoint(&path, &mut g, &mut layer, None).unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "keep {keep}: {err:?}");
        assert_names(
            &err.to_string(),
            &["model.safetensors", "not a valid safetensors file"],
        );
    }
}

#[test]
fn checkpoint_that_is_not_safetensors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    std::fs::write(&path, b"{\"weight\": [1, 2, 3]}\n").unwrap();
    let (mut g, mut layer) = linear(3);
    let err = load_checkpoint(&path, &mut g, &mut layer, None).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    assert_names(
        &err.to_string(),
        &["model.safetensors", "not a valid safetensors file"],
    );
}

#[test]
fn checkpoint_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.safetensors");
    let (mut g, mut layer) = linear(3);
    let err = load_checkpoint(&path, &mut g, &mut layer, None).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert_names(&err.to_string(), &["absent.safetensors"]);
}

// Optimizer state in a checkpoint: found by fuzz_safetensors (findings F1-F3 of
// fuzz/README.md). A file the optimizer could never have written must be refused when it
// is loaded, not load and then break the next step.

/// A `Linear(3 -> 2)` after one step of `opt`, saved with the optimizer's state; then
/// `spoil` edits the file's tensors by name, and the result of loading the file into a
/// fresh model and optimizer is returned along with the model.
fn load_spoiled<O: Optimizer<f32>>(
    make_opt: impl Fn() -> O,
    spoil: impl FnOnce(&mut StateDict<f32>),
) -> (contrast_nn::Result<()>, Graph<f32>, Linear<f32>, O) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ckpt.safetensors");
    let (mut g, mut layer) = linear(3);
    let mut opt = make_opt();
    one_step(&mut g, &mut layer, &mut opt).unwrap();
    save_checkpoint(&path, &g, &layer, Some(&opt), &HashMap::new()).unwrap();
    let mut state = load_safetensors::<f32>(&path).unwrap();
    spoil(&mut state);
    save_safetensors(&path, &state).unwrap();
    let (mut g, mut layer) = linear(3);
    let mut opt = make_opt();
    let result = load_checkpoint(&path, &mut g, &mut layer, Some(&mut opt));
    (result, g, layer, opt)
}

/// One step on the loss `mean(y^2)` of a fixed batch.
fn one_step<O: Optimizer<f32>>(
    g: &mut Graph<f32>,
    layer: &mut Linear<f32>,
    opt: &mut O,
) -> contrast_nn::Result<()> {
    let x = g.input(ArrayD::from_elem(IxDyn(&[4, 3]), 0.5f32));
    let y = layer.forward(g, x)?;
    let sq = g.mul(y, y)?;
    let loss = g.mean_all(sq)?;
    g.backward(loss)?;
    graph_step(opt, g, &layer.named_params())?;
    g.zero_grad();
    Ok(())
}

#[test]
fn checkpoint_that_loads_resumes() {
    // The baseline for the optimizer cases: an untouched file loads and the next step is finite.
    let (result, mut g, mut layer, mut opt) = load_spoiled(|| Adam::new(0.01).unwrap(), |_| {});
    result.unwrap();
    one_step(&mut g, &mut layer, &mut opt).unwrap();
    assert!(
        layer
            .named_params()
            .iter()
            .all(|p| g.value(p.var).iter().all(|v| v.is_finite()))
    );
}

#[test]
fn checkpoint_with_a_negative_adam_second_moment() {
    // F1: exp_avg_sq is a running mean of squares; a negative one makes sqrt(v) NaN and
    // the next step writes NaN into the weights.
    let (result, mut g, mut layer, mut opt) = load_spoiled(
        || Adam::new(0.01).unwrap(),
        |s| s.get_mut("optimizer.weight.exp_avg_sq").unwrap()[[0, 0]] = -1e-3,
    );
    if result.is_ok() {
        let step = one_step(&mut g, &mut layer, &mut opt);
        let w = g.value(layer.named_params()[0].var);
        panic!("a negative exp_avg_sq loaded; the next step gave {step:?} and weight {w}");
    }
    let err = result.unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
    assert_names(&err.to_string(), &["weight.exp_avg_sq", "-0.001"]);
}

#[test]
fn checkpoint_with_an_adam_step_count_out_of_range() {
    // F2: a step count of 1e20 saturates to u64::MAX, and the next step overflows `step += 1`
    // (a panic in debug builds, a wrap to 0 and a division by zero in release builds);
    // counts past i32::MAX wrap in `powi`. Both must be refused when loading.
    for bad in [1e20f32, 3e9] {
        let (result, ..) = load_spoiled(
            || Adam::new(0.01).unwrap(),
            |s| {
                s.insert("optimizer.step".into(), ArrayD::from_elem(IxDyn(&[]), bad));
            },
        );
        let err = result.expect_err("an Adam step count beyond i32::MAX loaded");
        assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
        assert_names(&err.to_string(), &["optimizer step"]);
    }
}

#[test]
fn checkpoint_with_optimizer_state_for_an_unknown_parameter() {
    // F3: a buffer named after no parameter of the model (a typo, another model's file)
    // loads silently and is never used.
    let (result, ..) = load_spoiled(
        || Sgd::new(0.1).unwrap().momentum(0.9).unwrap(),
        |s| {
            let buffer = s.remove("optimizer.bias.momentum_buffer").unwrap();
            s.insert("optimizer.biass.momentum_buffer".into(), buffer);
        },
    );
    let err = result.expect_err("a momentum buffer for parameter `biass` loaded");
    match &err {
        Error::StateMismatch { unexpected, .. } => {
            assert_eq!(unexpected, &["optimizer.biass.momentum_buffer".to_string()]);
        }
        other => panic!("expected StateMismatch, got {other:?}"),
    }
    assert_names(
        &err.to_string(),
        &["unexpected", "optimizer.biass.momentum_buffer"],
    );
}

#[test]
fn checkpoint_with_an_optimizer_buffer_of_the_wrong_shape() {
    // F3 as well: the shape is only checked at the next step (GradientShape); a checkpoint
    // should be refused whole when it is loaded, as the module part is.
    let (result, ..) = load_spoiled(
        || Sgd::new(0.1).unwrap().momentum(0.9).unwrap(),
        |s| {
            s.insert(
                "optimizer.weight.momentum_buffer".into(),
                ArrayD::zeros(IxDyn(&[3, 2])),
            );
        },
    );
    let err = result.expect_err("a momentum buffer of shape [3, 2] for a [2, 3] weight loaded");
    match &err {
        Error::StateMismatch { mismatched, .. } => {
            assert_eq!(mismatched.len(), 1, "{err}");
            assert_eq!(mismatched[0].name, "optimizer.weight.momentum_buffer");
            assert_eq!(
                (&mismatched[0].expected[..], &mismatched[0].found[..]),
                (&[2, 3][..], &[3, 2][..])
            );
        }
        other => panic!("expected StateMismatch, got {other:?}"),
    }
    assert_names(
        &err.to_string(),
        &["optimizer.weight.momentum_buffer", "[2, 3]", "[3, 2]"],
    );
}
