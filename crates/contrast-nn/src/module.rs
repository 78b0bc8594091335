//! The [`Module`] trait: a piece of a network that records its forward pass on a [`Graph`],
//! names its parameters and buffers, and switches between training and evaluation.
//!
//! Parameters live in the graph (persistent `param` leaves); a module holds their [`Var`]
//! handles. Buffers (batch-norm running statistics) are plain arrays the module owns. Names
//! are PyTorch-style dotted paths built from the tree of children (`layers.0.weight`), so a
//! state dict here has the keys a PyTorch `state_dict()` of the same architecture would have
//! (except batch norm's `num_batches_tracked`, which we do not keep).
//!
//! Layers that draw random numbers in `forward` (dropout) own a seeded stream. The tree's
//! streams can be saved and put back ([`Module::save_streams`], [`Module::restore_streams`]),
//! so that a forward pass can be replayed with the same random draws: a cached-gradient step
//! runs every chunk twice (once without a graph, once with one) and needs the same dropout
//! masks both times.

use ndarray::{ArrayViewD, ArrayViewMutD, NdFloat};
use rand_chacha::ChaCha8Rng;

use contrast_autodiff::{Graph, Var};

use crate::distributed::SharedCollective;
use crate::error::{Error, Result};
use crate::optim::ParamKind;
use crate::state::join_name;

/// A parameter of a module tree: its dotted name, its handle in the graph and its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedParam {
    /// Dotted name, e.g. `encoder.layer1.0.conv1.weight`.
    pub name: String,
    /// Handle of the param leaf in the graph.
    pub var: Var,
    /// Weight, bias or normalisation parameter.
    pub kind: ParamKind,
}

/// A network component. Leaves implement `forward` plus `own_params` / `own_buffers*` /
/// `set_own_training`; containers implement `forward` plus `children` / `children_mut`; the
/// provided methods walk the tree.
pub trait Module<A: NdFloat>: Send {
    /// Record the forward pass of `x` on `g` and return the output.
    fn forward(&mut self, g: &mut Graph<A>, x: Var) -> Result<Var>;

    /// Named sub-modules, in order (`("0", ..)`, `("encoder", ..)`).
    fn children(&self) -> Vec<(String, &dyn Module<A>)> {
        Vec::new()
    }

    /// Mutable access to the same sub-modules, in the same order.
    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<A>)> {
        Vec::new()
    }

    /// This module's own parameters (not its children's).
    fn own_params(&self) -> Vec<(&'static str, Var, ParamKind)> {
        Vec::new()
    }

    /// This module's own buffers (running statistics).
    fn own_buffers(&self) -> Vec<(&'static str, ArrayViewD<'_, A>)> {
        Vec::new()
    }

    /// Mutable views of the same buffers, in the same order.
    fn own_buffers_mut(&mut self) -> Vec<(&'static str, ArrayViewMutD<'_, A>)> {
        Vec::new()
    }

    /// Switch this module (not its children) between training and evaluation behaviour.
    fn set_own_training(&mut self, _training: bool) {}

    /// Hand this module (not its children) the collective of data-parallel training, if it
    /// couples the samples of a batch (batch norm); `None` returns to one process.
    fn set_own_collective(&mut self, _collective: Option<SharedCollective<A>>) {}

    /// This module's own random streams (not its children's): the ones `forward` draws from.
    fn own_streams_mut(&mut self) -> Vec<&mut ChaCha8Rng> {
        Vec::new()
    }

    /// Every parameter of the tree with its dotted name, depth first in declaration order.
    fn named_params(&self) -> Vec<NamedParam> {
        let mut out = Vec::new();
        collect_params(self, "", &mut out);
        out
    }

    /// Every buffer of the tree with its dotted name.
    fn named_buffers(&self) -> Vec<(String, ArrayViewD<'_, A>)> {
        let mut out = Vec::new();
        collect_buffers(self, "", &mut out);
        out
    }

    /// Visit every buffer of the tree mutably (used to load running statistics).
    fn visit_buffers_mut(&mut self, prefix: &str, f: &mut dyn FnMut(String, ArrayViewMutD<'_, A>)) {
        for (name, view) in self.own_buffers_mut() {
            f(join_name(prefix, name), view);
        }
        for (name, child) in self.children_mut() {
            child.visit_buffers_mut(&join_name(prefix, &name), f);
        }
    }

    /// Visit every random stream of the tree mutably, depth first in declaration order.
    fn visit_streams_mut(&mut self, f: &mut dyn FnMut(&mut ChaCha8Rng)) {
        for stream in self.own_streams_mut() {
            f(stream);
        }
        for (_, child) in self.children_mut() {
            child.visit_streams_mut(f);
        }
    }

    /// A copy of every random stream of the tree, in [`Module::visit_streams_mut`] order: the
    /// state the next `forward` starts its draws from.
    fn save_streams(&mut self) -> Vec<ChaCha8Rng> {
        let mut saved = Vec::new();
        self.visit_streams_mut(&mut |s| saved.push(s.clone()));
        saved
    }

    /// Puts back streams that [`Module::save_streams`] copied from this tree, so the next
    /// `forward` draws what the first `forward` after the copy drew.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `saved` does not hold one stream per stream of the tree
    /// (copied from another architecture); nothing is changed then.
    fn restore_streams(&mut self, saved: &[ChaCha8Rng]) -> Result<()> {
        let mut count = 0;
        self.visit_streams_mut(&mut |_| count += 1);
        if count != saved.len() {
            return Err(Error::InvalidConfig {
                what: "saved random streams",
                value: format!("{} streams for a module with {count}", saved.len()),
                why: "must come from the same module tree",
            });
        }
        let mut next = saved.iter();
        self.visit_streams_mut(&mut |s| {
            if let Some(old) = next.next() {
                s.clone_from(old);
            }
        });
        Ok(())
    }

    /// Training (`true`: batch statistics, dropout on) or evaluation mode for the whole tree.
    fn set_training(&mut self, training: bool) {
        self.set_own_training(training);
        for (_, child) in self.children_mut() {
            child.set_training(training);
        }
    }

    /// Hand every module of the tree that couples a batch the collective of data-parallel
    /// training (batch norm layers then synchronise their statistics over the ranks), or
    /// `None` to return to one process.
    fn set_collective(&mut self, collective: Option<SharedCollective<A>>) {
        self.set_own_collective(collective.clone());
        for (_, child) in self.children_mut() {
            child.set_collective(collective.clone());
        }
    }

    /// Number of scalar parameters in the tree.
    fn num_params(&self, g: &Graph<A>) -> usize {
        self.named_params()
            .iter()
            .map(|p| g.value(p.var).len())
            .sum()
    }
}

fn collect_params<A: NdFloat, M: Module<A> + ?Sized>(
    m: &M,
    prefix: &str,
    out: &mut Vec<NamedParam>,
) {
    for (name, var, kind) in m.own_params() {
        out.push(NamedParam {
            name: join_name(prefix, name),
            var,
            kind,
        });
    }
    for (name, child) in m.children() {
        collect_params(child, &join_name(prefix, &name), out);
    }
}

fn collect_buffers<'m, A: NdFloat, M: Module<A> + ?Sized>(
    m: &'m M,
    prefix: &str,
    out: &mut Vec<(String, ArrayViewD<'m, A>)>,
) {
    for (name, view) in m.own_buffers() {
        out.push((join_name(prefix, name), view));
    }
    for (name, child) in m.children() {
        collect_buffers(child, &join_name(prefix, &name), out);
    }
}
