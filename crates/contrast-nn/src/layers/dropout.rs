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

    fn own_streams_mut(&mut self) -> Vec<&mut ChaCha8Rng> {
        vec![&mut self.rng]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::Sequential;
    use ndarray::{ArrayD, IxDyn};

    fn masks(model: &mut Sequential<f64>, g: &mut Graph<f64>) -> ArrayD<f64> {
        let x = g.input(ArrayD::ones(IxDyn(&[6, 5])));
        let y = model.forward(g, x).unwrap();
        g.value(y).clone()
    }

    #[test]
    fn restored_streams_replay_the_masks_of_every_dropout() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut g = Graph::<f64>::new();
        let mut model = Sequential::new()
            .with(Dropout::new(0.5, &mut rng).unwrap())
            .with(Dropout::new(0.3, &mut rng).unwrap());
        let saved = model.save_streams();
        assert_eq!(saved.len(), 2);
        let first = masks(&mut model, &mut g);
        let second = masks(&mut model, &mut g);
        // The streams advance: a second forward draws other masks.
        assert_ne!(first, second);
        model.restore_streams(&saved).unwrap();
        assert_eq!(masks(&mut model, &mut g), first);
        assert_eq!(masks(&mut model, &mut g), second);
    }

    #[test]
    fn streams_from_another_tree_are_refused_and_change_nothing() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut g = Graph::<f64>::new();
        let mut model = Sequential::new().with(Dropout::new(0.5, &mut rng).unwrap());
        let other = vec![ChaCha8Rng::seed_from_u64(9); 2];
        let before = model.save_streams();
        let e = model.restore_streams(&other).unwrap_err();
        assert!(e.to_string().contains("2 streams"), "{e}");
        let expected = masks(&mut model, &mut g);
        model.restore_streams(&before).unwrap();
        assert_eq!(masks(&mut model, &mut g), expected);
    }
}
