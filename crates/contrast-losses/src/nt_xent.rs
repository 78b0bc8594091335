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
//!
//! [`nt_xent_masked`] adds what a trainer needs beyond the plain loss:
//!
//! ```text
//! negatives mask (crate::negative_mask): l_i = log sum_{k in D(i)} exp(s_ik) - s_i,p(i),
//!     D(i) = {p(i)} + the negatives anchor i keeps;  dS_ik = (P_ik - [k = p(i)]) / 2N on D(i), 0 elsewhere
//! per-anchor losses l_i
//! dL/dT = -(1 / 2T) sum_i zn_i . dL/dzn_i
//! ```
//! The temperature gradient follows from `S = zn zn^T / T`: scaling every `zn_i` by `c`
//! scales `S` by `c^2`, the same as dividing `T` by `c^2`, so
//! `sum_i zn_i . dL/dzn_i = dL/dc = -2T dL/dT` (a learnable temperature costs one dot
//! product per row). A masked loss is always evaluated densely: the tiled path has no
//! mask, so [`Evaluation`] only chooses for [`NegativeMask::All`] (a `(2N, 2N)` keep-mask
//! is dense anyway).

use crate::error::{Error, Result};
use crate::log_sum_exp::sum_f64;
use crate::negative_mask::NegativeMask;
use crate::output::{Evaluation, LossGrad, TileSize};
use crate::row_softmax::softmax_rows_skip_diagonal;
use crate::tile_pairs;
use crate::tiled::{Bank, tiled_lse, tiled_row_grad};
use crate::validate::{self, cast};
use contrast_linalg::{RowNormalized, par_gemm};
use ndarray::{Array1, Array2, ArrayView2, Axis, NdFloat, Zip, s};
use rayon::prelude::*;

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

/// NT-Xent with everything [`nt_xent_masked`] computes.
#[derive(Clone, Debug, PartialEq)]
pub struct NtXentOutput<A> {
    /// The mean over the 2N anchors.
    pub loss: A,
    /// `d loss / d z`.
    pub grad: Array2<A>,
    /// Each anchor's `l_i` (the loss is their mean).
    pub losses: Array1<A>,
    /// `d loss / d T`, for a learnable temperature (`dL/dt = -T dL/dT` for the log-scale
    /// `t`, `T = exp(-t)`).
    pub grad_temperature: A,
}

impl<A> From<NtXentOutput<A>> for LossGrad<A> {
    fn from(out: NtXentOutput<A>) -> Self {
        LossGrad {
            loss: out.loss,
            grad: out.grad,
        }
    }
}

/// NT-Xent of a two-view batch `z` (2N, D) and `d loss / d z`.
///
/// # Errors
/// Empty or non-finite `z`, an odd row count, fewer than two pairs (no negative),
/// a bad temperature or a zero tile size.
pub fn nt_xent<A: NdFloat>(z: ArrayView2<A>, config: &NtXentConfig) -> Result<LossGrad<A>> {
    nt_xent_masked(z, &NegativeMask::All, config).map(LossGrad::from)
}

/// NT-Xent of a two-view batch `z` (2N, D) whose anchors keep only the negatives `mask`
/// allows, with the per-anchor losses and `d loss / d T`.
///
/// # Errors
/// As [`nt_xent`], and a mask of the wrong shape, a kept index out of range, or an anchor
/// the mask leaves without a negative ([`Error::AnchorWithoutNegative`]).
///
/// ```
/// use contrast_losses::{nt_xent_masked, NegativeMask, NtXentConfig};
/// use ndarray::array;
///
/// // Three samples, two views each; samples 0 and 2 are the same image (instance 7).
/// let z = array![[1.0f64, 0.1], [0.0, 1.0], [0.9, 0.2], [0.9, 0.2], [0.1, 1.1], [1.0, 0.1]];
/// let cfg = NtXentConfig::new(0.5);
/// let masked = nt_xent_masked(z.view(), &NegativeMask::SameInstance(&[7, 1, 7]), &cfg)?;
/// let plain = nt_xent_masked(z.view(), &NegativeMask::All, &cfg)?;
/// // The duplicate no longer counts as a negative of sample 0's anchors (rows 0 and 3);
/// // sample 1's anchors keep every negative.
/// assert!(masked.losses[0] < plain.losses[0] && masked.losses[3] < plain.losses[3]);
/// assert_eq!(masked.losses[1], plain.losses[1]);
/// # Ok::<(), contrast_losses::Error>(())
/// ```
pub fn nt_xent_masked<A: NdFloat>(
    z: ArrayView2<A>,
    mask: &NegativeMask,
    config: &NtXentConfig,
) -> Result<NtXentOutput<A>> {
    validate::embeddings("nt_xent z", &z)?;
    validate::temperature::<A>(config.temperature)?;
    let n = validate::two_view_rows("nt_xent", &z)?;
    let n2 = 2 * n;
    let keep = mask.resolve("nt_xent", n2, |i| (i + n) % n2)?;
    let tile = config.evaluation.resolve(n2, n2);
    if let Some(tile) = tile {
        check_tile(tile)?;
    }
    let emb = RowNormalized::new(z, config.normalize);
    let raw = match (keep, tile) {
        (None, Some(tile)) => tiled(emb.rows.view(), n, config, tile),
        (keep, _) => dense(emb.rows.view(), n, config, keep.as_ref()),
    };
    let zn = emb.rows.view();
    // dL/dT = -(1 / 2T) sum_i zn_i . dzn_i (see the module docs).
    let radial = sum_f64(
        Zip::from(zn.rows())
            .and(raw.grad.rows())
            .map_collect(|z, g| z.dot(&g))
            .into_iter(),
    );
    let grad_temperature = -radial * cast::<A>(0.5 / config.temperature);
    Ok(NtXentOutput {
        loss: raw.loss,
        grad: emb.backward(raw.grad),
        losses: raw.losses,
        grad_temperature,
    })
}

/// The loss, per-anchor losses and the gradient with respect to the (normalised) rows.
struct Raw<A> {
    loss: A,
    losses: Array1<A>,
    grad: Array2<A>,
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
/// masked entries (keep = false) <- -inf
/// row i: l_i = lse_i - S_i,p(i);  row <- P_i. / 2N   (row_softmax, one exp per entry)
/// M = (P + P^T) / 2N                    in place, tile pairs
/// dzn = M zn / T - 2 zn_p(i) / (2N T)   one gemm; the positives' share added per row
/// ```
/// Every step is parallel over rows or tiles whose results do not depend on the thread
/// count, so the output is bit-identical for any number of threads.
fn dense<A: NdFloat>(
    zn: ArrayView2<A>,
    n: usize,
    config: &NtXentConfig,
    keep: Option<&Array2<bool>>,
) -> Raw<A> {
    let n2 = 2 * n;
    let inv_t = cast::<A>(1.0 / config.temperature);
    let scale = 1.0 / n2 as f64;
    // Rows padded to a stride off a power of two: the tile transposes walk columns, and
    // 2^k-strided columns would crowd into a few cache sets.
    let mut padded = Array2::zeros((n2, n2 + PAD));
    let mut s = padded.slice_mut(s![.., ..n2]);
    tile_pairs::gram(inv_t, zn, s.view_mut());
    let positives: Vec<A> = (0..n2).map(|i| s[[i, (i + n) % n2]]).collect();
    if let Some(keep) = keep {
        // A removed negative is -inf: no effect on the maximum, and its exp is exactly 0.
        s.axis_iter_mut(Axis(0))
            .into_par_iter()
            .zip(keep.axis_iter(Axis(0)))
            .for_each(|(mut row, keep)| {
                Zip::from(&mut row).and(&keep).for_each(|x, &k| {
                    if !k {
                        *x = A::neg_infinity();
                    }
                });
            });
    }
    let lse = softmax_rows_skip_diagonal(&mut padded, scale);
    let mut s = padded.slice_mut(s![.., ..n2]);
    let losses: Vec<f64> = lse
        .iter()
        .zip(&positives)
        .map(|(l, p)| l - p.to_f64().unwrap_or(f64::NAN))
        .collect();
    let total: f64 = losses.iter().sum();
    tile_pairs::add_transpose(s.view_mut());
    let mut grad = Array2::zeros(zn.raw_dim());
    par_gemm(inv_t, s.view(), zn, A::zero(), grad.view_mut());
    add_positive_share(&mut grad, zn, n, cast::<A>(scale) * inv_t);
    Raw {
        loss: cast::<A>(total * scale),
        losses: losses.into_iter().map(cast::<A>).collect(),
        grad,
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
fn tiled<A: NdFloat>(zn: ArrayView2<A>, n: usize, config: &NtXentConfig, tile: TileSize) -> Raw<A> {
    let n2 = 2 * n;
    let inv_t = cast::<A>(1.0 / config.temperature);
    let scale = cast::<A>(1.0 / n2 as f64);
    let bank = [Bank {
        rows: zn,
        skip_diagonal: true,
    }];
    let lse = tiled_lse(zn, &bank, None, inv_t, tile);
    let partner = |i: usize| zn.row((i + n) % n2);
    let losses: Array1<A> = (0..n2)
        .map(|i| lse[i] - zn.row(i).dot(&partner(i)) * inv_t)
        .collect();
    let loss = sum_f64(losses.iter().copied()) * scale;
    let mut grad = tiled_row_grad(zn, lse.view(), &bank, true, inv_t, scale * inv_t, tile);
    add_positive_share(&mut grad, zn, n, scale * inv_t);
    Raw { loss, losses, grad }
}
