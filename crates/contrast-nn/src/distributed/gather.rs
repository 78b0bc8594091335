//! Gathering every rank's rows into the global batch, with the gradient of each row summed
//! over ranks and handed back to the rank that owns it.
//!
//! ```text
//! forward   Z = [z_0; z_1; ...; z_{R-1}]                 (all-gather, rank order)
//! backward  dz_r = (Σ_s G_s)[rows of rank r]             (all-reduce sum, then a slice)
//! ```
//!
//! `G_s` is the upstream gradient `dL/dZ` that rank `s` computed. Under the convention of
//! [`crate::distributed`] every rank computes the same loss on the same `Z`, so
//! `Σ_s G_s = R dL/dZ`, and the mean over ranks in
//! [`all_reduce_gradients`](super::all_reduce_gradients) divides the `R` back out.

use std::ops::Range;

use contrast_autodiff::{CustomOp, Graph, Var};
use contrast_collective::Collective;
use ndarray::{ArrayD, IxDyn, NdFloat};

use super::{SharedCollective, op_error};
use crate::error::{Error, Result};

/// What the backward of [`gather_rows_with`] does with the upstream gradient.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SumBack {
    /// Sum the upstream gradient over ranks and keep this rank's rows: the gradient of the
    /// sum of every rank's loss with respect to this rank's rows. The correct rule.
    #[default]
    AllReduce,
    /// Keep only this rank's own upstream rows, without communicating. **Wrong** for a loss
    /// over the gathered batch: after the mean over ranks every gradient is `R` times too
    /// small (the bug of gathers that do not sum back). It exists as the negative control of
    /// the equivalence tests, which must fail with it.
    Skip,
}

/// The gathered batch and where each rank's rows sit in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatheredRows {
    /// The node holding every rank's rows, rank 0 first: shape `(Σ n_r, ...)`.
    pub var: Var,
    /// Rows contributed by each rank, `n_r`.
    pub rows: Vec<usize>,
    /// This rank.
    pub rank: usize,
}

impl GatheredRows {
    /// Rows of the gathered batch that this rank contributed.
    pub fn own_rows(&self) -> Range<usize> {
        let start = self.rows[..self.rank].iter().sum();
        start..start + self.rows[self.rank]
    }

    /// Rows of the gathered batch.
    pub fn total_rows(&self) -> usize {
        self.rows.iter().sum()
    }
}

/// [`gather_rows_with`] with the correct backward, [`SumBack::AllReduce`].
pub fn gather_rows<A: NdFloat>(
    g: &mut Graph<A>,
    x: Var,
    collective: &SharedCollective<A>,
) -> Result<GatheredRows> {
    gather_rows_with(g, x, collective, SumBack::AllReduce)
}

/// Gathers every rank's `x` of shape `(n_r, ...)` into `(Σ n_r, ...)`, rank order; ranks
/// may hold different row counts (including none) but must agree on the rest of the shape.
///
/// Communicates, per rank: a header with its row length, then its `n_r · row` elements out
/// and the others' in; in backward (when `x` needs a gradient) an all-reduce of the whole
/// `(Σ n_r) · row` upstream gradient. Every rank must call it at the same point of the
/// same graph.
///
/// # Errors
/// A 0-d `x`, rows of zero elements, ranks whose row lengths differ
/// ([`contrast_collective::Error::Mismatch`] on every rank), or a failed collective.
pub fn gather_rows_with<A: NdFloat>(
    g: &mut Graph<A>,
    x: Var,
    collective: &SharedCollective<A>,
    sum_back: SumBack,
) -> Result<GatheredRows> {
    let value = g.try_value(x)?;
    let shape = value.shape().to_vec();
    let Some(&own_rows) = shape.first() else {
        return Err(Error::InputShape {
            layer: "gather_rows",
            expected: "(rows, ...)".into(),
            got: shape,
        });
    };
    let row_len: usize = shape[1..].iter().product();
    let row_lens = collective.all_gather_count(row_len)?;
    if row_lens.iter().any(|&l| l != row_lens[0]) || row_len == 0 {
        return Err(contrast_collective::Error::Mismatch {
            op: "gather_rows",
            what: "row length (it must be one non-zero length on every rank)",
            per_rank: row_lens.iter().map(|&l| l as u64).collect(),
        }
        .into());
    }
    let local = value.as_standard_layout();
    let gathered = collective.all_gather_varcount(local.as_slice().expect("standard layout"))?;
    let rows: Vec<usize> = gathered.counts.iter().map(|c| c / row_len).collect();
    let rank = collective.rank();
    let start = gathered.offset(rank) / row_len;
    let mut out_shape = shape.clone();
    out_shape[0] = rows.iter().sum();
    let out =
        ArrayD::from_shape_vec(IxDyn(&out_shape), gathered.data).expect("counts are whole rows");
    let op = GatherRows {
        collective: SharedCollective::clone(collective),
        rows: start..start + own_rows,
        row_len,
        input_shape: shape,
        sum_back,
    };
    let var = g.custom(&[x], out, Box::new(op))?;
    Ok(GatheredRows { var, rows, rank })
}

/// The backward rule of [`gather_rows_with`].
struct GatherRows<A> {
    collective: SharedCollective<A>,
    /// This rank's rows in the gathered batch.
    rows: Range<usize>,
    row_len: usize,
    input_shape: Vec<usize>,
    sum_back: SumBack,
}

impl<A: NdFloat> CustomOp<A> for GatherRows<A> {
    fn name(&self) -> &str {
        "gather_rows"
    }

    fn backward(
        &self,
        _inputs: &[&ArrayD<A>],
        _output: &ArrayD<A>,
        grad_output: &ArrayD<A>,
    ) -> contrast_autodiff::Result<Vec<Option<ArrayD<A>>>> {
        let own = self.rows.start * self.row_len..self.rows.end * self.row_len;
        let grad = match self.sum_back {
            SumBack::AllReduce => {
                let mut all = grad_output.iter().copied().collect::<Vec<A>>();
                self.collective
                    .all_reduce_sum(&mut all)
                    .map_err(|e| op_error("gather_rows", e))?;
                all[own].to_vec()
            }
            SumBack::Skip => grad_output
                .iter()
                .copied()
                .skip(own.start)
                .take(own.len())
                .collect(),
        };
        let grad = ArrayD::from_shape_vec(IxDyn(&self.input_shape), grad).expect("own rows");
        Ok(vec![Some(grad)])
    }
}

/// The row order that turns gathered per-rank blocks into the global view-major layout.
///
/// Rank `r` holds `n_r` samples with `views` views each, as `rows[r] = views · n_r` rows
/// laid out `[view 0; view 1; ...]` (the SimCLR layout of its shard). The gathered batch is
/// `[rank 0's block; rank 1's block; ...]`; the global layout wants
/// `[view 0 of all samples; view 1 of all samples; ...]` with samples in rank order, so
/// that rows `i` and `i + N` are a pair again (what NT-Xent expects). Entry `k` of the
/// result is the gathered row that goes to global row `k`.
///
/// # Errors
/// `views == 0`, or a rank whose row count is not a multiple of `views`.
pub fn view_major_order(rows: &[usize], views: usize) -> Result<Vec<usize>> {
    if views == 0 || rows.iter().any(|r| r % views != 0) {
        return Err(Error::InvalidConfig {
            what: "rows per rank for a multi-view batch",
            value: format!("{rows:?} with {views} views"),
            why: "every rank must hold a whole number of samples with all their views",
        });
    }
    let mut offsets = Vec::with_capacity(rows.len());
    let mut offset = 0;
    for &r in rows {
        offsets.push(offset);
        offset += r;
    }
    let mut order = Vec::with_capacity(offset);
    for view in 0..views {
        for (&r, &start) in rows.iter().zip(&offsets) {
            let n = r / views;
            order.extend(start + view * n..start + (view + 1) * n);
        }
    }
    Ok(order)
}

/// The gathered batch reordered into the global view-major layout (see
/// [`view_major_order`]): a differentiable row selection, so gradients find their way back.
pub fn view_major<A: NdFloat>(
    g: &mut Graph<A>,
    gathered: &GatheredRows,
    views: usize,
) -> Result<Var> {
    let order = view_major_order(&gathered.rows, views)?;
    Ok(g.index_select(gathered.var, &order)?)
}

/// Every rank's labels, rank order (one per sample of its shard): with contiguous shards,
/// the labels of the global batch in its order. Sent as `u64`.
pub fn gather_labels(labels: &[usize], collective: &dyn Collective<u64>) -> Result<Vec<usize>> {
    let mine: Vec<u64> = labels.iter().map(|&l| l as u64).collect();
    let gathered = collective.all_gather_varcount(&mine)?;
    gathered
        .data
        .into_iter()
        .map(|l| {
            usize::try_from(l).map_err(|_| {
                Error::from(contrast_collective::Error::Overflow {
                    op: "gather_labels",
                    what: format!("label {l} as usize"),
                })
            })
        })
        .collect()
}
