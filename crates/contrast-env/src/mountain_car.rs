//! MountainCar: an under-powered car in a valley (Moore, 1990), with the constants,
//! termination and reset distribution of gymnasium's `MountainCar-v0`.
//!
//! # Dynamics
//!
//! State `s = (position, velocity)`; the valley's height is `h(p) = 0.45 sin(3p) + 0.55`.
//! Actions 0, 1, 2 accelerate left, not at all, right. With force `f = 0.001` and gravity
//! `g = 0.0025`, one step is
//!
//! ```text
//! v' = clip(v + (a - 1) f - g cos(3 p), -0.07, 0.07)
//! p' = clip(p + v', -1.2, 0.6)
//! v' = 0   if p' = -1.2 and v' < 0      (an inelastic wall on the left)
//! ```
//!
//! Unlike CartPole the system is not chaotic, so agreement with gymnasium does not hinge
//! on bit-equal `cos`.
//!
//! # Episodes
//!
//! * **Reward** `-1` for every step.
//! * **Terminated** when `p >= 0.5` and `v >= 0` (the flag on the right hill).
//! * **Truncated** after 200 steps ([`TimeLimit`](crate::TimeLimit)).
//! * **Reset**: `p ~ U(-0.6, -0.4)` drawn as `-0.6 + 0.2 u` from the caller's generator,
//!   `v = 0` (gymnasium's distribution, not numpy's stream).

use rand::RngCore;

use crate::env::{Dynamics, uniform};

/// The MountainCar-v0 dynamics (constants as associated items).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MountainCar;

impl MountainCar {
    /// Left end of the track.
    pub const MIN_POSITION: f64 = -1.2;
    /// Right end of the track.
    pub const MAX_POSITION: f64 = 0.6;
    /// Speed limit.
    pub const MAX_SPEED: f64 = 0.07;
    /// Position of the flag.
    pub const GOAL_POSITION: f64 = 0.5;
    /// Smallest velocity that counts at the flag.
    pub const GOAL_VELOCITY: f64 = 0.0;
    /// Acceleration of a push.
    pub const FORCE: f64 = 0.001;
    /// Gravity's coefficient.
    pub const GRAVITY: f64 = 0.0025;
    /// Reset interval of the position.
    pub const RESET_POSITION: (f64, f64) = (-0.6, -0.4);

    /// The valley's height at position `p`: `0.45 sin(3p) + 0.55`.
    pub fn height(p: f64) -> f64 {
        (3.0 * p).sin() * 0.45 + 0.55
    }
}

impl Dynamics for MountainCar {
    const NAME: &'static str = "MountainCar-v0";
    const STATE_NAMES: &'static [&'static str] = &["position", "velocity"];
    const NUM_ACTIONS: usize = 3;
    const TIME_LIMIT: usize = 200;

    fn initial_state(&self, rng: &mut dyn RngCore, state: &mut [f64]) {
        let (low, high) = Self::RESET_POSITION;
        state[0] = uniform(rng, low, high);
        state[1] = 0.0;
    }

    fn advance(&self, state: &mut [f64], action: usize) -> (f64, bool) {
        let (mut p, mut v) = (state[0], state[1]);
        // Grouped as gymnasium groups it: v += (push + gravity term).
        v += (action as f64 - 1.0) * Self::FORCE + (3.0 * p).cos() * (-Self::GRAVITY);
        v = v.clamp(-Self::MAX_SPEED, Self::MAX_SPEED);
        p += v;
        p = p.clamp(Self::MIN_POSITION, Self::MAX_POSITION);
        if p == Self::MIN_POSITION && v < 0.0 {
            v = 0.0;
        }
        state[0] = p;
        state[1] = v;
        let terminated = p >= Self::GOAL_POSITION && v >= Self::GOAL_VELOCITY;
        (-1.0, terminated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::{Env, TimeLimit};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn reset_draws_the_position_and_zero_velocity() {
        let mut env = TimeLimit::new(MountainCar);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut mean = 0.0;
        for _ in 0..2000 {
            let s = env.reset(&mut rng);
            assert!((-0.6..-0.4).contains(&s[0]) && s[1] == 0.0, "{s:?}");
            mean += s[0] / 2000.0;
        }
        assert!((mean + 0.5).abs() < 5e-3, "{mean}");
    }

    #[test]
    fn the_left_wall_stops_the_car() {
        let mut state = [-1.19, -0.05];
        MountainCar.advance(&mut state, 0);
        assert_eq!(state, [MountainCar::MIN_POSITION, 0.0]);
    }

    #[test]
    fn coasting_never_reaches_the_flag() {
        let mut env = TimeLimit::new(MountainCar);
        env.set_state(&[-0.5, 0.0]).unwrap();
        for t in 1..=200 {
            let step = env.step(1).unwrap();
            assert!(!step.terminated);
            assert_eq!(step.truncated, t == 200);
            assert_eq!(step.reward, -1.0);
        }
    }
}
