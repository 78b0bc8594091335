//! Keeping the parameters of every rank identical: the initial broadcast and the mean of
//! the gradients before every optimizer step.

use contrast_autodiff::{Grad, Graph, RowSparse};
use contrast_collective::Collective;
use ndarray::{ArrayD, NdFloat};

use crate::error::Result;
use crate::module::{Module, NamedParam};
use crate::scalar;

/// Replaces every param's gradient with its mean over ranks, `(1 / R) Σ_r g_r`, the same
/// bits on every rank (one all-reduce in rank order over all params, in the order given:
/// pass the same list on every rank, e.g. `model.named_params()`).
///
/// A param that received no gradient on some rank counts as a zero gradient there; one
/// that received none on any rank keeps no gradient (the optimizer skips it, as it would
/// in one process). With the gathered-rows convention of [`crate::distributed`] the mean is
/// exactly the single-process gradient.
///
/// A row-sparse gradient (an embedding table's) stays row-sparse: its mean covers the union
/// of the rows present on any rank, which are the rows one process would have seen, so the
/// lazy optimizer update touches the same rows. It travels densified (with one presence
/// flag per row), so a table costs its full size in the all-reduce.
///
/// Communicates `P + 2p + T` elements per rank (`P` scalars in the params, `p` params: two
/// presence flags each, `T` rows of row-sparse params), received from each other rank.
pub fn all_reduce_gradients<A: NdFloat>(
    g: &mut Graph<A>,
    params: &[NamedParam],
    collective: &dyn Collective<A>,
) -> Result<()> {
    let row_flags = |g: &Graph<A>, p: &NamedParam| match g.gradient(p.var) {
        Some(Grad::Rows(rows)) => rows.shape()[0],
        _ => 0,
    };
    // Every rank must lay the buffer out alike: agree on which params carry row flags.
    let mut sparse_rows: Vec<A> = params
        .iter()
        .map(|p| scalar(row_flags(g, p) as f64))
        .collect();
    collective.all_reduce_sum(&mut sparse_rows)?;
    let sparse: Vec<bool> = sparse_rows.iter().map(|&n| n > A::zero()).collect();
    let mut buf = Vec::new();
    for (p, &with_rows) in params.iter().zip(&sparse) {
        let value = g.value(p.var);
        let (len, n_rows) = (value.len(), value.shape().first().copied().unwrap_or(1));
        match g.gradient(p.var) {
            Some(Grad::Dense(grad)) => {
                buf.push(A::one());
                buf.extend(grad.iter().copied());
                if with_rows {
                    buf.extend(std::iter::repeat_n(A::one(), n_rows));
                }
            }
            Some(Grad::Rows(rows)) => {
                buf.push(A::one());
                buf.extend(rows.to_dense().iter().copied());
                let mut present = vec![A::zero(); n_rows];
                rows.rows().iter().for_each(|&r| present[r] = A::one());
                buf.extend(present);
            }
            None => {
                buf.push(A::zero());
                buf.extend(std::iter::repeat_n(A::zero(), len));
                if with_rows {
                    buf.extend(std::iter::repeat_n(A::zero(), n_rows));
                }
            }
        }
    }
    collective.all_reduce_sum(&mut buf)?;
    let world: A = scalar(collective.world() as f64);
    let mut rest = &buf[..];
    for (p, &with_rows) in params.iter().zip(&sparse) {
        let value = g.value(p.var);
        let (shape, len) = (value.raw_dim(), value.len());
        let n_rows = value.shape().first().copied().unwrap_or(1);
        let (flag, values) = (rest[0], &rest[1..1 + len]);
        rest = &rest[1 + len..];
        let present = if with_rows {
            let (flags, tail) = rest.split_at(n_rows);
            rest = tail;
            Some(flags)
        } else {
            None
        };
        let mean = (flag > A::zero()).then(|| {
            let data = values.iter().map(|&v| v / world).collect();
            ArrayD::from_shape_vec(shape, data).expect("param-sized")
        });
        let grad = match (mean, present) {
            (Some(mean), Some(present)) => {
                let rows: Vec<usize> = (0..n_rows).filter(|&r| present[r] > A::zero()).collect();
                let dim = len / n_rows.max(1);
                let mean = mean
                    .into_shape_with_order((n_rows, dim))
                    .expect("a row-sparse param is a matrix");
                let values = mean.select(ndarray::Axis(0), &rows);
                Some(Grad::Rows(RowSparse::new(n_rows, rows, values)?))
            }
            (mean, _) => mean.map(Grad::Dense),
        };
        g.set_gradient(p.var, grad)?;
    }
    Ok(())
}

/// Copies rank 0's parameter values to every rank (one broadcast of all params, in the
/// order given), so that ranks that initialised differently start from the same model.
/// Communicates `P` elements: sent by rank 0, received by every other rank.
pub fn broadcast_params<A: NdFloat>(
    g: &mut Graph<A>,
    params: &[NamedParam],
    collective: &dyn Collective<A>,
) -> Result<()> {
    let mut buf: Vec<A> = params
        .iter()
        .flat_map(|p| g.value(p.var).iter().copied().collect::<Vec<_>>())
        .collect();
    collective.broadcast(&mut buf, 0)?;
    let mut rest = &buf[..];
    for p in params {
        let value = g.value_mut(p.var);
        let (mine, tail) = rest.split_at(value.len());
        value.iter_mut().zip(mine).for_each(|(v, &m)| *v = m);
        rest = tail;
    }
    Ok(())
}

/// Copies rank 0's parameters and buffers (batch-norm running statistics) of `module` to
/// every rank.
pub fn broadcast_module<A: NdFloat>(
    g: &mut Graph<A>,
    module: &mut dyn Module<A>,
    collective: &dyn Collective<A>,
) -> Result<()> {
    broadcast_params(g, &module.named_params(), collective)?;
    let mut buf: Vec<A> = module
        .named_buffers()
        .iter()
        .flat_map(|(_, view)| view.iter().copied().collect::<Vec<_>>())
        .collect();
    collective.broadcast(&mut buf, 0)?;
    let mut rest = &buf[..];
    module.visit_buffers_mut("", &mut |_, mut view| {
        let (mine, tail) = rest.split_at(view.len());
        view.iter_mut().zip(mine).for_each(|(v, &m)| *v = m);
        rest = tail;
    });
    Ok(())
}
