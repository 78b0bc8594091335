//! Which views a dataset gets: the augmentations define what the encoder learns to ignore.
//!
//! - RGB 32x32 (CIFAR): the SimCLR CIFAR preset (crop 0.08-1, flip, colour jitter at
//!   strength 0.5, grayscale 0.2); other RGB sizes: SimCLR's ImageNet recipe at that size.
//! - Grayscale (MNIST-like digits, any size): the digits recipe of `contrast-augment` at the
//!   dataset's size (crop 0.5-1, small affine, noise, erasing; no colour).

use contrast_augment::{Views, presets};
use contrast_data::ImageShape;

use crate::error::Result;

/// `n_views` views per sample for images of `shape`.
pub fn views_for(shape: ImageShape, n_views: usize) -> Result<Views> {
    let (channels, height, width) = shape.dims();
    let two = if channels == 1 {
        presets::digits_sized(height, width)?
    } else if (height, width) == (32, 32) {
        presets::simclr_cifar()?
    } else {
        presets::simclr_imagenet(height.min(width), 1.0)?
    };
    Ok(Views::symmetric(two.pipelines()[0].clone(), n_views)?)
}
