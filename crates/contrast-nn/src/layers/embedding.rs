//! Embedding bag: one table row per id, summed or averaged over each bag of ids
//! (PyTorch's `nn.EmbeddingBag` with `mode="sum"` or `"mean"`).
//!
//! For a table `W: (buckets, dim)` and bag `b` with ids `i_1..i_{n_b}`:
//! `y_b = Σ_k w_k W[i_k]` (sum, optional per-id weights) or `y_b = (1/n_b) Σ_k W[i_k]`
//! (mean); an empty bag gives zeros (see
//! [`Graph::embedding_bag`](contrast_autodiff::Graph::embedding_bag)). The gradient of `W`
//! is row-sparse (the rows the batch used), which [`Adam`](crate::optim::Adam) and
//! [`Sgd`](crate::optim::Sgd) apply lazily through [`graph_step`](crate::optim::graph_step).
//!
//! # Input
//!
//! Bags are not a graph node, so [`Module::forward`] (which takes one) does not apply: it
//! returns [`Error::BagsInput`]. Call [`EmbeddingBag::forward_bags`] with a
//! [`Bags`](contrast_autodiff::Bags) instead. The table is still an ordinary parameter of
//! the module tree (`weight`), so parameter lists, state dicts, checkpoints and
//! `param_shapes` include it.

use std::marker::PhantomData;

use contrast_autodiff::{BagMode, Bags, Graph, Var};
use ndarray::NdFloat;
use rand::Rng;

use crate::error::{Error, Result};
use crate::init::Init;
use crate::module::Module;
use crate::optim::ParamKind;

/// `(N bags) -> (N, dim)`: the sum or mean of the table rows each bag names.
/// Parameter: `weight (buckets, dim)`.
#[derive(Clone, Debug)]
pub struct EmbeddingBag<A> {
    weight: Var,
    buckets: usize,
    dim: usize,
    mode: BagMode,
    _float: PhantomData<fn() -> A>,
}

impl<A: NdFloat> EmbeddingBag<A> {
    /// A table of `buckets` rows of width `dim`, drawn from `N(0, 1)` as PyTorch's
    /// `nn.EmbeddingBag` does.
    pub fn new(
        g: &mut Graph<A>,
        buckets: usize,
        dim: usize,
        mode: BagMode,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        Self::with_init(g, buckets, dim, mode, Init::Normal { std: 1.0 }, rng)
    }

    /// A table drawn from `init`.
    ///
    /// Errors: `buckets` or `dim` zero, or more than `2^32` buckets (ids are `u32`).
    pub fn with_init(
        g: &mut Graph<A>,
        buckets: usize,
        dim: usize,
        mode: BagMode,
        init: Init,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        if buckets == 0 || dim == 0 || buckets - 1 > u32::MAX as usize {
            return Err(Error::InvalidConfig {
                what: "embedding bag size",
                value: format!("{buckets} x {dim}"),
                why: "needs 1..=2^32 buckets and dim > 0",
            });
        }
        let weight = g.param(init.sample::<A>(&[buckets, dim], rng)?);
        Ok(Self {
            weight,
            buckets,
            dim,
            mode,
            _float: PhantomData,
        })
    }

    /// The embedding of every bag: `(bags.len(), dim)`.
    ///
    /// Errors: an id `>= buckets`, per-id weights in mean mode.
    pub fn forward_bags(&self, g: &mut Graph<A>, bags: &Bags<A>) -> Result<Var> {
        Ok(g.embedding_bag(self.weight, bags, self.mode)?)
    }

    /// Handle of the table `(buckets, dim)`.
    pub fn weight(&self) -> Var {
        self.weight
    }

    /// `(buckets, dim)`.
    pub fn dims(&self) -> (usize, usize) {
        (self.buckets, self.dim)
    }

    /// Sum or mean.
    pub fn mode(&self) -> BagMode {
        self.mode
    }
}

impl<A: NdFloat> Module<A> for EmbeddingBag<A> {
    /// Always [`Error::BagsInput`]: the input is bags, see [`EmbeddingBag::forward_bags`].
    fn forward(&mut self, _g: &mut Graph<A>, _x: Var) -> Result<Var> {
        Err(Error::BagsInput {
            layer: "EmbeddingBag",
        })
    }

    fn own_params(&self) -> Vec<(&'static str, Var, ParamKind)> {
        vec![("weight", self.weight, ParamKind::Weight)]
    }
}
