//! The dense all-pairs logit matrix `S = zn zn^T / T` of a batch, and the backward pass
//! shared by every loss written as a function of `S`.
//!
//! ```text
//! forward:  S_ij = zn_i . zn_j / T            (n, n), computed once
//! backward: dzn = (dS + dS^T) zn / T          (S is symmetric in zn)
//!           dz  = normalisation backward of dzn
//! ```
//! A loss fills `dS` in place of `S` (same buffer), so the dense path holds one n x n matrix.

use crate::log_sum_exp::sum_f64;
use crate::output::LossGrad;
use crate::validate::cast;
use contrast_linalg::{RowNormalized, par_gemm};
use ndarray::{Array2, ArrayView2, ArrayViewMut1, Axis, NdFloat};
use rayon::prelude::*;

/// The rows of a batch and their scaled similarity matrix.
pub(crate) struct LogitMatrix<A> {
    /// The (normalised) rows.
    pub emb: RowNormalized<A>,
    /// `S`, then overwritten by the loss with `d loss / d S`.
    pub logits: Array2<A>,
    inv_t: A,
}

impl<A: NdFloat> LogitMatrix<A> {
    pub fn new(z: ArrayView2<A>, temperature: f64, normalize: bool) -> Self {
        let emb = RowNormalized::new(z, normalize);
        let n = emb.rows.nrows();
        let inv_t = cast::<A>(1.0 / temperature);
        let mut logits = Array2::zeros((n, n));
        par_gemm(
            inv_t,
            emb.rows.view(),
            emb.rows.t(),
            A::zero(),
            logits.view_mut(),
        );
        Self { emb, logits, inv_t }
    }

    /// Given `d loss / d S` in `self.logits`, returns `d loss / d z`.
    pub fn backward(self) -> Array2<A> {
        let m = &self.logits;
        let rows = self.emb.rows.view();
        // (dS + dS^T) zn as two products; the transposed one reads dS through strides
        // (the packed kernel copies it anyway), cheaper than symmetrising n^2 entries in place.
        let mut grad = Array2::zeros(rows.raw_dim());
        par_gemm(self.inv_t, m.view(), rows, A::zero(), grad.view_mut());
        par_gemm(self.inv_t, m.t(), rows, A::one(), grad.view_mut());
        self.emb.backward(grad)
    }

    /// Runs `rule(row, i)` on every row of `S` in parallel: it returns anchor i's loss and
    /// leaves `d loss_i / d S_i.` in the row. Returns `scale * sum_i loss_i` and `d / d z`.
    pub fn reduce_rows(
        mut self,
        scale: A,
        rule: impl Fn(ArrayViewMut1<A>, usize) -> A + Sync + Send,
    ) -> LossGrad<A> {
        let losses: Vec<A> = self
            .logits
            .axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .map(|(i, row)| rule(row, i))
            .collect();
        LossGrad {
            loss: sum_f64(losses.into_iter()) * scale,
            grad: self.backward(),
        }
    }
}
