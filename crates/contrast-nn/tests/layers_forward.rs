//! Each layer's forward pass against a plain loop reference on fixed numbers.

use contrast_autodiff::Graph;
use contrast_nn::layers::{
    Activation, AvgPool2d, BatchNorm, Conv2d, ConvSpec, Dropout, Flatten, GlobalAvgPool, LayerNorm,
    Linear, MaxPool2d, Sequential,
};
use contrast_nn::{Error, Module};
use ndarray::{Array4, ArrayD, IxDyn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(shape: &[usize], seed: u64) -> ArrayD<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    ArrayD::from_shape_fn(IxDyn(shape), |_| rng.random_range(-2.0..2.0))
}

fn assert_close(got: &ArrayD<f64>, want: &ArrayD<f64>, tol: f64, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let err = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(
        err <= tol,
        "{what}: max error {err}\n got {got}\nwant {want}"
    );
}

fn run<M: Module<f64>>(g: &mut Graph<f64>, m: &mut M, x: ArrayD<f64>) -> ArrayD<f64> {
    let xv = g.input(x);
    let y = m.forward(g, xv).unwrap();
    let out = g.value(y).clone();
    g.reset();
    out
}

#[test]
fn linear_matches_loops() {
    let mut g = Graph::new();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut lin = Linear::new(&mut g, 3, 2, true, &mut rng).unwrap();
    let w = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![1.0, -2.0, 0.5, 0.0, 3.0, -1.0]).unwrap();
    let b = ArrayD::from_shape_vec(IxDyn(&[2]), vec![0.25, -0.5]).unwrap();
    g.value_mut(lin.weight()).assign(&w);
    g.value_mut(lin.bias().unwrap()).assign(&b);
    let x = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![1.0, 2.0, 3.0, -1.0, 0.0, 4.0]).unwrap();
    // Row 0: [1 - 4 + 1.5 + 0.25, 0 + 6 - 3 - 0.5]; row 1: [-1 + 0 + 2 + 0.25, 0 + 0 - 4 - 0.5].
    let want = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![-1.25, 2.5, 1.25, -4.5]).unwrap();
    assert_close(&run(&mut g, &mut lin, x), &want, 1e-12, "linear");
    let bad = g.input(ArrayD::zeros(IxDyn(&[2, 4])));
    assert!(matches!(
        lin.forward(&mut g, bad),
        Err(Error::InputShape {
            layer: "Linear",
            ..
        })
    ));
}

fn conv_reference(
    x: &Array4<f64>,
    w: &Array4<f64>,
    b: &[f64],
    stride: usize,
    pad: usize,
) -> Array4<f64> {
    let (n, c, h, wd) = x.dim();
    let (o, _, k, _) = w.dim();
    let (ho, wo) = (
        (h + 2 * pad - k) / stride + 1,
        (wd + 2 * pad - k) / stride + 1,
    );
    Array4::from_shape_fn((n, o, ho, wo), |(ni, oi, yi, xi)| {
        let mut s = b[oi];
        for ci in 0..c {
            for ky in 0..k {
                for kx in 0..k {
                    let (iy, ix) = (
                        (yi * stride + ky) as isize - pad as isize,
                        (xi * stride + kx) as isize - pad as isize,
                    );
                    if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd {
                        s += w[[oi, ci, ky, kx]] * x[[ni, ci, iy as usize, ix as usize]];
                    }
                }
            }
        }
        s
    })
}

#[test]
fn conv2d_matches_loops() {
    for (stride, pad, k) in [(1, 1, 3), (2, 1, 3), (1, 0, 1), (2, 0, 2)] {
        let mut g = Graph::new();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let spec = ConvSpec {
            in_channels: 2,
            out_channels: 3,
            kernel: k,
            stride,
            padding: pad,
        };
        let mut conv = Conv2d::new(&mut g, spec, true, &mut rng).unwrap();
        let params = conv.named_params();
        let w = g
            .value(params[0].var)
            .clone()
            .into_dimensionality()
            .unwrap();
        let b: Vec<f64> = g.value(params[1].var).iter().copied().collect();
        let x = random(&[2, 2, 5, 6], 2);
        let want = conv_reference(
            &x.clone().into_dimensionality().unwrap(),
            &w,
            &b,
            stride,
            pad,
        )
        .into_dyn();
        assert_close(
            &run(&mut g, &mut conv, x),
            &want,
            1e-12,
            &format!("conv s{stride} p{pad} k{k}"),
        );
    }
}

#[test]
fn pools_and_flatten_match_loops() {
    let x = random(&[2, 3, 5, 4], 3);
    let x4: Array4<f64> = x.clone().into_dimensionality().unwrap();
    let mut g = Graph::new();
    for (k, s) in [(2, 2), (3, 1)] {
        let (ho, wo) = ((5 - k) / s + 1, (4 - k) / s + 1);
        let window = |n, c, y: usize, xx: usize| {
            (0..k).flat_map(move |dy| (0..k).map(move |dx| (n, c, y * s + dy, xx * s + dx)))
        };
        let max = Array4::from_shape_fn((2, 3, ho, wo), |(n, c, y, xx)| {
            window(n, c, y, xx)
                .map(|i| x4[[i.0, i.1, i.2, i.3]])
                .fold(f64::NEG_INFINITY, f64::max)
        });
        let avg = Array4::from_shape_fn((2, 3, ho, wo), |(n, c, y, xx)| {
            window(n, c, y, xx)
                .map(|i| x4[[i.0, i.1, i.2, i.3]])
                .sum::<f64>()
                / (k * k) as f64
        });
        assert_close(
            &run(&mut g, &mut MaxPool2d::new(k, s).unwrap(), x.clone()),
            &max.into_dyn(),
            1e-12,
            "maxpool",
        );
        assert_close(
            &run(&mut g, &mut AvgPool2d::new(k, s).unwrap(), x.clone()),
            &avg.into_dyn(),
            1e-12,
            "avgpool",
        );
    }
    let gap = ndarray::Array2::from_shape_fn((2, 3), |(n, c)| {
        x4.slice(ndarray::s![n, c, .., ..]).mean().unwrap()
    });
    assert_close(
        &run(&mut g, &mut GlobalAvgPool, x.clone()),
        &gap.into_dyn(),
        1e-12,
        "global avg pool",
    );
    let flat = run(&mut g, &mut Flatten, x.clone());
    assert_eq!(flat.shape(), &[2, 60]);
    assert_eq!(
        flat.iter().copied().collect::<Vec<_>>(),
        x.iter().copied().collect::<Vec<_>>()
    );
    assert!(MaxPool2d::new(0, 1).is_err());
    let small = g.input(ArrayD::zeros(IxDyn(&[1, 1, 1, 1])));
    assert!(matches!(
        Module::<f64>::forward(&mut MaxPool2d::new(2, 2).unwrap(), &mut g, small),
        Err(Error::InputShape { .. })
    ));
}

/// Per-channel mean and biased / unbiased variance of `(N, C, S)` data.
fn channel_stats(x: &ArrayD<f64>) -> Vec<(f64, f64, f64)> {
    let s = x.shape();
    let (n, c, sp) = (s[0], s[1], s[2..].iter().product::<usize>());
    let v = x
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((n, c, sp))
        .unwrap();
    (0..c)
        .map(|ci| {
            let vals: Vec<f64> = (0..n)
                .flat_map(|ni| (0..sp).map(move |si| (ni, si)))
                .map(|(ni, si)| v[[ni, ci, si]])
                .collect();
            let m = vals.len() as f64;
            let mean = vals.iter().sum::<f64>() / m;
            let ss = vals.iter().map(|a| (a - mean).powi(2)).sum::<f64>();
            (mean, ss / m, ss / (m - 1.0))
        })
        .collect()
}

#[test]
fn batch_norm_train_eval_and_running_stats() {
    for shape in [vec![6, 3], vec![3, 2, 2, 3]] {
        let mut g = Graph::new();
        let c = shape[1];
        let mut bn = if shape.len() == 2 {
            BatchNorm::new_1d(&mut g, c)
        } else {
            BatchNorm::new_2d(&mut g, c)
        };
        let p = bn.named_params();
        let gamma: Vec<f64> = (0..c).map(|i| 1.0 + 0.5 * i as f64).collect();
        let beta: Vec<f64> = (0..c).map(|i| -0.25 * i as f64).collect();
        g.value_mut(p[0].var)
            .assign(&ArrayD::from_shape_vec(IxDyn(&[c]), gamma.clone()).unwrap());
        g.value_mut(p[1].var)
            .assign(&ArrayD::from_shape_vec(IxDyn(&[c]), beta.clone()).unwrap());
        let x = random(&shape, 4);
        let stats = channel_stats(&x);
        let eps = 1e-5;
        let normalise = |var_of: &dyn Fn(usize) -> (f64, f64)| {
            let mut out = x.clone();
            for (idx, v) in out.indexed_iter_mut() {
                let ci = idx[1];
                let (m, var) = var_of(ci);
                *v = gamma[ci] * (*v - m) / (var + eps).sqrt() + beta[ci];
            }
            out
        };
        let train_want = normalise(&|ci| (stats[ci].0, stats[ci].1));
        assert_close(
            &run(&mut g, &mut bn, x.clone()),
            &train_want,
            1e-10,
            "bn train",
        );
        for (ci, &(mean, _, unbiased)) in stats.iter().enumerate() {
            assert!((bn.running_mean()[ci] - 0.1 * mean).abs() < 1e-12);
            assert!((bn.running_var()[ci] - (0.9 + 0.1 * unbiased)).abs() < 1e-12);
        }
        // Eval uses the running statistics, not the batch's.
        bn.set_training(false);
        let rm = bn.running_mean().clone();
        let rv = bn.running_var().clone();
        let eval_want = normalise(&|ci| (rm[ci], rv[ci]));
        assert_close(
            &run(&mut g, &mut bn, x.clone()),
            &eval_want,
            1e-10,
            "bn eval",
        );
        assert_eq!(bn.running_mean(), &rm, "eval must not update running stats");
        // After many training steps on one batch the running stats converge to the batch's
        // mean and unbiased variance.
        bn.set_training(true);
        for _ in 0..300 {
            run(&mut g, &mut bn, x.clone());
        }
        bn.set_training(false);
        let converged = normalise(&|ci| (stats[ci].0, stats[ci].2));
        assert_close(
            &run(&mut g, &mut bn, x.clone()),
            &converged,
            1e-8,
            "bn eval after convergence",
        );
    }
    // Training needs two samples per channel; evaluation works on one.
    let mut g = Graph::<f64>::new();
    let mut bn = BatchNorm::new_1d(&mut g, 2);
    let one = g.input(ArrayD::ones(IxDyn(&[1, 2])));
    assert!(matches!(
        bn.forward(&mut g, one),
        Err(Error::InputShape { .. })
    ));
    bn.set_training(false);
    let one = g.input(ArrayD::ones(IxDyn(&[1, 2])));
    assert!(bn.forward(&mut g, one).is_ok());
    assert!(
        BatchNorm::new_1d(&mut g, 2)
            .with_momentum_eps(0.1, 0.0)
            .is_err()
    );
}

#[test]
fn layer_norm_matches_loops() {
    let mut g = Graph::new();
    let mut ln = LayerNorm::new(&mut g, 4);
    let x = random(&[3, 2, 4], 5);
    let mut want = x.clone();
    for mut row in want.rows_mut() {
        let m = row.mean().unwrap();
        let var = row.mapv(|v| (v - m).powi(2)).mean().unwrap();
        row.mapv_inplace(|v| (v - m) / (var + 1e-5).sqrt());
    }
    assert_close(&run(&mut g, &mut ln, x), &want, 1e-10, "layernorm");
}

#[test]
fn activations_on_fixed_numbers() {
    let xs = [-2.0, -0.5, 0.0, 0.5, 2.0];
    let x = ArrayD::from_shape_vec(IxDyn(&[5]), xs.to_vec()).unwrap();
    let gelu = |v: f64| {
        0.5 * v * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (v + 0.044715 * v.powi(3))).tanh())
    };
    let cases: [(Activation, &dyn Fn(f64) -> f64); 6] = [
        (Activation::Relu, &|v| v.max(0.0)),
        (Activation::LeakyRelu(0.1), &|v| {
            if v > 0.0 { v } else { 0.1 * v }
        }),
        (Activation::Tanh, &f64::tanh),
        (Activation::Sigmoid, &|v| 1.0 / (1.0 + (-v).exp())),
        (Activation::Gelu, &gelu),
        (Activation::Identity, &|v| v),
    ];
    let mut g = Graph::new();
    for (mut act, f) in cases {
        assert_close(
            &run(&mut g, &mut act, x.clone()),
            &x.mapv(f),
            1e-12,
            &format!("{act:?}"),
        );
    }
}

#[test]
fn dropout_scales_kept_values_and_is_identity_in_eval() {
    let mut g = Graph::new();
    let mut d: Dropout = Dropout::new(0.25, &mut ChaCha8Rng::seed_from_u64(6)).unwrap();
    let x = ArrayD::from_elem(IxDyn(&[100, 100]), 1.0);
    let y = run(&mut g, &mut d, x.clone());
    let zeros = y.iter().filter(|&&v| v == 0.0).count();
    assert!(
        y.iter()
            .all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-12)
    );
    assert!((zeros as f64 / 1e4 - 0.25).abs() < 0.02, "dropped {zeros}");
    Module::<f64>::set_training(&mut d, false);
    assert_eq!(run(&mut g, &mut d, x.clone()), x);
    assert!(Dropout::new(1.0, &mut ChaCha8Rng::seed_from_u64(0)).is_err());
}

#[test]
fn sequential_chains_and_names_children() {
    let mut g = Graph::new();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut seq = Sequential::new()
        .with(Linear::new(&mut g, 3, 4, true, &mut rng).unwrap())
        .with(Activation::Relu)
        .with(Linear::new(&mut g, 4, 2, false, &mut rng).unwrap());
    let names: Vec<String> = seq.named_params().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["0.weight", "0.bias", "2.weight"]);
    let x = random(&[5, 3], 8);
    let p = seq.named_params();
    let (w1, b1, w2) = (
        g.value(p[0].var).clone(),
        g.value(p[1].var).clone(),
        g.value(p[2].var).clone(),
    );
    let w1: ndarray::Array2<f64> = w1.into_dimensionality().unwrap();
    let w2: ndarray::Array2<f64> = w2.into_dimensionality().unwrap();
    let x2: ndarray::Array2<f64> = x.clone().into_dimensionality().unwrap();
    let h =
        (x2.dot(&w1.t()) + &b1.into_dimensionality::<ndarray::Ix1>().unwrap()).mapv(|v| v.max(0.0));
    let want = h.dot(&w2.t()).into_dyn();
    assert_close(&run(&mut g, &mut seq, x), &want, 1e-12, "sequential");
}
