//! Each loss against the same loss composed from `contrast-autodiff` primitives
//! (normalise, matmul, masks, log-sum-exp, ...): the analytic gradient, the autodiff
//! gradient (and, in `gradients.rs`, finite differences) must all agree.
//! The two-input losses are in `composed_two_input.rs`, the masks and learnable
//! temperatures in `composed_masks.rs`.

mod composed_support;

use composed_support::*;
use contrast_autodiff::Var;
use contrast_losses::*;
use ndarray::Array2;

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
        let cfg = HclConfig {
            temperature: t,
            tau_plus: tau,
            beta,
            normalize: true,
        };
        let out = hcl(z.view(), &cfg).unwrap();
        let m = (2 * n - 2) as f64;
        let n2 = 2 * n;
        agree("hcl", &[&z], (out.loss, vec![&out.grad]), |g, v| {
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
                Array2::from_shape_fn((n2, n2), |(i, j)| if j == (i + n) % n2 { 1.0 } else { 0.0 }),
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
        });
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
            assert_eq!(out_d, out, "debiased is hcl with beta = 0");
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
