//! A CNN encoder + SimCLR head against the same PyTorch model (fixture written by
//! `tests/fixtures/make_module_fixtures.py`): PyTorch's state dict loads by name with every
//! shape matching, and the training output, every gradient, the updated running statistics
//! and the evaluation output agree.

use contrast_autodiff::Graph;
use contrast_nn::Module;
use contrast_nn::checkpoint::{load_state_dict, state_dict};
use contrast_nn::encoders::{SmallCnn, SmallCnnConfig};
use contrast_nn::heads::ProjectionHead;
use contrast_nn::layers::Sequential;
use contrast_nn::state::StateDict;
use ndarray::{ArrayD, IxDyn};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

fn tensor(v: &Value) -> ArrayD<f64> {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap() as usize)
        .collect();
    let data: Vec<f64> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape), data).unwrap()
}

fn dict(v: &Value) -> StateDict<f64> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, t)| (k.clone(), tensor(t)))
        .collect()
}

fn assert_close(got: &ArrayD<f64>, want: &ArrayD<f64>, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}");
    let err = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(err < 1e-10, "{what}: max error {err}");
}

#[test]
fn cnn_and_head_match_pytorch() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/torch_modules.json"
    ))
    .unwrap();
    let fx: Value = serde_json::from_str(&text).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut g = Graph::<f64>::new();
    let cfg = SmallCnnConfig {
        in_channels: 2,
        image_side: 8,
        channels: vec![3, 4],
        out_dim: Some(6),
        batch_norm: true,
    };
    let mut model = Sequential::new()
        .with(SmallCnn::new(&mut g, &cfg, &mut rng).unwrap())
        .with(ProjectionHead::new(&mut g, &[6, 8, 5], true, &mut rng).unwrap());
    // Strict load: every PyTorch name exists here with the same shape, and nothing is left over.
    let torch_state = dict(&fx["state"]);
    load_state_dict(&mut g, &mut model, &torch_state).unwrap();
    assert_eq!(state_dict(&g, &model), torch_state);

    let xv = g.param(tensor(&fx["input"]));
    let y = model.forward(&mut g, xv).unwrap();
    assert_close(g.value(y), &tensor(&fx["train_output"]), "train output");
    let r = g.input(tensor(&fx["r"]));
    let prod = g.mul(y, r).unwrap();
    let loss = g.sum_all(prod).unwrap();
    g.backward(loss).unwrap();
    let grads = dict(&fx["grads"]);
    assert_close(g.grad(xv).unwrap(), &grads["input"], "input gradient");
    let params = model.named_params();
    assert_eq!(params.len() + 1, grads.len());
    for p in &params {
        assert_close(g.grad(p.var).unwrap(), &grads[&p.name], &p.name);
    }
    let after = dict(&fx["running_after_train"]);
    let ours = state_dict(&g, &model);
    for (name, want) in &after {
        assert_close(&ours[name], want, name);
    }

    model.set_training(false);
    let x = g.input(tensor(&fx["input"]));
    let y = model.forward(&mut g, x).unwrap();
    assert_close(g.value(y), &tensor(&fx["eval_output"]), "eval output");
}
