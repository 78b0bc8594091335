//! The environment interface: a system's [`Dynamics`], the [`TimeLimit`] that makes it
//! episodic, and the object-safe [`Env`] trait that the data generator and a recipe use to
//! treat every system alike.
//!
//! This mirrors gymnasium's split between an environment's `step` and the `TimeLimit`
//! wrapper that `gymnasium.make` adds: a step returns `terminated` when the system reached a
//! terminal state (the pole fell, the car reached the flag) and `truncated` when the episode
//! hit its step limit; both can be true at once.

use rand::RngCore;

use crate::error::{Error, Result};

/// One system's physics: a pure transition function plus its reset distribution.
///
/// Implementations hold no episode state; [`TimeLimit`] adds that.
pub trait Dynamics {
    /// The name used in messages, e.g. `CartPole-v1`.
    const NAME: &'static str;
    /// Names of the state variables, in the order of the state vector.
    const STATE_NAMES: &'static [&'static str];
    /// Number of discrete actions; actions are `0..NUM_ACTIONS`.
    const NUM_ACTIONS: usize;
    /// gymnasium's `max_episode_steps`: the step at which an episode is truncated.
    const TIME_LIMIT: usize;

    /// Draws an initial state into `state` (length `STATE_NAMES.len()`).
    fn initial_state(&self, rng: &mut dyn RngCore, state: &mut [f64]);

    /// Advances `state` by one step under a valid `action`; returns the reward and whether
    /// the new state is terminal.
    fn advance(&self, state: &mut [f64], action: usize) -> (f64, bool);
}

/// What one [`Env::step`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The state after the step (full `f64` precision, unlike gymnasium's `f32` observation).
    pub state: Vec<f64>,
    /// The reward for the step.
    pub reward: f64,
    /// The system reached a terminal state.
    pub terminated: bool,
    /// The episode reached its step limit.
    pub truncated: bool,
}

/// A discrete-action, episodic environment with a real-valued state.
///
/// Object safe, so a recipe can hold a `Box<dyn Env>` chosen at run time
/// ([`System::make`](crate::System::make)).
pub trait Env: Send {
    /// The environment's name, e.g. `CartPole-v1`.
    fn name(&self) -> &'static str;
    /// Names of the state variables, in order.
    fn state_names(&self) -> &'static [&'static str];
    /// Number of discrete actions.
    fn num_actions(&self) -> usize;
    /// Steps after which an episode is truncated.
    fn time_limit(&self) -> usize;
    /// Starts an episode from a state drawn with `rng`; returns it.
    fn reset(&mut self, rng: &mut dyn RngCore) -> Vec<f64>;
    /// Starts an episode from a given state (e.g. one recorded from another simulator).
    fn set_state(&mut self, state: &[f64]) -> Result<()>;
    /// The current state, or `None` before the first reset.
    fn state(&self) -> Option<&[f64]>;
    /// Steps taken in the current episode.
    fn elapsed_steps(&self) -> usize;
    /// Applies `action`; fails on an invalid action, before a reset or after the episode
    /// ended.
    fn step(&mut self, action: usize) -> Result<Step>;
}

/// A [`Dynamics`] made episodic: it counts steps and truncates at a limit
/// (gymnasium's `TimeLimit` wrapper; the default limit is `D::TIME_LIMIT`).
#[derive(Debug, Clone)]
pub struct TimeLimit<D> {
    dynamics: D,
    limit: usize,
    state: Vec<f64>,
    started: bool,
    elapsed: usize,
    ended: bool,
}

impl<D: Dynamics> TimeLimit<D> {
    /// The environment with gymnasium's step limit.
    pub fn new(dynamics: D) -> Self {
        Self::with_limit(dynamics, D::TIME_LIMIT)
    }

    /// The environment truncated after `limit` steps instead.
    pub fn with_limit(dynamics: D, limit: usize) -> Self {
        Self {
            dynamics,
            limit,
            state: vec![0.0; D::STATE_NAMES.len()],
            started: false,
            elapsed: 0,
            ended: false,
        }
    }

    /// The system's dynamics.
    pub fn dynamics(&self) -> &D {
        &self.dynamics
    }

    fn begin(&mut self) {
        self.started = true;
        self.elapsed = 0;
        self.ended = false;
    }
}

impl<D: Dynamics + Send> Env for TimeLimit<D> {
    fn name(&self) -> &'static str {
        D::NAME
    }

    fn state_names(&self) -> &'static [&'static str] {
        D::STATE_NAMES
    }

    fn num_actions(&self) -> usize {
        D::NUM_ACTIONS
    }

    fn time_limit(&self) -> usize {
        self.limit
    }

    fn reset(&mut self, rng: &mut dyn RngCore) -> Vec<f64> {
        self.dynamics.initial_state(rng, &mut self.state);
        self.begin();
        self.state.clone()
    }

    fn set_state(&mut self, state: &[f64]) -> Result<()> {
        if state.len() != D::STATE_NAMES.len() {
            return Err(Error::StateLength {
                env: D::NAME,
                expected: D::STATE_NAMES.len(),
                got: state.len(),
            });
        }
        if let Some((name, &value)) = D::STATE_NAMES
            .iter()
            .zip(state)
            .find(|(_, v)| !v.is_finite())
        {
            return Err(Error::NonFiniteState {
                env: D::NAME,
                name,
                value,
            });
        }
        self.state.copy_from_slice(state);
        self.begin();
        Ok(())
    }

    fn state(&self) -> Option<&[f64]> {
        self.started.then_some(self.state.as_slice())
    }

    fn elapsed_steps(&self) -> usize {
        self.elapsed
    }

    fn step(&mut self, action: usize) -> Result<Step> {
        if action >= D::NUM_ACTIONS {
            return Err(Error::InvalidAction {
                env: D::NAME,
                action,
                num_actions: D::NUM_ACTIONS,
            });
        }
        if !self.started {
            return Err(Error::NotReset { env: D::NAME });
        }
        if self.ended {
            return Err(Error::EpisodeOver {
                env: D::NAME,
                steps: self.elapsed,
            });
        }
        let (reward, terminated) = self.dynamics.advance(&mut self.state, action);
        self.elapsed += 1;
        let truncated = self.elapsed >= self.limit;
        self.ended = terminated || truncated;
        Ok(Step {
            state: self.state.clone(),
            reward,
            terminated,
            truncated,
        })
    }
}

/// `U(low, high)` from one `f64` draw, the same formula as numpy's `uniform` (the stream
/// differs: ours is the caller's generator, not numpy's PCG64).
pub(crate) fn uniform(rng: &mut dyn RngCore, low: f64, high: f64) -> f64 {
    use rand::Rng;
    low + (high - low) * rng.random::<f64>()
}
