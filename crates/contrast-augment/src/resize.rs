//! Bilinear resampling of a crop window, with torchvision's geometry.
//!
//! Output pixel `o` of an axis of length `out` reads the source coordinate
//! `s = (o + 0.5) * in / out - 0.5` (half-pixel centres, `align_corners = False`),
//! clamped below at 0; its taps are `floor(s)` and `min(floor(s) + 1, in - 1)` with weights
//! `1 - f` and `f`, `f = s - floor(s)`. This is `torch.nn.functional.interpolate(mode=
//! "bilinear", align_corners=False, antialias=False)`, i.e. torchvision's
//! `resized_crop(..., antialias=False)`. When the output is at least as large as the crop
//! (every CIFAR-sized crop) torchvision's default `antialias=True` computes the same thing;
//! when downscaling it low-pass filters first and the two differ.
//!
//! The taps of each axis are computed once per call, then every output pixel is four loads.

use ndarray::{Array3, ArrayView3};

use crate::buffer::ImageBuf;
use crate::error::{Error, Result};
use crate::validate;

/// One output coordinate's two source indices and the weight of the second.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Tap {
    lo: usize,
    hi: usize,
    frac: f32,
}

/// Fills `taps` for resampling `len` source pixels starting at `start` onto `out` pixels.
pub(crate) fn fill_taps(taps: &mut Vec<Tap>, start: usize, len: usize, out: usize) {
    taps.clear();
    // torch computes the scale in the input's float type.
    let scale = len as f32 / out as f32;
    taps.extend((0..out).map(|o| {
        let s = ((o as f32 + 0.5) * scale - 0.5).max(0.0);
        let lo = (s as usize).min(len - 1);
        let hi = (lo + 1).min(len - 1);
        Tap {
            lo: start + lo,
            hi: start + hi,
            frac: s - lo as f32,
        }
    }));
}

/// Scratch space for resampling, kept by the pipeline between calls.
#[derive(Clone, Debug, Default)]
pub(crate) struct Taps {
    pub x: Vec<Tap>,
    pub y: Vec<Tap>,
}

/// A crop window `(top, left, height, width)` in source pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// First row.
    pub top: usize,
    /// First column.
    pub left: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
}

/// Resamples `window` of `src` to `out_h x out_w` into `dst` (bilinear).
/// The window must lie inside `src` and be non-empty.
pub(crate) fn resample(
    src: &ImageBuf,
    window: Window,
    (out_h, out_w): (usize, usize),
    dst: &mut ImageBuf,
    taps: &mut Taps,
) {
    dst.reshape(src.c, out_h, out_w);
    if window.height == out_h && window.width == out_w {
        // Same size: bilinear reduces to a copy of the window (torchvision also skips it).
        for c in 0..src.c {
            for y in 0..out_h {
                let s = (c * src.h + window.top + y) * src.w + window.left;
                let d = (c * out_h + y) * out_w;
                dst.data[d..d + out_w].copy_from_slice(&src.data[s..s + out_w]);
            }
        }
        return;
    }
    fill_taps(&mut taps.y, window.top, window.height, out_h);
    fill_taps(&mut taps.x, window.left, window.width, out_w);
    let plane = src.plane_len();
    for (c, out_plane) in dst.data.chunks_exact_mut(out_h * out_w).enumerate() {
        let src_plane = &src.data[c * plane..(c + 1) * plane];
        for (ty, out_row) in taps.y.iter().zip(out_plane.chunks_exact_mut(out_w)) {
            let r0 = &src_plane[ty.lo * src.w..(ty.lo + 1) * src.w];
            let r1 = &src_plane[ty.hi * src.w..(ty.hi + 1) * src.w];
            let (wy1, wy0) = (ty.frac, 1.0 - ty.frac);
            for (tx, o) in taps.x.iter().zip(out_row.iter_mut()) {
                let (wx1, wx0) = (tx.frac, 1.0 - tx.frac);
                *o = wy0 * (wx0 * r0[tx.lo] + wx1 * r0[tx.hi])
                    + wy1 * (wx0 * r1[tx.lo] + wx1 * r1[tx.hi]);
            }
        }
    }
}

/// Checks that `window` is non-empty and inside an `h x w` image.
pub(crate) fn check_window(window: Window, h: usize, w: usize) -> Result<()> {
    validate::sizes("resized_crop", &[window.height, window.width])?;
    if window.top + window.height > h || window.left + window.width > w {
        return Err(Error::CropOutside {
            top: window.top,
            left: window.left,
            height: window.height,
            width: window.width,
            image_h: h,
            image_w: w,
        });
    }
    Ok(())
}

/// Crops `window` out of `image` and resizes it bilinearly to `size = (height, width)`;
/// torchvision's `resized_crop(image, top, left, height, width, size, antialias=False)`.
///
/// ```
/// use contrast_augment::{resized_crop, Window};
/// let img = ndarray::Array3::from_shape_fn((1, 4, 4), |(_, y, x)| (y * 4 + x) as f32 / 15.0);
/// let out = resized_crop(img.view(), Window { top: 1, left: 1, height: 2, width: 2 }, (4, 4))?;
/// assert_eq!(out.dim(), (1, 4, 4));
/// assert_eq!(out[[0, 0, 0]], img[[0, 1, 1]]);
/// # Ok::<(), contrast_augment::Error>(())
/// ```
pub fn resized_crop(
    image: ArrayView3<f32>,
    window: Window,
    size: (usize, usize),
) -> Result<Array3<f32>> {
    let (_, h, w) = image.dim();
    check_window(window, h, w)?;
    validate::sizes("resized_crop", &[size.0, size.1])?;
    let src = ImageBuf::from_view(image);
    let mut dst = ImageBuf::default();
    resample(&src, window, size, &mut dst, &mut Taps::default());
    Ok(dst.into_array())
}

/// Resizes the whole image bilinearly to `size = (height, width)` (torchvision `resize`,
/// `antialias=False`).
pub fn resize(image: ArrayView3<f32>, size: (usize, usize)) -> Result<Array3<f32>> {
    let (_, h, w) = image.dim();
    resized_crop(
        image,
        Window {
            top: 0,
            left: 0,
            height: h,
            width: w,
        },
        size,
    )
}
