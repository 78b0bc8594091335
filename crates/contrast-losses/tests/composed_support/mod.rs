//! The composed references shared by the `composed*` test files: random inputs, the
//! value-and-gradient agreement check, and the building blocks of a loss written with
//! `contrast-autodiff` primitives. Masks are constants; `-1e9` removes an entry from a
//! log-sum-exp (exp underflows to 0).
#![allow(dead_code)] // each test file uses a different subset

use contrast_autodiff::{Graph, Var};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub type G = Graph<f64>;
pub const OFF: f64 = -1e9;

pub fn random(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.5..1.5))
}

/// Builds the composed loss over `inputs` (as params), runs backward, and compares value and
/// every gradient with the analytic ones.
pub fn agree(
    name: &str,
    inputs: &[&Array2<f64>],
    analytic: (f64, Vec<&Array2<f64>>),
    build: impl FnOnce(&mut G, &[Var]) -> Var,
) {
    let mut g = G::new();
    let vars: Vec<Var> = inputs
        .iter()
        .map(|x| g.param((*x).clone().into_dyn()))
        .collect();
    let loss = build(&mut g, &vars);
    let value = g.backward(loss).unwrap();
    let (want, grads) = analytic;
    assert!(
        (value - want).abs() <= 1e-10 * want.abs().max(1.0),
        "{name}: composed {value} vs analytic {want}"
    );
    for (k, (v, a)) in vars.iter().zip(grads).enumerate() {
        let composed = g.grad(*v).expect("a gradient for every input");
        for ((idx, x), y) in a.indexed_iter().zip(composed.iter()) {
            assert!(
                (x - y).abs() <= 1e-9 * y.abs().max(1.0),
                "{name} input {k} at {idx:?}: analytic {x} vs composed {y}"
            );
        }
    }
}

pub fn constant(g: &mut G, m: Array2<f64>) -> Var {
    g.input(m.into_dyn())
}

/// `zn zn^T / T` of the normalised rows of `z`.
pub fn logits(g: &mut G, z: Var, t: f64) -> (Var, Var) {
    let zn = g.l2_normalize_rows(z, 1e-12).unwrap();
    let znt = g.transpose(zn).unwrap();
    let s = g.matmul(zn, znt).unwrap();
    (zn, g.mul_scalar(s, 1.0 / t).unwrap())
}

/// Row-wise log-sum-exp of `s` over the entries where `keep(i, j)`.
pub fn masked_lse(
    g: &mut G,
    s: Var,
    n: usize,
    m: usize,
    keep: impl Fn(usize, usize) -> bool,
) -> Var {
    let mask = constant(
        g,
        Array2::from_shape_fn((n, m), |(i, j)| if keep(i, j) { 0.0 } else { OFF }),
    );
    let x = g.add(s, mask).unwrap();
    g.logsumexp(x, 1, false).unwrap()
}

/// `sum_ij w_ij s_ij`.
pub fn weighted_sum(g: &mut G, s: Var, w: Array2<f64>) -> Var {
    let w = constant(g, w);
    let x = g.mul(s, w).unwrap();
    g.sum_all(x).unwrap()
}

/// `sum_i w_i v_i` for a vector node.
pub fn dot(g: &mut G, v: Var, w: Vec<f64>) -> Var {
    let w = g.input(ndarray::Array1::from(w).into_dyn());
    let x = g.mul(v, w).unwrap();
    g.sum_all(x).unwrap()
}
