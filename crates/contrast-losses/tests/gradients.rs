//! Every loss, every gradient input: the analytic gradient against central finite
//! differences (f64, relative error <= 1e-6), over random shapes, values and temperatures.

use contrast_autodiff::gradcheck::strategies::{
    assert_gradient, assert_scalar_gradient, embeddings, labelled, two_view, two_view_masked,
    view_pair,
};
use contrast_linalg::{l2_normalize_rows, pairwise_distances};
use contrast_losses::*;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(24)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn nt_xent_dense_and_tiled(z in two_view(), t in 0.2f64..1.0, normalize: bool, tiled: bool) {
        let evaluation = if tiled { Evaluation::Tiled(TileSize { rows: 3, cols: 2 }) } else { Evaluation::Dense };
        let cfg = NtXentConfig::new(t).normalize(normalize).evaluation(evaluation);
        let out = nt_xent(z.view(), &cfg).unwrap();
        assert_gradient("nt_xent", &z, &out.grad, |v| nt_xent(v, &cfg).unwrap().loss);
    }

    #[test]
    fn nt_xent_temperature(z in two_view(), t in 0.2f64..1.0, normalize: bool, tiled: bool) {
        let evaluation = if tiled { Evaluation::Tiled(TileSize { rows: 3, cols: 2 }) } else { Evaluation::Dense };
        let cfg = |t| NtXentConfig::new(t).normalize(normalize).evaluation(evaluation);
        let out = nt_xent_masked(z.view(), &NegativeMask::All, &cfg(t)).unwrap();
        assert_scalar_gradient("nt_xent T", t, out.grad_temperature, |t| nt_xent(z.view(), &cfg(t)).unwrap().loss);
    }

    #[test]
    fn nt_xent_and_dcl_masked((z, keep) in two_view_masked(), t in 0.2f64..1.0, normalize: bool) {
        let mask = NegativeMask::Keep(keep.view());
        let cfg = |t| NtXentConfig::new(t).normalize(normalize);
        let out = nt_xent_masked(z.view(), &mask, &cfg(t)).unwrap();
        assert_gradient("nt_xent masked", &z, &out.grad, |v| nt_xent_masked(v, &mask, &cfg(t)).unwrap().loss);
        assert_scalar_gradient("nt_xent masked T", t, out.grad_temperature, |t| nt_xent_masked(z.view(), &mask, &cfg(t)).unwrap().loss);
        let dcfg = DclConfig { temperature: t, normalize, ..DclConfig::default() };
        let out = dcl_masked(z.view(), &mask, &dcfg).unwrap();
        assert_gradient("dcl masked", &z, &out.grad, |v| dcl_masked(v, &mask, &dcfg).unwrap().loss);
    }

    #[test]
    fn info_nce_all_inputs(
        (q, k, neg) in (1usize..5, 0usize..5, 2usize..5).prop_flat_map(|(b, kq, d)| (embeddings(b, d), embeddings(b, d), embeddings(kq, d))),
        t in 0.2f64..1.0, normalize: bool, in_batch: bool, tiled: bool,
    ) {
        prop_assume!(neg.nrows() > 0 || (in_batch && q.nrows() > 1));
        let evaluation = if tiled { Evaluation::Tiled(TileSize { rows: 2, cols: 3 }) } else { Evaluation::Dense };
        let cfg = InfoNceConfig::new(t).normalize(normalize).in_batch(in_batch).evaluation(evaluation);
        let negs = (neg.nrows() > 0).then(|| neg.view());
        let out = info_nce(q.view(), k.view(), negs, &cfg).unwrap();
        assert_gradient("info_nce q", &q, &out.grad_query, |v| info_nce(v, k.view(), negs, &cfg).unwrap().loss);
        assert_gradient("info_nce k", &k, &out.grad_key, |v| info_nce(q.view(), v, negs, &cfg).unwrap().loss);
        if let Some(dn) = &out.grad_negatives {
            assert_gradient("info_nce negatives", &neg, dn, |v| info_nce(q.view(), k.view(), Some(v), &cfg).unwrap().loss);
        }
        let at = |t| InfoNceConfig { temperature: t, ..cfg };
        assert_scalar_gradient("info_nce T", t, out.grad_temperature, |t| info_nce(q.view(), k.view(), negs, &at(t)).unwrap().loss);
    }

    #[test]
    fn supcon_both_averages((z, y) in labelled(), t in 0.2f64..1.0, all: bool, normalize: bool) {
        let cfg = SupConConfig::new(t).average_all_anchors(all).normalize(normalize);
        let out = supcon(z.view(), &y, &cfg).unwrap();
        assert_gradient("supcon", &z, &out.grad, |v| supcon(v, &y, &cfg).unwrap().loss);
    }

    #[test]
    fn nt_xent_pairs_gradient((z, y) in labelled(), t in 0.2f64..1.0, normalize: bool) {
        let cfg = SoftmaxConfig::new(t).normalize(normalize);
        let out = nt_xent_pairs(z.view(), &y, &cfg).unwrap();
        assert_gradient("nt_xent_pairs", &z, &out.grad, |v| nt_xent_pairs(v, &y, &cfg).unwrap().loss);
    }

    #[test]
    fn positives_in_log_gradient((z, y) in labelled(), t in 0.2f64..1.0, normalize: bool) {
        // Anchors without a positive (a label seen once) are skipped.
        let cfg = SoftmaxConfig::new(t).normalize(normalize);
        let out = positives_in_log(z.view(), &y, &cfg).unwrap();
        assert_gradient("positives_in_log", &z, &out.grad, |v| positives_in_log(v, &y, &cfg).unwrap().loss);
    }

    #[test]
    fn triplet_margin_all_inputs(
        (a, p, n) in (1usize..6, 2usize..6).prop_flat_map(|(b, d)| (embeddings(b, d), embeddings(b, d), embeddings(b, d))),
        margin in 0.0f64..2.0,
        reduction in prop_oneof![Just(Reduction::Mean), Just(Reduction::Sum), Just(Reduction::None)],
    ) {
        let cfg = TripletConfig { margin, reduction, ..TripletConfig::default() };
        let out = triplet_margin(a.view(), p.view(), n.view(), &cfg).unwrap();
        // Away from the hinge, where the loss is not differentiable.
        prop_assume!((0..a.nrows()).all(|i| {
            let dp = (&a.row(i) - &p.row(i) + 1e-6).mapv(|x| x * x).sum().sqrt();
            let dn = (&a.row(i) - &n.row(i) + 1e-6).mapv(|x| x * x).sum().sqrt();
            (dp - dn + margin).abs() > 1e-3
        }));
        assert_gradient("triplet anchor", &a, &out.grad_anchor, |v| triplet_margin(v, p.view(), n.view(), &cfg).unwrap().loss);
        assert_gradient("triplet positive", &p, &out.grad_positive, |v| triplet_margin(a.view(), v, n.view(), &cfg).unwrap().loss);
        assert_gradient("triplet negative", &n, &out.grad_negative, |v| triplet_margin(a.view(), p.view(), v, &cfg).unwrap().loss);
    }

    #[test]
    fn triplet_labels_gradient((z, y) in labelled(), margin in 0.0f64..0.6, all: bool) {
        let d = pairwise_distances(l2_normalize_rows(z.view()).view());
        let n = y.len();
        let near_kink = (0..n).any(|a| (0..n).any(|p| (0..n).any(|m| {
            a != p && y[a] == y[p] && y[m] != y[a] && (d[[a, p]] - d[[a, m]] + margin).abs() < 1e-3
        })));
        prop_assume!(!near_kink);
        let mean = if all { TripletMean::All } else { TripletMean::NonZero };
        let cfg = LabelTripletConfig { margin, mean, ..LabelTripletConfig::default() };
        let out = triplet_margin_labels(z.view(), &y, &cfg).unwrap();
        assert_gradient("triplet labels", &z, &out.grad, |v| triplet_margin_labels(v, &y, &cfg).unwrap().loss);
    }

    #[test]
    fn contrastive_margin_gradient((z, y) in labelled(), pos_margin in 0.0f64..0.5, neg_margin in 0.5f64..1.5) {
        let d = pairwise_distances(l2_normalize_rows(z.view()).view());
        let n = y.len();
        let near_kink = (0..n).any(|i| (0..n).any(|j| {
            let m = if y[i] == y[j] { pos_margin } else { neg_margin };
            i != j && ((d[[i, j]] - m).abs() < 1e-3 || d[[i, j]] < 1e-3)
        }));
        prop_assume!(!near_kink);
        let cfg = ContrastiveMarginConfig { pos_margin, neg_margin, ..Default::default() };
        let out = contrastive_margin(z.view(), &y, &cfg).unwrap();
        assert_gradient("contrastive", &z, &out.grad, |v| contrastive_margin(v, &y, &cfg).unwrap().loss);
    }

    #[test]
    fn dcl_and_dclw(z in two_view(), t in 0.2f64..1.0, weighted: bool, sigma in 0.3f64..1.0) {
        let weight = if weighted { DclWeight::VonMisesFisher { sigma, detach: false } } else { DclWeight::None };
        let cfg = DclConfig { temperature: t, normalize: true, weight };
        let out = dcl(z.view(), &cfg).unwrap();
        assert_gradient("dcl", &z, &out.grad, |v| dcl(v, &cfg).unwrap().loss);
    }

    #[test]
    fn debiased_gradient(z in two_view(), t in 0.2f64..1.0, tau_plus in 0.0f64..0.3) {
        let cfg = DebiasedConfig { temperature: t, tau_plus, normalize: true };
        let out = debiased(z.view(), &cfg).unwrap();
        assert_gradient("debiased", &z, &out.grad, |v| debiased(v, &cfg).unwrap().loss);
    }

    #[test]
    fn hard_negative_gradient(z in two_view(), t in 0.2f64..1.0, tau_plus in 0.0f64..0.3, beta in 0.0f64..2.0) {
        let cfg = HclConfig { temperature: t, tau_plus, beta, normalize: true };
        let out = hcl(z.view(), &cfg).unwrap();
        assert_gradient("hcl", &z, &out.grad, |v| hcl(v, &cfg).unwrap().loss);
    }

    #[test]
    fn alignment_both_inputs(
        (x, y) in (1usize..6, 2usize..6).prop_flat_map(|(n, d)| (embeddings(n, d), embeddings(n, d))),
        alpha in prop_oneof![Just(2.0f64), 1.5f64..3.0],
        normalize: bool,
    ) {
        let cfg = AlignmentConfig { alpha, normalize };
        let out = alignment(x.view(), y.view(), &cfg).unwrap();
        assert_gradient("alignment x", &x, &out.grad_x, |v| alignment(v, y.view(), &cfg).unwrap().loss);
        assert_gradient("alignment y", &y, &out.grad_y, |v| alignment(x.view(), v, &cfg).unwrap().loss);
    }

    #[test]
    fn siglip_inputs_scale_and_bias(
        (x, y) in (1usize..6, 1usize..6).prop_flat_map(|(n, d)| (embeddings(n, d), embeddings(n, d))),
        t in -1.0f64..3.0, b in -12.0f64..4.0, normalize: bool,
    ) {
        let cfg = SigLipConfig { normalize };
        let out = siglip(x.view(), y.view(), t, b, &cfg).unwrap();
        assert_gradient("siglip x", &x, &out.grad_x, |v| siglip(v, y.view(), t, b, &cfg).unwrap().loss);
        assert_gradient("siglip y", &y, &out.grad_y, |v| siglip(x.view(), v, t, b, &cfg).unwrap().loss);
        assert_scalar_gradient("siglip t", t, out.grad_log_scale, |t| siglip(x.view(), y.view(), t, b, &cfg).unwrap().loss);
        assert_scalar_gradient("siglip b", b, out.grad_bias, |b| siglip(x.view(), y.view(), t, b, &cfg).unwrap().loss);
    }

    #[test]
    fn vicreg_both_views(
        (a, b) in view_pair(),
        lambda in 0.0f64..30.0, mu in 0.0f64..30.0, nu in 0.0f64..3.0,
    ) {
        let cfg = VicRegConfig { lambda, mu, nu, ..VicRegConfig::default() };
        // Away from the variance hinge sqrt(v_j + eps) = 1, where it is not differentiable.
        let near_hinge = |x: &ndarray::Array2<f64>| {
            let n = x.nrows() as f64;
            x.columns().into_iter().any(|c| {
                let m = c.sum() / n;
                let v = c.iter().map(|&x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
                ((v + cfg.eps).sqrt() - 1.0).abs() < 1e-3
            })
        };
        prop_assume!(!near_hinge(&a) && !near_hinge(&b));
        let out = vicreg(a.view(), b.view(), &cfg).unwrap();
        assert_gradient("vicreg a", &a, &out.grad_x, |v| vicreg(v, b.view(), &cfg).unwrap().loss);
        assert_gradient("vicreg b", &b, &out.grad_y, |v| vicreg(a.view(), v, &cfg).unwrap().loss);
    }

    #[test]
    fn barlow_twins_both_views((a, b) in view_pair(), lambda in 0.0f64..0.5) {
        let cfg = BarlowTwinsConfig { lambda, ..BarlowTwinsConfig::default() };
        let out = barlow_twins(a.view(), b.view(), &cfg).unwrap();
        assert_gradient("barlow a", &a, &out.grad_x, |v| barlow_twins(v, b.view(), &cfg).unwrap().loss);
        assert_gradient("barlow b", &b, &out.grad_y, |v| barlow_twins(a.view(), v, &cfg).unwrap().loss);
    }

    #[test]
    fn uniformity_gradient(x in (2usize..8, 2usize..6).prop_flat_map(|(n, d)| embeddings(n, d)), t in 0.5f64..3.0, normalize: bool) {
        let cfg = UniformityConfig { t, normalize };
        let out = uniformity(x.view(), &cfg).unwrap();
        assert_gradient("uniformity", &x, &out.grad, |v| uniformity(v, &cfg).unwrap().loss);
    }
}
