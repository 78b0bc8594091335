//! CartPole: the cart-pole balancing system of Barto, Sutton and Anderson (1983), with the
//! constants, integrator, termination and reset distribution of gymnasium's `CartPole-v1`.
//!
//! # Dynamics
//!
//! State `s = (x, x_dot, theta, theta_dot)`: cart position (m), cart velocity, pole angle
//! from upright (rad, positive = leaning toward `+x`), angular velocity. Action 0 pushes the
//! cart with force `F = -10 N`, action 1 with `F = +10 N`. With gravity `g = 9.8`, cart mass
//! `m_c = 1.0`, pole mass `m_p = 0.1`, total mass `M = m_p + m_c`, half pole length
//! `l = 0.5` and `m_p l` the pole's mass-length:
//!
//! ```text
//! temp      = (F + m_p l theta_dot^2 sin(theta)) / M
//! theta_acc = (g sin(theta) - cos(theta) temp) / (l (4/3 - m_p cos(theta)^2 / M))
//! x_acc     = temp - m_p l theta_acc cos(theta) / M
//! ```
//!
//! and an explicit Euler step of `tau = 0.02` s (positions advance with the *old*
//! velocities, so `x` and `theta` at `t + 1` do not depend on the action at `t`):
//!
//! ```text
//! x' = x + tau x_dot        x_dot' = x_dot + tau x_acc
//! theta' = theta + tau theta_dot    theta_dot' = theta_dot + tau theta_acc
//! ```
//!
//! The arithmetic is written in the same order as gymnasium's, so the results are equal
//! bit for bit where the platform's `sin`/`cos` agree with numpy's (they do on x86-64
//! Linux: both call glibc). That matters: the upright pole is unstable (the linearised
//! system grows like `e^{4 t}`), so an open-loop replay amplifies a one-ulp difference to
//! an O(1) one within a few hundred steps.
//!
//! # Episodes
//!
//! * **Reward** `+1` for every step, the terminating one included.
//! * **Terminated** when `|x| > 2.4` or `|theta| > 12 * 2 pi / 360` (12 degrees).
//! * **Truncated** after 500 steps ([`TimeLimit`](crate::TimeLimit)).
//! * **Reset**: each of the four variables `~ U(-0.05, 0.05)`, drawn in order as
//!   `-0.05 + 0.1 u` with `u` the caller's generator's `f64` in `[0, 1)`. This is
//!   gymnasium's distribution but not its stream (numpy's PCG64 is not reproduced).

use rand::RngCore;

use crate::env::{Dynamics, uniform};

/// The CartPole-v1 dynamics (constants as associated items).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CartPole;

impl CartPole {
    /// Gravity, m/s^2.
    pub const GRAVITY: f64 = 9.8;
    /// Cart mass, kg.
    pub const MASS_CART: f64 = 1.0;
    /// Pole mass, kg.
    pub const MASS_POLE: f64 = 0.1;
    /// Half the pole's length, m (gymnasium's `length`).
    pub const HALF_LENGTH: f64 = 0.5;
    /// Magnitude of the push, N.
    pub const FORCE: f64 = 10.0;
    /// Seconds per step.
    pub const TAU: f64 = 0.02;
    /// `|x|` beyond which the episode terminates, m.
    pub const X_THRESHOLD: f64 = 2.4;
    /// `|theta|` beyond which the episode terminates: 12 degrees, computed as gymnasium
    /// does (`12 * 2 * pi / 360`).
    pub const THETA_THRESHOLD: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
    /// Half-width of the reset interval for every state variable.
    pub const RESET_BOUND: f64 = 0.05;
}

impl Dynamics for CartPole {
    const NAME: &'static str = "CartPole-v1";
    const STATE_NAMES: &'static [&'static str] = &["x", "x_dot", "theta", "theta_dot"];
    const NUM_ACTIONS: usize = 2;
    const TIME_LIMIT: usize = 500;

    fn initial_state(&self, rng: &mut dyn RngCore, state: &mut [f64]) {
        for v in state.iter_mut() {
            *v = uniform(rng, -Self::RESET_BOUND, Self::RESET_BOUND);
        }
    }

    fn advance(&self, state: &mut [f64], action: usize) -> (f64, bool) {
        let [x, x_dot, theta, theta_dot] = [state[0], state[1], state[2], state[3]];
        let total_mass = Self::MASS_POLE + Self::MASS_CART;
        let pole_mass_length = Self::MASS_POLE * Self::HALF_LENGTH;
        let force = if action == 1 {
            Self::FORCE
        } else {
            -Self::FORCE
        };
        let (sin, cos) = (theta.sin(), theta.cos());
        // Operation order as in gymnasium, so that rounding agrees (see the module docs).
        let temp = (force + pole_mass_length * (theta_dot * theta_dot) * sin) / total_mass;
        let theta_acc = (Self::GRAVITY * sin - cos * temp)
            / (Self::HALF_LENGTH * (4.0 / 3.0 - Self::MASS_POLE * (cos * cos) / total_mass));
        let x_acc = temp - pole_mass_length * theta_acc * cos / total_mass;
        state[0] = x + Self::TAU * x_dot;
        state[1] = x_dot + Self::TAU * x_acc;
        state[2] = theta + Self::TAU * theta_dot;
        state[3] = theta_dot + Self::TAU * theta_acc;
        let terminated = state[0] < -Self::X_THRESHOLD
            || state[0] > Self::X_THRESHOLD
            || state[2] < -Self::THETA_THRESHOLD
            || state[2] > Self::THETA_THRESHOLD;
        (1.0, terminated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::{Env, TimeLimit};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn reset_draws_each_variable_from_the_interval() {
        let mut env = TimeLimit::new(CartPole);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut sums = [0.0; 4];
        let n = 4000;
        for _ in 0..n {
            let s = env.reset(&mut rng);
            for (sum, v) in sums.iter_mut().zip(&s) {
                assert!(v.abs() < CartPole::RESET_BOUND, "{v}");
                *sum += v;
            }
        }
        // Mean of U(-0.05, 0.05) over 4000 draws: sd 0.029/sqrt(4000) = 4.6e-4.
        for sum in sums {
            assert!((sum / n as f64).abs() < 2e-3, "{sums:?}");
        }
    }

    #[test]
    fn positions_at_t_plus_one_ignore_the_action() {
        let start = [0.1, -0.3, 0.05, 0.2];
        let mut left = start;
        let mut right = start;
        CartPole.advance(&mut left, 0);
        CartPole.advance(&mut right, 1);
        assert_eq!((left[0], left[2]), (right[0], right[2]));
        assert!(right[1] > left[1] && right[3] < left[3]);
    }

    #[test]
    fn an_upright_pole_without_push_falls_the_way_it_leans() {
        let mut state = [0.0, 0.0, 0.01, 0.0];
        let mut env = TimeLimit::new(CartPole);
        env.set_state(&state).unwrap();
        let mut steps = 0;
        // Alternating pushes cancel on average; gravity still tips the pole over.
        loop {
            let step = env.step(steps % 2).unwrap();
            steps += 1;
            state.copy_from_slice(&step.state);
            if step.terminated {
                break;
            }
        }
        assert!(state[2] > CartPole::THETA_THRESHOLD, "{state:?}");
        assert!(steps < 100);
    }
}
