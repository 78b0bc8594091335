//! [`TransitionSet`]: episodes of frames, true states and actions, and the frame-stack
//! observations and time pairs a temporal-contrastive recipe trains on.
//!
//! # Layout
//!
//! Episode `e` has `len_e` transitions and `len_e + 1` time steps `t = 0..=len_e` (the reset
//! state, then one state per step). Time steps of all episodes are numbered globally,
//! episode after episode: step `t` of episode `e` is `g = first_e + t` with
//! `first_e = sum_{e' < e} (len_{e'} + 1)`, the same numbering as `contrast-sampling`'s
//! `Trajectories` built from [`TransitionSet::step_counts`]. In that order the set holds
//!
//! * `frames`: `u8`, `(steps, H, W)` row-major; intensity `= byte / 255`;
//! * `states`: `f64`, `(steps, state_dim)`, the simulator's exact states;
//! * `actions` and `rewards`: one per transition, episode after episode; action `a_t` and
//!   reward `r_t` lead from step `t` to `t + 1`.
//!
//! # Observations
//!
//! The observation at `(e, t)` is the stack of the last `k` frames ([`frame_stack`]),
//! oldest first: channel `c` holds frame `t - (k - 1 - c)`. Before the episode's start the
//! first frame is repeated (channel `c` holds frame `max(0, t - (k - 1 - c))`), as
//! frame-stacking wrappers do after a reset; so the stack at `t = 0` shows a still system.
//!
//! [`frame_stack`]: TransitionSet::frame_stack

use ndarray::{Array2, Array3, Array4, ArrayView2, ArrayView3};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::policy::PolicyKind;
use crate::system::System;

/// What is known about one episode besides its frames and states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpisodeInfo {
    /// Transitions (steps taken); the episode has `len + 1` time steps.
    pub len: usize,
    /// Its last state is terminal.
    pub terminated: bool,
    /// It reached the time limit.
    pub truncated: bool,
    /// The behaviour that produced it.
    pub policy: PolicyKind,
    /// The index of its random streams among its split's episodes of that policy.
    pub stream: u64,
}

/// An observation at time `t` of `episode` and the one `future - t` steps later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimePair {
    /// The episode.
    pub episode: usize,
    /// The anchor's time step.
    pub t: usize,
    /// The positive's time step, `t + k`.
    pub future: usize,
}

/// Which range a time index must lie in.
#[derive(Clone, Copy)]
enum Index {
    /// A time step, `0..=len`.
    Step,
    /// A transition, `0..len`.
    Transition,
}

/// Episodes of frames, states and actions of one system (see the module docs for the
/// layout).
#[derive(Debug, Clone, PartialEq)]
pub struct TransitionSet {
    system: System,
    height: usize,
    width: usize,
    frame_stack: usize,
    episodes: Vec<EpisodeInfo>,
    // first_step[e] = global index of (e, 0); one extra entry, the total.
    first_step: Vec<usize>,
    frames: Vec<u8>,
    states: Vec<f64>,
    actions: Vec<u8>,
    rewards: Vec<f64>,
}

/// The parts a [`TransitionSet`] is assembled from, laid out as the module docs say.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Parts {
    pub system: System,
    pub height: usize,
    pub width: usize,
    pub episodes: Vec<EpisodeInfo>,
    pub frames: Vec<u8>,
    pub states: Vec<f64>,
    pub actions: Vec<u8>,
    pub rewards: Vec<f64>,
}

/// Borrowed flat buffers of a [`TransitionSet`].
pub(crate) struct Buffers<'a> {
    pub frames: &'a [u8],
    pub states: &'a [f64],
    pub actions: &'a [u8],
    pub rewards: &'a [f64],
}

impl TransitionSet {
    /// Assembles a set, checking that the buffers have the lengths the episodes imply.
    pub(crate) fn assemble(parts: Parts, frame_stack: usize) -> std::result::Result<Self, String> {
        let mut first_step = Vec::with_capacity(parts.episodes.len() + 1);
        let mut steps = 0;
        for ep in &parts.episodes {
            first_step.push(steps);
            steps += ep.len + 1;
        }
        first_step.push(steps);
        let transitions = steps - parts.episodes.len();
        let checks = [
            (
                "frames",
                parts.frames.len(),
                steps * parts.height * parts.width,
            ),
            (
                "states",
                parts.states.len(),
                steps * parts.system.state_dim(),
            ),
            ("actions", parts.actions.len(), transitions),
            ("rewards", parts.rewards.len(), transitions),
        ];
        for (what, got, want) in checks {
            if got != want {
                return Err(format!("{what}: {got} values, the episodes need {want}"));
            }
        }
        if let Some(&a) = parts
            .actions
            .iter()
            .find(|&&a| a as usize >= parts.system.num_actions())
        {
            return Err(format!("action {a} out of range for {}", parts.system));
        }
        let mut set = Self {
            system: parts.system,
            height: parts.height,
            width: parts.width,
            frame_stack: 1,
            episodes: parts.episodes,
            first_step,
            frames: parts.frames,
            states: parts.states,
            actions: parts.actions,
            rewards: parts.rewards,
        };
        set.set_frame_stack(frame_stack)
            .map_err(|e| e.to_string())?;
        Ok(set)
    }

    /// The flat buffers, to write to the cache.
    pub(crate) fn buffers(&self) -> Buffers<'_> {
        Buffers {
            frames: &self.frames,
            states: &self.states,
            actions: &self.actions,
            rewards: &self.rewards,
        }
    }

    /// The system simulated.
    pub fn system(&self) -> System {
        self.system
    }

    /// Frame height, pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Frame width, pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Frames per observation, `k`.
    pub fn frame_stack(&self) -> usize {
        self.frame_stack
    }

    /// Changes the frames per observation; fails for 0.
    pub fn set_frame_stack(&mut self, k: usize) -> Result<()> {
        if k == 0 {
            return Err(Error::ZeroFrameStack);
        }
        self.frame_stack = k;
        Ok(())
    }

    /// Names of the state variables.
    pub fn state_names(&self) -> &'static [&'static str] {
        self.system.state_names()
    }

    /// Number of episodes.
    pub fn num_episodes(&self) -> usize {
        self.episodes.len()
    }

    /// Number of transitions (steps taken), over all episodes.
    pub fn num_transitions(&self) -> usize {
        self.actions.len()
    }

    /// Number of time steps (frames, states), over all episodes: transitions + episodes.
    pub fn num_steps(&self) -> usize {
        self.first_step[self.episodes.len()]
    }

    /// Every episode's description, in order.
    pub fn episodes(&self) -> &[EpisodeInfo] {
        &self.episodes
    }

    /// Time steps per episode (`len + 1`), in order: the lengths to number steps globally.
    pub fn step_counts(&self) -> Vec<usize> {
        self.episodes.iter().map(|e| e.len + 1).collect()
    }

    /// The global index of step `t` of episode `episode`.
    pub fn global_index(&self, episode: usize, t: usize) -> Result<usize> {
        self.check(episode, t, Index::Step)?;
        Ok(self.first_step[episode] + t)
    }

    /// `(episode, t)` of a global step index.
    pub fn locate(&self, global: usize) -> Result<(usize, usize)> {
        if global >= self.num_steps() {
            return Err(Error::IndexOutOfRange {
                what: "step",
                index: global,
                len: self.num_steps(),
            });
        }
        let e = self.first_step.partition_point(|&f| f <= global) - 1;
        Ok((e, global - self.first_step[e]))
    }

    /// Checks that `episode` exists and `t` is one of its time steps (`0..=len`) or, for
    /// [`Index::Transition`], one of its transitions (`0..len`).
    fn check(&self, episode: usize, t: usize, index: Index) -> Result<()> {
        let info = self.episodes.get(episode).ok_or(Error::IndexOutOfRange {
            what: "episode",
            index: episode,
            len: self.episodes.len(),
        })?;
        let (what, len) = match index {
            Index::Step => ("time step", info.len + 1),
            Index::Transition => ("transition", info.len),
        };
        if t >= len {
            return Err(Error::IndexOutOfRange {
                what,
                index: t,
                len,
            });
        }
        Ok(())
    }

    fn pixels(&self) -> usize {
        self.height * self.width
    }

    /// The frame at step `t` (`0..=len`) of `episode`, `(H, W)` bytes.
    pub fn frame(&self, episode: usize, t: usize) -> Result<ArrayView2<'_, u8>> {
        let g = self.global_index(episode, t)?;
        let bytes = &self.frames[g * self.pixels()..(g + 1) * self.pixels()];
        Ok(ArrayView2::from_shape((self.height, self.width), bytes).expect("frame size"))
    }

    /// All frames of `episode`, `(len + 1, H, W)`.
    pub fn episode_frames(&self, episode: usize) -> Result<ArrayView3<'_, u8>> {
        let start = self.global_index(episode, 0)?;
        let steps = self.episodes[episode].len + 1;
        let bytes = &self.frames[start * self.pixels()..(start + steps) * self.pixels()];
        Ok(ArrayView3::from_shape((steps, self.height, self.width), bytes).expect("frame size"))
    }

    /// The true state at step `t` (`0..=len`) of `episode`.
    pub fn state(&self, episode: usize, t: usize) -> Result<&[f64]> {
        let g = self.global_index(episode, t)?;
        let dim = self.system.state_dim();
        Ok(&self.states[g * dim..(g + 1) * dim])
    }

    /// Every state, `(num_steps, state_dim)`, in global step order (for probes).
    pub fn states(&self) -> Array2<f64> {
        Array2::from_shape_vec(
            (self.num_steps(), self.system.state_dim()),
            self.states.clone(),
        )
        .expect("state buffer size")
    }

    /// The action taken at step `t` (`0..len`) of `episode`.
    pub fn action(&self, episode: usize, t: usize) -> Result<usize> {
        self.check(episode, t, Index::Transition)?;
        Ok(self.actions[self.first_step[episode] - episode + t] as usize)
    }

    /// The reward of step `t` (`0..len`) of `episode`.
    pub fn reward(&self, episode: usize, t: usize) -> Result<f64> {
        self.check(episode, t, Index::Transition)?;
        Ok(self.rewards[self.first_step[episode] - episode + t])
    }

    /// Writes the observation at `(episode, t)` into `out` (`k * H * W` floats).
    fn write_observation(&self, episode: usize, t: usize, out: &mut [f32]) {
        let k = self.frame_stack;
        let first = self.first_step[episode];
        for (c, channel) in out.chunks_exact_mut(self.pixels()).enumerate() {
            let g = first + t.saturating_sub(k - 1 - c);
            let bytes = &self.frames[g * self.pixels()..(g + 1) * self.pixels()];
            for (o, &b) in channel.iter_mut().zip(bytes) {
                *o = f32::from(b) / 255.0;
            }
        }
    }

    /// The observation at step `t` of `episode`: the last `k` frames, `(k, H, W)` in
    /// `[0, 1]`, oldest first, the first frame repeated before the episode's start.
    pub fn observation(&self, episode: usize, t: usize) -> Result<Array3<f32>> {
        self.check(episode, t, Index::Step)?;
        let mut out = Array3::zeros((self.frame_stack, self.height, self.width));
        self.write_observation(episode, t, out.as_slice_mut().expect("standard layout"));
        Ok(out)
    }

    /// The observations at `(episode, t)` for every entry of `at`, `(n, k, H, W)`;
    /// filled in parallel.
    pub fn observations(&self, at: &[(usize, usize)]) -> Result<Array4<f32>> {
        for &(e, t) in at {
            self.check(e, t, Index::Step)?;
        }
        let shape = (at.len(), self.frame_stack, self.height, self.width);
        let mut out = Array4::zeros(shape);
        let per = self.frame_stack * self.pixels();
        out.as_slice_mut()
            .expect("standard layout")
            .par_chunks_mut(per.max(1))
            .zip(at.par_iter())
            .for_each(|(chunk, &(e, t))| self.write_observation(e, t, chunk));
        Ok(out)
    }

    /// Every `(t, t + k)` within one episode, episode by episode in time order.
    ///
    /// Fails when `k = 0`, or when no episode has at least `k` transitions.
    pub fn pairs(&self, k: usize) -> Result<Vec<TimePair>> {
        self.count_pairs(k)?;
        Ok(self
            .episodes
            .iter()
            .enumerate()
            .flat_map(|(episode, info)| {
                (0..(info.len + 1).saturating_sub(k)).map(move |t| TimePair {
                    episode,
                    t,
                    future: t + k,
                })
            })
            .collect())
    }

    /// The number of pairs [`pairs`](Self::pairs) returns: `sum_e max(0, len_e + 1 - k)`.
    pub fn count_pairs(&self, k: usize) -> Result<usize> {
        if k == 0 {
            return Err(Error::ZeroOffset);
        }
        let count = self
            .episodes
            .iter()
            .map(|e| (e.len + 1).saturating_sub(k))
            .sum();
        if count == 0 {
            return Err(Error::NoValidPairs {
                offset: k,
                longest: self.episodes.iter().map(|e| e.len).max().unwrap_or(0),
            });
        }
        Ok(count)
    }
}
