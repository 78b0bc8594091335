//! Views of multichannel time series, `Array2<f32>` of shape `(T, C)` (time along rows).
//!
//! - jitter `sigma`: `x + N(0, sigma^2)` per value;
//! - scaling `sigma`: each channel multiplied by its own `N(1, sigma^2)` factor;
//! - shift and crop `len`: a uniformly placed window of `len` time steps;
//! - segment permutation `k`: the time axis is cut into `k` nearly equal segments which are
//!   concatenated in a random order.

use ndarray::{Array2, ArrayView2, Axis, concatenate};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_distr::StandardNormal;

use crate::error::{Error, Result};
use crate::validate;

/// A time-series augmentation.
#[derive(Clone, Debug, PartialEq)]
pub enum SeriesOp {
    /// Additive gaussian noise with this standard deviation.
    Jitter(f32),
    /// Per-channel scaling by `N(1, sigma^2)`.
    Scaling(f32),
    /// Random window of this many time steps.
    ShiftCrop(usize),
    /// Random permutation of this many segments.
    SegmentPermutation(usize),
}

impl SeriesOp {
    /// Jitter with standard deviation `sigma >= 0`.
    pub fn jitter(sigma: f32) -> Result<Self> {
        Ok(Self::Jitter(validate::value(
            "Jitter",
            "sigma",
            sigma,
            (0.0, f32::MAX),
            "[0, inf)",
        )?))
    }

    /// Scaling with standard deviation `sigma >= 0`.
    pub fn scaling(sigma: f32) -> Result<Self> {
        Ok(Self::Scaling(validate::value(
            "Scaling",
            "sigma",
            sigma,
            (0.0, f32::MAX),
            "[0, inf)",
        )?))
    }

    /// Shift and crop to `len > 0` steps.
    pub fn shift_crop(len: usize) -> Result<Self> {
        validate::sizes("ShiftCrop", &[len])?;
        Ok(Self::ShiftCrop(len))
    }

    /// Permutation of `segments > 0` segments.
    pub fn segment_permutation(segments: usize) -> Result<Self> {
        validate::sizes("SegmentPermutation", &[segments])?;
        Ok(Self::SegmentPermutation(segments))
    }

    /// Applies the op to a `(T, C)` series; fails when `T` is shorter than a crop length or
    /// the number of segments, or when the series holds NaN or infinity.
    pub fn apply<R: Rng + ?Sized>(
        &self,
        series: ArrayView2<f32>,
        rng: &mut R,
    ) -> Result<Array2<f32>> {
        let (t, c) = series.dim();
        if let Some(&value) = series.iter().find(|x| !x.is_finite()) {
            return Err(Error::NonFinite {
                what: "series",
                value,
            });
        }
        let too_short = |needed: usize| Error::Shape {
            what: "series",
            shape: vec![t, c],
            why: if needed == 0 {
                "empty series"
            } else {
                "fewer time steps than the op needs"
            },
        };
        if t == 0 {
            return Err(too_short(0));
        }
        match *self {
            SeriesOp::Jitter(sigma) => {
                Ok(series.mapv(|x| x + sigma * rng.sample::<f32, _>(StandardNormal)))
            }
            SeriesOp::Scaling(sigma) => {
                let factors: Vec<f32> = (0..c)
                    .map(|_| 1.0 + sigma * rng.sample::<f32, _>(StandardNormal))
                    .collect();
                let mut out = series.to_owned();
                for mut row in out.rows_mut() {
                    row.iter_mut().zip(&factors).for_each(|(x, f)| *x *= f);
                }
                Ok(out)
            }
            SeriesOp::ShiftCrop(len) => {
                if t < len {
                    return Err(too_short(len));
                }
                let start = rng.random_range(0..=t - len);
                Ok(series.slice(ndarray::s![start..start + len, ..]).to_owned())
            }
            SeriesOp::SegmentPermutation(k) => {
                if t < k {
                    return Err(too_short(k));
                }
                let bounds: Vec<usize> = (0..=k).map(|i| i * t / k).collect();
                let mut order: Vec<usize> = (0..k).collect();
                order.shuffle(rng);
                let parts: Vec<ArrayView2<f32>> = order
                    .iter()
                    .map(|&i| series.slice_axis(Axis(0), (bounds[i]..bounds[i + 1]).into()))
                    .collect();
                Ok(concatenate(Axis(0), &parts).expect("segments share the channel count"))
            }
        }
    }
}
