//! Debiased contrastive loss (Chuang et al. 2020), and the shared core of the
//! hard-negative loss ([`crate::hcl()`], Robinson et al. 2021).
//!
//! ```text
//! z: (2N, D) two-view layout, p(i) = (i + N) mod 2N, s_ij = zn_i . zn_j / T
//! negatives of i: k not in {i, p(i)}, M = 2N - 2 of them
//! pos  = exp(s_ip)
//! R    = M sum_k pi_k exp(s_ik),  pi = softmax_k(beta s_ik)   (beta = 0: R = sum_k exp(s_ik))
//! Ng   = max((R - tau+ M pos) / (1 - tau+),  M exp(-1/T))
//! l_i  = -log(pos / (pos + Ng)),   loss = (1 / 2N) sum_i l_i
//! ```
//! `tau+` is the class prior (probability that a "negative" shares the anchor's class).
//! Equals the authors' `criterion(out_1, out_2, tau_plus, batch_size, beta, estimator)`
//! (estimator 'easy' with debiasing = this with beta = 0; 'hard' = beta > 0), whose
//! inputs are already normalised. The gradient flows through the importance weights
//! `pi` as in the authors' code. Everything is evaluated in log space, after subtracting
//! `c = max(-1/T, max_{k != i} s_ik)`, the largest log of a term of `pos + Ng` (up to
//! `log M`): `l_i = log(a + Ng') - (s_ip - c)`, `a = exp(s_ip - c)`, `Ng' = Ng exp(-c)`,
//! so T = 0.01 and unnormalised rows with logits far below `-1/T` stay finite.

use crate::error::Result;
use crate::logits::LogitMatrix;
use crate::output::LossGrad;
use crate::validate::{self, cast};
use ndarray::{ArrayView2, NdFloat};

/// Settings of [`debiased`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DebiasedConfig {
    /// Temperature `T > 0` (paper default 0.5).
    pub temperature: f64,
    /// Class prior `tau+` in `[0, 1)` (paper: 0.1).
    pub tau_plus: f64,
    /// L2-normalise rows first.
    pub normalize: bool,
}

impl Default for DebiasedConfig {
    fn default() -> Self {
        Self {
            temperature: 0.5,
            tau_plus: 0.1,
            normalize: true,
        }
    }
}

/// Debiased contrastive loss of a two-view batch `z` (2N, D) and `d loss / d z`.
///
/// # Errors
/// Empty or non-finite `z`, an odd row count, fewer than two pairs, a bad temperature or
/// `tau+` outside `[0, 1)`.
pub fn debiased<A: NdFloat>(z: ArrayView2<A>, config: &DebiasedConfig) -> Result<LossGrad<A>> {
    debiased_weighted(("debiased", "debiased z"), z, config, 0.0)
}

/// The shared core: debiased loss with importance weights of concentration `beta >= 0`.
/// `what` and `z_what` name the calling loss and its input in errors.
pub(crate) fn debiased_weighted<A: NdFloat>(
    (what, z_what): (&'static str, &'static str),
    z: ArrayView2<A>,
    config: &DebiasedConfig,
    beta: f64,
) -> Result<LossGrad<A>> {
    validate::embeddings(z_what, &z)?;
    validate::temperature::<A>(config.temperature)?;
    validate::parameter::<A>("tau_plus", config.tau_plus, "in [0, 1)", |t| {
        (0.0..1.0).contains(&t)
    })?;
    validate::parameter::<A>("beta", beta, ">= 0", |b| b >= 0.0)?;
    let n = validate::two_view_rows(what, &z)?;
    let n2 = 2 * n;
    let sim = LogitMatrix::new(z, config.temperature, config.normalize);
    let (tau, beta_a) = (cast::<A>(config.tau_plus), cast::<A>(beta));
    let m_neg = cast::<A>((n2 - 2) as f64);
    let inv_t = cast::<A>(1.0 / config.temperature);
    let one_minus_tau = A::one() - tau;
    let scale = cast::<A>(1.0 / n2 as f64);
    Ok(sim.reduce_rows(scale, |mut row, i| {
        let p = (i + n) % n2;
        let is_neg = |j: usize| j != i && j != p;
        // The common shift c is the largest log of the denominator's terms (the logits,
        // and -1/T for the floor M exp(-1/T)), so that every shifted exponential is at
        // most 1 (at most M for the floor): without the -1/T, unnormalised rows whose
        // logits are all far below -1/T overflow the floor (F6). The loss is invariant
        // to c, so the gradient below treats it as a constant.
        let c = row
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .fold(-inv_t, |a, (_, &x)| a.max(x));
        let a = (row[p] - c).exp();
        let xmax = row
            .iter()
            .enumerate()
            .filter(|&(j, _)| is_neg(j))
            .fold(A::neg_infinity(), |a, (_, &x)| a.max(x));
        // beta (x - xmax) <= 0: no overflow for large beta or logits.
        let pi_raw: Vec<A> = row
            .iter()
            .enumerate()
            .map(|(j, &x)| {
                if is_neg(j) {
                    (beta_a * (x - xmax)).exp()
                } else {
                    A::zero()
                }
            })
            .collect();
        let z_pi = pi_raw.iter().fold(A::zero(), |acc, &w| acc + w);
        let pe = (0..n2).filter(|&j| is_neg(j)).fold(A::zero(), |acc, j| {
            acc + pi_raw[j] / z_pi * (row[j] - c).exp()
        });
        let ng_raw = (m_neg * pe - tau * m_neg * a) / one_minus_tau;
        let floor = m_neg * (-inv_t - c).exp();
        let active = ng_raw >= floor;
        let denom = a + if active { ng_raw } else { floor };
        let loss = denom.ln() - (row[p] - c);
        for j in 0..n2 {
            let x = row[j];
            row[j] = if j == p {
                let dng = if active {
                    -tau * m_neg * a / one_minus_tau
                } else {
                    A::zero()
                };
                scale * ((a + dng) / denom - A::one())
            } else if is_neg(j) && active {
                let pi = pi_raw[j] / z_pi;
                let dr = m_neg * pi * ((A::one() + beta_a) * (x - c).exp() - beta_a * pe);
                scale * dr / one_minus_tau / denom
            } else {
                A::zero()
            };
        }
        loss
    }))
}
