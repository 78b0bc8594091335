//! torchvision's `ColorJitter`, random grayscale and solarize as pipeline ops.
//!
//! `ColorJitter(b, c, s, h)` draws `b' ~ U(max(0, 1 - b), 1 + b)` (likewise `c'`, `s'`) and
//! `h' ~ U(-h, h)`, then applies brightness, contrast, saturation and hue in a uniformly
//! random order, each clamping to `[0, 1]` (formulas in [`crate::color`] and [`crate::hue`]).
//! A component with strength 0 is skipped, as in torchvision.

use rand::Rng;
use rand::seq::SliceRandom;

use crate::buffer::ImageBuf;
use crate::color;
use crate::error::Result;
use crate::hue;
use crate::stream::uniform;
use crate::validate;

/// torchvision's `ColorJitter(brightness, contrast, saturation, hue)`.
#[derive(Clone, Debug, PartialEq)]
pub struct ColorJitter {
    brightness: Option<(f32, f32)>,
    contrast: Option<(f32, f32)>,
    saturation: Option<(f32, f32)>,
    hue: Option<(f32, f32)>,
}

/// Factor range `[max(0, 1 - s), 1 + s]` for a strength `s >= 0`; `None` when `s = 0`.
fn factor_range(param: &'static str, s: f32) -> Result<Option<(f32, f32)>> {
    let s = validate::value("ColorJitter", param, s, (0.0, f32::MAX), "[0, inf)")?;
    Ok((s > 0.0).then(|| ((1.0 - s).max(0.0), 1.0 + s)))
}

impl ColorJitter {
    /// Strengths `brightness, contrast, saturation >= 0` and `hue` in `[0, 0.5]`.
    pub fn new(brightness: f32, contrast: f32, saturation: f32, hue: f32) -> Result<Self> {
        let h = validate::value("ColorJitter", "hue", hue, (0.0, 0.5), "[0, 0.5]")?;
        Ok(Self {
            brightness: factor_range("brightness", brightness)?,
            contrast: factor_range("contrast", contrast)?,
            saturation: factor_range("saturation", saturation)?,
            hue: (h > 0.0).then_some((-h, h)),
        })
    }

    /// Explicit factor ranges, each `(low, high)` with `0 <= low <= high` (hue within
    /// `[-0.5, 0.5]`); `None` leaves that component out.
    pub fn with_ranges(
        brightness: Option<(f32, f32)>,
        contrast: Option<(f32, f32)>,
        saturation: Option<(f32, f32)>,
        hue: Option<(f32, f32)>,
    ) -> Result<Self> {
        let factor = |param, r: Option<(f32, f32)>| {
            r.map(|r| validate::range("ColorJitter", param, r, (0.0, f32::MAX), "[0, inf)"))
                .transpose()
        };
        Ok(Self {
            brightness: factor("brightness", brightness)?,
            contrast: factor("contrast", contrast)?,
            saturation: factor("saturation", saturation)?,
            hue: hue
                .map(|r| validate::range("ColorJitter", "hue", r, (-0.5, 0.5), "[-0.5, 0.5]"))
                .transpose()?,
        })
    }

    /// True when saturation or hue is jittered, which needs an RGB image.
    pub fn needs_rgb(&self) -> bool {
        self.saturation.is_some() || self.hue.is_some()
    }

    pub(crate) fn apply<R: Rng + ?Sized>(&self, img: &mut ImageBuf, rng: &mut R) {
        let mut order = [0usize, 1, 2, 3];
        order.shuffle(rng);
        for component in order {
            match component {
                0 => {
                    if let Some((lo, hi)) = self.brightness {
                        color::brightness(img, uniform(rng, lo, hi));
                    }
                }
                1 => {
                    if let Some((lo, hi)) = self.contrast {
                        color::contrast(img, uniform(rng, lo, hi));
                    }
                }
                2 => {
                    if let Some((lo, hi)) = self.saturation {
                        color::saturation(img, uniform(rng, lo, hi));
                    }
                }
                _ => {
                    if let Some((lo, hi)) = self.hue {
                        hue::hue(img, uniform(rng, lo, hi));
                    }
                }
            }
        }
    }
}

/// Solarize with a fixed threshold in `[0, 1]` (see [`crate::color`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Solarize {
    threshold: f32,
}

impl Solarize {
    /// Pixels `>= threshold` become `1 - x`.
    pub fn new(threshold: f32) -> Result<Self> {
        Ok(Self {
            threshold: validate::value("Solarize", "threshold", threshold, (0.0, 1.0), "[0, 1]")?,
        })
    }

    pub(crate) fn apply(&self, img: &mut ImageBuf) {
        color::solarize(img, self.threshold);
    }
}
