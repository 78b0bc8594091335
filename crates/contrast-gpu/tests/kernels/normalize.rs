use contrast_gpu::{
    GpuMatrix, NORM_EPS, cosine_similarity, cosine_similarity_reference, l2_normalize_rows,
    l2_normalize_rows_backward, l2_normalize_rows_backward_reference, l2_normalize_rows_reference,
};
use ndarray::Array2;
use proptest::prelude::*;

use crate::support::{assert_close, gpu, random, rng};

/// D >= 2: for D = 1 the exact dz is 0 and a relative comparison would compare rounding
/// noise (`nt_xent::one_dimensional_rows_have_zero_gradient` covers that case).
fn check_normalize(n: usize, d: usize, seed: u64) {
    let Some(ctx) = gpu() else { return };
    let mut rng = rng(seed);
    let mut z = random(&mut rng, n, d);
    z.row_mut(0).fill(0.0); // a zero row takes the eps branch
    if n > 1 {
        z.row_mut(1).mapv_inplace(|x| x * 1e3); // large norms
    }
    let dzn = random(&mut rng, n, d);
    let gz = GpuMatrix::upload(ctx, z.view()).unwrap();
    let normalized = l2_normalize_rows(ctx, &gz, NORM_EPS).unwrap();
    let (zn, norms) = l2_normalize_rows_reference(z.view(), NORM_EPS);
    assert_close(
        "zn",
        normalized.rows.download(ctx).unwrap().view(),
        zn.view(),
    );
    let norms = norms.insert_axis(ndarray::Axis(1));
    assert_close(
        "norms",
        normalized.norms.download(ctx).unwrap().view(),
        norms.view(),
    );

    let gd = GpuMatrix::upload(ctx, dzn.view()).unwrap();
    let dz = l2_normalize_rows_backward(ctx, &normalized, &gd).unwrap();
    let want = l2_normalize_rows_backward_reference(z.view(), dzn.view(), NORM_EPS);
    // The zero row's gradient is dzn / eps (huge); compare the others separately.
    let got = dz.download(ctx).unwrap();
    assert_close(
        "dz (zero row)",
        got.slice(ndarray::s![0..1, ..]),
        want.slice(ndarray::s![0..1, ..]),
    );
    if n > 1 {
        assert_close(
            "dz",
            got.slice(ndarray::s![1.., ..]),
            want.slice(ndarray::s![1.., ..]),
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn normalize_random_shapes(n in 1usize..200, d in 2usize..200, seed in 0u64..1000) {
        check_normalize(n, d, seed);
    }

    #[test]
    fn cosine_random_shapes(na in 1usize..150, nb in 1usize..150, d in 1usize..100, seed in 0u64..1000) {
        let Some(ctx) = gpu() else { return Ok(()) };
        let mut rng = rng(seed);
        let a = random(&mut rng, na, d);
        let b = random(&mut rng, nb, d);
        let s = cosine_similarity(
            ctx,
            &GpuMatrix::upload(ctx, a.view()).unwrap(),
            &GpuMatrix::upload(ctx, b.view()).unwrap(),
            0.07,
        )
        .unwrap();
        let want = cosine_similarity_reference(a.view(), b.view(), 0.07).unwrap();
        assert_close("cosine", s.download(ctx).unwrap().view(), want.view());
    }
}

#[test]
fn normalize_fixed_shapes() {
    for (i, &(n, d)) in [(1, 2), (1, 300), (256, 3), (65, 64), (130, 128)]
        .iter()
        .enumerate()
    {
        check_normalize(n, d, 100 + i as u64);
    }
}

#[test]
fn cosine_of_a_row_with_itself_is_one_over_t() {
    let Some(ctx) = gpu() else { return };
    let a = Array2::from_shape_fn((5, 7), |(i, j)| (i * 7 + j) as f32 - 10.0);
    let ga = GpuMatrix::upload(ctx, a.view()).unwrap();
    let s = cosine_similarity(ctx, &ga, &ga, 0.5)
        .unwrap()
        .download(ctx)
        .unwrap();
    for i in 0..5 {
        assert!((s[[i, i]] - 2.0).abs() < 1e-5, "s[{i},{i}] = {}", s[[i, i]]);
    }
}
