//! Parameter files: bit-exact round trips, clear errors on mismatched or corrupt files,
//! atomic writes.

use std::collections::HashMap;

use contrast_autodiff::Graph;
use contrast_nn::checkpoint::{load_checkpoint, load_state_dict, save_checkpoint, state_dict};
use contrast_nn::encoders::{Mlp, MlpConfig};
use contrast_nn::optim::{Adam, Optimizer, graph_step};
use contrast_nn::param_file::{load_metadata, load_safetensors, save_safetensors};
use contrast_nn::state::StateDict;
use contrast_nn::{Error, Module};
use ndarray::{ArrayD, IxDyn, NdFloat};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn model<A: NdFloat>(g: &mut Graph<A>, seed: u64, dims: &[usize]) -> Mlp<A> {
    let cfg = MlpConfig {
        batch_norm: true,
        ..MlpConfig::relu(dims)
    };
    Mlp::new(g, &cfg, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap()
}

/// One training step, so params, running stats and Adam state are all non-trivial.
fn train_once<A: NdFloat>(g: &mut Graph<A>, m: &mut Mlp<A>, opt: &mut Adam<A>) {
    let x = g.input(ArrayD::from_shape_fn(IxDyn(&[4, 3]), |i| {
        A::from(i[0] as f64 - 0.3 * i[1] as f64).unwrap()
    }));
    let y = m.forward(g, x).unwrap();
    let loss = g.sum_all(y).unwrap();
    g.backward(loss).unwrap();
    graph_step(opt, g, &m.named_params()).unwrap();
    g.zero_grad();
}

fn bits_equal<A: NdFloat>(a: &StateDict<A>, b: &StateDict<A>) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|((ka, va), (kb, vb))| {
            ka == kb
                && va.shape() == vb.shape()
                && va
                    .iter()
                    .zip(vb)
                    .all(|(x, y)| x.to_f64().unwrap().to_bits() == y.to_f64().unwrap().to_bits())
        })
}

fn round_trip<A: NdFloat>() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ckpt.safetensors");
    let mut g = Graph::<A>::new();
    let mut m = model(&mut g, 1, &[3, 5, 2]);
    let mut opt = Adam::new(0.01).unwrap();
    train_once(&mut g, &mut m, &mut opt);
    let meta = HashMap::from([("config".to_string(), "{\"dims\":[3,5,2]}".to_string())]);
    save_checkpoint(&path, &g, &m, Some(&opt), &meta).unwrap();

    let mut g2 = Graph::<A>::new();
    let mut m2 = model(&mut g2, 2, &[3, 5, 2]);
    let mut opt2 = Adam::new(0.01).unwrap();
    assert!(!bits_equal(&state_dict(&g, &m), &state_dict(&g2, &m2)));
    load_checkpoint(&path, &mut g2, &mut m2, Some(&mut opt2)).unwrap();
    assert!(bits_equal(&state_dict(&g, &m), &state_dict(&g2, &m2)));
    assert!(bits_equal(&opt.state_dict(), &opt2.state_dict()));
    assert_eq!(opt2.steps_taken(), 1);
    assert_eq!(load_metadata(&path).unwrap()["config"], meta["config"]);
    assert_eq!(load_metadata(&path).unwrap()["format"], "pt");
    // Names are PyTorch-style and include the batch-norm buffers.
    let names: Vec<String> = load_safetensors::<A>(&path).unwrap().into_keys().collect();
    for want in [
        "layers.0.weight",
        "layers.1.weight",
        "layers.1.bias",
        "layers.1.running_mean",
        "layers.1.running_var",
        "layers.3.weight",
        "layers.4.running_var",
        "optimizer.layers.0.weight.exp_avg",
        "optimizer.step",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "missing {want} in {names:?}"
        );
    }
    // A linear layer followed by batch norm has no bias.
    assert!(!names.iter().any(|n| n == "layers.3.bias"));
    // The restored model and optimizer continue exactly like the original.
    train_once(&mut g, &mut m, &mut opt);
    train_once(&mut g2, &mut m2, &mut opt2);
    assert!(bits_equal(&state_dict(&g, &m), &state_dict(&g2, &m2)));
    // Only the final file remains: no temporary left behind.
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1);
}

#[test]
fn round_trip_is_bit_exact_f32() {
    round_trip::<f32>();
}

#[test]
fn round_trip_is_bit_exact_f64() {
    round_trip::<f64>();
}

#[test]
fn mismatched_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let mut g = Graph::<f32>::new();
    let m = model(&mut g, 1, &[3, 5, 2]);
    save_safetensors(&path, &state_dict(&g, &m)).unwrap();

    // Wrong widths: shape mismatches name the tensor and both shapes.
    let mut g2 = Graph::<f32>::new();
    let mut wide = model(&mut g2, 1, &[3, 6, 2]);
    let before = state_dict(&g2, &wide);
    let err = load_checkpoint(&path, &mut g2, &mut wide, None).unwrap_err();
    let msg = err.to_string();
    match &err {
        Error::StateMismatch {
            missing,
            unexpected,
            mismatched,
        } => {
            assert!(missing.is_empty() && unexpected.is_empty(), "{msg}");
            let w = mismatched
                .iter()
                .find(|s| s.name == "layers.0.weight")
                .expect("layers.0.weight listed");
            assert_eq!(
                (w.expected.clone(), w.found.clone()),
                (vec![6, 3], vec![5, 3])
            );
        }
        e => panic!("wrong error: {e}"),
    }
    assert!(
        msg.contains("layers.0.weight (model [6, 3], file [5, 3])"),
        "{msg}"
    );
    assert!(
        bits_equal(&before, &state_dict(&g2, &wide)),
        "a failed load must change nothing"
    );

    // A missing tensor and an unexpected one.
    let mut state = state_dict(&g, &m);
    state.remove("layers.1.running_var");
    state.insert("layers.9.weight".into(), ArrayD::zeros(IxDyn(&[1])));
    let mut g3 = Graph::<f32>::new();
    let mut m3 = model(&mut g3, 1, &[3, 5, 2]);
    match load_state_dict(&mut g3, &mut m3, &state).unwrap_err() {
        Error::StateMismatch {
            missing,
            unexpected,
            ..
        } => {
            assert_eq!(missing, vec!["layers.1.running_var"]);
            assert_eq!(unexpected, vec!["layers.9.weight"]);
        }
        e => panic!("wrong error: {e}"),
    }
}

#[test]
fn optimizer_state_of_another_optimizer_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ckpt.safetensors");
    let mut g = Graph::<f32>::new();
    let mut m = model(&mut g, 1, &[3, 5, 2]);
    let mut adam = Adam::new(0.01).unwrap();
    train_once(&mut g, &mut m, &mut adam);
    save_checkpoint(&path, &g, &m, Some(&adam), &HashMap::new()).unwrap();

    let mut g2 = Graph::<f32>::new();
    let mut m2 = model(&mut g2, 2, &[3, 5, 2]);
    let before = state_dict(&g2, &m2);
    let mut sgd = contrast_nn::optim::Sgd::new(0.1)
        .unwrap()
        .momentum(0.9)
        .unwrap();
    let err = load_checkpoint(&path, &mut g2, &mut m2, Some(&mut sgd)).unwrap_err();
    assert!(
        matches!(&err, Error::StateMismatch { unexpected, .. } if unexpected.iter().any(|n| n.ends_with("exp_avg"))),
        "{err}"
    );
    assert!(
        bits_equal(&before, &state_dict(&g2, &m2)),
        "model must be unchanged"
    );
    assert!(sgd.state_dict().is_empty(), "optimizer must be unchanged");
    // Without an optimizer the model part loads on its own.
    load_checkpoint(&path, &mut g2, &mut m2, None).unwrap();
    assert!(bits_equal(&state_dict(&g, &m), &state_dict(&g2, &m2)));
}

#[test]
fn corrupt_truncated_and_missing_files_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let mut state = StateDict::<f64>::new();
    state.insert(
        "w".into(),
        ArrayD::from_shape_fn(IxDyn(&[4, 4]), |i| i[0] as f64 + 0.5),
    );
    save_safetensors(&path, &state).unwrap();
    let bytes = std::fs::read(&path).unwrap();

    std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
    assert!(matches!(
        load_safetensors::<f64>(&path),
        Err(Error::Corrupt { .. })
    ));
    std::fs::write(&path, &bytes[..4]).unwrap();
    assert!(matches!(
        load_safetensors::<f64>(&path),
        Err(Error::Corrupt { .. })
    ));
    std::fs::write(&path, b"definitely not a safetensors file at all").unwrap();
    assert!(matches!(
        load_safetensors::<f64>(&path),
        Err(Error::Corrupt { .. })
    ));
    assert!(matches!(
        load_safetensors::<f64>(dir.path().join("absent")),
        Err(Error::Io { .. })
    ));
    // Writing into a folder that does not exist fails cleanly.
    assert!(matches!(
        save_safetensors(dir.path().join("no/such/dir/x.safetensors"), &state),
        Err(Error::Io { .. })
    ));
    // f64 file loaded as f32 converts; reading back is exact for representable values.
    std::fs::write(&path, &bytes).unwrap();
    let as_f32 = load_safetensors::<f32>(&path).unwrap();
    assert_eq!(as_f32["w"][[3, 3]], 3.5f32);
}
