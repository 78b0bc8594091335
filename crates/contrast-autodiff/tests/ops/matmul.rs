use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use contrast_autodiff::gradcheck::strategies::{array, matrix};
use contrast_autodiff::kernels::CpuMatmul;
use contrast_autodiff::{Error, Graph, MatmulBackend, Result};
use ndarray::{Array2, ArrayD, ArrayView2, IxDyn};
use proptest::prelude::*;

use crate::support::{assert_close, assert_grads, cases, forward};

/// Triple-loop reference product.
fn naive(a: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
    let (m, k) = a.dim();
    let n = b.ncols();
    Array2::from_shape_fn((m, n), |(i, j)| (0..k).map(|l| a[[i, l]] * b[[l, j]]).sum())
}

fn norm_rows_ref(x: &ArrayD<f64>, eps: f64) -> ArrayD<f64> {
    let mut out = x.clone();
    for mut row in out.outer_iter_mut() {
        let n = row.iter().map(|v| v * v).sum::<f64>().sqrt().max(eps);
        row.mapv_inplace(|v| v / n);
    }
    out
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn matmul_2d((a, b) in (1usize..6, 1usize..6, 1usize..6).prop_flat_map(|(m, k, n)| (array(vec![m, k], -1.0, 1.0), array(vec![k, n], -1.0, 1.0)))) {
        let out = forward(&[a.clone(), b.clone()], |g, v| g.matmul(v[0], v[1]));
        let reference = naive(a.view().into_dimensionality().unwrap(), b.view().into_dimensionality().unwrap());
        assert_close(&out, &reference.into_dyn(), 1e-12)?;
        assert_grads(&[a, b], |g, v| g.matmul(v[0], v[1]))?;
    }

    #[test]
    fn matmul_3d((a, b) in (1usize..4, 1usize..5, 1usize..5, 1usize..5).prop_flat_map(|(bt, m, k, n)| (array(vec![bt, m, k], -1.0, 1.0), array(vec![bt, k, n], -1.0, 1.0)))) {
        let out = forward(&[a.clone(), b.clone()], |g, v| g.matmul(v[0], v[1]));
        for i in 0..a.shape()[0] {
            let ai = a.index_axis(ndarray::Axis(0), i).into_dimensionality().unwrap();
            let bi = b.index_axis(ndarray::Axis(0), i).into_dimensionality().unwrap();
            assert_close(&out.index_axis(ndarray::Axis(0), i).to_owned(), &naive(ai, bi).into_dyn(), 1e-12)?;
        }
        assert_grads(&[a, b], |g, v| g.matmul(v[0], v[1]))?;
    }

    #[test]
    fn l2_normalize_and_cosine_similarity((a, b) in (1usize..5, 1usize..5, 1usize..5).prop_flat_map(|(n, m, d)| (array(vec![n, d], -1.0, 1.0), array(vec![m, d], -1.0, 1.0)))) {
        prop_assume!(a.outer_iter().chain(b.outer_iter()).all(|r| r.iter().map(|v| v * v).sum::<f64>() > 1e-2));
        let out = forward(std::slice::from_ref(&a), |g, v| g.l2_normalize_rows(v[0], 1e-8));
        assert_close(&out, &norm_rows_ref(&a, 1e-8), 1e-12)?;
        assert_grads(std::slice::from_ref(&a), |g, v| g.l2_normalize_rows(v[0], 1e-8))?;
        let cos = forward(&[a.clone(), b.clone()], |g, v| g.cosine_similarity(v[0], v[1]));
        let (na, nb) = (norm_rows_ref(&a, 1e-8), norm_rows_ref(&b, 1e-8));
        let reference = naive(na.view().into_dimensionality().unwrap(), nb.t().into_dimensionality().unwrap());
        assert_close(&cos, &reference.into_dyn(), 1e-12)?;
        assert_grads(&[a, b], |g, v| g.cosine_similarity(v[0], v[1]))?;
    }

    #[test]
    fn kernel_matches_naive_on_any_strides(a in matrix(1..=70, 1..=70, -1.0, 1.0), n in 1usize..70, transpose in any::<bool>()) {
        let a = a.into_dimensionality::<ndarray::Ix2>().unwrap();
        let k = a.ncols();
        let b = Array2::from_shape_fn((n, k), |(i, j)| ((i * 31 + j * 17) % 11) as f64 / 7.0 - 0.7);
        let b = if transpose { b.t().to_owned() } else { b.t().as_standard_layout().into_owned() };
        let reference = naive(a.view(), b.view());
        assert_close(&CpuMatmul.matmul(a.view(), b.view()).unwrap().into_dyn(), &reference.clone().into_dyn(), 1e-12)?;
        let (a32, b32) = (a.mapv(|v| v as f32), b.mapv(|v| v as f32));
        let out32 = CpuMatmul.matmul(a32.t().t(), b32.view()).unwrap().mapv(f64::from);
        assert_close(&out32.into_dyn(), &reference.into_dyn(), 1e-4)?;
    }
}

#[test]
fn l2_normalize_below_eps_is_linear() {
    // A zero row stays zero and gets gradient g / eps, never NaN.
    let x = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![0.0, 0.0, 3.0, 4.0]).unwrap();
    let mut g = Graph::<f64>::new();
    let p = g.param(x);
    let y = g.l2_normalize_rows(p, 1e-3).unwrap();
    assert_eq!(g.value(y).as_slice().unwrap(), &[0.0, 0.0, 0.6, 0.8]);
    let s = g.sum_all(y).unwrap();
    g.backward(s).unwrap();
    let grad = g.grad(p).unwrap();
    assert_eq!(grad[[0, 0]], 1e3);
    assert!(grad.iter().all(|v| v.is_finite()));
}

/// Counts calls, then defers to the CPU kernel.
struct Counting(AtomicUsize);
impl MatmulBackend<f64> for Counting {
    fn matmul(&self, a: ArrayView2<f64>, b: ArrayView2<f64>) -> Result<Array2<f64>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        CpuMatmul.matmul(a, b)
    }
}

#[test]
fn matmul_backend_serves_forward_and_backward() {
    let backend = Arc::new(Counting(AtomicUsize::new(0)));
    let mut g = Graph::<f64>::new();
    g.set_matmul_backend(Some(backend.clone()));
    let a = g.param(ArrayD::from_elem(IxDyn(&[2, 3]), 0.5));
    let b = g.param(ArrayD::from_elem(IxDyn(&[3, 4]), 2.0));
    let y = g.matmul(a, b).unwrap();
    let s = g.sum_all(y).unwrap();
    g.backward(s).unwrap();
    assert_eq!(
        backend.0.load(Ordering::SeqCst),
        3,
        "one forward and two backward products"
    );
    assert!(g.grad(a).unwrap().iter().all(|&v| v == 8.0));
    g.set_matmul_backend(None);
    let y = g.matmul(a, b).unwrap();
    assert!(g.value(y).iter().all(|&v| v == 3.0));
    assert_eq!(backend.0.load(Ordering::SeqCst), 3);
}

#[test]
fn matmul_shape_errors() {
    let mut g = Graph::<f64>::new();
    let a = g.input(ArrayD::zeros(IxDyn(&[2, 3])));
    let b = g.input(ArrayD::zeros(IxDyn(&[2, 3])));
    match g.matmul(a, b) {
        Err(Error::Shape {
            op: "matmul",
            shapes,
            ..
        }) => assert_eq!(shapes, vec![vec![2, 3], vec![2, 3]]),
        other => panic!("{other:?}"),
    }
    let c = g.input(ArrayD::zeros(IxDyn(&[2, 4])));
    assert!(matches!(
        g.cosine_similarity(a, c),
        Err(Error::Shape {
            op: "cosine_similarity",
            ..
        })
    ));
}
