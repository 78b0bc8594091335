//! `contrast-augment`: the random views that contrastive learning compares.
//!
//! In contrastive learning the positive pair is two random views of one sample, so the
//! augmentations define what the encoder learns to ignore. This crate implements
//! torchvision's image transforms on `f32` images, composes them into pipelines and
//! presets, adds views for token sequences and time series, and produces all views of a
//! batch in parallel, reproducibly.
//!
//! # Conventions
//! - Images are `Array3<f32>` in CHW order with values in `[0, 1]` and 1 or 3 channels;
//!   batches are NCHW `Array4<f32>`.
//! - Every random op takes `&mut impl rand::Rng`. View `v` of the sample with dataset index
//!   `i` in epoch `e` of a run seeded `s` draws from [`stream_rng`]`(s, e, i, v)`, so
//!   [`Views::batch`] is bit-identical for any number of rayon threads.
//! - Parameters are validated when an op or [`Pipeline`] is built; a bad one is an
//!   [`Error`], never a panic mid-training.
//!
//! # Math (torchvision semantics)
//! - Random resized crop: area `H W U(scale)`, aspect `exp(U(ln r))`, 10 tries then a
//!   centre-crop fallback; bilinear resampling with half-pixel centres,
//!   `s = (o + 0.5) in / out - 0.5` (`antialias=False`; equal to torchvision's default
//!   `antialias=True` whenever the output is not smaller than the crop). See [`mod@resize`].
//! - Colour jitter in random order, `gray = 0.2989 R + 0.587 G + 0.114 B`:
//!   brightness `clamp(b x)`, contrast `clamp(c x + (1 - c) mean(gray))`, saturation
//!   `clamp(s x + (1 - s) gray)`, hue rotation in HSV by `h` turns. See [`color`], [`hue`].
//! - Gaussian blur `g_i ∝ exp(-(i - (k-1)/2)^2 / 2 sigma^2)`, separable, reflect padding.
//! - Solarize: `x >= t -> 1 - x`.
//!
//! # API at a glance
//! - ops, each validated by its constructor: [`RandomResizedCrop`], [`Resize`], [`CenterCrop`],
//!   [`Flip`], [`ColorJitter`], [`Grayscale`], [`GaussianBlur`], [`Solarize`],
//!   [`RandomAffine`], [`GaussianNoise`], [`RandomErasing`], [`Standardize`]; all convert into
//!   [`Op`];
//! - [`Pipeline`]`::new(channels)?.always(op)?.then(op, p)?` and `pipeline.apply(image, rng)`;
//! - [`Views`] (symmetric, asymmetric, multi-crop) with `sample`, `batch`, `batch_into`
//!   (reuses output arrays) and `batch_stacked` (the `(2n, C, H, W)` SimCLR layout);
//! - [`presets`]: `simclr_imagenet`, `simclr_cifar`, `moco_v2`, `byol`, `digits`,
//!   `gray_objects_sized`, `by_name`;
//! - functional forms for fixed parameters: [`resized_crop`], [`center_crop`], [`affine()`],
//!   [`adjust_brightness`], [`adjust_contrast`], [`adjust_saturation`], [`adjust_hue`],
//!   [`gaussian_blur`], [`rgb_to_grayscale`], [`solarize_image`], [`flip()`];
//! - sequences: [`TokenOp`] on `&[u32]`, [`SeriesOp`] on `(T, C)` arrays;
//! - frame stacks (any channel count): [`RandomShift`] (DrQ / CURL: pad with the edge, crop
//!   back at a random offset, one offset for all frames), [`shift()`];
//! - [`stream_rng`]`(seed, epoch, index, view)`.
//!
//! # Example
//! ```
//! use contrast_augment::{presets, stream_rng};
//! use ndarray::Array4;
//! let views = presets::simclr_cifar()?;
//! let images = Array4::from_shape_fn((8, 3, 32, 32), |(n, c, y, x)| ((n + c + y * x) % 7) as f32 / 6.0);
//! let indices: Vec<u64> = (100..108).collect();
//! let out = views.batch(images.view(), &indices, 7, 0)?;
//! assert_eq!(out.len(), 2);
//! assert!(out[0].iter().all(|x| (0.0..=1.0).contains(x)));
//! // A sample's views depend only on (seed, epoch, index, view):
//! let one = views.sample(images.index_axis(ndarray::Axis(0), 3), 7, 0, 103)?;
//! assert_eq!(one[1], out[1].index_axis(ndarray::Axis(0), 3));
//! # Ok::<(), contrast_augment::Error>(())
//! ```

pub mod affine;
pub mod blur;
mod buffer;
pub mod color;
pub mod crop;
pub mod error;
pub mod flip;
pub mod hue;
pub mod jitter;
pub mod noise;
pub mod op;
pub mod pipeline;
pub mod presets;
pub mod resize;
pub mod series;
pub mod shift;
pub mod standardize;
pub mod stream;
pub mod tokens;
mod validate;
pub mod views;

pub use affine::{RandomAffine, affine};
pub use blur::{GaussianBlur, gaussian_blur};
pub use color::{
    adjust_brightness, adjust_contrast, adjust_saturation, rgb_to_grayscale, solarize_image,
};
pub use crop::{CenterCrop, RandomResizedCrop, Resize, center_crop};
pub use error::{Error, Result};
pub use flip::{Flip, flip};
pub use hue::adjust_hue;
pub use jitter::{ColorJitter, Solarize};
pub use noise::{GaussianNoise, RandomErasing};
pub use op::{Grayscale, Op};
pub use pipeline::{Pipeline, Step};
pub use resize::{Window, resize, resized_crop};
pub use series::SeriesOp;
pub use shift::{RandomShift, shift};
pub use standardize::Standardize;
pub use stream::stream_rng;
pub use tokens::TokenOp;
pub use views::Views;
