use contrast_autodiff::gradcheck::strategies::{array, away_from_zero, shape};
use contrast_autodiff::{Error, Graph, Result, Var};
use ndarray::{ArrayD, Dimension, IxDyn};
use proptest::prelude::*;

use crate::support::{assert_close, assert_grads, cases, forward};

/// Two shapes that broadcast: `b` drops some leading axes of `a` and sets others to 1,
/// in random order.
fn broadcast_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    (
        shape(3, 3),
        0usize..3,
        proptest::collection::vec(any::<bool>(), 3),
        any::<bool>(),
    )
        .prop_map(|(a, drop, ones, swap)| {
            let drop = drop.min(a.len() - 1);
            let b: Vec<usize> = a[drop..]
                .iter()
                .zip(&ones)
                .map(|(&d, &one)| if one { 1 } else { d })
                .collect();
            if swap { (b, a) } else { (a, b) }
        })
}

/// Plain broadcasting reference: each output index mapped to each input by hand.
fn broadcast_ref(a: &ArrayD<f64>, b: &ArrayD<f64>, f: fn(f64, f64) -> f64) -> ArrayD<f64> {
    let n = a.ndim().max(b.ndim());
    let out_shape: Vec<usize> = (0..n)
        .map(|i| {
            let d = |x: &ArrayD<f64>| {
                if i + x.ndim() >= n {
                    x.shape()[i + x.ndim() - n]
                } else {
                    1
                }
            };
            d(a).max(d(b))
        })
        .collect();
    let pick = |x: &ArrayD<f64>, idx: &[usize]| {
        let local: Vec<usize> = (0..x.ndim())
            .map(|j| {
                if x.shape()[j] == 1 {
                    0
                } else {
                    idx[j + n - x.ndim()]
                }
            })
            .collect();
        x[IxDyn(&local)]
    };
    let mut out = ArrayD::zeros(IxDyn(&out_shape));
    for (idx, v) in out.indexed_iter_mut() {
        *v = f(pick(a, idx.slice()), pick(b, idx.slice()));
    }
    out
}

type BinOp = fn(&mut Graph<f64>, Var, Var) -> Result<Var>;
type BinCase = (&'static str, BinOp, fn(f64, f64) -> f64);
const BINARY: [BinCase; 4] = [
    ("add", Graph::add, |x, y| x + y),
    ("sub", Graph::sub, |x, y| x - y),
    ("mul", Graph::mul, |x, y| x * y),
    ("div", Graph::div, |x, y| x / y),
];

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn binary_ops_broadcast_forward_and_backward(
        (a, b) in broadcast_pair().prop_flat_map(|(sa, sb)| (array(sa, -2.0, 2.0), away_from_zero(sb, 0.5, 2.0)))
    ) {
        for (name, op, reference) in BINARY {
            let out = forward(&[a.clone(), b.clone()], |g, v| op(g, v[0], v[1]));
            assert_close(&out, &broadcast_ref(&a, &b, reference), 1e-12).map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
            assert_grads(&[a.clone(), b.clone()], |g, v| op(g, v[0], v[1]))?;
        }
    }

    #[test]
    fn unary_ops_forward_and_backward(x in shape(3, 4).prop_flat_map(|s| away_from_zero(s, 0.05, 2.0))) {
        type UnOp = Box<dyn Fn(&mut Graph<f64>, Var) -> Result<Var>>;
        let gelu = |v: f64| 0.5 * v * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (v + 0.044715 * v.powi(3))).tanh());
        type UnCase = (&'static str, UnOp, fn(f64) -> f64);
        let cases: Vec<UnCase> = vec![
            ("neg", Box::new(|g, v| g.neg(v)), |v| -v),
            ("add_scalar", Box::new(|g, v| g.add_scalar(v, 1.5)), |v| v + 1.5),
            ("mul_scalar", Box::new(|g, v| g.mul_scalar(v, -0.7)), |v| v * -0.7),
            ("exp", Box::new(|g, v| g.exp(v)), f64::exp),
            ("abs", Box::new(|g, v| g.abs(v)), f64::abs),
            ("relu", Box::new(|g, v| g.relu(v)), |v| v.max(0.0)),
            ("leaky_relu", Box::new(|g, v| g.leaky_relu(v, 0.1)), |v| if v > 0.0 { v } else { 0.1 * v }),
            ("tanh", Box::new(|g, v| g.tanh(v)), f64::tanh),
            ("sigmoid", Box::new(|g, v| g.sigmoid(v)), |v| 1.0 / (1.0 + (-v).exp())),
        ];
        for (name, op, reference) in &cases {
            let out = forward(std::slice::from_ref(&x), |g, v| op(g, v[0]));
            assert_close(&out, &x.mapv(reference), 1e-12).map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
            assert_grads(std::slice::from_ref(&x), |g, v| op(g, v[0])).map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
        }
        let out = forward(std::slice::from_ref(&x), |g, v| g.gelu(v[0]));
        assert_close(&out, &x.mapv(gelu), 1e-12)?;
        assert_grads(std::slice::from_ref(&x), |g, v| g.gelu(v[0]))?;
    }

    #[test]
    fn positive_domain_ops_forward_and_backward(x in shape(3, 4).prop_flat_map(|s| array(s, 0.2, 3.0))) {
        type UnOp = fn(&mut Graph<f64>, Var) -> Result<Var>;
        type UnCase = (&'static str, UnOp, fn(f64) -> f64);
        let cases: [UnCase; 3] = [
            ("log", Graph::log, f64::ln),
            ("sqrt", Graph::sqrt, f64::sqrt),
            ("powf", |g, v| g.powf(v, 1.7), |v| v.powf(1.7)),
        ];
        for (name, op, reference) in cases {
            let out = forward(std::slice::from_ref(&x), |g, v| op(g, v[0]));
            assert_close(&out, &x.mapv(reference), 1e-12).map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
            assert_grads(std::slice::from_ref(&x), |g, v| op(g, v[0])).map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
        }
    }
}

proptest! {
    #![proptest_config(cases(24))]

    /// Both operands broadcast (`(r,1)` against `(1,c)` or `(c,)`), so each gradient is a
    /// sum and neither takes over the incoming gradient's buffer; and one var on both
    /// sides, whose two partial gradients (one computed in place) meet in one accumulator.
    #[test]
    fn binary_ops_mutual_broadcast_and_shared_operand(
        (a, b) in (1usize..4, 1usize..4, any::<bool>()).prop_flat_map(|(r, c, flat)| {
            let sb = if flat { vec![c] } else { vec![1, c] };
            (away_from_zero(vec![r, 1], 0.5, 2.0), away_from_zero(sb, 0.5, 2.0))
        })
    ) {
        for (name, op, reference) in BINARY {
            let out = forward(&[a.clone(), b.clone()], |g, v| op(g, v[0], v[1]));
            assert_close(&out, &broadcast_ref(&a, &b, reference), 1e-12).map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
            assert_grads(&[a.clone(), b.clone()], |g, v| op(g, v[0], v[1]))?;
            assert_grads(std::slice::from_ref(&b), |g, v| op(g, v[0], v[0]))?;
        }
    }
}

#[test]
fn incompatible_shapes_are_typed_errors() {
    let mut g = Graph::<f64>::new();
    let a = g.input(ArrayD::zeros(IxDyn(&[2, 3])));
    let b = g.input(ArrayD::zeros(IxDyn(&[4])));
    match g.add(a, b) {
        Err(Error::Shape { op, shapes, .. }) => {
            assert_eq!(op, "add");
            assert_eq!(shapes, vec![vec![2, 3], vec![4]]);
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
fn sigmoid_saturates_without_nan() {
    let mut g = Graph::<f32>::new();
    let x = g.param(ArrayD::from_shape_vec(IxDyn(&[2]), vec![-1000.0, 1000.0]).unwrap());
    let y = g.sigmoid(x).unwrap();
    assert_eq!(g.value(y).as_slice().unwrap(), &[0.0, 1.0]);
    let s = g.sum_all(y).unwrap();
    g.backward(s).unwrap();
    assert!(g.grad(x).unwrap().iter().all(|v| v.is_finite()));
}
