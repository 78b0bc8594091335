//! The adapter between an [`Optimizer`] and the params of an autodiff [`Graph`].

use ndarray::{ArrayD, IxDyn, NdFloat};

use contrast_autodiff::{Grad, Graph};

use super::{Optimizer, ParamRef, SparseParamRef};
use crate::error::Result;
use crate::module::NamedParam;

/// One optimizer step on the graph's params from their accumulated gradients.
///
/// Params with a dense gradient go to the optimizer as [`ParamRef`]s, params with a
/// row-sparse one (an embedding table) as [`SparseParamRef`]s, in one
/// [`Optimizer::step_with_sparse`] call (one step of the count). Params that no backward
/// reached (no gradient) are skipped, as in PyTorch. The values are moved out of the graph
/// for the update and put back afterwards (no copies), also when the optimizer returns an
/// error.
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
        let mut dense = Vec::new();
        let mut sparse = Vec::new();
        for (p, value) in params.iter().zip(values.iter_mut()) {
            let (name, kind) = (p.name.as_str(), p.kind);
            match g.gradient(p.var) {
                Some(Grad::Dense(grad)) => dense.push(ParamRef {
                    name,
                    kind,
                    value,
                    grad,
                }),
                Some(Grad::Rows(grad)) => sparse.push(SparseParamRef {
                    name,
                    kind,
                    value,
                    grad,
                }),
                None => {}
            }
        }
        opt.step_with_sparse(&mut dense, &mut sparse)
    };
    for (p, value) in params.iter().zip(values) {
        *g.value_mut(p.var) = value;
    }
    result
}
