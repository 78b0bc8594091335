//! Geometric crops: torchvision's `RandomResizedCrop`, `CenterCrop` and `Resize`.
//!
//! `RandomResizedCrop(size, scale, ratio)` draws up to 10 windows:
//! `area = H W U(scale)`, `aspect = exp(U(ln r0, ln r1))`,
//! `w = round(sqrt(area aspect))`, `h = round(sqrt(area / aspect))` (round half to even,
//! as Python's `round`), accepted when `0 < w <= W` and `0 < h <= H`, with the top-left
//! corner uniform over the valid positions. If all 10 fail it falls back to a centre crop
//! whose aspect ratio is clamped into `[r0, r1]`. The window is then resized bilinearly
//! (see [`mod@crate::resize`]).

use rand::Rng;

use crate::buffer::{ImageBuf, Workspace};
use crate::error::Result;
use crate::resize::{Window, resample};
use crate::stream::uniform;
use crate::validate;

/// torchvision's `RandomResizedCrop`.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomResizedCrop {
    size: (usize, usize),
    boxes: BoxDraw,
    ratio: (f32, f32),
}

/// The rectangle draw that `RandomResizedCrop` and `RandomErasing` share: an area fraction
/// `U(scale)` of the image and a log-uniform aspect ratio.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BoxDraw {
    scale: (f32, f32),
    log_ratio: (f32, f32),
}

impl BoxDraw {
    /// Validates `scale` within `scale_bounds` and a positive `ratio` range.
    pub fn new(
        op: &'static str,
        scale: (f32, f32),
        scale_bounds: ((f32, f32), &'static str),
        ratio: (f32, f32),
    ) -> Result<Self> {
        let scale = validate::range(op, "scale", scale, scale_bounds.0, scale_bounds.1)?;
        let ratio = validate::positive_range(op, "ratio", ratio)?;
        Ok(Self {
            scale,
            log_ratio: (ratio.0.ln(), ratio.1.ln()),
        })
    }

    /// `(round(sqrt(t r)), round(sqrt(t / r)))` for `t = area U(scale)`,
    /// `r = exp(U(ln ratio))`, rounding half to even as Python does.
    pub fn draw<R: Rng + ?Sized>(&self, area: f32, rng: &mut R) -> (usize, usize) {
        let target = area * uniform(rng, self.scale.0, self.scale.1);
        let aspect = uniform(rng, self.log_ratio.0, self.log_ratio.1).exp();
        (
            (target * aspect).sqrt().round_ties_even() as usize,
            (target / aspect).sqrt().round_ties_even() as usize,
        )
    }
}

impl RandomResizedCrop {
    /// Output `size = (height, width)`, area fraction range `scale` in `(0, 1]` and aspect
    /// ratio (width / height) range `ratio` (torchvision's defaults: `(0.08, 1.0)` and
    /// `(3/4, 4/3)`).
    pub fn new(size: (usize, usize), scale: (f32, f32), ratio: (f32, f32)) -> Result<Self> {
        const OP: &str = "RandomResizedCrop";
        validate::sizes(OP, &[size.0, size.1])?;
        let boxes = BoxDraw::new(OP, scale, ((f32::MIN_POSITIVE, 1.0), "(0, 1]"), ratio)?;
        Ok(Self { size, boxes, ratio })
    }

    /// A square output of side `side` with torchvision's default scale and ratio ranges.
    pub fn square(side: usize, scale: (f32, f32)) -> Result<Self> {
        Self::new((side, side), scale, (3.0 / 4.0, 4.0 / 3.0))
    }

    /// Output `(height, width)`.
    pub fn size(&self) -> (usize, usize) {
        self.size
    }

    /// Draws the crop window for an `height x width` image (torchvision's `get_params`).
    pub fn window<R: Rng + ?Sized>(&self, height: usize, width: usize, rng: &mut R) -> Window {
        let area = (height * width) as f32;
        for _ in 0..10 {
            let (w, h) = self.boxes.draw(area, rng);
            if 0 < w && w <= width && 0 < h && h <= height {
                let top = rng.random_range(0..=height - h);
                let left = rng.random_range(0..=width - w);
                return Window {
                    top,
                    left,
                    height: h,
                    width: w,
                };
            }
        }
        let in_ratio = width as f32 / height as f32;
        let (h, w) = if in_ratio < self.ratio.0 {
            (
                (width as f32 / self.ratio.0).round_ties_even() as usize,
                width,
            )
        } else if in_ratio > self.ratio.1 {
            (
                height,
                (height as f32 * self.ratio.1).round_ties_even() as usize,
            )
        } else {
            (height, width)
        };
        let (h, w) = (h.clamp(1, height), w.clamp(1, width));
        Window {
            top: (height - h) / 2,
            left: (width - w) / 2,
            height: h,
            width: w,
        }
    }

    pub(crate) fn apply<R: Rng + ?Sized>(
        &self,
        img: &mut ImageBuf,
        ws: &mut Workspace,
        rng: &mut R,
    ) {
        let window = self.window(img.h, img.w, rng);
        resample(img, window, self.size, &mut ws.spare, &mut ws.taps);
        std::mem::swap(img, &mut ws.spare);
    }
}

/// Bilinear resize of the whole image to a fixed `(height, width)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Resize {
    size: (usize, usize),
}

impl Resize {
    /// Output `size = (height, width)`.
    pub fn new(size: (usize, usize)) -> Result<Self> {
        validate::sizes("Resize", &[size.0, size.1])?;
        Ok(Self { size })
    }

    /// Output `(height, width)`.
    pub fn size(&self) -> (usize, usize) {
        self.size
    }

    pub(crate) fn apply(&self, img: &mut ImageBuf, ws: &mut Workspace) {
        let window = Window {
            top: 0,
            left: 0,
            height: img.h,
            width: img.w,
        };
        resample(img, window, self.size, &mut ws.spare, &mut ws.taps);
        std::mem::swap(img, &mut ws.spare);
    }
}

/// Offset of a centred window of length `out` in an axis of length `len`, torchvision's:
/// `round((len - out) / 2)` (half to even) when cropping, `-((out - len) // 2)` when padding.
fn centre_offset(len: usize, out: usize) -> isize {
    if len >= out {
        ((len - out) as f32 / 2.0).round_ties_even() as isize
    } else {
        -(((out - len) / 2) as isize)
    }
}

/// Centre crop to a fixed `(height, width)`; like torchvision, a crop larger than the
/// image pads it with zeros (with torchvision's offsets).
#[derive(Clone, Debug, PartialEq)]
pub struct CenterCrop {
    size: (usize, usize),
}

impl CenterCrop {
    /// Output `size = (height, width)`.
    pub fn new(size: (usize, usize)) -> Result<Self> {
        validate::sizes("CenterCrop", &[size.0, size.1])?;
        Ok(Self { size })
    }

    /// Output `(height, width)`.
    pub fn size(&self) -> (usize, usize) {
        self.size
    }

    pub(crate) fn apply(&self, img: &mut ImageBuf, ws: &mut Workspace) {
        let (oh, ow) = self.size;
        // Signed offsets: positive crops into the image, negative pads around it.
        let top = centre_offset(img.h, oh);
        let left = centre_offset(img.w, ow);
        let dst = &mut ws.spare;
        dst.reshape(img.c, oh, ow);
        dst.data.fill(0.0);
        for c in 0..img.c {
            for y in 0..oh {
                let sy = y as isize + top;
                if sy < 0 || sy >= img.h as isize {
                    continue;
                }
                let x0 = (-left).max(0) as usize;
                let x1 = ((img.w as isize - left).min(ow as isize)).max(0) as usize;
                if x0 >= x1 {
                    continue;
                }
                let s = (c * img.h + sy as usize) * img.w;
                let sx0 = (x0 as isize + left) as usize;
                let d = (c * oh + y) * ow;
                dst.data[d + x0..d + x1].copy_from_slice(&img.data[s + sx0..s + sx0 + (x1 - x0)]);
            }
        }
        std::mem::swap(img, dst);
    }
}

/// torchvision `center_crop(image, size)`: a centred `size = (height, width)` window,
/// zero-padded where it extends past the image.
pub fn center_crop(
    image: ndarray::ArrayView3<f32>,
    size: (usize, usize),
) -> Result<ndarray::Array3<f32>> {
    let op = CenterCrop::new(size)?;
    let mut img = ImageBuf::from_view(image);
    op.apply(&mut img, &mut Workspace::default());
    Ok(img.into_array())
}
