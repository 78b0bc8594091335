//! [`GenerationSettings`] and [`generate`]: seeded trajectories of two behaviours, rendered
//! to frames, as disjoint train and test [`TransitionSet`]s.
//!
//! # What a split holds
//!
//! A split asked for `N` transitions holds `round(f N)` transitions from episodes of the
//! epsilon-noisy heuristic (`f` = [`heuristic_fraction`]) and the rest from uniform-random
//! episodes; uniform episodes come first. Episodes run until they terminate or are
//! truncated; the last episode of each behaviour is cut where the count is reached (both
//! its flags false).
//!
//! # Randomness
//!
//! Episode `i` of behaviour `b` in split `s` draws from three ChaCha8 streams whose
//! 256-bit keys are the little-endian words `(seed, i, tag, "ctrst-ev")` with
//! `tag = s << 16 | b << 8 | purpose`, `purpose` 0 for the reset, 1 for the policy,
//! 2 for the distractors ([`episode_rng`]). So
//!
//! * train (`s = 0`) and test (`s = 1`) episodes come from different streams: disjoint
//!   episodes, however many each split asks for;
//! * switching distractors on changes the pixels only: states and actions are the same;
//! * the result is a function of the settings alone: episodes are simulated one after
//!   another (cheap) and rendered in parallel, each into its own place, so the bytes do not
//!   depend on the number of threads.
//!
//! [`heuristic_fraction`]: GenerationSettings::heuristic_fraction

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::policy::PolicyKind;
use crate::render::{Canvas, Distractors, Renderer};
use crate::rollout::{Episode, rollout};
use crate::system::System;
use crate::transitions::{EpisodeInfo, Parts, TransitionSet};

/// Train or test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training episodes.
    Train,
    /// The held-out episodes.
    Test,
}

impl Split {
    /// `train` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

/// What an episode's random stream is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The initial state.
    Reset,
    /// The policy's draws.
    Policy,
    /// The distractor background and disc.
    Distractors,
}

/// The random stream for one purpose of episode `index` of behaviour `policy` in `split`.
///
/// ```
/// use contrast_env::{Purpose, PolicyKind, Split, episode_rng};
/// use rand::Rng;
/// let a: u64 = episode_rng(7, Split::Train, PolicyKind::Uniform, 3, Purpose::Reset).random();
/// let b: u64 = episode_rng(7, Split::Test, PolicyKind::Uniform, 3, Purpose::Reset).random();
/// assert_ne!(a, b);
/// ```
pub fn episode_rng(
    seed: u64,
    split: Split,
    policy: PolicyKind,
    index: u64,
    purpose: Purpose,
) -> ChaCha8Rng {
    let tag = (split as u64) << 16 | (policy as u64) << 8 | purpose as u64;
    let domain = u64::from_le_bytes(*b"ctrst-ev");
    let mut key = [0u8; 32];
    for (chunk, word) in key.chunks_exact_mut(8).zip([seed, index, tag, domain]) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}

/// Everything that determines a generated data set.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationSettings {
    /// The system simulated.
    pub system: System,
    /// Frame height, pixels (default 40).
    pub height: usize,
    /// Frame width, pixels (default 64).
    pub width: usize,
    /// Anti-aliased drawing (default on; see [`Canvas`]).
    pub antialias: bool,
    /// Draw a random textured background and a moving disc behind the system
    /// (default off; see [`Distractors`]).
    pub distractors: bool,
    /// Transitions in the training split (default 50,000).
    pub train_transitions: usize,
    /// Transitions in the test split (default 10,000).
    pub test_transitions: usize,
    /// Fraction of each split's transitions from heuristic episodes (default 0.5).
    pub heuristic_fraction: f64,
    /// Probability of a random action in heuristic episodes (default 0.1).
    pub epsilon: f64,
    /// Frames per observation, `k` (default 2). Not part of the stored data: it only
    /// sets how [`TransitionSet::observation`] stacks frames.
    pub frame_stack: usize,
    /// The seed of every stream.
    pub seed: u64,
}

impl GenerationSettings {
    /// The defaults for `system`: 40 x 64 anti-aliased frames, no distractors, 50,000 /
    /// 10,000 transitions, half heuristic with epsilon 0.1, two-frame stacks, seed 0.
    pub fn new(system: System) -> Self {
        Self {
            system,
            height: 40,
            width: 64,
            antialias: true,
            distractors: false,
            train_transitions: 50_000,
            test_transitions: 10_000,
            heuristic_fraction: 0.5,
            epsilon: 0.1,
            frame_stack: 2,
            seed: 0,
        }
    }

    /// The defaults for a data set name: `cartpole` or `mountaincar` (see
    /// [`System`]'s `FromStr`).
    pub fn from_spec(spec: &str) -> Result<Self> {
        Ok(Self::new(spec.parse()?))
    }

    /// Checks every setting; the errors name the bad value.
    pub fn validate(&self) -> Result<()> {
        if self.frame_stack == 0 {
            return Err(Error::ZeroFrameStack);
        }
        for (split, n) in [
            ("train", self.train_transitions),
            ("test", self.test_transitions),
        ] {
            if n == 0 {
                return Err(Error::ZeroTransitions { split });
            }
        }
        for (what, value) in [
            ("heuristic_fraction", self.heuristic_fraction),
            ("epsilon", self.epsilon),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(Error::InvalidProbability { what, value });
            }
        }
        Renderer::new(self.system, self.height, self.width)?;
        Ok(())
    }

    /// Transitions asked of `split`.
    pub fn transitions(&self, split: Split) -> usize {
        match split {
            Split::Train => self.train_transitions,
            Split::Test => self.test_transitions,
        }
    }
}

/// The training and test sets of one generation.
#[derive(Debug, Clone, PartialEq)]
pub struct TrajectorySplits {
    /// Training episodes.
    pub train: TransitionSet,
    /// Held-out episodes (different random streams).
    pub test: TransitionSet,
}

/// Generates both splits (see the module docs).
pub fn generate(settings: &GenerationSettings) -> Result<TrajectorySplits> {
    Ok(TrajectorySplits {
        train: generate_split(settings, Split::Train)?,
        test: generate_split(settings, Split::Test)?,
    })
}

/// Generates one split.
pub fn generate_split(settings: &GenerationSettings, split: Split) -> Result<TransitionSet> {
    settings.validate()?;
    let renderer = Renderer::new(settings.system, settings.height, settings.width)?;
    let total = settings.transitions(split);
    let heuristic = (settings.heuristic_fraction * total as f64).round() as usize;
    let mut episodes: Vec<(EpisodeInfo, Episode)> = Vec::new();
    let mut env = settings.system.make();
    for (policy, target) in [
        (PolicyKind::Uniform, total - heuristic),
        (PolicyKind::Heuristic, heuristic),
    ] {
        let behaviour = policy.build(settings.system, settings.epsilon);
        let mut remaining = target;
        let mut stream = 0;
        while remaining > 0 {
            let rng = |purpose| episode_rng(settings.seed, split, policy, stream, purpose);
            let episode = rollout(
                env.as_mut(),
                behaviour.as_ref(),
                &mut rng(Purpose::Reset),
                &mut rng(Purpose::Policy),
                remaining,
            )?;
            remaining -= episode.len();
            let info = EpisodeInfo {
                len: episode.len(),
                terminated: episode.terminated,
                truncated: episode.truncated,
                policy,
                stream,
            };
            episodes.push((info, episode));
            stream += 1;
        }
    }
    let frames = render_frames(settings, split, &renderer, &episodes);
    let mut parts = Parts {
        system: settings.system,
        height: settings.height,
        width: settings.width,
        episodes: Vec::with_capacity(episodes.len()),
        frames,
        states: Vec::new(),
        actions: Vec::new(),
        rewards: Vec::new(),
    };
    for (info, episode) in episodes {
        parts.episodes.push(info);
        parts.states.extend(episode.states);
        parts.actions.extend(episode.actions);
        parts.rewards.extend(episode.rewards);
    }
    Ok(TransitionSet::assemble(parts, settings.frame_stack).expect("generated parts agree"))
}

/// Renders every episode's frames in parallel, each into its own slice of one buffer.
fn render_frames(
    settings: &GenerationSettings,
    split: Split,
    renderer: &Renderer,
    episodes: &[(EpisodeInfo, Episode)],
) -> Vec<u8> {
    let (h, w) = (settings.height, settings.width);
    let steps: usize = episodes.iter().map(|(info, _)| info.len + 1).sum();
    let mut frames = vec![0u8; steps * h * w];
    let mut slices = Vec::with_capacity(episodes.len());
    let mut rest = frames.as_mut_slice();
    for (info, _) in episodes {
        let (head, tail) = rest.split_at_mut((info.len + 1) * h * w);
        slices.push(head);
        rest = tail;
    }
    let dim = settings.system.state_dim();
    slices
        .into_par_iter()
        .zip(episodes.par_iter())
        .for_each(|(out, (info, episode))| {
            let distractors = settings.distractors.then(|| {
                let mut rng = episode_rng(
                    settings.seed,
                    split,
                    info.policy,
                    info.stream,
                    Purpose::Distractors,
                );
                Distractors::sample(h, w, &mut rng)
            });
            let mut canvas = Canvas::new(h, w, settings.antialias);
            for (t, (state, frame)) in episode
                .states
                .chunks_exact(dim)
                .zip(out.chunks_exact_mut(h * w))
                .enumerate()
            {
                renderer.frame(state, t, distractors.as_ref(), &mut canvas, frame);
            }
        });
    frames
}
