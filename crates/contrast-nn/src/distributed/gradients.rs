//! Keeping the parameters of every rank identical: the initial broadcast and the mean of
//! the gradients before every optimizer step.

use contrast_autodiff::Graph;
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
/// Communicates `P + p` elements per rank (`P` scalars in the params, `p` params: one
/// presence flag each), received from each of the other ranks.
pub fn all_reduce_gradients<A: NdFloat>(
    g: &mut Graph<A>,
    params: &[NamedParam],
    collective: &dyn Collective<A>,
) -> Result<()> {
    let total: usize = params.iter().map(|p| 1 + g.value(p.var).len()).sum();
    let mut buf = Vec::with_capacity(total);
    for p in params {
        match g.grad(p.var) {
            Some(grad) => {
                buf.push(A::one());
                buf.extend(grad.iter().copied());
            }
            None => {
                buf.push(A::zero());
                buf.extend(std::iter::repeat_n(A::zero(), g.value(p.var).len()));
            }
        }
    }
    collective.all_reduce_sum(&mut buf)?;
    let world: A = scalar(collective.world() as f64);
    let mut rest = &buf[..];
    for p in params {
        let len = g.value(p.var).len();
        let (flag, values) = (rest[0], &rest[1..1 + len]);
        rest = &rest[1 + len..];
        let mean = (flag > A::zero()).then(|| {
            let shape = g.value(p.var).raw_dim();
            let data = values.iter().map(|&v| v / world).collect();
            ArrayD::from_shape_vec(shape, data).expect("param-sized")
        });
        g.set_grad(p.var, mean)?;
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
