//! Random rotation and affine transform about the image centre, bilinear, zero fill.
//!
//! Parameters as torchvision's `RandomAffine(degrees, translate, scale)`: angle
//! `theta ~ U(degrees)` (degrees, clockwise on screen, torchvision's `affine` convention),
//! translation `t = (round(U(-a W, a W)), round(U(-b H, b H)))` pixels, scale `s ~ U(scale)`.
//! With coordinates relative to the centre (pixel centres at `x + 0.5 - W / 2`), output
//! point `p` samples the input at `R(theta)^-1 (p - t) / s`; samples outside the image read 0
//! (grid_sample's zero padding, torchvision's `fill=None`). torchvision's `RandomAffine`
//! defaults to nearest-neighbour interpolation and `fill=0` (which also darkens the border
//! band under bilinear sampling); this op is always bilinear with plain zero padding.

use rand::Rng;

use crate::buffer::{ImageBuf, Workspace};
use crate::error::Result;
use crate::stream::uniform;
use crate::validate;

/// Random rotation, translation and scaling (torchvision's `RandomAffine` without shear).
#[derive(Clone, Debug, PartialEq)]
pub struct RandomAffine {
    degrees: (f32, f32),
    translate: (f32, f32),
    scale: (f32, f32),
}

impl RandomAffine {
    /// Angle range `(-degrees, degrees)`, translation fractions `translate = (a, b)` in
    /// `[0, 1]` of the width and height, and a scale range with `0 < low <= high`.
    pub fn new(degrees: f32, translate: (f32, f32), scale: (f32, f32)) -> Result<Self> {
        const OP: &str = "RandomAffine";
        let d = validate::value(OP, "degrees", degrees, (0.0, 180.0), "[0, 180]")?;
        validate::value(OP, "translate", translate.0, (0.0, 1.0), "[0, 1]")?;
        validate::value(OP, "translate", translate.1, (0.0, 1.0), "[0, 1]")?;
        let scale = validate::positive_range(OP, "scale", scale)?;
        Ok(Self {
            degrees: (-d, d),
            translate,
            scale,
        })
    }

    /// Rotation only, by an angle in `(-degrees, degrees)` (torchvision's `RandomRotation`).
    pub fn rotation(degrees: f32) -> Result<Self> {
        Self::new(degrees, (0.0, 0.0), (1.0, 1.0))
    }

    pub(crate) fn apply<R: Rng + ?Sized>(
        &self,
        img: &mut ImageBuf,
        ws: &mut Workspace,
        rng: &mut R,
    ) {
        // warp() turns counter-clockwise for a positive angle; torchvision's is clockwise.
        let angle = -uniform(rng, self.degrees.0, self.degrees.1).to_radians();
        let max_dx = self.translate.0 * img.w as f32;
        let max_dy = self.translate.1 * img.h as f32;
        let tx = uniform(rng, -max_dx, max_dx).round_ties_even();
        let ty = uniform(rng, -max_dy, max_dy).round_ties_even();
        let scale = uniform(rng, self.scale.0, self.scale.1);
        warp(img, &mut ws.spare, angle, (tx, ty), scale);
        std::mem::swap(img, &mut ws.spare);
    }
}

/// torchvision `affine(image, angle, translate, scale, shear=0, interpolation=BILINEAR)`
/// with its default `fill=None` (zero padding): rotation by `angle` degrees, then
/// translation by `translate = (tx, ty)` pixels, about the image centre.
pub fn affine(
    image: ndarray::ArrayView3<f32>,
    angle: f32,
    translate: (f32, f32),
    scale: f32,
) -> Result<ndarray::Array3<f32>> {
    const OP: &str = "affine";
    validate::finite(OP, "angle", angle)?;
    validate::finite(OP, "translate", translate.0)?;
    validate::finite(OP, "translate", translate.1)?;
    validate::positive(OP, "scale", scale)?;
    let src = ImageBuf::from_view(image);
    let mut dst = ImageBuf::default();
    // warp() turns counter-clockwise for a positive angle; torchvision's is clockwise.
    warp(&src, &mut dst, -angle.to_radians(), translate, scale);
    Ok(dst.into_array())
}

/// Writes `src` turned counter-clockwise by `angle` radians, scaled by `scale` and moved
/// by `(tx, ty)` pixels into `dst`.
pub(crate) fn warp(
    src: &ImageBuf,
    dst: &mut ImageBuf,
    angle: f32,
    (tx, ty): (f32, f32),
    scale: f32,
) {
    let (c, h, w) = (src.c, src.h, src.w);
    dst.reshape(c, h, w);
    let (sin, cos) = angle.sin_cos();
    let (sin, cos) = (sin / scale, cos / scale);
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let plane = h * w;
    for oy in 0..h {
        let v = oy as f32 + 0.5 - cy - ty;
        for ox in 0..w {
            let u = ox as f32 + 0.5 - cx - tx;
            // Inverse rotation, then undo the scale; back to pixel-index coordinates.
            let sx = cos * u - sin * v + cx - 0.5;
            let sy = sin * u + cos * v + cy - 0.5;
            let (x0, y0) = (floor(sx), floor(sy));
            let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
            // The four taps as (offset, weight); a tap outside the image gets weight 0, so
            // the channel loop below is four multiply-adds without bounds checks.
            let tap = |y: isize, x: isize, wt: f32| {
                if y >= 0 && x >= 0 && (y as usize) < h && (x as usize) < w {
                    (y as usize * w + x as usize, wt)
                } else {
                    (0, 0.0)
                }
            };
            let taps = [
                tap(y0, x0, (1.0 - fy) * (1.0 - fx)),
                tap(y0, x0 + 1, (1.0 - fy) * fx),
                tap(y0 + 1, x0, fy * (1.0 - fx)),
                tap(y0 + 1, x0 + 1, fy * fx),
            ];
            let o = oy * w + ox;
            for ch in 0..c {
                let p = &src.data[ch * plane..(ch + 1) * plane];
                dst.data[ch * plane + o] = taps.iter().map(|&(i, wt)| wt * p[i]).sum();
            }
        }
    }
}

/// `floor(x)` as an integer without the libm call `f32::floor` becomes on baseline x86-64.
#[inline]
fn floor(x: f32) -> isize {
    let t = x as isize;
    t - isize::from(x < t as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(c: usize, h: usize, w: usize) -> ImageBuf {
        let data = (0..c * h * w)
            .map(|i| i as f32 / (c * h * w) as f32)
            .collect();
        ImageBuf { c, h, w, data }
    }

    #[test]
    fn quarter_turn_moves_pixels_counter_clockwise() {
        // Square images of odd and even side: a 90° turn maps pixel centres onto pixel
        // centres, so bilinear sampling is exact. Counter-clockwise on screen: the output at
        // (y, x) reads the input at (x, n-1-y)... i.e. the top row comes from the right column.
        for n in [4usize, 5] {
            let src = ramp(2, n, n);
            let mut dst = ImageBuf::default();
            warp(&src, &mut dst, std::f32::consts::FRAC_PI_2, (0.0, 0.0), 1.0);
            for c in 0..2 {
                for y in 0..n {
                    for x in 0..n {
                        let got = dst.data[(c * n + y) * n + x];
                        let want = src.data[(c * n + x) * n + (n - 1 - y)];
                        assert!(
                            (got - want).abs() < 1e-5,
                            "n={n} ({y},{x}): {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn integer_translation_shifts_and_fills_with_zero() {
        let src = ramp(1, 5, 6);
        let mut dst = ImageBuf::default();
        warp(&src, &mut dst, 0.0, (2.0, -1.0), 1.0);
        for y in 0..5 {
            for x in 0..6 {
                let (sy, sx) = (y as isize + 1, x as isize - 2);
                let want = if (0..5).contains(&sy) && (0..6).contains(&sx) {
                    src.data[sy as usize * 6 + sx as usize]
                } else {
                    0.0
                };
                assert!((dst.data[y * 6 + x] - want).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn floor_matches_f32_floor() {
        for x in [-2.5f32, -1.0, -0.2, 0.0, 0.7, 3.0, 3.9] {
            assert_eq!(floor(x), x.floor() as isize);
        }
    }
}
