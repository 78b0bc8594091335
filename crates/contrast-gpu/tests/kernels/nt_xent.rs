use contrast_gpu::{
    GpuMatrix, NORM_EPS, l2_normalize_rows, nt_xent, nt_xent_forward, nt_xent_reference,
};
use ndarray::{Array2, Axis};
use proptest::prelude::*;

use crate::support::{assert_close, gpu, random, rng};

/// The fused loss and gradient against the dense f64 reference.
fn check_nt_xent(rows: usize, dim: usize, temperature: f32, seed: u64) {
    let Some(ctx) = gpu() else { return };
    let mut rng = rng(seed);
    let z = random(&mut rng, rows, dim);
    let (loss, dz) = nt_xent(ctx, &GpuMatrix::upload(ctx, z.view()).unwrap(), temperature).unwrap();
    let (want_loss, want_dz) =
        nt_xent_reference(z.mapv(f64::from).view(), f64::from(temperature)).unwrap();
    let loss_err = (f64::from(loss) - want_loss).abs() / want_loss.abs().max(1.0);
    assert!(
        loss_err <= 1e-4,
        "loss {loss} vs {want_loss} (rows {rows}, dim {dim}, T {temperature})"
    );
    assert!(dz.download(ctx).unwrap().iter().all(|x| x.is_finite()));
    assert_close(
        &format!("dz rows={rows} dim={dim} T={temperature}"),
        dz.download(ctx).unwrap().view(),
        want_dz.mapv(|x| x as f32).view(),
    );
}

#[test]
fn fixed_shapes() {
    // 2N = 2 (only the positive in each denominator), tiles of 64 exactly and one
    // past, D below, at and across the 64-wide output chunks of the backward kernel.
    for (i, &(rows, dim, t)) in [
        (2, 1, 0.5),
        (2, 5, 0.1),
        (6, 3, 0.2),
        (64, 16, 0.1),
        (66, 33, 0.07),
        (130, 64, 0.5),
        (256, 128, 0.1),
        (200, 70, 0.05),
    ]
    .iter()
    .enumerate()
    {
        check_nt_xent(rows, dim, t, 200 + i as u64);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10))]
    #[test]
    fn random_shapes(half in 1usize..100, dim in 2usize..100, t in 0.05f32..1.0, seed in 0u64..1000) {
        check_nt_xent(2 * half, dim, t, seed);
    }
}

#[test]
fn one_dimensional_rows_have_zero_gradient() {
    // With D = 1 every normalised row is +-1: the sphere has no tangent directions, so
    // dz is 0 in exact arithmetic and only rounding noise of dzn (|dzn| <= 2/T) remains.
    // (A relative comparison against the reference would compare noise with noise.)
    let Some(ctx) = gpu() else { return };
    let t = 0.1f32;
    let z = Array2::from_shape_fn((40, 1), |(i, _)| {
        if i % 3 == 0 {
            -0.5 - i as f32 / 80.0
        } else {
            0.5 + i as f32 / 80.0
        }
    });
    let (loss, dz) = nt_xent(ctx, &GpuMatrix::upload(ctx, z.view()).unwrap(), t).unwrap();
    let (want, _) = nt_xent_reference(z.mapv(f64::from).view(), f64::from(t)).unwrap();
    assert!(
        (f64::from(loss) - want).abs() / want.abs().max(1.0) <= 1e-4,
        "{loss} vs {want}"
    );
    let worst = dz
        .download(ctx)
        .unwrap()
        .iter()
        .fold(0.0f32, |m, x| m.max(x.abs()));
    assert!(worst <= 1e-5 / t, "max |dz| = {worst}");
}

#[test]
fn low_temperature_and_large_norms_stay_finite() {
    // T = 0.01 puts logits at +-100: the streaming max keeps exp in range.
    let Some(ctx) = gpu() else { return };
    let mut rng = rng(5);
    let mut z = random(&mut rng, 96, 24);
    z.mapv_inplace(|x| x * 1e4);
    let (loss, dz) = nt_xent(ctx, &GpuMatrix::upload(ctx, z.view()).unwrap(), 0.01).unwrap();
    let (want, want_dz) = nt_xent_reference(z.mapv(f64::from).view(), 0.01).unwrap();
    assert!(loss.is_finite());
    assert!(
        (f64::from(loss) - want).abs() / want.abs().max(1.0) <= 1e-4,
        "{loss} vs {want}"
    );
    assert_close(
        "dz at T=0.01",
        dz.download(ctx).unwrap().view(),
        want_dz.mapv(|x| x as f32).view(),
    );
}

#[test]
fn forward_keeps_the_log_sum_exp_per_row() {
    let Some(ctx) = gpu() else { return };
    let mut rng = rng(9);
    let z = random(&mut rng, 70, 12);
    let zn = l2_normalize_rows(ctx, &GpuMatrix::upload(ctx, z.view()).unwrap(), NORM_EPS).unwrap();
    let fwd = nt_xent_forward(ctx, &zn.rows, 0.2).unwrap();
    let zn_host = zn.rows.download(ctx).unwrap().mapv(f64::from);
    let s = zn_host.dot(&zn_host.t()) / 0.2;
    let want = Array2::from_shape_fn((70, 1), |(i, _)| {
        let m = s
            .row(i)
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, &v)| v)
            .fold(f64::MIN, f64::max);
        let sum: f64 = s
            .row(i)
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, &v)| (v - m).exp())
            .sum();
        (m + sum.ln()) as f32
    });
    assert_close("lse", fwd.lse.download(ctx).unwrap().view(), want.view());
    let loss = fwd.loss(ctx).unwrap();
    let rows = fwd.row_loss.download(ctx).unwrap();
    let mean = rows.mean_axis(Axis(0)).unwrap()[0];
    assert!((loss - mean).abs() <= 1e-5 * mean.abs().max(1.0));
}
