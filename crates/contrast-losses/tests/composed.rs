//! Each loss against the same loss composed from `contrast-autodiff` primitives
//! (normalise, matmul, masks, log-sum-exp, ...): the analytic gradient, the autodiff
//! gradient (and, in `gradients.rs`, finite differences) must all agree.
//! Masks are constants; `-1e9` removes an entry from a log-sum-exp (exp underflows to 0).

use contrast_autodiff::{Graph, Var};
use contrast_losses::*;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

type G = Graph<f64>;
const OFF: f64 = -1e9;

fn random(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.5..1.5))
}

/// Builds the composed loss over `inputs` (as params), runs backward, and compares value and
/// every gradient with the analytic ones.
fn agree(
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

fn constant(g: &mut G, m: Array2<f64>) -> Var {
    g.input(m.into_dyn())
}

/// `zn zn^T / T` of the normalised rows of `z`.
fn logits(g: &mut G, z: Var, t: f64) -> (Var, Var) {
    let zn = g.l2_normalize_rows(z, 1e-12).unwrap();
    let znt = g.transpose(zn).unwrap();
    let s = g.matmul(zn, znt).unwrap();
    (zn, g.mul_scalar(s, 1.0 / t).unwrap())
}

/// Row-wise log-sum-exp of `s` over the entries where `keep(i, j)`.
fn masked_lse(g: &mut G, s: Var, n: usize, m: usize, keep: impl Fn(usize, usize) -> bool) -> Var {
    let mask = constant(
        g,
        Array2::from_shape_fn((n, m), |(i, j)| if keep(i, j) { 0.0 } else { OFF }),
    );
    let x = g.add(s, mask).unwrap();
    g.logsumexp(x, 1, false).unwrap()
}

/// `sum_ij w_ij s_ij`.
fn weighted_sum(g: &mut G, s: Var, w: Array2<f64>) -> Var {
    let w = constant(g, w);
    let x = g.mul(s, w).unwrap();
    g.sum_all(x).unwrap()
}

/// `sum_i w_i v_i` for a vector node.
fn dot(g: &mut G, v: Var, w: Vec<f64>) -> Var {
    let w = g.input(ndarray::Array1::from(w).into_dyn());
    let x = g.mul(v, w).unwrap();
    g.sum_all(x).unwrap()
}

#[test]
fn nt_xent_dense_tiled_and_composed() {
    for (seed, n, d, t) in [(1, 3, 4, 0.5), (2, 5, 3, 0.2), (3, 2, 6, 1.0)] {
        let z = random(2 * n, d, seed);
        for evaluation in [
            Evaluation::Dense,
            Evaluation::Tiled(TileSize { rows: 4, cols: 3 }),
        ] {
            let out = nt_xent(z.view(), &NtXentConfig::new(t).evaluation(evaluation)).unwrap();
            agree("nt_xent", &[&z], (out.loss, vec![&out.grad]), |g, v| {
                let (_, s) = logits(g, v[0], t);
                let lse = masked_lse(g, s, 2 * n, 2 * n, |i, j| i != j);
                let pos = Array2::from_shape_fn((2 * n, 2 * n), |(i, j)| {
                    if j == (i + n) % (2 * n) { 1.0 } else { 0.0 }
                });
                let lse_sum = g.sum_all(lse).unwrap();
                let pos_sum = weighted_sum(g, s, pos);
                let diff = g.sub(lse_sum, pos_sum).unwrap();
                g.mul_scalar(diff, 1.0 / (2 * n) as f64).unwrap()
            });
        }
    }
}

fn label_sets() -> Vec<(u64, Vec<usize>)> {
    vec![
        (11, vec![0, 1, 0, 2, 1, 0, 3, 2]),
        (12, vec![0, 0, 1, 1, 1, 2, 2, 0, 2]),
        (13, vec![1, 0, 1, 0, 1]),
    ]
}

#[test]
fn supcon_composed() {
    for (seed, y) in label_sets() {
        let n = y.len();
        let z = random(n, 4, seed);
        let out = supcon(z.view(), &y, &SupConConfig::new(0.3)).unwrap();
        let counts: Vec<usize> = (0..n)
            .map(|i| (0..n).filter(|&j| j != i && y[j] == y[i]).count())
            .collect();
        let included = counts.iter().filter(|&&c| c > 0).count() as f64;
        agree("supcon", &[&z], (out.loss, vec![&out.grad]), |g, v| {
            let (_, s) = logits(g, v[0], 0.3);
            let lse = masked_lse(g, s, n, n, |i, j| i != j);
            let a: Vec<f64> = counts
                .iter()
                .map(|&c| if c > 0 { 1.0 / included } else { 0.0 })
                .collect();
            let w = Array2::from_shape_fn((n, n), |(i, j)| {
                if i != j && y[i] == y[j] {
                    1.0 / (counts[i] as f64 * included)
                } else {
                    0.0
                }
            });
            let l = dot(g, lse, a);
            let p = weighted_sum(g, s, w);
            g.sub(l, p).unwrap()
        });
    }
}

#[test]
fn multi_positive_forms_composed() {
    let cfg = SoftmaxConfig::new(0.4);
    for (seed, y) in label_sets() {
        let n = y.len();
        let z = random(n, 3, seed + 100);
        let pairs: Vec<(usize, usize)> = (0..n)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .filter(|&(i, j)| i != j && y[i] == y[j])
            .collect();
        let out = nt_xent_pairs(z.view(), &y, &cfg).unwrap();
        agree(
            "nt_xent_pairs",
            &[&z],
            (out.loss, vec![&out.grad]),
            |g, v| {
                let (_, s) = logits(g, v[0], 0.4);
                let anchors: Vec<usize> = pairs.iter().map(|p| p.0).collect();
                let rows = g.index_select(s, &anchors).unwrap();
                let lse = masked_lse(g, rows, pairs.len(), n, |k, j| {
                    j == pairs[k].1 || y[j] != y[pairs[k].0]
                });
                let onehot = Array2::from_shape_fn((pairs.len(), n), |(k, j)| {
                    if j == pairs[k].1 { 1.0 } else { 0.0 }
                });
                let l = g.sum_all(lse).unwrap();
                let p = weighted_sum(g, rows, onehot);
                let diff = g.sub(l, p).unwrap();
                g.mul_scalar(diff, 1.0 / pairs.len() as f64).unwrap()
            },
        );
        // Anchors without a positive (label 3 of the first set) are skipped: the mean runs
        // over the others, here as a weighted sum over the anchors that have one.
        let has_positive: Vec<bool> = (0..n)
            .map(|i| (0..n).any(|j| j != i && y[j] == y[i]))
            .collect();
        let included: Vec<usize> = (0..n).filter(|&i| has_positive[i]).collect();
        let out = positives_in_log(z.view(), &y, &cfg).unwrap();
        let singles: Vec<usize> = (0..n).filter(|&i| !has_positive[i]).collect();
        assert_eq!(out.skipped, singles);
        agree(
            "positives_in_log",
            &[&z],
            (out.loss, vec![&out.grad]),
            |g, v| {
                let (_, s) = logits(g, v[0], 0.4);
                let s = g.index_select(s, &included).unwrap();
                let m = included.len();
                let all = masked_lse(g, s, m, n, |r, j| included[r] != j);
                let pos = masked_lse(g, s, m, n, |r, j| {
                    let i = included[r];
                    i != j && y[i] == y[j]
                });
                let diff = g.sub(all, pos).unwrap();
                g.mean_all(diff).unwrap()
            },
        );
    }
}

/// Euclidean distances between rows `a[k]` and `b[k]` of `x` (plus `eps` on the difference).
fn row_distances(g: &mut G, x: Var, a: &[usize], b: &[usize], eps: f64) -> Var {
    let xa = g.index_select(x, a).unwrap();
    let xb = g.index_select(x, b).unwrap();
    let d = g.sub(xa, xb).unwrap();
    let d = g.add_scalar(d, eps).unwrap();
    let sq = g.mul(d, d).unwrap();
    let s = g.sum(sq, &[1], false).unwrap();
    g.sqrt(s).unwrap()
}

#[test]
fn triplet_explicit_composed() {
    for reduction in [Reduction::Mean, Reduction::Sum] {
        let (a, p, n) = (random(6, 4, 21), random(6, 4, 22), random(6, 4, 23));
        let cfg = TripletConfig {
            margin: 1.0,
            reduction,
            ..Default::default()
        };
        let out = triplet_margin(a.view(), p.view(), n.view(), &cfg).unwrap();
        agree(
            "triplet",
            &[&a, &p, &n],
            (
                out.loss,
                vec![&out.grad_anchor, &out.grad_positive, &out.grad_negative],
            ),
            |g, v| {
                let all = g.concat(&[v[0], v[1], v[2]], 0).unwrap();
                let idx: Vec<usize> = (0..6).collect();
                let (pi, ni): (Vec<usize>, Vec<usize>) = ((6..12).collect(), (12..18).collect());
                let dp = row_distances(g, all, &idx, &pi, 1e-6);
                let dn = row_distances(g, all, &idx, &ni, 1e-6);
                let l = g.sub(dp, dn).unwrap();
                let l = g.add_scalar(l, 1.0).unwrap();
                let l = g.relu(l).unwrap();
                if reduction == Reduction::Mean {
                    g.mean_all(l).unwrap()
                } else {
                    g.sum_all(l).unwrap()
                }
            },
        );
    }
}

#[test]
fn margin_losses_over_labels_composed() {
    for (seed, y) in label_sets() {
        let n = y.len();
        let z = random(n, 3, seed + 200);
        let cfg = LabelTripletConfig {
            margin: 0.4,
            ..Default::default()
        };
        let out = triplet_margin_labels(z.view(), &y, &cfg).unwrap();
        // The active set is a constant of the forward pass; the composed loss sums it.
        let zn = z.map_axis(ndarray::Axis(1), |r| r.dot(&r).sqrt());
        let dist = |i: usize, j: usize| {
            ((&z.row(i) / zn[i]) - (&z.row(j) / zn[j]))
                .mapv(|x| x * x)
                .sum()
                .sqrt()
        };
        let trip: Vec<(usize, usize, usize)> = (0..n)
            .flat_map(|a| (0..n).flat_map(move |p| (0..n).map(move |m| (a, p, m))))
            .filter(|&(a, p, m)| {
                a != p && y[a] == y[p] && y[m] != y[a] && dist(a, p) - dist(a, m) + 0.4 > 0.0
            })
            .collect();
        agree(
            "triplet_labels",
            &[&z],
            (out.loss, vec![&out.grad]),
            |g, v| {
                let x = g.l2_normalize_rows(v[0], 1e-12).unwrap();
                let a: Vec<usize> = trip.iter().map(|t| t.0).collect();
                let dp =
                    row_distances(g, x, &a, &trip.iter().map(|t| t.1).collect::<Vec<_>>(), 0.0);
                let dn =
                    row_distances(g, x, &a, &trip.iter().map(|t| t.2).collect::<Vec<_>>(), 0.0);
                let l = g.sub(dp, dn).unwrap();
                let l = g.add_scalar(l, 0.4).unwrap();
                g.mean_all(l).unwrap()
            },
        );
        let cfg = ContrastiveMarginConfig {
            pos_margin: 0.3,
            neg_margin: 1.2,
            ..Default::default()
        };
        let out = contrastive_margin(z.view(), &y, &cfg).unwrap();
        let pairs = |pos: bool| -> Vec<(usize, usize)> {
            (0..n)
                .flat_map(|i| (0..n).map(move |j| (i, j)))
                .filter(|&(i, j)| i != j && (y[i] == y[j]) == pos)
                .filter(|&(i, j)| {
                    if pos {
                        dist(i, j) > 0.3
                    } else {
                        dist(i, j) < 1.2
                    }
                })
                .collect()
        };
        let (pp, np) = (pairs(true), pairs(false));
        agree("contrastive", &[&z], (out.loss, vec![&out.grad]), |g, v| {
            let x = g.l2_normalize_rows(v[0], 1e-12).unwrap();
            let split = |p: &[(usize, usize)]| {
                (
                    p.iter().map(|t| t.0).collect::<Vec<_>>(),
                    p.iter().map(|t| t.1).collect::<Vec<_>>(),
                )
            };
            let ((pa, pb), (na, nb)) = (split(&pp), split(&np));
            let dp = row_distances(g, x, &pa, &pb, 0.0);
            let lp = g.add_scalar(dp, -0.3).unwrap();
            let lp = g.mean_all(lp).unwrap();
            let dn = row_distances(g, x, &na, &nb, 0.0);
            let ln = g.neg(dn).unwrap();
            let ln = g.add_scalar(ln, 1.2).unwrap();
            let ln = g.mean_all(ln).unwrap();
            g.add(lp, ln).unwrap()
        });
    }
}

#[test]
fn dcl_and_dclw_composed() {
    for (seed, n, sigma) in [(31, 3, 0.5), (32, 4, 0.8)] {
        let z = random(2 * n, 4, seed);
        for weighted in [false, true] {
            let weight = if weighted {
                DclWeight::VonMisesFisher {
                    sigma,
                    detach: false,
                }
            } else {
                DclWeight::None
            };
            let t = 0.3;
            let out = dcl(
                z.view(),
                &DclConfig {
                    temperature: t,
                    normalize: true,
                    weight,
                },
            )
            .unwrap();
            agree("dcl", &[&z], (out.loss, vec![&out.grad]), |g, v| {
                let (zn, s) = logits(g, v[0], t);
                let lse = masked_lse(g, s, 2 * n, 2 * n, |i, j| j != i && j != (i + n) % (2 * n));
                let lse = g.sum_all(lse).unwrap();
                // sum_i w_c(i) s_i,p(i) = 2 sum_c w_c u_c / T.
                let (z1, z2) = (
                    g.narrow(zn, 0, 0, n).unwrap(),
                    g.narrow(zn, 0, n, n).unwrap(),
                );
                let prod = g.mul(z1, z2).unwrap();
                let u = g.sum(prod, &[1], false).unwrap();
                let w = if weighted {
                    let scaled = g.mul_scalar(u, 1.0 / sigma).unwrap();
                    let pi = g.softmax(scaled, 0).unwrap();
                    let npi = g.mul_scalar(pi, -(n as f64)).unwrap();
                    g.add_scalar(npi, 2.0).unwrap()
                } else {
                    let ones = g.mul_scalar(u, 0.0).unwrap();
                    g.add_scalar(ones, 1.0).unwrap()
                };
                let wu = g.mul(w, u).unwrap();
                let pos = g.sum_all(wu).unwrap();
                let pos = g.mul_scalar(pos, 2.0 / t).unwrap();
                let diff = g.sub(lse, pos).unwrap();
                g.mul_scalar(diff, 1.0 / (2 * n) as f64).unwrap()
            });
        }
    }
}

#[test]
fn debiased_and_hard_negative_composed() {
    for (seed, n, tau, beta) in [(41, 3, 0.05, 0.0), (42, 4, 0.1, 1.0), (43, 3, 0.0, 2.0)] {
        let z = random(2 * n, 4, seed);
        let t = 0.5;
        let cfg = HardNegativeConfig {
            temperature: t,
            tau_plus: tau,
            beta,
            normalize: true,
        };
        let out = hard_negative(z.view(), &cfg).unwrap();
        let m = (2 * n - 2) as f64;
        let n2 = 2 * n;
        agree(
            "hard_negative",
            &[&z],
            (out.loss, vec![&out.grad]),
            |g, v| {
                let (_, s) = logits(g, v[0], t);
                let e = g.exp(s).unwrap();
                let negmask = constant(
                    g,
                    Array2::from_shape_fn((n2, n2), |(i, j)| {
                        if j != i && j != (i + n) % n2 {
                            1.0
                        } else {
                            0.0
                        }
                    }),
                );
                let posmask = constant(
                    g,
                    Array2::from_shape_fn(
                        (n2, n2),
                        |(i, j)| if j == (i + n) % n2 { 1.0 } else { 0.0 },
                    ),
                );
                let pe = g.mul(e, posmask).unwrap();
                let pos = g.sum(pe, &[1], false).unwrap();
                let bs = g.mul_scalar(s, beta).unwrap();
                let imp = g.exp(bs).unwrap();
                let imp = g.mul(imp, negmask).unwrap();
                let ie = g.mul(imp, e).unwrap();
                let num = g.sum(ie, &[1], false).unwrap();
                let den = g.sum(imp, &[1], false).unwrap();
                let den = g.mul_scalar(den, 1.0 / m).unwrap();
                let reweight = g.div(num, den).unwrap();
                let tp = g.mul_scalar(pos, -tau * m).unwrap();
                let ng = g.add(reweight, tp).unwrap();
                let ng = g.mul_scalar(ng, 1.0 / (1.0 - tau)).unwrap();
                let total = g.add(pos, ng).unwrap();
                let lt = g.log(total).unwrap();
                let lp = g.log(pos).unwrap();
                let l = g.sub(lt, lp).unwrap();
                g.mean_all(l).unwrap()
            },
        );
        if beta == 0.0 {
            let out_d = debiased(
                z.view(),
                &DebiasedConfig {
                    temperature: t,
                    tau_plus: tau,
                    normalize: true,
                },
            )
            .unwrap();
            assert_eq!(out_d, out, "debiased is hard_negative with beta = 0");
        }
    }
}

#[test]
fn info_nce_composed() {
    for (seed, b, k, in_batch) in [(51, 4, 5, false), (52, 3, 4, true), (53, 5, 0, true)] {
        let (q, key) = (random(b, 3, seed), random(b, 3, seed + 1));
        let queue = random(k.max(1), 3, seed + 2);
        let t = 0.3;
        let cfg = InfoNceConfig::new(t).in_batch(in_batch);
        let negs = (k > 0).then(|| queue.view());
        let out = info_nce(q.view(), key.view(), negs, &cfg).unwrap();
        let mut inputs = vec![&q, &key];
        let mut grads = vec![&out.grad_query, &out.grad_key];
        if let Some(dn) = &out.grad_negatives {
            inputs.push(&queue);
            grads.push(dn);
        }
        agree("info_nce", &inputs, (out.loss, grads), |g, v| {
            let qn = g.l2_normalize_rows(v[0], 1e-12).unwrap();
            let kn = g.l2_normalize_rows(v[1], 1e-12).unwrap();
            let prod = g.mul(qn, kn).unwrap();
            let pos = g.sum(prod, &[1], true).unwrap();
            let mut blocks = vec![pos];
            if in_batch {
                let knt = g.transpose(kn).unwrap();
                let s = g.matmul(qn, knt).unwrap();
                let mask = constant(
                    g,
                    Array2::from_shape_fn((b, b), |(i, j)| if i == j { OFF } else { 0.0 }),
                );
                blocks.push(g.add(s, mask).unwrap());
            }
            if k > 0 {
                let nn = g.l2_normalize_rows(v[2], 1e-12).unwrap();
                let nnt = g.transpose(nn).unwrap();
                blocks.push(g.matmul(qn, nnt).unwrap());
            }
            let all = g.concat(&blocks, 1).unwrap();
            let all = g.mul_scalar(all, 1.0 / t).unwrap();
            let lse = g.logsumexp(all, 1, true).unwrap();
            let pos_t = g.mul_scalar(pos, 1.0 / t).unwrap();
            let l = g.sub(lse, pos_t).unwrap();
            g.mean_all(l).unwrap()
        });
    }
}

#[test]
fn alignment_and_uniformity_composed() {
    let (x, y) = (random(5, 4, 61), random(5, 4, 62));
    let out = alignment(x.view(), y.view(), &AlignmentConfig::default()).unwrap();
    agree(
        "alignment",
        &[&x, &y],
        (out.loss, vec![&out.grad_x, &out.grad_y]),
        |g, v| {
            let xn = g.l2_normalize_rows(v[0], 1e-12).unwrap();
            let yn = g.l2_normalize_rows(v[1], 1e-12).unwrap();
            let d = g.sub(xn, yn).unwrap();
            let sq = g.mul(d, d).unwrap();
            let s = g.sum(sq, &[1], false).unwrap();
            g.mean_all(s).unwrap()
        },
    );
    let out = uniformity(x.view(), &UniformityConfig::default()).unwrap();
    let pairs: Vec<(usize, usize)> = (0..5)
        .flat_map(|i| (i + 1..5).map(move |j| (i, j)))
        .collect();
    agree("uniformity", &[&x], (out.loss, vec![&out.grad]), |g, v| {
        let xn = g.l2_normalize_rows(v[0], 1e-12).unwrap();
        let a: Vec<usize> = pairs.iter().map(|p| p.0).collect();
        let b: Vec<usize> = pairs.iter().map(|p| p.1).collect();
        let d = row_distances(g, xn, &a, &b, 0.0);
        let sq = g.mul(d, d).unwrap();
        let pot = g.mul_scalar(sq, -2.0).unwrap();
        let lse = g.logsumexp(pot, 0, false).unwrap();
        g.add_scalar(lse, -(pairs.len() as f64).ln()).unwrap()
    });
}

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
