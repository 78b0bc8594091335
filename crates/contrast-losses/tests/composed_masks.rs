//! The negatives masks of NT-Xent and DCL, and the learnable log-scale nodes (NT-Xent,
//! symmetric CLIP over InfoNCE), against the same losses composed from
//! `contrast-autodiff` primitives: value and every gradient, the log-scale's included.

mod composed_support;

use composed_support::*;
use contrast_autodiff::Var;
use contrast_losses::*;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A deterministic keep-mask `(rows, rows)` where every anchor keeps row `i + 1`.
fn keep_mask(rows: usize, seed: u64) -> Array2<bool> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((rows, rows), |(i, j)| {
        j == (i + 1) % rows || rng.random_bool(0.5)
    })
}

#[test]
fn nt_xent_and_dcl_masked_composed() {
    for (seed, n, d, t) in [(101, 3, 4, 0.5), (102, 5, 3, 0.2), (103, 2, 5, 1.0)] {
        let n2 = 2 * n;
        let z = random(n2, d, seed);
        let keep = keep_mask(n2, seed);
        let mask = NegativeMask::Keep(keep.view());
        let p = |i: usize| (i + n) % n2;
        let out = nt_xent_masked(z.view(), &mask, &NtXentConfig::new(t)).unwrap();
        agree(
            "nt_xent masked",
            &[&z],
            (out.loss, vec![&out.grad]),
            |g, v| {
                let (_, s) = logits(g, v[0], t);
                let lse = masked_lse(g, s, n2, n2, |i, j| j == p(i) || (j != i && keep[[i, j]]));
                let pos =
                    Array2::from_shape_fn((n2, n2), |(i, j)| if j == p(i) { 1.0 } else { 0.0 });
                let lse_sum = g.sum_all(lse).unwrap();
                let pos_sum = weighted_sum(g, s, pos);
                let diff = g.sub(lse_sum, pos_sum).unwrap();
                g.mul_scalar(diff, 1.0 / n2 as f64).unwrap()
            },
        );
        let cfg = DclConfig {
            temperature: t,
            ..DclConfig::default()
        };
        let out = dcl_masked(z.view(), &mask, &cfg).unwrap();
        agree("dcl masked", &[&z], (out.loss, vec![&out.grad]), |g, v| {
            let (_, s) = logits(g, v[0], t);
            let lse = masked_lse(g, s, n2, n2, |i, j| j != i && j != p(i) && keep[[i, j]]);
            let pos = Array2::from_shape_fn((n2, n2), |(i, j)| if j == p(i) { 1.0 } else { 0.0 });
            let lse_sum = g.sum_all(lse).unwrap();
            let pos_sum = weighted_sum(g, s, pos);
            let diff = g.sub(lse_sum, pos_sum).unwrap();
            g.mul_scalar(diff, 1.0 / n2 as f64).unwrap()
        });
    }
}

/// Value and gradients (inputs and the scalar log-scale) of a node against the same loss
/// composed from primitives, each built in its own graph over the same parameters.
fn agree_with_log_scale(
    name: &str,
    inputs: &[&Array2<f64>],
    t: f64,
    build: impl Fn(&mut G, &[Var], Var, bool) -> Var,
) {
    let run = |composed: bool| {
        let mut g = G::new();
        let vars: Vec<Var> = inputs
            .iter()
            .map(|x| g.param((*x).clone().into_dyn()))
            .collect();
        let vt = g.param(ndarray::arr0(t).into_dyn());
        let loss = build(&mut g, &vars, vt, composed);
        let value = g.backward(loss).unwrap();
        let mut grads: Vec<Vec<f64>> = vars
            .iter()
            .map(|v| g.grad(*v).unwrap().iter().copied().collect())
            .collect();
        grads.push(vec![g.grad(vt).unwrap()[[]]]);
        (value, grads)
    };
    let (node, composed) = (run(false), run(true));
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-10 * b.abs().max(1.0);
    assert!(
        close(node.0, composed.0),
        "{name}: {} vs {}",
        node.0,
        composed.0
    );
    for (k, (a, b)) in node.1.iter().zip(&composed.1).enumerate() {
        for (x, y) in a.iter().zip(b) {
            assert!(close(*x, *y), "{name} input {k}: node {x} vs composed {y}");
        }
    }
}

#[test]
fn nt_xent_log_scale_node_composed() {
    let (n, d) = (4, 3);
    let n2 = 2 * n;
    let z = random(n2, d, 111);
    let ids = [5u64, 6, 5, 7];
    let same = |i: usize, j: usize| ids[i % n] == ids[j % n];
    let p = |i: usize| (i + n) % n2;
    for t in [0.3f64, 2.0, -0.5] {
        agree_with_log_scale("nt_xent log-scale", &[&z], t, |g, v, vt, composed| {
            let cfg = NtXentConfig::new(123.0); // ignored: the node's T is exp(-t)
            if !composed {
                let mask = NegativeMask::SameInstance(&ids);
                return contrast_losses::autodiff::nt_xent_log_scale_op(g, v[0], vt, &mask, &cfg)
                    .unwrap();
            }
            let (_, s) = logits(g, v[0], 1.0);
            let scale = g.exp(vt).unwrap();
            let s = g.mul(s, scale).unwrap();
            let lse = masked_lse(g, s, n2, n2, |i, j| j == p(i) || (j != i && !same(i, j)));
            let pos = Array2::from_shape_fn((n2, n2), |(i, j)| if j == p(i) { 1.0 } else { 0.0 });
            let lse_sum = g.sum_all(lse).unwrap();
            let pos_sum = weighted_sum(g, s, pos);
            let diff = g.sub(lse_sum, pos_sum).unwrap();
            g.mul_scalar(diff, 1.0 / n2 as f64).unwrap()
        });
    }
}

/// Symmetric CLIP: two InfoNCE nodes (images to texts, texts to images) sharing the
/// log-scale, against `(CE(s X Y^T, I) + CE(s Y X^T, I)) / 2` composed.
#[test]
fn clip_symmetric_info_nce_composed() {
    let b = 5;
    let (x, y) = (random(b, 4, 121), random(b, 4, 122));
    for t in [(1.0f64 / 0.07).ln(), 0.0, 100f64.ln()] {
        agree_with_log_scale("clip", &[&x, &y], t, |g, v, vt, composed| {
            if !composed {
                let cfg = InfoNceConfig::default().in_batch(true);
                let op = contrast_losses::autodiff::info_nce_log_scale_op;
                let a = op(g, v[0], v[1], None, vt, &cfg).unwrap();
                let c = op(g, v[1], v[0], None, vt, &cfg).unwrap();
                let sum = g.add(a, c).unwrap();
                return g.mul_scalar(sum, 0.5).unwrap();
            }
            let xn = g.l2_normalize_rows(v[0], 1e-12).unwrap();
            let yn = g.l2_normalize_rows(v[1], 1e-12).unwrap();
            let ynt = g.transpose(yn).unwrap();
            let s = g.matmul(xn, ynt).unwrap();
            let scale = g.exp(vt).unwrap();
            let s = g.mul(s, scale).unwrap();
            let st = g.transpose(s).unwrap();
            let eye = Array2::eye(b);
            let mut terms = Vec::new();
            for m in [s, st] {
                let lse = g.logsumexp(m, 1, false).unwrap();
                let lse = g.sum_all(lse).unwrap();
                let diag = weighted_sum(g, m, eye.clone());
                terms.push(g.sub(lse, diag).unwrap());
            }
            let sum = g.add(terms[0], terms[1]).unwrap();
            g.mul_scalar(sum, 0.5 / b as f64).unwrap()
        });
    }
}
