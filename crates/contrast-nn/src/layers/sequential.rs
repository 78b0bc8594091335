//! A chain of modules applied in order; children are named `0`, `1`, ... as in PyTorch.

use contrast_autodiff::{Graph, Var};
use ndarray::NdFloat;

use crate::error::Result;
use crate::module::Module;

/// Applies its children in order.
pub struct Sequential<A> {
    layers: Vec<Box<dyn Module<A>>>,
}

impl<A: NdFloat> Default for Sequential<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: NdFloat> Sequential<A> {
    /// An empty chain (the identity).
    pub fn new() -> Self {
        Self { layers: Vec::new() }
    }

    /// Append a module (builder style).
    pub fn with(mut self, m: impl Module<A> + 'static) -> Self {
        self.push(m);
        self
    }

    /// Append a module.
    pub fn push(&mut self, m: impl Module<A> + 'static) {
        self.layers.push(Box::new(m));
    }

    /// Number of children.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// True when there are no children.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl<A: NdFloat> Module<A> for Sequential<A> {
    fn forward(&mut self, g: &mut Graph<A>, x: Var) -> Result<Var> {
        self.layers.iter_mut().try_fold(x, |x, m| m.forward(g, x))
    }

    fn children(&self) -> Vec<(String, &dyn Module<A>)> {
        self.layers
            .iter()
            .enumerate()
            .map(|(i, m)| (i.to_string(), m.as_ref() as &dyn Module<A>))
            .collect()
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<A>)> {
        self.layers
            .iter_mut()
            .enumerate()
            .map(|(i, m)| (i.to_string(), m.as_mut() as &mut dyn Module<A>))
            .collect()
    }
}
