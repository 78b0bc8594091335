//! Matrix products: 2-D `(m,k)·(k,n)` and batched 3-D `(b,m,k)·(b,k,n)`, and the cosine
//! similarity matrix built on them.
//!
//! For `Y = A·B`: `dL/dA = G·Bᵀ` and `dL/dB = Aᵀ·G`. The transposes are strided views, so
//! the kernel reads them in place. Every product goes through the graph's
//! [`MatmulBackend`] when one is installed, else [`contrast_linalg::matmul`].

use std::sync::Arc;

use ndarray::{Array2, ArrayD, ArrayView2, ArrayViewD, Axis, Ix2, Ix3, NdFloat};

use crate::error::{Error, Result};
use crate::graph::{Backprop, Graph, Var};
use crate::kernels::MatmulBackend;

type Backend<A> = Option<Arc<dyn MatmulBackend<A>>>;

fn product<A: NdFloat>(
    backend: &Backend<A>,
    a: ArrayView2<A>,
    b: ArrayView2<A>,
) -> Result<Array2<A>> {
    match backend {
        Some(backend) => {
            let out = backend.matmul(a, b)?;
            if out.dim() != (a.nrows(), b.ncols()) {
                return Err(Error::Op {
                    op: "matmul backend".into(),
                    msg: format!(
                        "returned {:?} for {:?}·{:?}",
                        out.shape(),
                        a.shape(),
                        b.shape()
                    ),
                });
            }
            Ok(out)
        }
        None => Ok(contrast_linalg::matmul(a, b)),
    }
}

/// `a·b` for 2-D, or per batch entry for 3-D, arrays of checked shapes.
fn batched<A: NdFloat>(
    backend: &Backend<A>,
    a: ArrayViewD<A>,
    b: ArrayViewD<A>,
) -> Result<ArrayD<A>> {
    if a.ndim() == 2 {
        let a = a.into_dimensionality::<Ix2>().expect("2-D");
        let b = b.into_dimensionality::<Ix2>().expect("2-D");
        return Ok(product(backend, a, b)?.into_dyn());
    }
    let a = a.into_dimensionality::<Ix3>().expect("3-D");
    let b = b.into_dimensionality::<Ix3>().expect("3-D");
    let parts = a
        .outer_iter()
        .zip(b.outer_iter())
        .map(|(a, b)| Ok(product(backend, a, b)?.insert_axis(Axis(0))))
        .collect::<Result<Vec<_>>>()?;
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    if views.is_empty() {
        return Ok(ArrayD::zeros(vec![0, a.shape()[1], b.shape()[2]]));
    }
    Ok(ndarray::concatenate(Axis(0), &views)
        .expect("same shapes")
        .into_dyn())
}

/// Swaps the last two axes: a strided view, no copy (the kernel reads strides).
fn t_last<A: NdFloat>(x: &ArrayD<A>) -> ArrayViewD<'_, A> {
    let mut v = x.view();
    let n = v.ndim();
    v.swap_axes(n - 2, n - 1);
    v
}

impl<A: NdFloat> Graph<A> {
    /// Matrix product: `(m,k)·(k,n) -> (m,n)`, or batched `(b,m,k)·(b,k,n) -> (b,m,n)`.
    pub fn matmul(&mut self, a: Var, b: Var) -> Result<Var> {
        let (va, vb) = (self.try_value(a)?, self.try_value(b)?);
        let (sa, sb) = (va.shape(), vb.shape());
        let ok = match (sa.len(), sb.len()) {
            (2, 2) => sa[1] == sb[0],
            (3, 3) => sa[0] == sb[0] && sa[2] == sb[1],
            _ => false,
        };
        if !ok {
            return Err(Error::shape(
                "matmul",
                &[sa, sb],
                "expects (m,k)x(k,n) or (b,m,k)x(b,k,n)",
            ));
        }
        let backend = self.matmul_backend.clone();
        let out = batched(&backend, va.view(), vb.view())?;
        let backward = move |bp: Backprop<'_, A>| {
            let (x, y) = (bp.inputs[0], bp.inputs[1]);
            let ga = if bp.needs[0] {
                Some(batched(&backend, bp.grad.view(), t_last(y))?)
            } else {
                None
            };
            let gb = if bp.needs[1] {
                Some(batched(&backend, t_last(x), bp.grad.view())?)
            } else {
                None
            };
            Ok(vec![ga, gb])
        };
        self.record("matmul", out, &[a, b], Box::new(backward))
    }

    /// Cosine similarity matrix `normalize(a)·normalize(b)ᵀ` of rows: `(n,d),(m,d) -> (n,m)`,
    /// with norms floored at `1e-8` (see [`Graph::l2_normalize_rows`]).
    pub fn cosine_similarity(&mut self, a: Var, b: Var) -> Result<Var> {
        let (sa, sb) = (self.try_value(a)?.shape(), self.try_value(b)?.shape());
        if sa.len() != 2 || sb.len() != 2 || sa[1] != sb[1] {
            return Err(Error::shape(
                "cosine_similarity",
                &[sa, sb],
                "expects (n,d) and (m,d)",
            ));
        }
        let eps = A::from(1e-8).expect("float");
        let na = self.l2_normalize_rows(a, eps)?;
        let nb = self.l2_normalize_rows(b, eps)?;
        let nbt = self.transpose(nb)?;
        self.matmul(na, nbt)
    }
}
