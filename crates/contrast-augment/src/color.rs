//! Pointwise colour adjustments with torchvision's float semantics.
//!
//! With `gray(x) = 0.2989 R + 0.587 G + 0.114 B` (ITU-R 601-2 luma, torchvision's constants)
//! and `blend(x, y, f) = clamp(f x + (1 - f) y, 0, 1)`:
//! - brightness `f`: `blend(x, 0, f)`;
//! - contrast `f`: `blend(x, mean(gray(x)), f)` (the mean over all pixels; for a one-channel
//!   image the mean of the image);
//! - saturation `f`: `blend(x, gray(x), f)` (three channels only);
//! - grayscale: every channel becomes `gray(x)`;
//! - solarize `t`: `x >= t` becomes `1 - x` (so `t = 1` maps only exact ones, to 0).

use ndarray::{Array3, ArrayView3};

use crate::buffer::ImageBuf;
use crate::error::Result;
use crate::validate;

/// ITU-R 601-2 luma weights as torchvision writes them.
pub(crate) const LUMA: [f32; 3] = [0.2989, 0.587, 0.114];

#[inline]
fn luma(r: f32, g: f32, b: f32) -> f32 {
    r * LUMA[0] + g * LUMA[1] + b * LUMA[2]
}

#[inline]
fn blend(x: f32, y: f32, f: f32) -> f32 {
    (f * x + (1.0 - f) * y).clamp(0.0, 1.0)
}

/// Splits a three-channel buffer into its R, G and B planes.
pub(crate) fn rgb_planes(img: &mut ImageBuf) -> (&mut [f32], &mut [f32], &mut [f32]) {
    let n = img.plane_len();
    let (r, gb) = img.data.split_at_mut(n);
    let (g, b) = gb.split_at_mut(n);
    (r, g, b)
}

pub(crate) fn brightness(img: &mut ImageBuf, f: f32) {
    img.data.iter_mut().for_each(|x| *x = blend(*x, 0.0, f));
}

pub(crate) fn contrast(img: &mut ImageBuf, f: f32) {
    let n = img.plane_len();
    let sum: f64 = if img.c == 3 {
        let d = &img.data;
        (0..n)
            .map(|i| luma(d[i], d[n + i], d[2 * n + i]) as f64)
            .sum()
    } else {
        img.data.iter().map(|&x| x as f64).sum()
    };
    let count = if img.c == 3 { n } else { img.data.len() };
    let mean = (sum / count.max(1) as f64) as f32;
    img.data.iter_mut().for_each(|x| *x = blend(*x, mean, f));
}

/// Saturation; `img` must have three channels.
pub(crate) fn saturation(img: &mut ImageBuf, f: f32) {
    let (r, g, b) = rgb_planes(img);
    for ((r, g), b) in r.iter_mut().zip(g.iter_mut()).zip(b.iter_mut()) {
        let y = luma(*r, *g, *b);
        *r = blend(*r, y, f);
        *g = blend(*g, y, f);
        *b = blend(*b, y, f);
    }
}

/// Grayscale kept as three equal channels; `img` must have three channels.
pub(crate) fn grayscale(img: &mut ImageBuf) {
    let (r, g, b) = rgb_planes(img);
    for ((r, g), b) in r.iter_mut().zip(g.iter_mut()).zip(b.iter_mut()) {
        let y = luma(*r, *g, *b);
        (*r, *g, *b) = (y, y, y);
    }
}

pub(crate) fn solarize(img: &mut ImageBuf, threshold: f32) {
    img.data
        .iter_mut()
        .filter(|x| **x >= threshold)
        .for_each(|x| *x = 1.0 - *x);
}

/// Runs an in-place kernel on a copy of `image` (the functional API below).
pub(crate) fn on_copy(image: ArrayView3<f32>, kernel: impl FnOnce(&mut ImageBuf)) -> Array3<f32> {
    let mut buf = ImageBuf::from_view(image);
    kernel(&mut buf);
    buf.into_array()
}

fn factor(op: &'static str, f: f32) -> Result<f32> {
    validate::value(op, "factor", f, (0.0, f32::MAX), "[0, inf)")
}

/// torchvision `adjust_brightness`: `clamp(f x, 0, 1)`, `f >= 0`.
pub fn adjust_brightness(image: ArrayView3<f32>, f: f32) -> Result<Array3<f32>> {
    let f = factor("adjust_brightness", f)?;
    Ok(on_copy(image, |b| brightness(b, f)))
}

/// torchvision `adjust_contrast`: `clamp(f x + (1 - f) mean(gray(x)), 0, 1)`, `f >= 0`.
pub fn adjust_contrast(image: ArrayView3<f32>, f: f32) -> Result<Array3<f32>> {
    let f = factor("adjust_contrast", f)?;
    Ok(on_copy(image, |b| contrast(b, f)))
}

/// torchvision `adjust_saturation`: `clamp(f x + (1 - f) gray(x), 0, 1)`, `f >= 0`, RGB only.
pub fn adjust_saturation(image: ArrayView3<f32>, f: f32) -> Result<Array3<f32>> {
    let f = factor("adjust_saturation", f)?;
    validate::channels("adjust_saturation", 3, image.dim().0)?;
    Ok(on_copy(image, |b| saturation(b, f)))
}

/// torchvision `rgb_to_grayscale(num_output_channels=3)`: three equal luma channels.
pub fn rgb_to_grayscale(image: ArrayView3<f32>) -> Result<Array3<f32>> {
    validate::channels("rgb_to_grayscale", 3, image.dim().0)?;
    Ok(on_copy(image, grayscale))
}

/// torchvision `solarize`: pixels `>= threshold` become `1 - x`; `threshold` in `[0, 1]`.
pub fn solarize_image(image: ArrayView3<f32>, threshold: f32) -> Result<Array3<f32>> {
    let t = validate::value("solarize", "threshold", threshold, (0.0, 1.0), "[0, 1]")?;
    Ok(on_copy(image, |b| solarize(b, t)))
}
