//! Hue rotation through HSV, exactly as torchvision's tensor kernel does it.
//!
//! RGB to HSV: `v = max`, `s = (max - min) / max`, and with `rc, gc, bc = (max - c) / (max - min)`
//! the hue is `bc - gc` when `max = R`, `2 + rc - bc` when `max = G` (and not R),
//! `4 + gc - rc` otherwise, then `h = (h / 6 + 1) mod 1`; gray pixels (`max = min`) get
//! `h = s = 0`. The shift is `h = (h + factor) mod 1`, `factor` in `[-0.5, 0.5]`. HSV to RGB:
//! `i = floor(6h) mod 6`, `f = 6h - floor(6h)`, `p = v(1 - s)`, `q = v(1 - s f)`,
//! `t = v(1 - s + s f)` (p, q, t clamped to [0, 1]) and the sector table
//! `R = [v q p p t v]`, `G = [t v v q p p]`, `B = [p p t v v q]`.

use ndarray::{Array3, ArrayView3};

use crate::buffer::ImageBuf;
use crate::color::{on_copy, rgb_planes};
use crate::error::Result;
use crate::validate;

/// One pixel's hue shift.
#[inline]
fn shift_pixel(r: f32, g: f32, b: f32, factor: f32) -> (f32, f32, f32) {
    let maxc = r.max(g).max(b);
    let minc = r.min(g).min(b);
    if maxc == minc {
        // No chroma: hue is undefined, torchvision sets h = s = 0 and the pixel is unchanged.
        return (maxc, maxc, maxc);
    }
    let range = maxc - minc;
    let s = range / maxc;
    // Hue in sextants, in [-1, 5): `bc - gc`, `2 + rc - bc`, `4 + gc - rc` written with
    // one reciprocal instead of three divisions.
    let inv = 1.0 / range;
    let h = if maxc == r {
        (g - b) * inv
    } else if maxc == g {
        2.0 + (b - r) * inv
    } else {
        4.0 + (r - g) * inv
    };
    // Shift and wrap into [0, 6) with two compares instead of two `fmod`s (which are libm
    // calls); the factor is at most half a turn, so one correction suffices.
    let mut h6 = h + 6.0 * factor;
    if h6 < 0.0 {
        h6 += 6.0;
    }
    if h6 >= 6.0 {
        h6 -= 6.0;
    }
    let sector = (h6 as usize).min(5);
    let f = h6 - sector as f32;
    let v = maxc;
    let p = (v * (1.0 - s)).clamp(0.0, 1.0);
    let q = ((1.0 - s * f) * v).clamp(0.0, 1.0);
    let t = ((s * f + (1.0 - s)) * v).clamp(0.0, 1.0);
    // The sector table as indices into [v, p, q, t]: a lookup instead of a six-way branch
    // that random pixels would mispredict.
    const SELECT: [[u8; 3]; 6] = [
        [0, 3, 1],
        [2, 0, 1],
        [1, 0, 3],
        [1, 2, 0],
        [3, 1, 0],
        [0, 1, 2],
    ];
    let vpqt = [v, p, q, t];
    let [ri, gi, bi] = SELECT[sector];
    (vpqt[ri as usize], vpqt[gi as usize], vpqt[bi as usize])
}

/// Hue shift in place; `img` must have three channels.
pub(crate) fn hue(img: &mut ImageBuf, factor: f32) {
    let (r, g, b) = rgb_planes(img);
    for ((r, g), b) in r.iter_mut().zip(g.iter_mut()).zip(b.iter_mut()) {
        (*r, *g, *b) = shift_pixel(*r, *g, *b, factor);
    }
}

/// torchvision `adjust_hue`: rotates the hue by `factor` turns, `factor` in `[-0.5, 0.5]`;
/// RGB only.
pub fn adjust_hue(image: ArrayView3<f32>, factor: f32) -> Result<Array3<f32>> {
    let f = validate::value("adjust_hue", "factor", factor, (-0.5, 0.5), "[-0.5, 0.5]")?;
    validate::channels("adjust_hue", 3, image.dim().0)?;
    Ok(on_copy(image, |b| hue(b, f)))
}
