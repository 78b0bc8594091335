//! The adapter between an [`Optimizer`] and the params of an autodiff [`Graph`].

use ndarray::{ArrayD, IxDyn, NdFloat};

use contrast_autodiff::Graph;

use super::{Optimizer, ParamRef};
use crate::error::Result;
use crate::module::NamedParam;

/// One optimizer step on the graph's params from their accumulated gradients.
///
/// Params that no backward reached (no gradient) are skipped, as in PyTorch. The values are
/// moved out of the graph for the update and put back afterwards (no copies), also when the
/// optimizer returns an error.
pub fn graph_step<A: NdFloat, O: Optimizer<A> + ?Sized>(
    opt: &mut O,
    g: &mut Graph<A>,
    params: &[NamedParam],
) -> Result<()> {
    let mut values: Vec<ArrayD<A>> = params
        .iter()
        .map(|p| std::mem::replace(g.value_mut(p.var), ArrayD::zeros(IxDyn(&[0]))))
        .collect();
    let result = {
        let mut refs: Vec<ParamRef<'_, A>> = params
            .iter()
            .zip(values.iter_mut())
            .filter_map(|(p, value)| {
                g.grad(p.var).map(|grad| ParamRef {
                    name: &p.name,
                    kind: p.kind,
                    value,
                    grad,
                })
            })
            .collect();
        opt.step(&mut refs)
    };
    for (p, value) in params.iter().zip(values) {
        *g.value_mut(p.var) = value;
    }
    result
}
