//! Additive gaussian noise and random erasing (occlusion), torchvision v2 semantics.
//!
//! Noise: `x + N(0, sigma^2)` per pixel, clamped to `[0, 1]` (`GaussianNoise(clip=True)`).
//! Erasing (`RandomErasing(scale, ratio, value)`): up to 10 draws of `area = H W U(scale)`,
//! `aspect = exp(U(ln r0, ln r1))`, `h = round(sqrt(area aspect))`,
//! `w = round(sqrt(area / aspect))`; the first with `h < H` and `w < W` is filled with
//! `value` at a uniform position; if none fits the image is left unchanged.

use rand::Rng;
use rand_distr::StandardNormal;

use crate::buffer::ImageBuf;
use crate::crop::BoxDraw;
use crate::error::Result;
use crate::validate;

/// Additive gaussian noise, clamped to `[0, 1]`.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianNoise {
    sigma: f32,
}

impl GaussianNoise {
    /// Standard deviation `sigma >= 0`.
    pub fn new(sigma: f32) -> Result<Self> {
        Ok(Self {
            sigma: validate::value("GaussianNoise", "sigma", sigma, (0.0, f32::MAX), "[0, inf)")?,
        })
    }

    pub(crate) fn apply<R: Rng + ?Sized>(&self, img: &mut ImageBuf, rng: &mut R) {
        for x in img.data.iter_mut() {
            let z: f32 = rng.sample(StandardNormal);
            *x = (*x + self.sigma * z).clamp(0.0, 1.0);
        }
    }
}

/// torchvision's `RandomErasing` (its probability is the pipeline step's).
#[derive(Clone, Debug, PartialEq)]
pub struct RandomErasing {
    boxes: BoxDraw,
    value: f32,
}

impl RandomErasing {
    /// Area fraction range `scale` in `[0, 1]`, aspect range `ratio` (positive) and fill
    /// `value` in `[0, 1]` (torchvision defaults `(0.02, 0.33)`, `(0.3, 3.3)`, 0).
    pub fn new(scale: (f32, f32), ratio: (f32, f32), value: f32) -> Result<Self> {
        const OP: &str = "RandomErasing";
        let boxes = BoxDraw::new(OP, scale, ((0.0, 1.0), "[0, 1]"), ratio)?;
        let value = validate::value(OP, "value", value, (0.0, 1.0), "[0, 1]")?;
        Ok(Self { boxes, value })
    }

    pub(crate) fn apply<R: Rng + ?Sized>(&self, img: &mut ImageBuf, rng: &mut R) {
        let (h, w) = (img.h, img.w);
        let area = (h * w) as f32;
        for _ in 0..10 {
            let (eh, ew) = self.boxes.draw(area, rng);
            if !(eh < h && ew < w) {
                continue;
            }
            let top = rng.random_range(0..=h - eh);
            let left = rng.random_range(0..=w - ew);
            for plane in img.data.chunks_exact_mut(h * w) {
                for row in plane.chunks_exact_mut(w).skip(top).take(eh) {
                    row[left..left + ew].fill(self.value);
                }
            }
            return;
        }
    }
}
