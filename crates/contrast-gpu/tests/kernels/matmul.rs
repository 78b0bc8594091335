use contrast_gpu::{GpuMatrix, Transpose, gemm, gemm_reference, matmul, matmul_nt, matmul_tn};
use proptest::prelude::*;

use crate::support::{assert_close, gpu, random, rng};

/// Checks all four transpose forms of an (m, k) x (k, n) product.
fn check_all_forms(m: usize, k: usize, n: usize, seed: u64) {
    let Some(ctx) = gpu() else { return };
    let mut rng = rng(seed);
    for (ta, tb) in [
        (Transpose::No, Transpose::No),
        (Transpose::No, Transpose::Yes),
        (Transpose::Yes, Transpose::No),
        (Transpose::Yes, Transpose::Yes),
    ] {
        let a = if ta == Transpose::Yes {
            random(&mut rng, k, m)
        } else {
            random(&mut rng, m, k)
        };
        let b = if tb == Transpose::Yes {
            random(&mut rng, n, k)
        } else {
            random(&mut rng, k, n)
        };
        let ga = GpuMatrix::upload(ctx, a.view()).unwrap();
        let gb = GpuMatrix::upload(ctx, b.view()).unwrap();
        let got = gemm(ctx, &ga, ta, &gb, tb, 0.5)
            .unwrap()
            .download(ctx)
            .unwrap();
        let want = gemm_reference(a.view(), ta, b.view(), tb, 0.5).unwrap();
        assert_close(
            &format!("gemm {ta:?} {tb:?} m={m} k={k} n={n}"),
            got.view(),
            want.view(),
        );
    }
}

#[test]
fn edge_shapes() {
    // Row and column vectors, tall and skinny, exact 64 and 128 tiles, one past a tile, K not a
    // multiple of the 16-deep slice or of 4 (scalar load path).
    for (i, &(m, k, n)) in [
        (1, 1, 1),
        (1, 200, 7),
        (7, 3, 1),
        (256, 5, 2),
        (2, 9, 256),
        (64, 64, 64),
        (65, 17, 129),
        (128, 128, 128),
        (129, 40, 250),
        (250, 31, 129),
    ]
    .iter()
    .enumerate()
    {
        check_all_forms(m, k, n, i as u64);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn random_shapes(m in 1usize..160, k in 1usize..160, n in 1usize..160, seed in 0u64..1000) {
        check_all_forms(m, k, n, seed);
    }
}

#[test]
fn named_forms_agree_with_gemm() {
    let Some(ctx) = gpu() else { return };
    let mut rng = rng(7);
    let a = random(&mut rng, 33, 20);
    let b = random(&mut rng, 20, 45);
    let bt = b.t().to_owned();
    let at = a.t().to_owned();
    let up = |x: &ndarray::Array2<f32>| GpuMatrix::upload(ctx, x.view()).unwrap();
    let want = gemm_reference(a.view(), Transpose::No, b.view(), Transpose::No, 1.0).unwrap();
    let nn = matmul(ctx, &up(&a), &up(&b))
        .unwrap()
        .download(ctx)
        .unwrap();
    let nt = matmul_nt(ctx, &up(&a), &up(&bt))
        .unwrap()
        .download(ctx)
        .unwrap();
    let tn = matmul_tn(ctx, &up(&at), &up(&b))
        .unwrap()
        .download(ctx)
        .unwrap();
    assert_close("A B", nn.view(), want.view());
    assert_close("A B^T", nt.view(), want.view());
    assert_close("A^T B", tn.view(), want.view());
}

#[test]
fn chained_products_stay_on_the_device() {
    // (A B) C computed from a resident intermediate, and a reused input buffer.
    let Some(ctx) = gpu() else { return };
    let mut rng = rng(11);
    let a = random(&mut rng, 40, 24);
    let b = random(&mut rng, 24, 36);
    let c = random(&mut rng, 36, 8);
    let ga = GpuMatrix::upload(ctx, a.view()).unwrap();
    let gb = GpuMatrix::upload(ctx, b.view()).unwrap();
    let gc = GpuMatrix::upload(ctx, c.view()).unwrap();
    let abc = matmul(ctx, &matmul(ctx, &ga, &gb).unwrap(), &gc).unwrap();
    let want = a.dot(&b).dot(&c);
    assert_close("(A B) C", abc.download(ctx).unwrap().view(), want.view());

    let a2 = random(&mut rng, 40, 24);
    ga.write(ctx, a2.view()).unwrap();
    let got = matmul(ctx, &ga, &gb).unwrap().download(ctx).unwrap();
    assert_close("after write", got.view(), a2.dot(&b).view());
}
