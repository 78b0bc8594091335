//! Row-sparse (lazy) optimizer updates: against a written-out lazy reference, against the
//! dense update when every row is present, against `torch.optim.SparseAdam` / `SGD`
//! (fixtures from `tests/fixtures/make_sparse_optim_fixtures.py`), through `graph_step`,
//! across a state-dict round trip, and the refusals.

mod difference;
use difference::max_diff;

use contrast_autodiff::{BagMode, Bags, Graph, RowSparse};
use contrast_nn::optim::{
    Adam, AdamEps, Lars, Optimizer, ParamKind, ParamRef, Sgd, SparseParamRef, graph_step,
};
use contrast_nn::{Error, NamedParam};
use ndarray::{Array2, ArrayD, Axis, IxDyn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

const ROWS: usize = 7;
const DIM: usize = 3;

/// One step's gradient: random rows (repeats allowed, some rows absent) and values.
fn random_grad(rng: &mut impl Rng, all_rows: bool) -> (Vec<usize>, Array2<f64>) {
    let rows: Vec<usize> = if all_rows {
        (0..ROWS).rev().collect()
    } else {
        (0..rng.random_range(0..6))
            .map(|_| rng.random_range(0..ROWS - 1)) // the last row is never present
            .collect()
    };
    let values = Array2::from_shape_simple_fn((rows.len(), DIM), || rng.random_range(-1.0..1.0));
    (rows, values)
}

fn table(rng: &mut impl Rng) -> ArrayD<f64> {
    ArrayD::from_shape_simple_fn(IxDyn(&[ROWS, DIM]), || rng.random_range(-1.0..1.0))
}

fn step_sparse(opt: &mut dyn Optimizer<f64>, w: &mut ArrayD<f64>, grad: &RowSparse<f64>) {
    opt.step_with_sparse(
        &mut [],
        &mut [SparseParamRef {
            name: "emb.weight",
            kind: ParamKind::Weight,
            value: w,
            grad,
        }],
    )
    .unwrap();
}

/// Adam hyper-parameters for the written-out reference.
#[derive(Clone, Copy, Debug)]
struct Hyper {
    lr: f64,
    b1: f64,
    b2: f64,
    eps: f64,
    wd: f64,
    decoupled: bool,
    corrected: bool,
}

impl Hyper {
    fn optimizer(self) -> Adam<f64> {
        let base = if self.decoupled {
            Adam::adamw(self.lr, self.wd).unwrap()
        } else {
            Adam::new(self.lr)
                .unwrap()
                .weight_decay(self.wd, false)
                .unwrap()
        };
        let placement = if self.corrected {
            AdamEps::Corrected
        } else {
            AdamEps::Uncorrected
        };
        base.betas(self.b1, self.b2)
            .unwrap()
            .eps(self.eps)
            .unwrap()
            .eps_placement(placement)
    }
}

/// Lazy Adam written out row by row: repeated rows summed first; for each present row the
/// dense rule with the global step `t`; absent rows (value and moments) untouched.
fn lazy_adam_reference(
    h: Hyper,
    w: &mut ArrayD<f64>,
    m: &mut ArrayD<f64>,
    v: &mut ArrayD<f64>,
    t: i32,
    rows: &[usize],
    values: &Array2<f64>,
) {
    let mut summed = vec![None::<Vec<f64>>; ROWS];
    for (j, &r) in rows.iter().enumerate() {
        let acc = summed[r].get_or_insert_with(|| vec![0.0; DIM]);
        for c in 0..DIM {
            acc[c] += values[[j, c]];
        }
    }
    let (bc1, bc2) = (1.0 - h.b1.powi(t), 1.0 - h.b2.powi(t));
    for (r, g) in summed.iter().enumerate() {
        let Some(g) = g else { continue };
        for c in 0..DIM {
            let mut p = w[[r, c]];
            let mut gc = g[c];
            if h.decoupled {
                p *= 1.0 - h.lr * h.wd;
            } else {
                gc += h.wd * p;
            }
            let mc = h.b1 * m[[r, c]] + (1.0 - h.b1) * gc;
            let vc = h.b2 * v[[r, c]] + (1.0 - h.b2) * gc * gc;
            p -= if h.corrected {
                h.lr / bc1 * mc / (vc.sqrt() / bc2.sqrt() + h.eps)
            } else {
                h.lr * bc2.sqrt() / bc1 * mc / (vc.sqrt() + h.eps)
            };
            (w[[r, c]], m[[r, c]], v[[r, c]]) = (p, mc, vc);
        }
    }
}

#[test]
fn lazy_adam_matches_the_written_out_lazy_update() {
    let base = Hyper {
        lr: 0.05,
        b1: 0.9,
        b2: 0.999,
        eps: 1e-8,
        wd: 0.0,
        decoupled: false,
        corrected: true,
    };
    let hypers = [
        base,
        Hyper {
            wd: 0.1,
            b1: 0.8,
            b2: 0.99,
            ..base
        },
        Hyper {
            wd: 0.1,
            decoupled: true,
            ..base
        },
        Hyper {
            corrected: false,
            eps: 1e-3,
            ..base
        },
    ];
    for (i, h) in hypers.into_iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(i as u64);
        let mut w = table(&mut rng);
        let untouched = w.index_axis(Axis(0), ROWS - 1).to_owned();
        let mut want = w.clone();
        let (mut m, mut v) = (ArrayD::zeros(w.raw_dim()), ArrayD::zeros(w.raw_dim()));
        let mut opt = h.optimizer();
        for t in 1..=8 {
            let (rows, values) = random_grad(&mut rng, false);
            let grad = RowSparse::new(ROWS, rows.clone(), values.clone()).unwrap();
            step_sparse(&mut opt, &mut w, &grad);
            lazy_adam_reference(h, &mut want, &mut m, &mut v, t, &rows, &values);
            let err = max_diff(&w, &want);
            assert!(err <= 1e-12, "{h:?} step {t}: error {err}\n{w}\n{want}");
        }
        assert_ne!(w, table(&mut ChaCha8Rng::seed_from_u64(i as u64)), "{h:?}");
        assert_eq!(
            w.index_axis(Axis(0), ROWS - 1),
            untouched,
            "{h:?}: an absent row moved"
        );
        let state = opt.state_dict();
        assert_eq!(state["emb.weight.exp_avg"], m, "{h:?}");
        assert_eq!(state["step"][[]], 8.0);
    }
}

#[test]
fn every_row_every_step_gives_exactly_the_dense_update() {
    for (label, make) in [
        ("adam", (|| Adam::new(0.02).unwrap()) as fn() -> Adam<f64>),
        ("adam_l2", || {
            Adam::new(0.02).unwrap().weight_decay(0.1, false).unwrap()
        }),
        ("adamw", || Adam::adamw(0.02, 0.1).unwrap()),
        ("adam_uncorrected", || {
            Adam::new(0.02).unwrap().eps_placement(AdamEps::Uncorrected)
        }),
    ] {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut lazy_w = table(&mut rng);
        let mut dense_w = lazy_w.clone();
        let (mut lazy, mut dense) = (make(), make());
        for _ in 0..6 {
            let (rows, values) = random_grad(&mut rng, true);
            let grad = RowSparse::new(ROWS, rows, values).unwrap();
            step_sparse(&mut lazy, &mut lazy_w, &grad);
            dense
                .step(&mut [ParamRef {
                    name: "emb.weight",
                    kind: ParamKind::Weight,
                    value: &mut dense_w,
                    grad: &grad.to_dense(),
                }])
                .unwrap();
            assert_eq!(lazy_w, dense_w, "{label}");
        }
        assert_eq!(lazy.state_dict(), dense.state_dict(), "{label}");
    }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn matches_torch_sparse_adam_and_sgd() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sparse_optim_fixtures.json"
    ))
    .unwrap();
    let all: Value = serde_json::from_str(&text).unwrap();
    let (rows, dim) = (
        all["rows"].as_u64().unwrap() as usize,
        all["dim"].as_u64().unwrap() as usize,
    );
    let cases = all["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let c = &case["config"];
        let lr = c["lr"].as_f64().unwrap();
        let mut opt: Box<dyn Optimizer<f64>> = match case["optimizer"].as_str().unwrap() {
            "sparse_adam" => {
                let betas = c.get("betas").map(floats).unwrap_or(vec![0.9, 0.999]);
                let eps = c.get("eps").and_then(Value::as_f64).unwrap_or(1e-8);
                Box::new(
                    Adam::new(lr)
                        .unwrap()
                        .betas(betas[0], betas[1])
                        .unwrap()
                        .eps(eps)
                        .unwrap()
                        .eps_placement(AdamEps::Uncorrected),
                )
            }
            "sgd" => Box::new(Sgd::new(lr).unwrap()),
            other => panic!("unknown optimizer {other}"),
        };
        let start = ArrayD::from_shape_vec(IxDyn(&[rows, dim]), floats(&case["table"])).unwrap();
        let mut w = start.clone();
        let lrs = floats(&case["lrs"]);
        let steps = case["rows"].as_array().unwrap();
        for (t, ((ids, grads), after)) in steps
            .iter()
            .zip(case["grads"].as_array().unwrap())
            .zip(case["after"].as_array().unwrap())
            .enumerate()
        {
            let ids: Vec<usize> = floats(ids).iter().map(|&i| i as usize).collect();
            let values = Array2::from_shape_vec((ids.len(), dim), floats(grads)).unwrap();
            let grad = RowSparse::new(rows, ids, values).unwrap();
            opt.set_lr(lrs[t]);
            step_sparse(opt.as_mut(), &mut w, &grad);
            let want = ArrayD::from_shape_vec(IxDyn(&[rows, dim]), floats(after)).unwrap();
            let err = max_diff(&w, &want);
            assert!(err <= 1e-10, "{name} step {t}: error {err}\n{w}\n{want}");
        }
        // Guards against a vacuous fixture: the table moved, and the never-present row did not.
        assert!(max_diff(&w, &start) > 1e-3, "{name}");
        assert_eq!(
            w.index_axis(Axis(0), rows - 1),
            start.index_axis(Axis(0), rows - 1),
            "{name}"
        );
    }
}

/// `graph_step` sends a table read by `embedding_bag` the lazy update and every other
/// param the dense one, in one step of the count; unused rows and their moments stay put.
#[test]
fn graph_step_routes_row_sparse_gradients() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut g = Graph::<f64>::new();
    let start = table(&mut rng);
    let emb = g.param(start.clone());
    let scale = g.param(ArrayD::from_elem(IxDyn(&[DIM]), 0.5));
    let params = vec![
        NamedParam {
            name: "emb.weight".into(),
            var: emb,
            kind: ParamKind::Weight,
        },
        NamedParam {
            name: "scale".into(),
            var: scale,
            kind: ParamKind::Norm,
        },
    ];
    let bags = Bags::from_lists(&[vec![1u32, 3], vec![3]]);
    let y = g.embedding_bag(emb, &bags, BagMode::Mean).unwrap();
    let y = g.mul(y, scale).unwrap();
    let sq = g.mul(y, y).unwrap();
    let loss = g.sum_all(sq).unwrap();
    g.backward(loss).unwrap();
    assert!(g.sparse_grad(emb).is_some() && g.grad(scale).is_some());
    let mut opt = Adam::new(0.1).unwrap();
    graph_step(&mut opt, &mut g, &params).unwrap();
    let w = g.value(emb);
    for r in 0..ROWS {
        let moved = w.index_axis(Axis(0), r) != start.index_axis(Axis(0), r);
        assert_eq!(moved, r == 1 || r == 3, "row {r}");
    }
    assert_ne!(g.value(scale), &ArrayD::from_elem(IxDyn(&[DIM]), 0.5));
    let state = opt.state_dict();
    assert_eq!(state["step"][[]], 1.0);
    let m = &state["emb.weight.exp_avg"];
    assert!(
        m.index_axis(Axis(0), 0).iter().all(|&x| x == 0.0)
            && m.index_axis(Axis(0), 1).iter().any(|&x| x != 0.0)
    );
}

/// Saving the state after lazy steps and loading it into a fresh optimizer continues the
/// same trajectory, bit for bit.
#[test]
fn state_round_trip_continues_the_lazy_trajectory() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut w = table(&mut rng);
    let mut opt = Adam::adamw(0.05, 0.01).unwrap();
    let grads: Vec<RowSparse<f64>> = (0..6)
        .map(|_| {
            let (rows, values) = random_grad(&mut rng, false);
            RowSparse::new(ROWS, rows, values).unwrap()
        })
        .collect();
    for g in &grads[..3] {
        step_sparse(&mut opt, &mut w, g);
    }
    let mut resumed = Adam::adamw(0.05, 0.01).unwrap();
    resumed.load_state_dict(&opt.state_dict()).unwrap();
    let mut w2 = w.clone();
    for g in &grads[3..] {
        step_sparse(&mut opt, &mut w, g);
        step_sparse(&mut resumed, &mut w2, g);
    }
    assert_eq!(w, w2);
}

#[test]
fn optimizers_without_a_sparse_update_refuse_and_change_nothing() {
    let grad = RowSparse::new(ROWS, vec![2], Array2::from_elem((1, DIM), 1.0)).unwrap();
    let start = table(&mut ChaCha8Rng::seed_from_u64(0));
    let cases: Vec<(&str, Box<dyn Optimizer<f64>>)> = vec![
        ("lars", Box::new(Lars::new(0.1, 1e-4).unwrap())),
        (
            "sgd_momentum",
            Box::new(Sgd::new(0.1).unwrap().momentum(0.9).unwrap()),
        ),
    ];
    for (label, mut opt) in cases {
        let mut w = start.clone();
        let mut b = ArrayD::from_elem(IxDyn(&[2]), 1.0);
        let gb = ArrayD::from_elem(IxDyn(&[2]), 1.0);
        let err = opt
            .step_with_sparse(
                &mut [ParamRef {
                    name: "bias",
                    kind: ParamKind::Bias,
                    value: &mut b,
                    grad: &gb,
                }],
                &mut [SparseParamRef {
                    name: "emb.weight",
                    kind: ParamKind::Weight,
                    value: &mut w,
                    grad: &grad,
                }],
            )
            .unwrap_err();
        assert!(
            matches!(&err, Error::SparseGradient { name, .. } if name == "emb.weight"),
            "{label}: {err}"
        );
        assert_eq!(w, start, "{label}");
        assert_eq!(b, ArrayD::from_elem(IxDyn(&[2]), 1.0), "{label}");
    }
    // A gradient of another table's shape is refused before anything moves.
    let wrong = RowSparse::new(ROWS + 1, vec![0], Array2::from_elem((1, DIM), 1.0)).unwrap();
    let mut w = start.clone();
    let mut opt = Adam::new(0.1).unwrap();
    let err = opt
        .step_with_sparse(
            &mut [],
            &mut [SparseParamRef {
                name: "emb.weight",
                kind: ParamKind::Weight,
                value: &mut w,
                grad: &wrong,
            }],
        )
        .unwrap_err();
    assert!(matches!(err, Error::GradientShape { .. }), "{err}");
    assert_eq!((w, opt.steps_taken()), (start, 0));
}
