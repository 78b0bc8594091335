//! The reverse pass: `backward` sorts the nodes that reach the loss topologically
//! (depth-first post-order, pruned to nodes from which a param can be reached), walks them
//! from the loss back to the leaves, adds each param's gradient to its accumulator, and
//! releases every node that is not a param.
//!
//! Gradients travel as [`Grad`]s: dense, or row-sparse from `embedding_bag`. Contributions
//! to one node are summed by [`Grad::accumulate`]; a row-sparse gradient reaching an op
//! (a table computed by other ops) is made dense before that op's rule reads it, so a
//! param keeps a row-sparse gradient exactly when it is read only by row-sparse rules.

use ndarray::{ArrayD, NdFloat};

use crate::error::{Error, Result};
use crate::graph::{Backprop, Graph, Node, Rule, Var};
use crate::sparse::Grad;

impl<A: NdFloat> Graph<A> {
    /// Reverse pass from the 1-element node `loss`.
    ///
    /// Adds `dL/d param` to every param's accumulated gradient (until [`Graph::zero_grad`]),
    /// walking only the nodes from which a param can be reached. Then releases the tape
    /// (every non-param node), whether or not the pass succeeded. Param gradients are only
    /// added once the whole walk succeeded, so an error leaves them as they were. Returns
    /// the loss value.
    pub fn backward(&mut self, loss: Var) -> Result<A> {
        let result = self.backward_pass(loss);
        self.reset();
        result
    }

    fn backward_pass(&mut self, loss: Var) -> Result<A> {
        let node = self.node(loss)?;
        if node.value.len() != 1 {
            return Err(Error::NotScalar {
                shape: node.value.shape().to_vec(),
            });
        }
        let loss_value = *node.value.iter().next().expect("one element");
        if !loss_value.is_finite() {
            return Err(Error::NonFinite {
                value: format!("{loss_value}"),
            });
        }
        if !node.requires_grad {
            return Ok(loss_value);
        }
        let order = self.topological_order(loss);
        let mut grads: Vec<Option<Grad<A>>> = Vec::new();
        grads.resize_with(self.slots.len(), || None);
        grads[loss.index()] = Some(Grad::Dense(ArrayD::from_elem(
            node.value.raw_dim(),
            A::one(),
        )));
        // Children come after their parents in `order`, so walking it backwards sees every
        // node only once all of its consumers have added their contribution.
        for &v in order.iter().rev() {
            let node = self.node(v)?;
            let Some(rule) = node.backward.as_ref() else {
                continue; // a leaf: params keep their gradient in `grads` until the end
            };
            let Some(grad) = grads[v.index()].take() else {
                continue;
            };
            let grad = grad.into_dense();
            let parents: Vec<&Node<A>> = node
                .parents
                .iter()
                .map(|&p| self.node(p))
                .collect::<Result<_>>()?;
            let inputs: Vec<&ArrayD<A>> = parents.iter().map(|p| &p.value).collect();
            let needs: Vec<bool> = parents.iter().map(|p| p.requires_grad).collect();
            let bp = Backprop {
                inputs: &inputs,
                output: &node.value,
                grad,
                needs: &needs,
            };
            let input_grads: Vec<Option<Grad<A>>> = match rule {
                Rule::Dense(backward) => backward(bp)?
                    .into_iter()
                    .map(|g| g.map(Grad::Dense))
                    .collect(),
                Rule::Sparse(backward) => backward(bp)?,
            };
            if input_grads.len() != parents.len() {
                return Err(Error::Op {
                    op: node.op.to_string(),
                    msg: format!(
                        "backward returned {} gradients for {} inputs",
                        input_grads.len(),
                        parents.len()
                    ),
                });
            }
            for ((&p, parent), g) in node.parents.iter().zip(&parents).zip(input_grads) {
                let Some(g) = g.filter(|_| parent.requires_grad) else {
                    continue;
                };
                if g.shape() != parent.value.shape() {
                    return Err(Error::shape(
                        node.op,
                        &[g.shape(), parent.value.shape()],
                        "backward produced a gradient whose shape differs from its input's",
                    ));
                }
                Grad::accumulate(&mut grads[p.index()], g);
            }
        }
        for i in 0..self.params.len() {
            let p = self.params[i];
            if let Some(g) = grads[p.index()].take() {
                Grad::accumulate(&mut self.node_mut(p)?.grad, g);
            }
        }
        Ok(loss_value)
    }

    /// Depth-first post-order of the nodes reachable from `root` through parents that
    /// require a gradient: every node appears after all of its parents.
    fn topological_order(&self, root: Var) -> Vec<Var> {
        let mut visited = vec![false; self.slots.len()];
        let mut order = Vec::new();
        // (node, index of the next parent to visit)
        let mut stack = vec![(root, 0usize)];
        visited[root.index()] = true;
        while let Some((v, next)) = stack.pop() {
            let parents = &self.node(v).expect("live node on the tape").parents;
            if let Some(&p) = parents.get(next) {
                stack.push((v, next + 1));
                let wanted = self.node(p).is_ok_and(|n| n.requires_grad);
                if wanted && !visited[p.index()] {
                    visited[p.index()] = true;
                    stack.push((p, 0));
                }
            } else {
                order.push(v);
            }
        }
        order
    }
}
