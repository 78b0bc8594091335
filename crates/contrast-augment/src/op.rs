//! One image operation of a pipeline: every op type in the crate behind one enum, with the
//! channel checks and output shapes the pipeline validates when it is built.

use rand::Rng;

use crate::affine::RandomAffine;
use crate::blur::GaussianBlur;
use crate::buffer::{ImageBuf, Workspace};
use crate::color;
use crate::crop::{CenterCrop, RandomResizedCrop, Resize};
use crate::error::Result;
use crate::flip::Flip;
use crate::jitter::{ColorJitter, Solarize};
use crate::noise::{GaussianNoise, RandomErasing};
use crate::standardize::Standardize;
use crate::validate;

/// Grayscale as three equal ITU-R 601-2 luma channels (torchvision `Grayscale(3)`);
/// as a pipeline step with probability `p` it is `RandomGrayscale(p)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grayscale;

/// An image operation; build one from any op type with `.into()`.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// Random crop resized to a fixed size.
    RandomResizedCrop(RandomResizedCrop),
    /// Resize to a fixed size.
    Resize(Resize),
    /// Centre crop to a fixed size.
    CenterCrop(CenterCrop),
    /// Horizontal or vertical flip.
    Flip(Flip),
    /// Brightness, contrast, saturation and hue jitter in random order.
    ColorJitter(ColorJitter),
    /// Grayscale (three equal channels).
    Grayscale(Grayscale),
    /// Gaussian blur with a random sigma.
    GaussianBlur(GaussianBlur),
    /// Solarize above a threshold.
    Solarize(Solarize),
    /// Random rotation / translation / scaling.
    Affine(RandomAffine),
    /// Additive gaussian noise.
    Noise(GaussianNoise),
    /// Random erasing of a rectangle.
    Erasing(RandomErasing),
    /// Per-channel standardisation (leaves `[0, 1]`).
    Standardize(Standardize),
}

macro_rules! op_from {
    ($($t:ident => $v:ident),* $(,)?) => {$(
        impl From<$t> for Op {
            fn from(op: $t) -> Self {
                Op::$v(op)
            }
        }
    )*};
}

op_from!(
    RandomResizedCrop => RandomResizedCrop,
    Resize => Resize,
    CenterCrop => CenterCrop,
    Flip => Flip,
    ColorJitter => ColorJitter,
    Grayscale => Grayscale,
    GaussianBlur => GaussianBlur,
    Solarize => Solarize,
    RandomAffine => Affine,
    GaussianNoise => Noise,
    RandomErasing => Erasing,
    Standardize => Standardize,
);

impl Op {
    /// The op's name, as used in error messages.
    pub fn name(&self) -> &'static str {
        match self {
            Op::RandomResizedCrop(_) => "RandomResizedCrop",
            Op::Resize(_) => "Resize",
            Op::CenterCrop(_) => "CenterCrop",
            Op::Flip(_) => "Flip",
            Op::ColorJitter(_) => "ColorJitter",
            Op::Grayscale(_) => "Grayscale",
            Op::GaussianBlur(_) => "GaussianBlur",
            Op::Solarize(_) => "Solarize",
            Op::Affine(_) => "RandomAffine",
            Op::Noise(_) => "GaussianNoise",
            Op::Erasing(_) => "RandomErasing",
            Op::Standardize(_) => "Standardize",
        }
    }

    /// Checks that the op can run on images with `channels` channels.
    pub fn check_channels(&self, channels: usize) -> Result<()> {
        validate::sizes(self.name(), &[channels])?;
        match self {
            Op::ColorJitter(j) if j.needs_rgb() => validate::channels(self.name(), 3, channels),
            Op::Grayscale(_) => validate::channels(self.name(), 3, channels),
            Op::Standardize(n) => validate::channels(self.name(), n.channels(), channels),
            _ => Ok(()),
        }
    }

    /// Output `(height, width)` for an `(height, width)` input.
    pub fn output_size(&self, size: (usize, usize)) -> (usize, usize) {
        match self {
            Op::RandomResizedCrop(op) => op.size(),
            Op::Resize(op) => op.size(),
            Op::CenterCrop(op) => op.size(),
            _ => size,
        }
    }

    /// True when the op maps `[0, 1]` images into `[0, 1]`.
    pub fn keeps_unit_range(&self) -> bool {
        !matches!(self, Op::Standardize(_))
    }

    pub(crate) fn apply<R: Rng + ?Sized>(
        &self,
        img: &mut ImageBuf,
        ws: &mut Workspace,
        rng: &mut R,
    ) {
        match self {
            Op::RandomResizedCrop(op) => op.apply(img, ws, rng),
            Op::Resize(op) => op.apply(img, ws),
            Op::CenterCrop(op) => op.apply(img, ws),
            Op::Flip(op) => op.apply(img),
            Op::ColorJitter(op) => op.apply(img, rng),
            Op::Grayscale(_) => color::grayscale(img),
            Op::GaussianBlur(op) => op.apply(img, ws, rng),
            Op::Solarize(op) => op.apply(img),
            Op::Affine(op) => op.apply(img, ws, rng),
            Op::Noise(op) => op.apply(img, rng),
            Op::Erasing(op) => op.apply(img, rng),
            Op::Standardize(op) => op.apply(img),
        }
    }
}
