//! NT-Xent, the SimCLR loss (Chen et al. 2020).
//!
//! ```text
//! z: (2N, D), rows i and p(i) = (i + N) mod 2N are the two views of one sample
//! zn_i = z_i / max(||z_i||, 1e-12)             (or zn = z with `normalize = false`)
//! s_ij = zn_i . zn_j / T
//! l_i  = log sum_{k != i} exp(s_ik) - s_i,p(i)  (denominator: the positive + 2N - 2 negatives)
//! loss = (1 / 2N) sum_i l_i                     (mean over all 2N anchors)
//!
//! dS_ij = (P_ij - [j = p(i)]) / 2N,  P_ij = exp(s_ij - lse_i) for j != i, P_ii = 0
//! dzn   = (dS + dS^T) zn / T,  then through the normalisation
//! ```
//!
//! Equals pytorch-metric-learning `NTXentLoss(temperature=T)(z, labels)` with labels
//! `[0..N, 0..N]`, and lightly `NTXentLoss(temperature=T)(z[..N], z[N..])` (value and
//! gradient; see `tests/fixtures/peers.json`). [`nt_xent`] picks the dense or the tiled
//! evaluation ([`crate::tiled`]) by size; both give the same numbers.

use crate::error::{Error, Result};
use crate::log_sum_exp::sum_f64;
use crate::output::{Evaluation, LossGrad, TileSize};
use crate::row_softmax::softmax_rows_skip_diagonal;
use crate::tile_pairs;
use crate::tiled::{Bank, tiled_lse, tiled_row_grad};
use crate::validate::{self, cast};
use contrast_linalg::{RowNormalized, par_gemm};
use ndarray::{Array2, ArrayView2, NdFloat, Zip, s};

/// Settings of [`nt_xent`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NtXentConfig {
    /// Temperature `T > 0` (SimCLR and lightly default 0.5).
    pub temperature: f64,
    /// L2-normalise rows first (cosine logits); `false` gives dot-product logits.
    pub normalize: bool,
    /// Dense, tiled, or chosen by size.
    pub evaluation: Evaluation,
}

impl Default for NtXentConfig {
    fn default() -> Self {
        Self {
            temperature: 0.5,
            normalize: true,
            evaluation: Evaluation::Auto,
        }
    }
}

impl NtXentConfig {
    /// Defaults with temperature `t`.
    pub fn new(temperature: f64) -> Self {
        Self {
            temperature,
            ..Self::default()
        }
    }
    /// Turns row normalisation on or off.
    pub fn normalize(mut self, on: bool) -> Self {
        self.normalize = on;
        self
    }
    /// Chooses dense, tiled or automatic evaluation.
    pub fn evaluation(mut self, evaluation: Evaluation) -> Self {
        self.evaluation = evaluation;
        self
    }
}

/// NT-Xent of a two-view batch `z` (2N, D) and `d loss / d z`.
///
/// # Errors
/// Empty or non-finite `z`, an odd row count, fewer than two pairs (no negative),
/// a bad temperature or a zero tile size.
pub fn nt_xent<A: NdFloat>(z: ArrayView2<A>, config: &NtXentConfig) -> Result<LossGrad<A>> {
    validate::embeddings("nt_xent z", &z)?;
    validate::temperature::<A>(config.temperature)?;
    let n = validate::two_view_rows("nt_xent", &z)?;
    match config.evaluation.resolve(2 * n, 2 * n) {
        None => Ok(dense(z, n, config)),
        Some(tile) => {
            check_tile(tile)?;
            Ok(tiled(z, n, config, tile))
        }
    }
}

pub(crate) fn check_tile(tile: TileSize) -> Result<()> {
    let bad = |name, v: usize| Error::Parameter {
        name,
        value: v as f64,
        expected: ">= 1",
    };
    if tile.rows == 0 {
        return Err(bad("tile rows", tile.rows));
    }
    if tile.cols == 0 {
        return Err(bad("tile cols", tile.cols));
    }
    Ok(())
}

/// Row padding of the dense logit buffer, in elements (64 bytes of f32).
const PAD: usize = 16;

/// The dense evaluation, one `2N x 2N` buffer holding `S`, then `P`, then `P + P^T`:
///
/// ```text
/// S = zn zn^T / T                       upper tiles by gemm, mirrored (tile_pairs)
/// row i: l_i = lse_i - S_i,p(i);  row <- P_i. / 2N   (row_softmax, one exp per entry)
/// M = (P + P^T) / 2N                    in place, tile pairs
/// dzn = M zn / T - 2 zn_p(i) / (2N T)   one gemm; the positives' share added per row
/// ```
/// Every step is parallel over rows or tiles whose results do not depend on the thread
/// count, so the output is bit-identical for any number of threads.
fn dense<A: NdFloat>(z: ArrayView2<A>, n: usize, config: &NtXentConfig) -> LossGrad<A> {
    let n2 = 2 * n;
    let emb = RowNormalized::new(z, config.normalize);
    let zn = emb.rows.view();
    let inv_t = cast::<A>(1.0 / config.temperature);
    let scale = 1.0 / n2 as f64;
    // Rows padded to a stride off a power of two: the tile transposes walk columns, and
    // 2^k-strided columns would crowd into a few cache sets.
    let mut padded = Array2::zeros((n2, n2 + PAD));
    let mut s = padded.slice_mut(s![.., ..n2]);
    tile_pairs::gram(inv_t, zn, s.view_mut());
    let positives: Vec<A> = (0..n2).map(|i| s[[i, (i + n) % n2]]).collect();
    let lse = softmax_rows_skip_diagonal(&mut padded, scale);
    let mut s = padded.slice_mut(s![.., ..n2]);
    let total: f64 = lse
        .iter()
        .zip(&positives)
        .map(|(l, p)| l - p.to_f64().unwrap_or(f64::NAN))
        .sum();
    tile_pairs::add_transpose(s.view_mut());
    let mut grad = Array2::zeros(zn.raw_dim());
    par_gemm(inv_t, s.view(), zn, A::zero(), grad.view_mut());
    add_positive_share(&mut grad, zn, n, cast::<A>(scale) * inv_t);
    LossGrad {
        loss: cast::<A>(total * scale),
        grad: emb.backward(grad),
    }
}

/// The positive's share of `(dS + dS^T) zn`: `-2 alpha zn_p(i)` per row, as `p` is an
/// involution (`alpha = 1 / (2N T)`).
fn add_positive_share<A: NdFloat>(grad: &mut Array2<A>, zn: ArrayView2<A>, n: usize, alpha: A) {
    let n2 = 2 * n;
    let two = alpha + alpha;
    Zip::indexed(grad.rows_mut()).for_each(|i, mut g| g.scaled_add(-two, &zn.row((i + n) % n2)));
}

/// The tiled evaluation: only the per-row log-sum-exp is stored between passes.
fn tiled<A: NdFloat>(
    z: ArrayView2<A>,
    n: usize,
    config: &NtXentConfig,
    tile: TileSize,
) -> LossGrad<A> {
    let n2 = 2 * n;
    let emb = RowNormalized::new(z, config.normalize);
    let zn = emb.rows.view();
    let inv_t = cast::<A>(1.0 / config.temperature);
    let scale = cast::<A>(1.0 / n2 as f64);
    let bank = [Bank {
        rows: zn,
        skip_diagonal: true,
    }];
    let lse = tiled_lse(zn, &bank, None, inv_t, tile);
    let partner = |i: usize| zn.row((i + n) % n2);
    let loss = sum_f64((0..n2).map(|i| lse[i] - zn.row(i).dot(&partner(i)) * inv_t)) * scale;
    let mut grad = tiled_row_grad(zn, lse.view(), &bank, true, inv_t, scale * inv_t, tile);
    add_positive_share(&mut grad, zn, n, scale * inv_t);
    LossGrad {
        loss,
        grad: emb.backward(grad),
    }
}
