use contrast_gpu::{
    Error, GpuMatrix, Transpose, cosine_similarity, gemm, gemm_reference, nt_xent,
    nt_xent_reference, top_k, top_k_reference,
};
use ndarray::Array2;

use crate::support::gpu;

#[test]
fn cpu_references_reject_bad_input() {
    let a = Array2::<f32>::ones((3, 4));
    assert!(matches!(
        gemm_reference(a.view(), Transpose::No, a.view(), Transpose::No, 1.0),
        Err(Error::ShapeMismatch {
            left: (3, 4),
            right: (3, 4),
            ..
        })
    ));
    assert!(matches!(
        nt_xent_reference(a.view(), 0.1),
        Err(Error::OddBatch { rows: 3 })
    ));
    let b = Array2::<f64>::ones((4, 2));
    assert!(matches!(
        nt_xent_reference(b.view(), 0.0),
        Err(Error::InvalidTemperature { .. })
    ));
    assert!(matches!(
        top_k_reference(a.view(), 5, false),
        Err(Error::InvalidK { k: 5, max: 4 })
    ));
}

#[test]
fn kernels_reject_bad_input() {
    let Some(ctx) = gpu() else { return };
    let a = GpuMatrix::upload(ctx, Array2::<f32>::ones((3, 4)).view()).unwrap();
    assert!(matches!(
        gemm(ctx, &a, Transpose::No, &a, Transpose::No, 1.0),
        Err(Error::ShapeMismatch {
            left: (3, 4),
            right: (3, 4),
            ..
        })
    ));
    assert!(gemm(ctx, &a, Transpose::No, &a, Transpose::Yes, 1.0).is_ok());
    assert!(matches!(
        nt_xent(ctx, &a, 0.1),
        Err(Error::OddBatch { rows: 3 })
    ));
    let even = GpuMatrix::upload(ctx, Array2::<f32>::ones((4, 4)).view()).unwrap();
    assert!(matches!(
        nt_xent(ctx, &even, -1.0),
        Err(Error::InvalidTemperature { .. })
    ));
    assert!(matches!(
        nt_xent(ctx, &even, f32::NAN),
        Err(Error::InvalidTemperature { .. })
    ));
    assert!(matches!(
        cosine_similarity(ctx, &a, &even, 0.0),
        Err(Error::InvalidTemperature { .. })
    ));
    assert!(matches!(
        top_k(ctx, &a, 0, false),
        Err(Error::InvalidK { k: 0, .. })
    ));
    assert!(matches!(
        top_k(ctx, &a, 4, true),
        Err(Error::InvalidK { k: 4, max: 3 })
    ));
    assert!(matches!(
        top_k(ctx, &a, MAX, false),
        Err(Error::InvalidK { .. })
    ));
    let mut bad = Array2::<f32>::zeros((2, 2));
    bad[[1, 0]] = f32::NAN;
    assert!(matches!(
        GpuMatrix::upload(ctx, bad.view()),
        Err(Error::NonFinite { index: 2, .. })
    ));
    assert!(matches!(
        a.write(ctx, Array2::<f32>::zeros((4, 3)).view()),
        Err(Error::ShapeMismatch { .. })
    ));
}

const MAX: usize = contrast_gpu::MAX_K + 1;
