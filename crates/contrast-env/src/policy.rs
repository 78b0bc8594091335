//! Seeded behaviour policies that generate the trajectories.
//!
//! * [`UniformRandom`]: every action with equal probability.
//! * [`CartPoleBalance`]: push toward the side the pole is falling,
//!   `a = 1 if theta + 0.5 theta_dot > 0 else 0` (a proportional-derivative rule on the
//!   pole angle; it keeps the pole up for the whole 500 steps most of the time, while the
//!   cart wanders).
//! * [`MountainCarPump`]: push in the direction of motion, `a = 2 if v >= 0 else 0`; each
//!   swing adds energy, and the car reaches the flag in about 100 steps.
//! * [`EpsilonNoisy`]: a policy that, with probability `epsilon`, takes a uniform random
//!   action instead, so that heuristic episodes visit more than one narrow path.
//!
//! [`PolicyKind`] names the two behaviours a generated data set mixes, and
//! [`PolicyKind::build`] gives the concrete policy for a system.
//!
//! Every policy draws only from the generator it is given, in a fixed order (one `f64`
//! for the epsilon coin, then one action if the coin says so), so an episode is a
//! function of its stream.

use rand::{Rng, RngCore};

use crate::system::System;

/// Chooses an action from a state.
pub trait Policy: Send + Sync {
    /// The action for `state`, drawing any randomness from `rng`.
    fn act(&self, state: &[f64], rng: &mut dyn RngCore) -> usize;
}

/// Every action with probability `1 / num_actions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UniformRandom {
    /// Number of actions.
    pub num_actions: usize,
}

impl Policy for UniformRandom {
    fn act(&self, _state: &[f64], rng: &mut dyn RngCore) -> usize {
        rng.random_range(0..self.num_actions)
    }
}

/// CartPole: push right when `theta + 0.5 theta_dot > 0`, else left.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CartPoleBalance;

impl Policy for CartPoleBalance {
    fn act(&self, state: &[f64], _rng: &mut dyn RngCore) -> usize {
        usize::from(state[2] + 0.5 * state[3] > 0.0)
    }
}

/// MountainCar: accelerate right when `v >= 0`, else left.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MountainCarPump;

impl Policy for MountainCarPump {
    fn act(&self, state: &[f64], _rng: &mut dyn RngCore) -> usize {
        if state[1] >= 0.0 { 2 } else { 0 }
    }
}

/// `inner`, except that with probability `epsilon` a uniform random action is taken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpsilonNoisy<P> {
    /// The policy followed otherwise.
    pub inner: P,
    /// Probability of a random action, in `[0, 1]`.
    pub epsilon: f64,
    /// Number of actions.
    pub num_actions: usize,
}

impl<P: Policy> Policy for EpsilonNoisy<P> {
    fn act(&self, state: &[f64], rng: &mut dyn RngCore) -> usize {
        if rng.random::<f64>() < self.epsilon {
            rng.random_range(0..self.num_actions)
        } else {
            self.inner.act(state, rng)
        }
    }
}

/// The behaviour that produced an episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// [`UniformRandom`].
    Uniform,
    /// The system's heuristic ([`CartPoleBalance`], [`MountainCarPump`]) with epsilon noise.
    Heuristic,
}

impl PolicyKind {
    /// Both kinds, in the order a data set stores them.
    pub const ALL: [PolicyKind; 2] = [PolicyKind::Uniform, PolicyKind::Heuristic];

    /// The concrete policy for `system`; `epsilon` applies to the heuristic only.
    pub fn build(self, system: System, epsilon: f64) -> Box<dyn Policy> {
        let num_actions = system.num_actions();
        match (self, system) {
            (PolicyKind::Uniform, _) => Box::new(UniformRandom { num_actions }),
            (PolicyKind::Heuristic, System::CartPole) => Box::new(EpsilonNoisy {
                inner: CartPoleBalance,
                epsilon,
                num_actions,
            }),
            (PolicyKind::Heuristic, System::MountainCar) => Box::new(EpsilonNoisy {
                inner: MountainCarPump,
                epsilon,
                num_actions,
            }),
        }
    }

    /// `uniform` or `heuristic`.
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::Uniform => "uniform",
            PolicyKind::Heuristic => "heuristic",
        }
    }
}
