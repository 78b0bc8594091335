//! The arena of nodes (the tape), the `Var` handles into it, and the reverse pass.
//!
//! Every value lives in a slot of `Graph::slots`; a [`Var`] is the slot index plus the slot's
//! generation, so a handle to a released node is detected instead of silently reading the
//! node that reused the slot. An op node stores its value, its parents and a boxed backward
//! rule that maps `dL/d output` to `dL/d input` for each parent. The reverse pass itself
//! is in [`crate::backprop`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use ndarray::{ArrayD, NdFloat};

use crate::error::{Error, Result};
use crate::kernels::MatmulBackend;
use crate::sparse::{Grad, RowSparse};

/// Handle of a node in a [`Graph`]: its arena slot and the slot's generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Var {
    /// Which graph made the handle, so a handle used on another graph is caught.
    graph: u32,
    index: u32,
    generation: u32,
}

impl Var {
    /// The arena slot of this handle (stable while the node lives).
    pub fn index(self) -> usize {
        self.index as usize
    }
}

/// What a backward rule receives: the values around one node and the gradient reaching it.
pub(crate) struct Backprop<'a, A> {
    /// Values of the node's parents, in argument order.
    pub inputs: &'a [&'a ArrayD<A>],
    /// The node's own value.
    pub output: &'a ArrayD<A>,
    /// `dL/d output`, same shape as `output`, handed over by value: a rule may reuse its
    /// buffer (e.g. scale it in place, or pass it on unchanged) instead of allocating.
    pub grad: ArrayD<A>,
    /// Whether each parent needs a gradient (the others may be skipped: return `None`).
    pub needs: &'a [bool],
}

/// A backward rule: `dL/d input` for each parent (`None` where none is needed).
pub(crate) type BackwardFn<A> =
    Box<dyn Fn(Backprop<'_, A>) -> Result<Vec<Option<ArrayD<A>>>> + Send + Sync>;

/// A backward rule whose gradients may be row-sparse ([`Grad::Rows`]).
pub(crate) type SparseBackwardFn<A> =
    Box<dyn Fn(Backprop<'_, A>) -> Result<Vec<Option<Grad<A>>>> + Send + Sync>;

/// The backward rule recorded with an op.
pub(crate) enum Rule<A> {
    /// Dense gradients (every op but `embedding_bag`).
    Dense(BackwardFn<A>),
    /// Gradients that may be row-sparse.
    Sparse(SparseBackwardFn<A>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Trainable leaf: survives `backward` and `reset`, accumulates a gradient.
    Param,
    /// Constant leaf or op result: part of the step's tape.
    Tape,
}

pub(crate) struct Node<A> {
    pub(crate) value: ArrayD<A>,
    pub(crate) role: Role,
    pub(crate) parents: Vec<Var>,
    pub(crate) backward: Option<Rule<A>>,
    /// Whether a param can be reached from this node (else it is pruned from the walk).
    pub(crate) requires_grad: bool,
    /// Accumulated gradient (params only): dense, or row-sparse while every contribution was.
    pub(crate) grad: Option<Grad<A>>,
    /// Op name, for error messages.
    pub(crate) op: &'static str,
}

pub(crate) struct Slot<A> {
    generation: u32,
    node: Option<Node<A>>,
}

/// The arena of nodes: params that persist across steps plus the current step's tape.
pub struct Graph<A> {
    /// Distinct per graph (a process-wide counter), stamped into every handle.
    id: u32,
    pub(crate) slots: Vec<Slot<A>>,
    free: Vec<u32>,
    pub(crate) params: Vec<Var>,
    recording: bool,
    pub(crate) matmul_backend: Option<Arc<dyn MatmulBackend<A>>>,
}

impl<A: NdFloat> Default for Graph<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: NdFloat> Graph<A> {
    /// An empty graph that records backward rules.
    pub fn new() -> Self {
        static NEXT_ID: AtomicU32 = AtomicU32::new(0);
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            slots: Vec::new(),
            free: Vec::new(),
            params: Vec::new(),
            recording: true,
            matmul_backend: None,
        }
    }

    fn alloc(&mut self, node: Node<A>) -> Var {
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            slot.node = Some(node);
            Var {
                graph: self.id,
                index,
                generation: slot.generation,
            }
        } else {
            let index = u32::try_from(self.slots.len()).expect("more than 2^32 nodes");
            self.slots.push(Slot {
                generation: 0,
                node: Some(node),
            });
            Var {
                graph: self.id,
                index,
                generation: 0,
            }
        }
    }

    fn leaf(&mut self, value: ArrayD<A>, role: Role) -> Var {
        self.alloc(Node {
            value,
            role,
            parents: Vec::new(),
            backward: None,
            requires_grad: role == Role::Param,
            grad: None,
            op: if role == Role::Param {
                "param"
            } else {
                "input"
            },
        })
    }

    /// A persistent trainable leaf: it survives `backward` and `reset` and accumulates a
    /// gradient.
    pub fn param(&mut self, value: ArrayD<A>) -> Var {
        let v = self.leaf(value, Role::Param);
        self.params.push(v);
        v
    }

    /// A constant leaf of the current step (no gradient), released by `backward`/`reset`.
    pub fn input(&mut self, value: ArrayD<A>) -> Var {
        self.leaf(value, Role::Tape)
    }

    pub(crate) fn node(&self, v: Var) -> Result<&Node<A>> {
        let self_id = self.id;
        self.slots
            .get(v.index())
            .filter(|s| s.generation == v.generation && v.graph == self_id)
            .and_then(|s| s.node.as_ref())
            .ok_or(Error::StaleVar {
                index: v.index(),
                generation: v.generation,
            })
    }

    pub(crate) fn node_mut(&mut self, v: Var) -> Result<&mut Node<A>> {
        let self_id = self.id;
        self.slots
            .get_mut(v.index())
            .filter(|s| s.generation == v.generation && v.graph == self_id)
            .and_then(|s| s.node.as_mut())
            .ok_or(Error::StaleVar {
                index: v.index(),
                generation: v.generation,
            })
    }

    /// The value of a node.
    ///
    /// # Panics
    /// On a stale handle (a node released by `backward`/`reset`): a bug in the caller. Use
    /// [`Graph::try_value`] to get an error instead.
    pub fn value(&self, v: Var) -> &ArrayD<A> {
        match self.try_value(v) {
            Ok(value) => value,
            Err(e) => panic!("Graph::value: {e}"),
        }
    }

    /// The value of a node, or [`Error::StaleVar`].
    pub fn try_value(&self, v: Var) -> Result<&ArrayD<A>> {
        self.node(v).map(|n| &n.value)
    }

    /// Mutable value of a param, for optimizers that update in place.
    ///
    /// # Panics
    /// On a stale handle, or on a node that is not a param (changing an op's value would
    /// make its recorded backward rule wrong).
    pub fn value_mut(&mut self, param: Var) -> &mut ArrayD<A> {
        match self.node_mut(param) {
            Ok(n) if n.role == Role::Param => &mut n.value,
            Ok(n) => panic!(
                "Graph::value_mut: node {:?} ({}) is not a param",
                param, n.op
            ),
            Err(e) => panic!("Graph::value_mut: {e}"),
        }
    }

    /// The dense gradient accumulated in a param since the last `zero_grad`.
    ///
    /// `None` if no backward reached it, if `v` is not a live param, **or if its gradient
    /// is row-sparse** (a table read only by `embedding_bag`): [`Graph::gradient`] returns
    /// either kind, [`Graph::sparse_grad`] the row-sparse one.
    pub fn grad(&self, v: Var) -> Option<&ArrayD<A>> {
        self.gradient(v).and_then(Grad::as_dense)
    }

    /// The row-sparse gradient accumulated in a param since the last `zero_grad`: `Some`
    /// only when every contribution to it was row-sparse (see [`crate::sparse`]).
    pub fn sparse_grad(&self, v: Var) -> Option<&RowSparse<A>> {
        self.gradient(v).and_then(Grad::as_rows)
    }

    /// The gradient accumulated in a param since the last `zero_grad`, dense or row-sparse
    /// (`None` if no backward reached it, or if `v` is not a live param).
    pub fn gradient(&self, v: Var) -> Option<&Grad<A>> {
        self.node(v).ok().and_then(|n| n.grad.as_ref())
    }

    /// Clears the accumulated gradient of every param.
    pub fn zero_grad(&mut self) {
        for i in 0..self.params.len() {
            let p = self.params[i];
            if let Ok(n) = self.node_mut(p) {
                n.grad = None;
            }
        }
    }

    /// Removes a param, returning its value and the gradient it accumulated, dense (`None`
    /// if no backward reached it; a row-sparse gradient is made dense). For temporary leaves whose gradient the caller wants: e.g. the
    /// embeddings of a cached-gradient step, made params so that `backward` gives
    /// `dL/d embeddings`, then removed so that the graph keeps only the model's params.
    ///
    /// # Errors
    /// [`Error::StaleVar`] for a released handle, [`Error::Op`] for a node that is not a param.
    pub fn remove_param(&mut self, param: Var) -> Result<(ArrayD<A>, Option<ArrayD<A>>)> {
        let node = self.node(param)?;
        if node.role != Role::Param {
            return Err(Error::Op {
                op: "remove_param".into(),
                msg: format!("node {} ({}) is not a param", param.index(), node.op),
            });
        }
        self.params.retain(|&p| p != param);
        let slot = &mut self.slots[param.index()];
        let node = slot.node.take().expect("checked live above");
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(param.index);
        Ok((node.value, node.grad.map(Grad::into_dense)))
    }

    /// Replaces the accumulated gradient of a param (`None` clears it): data-parallel
    /// training writes the gradient averaged over ranks back this way before the step.
    ///
    /// # Errors
    /// A stale handle, a node that is not a param, or a gradient of another shape.
    pub fn set_grad(&mut self, param: Var, grad: Option<ArrayD<A>>) -> Result<()> {
        self.set_gradient(param, grad.map(Grad::Dense))
    }

    /// [`Graph::set_grad`] for a gradient of either kind (dense or row-sparse).
    ///
    /// # Errors
    /// As [`Graph::set_grad`].
    pub fn set_gradient(&mut self, param: Var, grad: Option<Grad<A>>) -> Result<()> {
        let node = self.node_mut(param)?;
        if node.role != Role::Param {
            return Err(Error::invalid(
                "set_grad",
                format!("node {} ({}) is not a param", param.index(), node.op),
            ));
        }
        if let Some(g) = grad.as_ref().filter(|g| g.shape() != node.value.shape()) {
            return Err(Error::shape(
                "set_grad",
                &[g.shape(), node.value.shape()],
                "the gradient must have the param's shape",
            ));
        }
        node.grad = grad;
        Ok(())
    }

    /// All params, in creation order.
    pub fn params(&self) -> Vec<Var> {
        self.params.clone()
    }

    /// Number of live nodes (params plus the current tape): after `backward` or `reset` it
    /// equals the number of params.
    pub fn live_nodes(&self) -> usize {
        self.slots.iter().filter(|s| s.node.is_some()).count()
    }

    /// Whether a gradient can flow from `v` back to some param.
    pub fn requires_grad(&self, v: Var) -> bool {
        self.node(v).map(|n| n.requires_grad).unwrap_or(false)
    }

    /// Whether ops record backward rules (false inside [`Graph::no_grad`]).
    pub fn is_recording(&self) -> bool {
        self.recording
    }

    /// Turns recording on or off. Off (inference mode), ops still compute values but record
    /// no parents and no backward rules, so nothing flows back through them.
    pub fn set_recording(&mut self, on: bool) {
        self.recording = on;
    }

    /// Runs `f` with recording off, then restores the previous mode.
    pub fn no_grad<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        let previous = self.recording;
        self.recording = false;
        let result = f(self);
        self.recording = previous;
        result
    }

    /// A leaf with the same value as `v` through which no gradient flows.
    pub fn detach(&mut self, v: Var) -> Var {
        let value = self.value(v).clone();
        self.input(value)
    }

    /// Values of `vars`, or the first stale handle's error.
    pub(crate) fn values(&self, vars: &[Var]) -> Result<Vec<&ArrayD<A>>> {
        vars.iter().map(|&v| self.try_value(v)).collect()
    }

    /// Adds an op node. The backward rule is kept only when recording and some parent leads
    /// to a param; otherwise the node is a plain value (pruned at construction).
    pub(crate) fn record(
        &mut self,
        op: &'static str,
        value: ArrayD<A>,
        parents: &[Var],
        backward: BackwardFn<A>,
    ) -> Result<Var> {
        self.record_rule(op, value, parents, Rule::Dense(backward))
    }

    /// [`Graph::record`] for any [`Rule`].
    pub(crate) fn record_rule(
        &mut self,
        op: &'static str,
        value: ArrayD<A>,
        parents: &[Var],
        backward: Rule<A>,
    ) -> Result<Var> {
        let mut requires_grad = false;
        for &p in parents {
            requires_grad |= self.node(p)?.requires_grad;
        }
        let requires_grad = requires_grad && self.recording;
        let (parents, backward) = if requires_grad {
            (parents.to_vec(), Some(backward))
        } else {
            (Vec::new(), None)
        };
        Ok(self.alloc(Node {
            value,
            role: Role::Tape,
            parents,
            backward,
            requires_grad,
            grad: None,
            op,
        }))
    }

    /// Releases every node that is not a param (the step's tape), without a backward pass.
    pub fn reset(&mut self) {
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if slot.node.as_ref().is_some_and(|n| n.role == Role::Tape) {
                slot.node = None;
                slot.generation = slot.generation.wrapping_add(1);
                self.free.push(index as u32);
            }
        }
    }

    /// Installs (or removes, with `None`) the kernel that computes every matmul of this
    /// graph, forward and backward. Without one, [`contrast_linalg::matmul`] runs.
    pub fn set_matmul_backend(&mut self, backend: Option<Arc<dyn MatmulBackend<A>>>) {
        self.matmul_backend = backend;
    }
}
