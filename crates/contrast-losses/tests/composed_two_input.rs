//! SigLIP, VICReg and Barlow Twins against the same losses composed from
//! `contrast-autodiff` primitives (`composed.rs` has the others): value and every gradient,
//! including SigLIP's log-scale and bias, must agree.

mod composed_support;

use composed_support::*;
use contrast_autodiff::Var;
use contrast_losses::*;
use ndarray::Array2;

#[test]
fn siglip_composed_with_scale_and_bias() {
    for (seed, n, d, t, b, normalize) in [
        (71, 4, 3, 2.3, -10.0, true),
        (72, 5, 2, 0.4, 1.5, false),
        (73, 1, 4, 1.0, -2.0, true),
    ] {
        let (x, y) = (random(n, d, seed), random(n, d, seed + 1));
        let cfg = SigLipConfig { normalize };
        let out = siglip(x.view(), y.view(), t, b, &cfg).unwrap();
        let mut g = G::new();
        let (vx, vy) = (g.param(x.clone().into_dyn()), g.param(y.clone().into_dyn()));
        let vt = g.param(ndarray::arr0(t).into_dyn());
        let vb = g.param(ndarray::arr0(b).into_dyn());
        let (xn, yn) = if normalize {
            (
                g.l2_normalize_rows(vx, 1e-12).unwrap(),
                g.l2_normalize_rows(vy, 1e-12).unwrap(),
            )
        } else {
            (vx, vy)
        };
        let ynt = g.transpose(yn).unwrap();
        let dots = g.matmul(xn, ynt).unwrap();
        let scale = g.exp(vt).unwrap();
        let scaled = g.mul(dots, scale).unwrap();
        let logits = g.add(scaled, vb).unwrap();
        let signs = constant(
            &mut g,
            Array2::from_shape_fn((n, n), |(i, j)| if i == j { 1.0 } else { -1.0 }),
        );
        let margin = g.mul(logits, signs).unwrap();
        let p = g.sigmoid(margin).unwrap();
        let logp = g.log(p).unwrap();
        let total = g.sum_all(logp).unwrap();
        let loss = g.mul_scalar(total, -1.0 / n as f64).unwrap();
        let value = g.backward(loss).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-10 * b.abs().max(1.0);
        assert!(close(out.loss, value), "{} vs {value}", out.loss);
        for (name, v, want) in [("x", vx, &out.grad_x), ("y", vy, &out.grad_y)] {
            let got = g.grad(v).unwrap();
            for (a, c) in want.iter().zip(got.iter()) {
                assert!(close(*a, *c), "siglip d/d{name}: {a} vs {c}");
            }
        }
        let dt = g.grad(vt).unwrap()[[]];
        let db = g.grad(vb).unwrap()[[]];
        assert!(
            close(out.grad_log_scale, dt),
            "{} vs {dt}",
            out.grad_log_scale
        );
        assert!(close(out.grad_bias, db), "{} vs {db}", out.grad_bias);
    }
}

/// Column means subtracted, `(n, D) -> (n, D)`.
fn centre(g: &mut G, x: Var) -> Var {
    let m = g.mean(x, &[0], true).unwrap();
    g.sub(x, m).unwrap()
}

/// `sum_{j != k} c_jk^2` of a `(D, D)` node.
fn off_diagonal_squares(g: &mut G, c: Var, d: usize) -> Var {
    let off = Array2::from_shape_fn((d, d), |(j, k)| if j != k { 1.0 } else { 0.0 });
    let sq = g.mul(c, c).unwrap();
    weighted_sum(g, sq, off)
}

#[test]
fn vicreg_composed() {
    for (seed, n, d, cfg) in [
        (81, 6, 4, VicRegConfig::default()),
        (
            82,
            3,
            5,
            VicRegConfig {
                lambda: 2.0,
                mu: 7.0,
                nu: 0.5,
                eps: 1e-3,
            },
        ),
    ] {
        // Columns of spread around 0.5 and 2: the variance hinge is active for some.
        let a = random(n, d, seed) * Array2::from_shape_fn((1, d), |(_, j)| 0.5 + j as f64 * 0.6);
        let b = random(n, d, seed + 1);
        let out = vicreg(a.view(), b.view(), &cfg).unwrap();
        agree(
            "vicreg",
            &[&a, &b],
            (out.loss, vec![&out.grad_x, &out.grad_y]),
            |g, v| {
                let diff = g.sub(v[0], v[1]).unwrap();
                let sq = g.mul(diff, diff).unwrap();
                let inv = g.mean_all(sq).unwrap();
                let mut var = Vec::new();
                let mut cov = Vec::new();
                for &x in &v[..2] {
                    let xc = centre(g, x);
                    let sq = g.mul(xc, xc).unwrap();
                    let s = g.sum(sq, &[0], false).unwrap();
                    let s = g.mul_scalar(s, 1.0 / (n - 1) as f64).unwrap();
                    let s = g.add_scalar(s, cfg.eps).unwrap();
                    let std = g.sqrt(s).unwrap();
                    let neg = g.neg(std).unwrap();
                    let gap = g.add_scalar(neg, 1.0).unwrap();
                    let hinge = g.relu(gap).unwrap();
                    var.push(g.mean_all(hinge).unwrap());
                    let xct = g.transpose(xc).unwrap();
                    let c = g.matmul(xct, xc).unwrap();
                    let c = g.mul_scalar(c, 1.0 / (n - 1) as f64).unwrap();
                    let off = off_diagonal_squares(g, c, d);
                    cov.push(g.mul_scalar(off, 1.0 / d as f64).unwrap());
                }
                let var = g.add(var[0], var[1]).unwrap();
                let cov = g.add(cov[0], cov[1]).unwrap();
                let terms = [
                    g.mul_scalar(inv, cfg.lambda).unwrap(),
                    g.mul_scalar(var, cfg.mu * 0.5).unwrap(),
                    g.mul_scalar(cov, cfg.nu).unwrap(),
                ];
                let two = g.add(terms[0], terms[1]).unwrap();
                g.add(two, terms[2]).unwrap()
            },
        );
    }
}

#[test]
fn barlow_twins_composed() {
    for (seed, n, d, lambda) in [(91, 6, 4, 5e-3), (92, 3, 5, 0.3), (93, 8, 2, 0.0)] {
        let (a, b) = (random(n, d, seed), random(n, d, seed + 1) * 3.0);
        let cfg = BarlowTwinsConfig {
            lambda,
            ..Default::default()
        };
        let out = barlow_twins(a.view(), b.view(), &cfg).unwrap();
        agree(
            "barlow_twins",
            &[&a, &b],
            (out.loss, vec![&out.grad_x, &out.grad_y]),
            |g, v| {
                let mut normed = Vec::new();
                for &x in &v[..2] {
                    let xc = centre(g, x);
                    let sq = g.mul(xc, xc).unwrap();
                    let var = g.mean(sq, &[0], true).unwrap();
                    let var = g.add_scalar(var, cfg.eps).unwrap();
                    let std = g.sqrt(var).unwrap();
                    normed.push(g.div(xc, std).unwrap());
                }
                let at = g.transpose(normed[0]).unwrap();
                let c = g.matmul(at, normed[1]).unwrap();
                let c = g.mul_scalar(c, 1.0 / n as f64).unwrap();
                let eye = constant(
                    g,
                    Array2::from_shape_fn((d, d), |(j, k)| if j == k { 1.0 } else { 0.0 }),
                );
                let miss = g.sub(c, eye).unwrap();
                let miss_sq = g.mul(miss, miss).unwrap();
                let on = weighted_sum(g, miss_sq, Array2::eye(d));
                let off = off_diagonal_squares(g, c, d);
                let off = g.mul_scalar(off, lambda).unwrap();
                g.add(on, off).unwrap()
            },
        );
    }
}
