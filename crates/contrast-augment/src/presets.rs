//! Published augmentation recipes as ready-made [`Views`].
//!
//! | preset | ops (probability) |
//! |---|---|
//! | [`simclr_imagenet`]`(size, s)` | crop scale 0.08-1; h-flip (0.5); jitter `0.8s, 0.8s, 0.8s, 0.2s` (0.8); grayscale (0.2); blur sigma 0.1-2, kernel ~10% of `size` (0.5) |
//! | [`simclr_cifar`] | 32x32 crop scale 0.08-1; h-flip (0.5); jitter `0.4, 0.4, 0.4, 0.1` (s = 0.5) (0.8); grayscale (0.2); no blur |
//! | [`moco_v2`]`(size)` | crop scale 0.2-1; jitter `0.4, 0.4, 0.4, 0.1` (0.8); grayscale (0.2); blur sigma 0.1-2 (0.5); h-flip (0.5) |
//! | [`byol`]`(size)` | both views: crop 0.08-1, h-flip (0.5), jitter `0.4, 0.4, 0.2, 0.1` (0.8), grayscale (0.2); view 1: blur (1.0); view 2: blur (0.1), solarize at 0.5 (0.2) |
//! | [`digits`] (or [`digits_sized`]`(h, w)`) | one channel 28x28: crop scale 0.5-1 ratio 0.9-1.1; affine ±10°, translate 10% (1.0); noise sigma 0.05 (0.5); erasing scale 0.02-0.1 (0.25); no colour |
//! | [`gray_objects_sized`]`(h, w)` | one channel (Fashion-MNIST): crop scale 0.2-1 ratio 3/4-4/3; h-flip (0.5); brightness and contrast 0.4 (0.8); erasing scale 0.02-0.1 (0.25) |
//!
//! SimCLR and MoCo give two symmetric views; BYOL's two views use different pipelines.

use crate::affine::RandomAffine;
use crate::blur::GaussianBlur;
use crate::crop::RandomResizedCrop;
use crate::error::{Error, Result};
use crate::flip::Flip;
use crate::jitter::{ColorJitter, Solarize};
use crate::noise::{GaussianNoise, RandomErasing};
use crate::op::Grayscale;
use crate::pipeline::Pipeline;
use crate::views::Views;

/// Odd blur kernel of about 10% of the image side (SimCLR: 23 for 224).
fn blur_kernel(size: usize) -> usize {
    (size / 10) | 1
}

/// SimCLR's colour distortion: `RandomApply(ColorJitter(0.8s, 0.8s, 0.8s, 0.2s), 0.8)` then
/// `RandomGrayscale(0.2)`, after a crop and a flip.
fn simclr_pipeline(size: usize, scale_low: f32, strength: f32) -> Result<Pipeline> {
    let s = strength;
    Pipeline::new(3)?
        .always(RandomResizedCrop::square(size, (scale_low, 1.0))?)?
        .then(Flip::Horizontal, 0.5)?
        .then(ColorJitter::new(0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s)?, 0.8)?
        .then(Grayscale, 0.2)
}

/// SimCLR ImageNet views at `size x size` with colour strength `strength` (1.0 in the paper).
pub fn simclr_imagenet(size: usize, strength: f32) -> Result<Views> {
    let pipe = simclr_pipeline(size, 0.08, strength)?
        .then(GaussianBlur::new(blur_kernel(size), (0.1, 2.0))?, 0.5)?;
    Views::symmetric(pipe, 2)
}

/// SimCLR CIFAR-10 views (32x32, strength 0.5, no blur).
pub fn simclr_cifar() -> Result<Views> {
    Views::symmetric(simclr_pipeline(32, 0.08, 0.5)?, 2)
}

/// MoCo v2 views at `size x size`.
pub fn moco_v2(size: usize) -> Result<Views> {
    let pipe = Pipeline::new(3)?
        .always(RandomResizedCrop::square(size, (0.2, 1.0))?)?
        .then(ColorJitter::new(0.4, 0.4, 0.4, 0.1)?, 0.8)?
        .then(Grayscale, 0.2)?
        .then(GaussianBlur::new(blur_kernel(size), (0.1, 2.0))?, 0.5)?
        .then(Flip::Horizontal, 0.5)?;
    Views::symmetric(pipe, 2)
}

/// BYOL's asymmetric pair of views at `size x size`.
pub fn byol(size: usize) -> Result<Views> {
    let base = || -> Result<Pipeline> {
        Pipeline::new(3)?
            .always(RandomResizedCrop::square(size, (0.08, 1.0))?)?
            .then(Flip::Horizontal, 0.5)?
            .then(ColorJitter::new(0.4, 0.4, 0.2, 0.1)?, 0.8)?
            .then(Grayscale, 0.2)
    };
    let blur = GaussianBlur::new(blur_kernel(size), (0.1, 2.0))?;
    let first = base()?.then(blur.clone(), 1.0)?;
    let second = base()?.then(blur, 0.1)?.then(Solarize::new(0.5)?, 0.2)?;
    Views::asymmetric(vec![first, second])
}

/// Two views of 28x28 grayscale digits: geometry, noise and occlusion, no colour.
pub fn digits() -> Result<Views> {
    digits_sized(28, 28)
}

/// The [`digits`] recipe for grayscale images of any size (e.g. the 8x8 UCI digits): the
/// crop resamples to `height x width`, the translation is 10% of the size.
pub fn digits_sized(height: usize, width: usize) -> Result<Views> {
    let pipe = Pipeline::new(1)?
        .always(RandomResizedCrop::new(
            (height, width),
            (0.5, 1.0),
            (0.9, 1.1),
        )?)?
        .always(RandomAffine::new(10.0, (0.1, 0.1), (1.0, 1.0))?)?
        .then(GaussianNoise::new(0.05)?, 0.5)?
        .then(RandomErasing::new((0.02, 0.1), (0.3, 3.3), 0.0)?, 0.25)?;
    Views::symmetric(pipe, 2)
}

/// Two views of grayscale photographs of objects (Fashion-MNIST-like), where left and right
/// are interchangeable and the object's scale varies: crop 0.2-1 (ratio 3/4-4/3), horizontal
/// flip, brightness and contrast jitter 0.4 with p 0.8, erasing with p 0.25.
pub fn gray_objects_sized(height: usize, width: usize) -> Result<Views> {
    let pipe = Pipeline::new(1)?
        .always(RandomResizedCrop::new(
            (height, width),
            (0.2, 1.0),
            (3.0 / 4.0, 4.0 / 3.0),
        )?)?
        .then(Flip::Horizontal, 0.5)?
        .then(ColorJitter::new(0.4, 0.4, 0.0, 0.0)?, 0.8)?
        .then(RandomErasing::new((0.02, 0.1), (0.3, 3.3), 0.0)?, 0.25)?;
    Views::symmetric(pipe, 2)
}

/// A preset by name: `simclr-imagenet` (224, strength 1), `simclr-cifar`, `moco-v2` (224),
/// `byol` (224), `digits` or `gray-objects` (28x28).
pub fn by_name(name: &str) -> Result<Views> {
    match name {
        "simclr-imagenet" => simclr_imagenet(224, 1.0),
        "simclr-cifar" => simclr_cifar(),
        "moco-v2" => moco_v2(224),
        "byol" => byol(224),
        "digits" => digits(),
        "gray-objects" => gray_objects_sized(28, 28),
        other => Err(Error::UnknownPreset(other.to_string())),
    }
}
