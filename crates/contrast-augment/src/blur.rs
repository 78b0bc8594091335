//! Separable gaussian blur with reflect padding (torchvision's `GaussianBlur`).
//!
//! For kernel size `k` (odd) and `sigma ~ U(sigma_range)`, the 1-D kernel is
//! `g_i = exp(-(i - (k-1)/2)^2 / (2 sigma^2)) / sum_j g_j`, `i = 0..k`. Rows then columns are
//! convolved with it; samples outside the image are mirrored without repeating the edge
//! (`-1 -> 1`, `n -> n - 2`), which is torch's `reflect` padding (extended periodically
//! when the kernel is wider than the image).

use ndarray::{Array3, ArrayView3};
use rand::Rng;

use crate::buffer::{ImageBuf, Workspace};
use crate::error::{Error, Result};
use crate::stream::uniform;
use crate::validate;

/// Mirror index of `i` into `0..n` (reflect padding, no edge repeat).
#[inline]
fn reflect(i: isize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n as isize - 1);
    let m = i.rem_euclid(period);
    (if m < n as isize { m } else { period - m }) as usize
}

/// Fills `kernel` with the normalised 1-D gaussian of size `k`.
fn gaussian_kernel(kernel: &mut Vec<f32>, k: usize, sigma: f32) {
    let centre = (k as f32 - 1.0) / 2.0;
    kernel.clear();
    kernel.extend((0..k).map(|i| {
        let x = i as f32 - centre;
        (-(x * x) / (2.0 * sigma * sigma)).exp()
    }));
    let sum: f32 = kernel.iter().sum();
    kernel.iter_mut().for_each(|g| *g /= sum);
}

/// Blurs `img` in place with the kernel already in `ws.kernel`.
fn convolve(img: &mut ImageBuf, ws: &mut Workspace) {
    let (h, w) = (img.h, img.w);
    let k = ws.kernel.len();
    let pad = (k / 2) as isize;
    let kernel = &ws.kernel;
    let tmp = &mut ws.spare;
    tmp.reshape(img.c, h, w);
    // Rows: mirror each row into a padded line, then a dot product per output pixel.
    let line = &mut ws.line;
    for (src_row, dst_row) in img.data.chunks_exact(w).zip(tmp.data.chunks_exact_mut(w)) {
        line.clear();
        line.extend((-pad..w as isize + pad).map(|x| src_row[reflect(x, w)]));
        for (x, out) in dst_row.iter_mut().enumerate() {
            *out = kernel.iter().zip(&line[x..x + k]).map(|(g, v)| g * v).sum();
        }
    }
    // Columns: each output row is a weighted sum of (mirrored) whole rows.
    let plane = h * w;
    for (src, dst) in tmp
        .data
        .chunks_exact(plane)
        .zip(img.data.chunks_exact_mut(plane))
    {
        // `dst` still holds the input plane. A convex combination stays within its range;
        // clamping to it removes rounding that would push a plane of ones to 1.0000001.
        let (lo, hi) = dst
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            });
        for (y, dst_row) in dst.chunks_exact_mut(w).enumerate() {
            dst_row.fill(0.0);
            for (j, g) in kernel.iter().enumerate() {
                let sy = reflect(y as isize + j as isize - pad, h);
                let src_row = &src[sy * w..(sy + 1) * w];
                dst_row
                    .iter_mut()
                    .zip(src_row)
                    .for_each(|(d, s)| *d += g * s);
            }
            dst_row.iter_mut().for_each(|d| *d = d.clamp(lo, hi));
        }
    }
}

fn check_kernel(op: &'static str, k: usize) -> Result<usize> {
    if k % 2 == 1 {
        Ok(k)
    } else {
        Err(Error::KernelSize { op, size: k })
    }
}

/// torchvision's `GaussianBlur(kernel_size, sigma)`.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianBlur {
    kernel_size: usize,
    sigma: (f32, f32),
}

impl GaussianBlur {
    /// Odd `kernel_size` and a `sigma` range with `0 < low <= high`.
    pub fn new(kernel_size: usize, sigma: (f32, f32)) -> Result<Self> {
        const OP: &str = "GaussianBlur";
        let kernel_size = check_kernel(OP, kernel_size)?;
        let sigma = validate::positive_range(OP, "sigma", sigma)?;
        Ok(Self { kernel_size, sigma })
    }

    pub(crate) fn apply<R: Rng + ?Sized>(
        &self,
        img: &mut ImageBuf,
        ws: &mut Workspace,
        rng: &mut R,
    ) {
        let sigma = uniform(rng, self.sigma.0, self.sigma.1);
        gaussian_kernel(&mut ws.kernel, self.kernel_size, sigma);
        convolve(img, ws);
    }
}

/// torchvision `gaussian_blur(image, [k, k], [sigma, sigma])`.
pub fn gaussian_blur(
    image: ArrayView3<f32>,
    kernel_size: usize,
    sigma: f32,
) -> Result<Array3<f32>> {
    let blur = GaussianBlur::new(kernel_size, (sigma, sigma))?;
    let mut buf = ImageBuf::from_view(image);
    let mut ws = Workspace::default();
    gaussian_kernel(&mut ws.kernel, blur.kernel_size, sigma);
    convolve(&mut buf, &mut ws);
    Ok(buf.into_array())
}
