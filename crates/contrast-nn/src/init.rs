//! Seeded weight initialisation (Kaiming / He and Xavier / Glorot, uniform and normal).
//!
//! For a weight of shape `(out, in, k...)` the fans are `fan_in = in * prod(k)` and
//! `fan_out = out * prod(k)` (PyTorch's `_calculate_fan_in_and_fan_out`).
//!
//! | scheme | distribution |
//! |---|---|
//! | Kaiming uniform | `U(-b, b)`, `b = gain * sqrt(3 / fan_in)` |
//! | Kaiming normal | `N(0, s^2)`, `s = gain / sqrt(fan_in)` |
//! | Xavier uniform | `U(-b, b)`, `b = gain * sqrt(6 / (fan_in + fan_out))` |
//! | Xavier normal | `N(0, s^2)`, `s = gain * sqrt(2 / (fan_in + fan_out))` |
//! | Normal | `N(0, std^2)` (embedding tables: PyTorch uses `std = 1`) |
//!
//! `gain = sqrt(2)` suits ReLU (He et al. 2015); `gain = 1` suits linear/tanh layers.
//! PyTorch's default for `nn.Linear` / `nn.Conv2d` weights is Kaiming uniform with
//! `gain = sqrt(1/3)` (that is `b = 1 / sqrt(fan_in)`), and its bias is `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`;
//! [`Init::torch_default`] reproduces it.

use ndarray::{ArrayD, IxDyn, NdFloat};
use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

use crate::error::{Error, Result};
use crate::scalar;

/// How to fill a new parameter tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// Kaiming (He) uniform over `fan_in`, with the given gain.
    KaimingUniform {
        /// Gain (`sqrt(2)` for ReLU).
        gain: f64,
    },
    /// Kaiming (He) normal over `fan_in`, with the given gain.
    KaimingNormal {
        /// Gain (`sqrt(2)` for ReLU).
        gain: f64,
    },
    /// Xavier (Glorot) uniform, with the given gain.
    XavierUniform {
        /// Gain (1 for linear layers).
        gain: f64,
    },
    /// Xavier (Glorot) normal, with the given gain.
    XavierNormal {
        /// Gain (1 for linear layers).
        gain: f64,
    },
    /// `N(0, std^2)` (PyTorch's `nn.Embedding` / `nn.EmbeddingBag` weights: `std = 1`).
    Normal {
        /// Standard deviation.
        std: f64,
    },
    /// `U(-bound, bound)`.
    Uniform {
        /// Half width.
        bound: f64,
    },
    /// Every element equal to the value (zeros for biases, ones for norm scales).
    Constant(f64),
}

impl Init {
    /// Kaiming uniform with the ReLU gain `sqrt(2)`.
    pub fn kaiming_uniform_relu() -> Self {
        Init::KaimingUniform { gain: 2f64.sqrt() }
    }

    /// Kaiming normal with the ReLU gain `sqrt(2)` (ResNet convolutions, `mode = fan_in`).
    pub fn kaiming_normal_relu() -> Self {
        Init::KaimingNormal { gain: 2f64.sqrt() }
    }

    /// PyTorch's default weight init for linear and conv layers: `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`.
    pub fn torch_default() -> Self {
        Init::KaimingUniform {
            gain: (1.0f64 / 3.0).sqrt(),
        }
    }

    /// Draw a tensor of `shape` from this scheme.
    ///
    /// Fan-based schemes need at least a 2-D shape (`(out, in, ...)`); a 1-D or empty shape
    /// is an [`Error::InvalidConfig`].
    pub fn sample<A: NdFloat>(&self, shape: &[usize], rng: &mut impl Rng) -> Result<ArrayD<A>> {
        let dim = IxDyn(shape);
        // Draws are f64, converted one at a time (a 2^18 x 256 table never exists in f64).
        let draw = |d: &dyn Fn(&mut dyn rand::RngCore) -> f64, rng: &mut dyn rand::RngCore| {
            ArrayD::from_shape_simple_fn(dim.clone(), || scalar::<A>(d(rng)))
        };
        let values = match *self {
            Init::Constant(c) => ArrayD::from_elem(dim.clone(), scalar::<A>(c)),
            Init::Uniform { bound } => draw(&uniform(bound)?, rng),
            Init::Normal { std } => draw(&normal(std)?, rng),
            Init::KaimingUniform { gain } => {
                let (fan_in, _) = fans(shape)?;
                draw(&uniform(gain * (3.0 / fan_in).sqrt())?, rng)
            }
            Init::XavierUniform { gain } => {
                let (fan_in, fan_out) = fans(shape)?;
                draw(&uniform(gain * (6.0 / (fan_in + fan_out)).sqrt())?, rng)
            }
            Init::KaimingNormal { gain } => {
                let (fan_in, _) = fans(shape)?;
                draw(&normal(gain / fan_in.sqrt())?, rng)
            }
            Init::XavierNormal { gain } => {
                let (fan_in, fan_out) = fans(shape)?;
                draw(&normal(gain * (2.0 / (fan_in + fan_out)).sqrt())?, rng)
            }
        };
        Ok(values)
    }
}

/// `(fan_in, fan_out)` of a weight of shape `(out, in, k...)`.
pub fn fans(shape: &[usize]) -> Result<(f64, f64)> {
    if shape.len() < 2 || shape.contains(&0) {
        return Err(Error::InvalidConfig {
            what: "init shape",
            value: format!("{shape:?}"),
            why: "fan-based init needs a non-empty shape (out, in, ...) of rank >= 2",
        });
    }
    let receptive: usize = shape[2..].iter().product();
    Ok(((shape[1] * receptive) as f64, (shape[0] * receptive) as f64))
}

/// A sampler of `U(-bound, bound)`.
fn uniform(bound: f64) -> Result<impl Fn(&mut dyn rand::RngCore) -> f64> {
    if !(bound.is_finite() && bound > 0.0) {
        return Err(Error::InvalidConfig {
            what: "uniform bound",
            value: bound.to_string(),
            why: "must be finite and > 0",
        });
    }
    let d = Uniform::new(-bound, bound).expect("bound checked above");
    Ok(move |rng: &mut dyn rand::RngCore| d.sample(rng))
}

/// A sampler of `N(0, std^2)`.
fn normal(std: f64) -> Result<impl Fn(&mut dyn rand::RngCore) -> f64> {
    let d = Normal::new(0.0, std).map_err(|_| Error::InvalidConfig {
        what: "normal std",
        value: std.to_string(),
        why: "must be finite and >= 0",
    })?;
    Ok(move |rng: &mut dyn rand::RngCore| d.sample(rng))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn moments(a: &ArrayD<f64>) -> (f64, f64, f64) {
        let n = a.len() as f64;
        let mean = a.sum() / n;
        let var = a.mapv(|v| (v - mean).powi(2)).sum() / n;
        let max = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        (mean, var, max)
    }

    #[test]
    fn fans_follow_torch_convention() {
        assert_eq!(fans(&[64, 32, 3, 3]).unwrap(), (288.0, 576.0));
        assert_eq!(fans(&[10, 784]).unwrap(), (784.0, 10.0));
        assert!(fans(&[5]).is_err());
    }

    #[test]
    fn schemes_have_their_variance_and_bound() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let shape = [200, 100, 3, 3]; // fan_in 900, fan_out 1800
        let (fi, fo) = (900.0f64, 1800.0f64);
        let cases = [
            (
                Init::kaiming_uniform_relu(),
                2.0 / fi,
                Some((6.0 / fi).sqrt()),
            ),
            (Init::kaiming_normal_relu(), 2.0 / fi, None),
            (
                Init::XavierUniform { gain: 1.0 },
                2.0 / (fi + fo),
                Some((6.0 / (fi + fo)).sqrt()),
            ),
            (Init::XavierNormal { gain: 1.0 }, 2.0 / (fi + fo), None),
            (Init::Normal { std: 0.5 }, 0.25, None),
        ];
        for (init, var, bound) in cases {
            let a: ArrayD<f64> = init.sample(&shape, &mut rng).unwrap();
            let (m, v, mx) = moments(&a);
            assert!(m.abs() < 0.01 * var.sqrt() * 10.0, "{init:?} mean {m}");
            assert!((v / var - 1.0).abs() < 0.03, "{init:?} var {v} want {var}");
            if let Some(b) = bound {
                assert!(mx <= b && mx > 0.99 * b, "{init:?} max {mx} bound {b}");
            }
        }
    }

    /// One draw per element, row-major, from the given rng: the same weights as drawing the
    /// distribution by hand (so seeds keep giving the weights they always gave).
    #[test]
    fn draws_follow_the_rng_stream_in_row_major_order() {
        let a: ArrayD<f32> = Init::Normal { std: 1.0 }
            .sample(&[3, 4], &mut ChaCha8Rng::seed_from_u64(5))
            .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let d = Normal::new(0.0, 1.0).unwrap();
        let want: Vec<f32> = (0..12).map(|_| d.sample(&mut rng) as f32).collect();
        assert_eq!(a.as_slice().unwrap(), &want[..]);
        let b: ArrayD<f64> = Init::torch_default()
            .sample(&[2, 9], &mut ChaCha8Rng::seed_from_u64(6))
            .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let d = Uniform::new(-1.0 / 3.0, 1.0 / 3.0).unwrap();
        let want: Vec<f64> = (0..18).map(|_| d.sample(&mut rng)).collect();
        assert_eq!(b.as_slice().unwrap(), &want[..]);
    }

    #[test]
    fn same_seed_same_tensor() {
        let a: ArrayD<f32> = Init::torch_default()
            .sample(&[4, 3], &mut ChaCha8Rng::seed_from_u64(7))
            .unwrap();
        let b: ArrayD<f32> = Init::torch_default()
            .sample(&[4, 3], &mut ChaCha8Rng::seed_from_u64(7))
            .unwrap();
        assert_eq!(a, b);
        assert!(a.iter().all(|v| v.abs() <= 1.0 / 3f32.sqrt()));
    }

    #[test]
    fn bad_settings_are_errors() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert!(
            Init::Uniform { bound: -1.0 }
                .sample::<f32>(&[2, 2], &mut rng)
                .is_err()
        );
        assert!(
            Init::KaimingNormal { gain: f64::NAN }
                .sample::<f32>(&[2, 2], &mut rng)
                .is_err()
        );
        assert!(Init::Constant(0.0).sample::<f32>(&[3], &mut rng).is_ok());
    }
}
