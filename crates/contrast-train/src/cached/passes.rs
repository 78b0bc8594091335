//! The passes of a cached-gradient step (see the module above): cache the rows without a
//! graph, take the loss's gradient with respect to them, replay each chunk with that gradient.

use std::ops::Range;

use contrast_autodiff::{Graph, Var};
use contrast_nn::Module;
use ndarray::{Array2, ArrayD, Axis, Ix2, NdFloat, s};
use rand_chacha::ChaCha8Rng;

use super::{Pass, SplitLoss};
use crate::error::{Error, Result};
use crate::recipes::Encoded;

/// What the first pass keeps: per block the rows of the whole batch, the frozen blocks, and
/// the model's random streams as each chunk began.
pub(super) struct Cached<A> {
    pub(super) rows: Vec<Array2<A>>,
    pub(super) frozen: Vec<Array2<A>>,
    pub(super) streams: Vec<Vec<ChaCha8Rng>>,
}

/// Pass 1: every chunk without a graph, its values kept and its nodes released.
pub(super) fn cache<A, M, S>(
    g: &mut Graph<A>,
    model: &mut M,
    split: &mut S,
    chunks: &[Range<usize>],
) -> Result<Cached<A>>
where
    A: NdFloat,
    M: Module<A> + ?Sized,
    S: SplitLoss<A, M> + ?Sized,
{
    let mut rows: Vec<Vec<Array2<A>>> = Vec::new();
    let mut frozen: Vec<Vec<Array2<A>>> = Vec::new();
    let mut streams = Vec::with_capacity(chunks.len());
    for (k, range) in chunks.iter().enumerate() {
        streams.push(model.save_streams());
        let encoded = g.no_grad(|g| split.encode(g, model, range.clone(), Pass::Cache));
        let values = encoded.and_then(|e| {
            let r = e
                .rows
                .iter()
                .map(|&v| matrix(g.try_value(v)?, range.len()))
                .collect::<Result<Vec<_>>>()?;
            if let Some(f) = e.frozen.iter().find(|f| f.nrows() != range.len()) {
                return Err(Error::Shape {
                    what: "cached-gradient frozen block (one row per sample)",
                    expected: vec![range.len(), f.ncols()],
                    got: f.shape().to_vec(),
                });
            }
            Ok((r, e.frozen))
        });
        g.reset();
        let (r, f) = values?;
        if k == 0 {
            rows = r.iter().map(|_| Vec::with_capacity(chunks.len())).collect();
            frozen = f.iter().map(|_| Vec::with_capacity(chunks.len())).collect();
        }
        if r.len() != rows.len() || f.len() != frozen.len() {
            return Err(Error::Shape {
                what: "cached-gradient blocks (rows, frozen) of a chunk",
                expected: vec![rows.len(), frozen.len()],
                got: vec![r.len(), f.len()],
            });
        }
        rows.iter_mut()
            .zip(r)
            .for_each(|(all, part)| all.push(part));
        frozen
            .iter_mut()
            .zip(f)
            .for_each(|(all, part)| all.push(part));
    }
    Ok(Cached {
        rows: rows
            .iter()
            .map(|parts| stack(parts))
            .collect::<Result<_>>()?,
        frozen: frozen
            .iter()
            .map(|parts| stack(parts))
            .collect::<Result<_>>()?,
        streams,
    })
}

/// The loss of the whole batch and its gradient with respect to every row.
pub(super) struct Gradients<A> {
    /// The loss.
    pub(super) loss: A,
    /// Per block, the rows of the whole batch (taken back from the leaves).
    pub(super) rows: Vec<Array2<A>>,
    /// Per block, `dL/d rows` (`None` for a block the loss does not use).
    pub(super) grads: Vec<Option<Array2<A>>>,
}

/// The loss of the whole batch with its rows as temporary leaves, and its backward.
pub(super) fn loss_gradients<A, M, S>(
    g: &mut Graph<A>,
    split: &mut S,
    rows: Vec<Array2<A>>,
    frozen: Vec<Array2<A>>,
) -> Result<Gradients<A>>
where
    A: NdFloat,
    M: ?Sized,
    S: SplitLoss<A, M> + ?Sized,
{
    let leaves: Vec<Var> = rows.into_iter().map(|r| g.param(r.into_dyn())).collect();
    let whole = Encoded {
        rows: leaves.clone(),
        frozen,
    };
    let loss = split.loss(g, &whole).and_then(|l| Ok(g.backward(l)?));
    // After an error the tape may still refer to the leaves: release it before them.
    g.reset();
    let mut rows = Vec::with_capacity(leaves.len());
    let mut grads = Vec::with_capacity(leaves.len());
    for leaf in leaves {
        let (value, grad) = g.remove_param(leaf)?;
        let n = value.shape()[0];
        rows.push(matrix(&value, n)?);
        grads.push(grad.map(|d| matrix(&d, n)).transpose()?);
    }
    Ok(Gradients {
        loss: loss?,
        rows,
        grads,
    })
}

/// Pass 2: every chunk again with the graph (its random streams rewound), checked against
/// pass 1, and the backward of its surrogate `sum_b sum(rows_b * grads_b)`.
pub(super) fn replay<A, M, S>(
    g: &mut Graph<A>,
    model: &mut M,
    split: &mut S,
    chunks: &[Range<usize>],
    streams: &[Vec<ChaCha8Rng>],
    gradients: &Gradients<A>,
) -> Result<()>
where
    A: NdFloat,
    M: Module<A> + ?Sized,
    S: SplitLoss<A, M> + ?Sized,
{
    for (k, range) in chunks.iter().enumerate() {
        model.restore_streams(&streams[k])?;
        let result = split
            .encode(g, model, range.clone(), Pass::Replay)
            .and_then(|e| surrogate(g, &e.rows, k, range, gradients))
            .and_then(|s| match s {
                Some(s) => g.backward(s).map(|_| ()).map_err(Error::from),
                None => Ok(()),
            });
        g.reset();
        result?;
    }
    Ok(())
}

/// `sum_b sum(replayed_b * grads_b[range])` after checking each replayed block against the
/// cached rows; `None` when no block has a gradient.
fn surrogate<A: NdFloat>(
    g: &mut Graph<A>,
    replayed: &[Var],
    chunk: usize,
    range: &Range<usize>,
    gradients: &Gradients<A>,
) -> Result<Option<Var>> {
    let (rows, grads) = (&gradients.rows, &gradients.grads);
    if replayed.len() != rows.len() {
        return Err(Error::Shape {
            what: "cached-gradient blocks of rows in the replay",
            expected: vec![rows.len()],
            got: vec![replayed.len()],
        });
    }
    let mut total = None;
    for (b, (&z, (cached, grad))) in replayed.iter().zip(rows.iter().zip(grads)).enumerate() {
        let cached = cached.slice(s![range.clone(), ..]);
        let value = g.try_value(z)?;
        if value.shape() != cached.shape() {
            return Err(Error::Shape {
                what: "cached-gradient rows in the replay",
                expected: cached.shape().to_vec(),
                got: value.shape().to_vec(),
            });
        }
        let mut difference = 0.0f64;
        let mut same = true;
        for (&x, &y) in value.iter().zip(cached.iter()) {
            if x != y && !(x.is_nan() && y.is_nan()) {
                same = false;
                difference = difference.max((x - y).abs().to_f64().unwrap_or(f64::INFINITY));
            }
        }
        if !same {
            return Err(Error::ReplayMismatch {
                chunk,
                block: b,
                difference,
            });
        }
        let Some(grad) = grad else { continue };
        let grad = g.input(grad.slice(s![range.clone(), ..]).to_owned().into_dyn());
        let product = g.mul(z, grad)?;
        let s = g.sum_all(product)?;
        total = Some(match total {
            Some(t) => g.add(t, s)?,
            None => s,
        });
    }
    Ok(total)
}

/// A block as an `(n, d)` matrix, or a shape error.
fn matrix<A: NdFloat>(value: &ArrayD<A>, n: usize) -> Result<Array2<A>> {
    let shape = value.shape().to_vec();
    match value.view().into_dimensionality::<Ix2>() {
        Ok(m) if m.nrows() == n => Ok(m.to_owned()),
        _ => Err(Error::Shape {
            what: "cached-gradient block (one row per sample)",
            expected: vec![n, shape.get(1).copied().unwrap_or(0)],
            got: shape,
        }),
    }
}

/// The chunks' parts of one block, one under the other.
fn stack<A: NdFloat>(parts: &[Array2<A>]) -> Result<Array2<A>> {
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    ndarray::concatenate(Axis(0), &views).map_err(|_| Error::Shape {
        what: "cached-gradient block widths across chunks",
        expected: parts
            .first()
            .map(|p| p.shape().to_vec())
            .unwrap_or_default(),
        got: parts
            .iter()
            .find(|p| p.ncols() != parts[0].ncols())
            .map(|p| p.shape().to_vec())
            .unwrap_or_default(),
    })
}
