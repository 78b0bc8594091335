//! A small MLP trained with each optimizer fits a toy regression problem.

use contrast_autodiff::Graph;
use contrast_nn::Module;
use contrast_nn::encoders::{Mlp, MlpConfig};
use contrast_nn::layers::Activation;
use contrast_nn::optim::{Adam, Lars, Optimizer, Sgd, graph_step};
use contrast_nn::schedule::Schedule;
use ndarray::{ArrayD, IxDyn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Mean squared error of an MLP on y = sin(2 x0) + x1^2 after `steps` full-batch steps.
fn fit(opt: &mut dyn Optimizer<f64>, schedule: Schedule, steps: usize) -> (f64, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let n = 64;
    let x: ArrayD<f64> = ArrayD::from_shape_fn(IxDyn(&[n, 2]), |_| rng.random_range(-1.0..1.0));
    let y = ArrayD::from_shape_fn(IxDyn(&[n, 1]), |i| {
        (2.0 * x[[i[0], 0]]).sin() + x[[i[0], 1]].powi(2)
    });
    let mut g = Graph::new();
    let cfg = MlpConfig {
        activation: Activation::Tanh,
        activate_last: false,
        ..MlpConfig::relu(&[2, 32, 32, 1])
    };
    let mut m = Mlp::new(&mut g, &cfg, &mut rng).unwrap();
    let params = m.named_params();
    let mut losses = Vec::new();
    for t in 0..steps {
        let xv = g.input(x.clone());
        let yv = g.input(y.clone());
        let pred = m.forward(&mut g, xv).unwrap();
        let diff = g.sub(pred, yv).unwrap();
        let sq = g.mul(diff, diff).unwrap();
        let loss = g.mean_all(sq).unwrap();
        losses.push(g.backward(loss).unwrap());
        opt.set_lr(schedule.lr(t));
        graph_step(opt, &mut g, &params).unwrap();
        g.zero_grad();
    }
    (losses[0], *losses.last().unwrap())
}

#[test]
fn mlp_fits_a_toy_regression_with_each_optimizer() {
    let cases: Vec<(&str, Box<dyn Optimizer<f64>>, Schedule)> = vec![
        (
            "sgd",
            Box::new(Sgd::new(0.1).unwrap().momentum(0.9).unwrap()),
            Schedule::constant(0.1).unwrap(),
        ),
        (
            "adam",
            Box::new(Adam::new(0.01).unwrap()),
            Schedule::constant(0.01).unwrap(),
        ),
        (
            "adamw",
            Box::new(Adam::adamw(0.01, 1e-4).unwrap()),
            Schedule::warmup_cosine(0.01, 20, 400, 0.0).unwrap(),
        ),
        (
            "lars",
            Box::new(
                Lars::new(0.1, 0.0)
                    .unwrap()
                    .trust_coefficient(0.02)
                    .unwrap(),
            ),
            Schedule::warmup_cosine(0.2, 20, 400, 0.0).unwrap(),
        ),
    ];
    for (name, mut opt, schedule) in cases {
        let (first, last) = fit(opt.as_mut(), schedule, 400);
        assert!(
            last < 0.01 && last < first / 20.0,
            "{name}: loss {first} -> {last}"
        );
    }
}
