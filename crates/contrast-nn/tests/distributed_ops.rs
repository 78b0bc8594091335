//! The distributed building blocks one by one, on thread groups: gathered rows and their
//! summed-back gradient, synchronised batch norm against batch norm on the concatenated
//! batch (values, statistics, gradients, finite differences), the mean of gradients, the
//! broadcast of parameters and buffers, the view-major order and gathered labels.

mod difference;
use difference::max_diff;

use std::sync::Arc;

use contrast_autodiff::gradcheck::{GradCheckConfig, check_gradient};
use contrast_autodiff::{BatchNormMode, Graph, Var};
use contrast_collective::{Group, Single, ThreadGroup, ThreadMember, shard_range};
use contrast_nn::Module;
use contrast_nn::distributed::{
    SharedCollective, SumBack, all_reduce_gradients, broadcast_module, gather_labels, gather_rows,
    gather_rows_with, sync_batch_norm, view_major_order,
};
use contrast_nn::encoders::{Mlp, MlpConfig};
use contrast_nn::layers::{Activation, BatchNorm};
use ndarray::{Array1, ArrayD, Axis, IxDyn, Slice};
use proptest::prelude::*;
use rand::SeedableRng;

/// Runs `f` on every rank of a thread group and returns the results in rank order.
fn on_ranks<R: Send>(
    world: usize,
    f: impl Fn(ThreadMember) -> contrast_nn::Result<R> + Sync,
) -> Vec<R> {
    ThreadGroup::new(world)
        .unwrap()
        .run(f)
        .unwrap()
        .into_iter()
        .collect::<contrast_nn::Result<Vec<R>>>()
        .unwrap()
}

fn shared(member: ThreadMember) -> (Arc<ThreadMember>, SharedCollective<f64>) {
    let member = Arc::new(member);
    let c: SharedCollective<f64> = member.clone();
    (member, c)
}

/// Rows `range` of `x` (axis 0).
fn rows(x: &ArrayD<f64>, range: std::ops::Range<usize>) -> ArrayD<f64> {
    x.slice_axis(Axis(0), Slice::from(range)).to_owned()
}

fn array(shape: &[usize], f: impl Fn(usize) -> f64) -> ArrayD<f64> {
    ArrayD::from_shape_vec(IxDyn(shape), (0..shape.iter().product()).map(f).collect()).unwrap()
}

#[test]
fn gather_rows_concatenates_and_sums_the_gradient_back() {
    // 7 rows of width 3 on 3 ranks (3, 2, 2). Rank s weighs the gathered rows with its own
    // w_s, so the gradient reaching rank r must be Σ_s w_s[rows of r] (Skip: w_r[rows of r]).
    let x = array(&[7, 3], |i| i as f64 * 0.1 - 0.4);
    let weights = |s: usize| array(&[7, 3], |i| ((i + 5 * s) as f64 * 0.77).sin());
    for sum_back in [SumBack::AllReduce, SumBack::Skip] {
        let results = on_ranks(3, |member| {
            let rank = member.rank();
            let (_, c) = shared(member);
            let range = shard_range(7, 3, rank)?;
            let mut g = Graph::new();
            let xr = g.param(rows(&x, range.clone()));
            let gathered = gather_rows_with(&mut g, xr, &c, sum_back)?;
            let value = g.value(gathered.var).clone();
            let w = g.input(weights(rank));
            let weighted = g.mul(gathered.var, w)?;
            let loss = g.sum_all(weighted)?;
            g.backward(loss)?;
            Ok((
                value,
                gathered.own_rows(),
                gathered.rows,
                g.grad(xr).unwrap().clone(),
            ))
        });
        for (rank, (value, own, counts, grad)) in results.into_iter().enumerate() {
            assert_eq!(value, x);
            assert_eq!(counts, [3, 2, 2]);
            assert_eq!(own, shard_range(7, 3, rank).unwrap());
            let expected = match sum_back {
                SumBack::AllReduce => rows(&(weights(0) + weights(1) + weights(2)), own),
                SumBack::Skip => rows(&weights(rank), own),
            };
            assert!(
                max_diff(&grad, &expected) < 1e-15,
                "{sum_back:?} rank {rank}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// The gradient that gather_rows hands each rank is the gradient of the sum of all
    /// ranks' losses, a cross-row function of the gathered batch: checked against central
    /// differences of that sum computed on the concatenated batch.
    #[test]
    fn gather_rows_gradcheck(world in 2usize..=3, n in 2usize..=6, d in 1usize..=3, seed in 0u64..1000) {
        let x = array(&[n, d], |i| ((i as u64 * 31 + seed) as f64 * 0.37).sin());
        let weights = |s: usize| array(&[n, n], |i| ((i as u64 + 7 * s as u64 + seed) as f64 * 0.53).cos());
        // L = Σ_s Σ w_s ⊙ tanh(Z Z^T)
        let loss_of = |g: &mut Graph<f64>, z: Var, s: usize| -> contrast_nn::Result<Var> {
            let zt = g.transpose(z)?;
            let gram = g.matmul(z, zt)?;
            let t = g.tanh(gram)?;
            let w = g.input(weights(s));
            let p = g.mul(t, w)?;
            Ok(g.sum_all(p)?)
        };
        let grads = on_ranks(world, |member| {
            let rank = member.rank();
            let (_, c) = shared(member);
            let mut g = Graph::new();
            let xr = g.param(rows(&x, shard_range(n, world, rank)?));
            let z = gather_rows(&mut g, xr, &c)?.var;
            let loss = loss_of(&mut g, z, rank)?;
            g.backward(loss)?;
            Ok(g.grad(xr).cloned().unwrap_or_else(|| ArrayD::zeros(IxDyn(&[0, d]))))
        });
        let views: Vec<_> = grads.iter().map(|a| a.view()).collect();
        let analytic = ndarray::concatenate(Axis(0), &views).unwrap();
        let total = |x: &ArrayD<f64>| {
            (0..world)
                .map(|s| {
                    let mut g = Graph::new();
                    let z = g.input(x.clone());
                    let loss = loss_of(&mut g, z, s).unwrap();
                    g.value(loss).sum()
                })
                .sum::<f64>()
        };
        let report = check_gradient(total, &x, &analytic, &GradCheckConfig::default());
        prop_assert!(report.passes(1e-7), "{}", report);
    }
}

/// Batch norm output, statistics, and the gradients of `Σ w ⊙ y` with respect to x, gamma
/// and beta (of one process on the whole batch, of one rank, or of all ranks combined).
struct Reference {
    y: ArrayD<f64>,
    mean: Array1<f64>,
    var: Array1<f64>,
    dx: ArrayD<f64>,
    dgamma: ArrayD<f64>,
    dbeta: ArrayD<f64>,
}

fn reference_bn(
    x: &ArrayD<f64>,
    gamma: &ArrayD<f64>,
    beta: &ArrayD<f64>,
    w: &ArrayD<f64>,
) -> Reference {
    let mut g = Graph::new();
    let (xv, gv, bv) = (
        g.param(x.clone()),
        g.param(gamma.clone()),
        g.param(beta.clone()),
    );
    let (y, stats) = g
        .batch_norm(xv, gv, bv, BatchNormMode::Train { eps: 1e-5 })
        .unwrap();
    let stats = stats.unwrap();
    let out = g.value(y).clone();
    let wv = g.input(w.clone());
    let p = g.mul(y, wv).unwrap();
    let loss = g.sum_all(p).unwrap();
    g.backward(loss).unwrap();
    Reference {
        y: out,
        mean: stats.mean,
        var: stats.var,
        dx: g.grad(xv).unwrap().clone(),
        dgamma: g.grad(gv).unwrap().clone(),
        dbeta: g.grad(bv).unwrap().clone(),
    }
}

/// Synchronised batch norm over `world` ranks holding contiguous shards of `x`; each rank's
/// loss is `Σ w[rows of r] ⊙ y_r`, so the sum over ranks is the reference loss. Returns the
/// rank outputs concatenated, the statistics (checked equal on all ranks), dx concatenated
/// and dgamma, dbeta summed over ranks (the gradient of the sum of the ranks' losses).
fn distributed_bn(
    world: usize,
    x: &ArrayD<f64>,
    gamma: &ArrayD<f64>,
    beta: &ArrayD<f64>,
    w: &ArrayD<f64>,
) -> Reference {
    let n = x.shape()[0];
    let per_rank = on_ranks(world, |member| {
        let rank = member.rank();
        let (_, c) = shared(member);
        let range = shard_range(n, world, rank)?;
        let mut g = Graph::new();
        let xv = g.param(rows(x, range.clone()));
        let (gv, bv) = (g.param(gamma.clone()), g.param(beta.clone()));
        let (y, stats) = sync_batch_norm(&mut g, xv, gv, bv, 1e-5, &c)?;
        let out = g.value(y).clone();
        let wv = g.input(rows(w, range));
        let p = g.mul(y, wv)?;
        let loss = g.sum_all(p)?;
        g.backward(loss)?;
        let grad = |v| g.grad(v).unwrap().clone();
        Ok(Reference {
            y: out,
            mean: stats.mean,
            var: stats.var,
            dx: grad(xv),
            dgamma: grad(gv),
            dbeta: grad(bv),
        })
    });
    let cat = |pick: fn(&Reference) -> &ArrayD<f64>| {
        let views: Vec<_> = per_rank.iter().map(|r| pick(r).view()).collect();
        ndarray::concatenate(Axis(0), &views).unwrap()
    };
    let sum = |pick: fn(&Reference) -> &ArrayD<f64>| {
        per_rank
            .iter()
            .map(|r| pick(r).clone())
            .reduce(|a, b| a + b)
            .unwrap()
    };
    // Every rank holds the same statistics, to the bit.
    for r in &per_rank[1..] {
        assert_eq!((&r.mean, &r.var), (&per_rank[0].mean, &per_rank[0].var));
    }
    Reference {
        y: cat(|r| &r.y),
        mean: per_rank[0].mean.clone(),
        var: per_rank[0].var.clone(),
        dx: cat(|r| &r.dx),
        dgamma: sum(|r| &r.dgamma),
        dbeta: sum(|r| &r.dbeta),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10))]

    /// Synchronised batch norm on 2-3 ranks (uneven shards, possibly a rank with a single
    /// row or none) equals batch norm on the concatenated batch, and its gradients pass a
    /// finite-difference check of the distributed forward itself.
    #[test]
    fn sync_batch_norm_equals_batch_norm_on_the_whole_batch(
        world in 2usize..=3,
        n in 2usize..=7,
        c in 1usize..=3,
        spatial in any::<bool>(),
        seed in 0u64..1000,
    ) {
        let shape: Vec<usize> = if spatial { vec![n, c, 2, 2] } else { vec![n, c] };
        // An offset of 50 makes the variance small next to the mean (the cancellation case).
        let x = array(&shape, |i| 50.0 + ((i as u64 * 13 + seed) as f64 * 0.71).sin());
        let gamma = array(&[c], |i| 1.0 + 0.3 * i as f64);
        let beta = array(&[c], |i| 0.1 * i as f64 - 0.2);
        let w = array(&shape, |i| ((i as u64 * 7 + seed) as f64 * 0.43).cos());
        let single = reference_bn(&x, &gamma, &beta, &w);
        let dist = distributed_bn(world, &x, &gamma, &beta, &w);
        prop_assert!(max_diff(&dist.y, &single.y) < 1e-11, "y {}", max_diff(&dist.y, &single.y));
        prop_assert!(max_diff(&dist.mean.clone().into_dyn(), &single.mean.clone().into_dyn()) < 1e-11);
        prop_assert!(max_diff(&dist.var.clone().into_dyn(), &single.var.clone().into_dyn()) < 1e-11);
        prop_assert!(max_diff(&dist.dx, &single.dx) < 1e-10, "dx {}", max_diff(&dist.dx, &single.dx));
        prop_assert!(max_diff(&dist.dgamma, &single.dgamma) < 1e-10);
        prop_assert!(max_diff(&dist.dbeta, &single.dbeta) < 1e-10);

        // Central differences of the distributed loss Σ_r Σ w_r ⊙ y_r.
        let loss = |x: &ArrayD<f64>, gamma: &ArrayD<f64>, beta: &ArrayD<f64>| {
            (&distributed_bn(world, x, gamma, beta, &w).y * &w).sum()
        };
        let config = GradCheckConfig { max_elements: Some(10), seed, ..Default::default() };
        let checks = [
            check_gradient(|v| loss(v, &gamma, &beta), &x, &dist.dx, &config),
            check_gradient(|v| loss(&x, v, &beta), &gamma, &dist.dgamma, &config),
            check_gradient(|v| loss(&x, &gamma, v), &beta, &dist.dbeta, &config),
        ];
        for report in checks {
            prop_assert!(report.passes(1e-5), "{}", report);
        }
    }
}

#[test]
fn sync_batch_norm_with_fewer_than_two_values_is_an_error_on_every_rank() {
    let results = ThreadGroup::new(2)
        .unwrap()
        .run(|member| {
            let (_, c) = shared(member);
            let mut g = Graph::new();
            let rows = if c.rank() == 0 { 1 } else { 0 };
            let x = g.param(ArrayD::zeros(IxDyn(&[rows, 2])));
            let (gm, bt) = (
                g.param(ArrayD::ones(IxDyn(&[2]))),
                g.param(ArrayD::zeros(IxDyn(&[2]))),
            );
            sync_batch_norm(&mut g, x, gm, bt, 1e-5, &c).map(|_| ())
        })
        .unwrap();
    for r in results {
        let err = r.unwrap_err();
        assert!(err.to_string().contains("at least 2 values"), "{err}");
    }
}

#[test]
fn batch_norm_layer_synchronised_over_one_rank_is_plain_batch_norm() {
    let x = array(&[5, 4], |i| ((i as f64) * 0.91).sin() * 3.0 + 1.0);
    let run = |sync: bool| {
        let mut g = Graph::<f64>::new();
        let mut bn = BatchNorm::new_1d(&mut g, 4);
        if sync {
            let single: SharedCollective<f64> = Arc::new(Single::new());
            bn.set_sync(Some(single));
        }
        let xv = g.param(x.clone());
        let y = bn.forward(&mut g, xv).unwrap();
        let out = g.value(y).clone();
        let sq = g.mul(y, y).unwrap();
        let t = g.tanh(sq).unwrap();
        let loss = g.sum_all(t).unwrap();
        g.backward(loss).unwrap();
        let params = bn.named_params();
        (
            out,
            g.grad(xv).unwrap().clone(),
            g.grad(params[0].var).unwrap().clone(),
            bn.running_mean().clone(),
            bn.running_var().clone(),
        )
    };
    let (plain, synced) = (run(false), run(true));
    assert!(max_diff(&plain.0, &synced.0) < 1e-13);
    assert!(max_diff(&plain.1, &synced.1) < 1e-12);
    assert!(max_diff(&plain.2, &synced.2) < 1e-12);
    assert!(max_diff(&plain.3.into_dyn(), &synced.3.into_dyn()) < 1e-14);
    assert!(max_diff(&plain.4.into_dyn(), &synced.4.into_dyn()) < 1e-13);
}

#[test]
fn set_collective_reaches_every_batch_norm_of_a_model() {
    // One row per rank: plain batch norm refuses a batch of one; synchronised over 2 ranks
    // it normalises the two rows together, and the running statistics are the global ones.
    let config = MlpConfig {
        dims: vec![3, 4, 2],
        activation: Activation::Relu,
        batch_norm: true,
        activate_last: true,
    };
    let x = array(&[2, 3], |i| i as f64 * 0.3 - 0.5);
    let buffers = on_ranks(2, |member| {
        let rank = member.rank();
        let (_, c) = shared(member);
        let mut g = Graph::new();
        let mut model = Mlp::new(
            &mut g,
            &config,
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(1),
        )?;
        let xr = g.input(rows(&x, rank..rank + 1));
        assert!(model.forward(&mut g, xr).is_err());
        model.set_collective(Some(c));
        model.forward(&mut g, xr)?;
        Ok(model
            .named_buffers()
            .into_iter()
            .map(|(n, v)| (n, v.to_owned()))
            .collect::<Vec<_>>())
    });
    let mut g = Graph::new();
    let mut model = Mlp::new(
        &mut g,
        &config,
        &mut rand_chacha::ChaCha8Rng::seed_from_u64(1),
    )
    .unwrap();
    let xv = g.input(x.clone());
    model.forward(&mut g, xv).unwrap();
    let single: Vec<_> = model
        .named_buffers()
        .into_iter()
        .map(|(n, v)| (n, v.to_owned()))
        .collect();
    assert_eq!(single.len(), 4);
    for rank_buffers in buffers {
        for ((name, got), (_, want)) in rank_buffers.iter().zip(&single) {
            assert!(max_diff(got, want) < 1e-14, "{name}");
        }
    }
}

#[test]
fn all_reduce_gradients_takes_the_mean_the_same_on_every_rank() {
    let results = on_ranks(3, |member| {
        let rank = member.rank();
        let mut g = Graph::<f64>::new();
        let model = Mlp::new(
            &mut g,
            &MlpConfig::relu(&[2, 2]),
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(0),
        )?;
        let params = model.named_params();
        // weight: a different gradient per rank; bias: a gradient on rank 1 only.
        let wgrad = array(&[2, 2], |i| {
            (i as f64 + 1.0) * 10f64.powi(rank as i32) / 3.0
        });
        g.set_grad(params[0].var, Some(wgrad))?;
        if rank == 1 {
            g.set_grad(params[1].var, Some(array(&[2], |i| i as f64 + 0.5)))?;
        }
        all_reduce_gradients(&mut g, &params, &member)?;
        let out = (
            g.grad(params[0].var).unwrap().clone(),
            g.grad(params[1].var).unwrap().clone(),
        );
        // A param without a gradient anywhere keeps none.
        g.set_grad(params[0].var, None)?;
        g.set_grad(params[1].var, None)?;
        all_reduce_gradients(&mut g, &params, &member)?;
        assert!(g.grad(params[0].var).is_none() && g.grad(params[1].var).is_none());
        Ok(out)
    });
    let expected_w = array(&[2, 2], |i| {
        (i as f64 + 1.0) * (1.0 + 10.0 + 100.0) / 3.0 / 3.0
    });
    let expected_b = array(&[2], |i| (i as f64 + 0.5) / 3.0);
    for (w, b) in &results {
        assert!(max_diff(w, &expected_w) < 1e-12);
        assert!(max_diff(b, &expected_b) < 1e-15);
        let bits = |a: &ArrayD<f64>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(w), bits(&results[0].0));
    }
}

/// An embedding table's row-sparse gradient stays row-sparse: the mean over ranks covers the
/// union of their rows, as one process on the whole batch would see (so the lazy update
/// touches the same rows).
#[test]
fn row_sparse_gradients_average_over_the_union_of_rows() {
    use contrast_autodiff::{BagMode, Bags};
    let table = array(&[6, 2], |i| 0.1 * i as f64 - 0.3);
    let bags_of = |rank: usize| match rank {
        0 => Bags::from_lists(&[vec![0u32, 2], vec![2]]),
        _ => Bags::from_lists(&[vec![3u32], vec![2, 5]]),
    };
    // sum over bags of (bag embedding . w): the gradient of row r is w times its count.
    let loss_of = |g: &mut Graph<f64>, t: Var, bags: &Bags<f64>| -> contrast_nn::Result<Var> {
        let e = g.embedding_bag(t, bags, BagMode::Sum)?;
        let w = g.input(array(&[2, 1], |i| 1.0 + i as f64));
        let y = g.matmul(e, w)?;
        Ok(g.sum_all(y)?)
    };
    let results = on_ranks(2, |member| {
        let mut g = Graph::<f64>::new();
        let t = g.param(table.clone());
        let loss = loss_of(&mut g, t, &bags_of(member.rank()))?;
        g.backward(loss)?;
        let params = [contrast_nn::NamedParam {
            name: "table".into(),
            var: t,
            kind: contrast_nn::optim::ParamKind::Weight,
        }];
        all_reduce_gradients(&mut g, &params, &member)?;
        Ok(g.sparse_grad(t).expect("still row-sparse").clone())
    });
    // One process on both ranks' bags, loss halved (the mean over 2 ranks).
    let mut g = Graph::<f64>::new();
    let t = g.param(table.clone());
    let all = Bags::from_lists(&[vec![0u32, 2], vec![2], vec![3], vec![2, 5]]);
    let loss = loss_of(&mut g, t, &all).unwrap();
    let half = g.mul_scalar(loss, 0.5).unwrap();
    g.backward(half).unwrap();
    let expected = g.sparse_grad(t).unwrap();
    for got in &results {
        assert_eq!(got.rows(), &[0, 2, 3, 5]);
        assert_eq!(got.rows(), expected.rows());
        assert!(max_diff(&got.to_dense(), &expected.to_dense()) < 1e-15);
    }
}

#[test]
fn broadcast_module_copies_rank_zeros_params_and_buffers() {
    let config = MlpConfig {
        dims: vec![3, 4],
        activation: Activation::Relu,
        batch_norm: true,
        activate_last: true,
    };
    let states = on_ranks(3, |member| {
        let rank = member.rank();
        let mut g = Graph::<f64>::new();
        // Each rank initialises with its own seed and its own batch statistics.
        let mut model = Mlp::new(
            &mut g,
            &config,
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(rank as u64),
        )?;
        let x = g.input(array(&[4, 3], |i| (i * (rank + 1)) as f64 * 0.1));
        model.forward(&mut g, x)?;
        g.reset();
        broadcast_module(&mut g, &mut model, &member)?;
        let params: Vec<ArrayD<f64>> = model
            .named_params()
            .iter()
            .map(|p| g.value(p.var).clone())
            .collect();
        let buffers: Vec<ArrayD<f64>> = model
            .named_buffers()
            .into_iter()
            .map(|(_, v)| v.to_owned())
            .collect();
        Ok((params, buffers))
    });
    let mut g = Graph::<f64>::new();
    let model = Mlp::new(
        &mut g,
        &config,
        &mut rand_chacha::ChaCha8Rng::seed_from_u64(0),
    )
    .unwrap();
    let rank0_params: Vec<ArrayD<f64>> = model
        .named_params()
        .iter()
        .map(|p| g.value(p.var).clone())
        .collect();
    for (params, buffers) in &states {
        assert_eq!(params, &rank0_params);
        assert_eq!(buffers, &states[0].1);
    }
    assert_ne!(
        states[0].1[0],
        ArrayD::<f64>::zeros(IxDyn(&[4])),
        "rank 0 ran a batch"
    );
}

#[test]
fn view_major_order_pairs_rows_i_and_i_plus_n_again() {
    // Rank 0 holds samples a, b (rows a1 b1 a2 b2), rank 1 holds c (rows c1 c2): gathered
    // [a1 b1 a2 b2 c1 c2] becomes [a1 b1 c1 a2 b2 c2].
    assert_eq!(view_major_order(&[4, 2], 2).unwrap(), [0, 1, 4, 2, 3, 5]);
    assert_eq!(view_major_order(&[3, 0, 3], 3).unwrap(), [0, 3, 1, 4, 2, 5]);
    assert!(view_major_order(&[3, 2], 2).is_err());
    assert!(view_major_order(&[2], 0).is_err());
}

#[test]
fn labels_and_mismatched_rows_across_ranks() {
    let results = ThreadGroup::new(2)
        .unwrap()
        .run(|member| {
            let labels =
                gather_labels(&[member.rank() * 7, 1][..1 + member.rank()], &member).unwrap();
            let (_, c) = shared(member);
            let mut g = Graph::new();
            let width = 2 + c.rank();
            let x = g.input(ArrayD::zeros(IxDyn(&[2, width])));
            (labels, gather_rows(&mut g, x, &c).map(|_| ()))
        })
        .unwrap();
    for (labels, gathered) in results {
        assert_eq!(labels, [0, 7, 1]);
        let err = gathered.unwrap_err();
        assert!(err.to_string().contains("row length"), "{err}");
    }
}
