//! SigLIP, VICReg and Barlow Twins far from the unit sphere: logits of 1e10, rows of norm
//! 1e4, constant columns. Every loss and gradient is finite in f32 and f64, f32 follows
//! f64, and the exact limits and invariances hold.

mod batches;

use batches::extreme_batch;
use contrast_losses::*;
use ndarray::{Array2, s};

fn max_rel(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / x.abs().max(y.abs()).max(1.0))
        .fold(0.0, f64::max)
}

fn finite(m: &Array2<f64>) -> bool {
    m.iter().all(|x| x.is_finite())
}

/// Unnormalised rows of norm 1e3 to 4e3 with scale 100: logits up to 1e9, every sigmoid saturated.
/// The loss is then `(1/n) sum_ij max(0, -z_ij l_ij)` up to exp(-huge), and `n dL/db`
/// counts the wrongly signed pairs: an integer, negated for positives.
#[test]
fn siglip_far_logits_saturate_without_nan() {
    let z = Array2::from_shape_fn((8, 3), |(i, j)| {
        ((i * 31 + j * 17) as f64 * 0.731).sin() * 1e3 * (1 + i % 4) as f64
    });
    let (x, y) = (z.slice(s![..4, ..]), z.slice(s![4.., ..]));
    let (t, b) = (100f64.ln(), -10.0);
    let cfg = SigLipConfig { normalize: false };
    let out = siglip(x, y, t, b, &cfg).unwrap();
    assert!(out.loss.is_finite() && finite(&out.grad_x) && finite(&out.grad_y));
    let n = 4.0;
    let mut hinge = 0.0;
    let mut wrong = 0.0;
    for i in 0..4 {
        for j in 0..4 {
            let l = 100.0 * x.row(i).dot(&y.row(j)) + b;
            let zl = if i == j { l } else { -l };
            assert!(zl.abs() > 50.0, "the case is saturated: {zl}");
            hinge += (-zl).max(0.0);
            if zl < 0.0 {
                wrong += if i == j { -1.0 } else { 1.0 };
            }
        }
    }
    assert!((out.loss - hinge / n).abs() <= 1e-12 * out.loss.abs().max(1.0));
    assert!(
        (out.grad_bias * n - wrong).abs() < 1e-12,
        "{} vs {wrong}",
        out.grad_bias * n
    );
    let (x32, y32) = (x.mapv(|v| v as f32), y.mapv(|v| v as f32));
    let o32 = siglip(x32.view(), y32.view(), t as f32, b as f32, &cfg).unwrap();
    assert!((f64::from(o32.loss) - out.loss).abs() <= 1e-5 * out.loss.abs());
    assert!(o32.grad_x.iter().all(|g| g.is_finite()));
    assert!(max_rel(&o32.grad_x.mapv(f64::from), &out.grad_x) < 1e-4);
}

/// Normalised rows: scaling every row by 1e4 changes nothing, and the gradient shrinks
/// by 1e4 (the normalisation's backward divides by the norm).
#[test]
fn siglip_normalised_rows_ignore_their_norm() {
    let z = extreme_batch(5, 4).mapv(|v| v * 1e-4);
    let (x, y) = (z.slice(s![..5, ..]), z.slice(s![5.., ..]));
    let cfg = SigLipConfig::default();
    let small = siglip(x, y, 100f64.ln(), -10.0, &cfg).unwrap();
    let (xb, yb) = (x.mapv(|v| v * 1e4), y.mapv(|v| v * 1e4));
    let big = siglip(xb.view(), yb.view(), 100f64.ln(), -10.0, &cfg).unwrap();
    assert!((small.loss - big.loss).abs() <= 1e-12 * small.loss);
    assert!(max_rel(&(big.grad_x * 1e4), &small.grad_x) < 1e-9);
    assert!((small.grad_log_scale - big.grad_log_scale).abs() < 1e-12);
}

/// VICReg on rows of norm up to 1e4 (covariances of 1e8, squared 1e16): finite, and f32
/// within 1e-4 of f64 relative to the largest entry.
#[test]
fn vicreg_large_norms_stay_finite() {
    let z = extreme_batch(6, 5);
    let (a, b) = (z.slice(s![..6, ..]), z.slice(s![6.., ..]));
    let out = vicreg(a, b, &VicRegConfig::default()).unwrap();
    assert!(out.loss.is_finite() && out.loss > 1e8, "{}", out.loss);
    assert!(finite(&out.grad_x) && finite(&out.grad_y));
    let (a32, b32) = (a.mapv(|v| v as f32), b.mapv(|v| v as f32));
    let o32 = vicreg(a32.view(), b32.view(), &VicRegConfig::default()).unwrap();
    assert!((f64::from(o32.loss) - out.loss).abs() <= 1e-5 * out.loss);
    let scale = out.grad_x.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    let err = o32
        .grad_x
        .iter()
        .zip(&out.grad_x)
        .fold(0.0f64, |m, (a, b)| m.max((f64::from(*a) - b).abs()));
    assert!(err <= 1e-4 * scale, "{err} vs {scale}");
}

/// Barlow Twins normalises every column by its batch statistics: scaling the inputs by
/// 1e4 (or 1e-2) leaves the loss (once eps is negligible) and scales the gradient by the
/// inverse; in f32 too.
#[test]
fn barlow_twins_is_scale_free_at_large_norms() {
    let z = extreme_batch(6, 3);
    let (a, b) = (z.slice(s![..6, ..]), z.slice(s![6.., ..]));
    let cfg = BarlowTwinsConfig::default();
    let base = barlow_twins(a, b, &cfg).unwrap();
    for c in [1e4, 1e2] {
        let (ac, bc) = (a.mapv(|v| v * c), b.mapv(|v| v * c));
        let out = barlow_twins(ac.view(), bc.view(), &cfg).unwrap();
        assert!((out.loss - base.loss).abs() <= 1e-9 * base.loss, "c = {c}");
        assert!(max_rel(&(out.grad_x * c), &base.grad_x) < 1e-6, "c = {c}");
        let (a32, b32) = (ac.mapv(|v| v as f32), bc.mapv(|v| v as f32));
        let o32 = barlow_twins(a32.view(), b32.view(), &cfg).unwrap();
        assert!((f64::from(o32.loss) - base.loss).abs() <= 1e-4 * base.loss);
        assert!(o32.grad_x.iter().all(|g| g.is_finite()));
    }
}

/// A column that is constant over the batch (zero variance, a collapsed dimension): eps
/// keeps both losses and their gradients finite, and VICReg's variance hinge is fully
/// active on it (it pushes the spread up).
#[test]
fn a_collapsed_dimension_is_finite() {
    let mut a = extreme_batch(3, 3).mapv(|v| v * 1e-3);
    a.column_mut(1).fill(0.7);
    let b = a.mapv(|v| v * 0.5 + 0.1);
    let v = vicreg(a.view(), b.view(), &VicRegConfig::default()).unwrap();
    assert!(v.loss.is_finite() && finite(&v.grad_x) && finite(&v.grad_y));
    // sqrt(eps) = 0.01: the hinge gives at least mu * (1 - 0.01) / D / 2 per view.
    assert!(v.loss >= 25.0 * 0.99 / 3.0, "{}", v.loss);
    let bt = barlow_twins(a.view(), b.view(), &BarlowTwinsConfig::default()).unwrap();
    assert!(bt.loss.is_finite() && finite(&bt.grad_x) && finite(&bt.grad_y));
    // The collapsed column correlates with nothing: c_11 = 0, a diagonal miss of 1.
    assert!(bt.loss >= 1.0, "{}", bt.loss);
}
