//! InfoNCE with explicit negatives (CPC, Oord et al. 2018; MoCo, He et al. 2020).
//!
//! ```text
//! q: (B, D) queries, k: (B, D) positive keys (k_i belongs to q_i), n: (K, D) negatives
//! (a MoCo queue), rows normalised as in NT-Xent unless `normalize = false`
//! logits_i = [q_i . k_i, q_i . n_1, ..., q_i . n_K] / T
//!            (+ [q_i . k_j for j != i] with `in_batch`, the CLIP / one-direction form)
//! l_i  = lse(logits_i) - q_i . k_i / T          (cross-entropy to the positive)
//! loss = (1 / B) sum_i l_i
//!
//! dlogit_ic = (softmax_ic - [c = positive]) / B
//! dq_i = sum_c dlogit_ic col_c / T,  dk_i, dn_c = sum_i dlogit_ic q_i / T
//! ```
//! Equals `F.cross_entropy(cat([pos, neg], 1) / T, zeros)` in torch, MoCo's loss (which
//! feeds normalised q, k and queue); see the `info_nce` fixtures. The negatives' gradient
//! is returned as well, for banks that learn; MoCo's queue is a constant and ignores it.
//!
//! **CLIP** is this loss with `in_batch` and no queue: `q` the left rows (images), `k` the
//! right rows (texts), each query's negatives the other rows' keys, i.e.
//! `F.cross_entropy(qn @ kn.T / T, arange(B))`; the symmetric CLIP loss is the mean of
//! `info_nce(q, k)` and `info_nce(k, q)` (the `clip_torch` fixtures).
//!
//! **Learnable temperature**: every logit is `qn_i . c / T`, so scaling the queries by `c`
//! is dividing `T` by `c`, and `dL/dT = -(1/T) sum_i qn_i . dL/dqn_i`, returned as
//! [`InfoNceGrad::grad_temperature`] for one dot product per query. CLIP's learnable logit
//! scale `s = exp(t) = 1/T` has `dL/dt = -T dL/dT`; the graph node
//! `autodiff::info_nce_log_scale_op` (feature `autodiff`) takes `t` as a scalar node.

use crate::error::{Error, Result};
use crate::log_sum_exp::{log_sum_exp, sum_f64};
use crate::output::{Evaluation, TileSize};
use crate::tiled::{Bank, tiled_col_grad, tiled_lse, tiled_row_grad};
use crate::validate::{self, cast};
use contrast_linalg::{RowNormalized, par_gemm};
use ndarray::{Array1, Array2, ArrayView2, NdFloat, Zip};

/// Settings of [`info_nce`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InfoNceConfig {
    /// Temperature `T > 0` (MoCo default 0.07, MoCo v2 0.2).
    pub temperature: f64,
    /// L2-normalise q, k and the negatives first.
    pub normalize: bool,
    /// Also use the other keys of the batch as negatives.
    pub in_batch: bool,
    /// Dense, tiled, or chosen by size.
    pub evaluation: Evaluation,
}

impl Default for InfoNceConfig {
    fn default() -> Self {
        Self {
            temperature: 0.07,
            normalize: true,
            in_batch: false,
            evaluation: Evaluation::Auto,
        }
    }
}

impl InfoNceConfig {
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
    /// Uses the batch's other keys as negatives.
    pub fn in_batch(mut self, on: bool) -> Self {
        self.in_batch = on;
        self
    }
    /// Chooses dense, tiled or automatic evaluation.
    pub fn evaluation(mut self, evaluation: Evaluation) -> Self {
        self.evaluation = evaluation;
        self
    }
}

/// InfoNCE loss and its gradients.
#[derive(Clone, Debug, PartialEq)]
pub struct InfoNceGrad<A> {
    /// Mean cross-entropy over the B queries.
    pub loss: A,
    /// `d loss / d q`.
    pub grad_query: Array2<A>,
    /// `d loss / d k`.
    pub grad_key: Array2<A>,
    /// `d loss / d negatives`, when negatives were given.
    pub grad_negatives: Option<Array2<A>>,
    /// `d loss / d T`, for a learnable temperature.
    pub grad_temperature: A,
}

/// InfoNCE of queries `q` against their keys `k` and the `negatives`.
///
/// # Errors
/// Empty or non-finite inputs, `k` not shaped like `q`, negatives of another width, a bad
/// temperature, or no negative at all (no queue and no `in_batch` with B >= 2).
pub fn info_nce<A: NdFloat>(
    q: ArrayView2<A>,
    k: ArrayView2<A>,
    negatives: Option<ArrayView2<A>>,
    config: &InfoNceConfig,
) -> Result<InfoNceGrad<A>> {
    validate::embeddings("info_nce query", &q)?;
    validate::same_shape("info_nce key", &q, &k)?;
    validate::embeddings("info_nce key", &k)?;
    if let Some(neg) = &negatives {
        validate::columns("info_nce negatives", q.ncols(), neg)?;
        validate::embeddings("info_nce negatives", neg)?;
    }
    validate::temperature::<A>(config.temperature)?;
    let b = q.nrows();
    let in_batch = config.in_batch && b >= 2;
    let queue = negatives.as_ref().map_or(0, |n| n.nrows());
    if !in_batch && queue == 0 {
        return Err(Error::NoNegative {
            what: "info_nce",
            rows: b,
        });
    }
    let cols = 1 + queue + if in_batch { b - 1 } else { 0 };
    let qn = RowNormalized::new(q, config.normalize);
    let kn = RowNormalized::new(k, config.normalize);
    let nn = negatives.map(|n| RowNormalized::new(n, config.normalize));
    let inputs = Normalized {
        q: qn.rows.view(),
        k: kn.rows.view(),
        n: nn.as_ref().map(|n| n.rows.view()),
        in_batch,
        inv_t: cast(1.0 / config.temperature),
        scale: cast(1.0 / b as f64),
    };
    let raw = match config.evaluation.resolve(b, cols) {
        None => inputs.dense(),
        Some(tile) => {
            crate::nt_xent::check_tile(tile)?;
            inputs.tiled(tile)
        }
    };
    let radial = sum_f64(
        Zip::from(qn.rows.rows())
            .and(raw.dq.rows())
            .map_collect(|q, g| q.dot(&g))
            .into_iter(),
    );
    Ok(InfoNceGrad {
        loss: raw.loss,
        grad_temperature: -radial * cast::<A>(1.0 / config.temperature),
        grad_query: qn.backward(raw.dq),
        grad_key: kn.backward(raw.dk),
        grad_negatives: nn.zip(raw.dn).map(|(n, d)| n.backward(d)),
    })
}

struct Normalized<'a, A> {
    q: ArrayView2<'a, A>,
    k: ArrayView2<'a, A>,
    n: Option<ArrayView2<'a, A>>,
    in_batch: bool,
    inv_t: A,
    scale: A,
}

/// Gradients with respect to the normalised rows.
struct RawGrad<A> {
    loss: A,
    dq: Array2<A>,
    dk: Array2<A>,
    dn: Option<Array2<A>>,
}

impl<A: NdFloat> Normalized<'_, A> {
    fn positives(&self) -> Array1<A> {
        Zip::from(self.q.rows())
            .and(self.k.rows())
            .map_collect(|q, k| q.dot(&k) * self.inv_t)
    }

    /// Adds the positive's share `g_pos_i k_i` to dq and `g_pos_i q_i` to dk.
    fn add_positive(
        &self,
        lse: &Array1<A>,
        pos: &Array1<A>,
        dq: &mut Array2<A>,
        dk: &mut Array2<A>,
    ) {
        for i in 0..self.q.nrows() {
            let g = ((pos[i] - lse[i]).exp() - A::one()) * self.scale * self.inv_t;
            dq.row_mut(i).scaled_add(g, &self.k.row(i));
            dk.row_mut(i).scaled_add(g, &self.q.row(i));
        }
    }

    fn loss(&self, lse: &Array1<A>, pos: &Array1<A>) -> A {
        sum_f64(lse.iter().zip(pos).map(|(&l, &p)| l - p)) * self.scale
    }

    fn dense(&self) -> RawGrad<A> {
        let pos = self.positives();
        let b = self.q.nrows();
        // One logit block per candidate set; the in-batch diagonal is the positive, masked.
        let block = |c: ArrayView2<A>| {
            let mut s = Array2::zeros((b, c.nrows()));
            par_gemm(self.inv_t, self.q, c.t(), A::zero(), s.view_mut());
            s
        };
        let mut batch = self.in_batch.then(|| {
            let mut s = block(self.k);
            s.diag_mut().fill(A::neg_infinity());
            s
        });
        let mut queue = self.n.map(block);
        let lse = Array1::from_shape_fn(b, |i| {
            let row =
                |m: &Option<Array2<A>>| m.as_ref().map(|m| m.row(i).to_vec()).unwrap_or_default();
            let (rb, rq) = (row(&batch), row(&queue));
            log_sum_exp(std::iter::once(pos[i]).chain(rb).chain(rq))
        });
        let to_grad = |m: &mut Array2<A>| {
            Zip::from(m.rows_mut())
                .and(&lse)
                .for_each(|mut r, &l| r.mapv_inplace(|x| (x - l).exp() * self.scale));
        };
        let mut dq = Array2::zeros(self.q.raw_dim());
        let mut dk = Array2::zeros(self.k.raw_dim());
        if let Some(m) = batch.as_mut() {
            to_grad(m);
            par_gemm(self.inv_t, m.view(), self.k, A::one(), dq.view_mut());
            par_gemm(self.inv_t, m.t(), self.q, A::one(), dk.view_mut());
        }
        let dn = queue.as_mut().zip(self.n).map(|(m, n)| {
            to_grad(m);
            par_gemm(self.inv_t, m.view(), n, A::one(), dq.view_mut());
            let mut dn = Array2::zeros(n.raw_dim());
            par_gemm(self.inv_t, m.t(), self.q, A::zero(), dn.view_mut());
            dn
        });
        self.add_positive(&lse, &pos, &mut dq, &mut dk);
        RawGrad {
            loss: self.loss(&lse, &pos),
            dq,
            dk,
            dn,
        }
    }

    fn tiled(&self, tile: TileSize) -> RawGrad<A> {
        let pos = self.positives();
        let batch_bank = self.in_batch.then_some(Bank {
            rows: self.k,
            skip_diagonal: true,
        });
        let queue_bank = self.n.map(|rows| Bank {
            rows,
            skip_diagonal: false,
        });
        let banks: Vec<Bank<A>> = batch_bank.into_iter().chain(queue_bank).collect();
        let lse = tiled_lse(self.q, &banks, Some(pos.view()), self.inv_t, tile);
        let alpha = self.scale * self.inv_t;
        let mut dq = tiled_row_grad(self.q, lse.view(), &banks, false, self.inv_t, alpha, tile);
        let mut dk = match batch_bank {
            Some(bank) => tiled_col_grad(self.q, lse.view(), bank, self.inv_t, alpha, tile),
            None => Array2::zeros(self.k.raw_dim()),
        };
        let dn = queue_bank
            .map(|bank| tiled_col_grad(self.q, lse.view(), bank, self.inv_t, alpha, tile));
        self.add_positive(&lse, &pos, &mut dq, &mut dk);
        RawGrad {
            loss: self.loss(&lse, &pos),
            dq,
            dk,
            dn,
        }
    }
}
