//! The debiased and hard-negative losses on unnormalised rows whose logits lie far below
//! `-1/T` (finding F6 of fuzz/README.md): the floor `M exp(-1/T)` dominates, and the loss,
//! evaluated in log space, is finite and equal to the formula of `debiased.rs` computed
//! directly in f64; the analytic gradient matches central differences.

use contrast_autodiff::gradcheck::strategies::{assert_gradient, two_view};
use contrast_losses::*;
use ndarray::{Array2, array};
use proptest::prelude::*;

/// The debiased / hard-negative loss straight from its definition, no shift (f64, for
/// logits within +-700), unnormalised rows.
fn reference(z: &Array2<f64>, t: f64, tau: f64, beta: f64) -> f64 {
    let n2 = z.nrows();
    let m = (n2 - 2) as f64;
    let total: f64 = (0..n2)
        .map(|i| {
            let p = (i + n2 / 2) % n2;
            let s = |j: usize| z.row(i).dot(&z.row(j)) / t;
            let negs: Vec<usize> = (0..n2).filter(|&j| j != i && j != p).collect();
            let w: f64 = negs.iter().map(|&k| (beta * s(k)).exp()).sum();
            let r = m * negs
                .iter()
                .map(|&k| (beta * s(k)).exp() / w * s(k).exp())
                .sum::<f64>();
            let pos = s(p).exp();
            let ng = ((r - tau * m * pos) / (1.0 - tau)).max(m * (-1.0 / t).exp());
            -(pos / (pos + ng)).ln()
        })
        .sum();
    total / n2 as f64
}

/// Relative difference, `|a - b| / max(1, |b|)`.
fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1.0)
}

#[test]
fn far_negatives_give_the_direct_formula_in_f32_and_f64() {
    let batches = [
        // The fuzzer's case: anchor 1 sees only logits of -240, exp(235) in f32 before.
        array![[8.0], [-6.0], [8.0], [8.0]],
        array![
            [7.6, 0.5],
            [-6.3, 1.0],
            [7.0, -0.2],
            [6.9, 0.4],
            [-0.5, 6.0],
            [0.2, -5.5]
        ],
    ];
    let (t, tau) = (0.2, 0.1);
    for z in &batches {
        let z32 = z.mapv(|x| x as f32);
        for beta in [0.0, 0.5, 1.0] {
            let config = HclConfig {
                temperature: t,
                tau_plus: tau,
                beta,
                normalize: false,
            };
            let expected = reference(z, t, tau, beta);
            let out64 = hcl(z.view(), &config).unwrap();
            let out32 = hcl(z32.view(), &config).unwrap();
            assert!(expected > 10.0, "the case is far from trivial: {expected}");
            assert!(
                rel(out64.loss, expected) < 1e-12,
                "{} vs {expected}",
                out64.loss
            );
            assert!(
                rel(f64::from(out32.loss), expected) < 1e-5,
                "f32 {} vs {expected}",
                out32.loss
            );
            for (g32, g64) in out32.grad.iter().zip(&out64.grad) {
                assert!(g32.is_finite(), "{}", out32.grad);
                assert!(rel(f64::from(*g32), *g64) < 1e-4, "{g32} vs {g64}");
            }
            if beta == 0.0 {
                let debiased_config = DebiasedConfig {
                    temperature: t,
                    tau_plus: tau,
                    normalize: false,
                };
                let out = debiased(z32.view(), &debiased_config).unwrap();
                assert_eq!(out.loss, out32.loss);
            }
        }
    }
}

#[test]
fn far_negatives_gradient_in_f64() {
    // Anchor 1 sees logits of about -1500 in f64: the floor M exp(-1/T - m) would be
    // exp(1400) without the shift by -1/T.
    let z: Array2<f64> = array![[20.0, 1.0], [-15.0, 2.0], [19.0, -1.0], [21.0, 0.5]];
    let (t, tau) = (0.2, 0.1);
    let config = HclConfig {
        temperature: t,
        tau_plus: tau,
        beta: 1.0,
        normalize: false,
    };
    let out = hcl(z.view(), &config).unwrap();
    assert!(out.loss.is_finite() && out.loss > 100.0, "{}", out.loss);
    assert_gradient("hcl far", &z, &out.grad, |v| hcl(v, &config).unwrap().loss);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Unnormalised rows, where the floor is active for some anchors.
    #[test]
    fn unnormalised_gradient(z in two_view(), t in 0.2f64..1.0, tau_plus in 0.0f64..0.3, beta in 0.0f64..2.0) {
        let cfg = HclConfig { temperature: t, tau_plus, beta, normalize: false };
        let out = hcl(z.view(), &cfg).unwrap();
        prop_assert!(rel(out.loss, reference(&z, t, tau_plus, beta)) < 1e-10);
        assert_gradient("hcl unnormalised", &z, &out.grad, |v| hcl(v, &cfg).unwrap().loss);
    }
}
