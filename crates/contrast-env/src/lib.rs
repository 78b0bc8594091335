//! `contrast-env`: classic-control environments, a rasteriser, seeded policies and the
//! frame-stack trajectory sets that temporal contrastive learning (CPC, CURL, ATC) trains on.
//!
//! The crate is a leaf: it knows nothing of training. It simulates a system, draws its
//! states into small grayscale frames, runs seeded behaviour policies, and hands back
//! episodes of frames, true states and actions, with the observations and `(t, t + k)` time
//! pairs a recipe needs, and the true states a probe needs.
//!
//! # Systems
//!
//! Both follow gymnasium's classic-control environments step for step: the tests replay
//! episodes recorded from gymnasium (`tests/fixtures/make_fixtures.py`) and require equal
//! states to 1e-9, equal rewards and equal flags at every step of whole episodes.
//!
//! **CartPole-v1** ([`CartPole`]), state `(x, x_dot, theta, theta_dot)`, actions push left /
//! right with `F = -+10`. With `g = 9.8`, `m_c = 1`, `m_p = 0.1`, `M = 1.1`, `l = 0.5`:
//!
//! ```text
//! temp      = (F + m_p l theta_dot^2 sin theta) / M
//! theta_acc = (g sin theta - cos theta temp) / (l (4/3 - m_p cos^2 theta / M))
//! x_acc     = temp - m_p l theta_acc cos theta / M
//! x' = x + 0.02 x_dot,  x_dot' = x_dot + 0.02 x_acc,  (same for theta)   explicit Euler
//! ```
//!
//! reward 1 per step; terminated when `|x| > 2.4` or `|theta| > 12 deg`; truncated at 500
//! steps; reset uniform in `(-0.05, 0.05)` for every variable.
//!
//! **MountainCar-v0** ([`MountainCar`]), state `(p, v)`, actions accelerate left / not /
//! right:
//!
//! ```text
//! v' = clip(v + (a - 1) 0.001 - 0.0025 cos(3p), -0.07, 0.07)
//! p' = clip(p + v', -1.2, 0.6);   v' = 0 if p' = -1.2 and v' < 0
//! ```
//!
//! reward -1 per step; terminated when `p >= 0.5` (and `v >= 0`); truncated at 200 steps;
//! reset `p ~ U(-0.6, -0.4)`, `v = 0`.
//!
//! Resets draw from the caller's generator with gymnasium's distributions; numpy's random
//! stream is not reproduced, so a seed here does not give gymnasium's initial state for the
//! same seed. CartPole agrees with gymnasium bit for bit where the platform's `sin` / `cos`
//! agree with numpy's (x86-64 Linux); that matters because its upright pole is unstable and
//! an open-loop replay amplifies a one-ulp difference to O(1) within a few hundred steps
//! (see [`cartpole`]).
//!
//! # Interfaces
//!
//! * [`Dynamics`]: a system's pure step and reset distribution; [`TimeLimit`] makes it
//!   episodic; [`Env`] is the object-safe interface over both systems ([`System::make`]).
//! * [`Policy`]: [`UniformRandom`], [`CartPoleBalance`] (`push toward theta + 0.5 theta_dot`),
//!   [`MountainCarPump`] (push along the velocity), and [`EpsilonNoisy`] around either.
//!
//! # Frames
//!
//! [`Renderer`] draws a state on a [`Canvas`] (default 40 x 64, intensities in `[0, 1]`,
//! stored as bytes `floor(255 p + 1/2)`), anti-aliased by exact pixel coverage for rectangles and
//! a one-pixel ramp for round shapes ([`render::canvas`]). World to pixels:
//!
//! * CartPole ([`CartPoleView`]): `s = W / 4.8` px/m, `u = W/2 + s x`, `v = 0.8 H - s y`;
//!   track line, cart 0.4 x 0.24 m (1.0), pole of length 1 m from the cart's top centre at
//!   angle `theta` from vertical (0.7).
//! * MountainCar ([`MountainCarView`]): `s = W / 1.8`, `u = s (p + 1.2)`,
//!   `v = H - 1 - s (y - 0.1)`; the hill `y = 0.45 sin 3p + 0.55` filled (0.4), the flag,
//!   and the car as a capsule along the tangent (1.0).
//!
//! An image too small to hold the system is [`Error::ImageTooSmall`]. With
//! [`GenerationSettings::distractors`], every episode gets its own textured background and a
//! disc bouncing on its own path, drawn behind the system ([`Distractors`]): the pixels get
//! noisy, the states do not change.
//!
//! # Data
//!
//! [`generate()`] (or [`load_or_generate`], with the on-disk cache of [`cache`]) turns
//! [`GenerationSettings`] into [`TrajectorySplits`]: a train and a test [`TransitionSet`] from
//! disjoint episodes (different random streams, [`episode_rng`]), each with the requested
//! number of transitions (default 50,000 / 10,000), half from uniform-random episodes and
//! half from epsilon-noisy heuristic ones (epsilon 0.1). In a [`TransitionSet`], episode `e`
//! has `len` transitions and `len + 1` time steps; frames `(steps, H, W)` `u8`, states
//! `(steps, d)` `f64`, actions and rewards per transition; time steps are numbered globally
//! episode after episode ([`TransitionSet::global_index`]). The observation at `(e, t)` is
//! the stack of the last `k` frames (default 2), oldest first, with the first frame repeated
//! before the episode's start ([`TransitionSet::observation`], `(k, H, W)` `f32` in
//! `[0, 1]`); [`TransitionSet::pairs`] lists every `(t, t + k)` inside an episode.
//!
//! Generation is deterministic for a seed and independent of the number of threads
//! (episodes are simulated in order, rendered in parallel each into its own slice).
//!
//! # Example
//!
//! ```
//! use contrast_env::{Cache, Env, GenerationSettings, System, load_or_generate};
//! use rand::SeedableRng;
//!
//! // Step the environment directly.
//! let mut env = System::CartPole.make();
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let start = env.reset(&mut rng);
//! assert!(start.iter().all(|v| v.abs() < 0.05));
//! let step = env.step(1)?;
//! assert_eq!((step.reward, step.terminated, step.truncated), (1.0, false, false));
//!
//! // A small data set (the defaults are 50,000 / 10,000 transitions).
//! let mut settings = GenerationSettings::from_spec("cartpole")?;
//! settings.train_transitions = 2_000;
//! settings.test_transitions = 500;
//! let (data, _status) = load_or_generate(&settings, &Cache::Disabled)?;
//! assert_eq!(data.train.num_transitions(), 2_000);
//!
//! let obs = data.train.observation(0, 5)?;              // frames 4 and 5 of episode 0
//! assert_eq!(obs.dim(), (2, 40, 64));
//! let pairs = data.test.pairs(1)?;                       // every (t, t + 1)
//! let anchors: Vec<_> = pairs.iter().map(|p| (p.episode, p.t)).collect();
//! let batch = data.test.observations(&anchors[..8])?;    // (8, 2, 40, 64)
//! assert_eq!(batch.dim(), (8, 2, 40, 64));
//! let theta_dot = data.test.states().column(3).to_owned(); // a probe's target
//! assert_eq!(theta_dot.len(), data.test.num_steps());
//! # Ok::<(), contrast_env::Error>(())
//! ```

pub mod cache;
pub mod cartpole;
pub mod env;
pub mod error;
pub mod generate;
pub mod mountain_car;
pub mod policy;
pub mod render;
pub mod rollout;
pub mod system;
pub mod transitions;

pub use cache::{
    Cache, CacheStatus, DATA_VERSION, cache_file, cache_key, load_or_generate, read_splits,
    write_splits,
};
pub use cartpole::CartPole;
pub use env::{Dynamics, Env, Step, TimeLimit};
pub use error::{Error, Result};
pub use generate::{
    GenerationSettings, Purpose, Split, TrajectorySplits, episode_rng, generate, generate_split,
};
pub use mountain_car::MountainCar;
pub use policy::{
    CartPoleBalance, EpsilonNoisy, MountainCarPump, Policy, PolicyKind, UniformRandom,
};
pub use render::{Canvas, CartPoleView, Distractors, MountainCarView, Renderer};
pub use rollout::{Episode, rollout};
pub use system::System;
pub use transitions::{EpisodeInfo, TimePair, TransitionSet};
