//! The `autodiff` feature: each loss as one graph node. The node's value is the loss, and
//! backward through it (scaled by whatever follows) gives the analytic gradient.

use contrast_autodiff::{Graph, Var};
use contrast_losses::autodiff::*;
use contrast_losses::*;
use ndarray::{Array2, ArrayD, IxDyn};

fn batch(rows: usize, cols: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |(i, j)| {
        ((i * 5 + j * 3) as f64 * 0.61).cos() + 0.05 * i as f64
    })
}

/// Runs `3 * node` backward and checks the node's value and 3x each analytic gradient.
fn check(
    name: &str,
    inputs: &[&Array2<f64>],
    loss: f64,
    grads: &[&Array2<f64>],
    node: impl FnOnce(&mut Graph<f64>, &[Var]) -> Var,
) {
    let mut g = Graph::new();
    let vars: Vec<Var> = inputs
        .iter()
        .map(|x| g.param((*x).clone().into_dyn()))
        .collect();
    let out = node(&mut g, &vars);
    assert_eq!(
        g.value(out).iter().copied().collect::<Vec<_>>(),
        vec![loss],
        "{name}"
    );
    let scaled = g.mul_scalar(out, 3.0).unwrap();
    g.backward(scaled).unwrap();
    for (v, want) in vars.iter().zip(grads) {
        let got = g.grad(*v).unwrap();
        let want = want.mapv(|x| 3.0 * x).into_dyn();
        assert!(
            got.iter()
                .zip(want.iter())
                .all(|(a, b)| (a - b).abs() <= 1e-12 * b.abs().max(1.0)),
            "{name}"
        );
    }
}

#[test]
fn every_single_input_loss_as_a_node() {
    let z = batch(8, 4);
    let y = [0, 1, 0, 2, 1, 0, 2, 1];
    let sm = SoftmaxConfig::new(0.3);
    let o = nt_xent(z.view(), &NtXentConfig::new(0.3)).unwrap();
    check("nt_xent", &[&z], o.loss, &[&o.grad], |g, v| {
        nt_xent_op(g, v[0], &NtXentConfig::new(0.3)).unwrap()
    });
    let o = supcon(z.view(), &y, &SupConConfig::new(0.3)).unwrap();
    check("supcon", &[&z], o.loss, &[&o.grad], |g, v| {
        supcon_op(g, v[0], &y, &SupConConfig::new(0.3)).unwrap()
    });
    let o = nt_xent_pairs(z.view(), &y, &sm).unwrap();
    check("pairs", &[&z], o.loss, &[&o.grad], |g, v| {
        nt_xent_pairs_op(g, v[0], &y, &sm).unwrap()
    });
    let o = positives_in_log(z.view(), &y, &sm).unwrap();
    check("in_log", &[&z], o.loss, &[&o.grad], |g, v| {
        positives_in_log_op(g, v[0], &y, &sm).unwrap()
    });
    let tc = LabelTripletConfig {
        margin: 0.5,
        ..Default::default()
    };
    let o = triplet_margin_labels(z.view(), &y, &tc).unwrap();
    check("triplet_labels", &[&z], o.loss, &[&o.grad], |g, v| {
        triplet_margin_labels_op(g, v[0], &y, &tc).unwrap()
    });
    let cc = ContrastiveMarginConfig::default();
    let o = contrastive_margin(z.view(), &y, &cc).unwrap();
    check("contrastive", &[&z], o.loss, &[&o.grad], |g, v| {
        contrastive_margin_op(g, v[0], &y, &cc).unwrap()
    });
    let dc = DclConfig {
        weight: DclWeight::VonMisesFisher {
            sigma: 0.5,
            detach: false,
        },
        ..Default::default()
    };
    let o = dcl(z.view(), &dc).unwrap();
    check("dcl", &[&z], o.loss, &[&o.grad], |g, v| {
        dcl_op(g, v[0], &dc).unwrap()
    });
    let o = debiased(z.view(), &DebiasedConfig::default()).unwrap();
    check("debiased", &[&z], o.loss, &[&o.grad], |g, v| {
        debiased_op(g, v[0], &DebiasedConfig::default()).unwrap()
    });
    let o = hcl(z.view(), &HclConfig::default()).unwrap();
    check("hcl", &[&z], o.loss, &[&o.grad], |g, v| {
        hcl_op(g, v[0], &HclConfig::default()).unwrap()
    });
    let o = uniformity(z.view(), &UniformityConfig::default()).unwrap();
    check("uniformity", &[&z], o.loss, &[&o.grad], |g, v| {
        uniformity_op(g, v[0], &UniformityConfig::default()).unwrap()
    });
}

#[test]
fn multi_input_losses_as_nodes() {
    let (x, y, n) = (
        batch(4, 3),
        batch(5, 3).slice_move(ndarray::s![1.., ..]),
        batch(6, 3),
    );
    let o = alignment(x.view(), y.view(), &AlignmentConfig::default()).unwrap();
    check(
        "alignment",
        &[&x, &y],
        o.loss,
        &[&o.grad_x, &o.grad_y],
        |g, v| alignment_op(g, v[0], v[1], &AlignmentConfig::default()).unwrap(),
    );
    let cfg = InfoNceConfig::new(0.2).in_batch(true);
    let o = info_nce(x.view(), y.view(), Some(n.view()), &cfg).unwrap();
    let dn = o.grad_negatives.clone().unwrap();
    check(
        "info_nce",
        &[&x, &y, &n],
        o.loss,
        &[&o.grad_query, &o.grad_key, &dn],
        |g, v| info_nce_op(g, v[0], v[1], Some(v[2]), &cfg).unwrap(),
    );
    let vc = VicRegConfig::default();
    let o = vicreg(x.view(), y.view(), &vc).unwrap();
    check(
        "vicreg",
        &[&x, &y],
        o.loss,
        &[&o.grad_x, &o.grad_y],
        |g, v| vicreg_op(g, v[0], v[1], &vc).unwrap(),
    );
    let bc = BarlowTwinsConfig::default();
    let o = barlow_twins(x.view(), y.view(), &bc).unwrap();
    check(
        "barlow_twins",
        &[&x, &y],
        o.loss,
        &[&o.grad_x, &o.grad_y],
        |g, v| barlow_twins_op(g, v[0], v[1], &bc).unwrap(),
    );
    let tc = TripletConfig::default();
    let o = triplet_margin(x.view(), y.view(), n.slice(ndarray::s![..4, ..]), &tc).unwrap();
    let n4 = n.slice(ndarray::s![..4, ..]).to_owned();
    check(
        "triplet",
        &[&x, &y, &n4],
        o.loss,
        &[&o.grad_anchor, &o.grad_positive, &o.grad_negative],
        |g, v| triplet_margin_op(g, v[0], v[1], v[2], &tc).unwrap(),
    );
}

/// With no reduction the node is the per-triplet vector; a weighted sum downstream weights
/// each triplet's rows.
#[test]
fn unreduced_triplet_node_scales_rows_by_their_upstream_gradient() {
    let (a, p, n) = (
        batch(4, 3),
        batch(5, 3).slice_move(ndarray::s![1.., ..]),
        batch(4, 3).mapv(|x| -x),
    );
    let cfg = TripletConfig {
        margin: 2.0,
        reduction: Reduction::None,
        ..Default::default()
    };
    let o = triplet_margin(a.view(), p.view(), n.view(), &cfg).unwrap();
    let mut g = Graph::new();
    let va = g.param(a.clone().into_dyn());
    let vp = g.param(p.clone().into_dyn());
    let vn = g.param(n.clone().into_dyn());
    let node = triplet_margin_op(&mut g, va, vp, vn, &cfg).unwrap();
    assert_eq!(g.value(node).shape(), &[4]);
    let w = g.input(ArrayD::from_shape_vec(IxDyn(&[4]), vec![1.0, -2.0, 0.5, 3.0]).unwrap());
    let weighted = g.mul(node, w).unwrap();
    let total = g.sum_all(weighted).unwrap();
    g.backward(total).unwrap();
    let got = g.grad(va).unwrap();
    for (i, wi) in [1.0, -2.0, 0.5, 3.0].into_iter().enumerate() {
        for j in 0..3 {
            assert!((got[[i, j]] - wi * o.grad_anchor[[i, j]]).abs() < 1e-12);
        }
    }
}

#[test]
fn a_non_matrix_node_is_a_shape_error() {
    let mut g = Graph::<f64>::new();
    let v = g.param(ArrayD::zeros(IxDyn(&[2, 2, 2])));
    assert!(matches!(
        nt_xent_op(&mut g, v, &NtXentConfig::default()),
        Err(Error::Shape { .. })
    ));
    let ok = g.param(batch(3, 2).into_dyn());
    assert!(matches!(
        nt_xent_op(&mut g, ok, &NtXentConfig::default()),
        Err(Error::OddRows { rows: 3, .. })
    ));
}

/// SigLIP's node takes the log-scale and bias as one-element nodes (shape `[]` or `[1]`)
/// and gives their gradients back in that shape, scaled by the upstream gradient.
#[test]
fn siglip_node_learns_scale_and_bias() {
    let (x, y) = (batch(4, 3), batch(5, 3).slice_move(ndarray::s![1.., ..]));
    let cfg = SigLipConfig::default();
    let (t, b) = (SIGLIP_INIT_LOG_SCALE, SIGLIP_INIT_BIAS);
    let o = siglip(x.view(), y.view(), t, b, &cfg).unwrap();
    for shape in [vec![], vec![1]] {
        let mut g = Graph::new();
        let (vx, vy) = (g.param(x.clone().into_dyn()), g.param(y.clone().into_dyn()));
        let vt = g.param(ArrayD::from_elem(IxDyn(&shape), t));
        let vb = g.param(ArrayD::from_elem(IxDyn(&shape), b));
        let node = siglip_op(&mut g, vx, vy, vt, vb, &cfg).unwrap();
        assert_eq!(
            g.value(node).iter().copied().collect::<Vec<_>>(),
            vec![o.loss]
        );
        let scaled = g.mul_scalar(node, 3.0).unwrap();
        g.backward(scaled).unwrap();
        let (dt, db) = (g.grad(vt).unwrap(), g.grad(vb).unwrap());
        assert_eq!(dt.shape(), shape.as_slice());
        assert!((dt.iter().next().unwrap() - 3.0 * o.grad_log_scale).abs() < 1e-12);
        assert!((db.iter().next().unwrap() - 3.0 * o.grad_bias).abs() < 1e-12);
        let dx = g.grad(vx).unwrap();
        assert!(
            dx.iter()
                .zip(&o.grad_x)
                .all(|(a, b)| (a - 3.0 * b).abs() < 1e-12)
        );
    }
    let mut g = Graph::new();
    let (vx, vy) = (g.param(x.into_dyn()), g.param(y.into_dyn()));
    let two = g.param(ArrayD::zeros(IxDyn(&[2])));
    let vb = g.param(ArrayD::zeros(IxDyn(&[])));
    assert!(matches!(
        siglip_op(&mut g, vx, vy, two, vb, &cfg),
        Err(Error::Shape {
            what: "siglip log_scale",
            ..
        })
    ));
}

#[test]
fn masked_nodes_and_log_scale_nodes() {
    let z = batch(8, 3);
    let ids = [1u64, 2, 1, 3];
    let mask = NegativeMask::SameInstance(&ids);
    let cfg = NtXentConfig::new(0.3);
    let o = nt_xent_masked(z.view(), &mask, &cfg).unwrap();
    check("nt_xent masked", &[&z], o.loss, &[&o.grad], |g, v| {
        nt_xent_masked_op(g, v[0], &mask, &cfg).unwrap()
    });
    let dc = DclConfig::default();
    let o = dcl_masked(z.view(), &mask, &dc).unwrap();
    check("dcl masked", &[&z], o.loss, &[&o.grad], |g, v| {
        dcl_masked_op(g, v[0], &mask, &dc).unwrap()
    });
    // The log-scale node at t = -ln 0.3 is the node at T = 0.3, and dL/dt = -T dL/dT.
    let o = nt_xent_masked(z.view(), &mask, &cfg).unwrap();
    let mut g = Graph::new();
    let v = g.param(z.clone().into_dyn());
    let t = g.param(ndarray::arr0(-(0.3f64.ln())).into_dyn());
    let node = nt_xent_log_scale_op(&mut g, v, t, &mask, &NtXentConfig::new(9.0)).unwrap();
    let value = g.backward(node).unwrap();
    assert!((value - o.loss).abs() < 1e-12);
    let dt = g.grad(t).unwrap()[[]];
    assert!((dt + 0.3 * o.grad_temperature).abs() < 1e-12, "{dt}");
    for bad in [f64::NAN, f64::INFINITY] {
        let tb = g.param(ndarray::arr0(bad).into_dyn());
        assert!(matches!(
            nt_xent_log_scale_op(&mut g, v, tb, &mask, &cfg),
            Err(Error::Parameter {
                name: "log_scale",
                ..
            })
        ));
        assert!(matches!(
            info_nce_log_scale_op(
                &mut g,
                v,
                v,
                None,
                tb,
                &InfoNceConfig::default().in_batch(true)
            ),
            Err(Error::Parameter {
                name: "log_scale",
                ..
            })
        ));
    }
    // exp(-t) underflows to 0: not a usable temperature.
    let tiny = g.param(ndarray::arr0(800.0).into_dyn());
    assert!(matches!(
        nt_xent_log_scale_op(&mut g, v, tiny, &mask, &cfg),
        Err(Error::Temperature(_))
    ));
    assert_eq!(clamp_log_scale(7.0f64, CLIP_MAX_LOGIT_SCALE), 100f64.ln());
    assert_eq!(clamp_log_scale(-1.0f64, CLIP_MAX_LOGIT_SCALE), 0.0);
    assert_eq!(clamp_log_scale(2.5f32, CLIP_MAX_LOGIT_SCALE), 2.5);
}
