//! Inverted dropout: in training each element is zeroed with probability `p` and the
//! survivors are scaled by `1 / (1 - p)`, so the expected value is unchanged and evaluation
//! is the identity. The backward multiplies by the same mask.

use ndarray::{NdFloat, Zip};
use rand::Rng;

use crate::error::{Error, Result};
use crate::graph::{Backprop, Graph, Var};

impl<A: NdFloat> Graph<A> {
    /// Dropout with drop probability `p` in `[0, 1)`; the identity when `training` is false.
    pub fn dropout(&mut self, x: Var, p: f64, rng: &mut impl Rng, training: bool) -> Result<Var> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::invalid(
                "dropout",
                format!("p must be in [0, 1), got {p}"),
            ));
        }
        let value = self.try_value(x)?;
        if !training || p == 0.0 {
            return Ok(x);
        }
        let scale = A::from(1.0 / (1.0 - p)).expect("float");
        let mask = value.mapv(|_| {
            if rng.random::<f64>() < p {
                A::zero()
            } else {
                scale
            }
        });
        let out = Zip::from(value).and(&mask).map_collect(|&v, &m| v * m);
        let backward = move |bp: Backprop<'_, A>| {
            let mut g = bp.grad;
            g.zip_mut_with(&mask, |g, &m| *g *= m);
            Ok(vec![Some(g)])
        };
        self.record("dropout", out, &[x], Box::new(backward))
    }
}
