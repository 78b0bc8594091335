//! Exponential moving average of parameters, for momentum (target) encoders.
//!
//! `theta_k <- m theta_k + (1 - m) theta_q` (MoCo, BYOL). BYOL raises `m` from `m_0` to 1
//! along a cosine: `m_k = 1 - (1 - m_0) (cos(pi k / K) + 1) / 2` ([`MomentumSchedule`]).
//!
//! [`ema_update_params`] applies the update to every param of a target module from the
//! matching param of the online module (same architecture, built twice on one graph); with
//! `m = 0` it copies, which is how a target network starts. Buffers (batch-norm running
//! statistics) are not averaged: BYOL and MoCo let each network keep its own.

use contrast_autodiff::Graph;
use ndarray::{ArrayD, NdFloat, Zip};

use crate::error::{Error, Result};
use crate::module::NamedParam;
use crate::scalar;
use crate::state::check_names_and_shapes;

/// `target <- m target + (1 - m) online`, element-wise. Shapes must agree; `m` in `[0, 1]`.
pub fn ema_update<A: NdFloat>(target: &mut ArrayD<A>, online: &ArrayD<A>, m: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&m) {
        return Err(Error::InvalidConfig {
            what: "EMA momentum",
            value: m.to_string(),
            why: "must be in [0, 1]",
        });
    }
    if target.shape() != online.shape() {
        return Err(Error::GradientShape {
            name: "EMA target".into(),
            expected: online.shape().to_vec(),
            got: target.shape().to_vec(),
        });
    }
    let (m, one_minus) = (scalar::<A>(m), scalar::<A>(1.0 - m));
    Zip::from(target)
        .and(online)
        .for_each(|t, &o| *t = m * *t + one_minus * o);
    Ok(())
}

/// `target <- m target + (1 - m) online` for every param, matched by name.
///
/// Both lists must hold the same names with the same shapes (the same architecture);
/// otherwise an [`Error::StateMismatch`] lists the differences and nothing is updated.
pub fn ema_update_params<A: NdFloat>(
    g: &mut Graph<A>,
    target: &[NamedParam],
    online: &[NamedParam],
    m: f64,
) -> Result<()> {
    let expected: Vec<(String, Vec<usize>)> = target
        .iter()
        .map(|p| (p.name.clone(), g.value(p.var).shape().to_vec()))
        .collect();
    let found = online
        .iter()
        .map(|p| (p.name.clone(), g.value(p.var).clone()))
        .collect();
    check_names_and_shapes(&expected, &found)?;
    for p in target {
        ema_update(g.value_mut(p.var), &found[&p.name], m)?;
    }
    Ok(())
}

/// BYOL's momentum schedule: `m_k = 1 - (1 - m_0) (cos(pi k / K) + 1) / 2`, so `m_0` at
/// `k = 0` and 1 at `k = K` (constant after).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MomentumSchedule {
    base: f64,
    total: usize,
}

impl MomentumSchedule {
    /// Start at `base` (BYOL: 0.996), reach 1 after `total > 0` steps.
    pub fn new(base: f64, total: usize) -> Result<Self> {
        if !(0.0..=1.0).contains(&base) || total == 0 {
            return Err(Error::InvalidConfig {
                what: "momentum schedule",
                value: format!("base {base}, total {total}"),
                why: "base must be in [0, 1] and total > 0",
            });
        }
        Ok(Self { base, total })
    }

    /// The momentum at step `k`.
    pub fn momentum(&self, k: usize) -> f64 {
        let k = k.min(self.total) as f64;
        let c = (std::f64::consts::PI * k / self.total as f64).cos();
        1.0 - (1.0 - self.base) * (c + 1.0) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{IxDyn, arr1};

    #[test]
    fn update_matches_formula() {
        let mut t = arr1(&[1.0f64, 2.0, -3.0]).into_dyn();
        let o = arr1(&[0.0f64, 4.0, 1.0]).into_dyn();
        ema_update(&mut t, &o, 0.9).unwrap();
        let want = [0.9, 2.2, -2.6];
        assert!(
            t.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12),
            "{t}"
        );
        ema_update(&mut t, &o, 0.0).unwrap();
        assert_eq!(t, o);
        assert!(ema_update(&mut t, &ArrayD::zeros(IxDyn(&[2])), 0.5).is_err());
        assert!(ema_update(&mut t, &o, 1.5).is_err());
    }

    #[test]
    fn params_follow_the_online_network() {
        use crate::Module;
        use crate::layers::Linear;
        use rand::SeedableRng;
        let mut g = Graph::<f64>::new();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let online = Linear::new(&mut g, 3, 2, true, &mut rng).unwrap();
        let target = Linear::new(&mut g, 3, 2, true, &mut rng).unwrap();
        let (on, tg) = (online.named_params(), target.named_params());
        let before = g.value(tg[0].var).clone();
        ema_update_params(&mut g, &tg, &on, 0.75).unwrap();
        let want = &before * 0.75 + &(g.value(on[0].var) * 0.25);
        assert!((g.value(tg[0].var) - &want).iter().all(|d| d.abs() < 1e-15));
        ema_update_params(&mut g, &tg, &on, 0.0).unwrap();
        assert_eq!(g.value(tg[1].var), g.value(on[1].var));
        let other = Linear::new(&mut g, 4, 2, false, &mut rng).unwrap();
        let err = ema_update_params(&mut g, &tg, &other.named_params(), 0.5).unwrap_err();
        assert!(matches!(err, Error::StateMismatch { .. }), "{err}");
    }

    #[test]
    fn byol_schedule_key_steps() {
        let s = MomentumSchedule::new(0.996, 100).unwrap();
        assert!((s.momentum(0) - 0.996).abs() < 1e-15);
        assert!((s.momentum(50) - 0.998).abs() < 1e-12);
        assert!((s.momentum(100) - 1.0).abs() < 1e-15);
        assert_eq!(s.momentum(1000), s.momentum(100));
        assert!((0..100).all(|k| s.momentum(k + 1) >= s.momentum(k)));
        assert!(MomentumSchedule::new(1.2, 10).is_err());
        assert!(MomentumSchedule::new(0.9, 0).is_err());
    }
}
