//! `contrast-env`: classic-control environments, a rasteriser and trajectory sets.

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
