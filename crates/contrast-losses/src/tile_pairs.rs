//! Symmetric square matrices in mirrored tile pairs, processed in parallel.
//!
//! An `n x n` matrix is cut into `b x b` tiles; the task for `I <= J` owns tile `(I, J)`
//! and its mirror `(J, I)`. Tasks touch disjoint memory, so they run in parallel, and each
//! tile's result depends only on its indices: bit-identical for any thread count.
//!
//! The dense NT-Xent uses it twice: `S = zn zn^T / T` computes only the tiles with
//! `I <= J` and mirrors them (half the products), and `P + P^T` adds each pair in place.

use contrast_linalg::gemm_into;
use ndarray::{ArrayView2, ArrayViewMut2, Axis, NdFloat, s};
use rayon::prelude::*;

/// Tile side: 64 x 64 f32 tiles (16 KiB) stay in L1 while mirrored.
pub(crate) const TILE: usize = 64;

/// Cuts `m` along `axis` into pieces of `b` (the last one shorter).
fn split<A>(mut m: ArrayViewMut2<A>, axis: Axis, b: usize) -> Vec<ArrayViewMut2<A>> {
    let mut out = Vec::with_capacity(m.len_of(axis).div_ceil(b));
    while m.len_of(axis) > b {
        let (head, tail) = m.split_at(axis, b);
        out.push(head);
        m = tail;
    }
    out.push(m);
    out
}

/// Calls `f(r0, c0, tile, mirror)` for every tile `(I, J)` with `I <= J` of the square
/// matrix `m`, in parallel; `r0, c0` are the tile's first row and column, and `mirror`
/// is tile `(J, I)`, or `None` on the diagonal.
pub(crate) fn for_each_pair<A: Send>(
    m: ArrayViewMut2<A>,
    f: impl Fn(usize, usize, ArrayViewMut2<A>, Option<ArrayViewMut2<A>>) + Sync,
) {
    debug_assert_eq!(m.nrows(), m.ncols());
    let mut grid: Vec<Vec<Option<ArrayViewMut2<A>>>> = split(m, Axis(0), TILE)
        .into_iter()
        .map(|rows| split(rows, Axis(1), TILE).into_iter().map(Some).collect())
        .collect();
    let blocks = grid.len();
    let tasks: Vec<_> = (0..blocks)
        .flat_map(|i| (i..blocks).map(move |j| (i, j)))
        .map(|(i, j)| {
            let tile = grid[i][j].take().expect("each tile is taken once");
            let mirror = (i != j).then(|| grid[j][i].take().expect("each tile is taken once"));
            (i * TILE, j * TILE, tile, mirror)
        })
        .collect();
    tasks
        .into_par_iter()
        .for_each(|(r0, c0, tile, mirror)| f(r0, c0, tile, mirror));
}

/// `out = alpha x x^T`, computing the tiles above the diagonal and mirroring them.
pub(crate) fn gram<A: NdFloat>(alpha: A, x: ArrayView2<A>, out: ArrayViewMut2<A>) {
    for_each_pair(out, |r0, c0, mut tile, mirror| {
        let (h, w) = tile.dim();
        let a = x.slice(s![r0..r0 + h, ..]);
        let b = x.slice(s![c0..c0 + w, ..]);
        gemm_into(alpha, a, b.t(), A::zero(), tile.view_mut());
        if let Some(mut mirror) = mirror {
            // Row by row of the computed tile: contiguous reads, strided writes.
            for (r, row) in tile.rows().into_iter().enumerate() {
                for (c, &v) in row.iter().enumerate() {
                    mirror[[c, r]] = v;
                }
            }
        }
    });
}

/// `m <- m + m^T` in place.
pub(crate) fn add_transpose<A: NdFloat>(m: ArrayViewMut2<A>) {
    for_each_pair(m, |_, _, mut tile, mirror| match mirror {
        Some(mut mirror) => {
            for (r, mut row) in tile.rows_mut().into_iter().enumerate() {
                for (c, a) in row.iter_mut().enumerate() {
                    let b = &mut mirror[[c, r]];
                    let v = *a + *b;
                    *a = v;
                    *b = v;
                }
            }
        }
        None => {
            for r in 0..tile.nrows() {
                for c in r..tile.ncols() {
                    let v = tile[[r, c]] + tile[[c, r]];
                    tile[[r, c]] = v;
                    tile[[c, r]] = v;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn gram_and_add_transpose_match_the_plain_products() {
        // 150 = two full tiles and a partial one.
        let n = 2 * TILE + 22;
        let x = Array2::from_shape_fn((n, 5), |(i, j)| ((i * 13 + j * 7) % 17) as f64 - 8.0);
        let mut g = Array2::zeros((n, n));
        gram(0.5, x.view(), g.view_mut());
        assert_eq!(g, x.dot(&x.t()) * 0.5);
        let m = Array2::from_shape_fn((n, n), |(i, j)| (i * 3 + j * j) as f64);
        let mut sym = m.clone();
        add_transpose(sym.view_mut());
        assert_eq!(sym, &m + &m.t());
    }
}
