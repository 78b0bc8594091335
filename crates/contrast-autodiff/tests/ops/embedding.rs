use contrast_autodiff::gradcheck::strategies::array;
use contrast_autodiff::{BagMode, Bags, Error, Grad, Graph, Result, Var};
use ndarray::{Array2, ArrayD, IxDyn};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::support::{assert_close, assert_grads, cases, forward};

/// A table, bags over its rows (empty bags and repeated ids included), a mode, and per-id
/// weights (only used in sum mode).
#[derive(Clone, Debug)]
struct Case {
    table: ArrayD<f64>,
    lists: Vec<Vec<u32>>,
    mode: BagMode,
    weights: Option<Vec<f64>>,
}

impl Case {
    fn bags(&self) -> Bags<f64> {
        let bags = Bags::from_lists(&self.lists);
        match &self.weights {
            Some(w) => bags.with_weights(w.clone()).unwrap(),
            None => bags,
        }
    }
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..6, 1usize..4, 0usize..5)
        .prop_flat_map(|(rows, dim, n_bags)| {
            (
                array(vec![rows, dim], -1.0, 1.0),
                proptest::collection::vec(proptest::collection::vec(0..rows as u32, 0..5), n_bags),
                prop_oneof![Just(BagMode::Sum), Just(BagMode::Mean)],
                any::<bool>(),
                proptest::collection::vec(-2.0..2.0, 20),
            )
        })
        .prop_map(|(table, lists, mode, weighted, pool)| {
            let n: usize = lists.iter().map(Vec::len).sum();
            let weights = (weighted && mode == BagMode::Sum).then(|| pool[..n].to_vec());
            Case {
                table,
                lists,
                mode,
                weights,
            }
        })
}

/// The plain loop: per bag, add up `c W[id]`.
fn bag_ref(c: &Case) -> ArrayD<f64> {
    let dim = c.table.shape()[1];
    let mut out = ArrayD::zeros(IxDyn(&[c.lists.len(), dim]));
    let mut k = 0;
    for (b, ids) in c.lists.iter().enumerate() {
        for &id in ids {
            let coef = match (&c.weights, c.mode) {
                (Some(w), _) => w[k],
                (None, BagMode::Sum) => 1.0,
                (None, BagMode::Mean) => 1.0 / ids.len() as f64,
            };
            for j in 0..dim {
                out[[b, j]] += coef * c.table[[id as usize, j]];
            }
            k += 1;
        }
    }
    out
}

/// The same function as a dense one-hot product `M W`, `M[b, id] = Σ c` over the bag's ids.
fn one_hot(c: &Case) -> ArrayD<f64> {
    let rows = c.table.shape()[0];
    let ones = Case {
        table: ArrayD::from_shape_fn(IxDyn(&[rows, rows]), |i| f64::from(i[0] == i[1])),
        ..c.clone()
    };
    bag_ref(&ones)
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn embedding_bag_matches_a_loop_and_finite_differences(c in case()) {
        let bags = c.bags();
        let out = forward(std::slice::from_ref(&c.table), |g, v| g.embedding_bag(v[0], &bags, c.mode));
        assert_close(&out, &bag_ref(&c), 1e-12)?;
        assert_grads(std::slice::from_ref(&c.table), |g, v| g.embedding_bag(v[0], &bags, c.mode))?;
    }

    /// The row-sparse gradient is the dense gradient of the one-hot product `M W`, and it
    /// holds exactly the rows the bags name.
    #[test]
    fn sparse_gradient_equals_the_one_hot_matmul_gradient(c in case(), seed in any::<u64>()) {
        let bags = c.bags();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let upstream = ArrayD::from_shape_simple_fn(IxDyn(&[c.lists.len(), c.table.shape()[1]]), || rng.random_range(-1.0..1.0));
        let loss = |g: &mut Graph<f64>, y: Var| -> Result<Var> {
            let r = g.input(upstream.clone());
            let p = g.mul(y, r)?;
            g.sum_all(p)
        };
        let mut g = Graph::new();
        let table = g.param(c.table.clone());
        let y = g.embedding_bag(table, &bags, c.mode).unwrap();
        let l = loss(&mut g, y).unwrap();
        g.backward(l).unwrap();

        let mut dense = Graph::new();
        let w = dense.param(c.table.clone());
        let m = dense.input(one_hot(&c));
        let y = dense.matmul(m, w).unwrap();
        let l = loss(&mut dense, y).unwrap();
        dense.backward(l).unwrap();
        let want = dense.grad(w).cloned().unwrap_or_else(|| ArrayD::zeros(c.table.raw_dim()));

        let mut used: Vec<usize> = c.lists.iter().flatten().map(|&i| i as usize).collect();
        used.sort_unstable();
        used.dedup();
        match g.gradient(table) {
            None => prop_assert!(used.is_empty()),
            Some(grad) => {
                let rows = grad.as_rows().expect("a table read only by embedding_bag has a row-sparse gradient");
                prop_assert_eq!(rows.rows(), &used[..]);
                prop_assert!(g.grad(table).is_none());
                assert_close(&rows.to_dense(), &want, 1e-12)?;
            }
        }
    }

    /// A table that is also read densely gets one dense gradient (sparse + dense), and a
    /// table computed by other ops passes its row-sparse gradient on densely: both checked
    /// against finite differences.
    #[test]
    fn mixed_and_computed_tables_differentiate(c in case()) {
        let bags = c.bags();
        assert_grads(std::slice::from_ref(&c.table), |g, v| {
            let y = g.embedding_bag(v[0], &bags, c.mode)?;
            let sq = g.mul(v[0], v[0])?;
            let s = g.sum_all(sq)?;
            g.mul(y, s)
        })?;
        assert_grads(std::slice::from_ref(&c.table), |g, v| {
            let t = g.tanh(v[0])?;
            g.embedding_bag(t, &bags, c.mode)
        })?;
    }
}

#[test]
fn a_param_read_densely_too_gets_a_dense_gradient() {
    let mut g = Graph::<f64>::new();
    let table = g.param(ArrayD::from_elem(IxDyn(&[4, 2]), 0.5));
    let bags = Bags::from_lists(&[vec![1, 1]]);
    let y = g.embedding_bag(table, &bags, BagMode::Sum).unwrap();
    let a = g.sum_all(y).unwrap();
    let b = g.sum_all(table).unwrap();
    let l = g.add(a, b).unwrap();
    g.backward(l).unwrap();
    let grad = g.grad(table).expect("dense");
    assert_eq!(
        grad.as_slice().unwrap(),
        &[1.0, 1.0, 3.0, 3.0, 1.0, 1.0, 1.0, 1.0]
    );
    assert!(g.sparse_grad(table).is_none());
}

#[test]
fn row_sparse_gradients_accumulate_across_backward_calls() {
    let mut g = Graph::<f64>::new();
    let table = g.param(ArrayD::zeros(IxDyn(&[6, 1])));
    for lists in [vec![vec![4u32, 1]], vec![vec![1u32, 5]]] {
        let y = g
            .embedding_bag(table, &Bags::from_lists(&lists), BagMode::Sum)
            .unwrap();
        let l = g.sum_all(y).unwrap();
        g.backward(l).unwrap();
    }
    let rows = g.sparse_grad(table).unwrap();
    assert_eq!(rows.rows(), &[1, 4, 5]);
    assert_eq!(rows.values().as_slice().unwrap(), &[2.0, 1.0, 1.0]);
    g.zero_grad();
    assert!(g.gradient(table).is_none());
}

/// Forward values and gradient rows are the same, bit for bit, on 1 and on 3 threads.
#[test]
fn results_do_not_depend_on_the_thread_count() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (rows, dim) = (500, 24);
    let table = ArrayD::from_shape_simple_fn(IxDyn(&[rows, dim]), || rng.random_range(-1.0..1.0));
    let lists: Vec<Vec<u32>> = (0..300)
        .map(|_| {
            let n = rng.random_range(0..40);
            (0..n).map(|_| rng.random_range(0..rows as u32)).collect()
        })
        .collect();
    let bags = Bags::<f32>::from_lists(&lists);
    let table = table.mapv(|v: f64| v as f32);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut g = Graph::<f32>::new();
            let t = g.param(table.clone());
            let y = g.embedding_bag(t, &bags, BagMode::Mean).unwrap();
            let out = g.value(y).clone();
            let sq = g.mul(y, y).unwrap();
            let l = g.sum_all(sq).unwrap();
            g.backward(l).unwrap();
            (out, g.sparse_grad(t).unwrap().clone())
        })
    };
    let (one, three) = (run(1), run(3));
    assert_eq!(one.0, three.0);
    assert_eq!(one.1, three.1);
}

#[test]
fn bad_bags_and_tables_are_errors() {
    let mut g = Graph::<f64>::new();
    let table = g.param(ArrayD::zeros(IxDyn(&[3, 2])));
    let flat = g.param(ArrayD::zeros(IxDyn(&[6])));
    let bags = Bags::from_lists(&[vec![0u32, 3]]);
    let err = g.embedding_bag(table, &bags, BagMode::Sum).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument { msg, .. } if msg.contains("id 3 at position 1")),
        "{err}"
    );
    let ok = Bags::from_lists(&[vec![0u32, 2]]);
    assert!(matches!(
        g.embedding_bag(flat, &ok, BagMode::Sum),
        Err(Error::Shape { .. })
    ));
    let weighted = ok.clone().with_weights(vec![1.0, 2.0]).unwrap();
    assert!(g.embedding_bag(table, &weighted, BagMode::Mean).is_err());
    assert!(ok.clone().with_weights(vec![1.0]).is_err());
    assert!(ok.with_weights(vec![1.0, f64::NAN]).is_err());
    assert!(Bags::<f64>::new(vec![1, 2], vec![1]).is_err());
    assert!(Bags::<f64>::new(vec![1, 2], vec![0, 2, 1]).is_err());
    assert!(Bags::<f64>::new(vec![1, 2], vec![0, 3]).is_err());
    assert!(Bags::<f64>::new(vec![1, 2], vec![]).is_err());
    let b = Bags::<f64>::new(vec![1, 2, 0], vec![0, 0, 2]).unwrap();
    assert_eq!(
        (b.bag(0), b.bag(1), b.bag(2)),
        (&[][..], &[1, 2][..], &[0][..])
    );
    assert!(Bags::<f64>::new(vec![], vec![]).unwrap().is_empty());
    let csr = Bags::<f64>::from_csr(vec![1, 2, 0], vec![0, 0, 2, 3]).unwrap();
    assert_eq!(csr, b);
    assert!(Bags::<f64>::from_csr(vec![1, 2], vec![0, 1]).is_err());
    assert!(Bags::<f64>::from_csr(vec![1, 2], vec![2]).is_err());
    assert!(Bags::<f64>::from_csr(vec![1, 2], vec![0, 2, 1, 2]).is_err());
    assert!(Bags::<f64>::from_csr(vec![], vec![0]).unwrap().is_empty());
}

/// A table no bag reaches (only empty bags) gets no gradient at all, and nothing table-sized.
#[test]
fn empty_bags_give_zero_rows_and_no_gradient() {
    let mut g = Graph::<f64>::new();
    let table = g.param(ArrayD::from_elem(IxDyn(&[3, 2]), 1.0));
    let bags = Bags::from_lists(&[Vec::<u32>::new(), vec![]]);
    let y = g.embedding_bag(table, &bags, BagMode::Mean).unwrap();
    assert_eq!(g.value(y), &Array2::<f64>::zeros((2, 2)).into_dyn());
    let l = g.sum_all(y).unwrap();
    g.backward(l).unwrap();
    assert!(matches!(g.gradient(table), Some(Grad::Rows(r)) if r.rows().is_empty()));
}

/// `remove_param` hands back a row-sparse gradient as the dense array it stands for.
#[test]
fn a_removed_table_hands_back_its_gradient_dense() {
    let mut g = Graph::<f64>::new();
    let table = g.param(ArrayD::zeros(IxDyn(&[3, 2])));
    let y = g
        .embedding_bag(table, &Bags::from_lists(&[vec![2u32, 2]]), BagMode::Sum)
        .unwrap();
    let l = g.sum_all(y).unwrap();
    g.backward(l).unwrap();
    let (_, grad) = g.remove_param(table).unwrap();
    assert_eq!(
        grad.unwrap().as_slice().unwrap(),
        &[0.0, 0.0, 0.0, 0.0, 2.0, 2.0]
    );
}
