use contrast_gpu::{GpuMatrix, MAX_K, cosine_similarity, top_k, top_k_reference};
use proptest::prelude::*;

use crate::support::{gpu, random, rng};

fn check_top_k(rows: usize, cols: usize, k: usize, skip_diagonal: bool, seed: u64) {
    let Some(ctx) = gpu() else { return };
    let scores = random(&mut rng(seed), rows, cols);
    let got = top_k(
        ctx,
        &GpuMatrix::upload(ctx, scores.view()).unwrap(),
        k,
        skip_diagonal,
    )
    .unwrap();
    let want = top_k_reference(scores.view(), k, skip_diagonal).unwrap();
    // The selection is exact: same scores in, the same columns out.
    assert_eq!(
        got, want,
        "rows {rows} cols {cols} k {k} skip {skip_diagonal}"
    );
}

#[test]
fn fixed_shapes() {
    check_top_k(1, 1, 1, false, 1);
    check_top_k(3, 2, 1, true, 2);
    check_top_k(5, 256, MAX_K, false, 3);
    check_top_k(256, 256, 10, true, 4);
    check_top_k(70, 33, 32, true, 5);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    #[test]
    fn random_shapes(rows in 1usize..120, extra in 0usize..150, k in 1usize..=MAX_K, skip in any::<bool>(), seed in 0u64..1000) {
        let cols = rows + extra + 1;
        let k = k.min(cols - 1);
        check_top_k(rows, cols, k, skip, seed);
    }
}

#[test]
fn ties_go_to_the_lower_column() {
    let Some(ctx) = gpu() else { return };
    let scores = ndarray::Array2::from_shape_fn((4, 100), |(i, j)| ((i + j) % 3) as f32);
    let got = top_k(
        ctx,
        &GpuMatrix::upload(ctx, scores.view()).unwrap(),
        20,
        false,
    )
    .unwrap();
    assert_eq!(got, top_k_reference(scores.view(), 20, false).unwrap());
}

#[test]
fn hardest_negatives_from_similarities() {
    // Chained: similarity matrix stays resident and feeds top-k.
    let Some(ctx) = gpu() else { return };
    let mut rng = rng(8);
    let z = random(&mut rng, 40, 16);
    let gz = GpuMatrix::upload(ctx, z.view()).unwrap();
    let s = cosine_similarity(ctx, &gz, &gz, 1.0).unwrap();
    let got = top_k(ctx, &s, 5, true).unwrap();
    let want = top_k_reference(s.download(ctx).unwrap().view(), 5, true).unwrap();
    assert_eq!(got.indices, want.indices);
}
