//! Updates from row-sparse gradients: only the rows a step's gradient holds are read or
//! written, in the parameter and in every state table of the optimizer.
//!
//! A table `W: (n_rows, dim)` read by an embedding bag receives a
//! [`RowSparse`] gradient: sorted unique rows `R` and their summed gradients. An optimizer
//! that takes it ([`Adam`](super::Adam), [`Sgd`](super::Sgd) without momentum) applies its
//! per-element rule to the rows in `R` and leaves every other row, of the parameter and of
//! its state (moments), exactly as it was: the *lazy* semantics of `torch.optim.SparseAdam`
//! and TensorFlow's `LazyAdam`. The state tables stay dense `(n_rows, dim)` arrays (memory,
//! not per-step time), so state dicts and checkpoints are the same as for a dense gradient.
//!
//! The rows are updated in parallel (rayon); each element's update is the same arithmetic as
//! the dense one, so the result does not depend on the number of threads, and a gradient
//! that holds every row gives exactly the dense update.

use contrast_autodiff::RowSparse;
use ndarray::{ArrayD, NdFloat};
use rayon::prelude::*;

use super::{ParamKind, ParamRef};
use crate::error::{Error, Result};

/// One parameter with a row-sparse gradient, handed to
/// [`Optimizer::step_with_sparse`](super::Optimizer::step_with_sparse).
#[derive(Debug)]
pub struct SparseParamRef<'a, A> {
    /// Dotted name, the key of the optimizer state (`encoder.embedding.weight`).
    pub name: &'a str,
    /// Kind of parameter.
    pub kind: ParamKind,
    /// Value `(n_rows, dim)`, updated in place in the gradient's rows only.
    pub value: &'a mut ArrayD<A>,
    /// Gradient: the rows present and their values (of shape `value.shape()` as a matrix).
    pub grad: &'a RowSparse<A>,
}

impl<'a, A> SparseParamRef<'a, A> {
    /// The gradient must stand for a matrix of the parameter's shape.
    pub(crate) fn check(&self) -> Result<()> {
        if self.grad.shape() != self.value.shape() {
            return Err(Error::GradientShape {
                name: self.name.to_string(),
                expected: self.value.shape().to_vec(),
                got: self.grad.shape().to_vec(),
            });
        }
        Ok(())
    }
}

/// The rows of `grad` in the row-major `(n_rows, dim)` table `t` (made standard-layout
/// first if it is not: once, for a table built elsewhere).
fn rows_of<'t, A: NdFloat>(grad: &RowSparse<A>, t: &'t mut ArrayD<A>) -> Vec<&'t mut [A]> {
    if !t.is_standard_layout() {
        *t = t.as_standard_layout().into_owned();
    }
    grad.select_rows_mut(t.as_slice_mut().expect("standard layout"))
}

/// Calls `f(value row, [state rows], gradient row)` for every row of `p.grad`, in parallel.
/// Every state table has the parameter's shape (the caller checks).
pub(crate) fn for_each_row<A: NdFloat, const N: usize>(
    p: &mut SparseParamRef<'_, A>,
    states: [&mut ArrayD<A>; N],
    f: impl Fn(&mut [A], [&mut [A]; N], &[A]) + Sync,
) {
    let grad = p.grad;
    let values = grad.values().as_standard_layout();
    let dim = grad.shape()[1];
    let mut state_rows: Vec<std::vec::IntoIter<&mut [A]>> = states
        .into_iter()
        .map(|s| rows_of(grad, s).into_iter())
        .collect();
    // Row j of every table side by side: [state_0 row j, ..., state_{N-1} row j].
    let per_row: Vec<[&mut [A]; N]> = (0..grad.rows().len())
        .map(|_| std::array::from_fn(|s| state_rows[s].next().expect("one per row")))
        .collect();
    let value_rows = rows_of(grad, p.value);
    if dim == 0 {
        return;
    }
    value_rows
        .into_par_iter()
        .zip(per_row)
        .zip(values.as_slice().expect("standard layout").par_chunks(dim))
        .for_each(|((w, s), g)| f(w, s, g));
}

/// An [`Error::SparseGradient`] naming the first row-sparse parameter, if any: for an
/// optimizer (or a setting) that has no row-sparse update.
pub(crate) fn refuse_sparse<A>(sparse: &[SparseParamRef<'_, A>], why: &'static str) -> Result<()> {
    match sparse.first() {
        Some(p) => Err(Error::SparseGradient {
            name: p.name.to_string(),
            why,
        }),
        None => Ok(()),
    }
}

/// Shape checks of every dense and row-sparse gradient, before anything is updated.
pub(crate) fn check_all<A>(
    dense: &[ParamRef<'_, A>],
    sparse: &[SparseParamRef<'_, A>],
) -> Result<()> {
    for p in dense {
        super::check_grad(p)?;
    }
    for p in sparse {
        p.check()?;
    }
    Ok(())
}
