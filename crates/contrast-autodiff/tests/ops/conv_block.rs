//! The fused conv block against the composition of the ops it fuses
//! (`conv2d -> [batch_norm] -> relu -> max_pool2d`), forward and backward, and its own
//! gradient check.

use contrast_autodiff::gradcheck::strategies::array;
use contrast_autodiff::{BatchNormMode, BlockNorm, ConvBlockSpec, Error, Graph, Result, Var};
use ndarray::{Array1, ArrayD, Axis, Dimension, Ix4, IxDyn};
use proptest::prelude::*;

use crate::support::{assert_close, assert_grads, cases};

/// What follows the convolution in a test case.
#[derive(Clone, Copy, Debug)]
enum Norm {
    /// Bias (when given) straight into the ReLU.
    Plain,
    /// Training-mode batch norm.
    Train,
    /// Evaluation-mode batch norm with fixed running statistics.
    Eval,
}

/// One case: inputs `[x, w, (bias), (gamma, beta)]`, the norm, the spec.
#[derive(Clone, Debug)]
struct Case {
    inputs: Vec<ArrayD<f64>>,
    bias: bool,
    norm: Norm,
    spec: ConvBlockSpec,
    running: (Array1<f64>, Array1<f64>),
}

const EPS: f64 = 1e-5;

impl Case {
    /// `v` holds one var per input, in `inputs` order.
    fn fused(&self, g: &mut Graph<f64>, v: &[Var]) -> Result<Var> {
        let b = self.bias.then(|| v[2]);
        let norm = self.block_norm(v);
        Ok(g.conv_block(v[0], v[1], b, norm, self.spec)?.0)
    }

    fn block_norm<'a>(&'a self, v: &[Var]) -> BlockNorm<'a, f64> {
        let k = 2 + self.bias as usize;
        let (mean, var) = (&self.running.0, &self.running.1);
        match self.norm {
            Norm::Plain => BlockNorm::None,
            Norm::Train => BlockNorm::Batch {
                gamma: v[k],
                beta: v[k + 1],
                mode: BatchNormMode::Train { eps: EPS },
            },
            Norm::Eval => BlockNorm::Batch {
                gamma: v[k],
                beta: v[k + 1],
                mode: BatchNormMode::Eval {
                    mean,
                    var,
                    eps: EPS,
                },
            },
        }
    }

    /// The same function composed from the separate ops; also returns the pre-ReLU value.
    fn composed(&self, g: &mut Graph<f64>, v: &[Var]) -> Result<(Var, Var)> {
        let s = self.spec;
        let b = self.bias.then(|| v[2]);
        let mut u = g.conv2d(v[0], v[1], b, s.stride, s.padding)?;
        if let BlockNorm::Batch { gamma, beta, mode } = self.block_norm(v) {
            u = g.batch_norm(u, gamma, beta, mode)?.0;
        }
        let r = g.relu(u)?;
        Ok((g.max_pool2d(r, s.pool_kernel, s.pool_stride)?, u))
    }

    /// The smallest distance of a window's maximum from 0 and from its runner-up: a probe
    /// of the finite-difference check must not move a value across either kink.
    fn margin(&self, u: &ArrayD<f64>) -> f64 {
        let u = u.view().into_dimensionality::<Ix4>().unwrap();
        let (k, s) = (self.spec.pool_kernel, self.spec.pool_stride);
        let (_, _, h, w) = u.dim();
        let mut margin = f64::INFINITY;
        let (n, c) = (u.len_of(Axis(0)), u.len_of(Axis(1)));
        for plane in
            (0..n * c).map(|i| u.index_axis(Axis(0), i / c).index_axis_move(Axis(0), i % c))
        {
            for oh in 0..(h - k) / s + 1 {
                for ow in 0..(w - k) / s + 1 {
                    let mut vals: Vec<f64> = (0..k * k)
                        .map(|t| plane[[oh * s + t / k, ow * s + t % k]])
                        .collect();
                    vals.sort_by(|a, b| b.total_cmp(a));
                    margin = margin.min(vals[0].abs());
                    if vals.len() > 1 {
                        margin = margin.min(vals[0] - vals[1]);
                    }
                }
            }
        }
        margin
    }
}

fn case() -> impl Strategy<Value = Case> {
    (
        (1usize..3, 1usize..3, 1usize..4, 4usize..7),
        (1usize..4, 1usize..3, 0usize..2),
        (1usize..3, 1usize..3),
        (0usize..3, any::<bool>()),
    )
        .prop_filter_map(
            "the pool window must fit the convolution's output",
            |((n, cin, cout, h), (k, stride, padding), (pk, ps), (norm, bias))| {
                let k = k.min(h);
                let (oh, ow) = (
                    (h + 2 * padding - k) / stride + 1,
                    (h + 1 + 2 * padding - k) / stride + 1,
                );
                let norm = [Norm::Plain, Norm::Train, Norm::Eval][norm];
                (oh.min(ow) >= pk && !(matches!(norm, Norm::Train) && n * oh * ow < 2)).then_some((
                    (n, cin, cout, h, k),
                    ConvBlockSpec {
                        stride,
                        padding,
                        pool_kernel: pk,
                        pool_stride: ps,
                    },
                    norm,
                    bias,
                ))
            },
        )
        .prop_flat_map(|((n, cin, cout, h, k), spec, norm, bias)| {
            let mut shapes = vec![vec![n, cin, h, h + 1], vec![cout, cin, k, k]];
            if bias {
                shapes.push(vec![cout]);
            }
            if !matches!(norm, Norm::Plain) {
                shapes.push(vec![cout]);
                shapes.push(vec![cout]);
            }
            let inputs: Vec<_> = shapes
                .into_iter()
                .enumerate()
                .map(|(i, s)| {
                    // gamma away from 0 so batch norm does not flatten the kinks together.
                    let gamma = !matches!(norm, Norm::Plain) && i == 2 + bias as usize;
                    if gamma {
                        array(s, 0.5, 1.5)
                    } else {
                        array(s, -1.0, 1.0)
                    }
                })
                .collect();
            (
                inputs,
                array(vec![cout], -0.3, 0.3),
                array(vec![cout], 0.5, 1.5),
            )
                .prop_map(move |(inputs, rm, rv)| Case {
                    inputs,
                    bias,
                    norm,
                    spec,
                    running: (
                        rm.into_dimensionality().unwrap(),
                        rv.into_dimensionality().unwrap(),
                    ),
                })
        })
}

proptest! {
    #![proptest_config(ProptestConfig { max_global_rejects: 4096, ..cases(48) })]

    /// Value, batch statistics and every input's gradient equal the composition's, and the
    /// gradient passes the finite-difference check.
    #[test]
    fn conv_block_equals_the_composition_and_passes_gradcheck(c in case()) {
        let run = |fused: bool| {
            let mut g = Graph::<f64>::new();
            let v: Vec<Var> = c.inputs.iter().map(|x| g.param(x.clone())).collect();
            let (y, u) = if fused {
                let y = c.fused(&mut g, &v).unwrap();
                (y, None)
            } else {
                let (y, u) = c.composed(&mut g, &v).unwrap();
                (y, Some(g.value(u).clone()))
            };
            let value = g.value(y).clone();
            // A weighted sum, so every output element carries a different gradient.
            let weights = ArrayD::from_shape_fn(value.raw_dim(), |i| {
                ((i.slice().iter().sum::<usize>() * 7 % 5) as f64 - 2.0) * 0.3 + 0.1
            });
            let wv = g.input(weights);
            let prod = g.mul(y, wv).unwrap();
            let loss = g.sum_all(prod).unwrap();
            g.backward(loss).unwrap();
            let grads: Vec<ArrayD<f64>> = v.iter().zip(&c.inputs)
                .map(|(&p, x)| g.grad(p).cloned().unwrap_or_else(|| ArrayD::zeros(x.raw_dim())))
                .collect();
            (value, grads, u)
        };
        let (fused, fused_grads, _) = run(true);
        let (composed, composed_grads, u) = run(false);
        assert_close(&fused, &composed, 1e-10)?;
        for (a, b) in fused_grads.iter().zip(&composed_grads) {
            assert_close(a, b, 1e-9)?;
        }
        prop_assume!(c.margin(&u.unwrap()) > 1e-3);
        assert_grads(&c.inputs, |g, v| c.fused(g, v))?;
    }
}

/// Training mode returns the batch mean and unbiased variance of the convolution's output,
/// as `batch_norm` does.
#[test]
fn training_returns_the_batch_statistics() {
    let x = ArrayD::from_shape_fn(IxDyn(&[3, 2, 5, 4]), |i| {
        ((i[0] * 31 + i[1] * 17 + i[2] * 7 + i[3] * 3) % 11) as f64 * 0.2 - 1.0
    });
    let w = ArrayD::from_shape_fn(IxDyn(&[4, 2, 3, 3]), |i| {
        ((i[0] * 5 + i[1] * 3 + i[2] * 2 + i[3]) % 7) as f64 * 0.1 - 0.3
    });
    let mut g = Graph::<f64>::new();
    let (xv, wv) = (g.input(x), g.input(w));
    let gamma = g.input(ArrayD::ones(IxDyn(&[4])));
    let beta = g.input(ArrayD::zeros(IxDyn(&[4])));
    let mode = BatchNormMode::Train { eps: EPS };
    let spec = ConvBlockSpec {
        stride: 1,
        padding: 1,
        pool_kernel: 2,
        pool_stride: 2,
    };
    let (_, stats) = g
        .conv_block(xv, wv, None, BlockNorm::Batch { gamma, beta, mode }, spec)
        .unwrap();
    let z = g.conv2d(xv, wv, None, 1, 1).unwrap();
    let (_, want) = g.batch_norm(z, gamma, beta, mode).unwrap();
    let (stats, want) = (stats.unwrap(), want.unwrap());
    let zv = g.value(z).clone();
    assert_eq!(zv.len_of(Axis(1)), 4);
    for (a, b) in [(&stats.mean, &want.mean), (&stats.var, &want.var)] {
        for (a, b) in a.iter().zip(b.iter()) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}

#[test]
fn conv_block_errors() {
    let mut g = Graph::<f64>::new();
    let x = g.input(ArrayD::zeros(IxDyn(&[1, 2, 4, 4])));
    let w = g.input(ArrayD::zeros(IxDyn(&[3, 2, 3, 3])));
    let wrong_w = g.input(ArrayD::zeros(IxDyn(&[3, 1, 3, 3])));
    let short = g.input(ArrayD::zeros(IxDyn(&[2])));
    let spec = ConvBlockSpec {
        stride: 1,
        padding: 1,
        pool_kernel: 2,
        pool_stride: 2,
    };
    match g.conv_block(x, wrong_w, None, BlockNorm::None, spec) {
        Err(Error::Shape {
            op: "conv_block",
            shapes,
            ..
        }) => assert_eq!(shapes, vec![vec![1, 2, 4, 4], vec![3, 1, 3, 3]]),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        g.conv_block(x, w, Some(short), BlockNorm::None, spec),
        Err(Error::Shape {
            op: "conv_block",
            ..
        })
    ));
    let gamma = g.input(ArrayD::ones(IxDyn(&[3])));
    let bad_eps = BlockNorm::Batch {
        gamma,
        beta: gamma,
        mode: BatchNormMode::Train { eps: -1.0 },
    };
    assert!(matches!(
        g.conv_block(x, w, None, bad_eps, spec),
        Err(Error::InvalidArgument {
            op: "conv_block",
            ..
        })
    ));
    for (pool_kernel, pool_stride) in [(16, 1), (2, 0), (5, 1)] {
        let spec = ConvBlockSpec {
            pool_kernel,
            pool_stride,
            ..spec
        };
        assert!(
            g.conv_block(x, w, None, BlockNorm::None, spec).is_err(),
            "pool {pool_kernel}/{pool_stride}"
        );
    }
    let (mean, var) = (Array1::zeros(2), Array1::ones(3));
    let eval = BlockNorm::Batch {
        gamma,
        beta: gamma,
        mode: BatchNormMode::Eval {
            mean: &mean,
            var: &var,
            eps: EPS,
        },
    };
    assert!(matches!(
        g.conv_block(x, w, None, eval, spec),
        Err(Error::Shape {
            op: "conv_block",
            ..
        })
    ));
    // One value per channel cannot be batch-normalised in training.
    let one = g.input(ArrayD::zeros(IxDyn(&[1, 2, 1, 1])));
    let w1 = g.input(ArrayD::zeros(IxDyn(&[3, 2, 1, 1])));
    let spec1 = ConvBlockSpec {
        stride: 1,
        padding: 0,
        pool_kernel: 1,
        pool_stride: 1,
    };
    let train = BlockNorm::Batch {
        gamma,
        beta: gamma,
        mode: BatchNormMode::Train { eps: EPS },
    };
    assert!(matches!(
        g.conv_block(one, w1, None, train, spec1),
        Err(Error::Shape {
            op: "conv_block",
            ..
        })
    ));
}
