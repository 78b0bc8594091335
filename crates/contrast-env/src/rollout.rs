//! [`rollout`]: one episode of a policy in an environment, with every state kept.

use rand::RngCore;

use crate::env::Env;
use crate::error::{Error, Result};
use crate::policy::Policy;

/// One episode: `len` transitions, so `len + 1` states (the reset state first).
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    /// States, row-major `(len + 1) x state_dim`.
    pub states: Vec<f64>,
    /// Action taken at each step, `len` of them.
    pub actions: Vec<u8>,
    /// Reward of each step.
    pub rewards: Vec<f64>,
    /// The last state is terminal.
    pub terminated: bool,
    /// The episode hit the environment's time limit.
    pub truncated: bool,
}

impl Episode {
    /// Number of transitions.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// Whether the episode has no transitions.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

/// Resets `env` with `reset_rng`, then steps `policy` (drawing from `policy_rng`) until the
/// episode terminates, is truncated, or has `max_steps` transitions (then both flags are
/// false: the episode was cut). Two generators keep the initial state independent of the
/// policy's draws. Actions are stored as bytes, so an environment with more than 256
/// actions is refused.
pub fn rollout(
    env: &mut dyn Env,
    policy: &dyn Policy,
    reset_rng: &mut dyn RngCore,
    policy_rng: &mut dyn RngCore,
    max_steps: usize,
) -> Result<Episode> {
    if env.num_actions() > 256 {
        return Err(Error::TooManyActions {
            env: env.name(),
            num_actions: env.num_actions(),
        });
    }
    let mut state = env.reset(reset_rng);
    let mut episode = Episode {
        states: state.clone(),
        actions: Vec::new(),
        rewards: Vec::new(),
        terminated: false,
        truncated: false,
    };
    while episode.len() < max_steps {
        let action = policy.act(&state, policy_rng);
        let step = env.step(action)?;
        // `step` accepted it, so it is below num_actions <= 256.
        episode.actions.push(action as u8);
        episode.rewards.push(step.reward);
        episode.states.extend_from_slice(&step.state);
        state = step.state;
        if step.terminated || step.truncated {
            episode.terminated = step.terminated;
            episode.truncated = step.truncated;
            break;
        }
    }
    Ok(episode)
}
