//! `ConvBlock` against the same four layers in a `Sequential`: names, training output,
//! every gradient, running statistics and evaluation output agree; bad configurations and
//! inputs are typed errors.

mod difference;
use difference::max_diff;

use contrast_autodiff::Graph;
use contrast_nn::checkpoint::state_dict;
use contrast_nn::layers::{
    Activation, BatchNorm, Conv2d, ConvBlock, ConvSpec, MaxPool2d, Sequential,
};
use contrast_nn::{Error, Module};
use ndarray::{ArrayD, IxDyn};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The fused block and the sequential one, with the same parameters.
fn pair(
    g: &mut Graph<f64>,
    spec: ConvSpec,
    batch_norm: bool,
    pool: usize,
) -> (ConvBlock<f64>, Sequential<f64>) {
    let make = |g: &mut Graph<f64>| {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let conv = Conv2d::new(g, spec, !batch_norm, &mut rng).unwrap();
        let bn = batch_norm.then(|| BatchNorm::new_2d(g, spec.out_channels));
        (conv, bn)
    };
    let (conv, bn) = make(g);
    let fused = ConvBlock::new(conv, bn, pool, pool).unwrap();
    let (conv, bn) = make(g);
    let mut seq = Sequential::new().with(conv);
    if let Some(bn) = bn {
        seq.push(bn);
    }
    let seq = seq
        .with(Activation::Relu)
        .with(MaxPool2d::new(pool, pool).unwrap());
    (fused, seq)
}

fn input(shape: &[usize], seed: u64) -> ArrayD<f64> {
    let mut s = seed;
    ArrayD::from_shape_simple_fn(IxDyn(shape), || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    })
}

#[test]
fn conv_block_equals_the_sequential_layers() {
    for (batch_norm, pool, spec) in [
        (false, 2, ConvSpec::same(2, 3, 3)),
        (true, 2, ConvSpec::same(2, 3, 3)),
        (true, 3, ConvSpec::same(1, 4, 3).stride(2)),
    ] {
        let mut g = Graph::<f64>::new();
        let (mut fused, mut seq) = pair(&mut g, spec, batch_norm, pool);
        let fused_state = state_dict(&g, &fused);
        assert_eq!(fused_state, state_dict(&g, &seq), "same names and values");
        let x = input(&[3, spec.in_channels, 9, 8], 1);
        let run = |g: &mut Graph<f64>, m: &mut dyn Module<f64>| {
            let xv = g.param(x.clone());
            let y = m.forward(g, xv).unwrap();
            let out = g.value(y).clone();
            let rv = g.input(input(out.shape(), 2));
            let prod = g.mul(y, rv).unwrap();
            let loss = g.sum_all(prod).unwrap();
            g.zero_grad();
            g.backward(loss).unwrap();
            let mut grads = vec![g.grad(xv).unwrap().clone()];
            grads.extend(
                m.named_params()
                    .iter()
                    .map(|p| g.grad(p.var).unwrap().clone()),
            );
            (out, grads)
        };
        let (a, ga) = run(&mut g, &mut fused);
        let (b, gb) = run(&mut g, &mut seq);
        let what = format!("bn {batch_norm} pool {pool} {spec:?}");
        assert!(max_diff(&a, &b) < 1e-12, "{what}: output");
        for (i, (a, b)) in ga.iter().zip(&gb).enumerate() {
            assert!(max_diff(a, b) < 1e-10, "{what}: gradient {i}");
        }
        // Running statistics moved the same way; evaluation uses them the same way.
        let (sa, sb) = (state_dict(&g, &fused), state_dict(&g, &seq));
        for (name, v) in &sa {
            assert!(max_diff(v, &sb[name]) < 1e-12, "{what}: {name}");
        }
        fused.set_training(false);
        seq.set_training(false);
        let xe = g.input(x.clone());
        let ya = fused.forward(&mut g, xe).unwrap();
        let yb = seq.forward(&mut g, xe).unwrap();
        assert!(max_diff(g.value(ya), g.value(yb)) < 1e-12, "{what}: eval");
    }
}

#[test]
fn bad_blocks_and_inputs_are_typed_errors() {
    let mut g = Graph::<f32>::new();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let conv = |g: &mut Graph<f32>, rng: &mut ChaCha8Rng| {
        Conv2d::new(g, ConvSpec::same(1, 4, 3), false, rng).unwrap()
    };
    for (k, s) in [(0, 2), (16, 2), (2, 0)] {
        let c = conv(&mut g, &mut rng);
        assert!(matches!(
            ConvBlock::new(c, None, k, s),
            Err(Error::InvalidConfig { .. })
        ));
    }
    let c = conv(&mut g, &mut rng);
    let wrong = BatchNorm::new_2d(&mut g, 3);
    assert!(matches!(
        ConvBlock::new(c, Some(wrong), 2, 2),
        Err(Error::InvalidConfig { .. })
    ));
    let c = conv(&mut g, &mut rng);
    let bn = BatchNorm::new_2d(&mut g, 4);
    let mut block = ConvBlock::new(c, Some(bn), 2, 2).unwrap();
    for shape in [
        vec![2, 2, 6, 6],
        vec![2, 1, 1, 6],
        vec![1, 1, 6, 6],
        vec![2, 1, 6],
    ] {
        let x = g.input(ArrayD::zeros(IxDyn(&shape)));
        assert!(
            matches!(
                block.forward(&mut g, x),
                Err(Error::InputShape {
                    layer: "ConvBlock",
                    ..
                })
            ),
            "{shape:?}"
        );
    }
    // One sample is fine in evaluation.
    block.set_training(false);
    let x = g.input(ArrayD::zeros(IxDyn(&[1, 1, 6, 6])));
    let y = block.forward(&mut g, x).unwrap();
    assert_eq!(g.value(y).shape(), &[1, 4, 3, 3]);
}
