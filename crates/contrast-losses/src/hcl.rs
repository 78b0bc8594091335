//! HCL, the hard-negative weighted contrastive loss (Robinson et al. 2021, "Contrastive
//! Learning with Hard Negative Samples"). A loss over all negatives, reweighted towards the
//! hard ones; selecting hard negatives by index is the miner of `contrast-sampling`
//! (`hard_negatives`), a different thing.
//!
//! ```text
//! the debiased loss (crate::debiased) with each negative's term reweighted by
//! pi_k = exp(beta s_ik) / sum_j exp(beta s_ij)   (importance sampling towards hard negatives)
//! R    = M sum_k pi_k exp(s_ik)   =  sum_k exp((1 + beta) s_ik) / mean_k exp(beta s_ik)
//! Ng   = max((R - tau+ M pos) / (1 - tau+),  M exp(-1/T)),   l_i = -log(pos / (pos + Ng))
//! ```
//! Equals the authors' `criterion(..., estimator='hard')` (`imp = (beta * neg.log()).exp()`,
//! `reweight_neg = (imp * neg).sum(-1) / imp.mean(-1)`), gradient through the weights
//! included. `beta = 0` is the debiased loss; `tau+ = 0` the hard-negative loss without
//! debiasing.

use crate::debiased::{DebiasedConfig, debiased_weighted};
use crate::error::Result;
use crate::output::LossGrad;
use ndarray::{ArrayView2, NdFloat};

/// Settings of [`hcl`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HclConfig {
    /// Temperature `T > 0` (paper default 0.5).
    pub temperature: f64,
    /// Class prior `tau+` in `[0, 1)` (paper: 0.1).
    pub tau_plus: f64,
    /// Concentration `beta >= 0` (paper: 1.0).
    pub beta: f64,
    /// L2-normalise rows first.
    pub normalize: bool,
}

impl Default for HclConfig {
    fn default() -> Self {
        Self {
            temperature: 0.5,
            tau_plus: 0.1,
            beta: 1.0,
            normalize: true,
        }
    }
}

/// HCL loss of a two-view batch `z` (2N, D) and `d loss / d z`.
///
/// # Errors
/// As [`crate::debiased::debiased`], and `beta` negative or non-finite.
pub fn hcl<A: NdFloat>(z: ArrayView2<A>, config: &HclConfig) -> Result<LossGrad<A>> {
    let base = DebiasedConfig {
        temperature: config.temperature,
        tau_plus: config.tau_plus,
        normalize: config.normalize,
    };
    debiased_weighted(("hcl", "hcl z"), z, &base, config.beta)
}
