//! Embedding bags: the sum or mean of table rows over variable-length bags of ids, with a
//! backward that touches only the rows the bags used.
//!
//! For a table `W: (n_rows, d)` and bags `B_b = (i_1, ..., i_{n_b})` (`b = 0..n_bags`),
//! with optional per-id weights `w_k` (sum mode only, as PyTorch's `per_sample_weights`):
//!
//! ```text
//! sum:   y_b = Σ_k w_k W[i_k]        (w_k = 1 without weights)
//! mean:  y_b = (1 / n_b) Σ_k W[i_k]
//! ```
//!
//! An empty bag (`n_b = 0`) gives the zero vector in both modes, as `nn.EmbeddingBag` does,
//! and sends no gradient. The output is `(n_bags, d)`. With `c_k = w_k` (sum) or `1 / n_b`
//! (mean) the coefficient of occurrence `k` of bag `b`,
//!
//! ```text
//! dL/dW[r] = Σ_{(b, k) : i_k = r} c_k dL/dy_b
//! ```
//!
//! which is zero for every row no bag names. The backward returns it as a
//! [`RowSparse`](crate::RowSparse) gradient of the used rows only, coalesced (a row named
//! several times, in one bag or in several, appears once with its contributions summed):
//! no `(n_rows, d)` array is allocated, so a step costs the same for a table of 2^18 rows
//! as for one of 2^10. The weights are constants (no gradient flows to them).
//!
//! Both passes run in parallel on rayon (forward over bags, backward over used rows); each
//! output row is summed by one task in a fixed order, so results do not depend on the
//! number of threads.

use ndarray::{Array2, Axis, Ix2, NdFloat};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::graph::{Backprop, Graph, Rule, Var};
use crate::sparse::{Grad, RowSparse};

/// How [`Graph::embedding_bag`] reduces the rows of a bag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BagMode {
    /// `y_b = Σ_k w_k W[i_k]` (weights optional).
    Sum,
    /// `y_b = (1 / n_b) Σ_k W[i_k]` (no weights).
    Mean,
}

/// Variable-length bags of row ids, in PyTorch's `EmbeddingBag` layout: the ids of every
/// bag in one flat list, and `offsets[b]` the position of bag `b`'s first id, so that bag
/// `b` is `ids[offsets[b]..offsets[b + 1]]` and the last bag runs to the end of `ids`.
/// A bag whose offset equals the next one is empty. Optional weights, one per id.
///
/// ```
/// use contrast_autodiff::Bags;
///
/// let bags = Bags::<f32>::from_lists(&[vec![3, 1], vec![], vec![7, 7, 2]]);
/// assert_eq!(bags.ids(), &[3, 1, 7, 7, 2]);
/// assert_eq!(bags.offsets(), &[0, 2, 2]);
/// assert_eq!(bags.bag(2), &[7, 7, 2]);
/// assert!(Bags::<f32>::new(vec![1, 2], vec![1]).is_err()); // the first offset must be 0
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Bags<A> {
    ids: Vec<u32>,
    offsets: Vec<usize>,
    weights: Option<Vec<A>>,
}

impl<A: NdFloat> Bags<A> {
    /// Bags from flat `ids` and the start `offsets` of each bag.
    ///
    /// Errors: a first offset other than 0, decreasing offsets, an offset past `ids.len()`,
    /// ids without any bag (`offsets` empty, `ids` not), more than `u32::MAX` ids.
    pub fn new(ids: Vec<u32>, offsets: Vec<usize>) -> Result<Self> {
        let bad = |msg: String| Err(Error::invalid("embedding_bag", msg));
        if u32::try_from(ids.len()).is_err() {
            return bad(format!("{} ids (at most u32::MAX)", ids.len()));
        }
        match offsets.first() {
            None if !ids.is_empty() => {
                return bad(format!("{} ids but no bag (offsets empty)", ids.len()));
            }
            Some(&first) if first != 0 => {
                return bad(format!("offsets must start at 0, got {first}"));
            }
            _ => {}
        }
        if let Some(b) = (1..offsets.len()).find(|&b| offsets[b] < offsets[b - 1]) {
            return bad(format!(
                "offsets must not decrease: offsets[{}] = {} > offsets[{b}] = {}",
                b - 1,
                offsets[b - 1],
                offsets[b]
            ));
        }
        if let Some(&last) = offsets.last().filter(|&&o| o > ids.len()) {
            return bad(format!("offset {last} is past the {} ids", ids.len()));
        }
        Ok(Self {
            ids,
            offsets,
            weights: None,
        })
    }

    /// Bags from flat `ids` and `n + 1` offsets, the last one `ids.len()` (the CSR layout,
    /// PyTorch's `include_last_offset=True`): bag `b` is `ids[offsets[b]..offsets[b + 1]]`.
    ///
    /// Errors: as [`Bags::new`], and a last offset other than `ids.len()` (or no offset).
    pub fn from_csr(ids: Vec<u32>, mut offsets: Vec<usize>) -> Result<Self> {
        if offsets.last() != Some(&ids.len()) {
            return Err(Error::invalid(
                "embedding_bag",
                format!(
                    "CSR offsets must end at the {} ids, got {:?}",
                    ids.len(),
                    offsets.last()
                ),
            ));
        }
        offsets.pop();
        if offsets.is_empty() && !ids.is_empty() {
            return Err(Error::invalid(
                "embedding_bag",
                "CSR offsets [n] with n > 0 ids describe no bag",
            ));
        }
        Self::new(ids, offsets)
    }

    /// Bags from one list of ids per bag.
    pub fn from_lists<L: AsRef<[u32]>>(lists: &[L]) -> Self {
        let mut ids = Vec::with_capacity(lists.iter().map(|l| l.as_ref().len()).sum());
        let mut offsets = Vec::with_capacity(lists.len());
        for l in lists {
            offsets.push(ids.len());
            ids.extend_from_slice(l.as_ref());
        }
        Self {
            ids,
            offsets,
            weights: None,
        }
    }

    /// The same bags with one weight per id (`per_sample_weights`; sum mode only).
    ///
    /// Errors: a count of weights other than the count of ids, or a weight that is not finite.
    pub fn with_weights(mut self, weights: Vec<A>) -> Result<Self> {
        if weights.len() != self.ids.len() {
            return Err(Error::shape(
                "embedding_bag",
                &[&[weights.len()], &[self.ids.len()]],
                "one weight per id",
            ));
        }
        if let Some((k, w)) = weights.iter().enumerate().find(|(_, w)| !w.is_finite()) {
            return Err(Error::invalid(
                "embedding_bag",
                format!("weight {w} at position {k} is not finite"),
            ));
        }
        self.weights = Some(weights);
        Ok(self)
    }

    /// Number of bags.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    /// Whether there are no bags.
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Every id, bag after bag.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// Where each bag starts in [`Bags::ids`].
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// The per-id weights, if any.
    pub fn weights(&self) -> Option<&[A]> {
        self.weights.as_deref()
    }

    /// The positions in [`Bags::ids`] of bag `b`'s ids.
    ///
    /// # Panics
    /// When `b >= self.len()`.
    pub fn range(&self, b: usize) -> std::ops::Range<usize> {
        let end = self.offsets.get(b + 1).copied().unwrap_or(self.ids.len());
        self.offsets[b]..end
    }

    /// The ids of bag `b`.
    ///
    /// # Panics
    /// When `b >= self.len()`.
    pub fn bag(&self, b: usize) -> &[u32] {
        &self.ids[self.range(b)]
    }

    /// The coefficient `c_k` of each id (see the module docs): its weight, or `1 / n_b`.
    fn coefficients(&self, mode: BagMode) -> Vec<A> {
        match (mode, &self.weights) {
            (BagMode::Sum, Some(w)) => w.clone(),
            (BagMode::Sum, None) => vec![A::one(); self.ids.len()],
            (BagMode::Mean, _) => {
                let mut c = Vec::with_capacity(self.ids.len());
                for b in 0..self.len() {
                    let r = self.range(b);
                    let scale = A::from(r.len()).expect("float").recip();
                    c.extend(std::iter::repeat_n(scale, r.len()));
                }
                c
            }
        }
    }
}

impl<A: NdFloat> Graph<A> {
    /// Embedding bag: per bag `b` with ids `i_1..i_{n_b}`, the sum or mean of the rows of
    /// `table` (`W: (n_rows, d)`) that its ids name; the output is `(bags.len(), d)`:
    ///
    /// ```text
    /// BagMode::Sum:   y_b = Σ_k w_k W[i_k]     (w_k the bag's weights, or 1)
    /// BagMode::Mean:  y_b = (1 / n_b) Σ_k W[i_k]
    /// empty bag:      y_b = 0
    /// ```
    ///
    /// The backward touches only the rows the bags name: `dL/dW[r] = Σ_{i_k = r} c_k dL/dy_b`
    /// (`c_k = w_k` or `1 / n_b`) arrives as a coalesced [`RowSparse`] gradient, read with
    /// [`Graph::sparse_grad`] (a param also read by a dense op gets a dense sum instead: see
    /// [`crate::sparse`]). The weights are constants. Forward and backward run on rayon and
    /// do not depend on the number of threads.
    ///
    /// Errors: a table that is not 2-D, an id `>= n_rows`, weights with [`BagMode::Mean`]
    /// (PyTorch allows `per_sample_weights` only with `mode="sum"`).
    ///
    /// ```
    /// use contrast_autodiff::{BagMode, Bags, Graph};
    /// use ndarray::{array, ArrayD};
    ///
    /// let mut g = Graph::<f64>::new();
    /// let table = g.param(array![[1.0, 0.0], [0.0, 1.0], [2.0, 2.0], [5.0, 5.0]].into_dyn());
    /// let bags = Bags::from_lists(&[vec![0, 2], vec![], vec![1, 1, 2]]);
    /// let y = g.embedding_bag(table, &bags, BagMode::Mean)?;
    /// assert_eq!(g.value(y), &array![[1.5, 1.0], [0.0, 0.0], [2.0 / 3.0, 4.0 / 3.0]].into_dyn());
    ///
    /// let loss = g.sum_all(y)?;
    /// g.backward(loss)?;
    /// let grad = g.sparse_grad(table).unwrap();
    /// assert_eq!(grad.rows(), &[0, 1, 2]); // row 3 is untouched
    /// assert_eq!(grad.values(), &array![[0.5, 0.5], [2.0 / 3.0, 2.0 / 3.0], [0.5 + 1.0 / 3.0, 0.5 + 1.0 / 3.0]]);
    /// # Ok::<(), contrast_autodiff::Error>(())
    /// ```
    pub fn embedding_bag(&mut self, table: Var, bags: &Bags<A>, mode: BagMode) -> Result<Var> {
        let value = self.try_value(table)?;
        let Ok(w) = value.view().into_dimensionality::<Ix2>() else {
            return Err(Error::shape(
                "embedding_bag",
                &[value.shape()],
                "expects a 2-D table (n_rows, dim)",
            ));
        };
        let (n_rows, dim) = w.dim();
        if let Some((k, id)) = bags
            .ids
            .iter()
            .enumerate()
            .find(|(_, id)| **id as usize >= n_rows)
        {
            return Err(Error::invalid(
                "embedding_bag",
                format!("id {id} at position {k} is out of range for a table of {n_rows} rows"),
            ));
        }
        if mode == BagMode::Mean && bags.weights.is_some() {
            return Err(Error::invalid(
                "embedding_bag",
                "per-id weights are only defined for BagMode::Sum (as PyTorch's per_sample_weights)",
            ));
        }
        let coef = bags.coefficients(mode);
        let w = w.as_standard_layout();
        let table_rows = w.as_slice().expect("standard layout");
        let mut out = Array2::<A>::zeros((bags.len(), dim));
        out.axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(|(b, mut y)| {
                let y = y.as_slice_mut().expect("row of a standard array");
                for k in bags.range(b) {
                    let row = &table_rows[bags.ids[k] as usize * dim..][..dim];
                    let c = coef[k];
                    for (y, &x) in y.iter_mut().zip(row) {
                        *y += c * x;
                    }
                }
            });
        let ids = bags.ids.clone();
        let bag_of = bag_of_each_id(bags);
        let backward = move |bp: Backprop<'_, A>| {
            let grad = bp.grad.as_standard_layout();
            let grad = grad.as_slice().expect("standard layout");
            let rows = used_rows(&ids, n_rows, dim, |k, acc: &mut [A]| {
                let g = &grad[bag_of[k] as usize * dim..][..dim];
                let c = coef[k];
                for (a, &g) in acc.iter_mut().zip(g) {
                    *a += c * g;
                }
            });
            Ok(vec![Some(Grad::Rows(rows))])
        };
        self.record_rule(
            "embedding_bag",
            out.into_dyn(),
            &[table],
            Rule::Sparse(Box::new(backward)),
        )
    }
}

/// For each position in `bags.ids`, the bag it belongs to.
fn bag_of_each_id<A: NdFloat>(bags: &Bags<A>) -> Vec<u32> {
    let mut of = Vec::with_capacity(bags.ids.len());
    for b in 0..bags.len() {
        of.extend(std::iter::repeat_n(b as u32, bags.range(b).len()));
    }
    of
}

/// The coalesced row-sparse matrix whose row `r` is `Σ_{k : ids[k] = r} add(k)`: the rows
/// that `ids` names, each summed by one task over its occurrences in increasing `k`.
fn used_rows<A: NdFloat>(
    ids: &[u32],
    n_rows: usize,
    dim: usize,
    add: impl Fn(usize, &mut [A]) + Sync,
) -> RowSparse<A> {
    // Sorting (id, position) pairs groups each row's occurrences in position order; the
    // keys are distinct, so the sorted order, and every sum, is the same on any thread count.
    let mut order: Vec<u64> = ids
        .iter()
        .enumerate()
        .map(|(k, &id)| (u64::from(id) << 32) | k as u64)
        .collect();
    order.par_sort_unstable();
    let mut rows = Vec::new();
    let mut starts = Vec::new();
    for (j, key) in order.iter().enumerate() {
        let id = (key >> 32) as usize;
        if rows.last() != Some(&id) {
            rows.push(id);
            starts.push(j);
        }
    }
    starts.push(order.len());
    let mut values = Array2::<A>::zeros((rows.len(), dim));
    values
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(starts.par_windows(2))
        .for_each(|(mut acc, span)| {
            let acc = acc.as_slice_mut().expect("row of a standard array");
            for key in &order[span[0]..span[1]] {
                add((key & u64::from(u32::MAX)) as usize, acc);
            }
        });
    RowSparse::from_coalesced(n_rows, rows, values)
}
