use contrast_autodiff::gradcheck::strategies::array;
use contrast_autodiff::{BatchNormMode, Error, Graph};
use ndarray::{Array1, ArrayD, Axis, IxDyn};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::support::{assert_close, assert_grads, cases, forward};

/// `(N,C)` or `(N,C,H,W)` shapes with at least two values per channel.
fn bn_shape() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        (2usize..6, 1usize..4).prop_map(|(n, c)| vec![n, c]),
        (1usize..3, 1usize..3, 1usize..3, 2usize..4).prop_map(|(n, c, h, w)| vec![n, c, h, w]),
    ]
}

/// Per-channel reference: explicit loops over every value of the channel.
fn bn_ref(
    x: &ArrayD<f64>,
    gamma: &ArrayD<f64>,
    beta: &ArrayD<f64>,
    stats: Option<(&Array1<f64>, &Array1<f64>)>,
    eps: f64,
) -> (ArrayD<f64>, Array1<f64>, Array1<f64>) {
    let c = x.shape()[1];
    let mut out = x.clone();
    let (mut means, mut vars) = (Array1::zeros(c), Array1::zeros(c));
    for ch in 0..c {
        let vals: Vec<f64> = x.index_axis(Axis(1), ch).iter().cloned().collect();
        let m = vals.len() as f64;
        let mean = vals.iter().sum::<f64>() / m;
        let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / m;
        means[ch] = mean;
        vars[ch] = var * m / (m - 1.0);
        let (mu, var) = stats.map_or((mean, var), |(rm, rv)| (rm[ch], rv[ch]));
        out.index_axis_mut(Axis(1), ch)
            .mapv_inplace(|v| gamma[[ch]] * (v - mu) / (var + eps).sqrt() + beta[[ch]]);
    }
    (out, means, vars)
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn batch_norm_train_and_eval(
        (x, gamma, beta, rm, rv) in bn_shape().prop_flat_map(|s| {
            let c = s[1];
            (array(s, -2.0, 2.0), array(vec![c], 0.5, 1.5), array(vec![c], -0.5, 0.5), array(vec![c], -0.5, 0.5), array(vec![c], 0.5, 2.0))
        })
    ) {
        let eps = 1e-5;
        let mut g = Graph::<f64>::new();
        let (xv, gv, bv) = (g.input(x.clone()), g.input(gamma.clone()), g.input(beta.clone()));
        let (y, stats) = g.batch_norm(xv, gv, bv, BatchNormMode::Train { eps }).unwrap();
        let (reference, means, vars) = bn_ref(&x, &gamma, &beta, None, eps);
        assert_close(g.value(y), &reference, 1e-10)?;
        let stats = stats.expect("training returns batch statistics");
        assert_close(&stats.mean.into_dyn(), &means.into_dyn(), 1e-12)?;
        assert_close(&stats.var.into_dyn(), &vars.into_dyn(), 1e-12)?;
        assert_grads(&[x.clone(), gamma.clone(), beta.clone()], |g, v| Ok(g.batch_norm(v[0], v[1], v[2], BatchNormMode::Train { eps })?.0))?;

        let (rm, rv) = (rm.into_dimensionality().unwrap(), rv.into_dimensionality().unwrap());
        let eval = forward(&[x.clone(), gamma.clone(), beta.clone()], |g, v| Ok(g.batch_norm(v[0], v[1], v[2], BatchNormMode::Eval { mean: &rm, var: &rv, eps })?.0));
        assert_close(&eval, &bn_ref(&x, &gamma, &beta, Some((&rm, &rv)), eps).0, 1e-10)?;
        assert_grads(&[x, gamma, beta], |g, v| Ok(g.batch_norm(v[0], v[1], v[2], BatchNormMode::Eval { mean: &rm, var: &rv, eps })?.0))?;
    }

    #[test]
    fn dropout_masks_and_rescales(x in (1usize..6, 1usize..6).prop_flat_map(|(r, c)| array(vec![r, c], 0.5, 1.5)), p in 0.1f64..0.7, seed in any::<u64>()) {
        let out = forward(std::slice::from_ref(&x), |g, v| g.dropout(v[0], p, &mut ChaCha8Rng::seed_from_u64(seed), true));
        for (&o, &v) in out.iter().zip(&x) {
            prop_assert!(o == 0.0 || (o - v / (1.0 - p)).abs() < 1e-12);
        }
        // The same seed gives the same mask on every rebuild, so the check sees one function.
        assert_grads(std::slice::from_ref(&x), |g, v| g.dropout(v[0], p, &mut ChaCha8Rng::seed_from_u64(seed), true))?;
        let eval = forward(std::slice::from_ref(&x), |g, v| g.dropout(v[0], p, &mut ChaCha8Rng::seed_from_u64(seed), false));
        prop_assert_eq!(eval, x);
    }
}

#[test]
fn dropout_drops_about_p() {
    let mut g = Graph::<f32>::new();
    let x = g.input(ArrayD::from_elem(IxDyn(&[100, 100]), 1.0));
    let y = g
        .dropout(x, 0.3, &mut ChaCha8Rng::seed_from_u64(1), true)
        .unwrap();
    let dropped = g.value(y).iter().filter(|&&v| v == 0.0).count() as f64 / 1e4;
    assert!((dropped - 0.3).abs() < 0.02, "{dropped}");
    let mean = g.value(y).mean().unwrap();
    assert!((mean - 1.0).abs() < 0.03, "{mean}");
    assert!(matches!(
        g.dropout(x, 1.0, &mut ChaCha8Rng::seed_from_u64(1), true),
        Err(Error::InvalidArgument { op: "dropout", .. })
    ));
}

#[test]
fn batch_norm_rejects_bad_shapes() {
    let mut g = Graph::<f64>::new();
    let x = g.input(ArrayD::zeros(IxDyn(&[4, 3])));
    let gamma = g.input(ArrayD::zeros(IxDyn(&[2])));
    let beta = g.input(ArrayD::zeros(IxDyn(&[3])));
    assert!(matches!(
        g.batch_norm(x, gamma, beta, BatchNormMode::Train { eps: 1e-5 }),
        Err(Error::Shape {
            op: "batch_norm",
            ..
        })
    ));
    let one = g.input(ArrayD::zeros(IxDyn(&[1, 3])));
    assert!(matches!(
        g.batch_norm(one, beta, beta, BatchNormMode::Train { eps: 1e-5 }),
        Err(Error::Shape {
            op: "batch_norm",
            ..
        })
    ));
}
