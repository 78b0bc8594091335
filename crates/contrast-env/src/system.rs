//! [`System`]: the systems this crate simulates, chosen by name at run time.

use std::fmt;
use std::str::FromStr;

use crate::cartpole::CartPole;
use crate::env::{Dynamics, Env, TimeLimit};
use crate::error::{Error, Result};
use crate::mountain_car::MountainCar;

/// A classic-control system: picks the dynamics, the rasteriser and the heuristic policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum System {
    /// [`CartPole`] (gymnasium `CartPole-v1`).
    CartPole,
    /// [`MountainCar`] (gymnasium `MountainCar-v0`).
    MountainCar,
}

impl System {
    /// Every system, in a fixed order.
    pub const ALL: [System; 2] = [System::CartPole, System::MountainCar];

    /// The short name used in dataset specs and cache file names: `cartpole`, `mountaincar`.
    pub fn name(self) -> &'static str {
        match self {
            System::CartPole => "cartpole",
            System::MountainCar => "mountaincar",
        }
    }

    /// A fresh environment with gymnasium's time limit.
    pub fn make(self) -> Box<dyn Env> {
        match self {
            System::CartPole => Box::new(TimeLimit::new(CartPole)),
            System::MountainCar => Box::new(TimeLimit::new(MountainCar)),
        }
    }

    /// Names of the state variables.
    pub fn state_names(self) -> &'static [&'static str] {
        match self {
            System::CartPole => CartPole::STATE_NAMES,
            System::MountainCar => MountainCar::STATE_NAMES,
        }
    }

    /// Number of state variables.
    pub fn state_dim(self) -> usize {
        self.state_names().len()
    }

    /// Number of discrete actions.
    pub fn num_actions(self) -> usize {
        match self {
            System::CartPole => CartPole::NUM_ACTIONS,
            System::MountainCar => MountainCar::NUM_ACTIONS,
        }
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for System {
    type Err = Error;

    /// Accepts `cartpole` / `cartpole-v1` and `mountaincar` / `mountain-car` /
    /// `mountaincar-v0`, in any case.
    fn from_str(spec: &str) -> Result<Self> {
        match spec.to_ascii_lowercase().as_str() {
            "cartpole" | "cartpole-v1" => Ok(System::CartPole),
            "mountaincar" | "mountain-car" | "mountaincar-v0" => Ok(System::MountainCar),
            _ => Err(Error::UnknownSystem {
                spec: spec.to_string(),
                known: "cartpole, mountaincar",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_errors() {
        for system in System::ALL {
            assert_eq!(system.name().parse::<System>().unwrap(), system);
            let env = system.make();
            assert_eq!(env.state_names(), system.state_names());
            assert_eq!(env.num_actions(), system.num_actions());
        }
        assert_eq!("CartPole-v1".parse::<System>().unwrap(), System::CartPole);
        let err = "acrobot".parse::<System>().unwrap_err();
        assert!(err.to_string().contains("\"acrobot\""), "{err}");
    }
}
