//! `contrast-env`: classic-control environments, a rasteriser and trajectory sets.

pub mod cartpole;
pub mod env;
pub mod error;
pub mod mountain_car;
pub mod system;

pub use cartpole::CartPole;
pub use env::{Dynamics, Env, Step, TimeLimit};
pub use error::{Error, Result};
pub use mountain_car::MountainCar;
pub use system::System;
