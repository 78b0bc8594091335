use contrast_autodiff::gradcheck::strategies::{array, distinct, shape};
use contrast_autodiff::{Error, Graph};
use ndarray::{ArrayD, Axis, IxDyn};
use proptest::prelude::*;

use crate::support::{assert_close, assert_grads, cases, forward};

/// A shape and a non-empty subset of its axes.
fn shape_and_axes() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    shape(3, 4).prop_flat_map(|s| {
        let n = s.len();
        (
            Just(s),
            proptest::sample::subsequence((0..n).collect::<Vec<_>>(), 1..=n),
        )
    })
}

/// Reference reduction: folds over the axes one by one, from the last.
fn reduce_ref(
    x: &ArrayD<f64>,
    axes: &[usize],
    keepdims: bool,
    init: f64,
    f: fn(f64, f64) -> f64,
) -> ArrayD<f64> {
    let mut out = x.clone();
    for &a in axes.iter().rev() {
        out = out.fold_axis(Axis(a), init, |&acc, &v| f(acc, v));
        if keepdims {
            out = out.insert_axis(Axis(a));
        }
    }
    out
}

/// Reference log-sum-exp along one axis of a 2-D or 3-D array, by an explicit loop.
fn lse_ref(x: &ArrayD<f64>, axis: usize) -> ArrayD<f64> {
    x.map_axis(Axis(axis), |lane| {
        let m = lane.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        m + lane.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
    })
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn sum_and_mean_over_axes((x, axes) in shape_and_axes().prop_flat_map(|(s, a)| (array(s, -1.0, 1.0), Just(a))), keepdims in any::<bool>()) {
        let s = x.shape().to_vec();
        let count: usize = axes.iter().map(|&a| s[a]).product();
        let sum = forward(std::slice::from_ref(&x), |g, v| g.sum(v[0], &axes, keepdims));
        assert_close(&sum, &reduce_ref(&x, &axes, keepdims, 0.0, |a, b| a + b), 1e-12)?;
        let mean = forward(std::slice::from_ref(&x), |g, v| g.mean(v[0], &axes, keepdims));
        assert_close(&mean, &reduce_ref(&x, &axes, keepdims, 0.0, |a, b| a + b).mapv(|v| v / count as f64), 1e-12)?;
        assert_grads(std::slice::from_ref(&x), |g, v| g.sum(v[0], &axes, keepdims))?;
        assert_grads(std::slice::from_ref(&x), |g, v| g.mean(v[0], &axes, keepdims))?;
        assert_grads(std::slice::from_ref(&x), |g, v| g.sum_all(v[0]))?;
        assert_grads(std::slice::from_ref(&x), |g, v| g.mean_all(v[0]))?;
    }

    #[test]
    fn max_over_axes((x, axes) in shape_and_axes().prop_flat_map(|(s, a)| (distinct(s, 0.1), Just(a))), keepdims in any::<bool>()) {
        let out = forward(std::slice::from_ref(&x), |g, v| g.max(v[0], &axes, keepdims));
        assert_close(&out, &reduce_ref(&x, &axes, keepdims, f64::NEG_INFINITY, f64::max), 0.0)?;
        assert_grads(std::slice::from_ref(&x), |g, v| g.max(v[0], &axes, keepdims))?;
    }

    #[test]
    fn logsumexp_softmax_log_softmax(
        (x, axis) in (shape(3, 4).prop_flat_map(|s| { let n = s.len(); (array(s, -3.0, 3.0), 0..n) })),
        keepdims in any::<bool>(),
    ) {
        let lse = lse_ref(&x, axis);
        let out = forward(std::slice::from_ref(&x), |g, v| g.logsumexp(v[0], axis, keepdims));
        let expect = if keepdims { lse.clone().insert_axis(Axis(axis)) } else { lse.clone() };
        assert_close(&out, &expect, 1e-12)?;
        let kept = lse.insert_axis(Axis(axis));
        let soft = forward(std::slice::from_ref(&x), |g, v| g.softmax(v[0], axis));
        assert_close(&soft, &(&x - &kept).mapv(f64::exp), 1e-12)?;
        let log_soft = forward(std::slice::from_ref(&x), |g, v| g.log_softmax(v[0], axis));
        assert_close(&log_soft, &(&x - &kept), 1e-12)?;
        assert_grads(std::slice::from_ref(&x), |g, v| g.logsumexp(v[0], axis, keepdims))?;
        assert_grads(std::slice::from_ref(&x), |g, v| g.softmax(v[0], axis))?;
        assert_grads(std::slice::from_ref(&x), |g, v| g.log_softmax(v[0], axis))?;
    }
}

#[test]
fn log_sum_exp_family_is_stable_at_large_logits() {
    // Logits of cosine similarities divided by a temperature of 0.01: up to 100 and beyond.
    let x = ArrayD::from_shape_vec(
        IxDyn(&[2, 3]),
        vec![1000.0, 999.0, -1000.0, 100.0, 0.0, -100.0],
    )
    .unwrap();
    for op in [0, 1, 2] {
        let mut g = Graph::<f32>::new();
        let v = g.param(x.mapv(|v| v as f32));
        let y = match op {
            0 => g.logsumexp(v, 1, false).unwrap(),
            1 => g.softmax(v, 1).unwrap(),
            _ => g.log_softmax(v, 1).unwrap(),
        };
        assert!(
            g.value(y).iter().all(|v| v.is_finite()),
            "op {op}: {}",
            g.value(y)
        );
        let s = g.sum_all(y).unwrap();
        g.backward(s).unwrap();
        assert!(g.grad(v).unwrap().iter().all(|v| v.is_finite()));
    }
    let lse = forward(&[x], |g, v| g.logsumexp(v[0], 1, false));
    assert!((lse[[0]] - (1000.0 + (1.0 + (-1.0f64).exp()).ln())).abs() < 1e-9);
}

#[test]
fn bad_axes_are_typed_errors() {
    let mut g = Graph::<f64>::new();
    let x = g.input(ArrayD::zeros(IxDyn(&[2, 3])));
    assert!(matches!(
        g.sum(x, &[2], false),
        Err(Error::Axis {
            op: "sum",
            axis: 2,
            ..
        })
    ));
    assert!(matches!(
        g.max(x, &[1, 1], false),
        Err(Error::Axis {
            op: "max",
            axis: 1,
            ..
        })
    ));
    assert!(matches!(
        g.softmax(x, 5),
        Err(Error::Axis { op: "softmax", .. })
    ));
    let empty = g.input(ArrayD::zeros(IxDyn(&[0, 3])));
    assert!(matches!(
        g.mean(empty, &[0], false),
        Err(Error::Shape { op: "mean", .. })
    ));
}
