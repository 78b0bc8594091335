//! The embedding-bag layer and the bag encoder: output against a hand-composed graph,
//! parameter names and checkpoints, initialisation, errors, and a tiny training loop that
//! learns with the lazy update.

use contrast_autodiff::{BagMode, Bags, Graph, Var};
use contrast_nn::checkpoint::{load_checkpoint, param_shapes, save_checkpoint};
use contrast_nn::encoders::{BagEncoder, BagEncoderConfig};
use contrast_nn::layers::EmbeddingBag;
use contrast_nn::optim::{Adam, Optimizer, graph_step};
use contrast_nn::{Error, Module};
use ndarray::{Array2, ArrayD, Axis, IxDyn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn config() -> BagEncoderConfig {
    BagEncoderConfig {
        buckets: 12,
        dims: vec![4, 5, 3],
        mode: BagMode::Mean,
    }
}

fn bags() -> Bags<f64> {
    Bags::from_lists(&[vec![0u32, 7, 7], vec![], vec![11], vec![3, 0, 5, 9]])
}

/// `relu(bag(W) W0^T + b0) W2^T + b2` composed op by op from the encoder's param values.
fn hand_composed(values: &[ArrayD<f64>], bags: &Bags<f64>) -> (ArrayD<f64>, Vec<ArrayD<f64>>) {
    let mut g = Graph::new();
    let p: Vec<Var> = values.iter().map(|v| g.param(v.clone())).collect();
    let linear = |g: &mut Graph<f64>, x: Var, w: Var, b: Var| {
        let wt = g.transpose(w).unwrap();
        let y = g.matmul(x, wt).unwrap();
        g.add(y, b).unwrap()
    };
    let h = g.embedding_bag(p[0], bags, BagMode::Mean).unwrap();
    let h = linear(&mut g, h, p[1], p[2]);
    let h = g.relu(h).unwrap();
    let y = linear(&mut g, h, p[3], p[4]);
    let out = g.value(y).clone();
    let sq = g.mul(y, y).unwrap();
    let loss = g.sum_all(sq).unwrap();
    g.backward(loss).unwrap();
    let grads = p
        .iter()
        .map(|&v| g.gradient(v).unwrap().to_dense())
        .collect();
    (out, grads)
}

#[test]
fn encoder_equals_the_hand_composed_graph() {
    let mut g = Graph::<f64>::new();
    let mut enc = BagEncoder::new(&mut g, &config(), &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
    let params = enc.named_params();
    let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "embedding.weight",
            "mlp.layers.0.weight",
            "mlp.layers.0.bias",
            "mlp.layers.2.weight",
            "mlp.layers.2.bias"
        ]
    );
    let shapes: Vec<Vec<usize>> = param_shapes(&g, &enc).into_iter().map(|(_, s)| s).collect();
    assert_eq!(
        shapes,
        [vec![12, 4], vec![5, 4], vec![5], vec![3, 5], vec![3]]
    );
    let values: Vec<ArrayD<f64>> = params.iter().map(|p| g.value(p.var).clone()).collect();

    let y = enc.forward_bags(&mut g, &bags()).unwrap();
    let out = g.value(y).clone();
    let sq = g.mul(y, y).unwrap();
    let loss = g.sum_all(sq).unwrap();
    g.backward(loss).unwrap();

    let (want, want_grads) = hand_composed(&values, &bags());
    assert_eq!(out.shape(), &[4, 3]);
    let close = |a: &ArrayD<f64>, b: &ArrayD<f64>| {
        a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-12) && a.shape() == b.shape()
    };
    assert!(close(&out, &want), "{out}\n{want}");
    // The empty bag's embedding is zero: its output is the MLP of zeros, not zero.
    assert!(out.index_axis(Axis(0), 1).iter().any(|&v| v != 0.0));
    let table = g
        .sparse_grad(params[0].var)
        .expect("row-sparse table gradient");
    assert_eq!(table.rows(), &[0, 3, 5, 7, 9, 11]);
    for (p, want) in params.iter().zip(&want_grads) {
        let got = g.gradient(p.var).unwrap().to_dense();
        assert!(close(&got, want), "{}: {got}\n{want}", p.name);
    }
}

#[test]
fn checkpoints_hold_the_table_and_lazy_adam_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bag.safetensors");
    let mut g = Graph::<f64>::new();
    let mut enc = BagEncoder::new(&mut g, &config(), &mut ChaCha8Rng::seed_from_u64(2)).unwrap();
    let mut opt = Adam::new(0.01).unwrap();
    let y = enc.forward_bags(&mut g, &bags()).unwrap();
    let loss = g.sum_all(y).unwrap();
    g.backward(loss).unwrap();
    graph_step(&mut opt, &mut g, &enc.named_params()).unwrap();
    g.zero_grad();
    save_checkpoint(&path, &g, &enc, Some(&opt), &Default::default()).unwrap();

    let mut g2 = Graph::<f64>::new();
    let mut enc2 = BagEncoder::new(&mut g2, &config(), &mut ChaCha8Rng::seed_from_u64(99)).unwrap();
    let mut opt2 = Adam::new(0.01).unwrap();
    load_checkpoint(&path, &mut g2, &mut enc2, Some(&mut opt2)).unwrap();
    let table = enc2.embedding().weight();
    assert_eq!(g2.value(table), g.value(enc.embedding().weight()));
    assert_eq!(opt2.state_dict(), opt.state_dict());
    assert!(opt2.state_dict().contains_key("embedding.weight.exp_avg"));
    let a = enc.forward_bags(&mut g, &bags()).unwrap();
    let b = enc2.forward_bags(&mut g2, &bags()).unwrap();
    assert_eq!(g.value(a), g2.value(b));
}

#[test]
fn table_init_is_standard_normal_like_pytorch() {
    let mut g = Graph::<f64>::new();
    let emb = EmbeddingBag::new(
        &mut g,
        2000,
        16,
        BagMode::Sum,
        &mut ChaCha8Rng::seed_from_u64(3),
    )
    .unwrap();
    let w = g.value(emb.weight());
    let n = w.len() as f64;
    let mean = w.sum() / n;
    let var = w.mapv(|v| (v - mean).powi(2)).sum() / n;
    assert!(
        mean.abs() < 0.02 && (var - 1.0).abs() < 0.03,
        "{mean} {var}"
    );
    assert_eq!(emb.dims(), (2000, 16));
}

#[test]
fn bad_input_and_settings_are_errors() {
    let mut g = Graph::<f64>::new();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut enc = BagEncoder::new(&mut g, &config(), &mut rng).unwrap();
    let x = g.input(ArrayD::zeros(IxDyn(&[2, 4])));
    assert!(matches!(
        enc.forward(&mut g, x),
        Err(Error::BagsInput {
            layer: "BagEncoder"
        })
    ));
    let out_of_range = Bags::from_lists(&[vec![12u32]]);
    assert!(matches!(
        enc.forward_bags(&mut g, &out_of_range),
        Err(Error::Autodiff(_))
    ));
    for dims in [vec![], vec![4, 0]] {
        let c = BagEncoderConfig { dims, ..config() };
        assert!(matches!(
            BagEncoder::<f64>::new(&mut g, &c, &mut rng),
            Err(Error::InvalidConfig { .. })
        ));
    }
    assert!(EmbeddingBag::<f64>::new(&mut g, 0, 4, BagMode::Sum, &mut rng).is_err());
    let alone = BagEncoderConfig {
        dims: vec![4],
        ..config()
    };
    let mut bag_only = BagEncoder::new(&mut g, &alone, &mut rng).unwrap();
    let y = bag_only.forward_bags(&mut g, &bags()).unwrap();
    assert_eq!(
        (g.value(y).shape(), bag_only.out_features()),
        (&[4, 4][..], 4)
    );
}

/// Two classes of bags drawn from disjoint id ranges (plus shared noise ids): a few lazy
/// Adam steps on softmax cross-entropy separate them, and the rows no bag ever names
/// keep their initial values.
#[test]
fn a_tiny_training_loop_learns_with_the_lazy_update() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut g = Graph::<f64>::new();
    let cfg = BagEncoderConfig {
        buckets: 64,
        dims: vec![8, 16, 2],
        mode: BagMode::Mean,
    };
    let mut enc = BagEncoder::new(&mut g, &cfg, &mut rng).unwrap();
    let params = enc.named_params();
    let table = enc.embedding().weight();
    let start = g.value(table).clone();
    let mut opt = Adam::new(0.05).unwrap();
    let batch = |rng: &mut ChaCha8Rng| {
        let labels: Vec<usize> = (0..32).map(|i| i % 2).collect();
        let lists: Vec<Vec<u32>> = labels
            .iter()
            .map(|&c| {
                let n = rng.random_range(1..8);
                (0..n)
                    .map(|_| match rng.random_range(0..4) {
                        0 => rng.random_range(40..50), // noise shared by both classes
                        _ => rng.random_range(0..20) + 20 * c as u32,
                    })
                    .collect()
            })
            .collect();
        let onehot = Array2::from_shape_fn((32, 2), |(i, j)| f64::from(labels[i] == j));
        (Bags::from_lists(&lists), onehot.into_dyn())
    };
    let mut losses = Vec::new();
    let mut accuracy = 0.0;
    for _ in 0..40 {
        let (bags, onehot) = batch(&mut rng);
        let logits = enc.forward_bags(&mut g, &bags).unwrap();
        let predicted: Vec<bool> = g
            .value(logits)
            .outer_iter()
            .zip(onehot.outer_iter())
            .map(|(l, t)| (l[1] > l[0]) == (t[1] == 1.0))
            .collect();
        accuracy = predicted.iter().filter(|&&ok| ok).count() as f64 / 32.0;
        let logp = g.log_softmax(logits, 1).unwrap();
        let t = g.input(onehot);
        let picked = g.mul(logp, t).unwrap();
        let mean = g.mean_all(picked).unwrap();
        let loss = g.neg(mean).unwrap();
        losses.push(g.backward(loss).unwrap() * 2.0); // mean over 64 entries, 2 per row
        assert!(g.sparse_grad(table).is_some());
        graph_step(&mut opt, &mut g, &params).unwrap();
        g.zero_grad();
    }
    let (first, last) = (losses[0], losses[losses.len() - 1]);
    assert!(last < 0.25 * first, "loss {first} -> {last}");
    assert!(accuracy >= 0.95, "accuracy {accuracy}");
    let w = g.value(table);
    for r in 50..64 {
        assert_eq!(
            w.index_axis(Axis(0), r),
            start.index_axis(Axis(0), r),
            "row {r}"
        );
    }
    assert_ne!(w.index_axis(Axis(0), 3), start.index_axis(Axis(0), 3));
}
