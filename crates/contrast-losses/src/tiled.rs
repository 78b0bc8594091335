//! Tiled softmax cross-entropy: NT-Xent and InfoNCE without the logit matrix.
//!
//! The dense losses hold all `n x m` logits; at 2N = 65,536 rows that is 16 GiB in f32.
//! Here the logits are produced tile by tile (`rows x cols` at a time) and never stored:
//!
//! ```text
//! forward:  for each row block (in parallel), for each column tile:
//!              S = Q_block C_tile^T / T,  masked entries = -inf
//!              online log-sum-exp per row (see docs/references.md, section
//!              "Streaming log-sum-exp")
//!           keep only lse_i, one number per row
//! backward: recompute each tile, P_ij = exp(S_ij - lse_i), and accumulate
//!              dQ_block += a P C_tile            (row pass)
//!              dC_block += a P^T Q_tile          (column pass)
//! ```
//!
//! Extra memory: the per-thread tiles (`rows x cols`) plus the `n x D` gradients and the
//! normalised rows, O(N x tile + N x D). The results equal the dense ones up to rounding
//! (summation order differs); tests check 1e-10 in f64 for tile sizes that do and do not
//! divide N.
//!
//! For NT-Xent the candidates are the anchors themselves and `S` is symmetric, so the row
//! pass also adds `P_ji = exp(S_ij - lse_j)`: one pass gives `(G + G^T) zn`.

use crate::log_sum_exp::OnlineLogSumExp;
use crate::output::TileSize;
use crate::row_softmax::exp_in_place;
use contrast_linalg::gemm_into;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis, NdFloat, s};
use rayon::prelude::*;

/// Tile rows are the leading part of a row of a standard-layout buffer.
const CONTIGUOUS: &str = "tile rows are contiguous";

/// A set of candidate columns (one row per candidate).
#[derive(Clone, Copy)]
pub(crate) struct Bank<'a, A> {
    /// The candidates, `(m, D)`.
    pub rows: ArrayView2<'a, A>,
    /// Candidate `j` is query `j` itself (or its positive, counted elsewhere): skip it.
    pub skip_diagonal: bool,
}

/// Calls `f(col_offset, tile)` for each column tile of `bank` against the query block
/// starting at global row `r0`; masked logits are `-inf`.
fn for_each_tile<A: NdFloat>(
    q_block: ArrayView2<A>,
    r0: usize,
    bank: Bank<A>,
    tile_cols: usize,
    inv_t: A,
    buf: &mut Array2<A>,
    mut f: impl FnMut(usize, ArrayViewMut2<A>),
) {
    let m = bank.rows.nrows();
    for c0 in (0..m).step_by(tile_cols) {
        let w = tile_cols.min(m - c0);
        let cols = bank.rows.slice(s![c0..c0 + w, ..]);
        let mut tile = buf.slice_mut(s![.., ..w]);
        gemm_into(inv_t, q_block, cols.t(), A::zero(), tile.view_mut());
        if bank.skip_diagonal {
            for r in 0..q_block.nrows() {
                let global = r0 + r;
                if (c0..c0 + w).contains(&global) {
                    tile[[r, global - c0]] = A::neg_infinity();
                }
            }
        }
        f(c0, tile);
    }
}

/// Per-row `log(exp(extra_i) + sum over banks of exp(S_ij))`, parallel over row blocks.
pub(crate) fn tiled_lse<A: NdFloat>(
    q: ArrayView2<A>,
    banks: &[Bank<A>],
    extra: Option<ArrayView1<A>>,
    inv_t: A,
    tile: TileSize,
) -> Array1<A> {
    let mut lse = Array1::zeros(q.nrows());
    lse.axis_chunks_iter_mut(Axis(0), tile.rows)
        .into_par_iter()
        .enumerate()
        .for_each(|(b, mut out)| {
            let r0 = b * tile.rows;
            let q_block = q.slice(s![r0..r0 + out.len(), ..]);
            let mut acc: Vec<OnlineLogSumExp<A>> = (0..out.len())
                .map(|r| {
                    let mut a = OnlineLogSumExp::new();
                    if let Some(e) = &extra {
                        a.push(e[r0 + r]);
                    }
                    a
                })
                .collect();
            let mut buf = Array2::zeros((out.len(), tile.cols));
            for &bank in banks {
                for_each_tile(q_block, r0, bank, tile.cols, inv_t, &mut buf, |_, mut t| {
                    for (a, mut row) in acc.iter_mut().zip(t.rows_mut()) {
                        a.extend_slice(row.as_slice_mut().expect(CONTIGUOUS));
                    }
                });
            }
            for (o, a) in out.iter_mut().zip(&acc) {
                *o = a.value();
            }
        });
    lse
}

/// Row pass: `dQ_i = alpha sum_j P_ij c_j` over the banks, `P_ij = exp(S_ij - lse_i)`.
/// With `symmetric` (one bank equal to `q`, NT-Xent) it adds `exp(S_ij - lse_j)` too,
/// giving `alpha (P + P^T) q`.
pub(crate) fn tiled_row_grad<A: NdFloat>(
    q: ArrayView2<A>,
    lse: ArrayView1<A>,
    banks: &[Bank<A>],
    symmetric: bool,
    inv_t: A,
    alpha: A,
    tile: TileSize,
) -> Array2<A> {
    let mut grad = Array2::zeros(q.raw_dim());
    grad.axis_chunks_iter_mut(Axis(0), tile.rows)
        .into_par_iter()
        .enumerate()
        .for_each(|(b, mut g)| {
            let r0 = b * tile.rows;
            let q_block = q.slice(s![r0..r0 + g.nrows(), ..]);
            let mut buf = Array2::zeros((g.nrows(), tile.cols));
            let mut scratch = vec![A::zero(); tile.cols];
            for &bank in banks {
                for_each_tile(
                    q_block,
                    r0,
                    bank,
                    tile.cols,
                    inv_t,
                    &mut buf,
                    |c0, mut t| {
                        let w = t.ncols();
                        for (r, mut row) in t.rows_mut().into_iter().enumerate() {
                            let xs = row.as_slice_mut().expect(CONTIGUOUS);
                            // P_ji = exp(S_ij - lse_j) into the scratch row first.
                            let pt = &mut scratch[..w];
                            if symmetric {
                                for (c, (p, &x)) in pt.iter_mut().zip(xs.iter()).enumerate() {
                                    *p = x - lse[c0 + c];
                                }
                                exp_in_place(pt);
                            }
                            let li = lse[r0 + r];
                            xs.iter_mut().for_each(|x| *x -= li);
                            exp_in_place(xs);
                            if symmetric {
                                xs.iter_mut().zip(pt.iter()).for_each(|(x, &p)| *x += p);
                            }
                        }
                        let cols = bank.rows.slice(s![c0..c0 + w, ..]);
                        gemm_into(alpha, t.view(), cols, A::one(), g.view_mut());
                    },
                );
            }
        });
    grad
}

/// Column pass: `dC_j = alpha sum_i P_ij q_i` for the candidates of one bank,
/// parallel over candidate blocks (so no two tasks write the same row).
pub(crate) fn tiled_col_grad<A: NdFloat>(
    q: ArrayView2<A>,
    lse: ArrayView1<A>,
    bank: Bank<A>,
    inv_t: A,
    alpha: A,
    tile: TileSize,
) -> Array2<A> {
    let mut grad = Array2::zeros(bank.rows.raw_dim());
    // The transposed problem: candidates play the rows, queries the columns.
    let queries = Bank {
        rows: q,
        skip_diagonal: bank.skip_diagonal,
    };
    grad.axis_chunks_iter_mut(Axis(0), tile.rows)
        .into_par_iter()
        .enumerate()
        .for_each(|(b, mut g)| {
            let c0 = b * tile.rows;
            let c_block = bank.rows.slice(s![c0..c0 + g.nrows(), ..]);
            let mut buf = Array2::zeros((g.nrows(), tile.cols));
            for_each_tile(
                c_block,
                c0,
                queries,
                tile.cols,
                inv_t,
                &mut buf,
                |r0, mut t| {
                    for mut row in t.rows_mut() {
                        let xs = row.as_slice_mut().expect(CONTIGUOUS);
                        xs.iter_mut()
                            .enumerate()
                            .for_each(|(i, x)| *x -= lse[r0 + i]);
                        exp_in_place(xs);
                    }
                    let h = t.ncols();
                    let q_tile = q.slice(s![r0..r0 + h, ..]);
                    gemm_into(alpha, t.view(), q_tile, A::one(), g.view_mut());
                },
            );
        });
    grad
}
