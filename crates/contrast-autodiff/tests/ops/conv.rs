use contrast_autodiff::gradcheck::strategies::{array, distinct};
use contrast_autodiff::{Error, Graph};
use ndarray::{Array4, ArrayD, Axis, Ix4, IxDyn};
use proptest::prelude::*;

use crate::support::{assert_close, assert_grads, cases, forward};

/// Direct convolution: six nested loops with explicit zero padding.
fn conv_ref(
    x: &ArrayD<f64>,
    w: &ArrayD<f64>,
    b: Option<&ArrayD<f64>>,
    s: usize,
    p: usize,
) -> ArrayD<f64> {
    let x = x.view().into_dimensionality::<Ix4>().unwrap();
    let w = w.view().into_dimensionality::<Ix4>().unwrap();
    let (n, cin, h, wd) = x.dim();
    let (cout, _, kh, kw) = w.dim();
    let (oh, ow) = ((h + 2 * p - kh) / s + 1, (wd + 2 * p - kw) / s + 1);
    Array4::from_shape_fn((n, cout, oh, ow), |(i, o, y, xx)| {
        let mut acc = b.map_or(0.0, |b| b[[o]]);
        for c in 0..cin {
            for ki in 0..kh {
                for kj in 0..kw {
                    let (yy, xi) = (
                        (y * s + ki) as isize - p as isize,
                        (xx * s + kj) as isize - p as isize,
                    );
                    if yy >= 0 && xi >= 0 && (yy as usize) < h && (xi as usize) < wd {
                        acc += x[[i, c, yy as usize, xi as usize]] * w[[o, c, ki, kj]];
                    }
                }
            }
        }
        acc
    })
    .into_dyn()
}

/// Reference pooling over square windows with a fold.
fn pool_ref(
    x: &ArrayD<f64>,
    k: usize,
    s: usize,
    init: f64,
    f: fn(f64, f64) -> f64,
    scale: f64,
) -> ArrayD<f64> {
    let x = x.view().into_dimensionality::<Ix4>().unwrap();
    let (n, c, h, w) = x.dim();
    Array4::from_shape_fn(
        (n, c, (h - k) / s + 1, (w - k) / s + 1),
        |(i, ch, y, xx)| {
            let mut acc = init;
            for a in 0..k {
                for b in 0..k {
                    acc = f(acc, x[[i, ch, y * s + a, xx * s + b]]);
                }
            }
            acc * scale
        },
    )
    .into_dyn()
}

proptest! {
    #![proptest_config(cases(32))]

    #[test]
    fn conv2d_matches_direct_loops(
        (x, w, b, stride, padding) in (1usize..3, 1usize..3, 1usize..3, 3usize..6, 1usize..4, 1usize..3, 0usize..2)
            .prop_flat_map(|(n, cin, cout, hw, k, s, p)| {
                let k = k.min(hw);
                (array(vec![n, cin, hw, hw + 1], -1.0, 1.0), array(vec![cout, cin, k, k], -1.0, 1.0), array(vec![cout], -1.0, 1.0), Just(s), Just(p))
            })
    ) {
        let out = forward(&[x.clone(), w.clone(), b.clone()], |g, v| g.conv2d(v[0], v[1], Some(v[2]), stride, padding));
        assert_close(&out, &conv_ref(&x, &w, Some(&b), stride, padding), 1e-12)?;
        let nobias = forward(&[x.clone(), w.clone()], |g, v| g.conv2d(v[0], v[1], None, stride, padding));
        assert_close(&nobias, &conv_ref(&x, &w, None, stride, padding), 1e-12)?;
        assert_grads(&[x.clone(), w.clone(), b], |g, v| g.conv2d(v[0], v[1], Some(v[2]), stride, padding))?;
        assert_grads(&[x, w], |g, v| g.conv2d(v[0], v[1], None, stride, padding))?;
    }

    #[test]
    fn pools_match_reference(
        (x, k, s) in (1usize..3, 1usize..3, 2usize..6, 1usize..3, 1usize..3)
            .prop_flat_map(|(n, c, hw, k, s)| (distinct(vec![n, c, hw, hw], 0.05), Just(k.min(hw)), Just(s)))
    ) {
        let max = forward(std::slice::from_ref(&x), |g, v| g.max_pool2d(v[0], k, s));
        assert_close(&max, &pool_ref(&x, k, s, f64::NEG_INFINITY, f64::max, 1.0), 0.0)?;
        assert_grads(std::slice::from_ref(&x), |g, v| g.max_pool2d(v[0], k, s))?;
        let avg = forward(std::slice::from_ref(&x), |g, v| g.avg_pool2d(v[0], k, s));
        assert_close(&avg, &pool_ref(&x, k, s, 0.0, |a, b| a + b, 1.0 / (k * k) as f64), 1e-12)?;
        assert_grads(std::slice::from_ref(&x), |g, v| g.avg_pool2d(v[0], k, s))?;
        let global = forward(std::slice::from_ref(&x), |g, v| g.global_avg_pool(v[0]));
        assert_close(&global, &x.mean_axis(Axis(3)).unwrap().mean_axis(Axis(2)).unwrap(), 1e-12)?;
        assert_grads(&[x], |g, v| g.global_avg_pool(v[0]))?;
    }
}

#[test]
fn conv_and_pool_errors() {
    let mut g = Graph::<f64>::new();
    let x = g.input(ArrayD::zeros(IxDyn(&[1, 2, 4, 4])));
    let w = g.input(ArrayD::zeros(IxDyn(&[3, 1, 3, 3])));
    match g.conv2d(x, w, None, 1, 0) {
        Err(Error::Shape {
            op: "conv2d",
            shapes,
            ..
        }) => assert_eq!(shapes, vec![vec![1, 2, 4, 4], vec![3, 1, 3, 3]]),
        other => panic!("{other:?}"),
    }
    let big = g.input(ArrayD::zeros(IxDyn(&[3, 2, 5, 5])));
    assert!(matches!(
        g.conv2d(x, big, None, 1, 0),
        Err(Error::Shape { op: "conv2d", .. })
    ));
    assert!(matches!(
        g.max_pool2d(x, 2, 0),
        Err(Error::InvalidArgument {
            op: "max_pool2d",
            ..
        })
    ));
    assert!(matches!(
        g.avg_pool2d(x, 5, 1),
        Err(Error::Shape {
            op: "avg_pool2d",
            ..
        })
    ));
    let flat = g.input(ArrayD::zeros(IxDyn(&[2, 3])));
    assert!(matches!(
        g.global_avg_pool(flat),
        Err(Error::Shape {
            op: "global_avg_pool",
            ..
        })
    ));
}
