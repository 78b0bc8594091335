//! A sequence of ops, each applied with its own probability (torchvision's `Compose` of
//! `RandomApply`s), validated against the image channel count when it is built.

use ndarray::{Array3, ArrayView3};
use rand::Rng;

use crate::buffer::{ImageBuf, Workspace};
use crate::error::{Error, Result};
use crate::op::Op;
use crate::validate;

/// One pipeline step: `op` runs when a `U(0, 1)` draw is below `p` (no draw when `p` is
/// 0 or 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The operation.
    pub op: Op,
    /// Probability of applying it.
    pub p: f32,
}

/// An augmentation pipeline for images with a fixed number of channels.
///
/// ```
/// use contrast_augment::{ColorJitter, Flip, Grayscale, Pipeline, RandomResizedCrop, stream_rng};
/// let pipe = Pipeline::new(3)?
///     .always(RandomResizedCrop::square(32, (0.08, 1.0))?)?
///     .then(Flip::Horizontal, 0.5)?
///     .then(ColorJitter::new(0.4, 0.4, 0.4, 0.1)?, 0.8)?
///     .then(Grayscale, 0.2)?;
/// let image = ndarray::Array3::from_elem((3, 40, 40), 0.5f32);
/// let view = pipe.apply(image.view(), &mut stream_rng(0, 0, 0, 0))?;
/// assert_eq!(view.dim(), (3, 32, 32));
/// assert!(Pipeline::new(1)?.then(Grayscale, 0.2).is_err()); // colour op on one channel
/// # Ok::<(), contrast_augment::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    channels: usize,
    steps: Vec<Step>,
}

impl Pipeline {
    /// An empty pipeline (the identity) for images with `channels` channels.
    pub fn new(channels: usize) -> Result<Self> {
        validate::sizes("Pipeline", &[channels])?;
        Ok(Self {
            channels,
            steps: Vec::new(),
        })
    }

    /// Appends `op`, applied with probability `p`; rejects a bad `p` or an op that cannot
    /// run on this pipeline's channel count.
    pub fn then(mut self, op: impl Into<Op>, p: f32) -> Result<Self> {
        let op = op.into();
        let p = validate::probability(op.name(), p)?;
        op.check_channels(self.channels)?;
        self.steps.push(Step { op, p });
        Ok(self)
    }

    /// Appends `op`, always applied.
    pub fn always(self, op: impl Into<Op>) -> Result<Self> {
        self.then(op, 1.0)
    }

    /// Channels of the images this pipeline accepts (and returns).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The steps in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Output `(channels, height, width)` for an input of shape `shape`, or the error the
    /// input would raise.
    pub fn output_shape(&self, shape: (usize, usize, usize)) -> Result<(usize, usize, usize)> {
        let (c, h, w) = shape;
        if c != self.channels {
            return Err(Error::Channels {
                op: "Pipeline",
                expected: self.channels,
                found: c,
            });
        }
        if h == 0 || w == 0 {
            return Err(Error::Shape {
                what: "image",
                shape: vec![c, h, w],
                why: "empty image",
            });
        }
        let (h, w) = self
            .steps
            .iter()
            .fold((h, w), |size, s| s.op.output_size(size));
        Ok((c, h, w))
    }

    /// True when every op keeps `[0, 1]` images in `[0, 1]` (no [`crate::Standardize`]).
    pub fn keeps_unit_range(&self) -> bool {
        self.steps.iter().all(|s| s.op.keeps_unit_range())
    }

    /// Checks `image`'s shape and values, as [`Pipeline::apply`] and the batch API do.
    pub(crate) fn check_input(&self, image: &ArrayView3<f32>) -> Result<()> {
        self.output_shape(image.dim())?;
        let bad = match image.as_slice() {
            Some(pixels) => pixels.iter().find(|x| !x.is_finite()),
            None => image.iter().find(|x| !x.is_finite()),
        };
        match bad {
            Some(&value) => Err(Error::NonFinite {
                what: "image",
                value,
            }),
            None => Ok(()),
        }
    }

    /// One random view of `image` (CHW, values in `[0, 1]`).
    pub fn apply<R: Rng + ?Sized>(
        &self,
        image: ArrayView3<f32>,
        rng: &mut R,
    ) -> Result<Array3<f32>> {
        self.check_input(&image)?;
        let mut img = ImageBuf::from_view(image);
        self.run(&mut img, &mut Workspace::default(), rng);
        Ok(img.into_array())
    }

    /// Runs the steps on an already-checked buffer.
    pub(crate) fn run<R: Rng + ?Sized>(&self, img: &mut ImageBuf, ws: &mut Workspace, rng: &mut R) {
        for step in &self.steps {
            if step.p >= 1.0 || (step.p > 0.0 && rng.random::<f32>() < step.p) {
                step.op.apply(img, ws, rng);
            }
        }
    }
}
