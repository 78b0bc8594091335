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
use crate::normalize::RowNormalized;
use crate::output::{Evaluation, LossGrad, TileSize};
use crate::supcon::{SupConConfig, supcon};
use crate::tiled::{Bank, tiled_lse, tiled_row_grad};
use crate::validate::{self, cast};
use ndarray::{ArrayView2, NdFloat, Zip};

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
    validate::temperature(config.temperature)?;
    let n = validate::two_view_rows("nt_xent", &z)?;
    match config.evaluation.resolve(2 * n, 2 * n) {
        None => dense(z, n, config),
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

/// The dense evaluation. With labels `[0..N, 0..N]` each anchor's only positive is its
/// partner, and SupCon's formula is exactly NT-Xent's: one code path for both.
fn dense<A: NdFloat>(z: ArrayView2<A>, n: usize, config: &NtXentConfig) -> Result<LossGrad<A>> {
    let labels: Vec<usize> = (0..2 * n).map(|i| i % n).collect();
    let supcon_config = SupConConfig::new(config.temperature).normalize(config.normalize);
    supcon(z, &labels, &supcon_config)
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
    // The positive's share of (dS + dS^T) zn: -2 zn_p(i) / (2N T), as p is an involution.
    let pos = scale * inv_t * cast::<A>(2.0);
    Zip::indexed(grad.rows_mut()).for_each(|i, mut g| g.scaled_add(-pos, &partner(i)));
    LossGrad {
        loss,
        grad: emb.backward(grad),
    }
}
