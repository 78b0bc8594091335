//! Dropout (inverted: kept values are scaled by `1 / (1 - p)` in training; identity in eval).

use contrast_autodiff::{Graph, Var};
use ndarray::NdFloat;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::module::Module;

/// Dropout with probability `p`. It owns a seeded stream (drawn from the rng given at
/// construction) so that a `forward` needs no rng argument and a run is reproducible.
#[derive(Clone, Debug)]
pub struct Dropout {
    p: f64,
    rng: ChaCha8Rng,
    training: bool,
}

impl Dropout {
    /// Dropout with probability `p` in `[0, 1)`, seeded from `rng`.
    pub fn new(p: f64, rng: &mut impl Rng) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::InvalidConfig {
                what: "dropout probability",
                value: p.to_string(),
                why: "must be in [0, 1)",
            });
        }
        Ok(Self {
            p,
            rng: ChaCha8Rng::seed_from_u64(rng.random()),
            training: true,
        })
    }
}

impl<A: NdFloat> Module<A> for Dropout {
    fn forward(&mut self, g: &mut Graph<A>, x: Var) -> Result<Var> {
        Ok(g.dropout(x, self.p, &mut self.rng, self.training)?)
    }

    fn set_own_training(&mut self, training: bool) {
        self.training = training;
    }
}
