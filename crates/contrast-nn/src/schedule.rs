//! Learning-rate schedules, as functions of the step `t` (0-based).
//!
//! | schedule | `lr(t)` |
//! |---|---|
//! | [`Schedule::Constant`] | `base` |
//! | [`Schedule::WarmupCosine`] | `base t / W` for `t < W`; then `min + (base - min) (1 + cos(pi (t - W) / (T - W))) / 2`, and `min` for `t >= T` |
//! | [`Schedule::Step`] | `base gamma^floor(t / every)` |
//!
//! The warm-up and cosine follow SimCLR (see docs/references.md, section "Learning-rate
//! schedules"); with
//! `min = 0` the rate reaches exactly 0 at `t = T`.

use crate::error::{Error, Result};

/// A learning-rate schedule. Build with the constructors, which check the settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// The same rate at every step.
    Constant {
        /// The rate.
        base: f64,
    },
    /// Linear warm-up from 0 over `warmup` steps, then cosine decay to `min` at `total`.
    WarmupCosine {
        /// Peak rate, reached at `t = warmup`.
        base: f64,
        /// Warm-up steps `W` (may be 0).
        warmup: usize,
        /// Total steps `T > W`.
        total: usize,
        /// Final rate (usually 0).
        min: f64,
    },
    /// Multiply by `gamma` every `every` steps.
    Step {
        /// Initial rate.
        base: f64,
        /// Steps between decays (> 0).
        every: usize,
        /// Decay factor in `(0, 1]`.
        gamma: f64,
    },
}

fn bad(what: &'static str, value: impl ToString, why: &'static str) -> Error {
    Error::InvalidConfig {
        what,
        value: value.to_string(),
        why,
    }
}

fn check_rate(what: &'static str, v: f64) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(bad(what, v, "must be finite and non-negative"))
    }
}

impl Schedule {
    /// A constant rate.
    pub fn constant(base: f64) -> Result<Self> {
        check_rate("lr", base)?;
        Ok(Schedule::Constant { base })
    }

    /// Linear warm-up over `warmup` steps, then cosine decay to `min` at step `total`.
    pub fn warmup_cosine(base: f64, warmup: usize, total: usize, min: f64) -> Result<Self> {
        check_rate("lr", base)?;
        check_rate("min lr", min)?;
        if total <= warmup {
            return Err(bad(
                "schedule total steps",
                format!("total {total}, warmup {warmup}"),
                "total must exceed warm-up",
            ));
        }
        Ok(Schedule::WarmupCosine {
            base,
            warmup,
            total,
            min,
        })
    }

    /// Step decay: `base gamma^floor(t / every)`.
    pub fn step(base: f64, every: usize, gamma: f64) -> Result<Self> {
        check_rate("lr", base)?;
        if every == 0 {
            return Err(bad("step schedule period", every, "must be > 0"));
        }
        if !(gamma > 0.0 && gamma <= 1.0) {
            return Err(bad("step schedule gamma", gamma, "must be in (0, 1]"));
        }
        Ok(Schedule::Step { base, every, gamma })
    }

    /// The learning rate at step `t` (0-based).
    pub fn lr(&self, t: usize) -> f64 {
        match *self {
            Schedule::Constant { base } => base,
            Schedule::WarmupCosine {
                base,
                warmup,
                total,
                min,
            } => {
                if t < warmup {
                    base * t as f64 / warmup as f64
                } else if t >= total {
                    min
                } else {
                    let progress = (t - warmup) as f64 / (total - warmup) as f64;
                    min + (base - min) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
                }
            }
            Schedule::Step { base, every, gamma } => base * gamma.powi((t / every) as i32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn constant_is_constant() {
        let s = Schedule::constant(0.3).unwrap();
        assert!([0, 1, 1000].iter().all(|&t| s.lr(t) == 0.3));
    }

    #[test]
    fn warmup_cosine_key_steps() {
        let s = Schedule::warmup_cosine(1.2, 10, 110, 0.0).unwrap();
        assert_eq!(s.lr(0), 0.0);
        assert!(close(s.lr(5), 0.6));
        assert!(close(s.lr(10), 1.2)); // peak
        assert!(close(s.lr(60), 0.6)); // half way through the cosine
        assert!(close(
            s.lr(35),
            1.2 * 0.5 * (1.0 + (std::f64::consts::PI / 4.0).cos())
        ));
        assert!(s.lr(110).abs() < 1e-15);
        assert_eq!(s.lr(500), 0.0);
        // Monotone after the peak.
        assert!((10..110).all(|t| s.lr(t + 1) <= s.lr(t)));
        let m = Schedule::warmup_cosine(1.0, 0, 100, 0.1).unwrap();
        assert!(close(m.lr(0), 1.0));
        assert!(close(m.lr(50), 0.55));
        assert!(close(m.lr(100), 0.1));
    }

    #[test]
    fn step_decay_key_steps() {
        let s = Schedule::step(0.1, 30, 0.1).unwrap();
        assert!(close(s.lr(0), 0.1));
        assert!(close(s.lr(29), 0.1));
        assert!(close(s.lr(30), 0.01));
        assert!(close(s.lr(65), 0.001));
    }

    #[test]
    fn bad_settings_are_errors() {
        assert!(Schedule::constant(-1.0).is_err());
        assert!(Schedule::constant(f64::NAN).is_err());
        assert!(Schedule::warmup_cosine(1.0, 10, 10, 0.0).is_err());
        assert!(Schedule::step(0.1, 0, 0.5).is_err());
        assert!(Schedule::step(0.1, 5, 1.5).is_err());
    }
}
