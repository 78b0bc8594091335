//! The graph itself: gradient accumulation, pruning, detach, inference mode, tape release,
//! errors, custom ops, and end-to-end learning.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use contrast_autodiff::{CustomOp, Error, Graph, Result, Var};
use ndarray::{ArrayD, IxDyn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn arr(shape: &[usize], values: &[f64]) -> ArrayD<f64> {
    ArrayD::from_shape_vec(IxDyn(shape), values.to_vec()).unwrap()
}

#[test]
fn gradients_accumulate_until_zero_grad() {
    let mut g = Graph::<f64>::new();
    let w = g.param(arr(&[2], &[1.0, 2.0]));
    for step in 1..=3 {
        let x = g.input(arr(&[2], &[3.0, -1.0]));
        let y = g.mul(w, x).unwrap();
        let loss = g.sum_all(y).unwrap();
        assert_eq!(g.backward(loss).unwrap(), 1.0);
        let expect = [3.0 * step as f64, -(step as f64)];
        assert_eq!(g.grad(w).unwrap().as_slice().unwrap(), &expect);
    }
    g.zero_grad();
    assert!(g.grad(w).is_none());
}

#[test]
fn set_grad_replaces_a_params_gradient_and_refuses_the_rest() {
    let mut g = Graph::<f64>::new();
    let w = g.param(arr(&[2], &[1.0, 2.0]));
    g.set_grad(w, Some(arr(&[2], &[0.5, -0.5]))).unwrap();
    assert_eq!(g.grad(w).unwrap().as_slice().unwrap(), &[0.5, -0.5]);
    // A later backward adds to the gradient that was set.
    let y = g.sum_all(w).unwrap();
    g.backward(y).unwrap();
    assert_eq!(g.grad(w).unwrap().as_slice().unwrap(), &[1.5, 0.5]);
    let shape = g.set_grad(w, Some(arr(&[3], &[0.0; 3]))).unwrap_err();
    assert!(
        matches!(shape, Error::Shape { op: "set_grad", .. }),
        "{shape}"
    );
    assert_eq!(g.grad(w).unwrap().as_slice().unwrap(), &[1.5, 0.5]);
    let x = g.input(arr(&[2], &[0.0; 2]));
    let not_param = g.set_grad(x, Some(arr(&[2], &[0.0; 2]))).unwrap_err();
    assert!(
        matches!(not_param, Error::InvalidArgument { op: "set_grad", .. }),
        "{not_param}"
    );
    g.set_grad(w, None).unwrap();
    assert!(g.grad(w).is_none());
}

#[test]
fn a_param_used_twice_gets_both_contributions() {
    let mut g = Graph::<f64>::new();
    let w = g.param(arr(&[], &[3.0]));
    let y = g.mul(w, w).unwrap(); // w^2
    let z = g.add(y, w).unwrap(); // w^2 + w
    g.backward(z).unwrap();
    assert_eq!(g.grad(w).unwrap()[[]], 7.0);
}

#[test]
fn a_removed_param_hands_back_its_gradient_and_leaves_the_graph() {
    let mut g = Graph::<f64>::new();
    let w = g.param(arr(&[2], &[1.0, 2.0]));
    let z = g.param(arr(&[2], &[0.5, -3.0]));
    let y = g.mul(w, z).unwrap();
    let loss = g.sum_all(y).unwrap();
    g.backward(loss).unwrap();
    let (value, grad) = g.remove_param(z).unwrap();
    assert_eq!(value, arr(&[2], &[0.5, -3.0]));
    assert_eq!(grad.unwrap(), arr(&[2], &[1.0, 2.0]));
    assert_eq!(g.params(), vec![w]);
    assert_eq!(g.live_nodes(), 1);
    assert!(matches!(g.remove_param(z), Err(Error::StaleVar { .. })));
    let x = g.input(arr(&[1], &[1.0]));
    assert!(matches!(g.remove_param(x), Err(Error::Op { .. })));
}

/// Counts how often its backward rule runs.
struct Probe(Arc<AtomicUsize>);
impl CustomOp<f64> for Probe {
    fn name(&self) -> &str {
        "probe"
    }
    fn backward(
        &self,
        _: &[&ArrayD<f64>],
        _: &ArrayD<f64>,
        grad: &ArrayD<f64>,
    ) -> Result<Vec<Option<ArrayD<f64>>>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(vec![Some(grad.clone())])
    }
}

#[test]
fn nodes_that_cannot_reach_a_param_are_pruned() {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut g = Graph::<f64>::new();
    let w = g.param(arr(&[2], &[1.0, 1.0]));
    let x = g.input(arr(&[2], &[2.0, 3.0]));
    // A branch on inputs only: its backward must never run.
    let xv = g.value(x).clone();
    let constant = g.custom(&[x], xv, Box::new(Probe(calls.clone()))).unwrap();
    assert!(!g.requires_grad(constant));
    let wv = g.value(w).clone();
    let live = g.custom(&[w], wv, Box::new(Probe(calls.clone()))).unwrap();
    assert!(g.requires_grad(live));
    let y = g.mul(live, constant).unwrap();
    let loss = g.sum_all(y).unwrap();
    g.backward(loss).unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "only the branch reaching w runs backward"
    );
    assert_eq!(g.grad(w).unwrap().as_slice().unwrap(), &[2.0, 3.0]);
}

#[test]
fn detach_and_no_grad_stop_gradients() {
    let mut g = Graph::<f64>::new();
    let w = g.param(arr(&[2], &[1.0, 2.0]));
    let d = g.detach(w);
    assert_eq!(g.value(d), g.value(w));
    let y = g.mul(w, d).unwrap(); // gradient only through the first factor: d
    let loss = g.sum_all(y).unwrap();
    g.backward(loss).unwrap();
    assert_eq!(g.grad(w).unwrap().as_slice().unwrap(), &[1.0, 2.0]);

    g.zero_grad();
    let loss = g.no_grad(|g| {
        let y = g.mul(w, w).unwrap();
        g.sum_all(y).unwrap()
    });
    assert!(g.is_recording());
    assert!(!g.requires_grad(loss));
    assert_eq!(g.backward(loss).unwrap(), 5.0);
    assert!(g.grad(w).is_none());

    g.set_recording(false);
    let y = g.exp(w).unwrap();
    assert!(!g.requires_grad(y));
    g.set_recording(true);
    g.reset();
    assert_eq!(g.live_nodes(), 1);
}

#[test]
fn backward_releases_the_tape_and_stale_handles_are_errors() {
    let mut g = Graph::<f64>::new();
    let w = g.param(arr(&[2], &[1.0, 2.0]));
    let x = g.input(arr(&[2], &[1.0, 1.0]));
    let y = g.mul(w, x).unwrap();
    let loss = g.sum_all(y).unwrap();
    assert_eq!(g.live_nodes(), 4);
    g.backward(loss).unwrap();
    assert_eq!(g.live_nodes(), 1);
    assert!(matches!(g.try_value(y), Err(Error::StaleVar { .. })));
    // A freed slot is reused, but old handles keep their old generation.
    let fresh = g.input(arr(&[1], &[9.0]));
    assert!(fresh.index() < 4, "a freed slot is reused");
    for old in [x, y, loss] {
        assert!(matches!(g.try_value(old), Err(Error::StaleVar { .. })));
    }
    assert_eq!(g.value(fresh)[[0]], 9.0);
    assert!(matches!(g.add(y, w), Err(Error::StaleVar { .. })));
}

#[test]
fn backward_rejects_non_scalar_and_non_finite_losses() {
    let mut g = Graph::<f64>::new();
    let w = g.param(arr(&[2], &[1.0, -1.0]));
    let y = g.mul_scalar(w, 2.0).unwrap();
    assert_eq!(g.backward(y), Err(Error::NotScalar { shape: vec![2] }));
    assert_eq!(
        g.live_nodes(),
        1,
        "a failed backward still releases the tape"
    );
    let l = g.log(w).unwrap();
    let s = g.sum_all(l).unwrap();
    assert!(matches!(g.backward(s), Err(Error::NonFinite { .. })));
    assert!(g.grad(w).is_none());
}

/// Returns a gradient of the wrong shape.
struct Broken;
impl CustomOp<f64> for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    fn backward(
        &self,
        _: &[&ArrayD<f64>],
        _: &ArrayD<f64>,
        _: &ArrayD<f64>,
    ) -> Result<Vec<Option<ArrayD<f64>>>> {
        Ok(vec![Some(ArrayD::zeros(IxDyn(&[5])))])
    }
}

#[test]
fn a_custom_op_with_a_wrong_gradient_shape_is_an_error() {
    let mut g = Graph::<f64>::new();
    let w = g.param(arr(&[2], &[1.0, 2.0]));
    let y = g
        .custom(&[w], arr(&[2], &[1.0, 2.0]), Box::new(Broken))
        .unwrap();
    let s = g.sum_all(y).unwrap();
    match g.backward(s) {
        Err(Error::Op { op, msg }) => {
            assert_eq!(op, "broken");
            assert!(msg.contains("[5]"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
}

/// A 2-16-1 MLP: tanh hidden layer, sigmoid output, binary cross-entropy.
fn mlp_loss(g: &mut Graph<f64>, params: &[Var], x: Var, t: Var) -> Result<Var> {
    let h = g.matmul(x, params[0])?;
    let h = g.add(h, params[1])?;
    let h = g.tanh(h)?;
    let o = g.matmul(h, params[2])?;
    let o = g.add(o, params[3])?;
    let p = g.sigmoid(o)?;
    // -[t log p + (1 - t) log(1 - p)], averaged.
    let lp = g.log(p)?;
    let a = g.mul(t, lp)?;
    let np = g.neg(p)?;
    let one_minus_p = g.add_scalar(np, 1.0)?;
    let lq = g.log(one_minus_p)?;
    let nt = g.neg(t)?;
    let one_minus_t = g.add_scalar(nt, 1.0)?;
    let b = g.mul(one_minus_t, lq)?;
    let s = g.add(a, b)?;
    let m = g.mean_all(s)?;
    g.neg(m)
}

#[test]
fn a_tiny_mlp_learns_xor() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut init = |shape: &[usize], scale: f64| {
        ArrayD::from_shape_simple_fn(IxDyn(shape), || rng.random_range(-scale..scale))
    };
    let mut g = Graph::<f64>::new();
    let params = vec![
        g.param(init(&[2, 16], 1.0)),
        g.param(init(&[16], 0.1)),
        g.param(init(&[16, 1], 1.0)),
        g.param(init(&[1], 0.1)),
    ];
    let xs = arr(&[4, 2], &[0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
    let ts = arr(&[4, 1], &[0.0, 1.0, 1.0, 0.0]);
    let mut last = f64::INFINITY;
    for _ in 0..500 {
        g.zero_grad();
        let (x, t) = (g.input(xs.clone()), g.input(ts.clone()));
        let loss = mlp_loss(&mut g, &params, x, t).unwrap();
        last = g.backward(loss).unwrap();
        for &p in &params {
            let grad = g.grad(p).unwrap().clone();
            g.value_mut(p).scaled_add(-0.5, &grad);
        }
    }
    assert!(last < 0.05, "final loss {last}");
    // Predictions in inference mode.
    let x = g.input(xs);
    let p = g.no_grad(|g| {
        let h = g.matmul(x, params[0])?;
        let h = g.add(h, params[1])?;
        let h = g.tanh(h)?;
        let o = g.matmul(h, params[2])?;
        let o = g.add(o, params[3])?;
        g.sigmoid(o)
    });
    let p = g.value(p.unwrap()).clone();
    for (pred, target) in p.iter().zip(ts.iter()) {
        assert!((pred - target).abs() < 0.2, "{p}");
    }
}

fn resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_thousand_steps_keep_a_flat_tape_and_resident_size() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut g = Graph::<f32>::new();
    let w1 = g.param(ArrayD::from_shape_simple_fn(IxDyn(&[64, 64]), || {
        rng.random_range(-0.1..0.1)
    }));
    let w2 = g.param(ArrayD::from_shape_simple_fn(IxDyn(&[64, 8]), || {
        rng.random_range(-0.1..0.1)
    }));
    let batch = ArrayD::from_shape_simple_fn(IxDyn(&[32, 64]), || rng.random_range(-1.0..1.0));
    let step = |g: &mut Graph<f32>| {
        g.zero_grad();
        let x = g.input(batch.clone());
        let h = g.matmul(x, w1).unwrap();
        let h = g.relu(h).unwrap();
        let o = g.matmul(h, w2).unwrap();
        let o = g.log_softmax(o, 1).unwrap();
        let loss = g.mean_all(o).unwrap();
        g.backward(loss).unwrap();
        for p in [w1, w2] {
            let grad = g.grad(p).unwrap().clone();
            g.value_mut(p).scaled_add(-0.01, &grad);
        }
        assert_eq!(
            g.live_nodes(),
            2,
            "the tape is released after every backward"
        );
    };
    for _ in 0..50 {
        step(&mut g); // warm up the allocator
    }
    let before = resident_kib();
    for _ in 0..1000 {
        step(&mut g);
    }
    let after = resident_kib();
    if let (Some(before), Some(after)) = (before, after) {
        // One step's tape is ~50 KiB; a leak over 1000 steps would be tens of MiB.
        assert!(
            after < before + 4 * 1024,
            "VmRSS grew from {before} KiB to {after} KiB"
        );
    }
}

#[test]
fn a_handle_from_another_graph_is_an_error() {
    let mut a = Graph::<f64>::new();
    let mut b = Graph::<f64>::new();
    let va = a.param(arr(&[1], &[1.0]));
    let _vb = b.param(arr(&[1], &[2.0]));
    assert!(matches!(b.try_value(va), Err(Error::StaleVar { .. })));
    assert!(matches!(b.exp(va), Err(Error::StaleVar { .. })));
}
