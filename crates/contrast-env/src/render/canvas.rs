//! [`Canvas`]: a small grayscale image and the few shapes the scenes are drawn from.
//!
//! # Coordinates
//!
//! Points are `(u, v)` in continuous pixel units: `u` grows to the right, `v` downward, and
//! pixel `(row i, column j)` is the unit square `[j, j + 1) x [i, i + 1)` with its centre at
//! `(j + 0.5, i + 0.5)`. Values are intensities in `[0, 1]` (0 black).
//!
//! # Coverage and anti-aliasing
//!
//! Every shape paints a pixel with coverage `a` in `[0, 1]` by the "over" rule
//! `p <- p + a (value - p)`. With anti-aliasing off, `a` is 1 when the pixel centre lies in
//! the shape and 0 otherwise. With it on:
//!
//! * an axis-aligned rectangle uses its exact area of overlap with the pixel square;
//! * a capsule (a segment thickened by a radius `r`; a disc is a capsule of zero length)
//!   uses `clamp(r + 1/2 - d, 0, 1)`, `d` the distance from the pixel centre to the
//!   segment: a one-pixel linear ramp across the edge;
//! * the region below a curve uses, per column, the fraction of the pixel's height below the
//!   curve evaluated at the column's centre.
//!
//! Anti-aliasing makes sub-pixel motion visible (a CartPole cart moves about a quarter of a
//! pixel per step at 64 pixels across), which is what lets a two-frame stack show velocity.

/// A grayscale image of `height x width` `f32` intensities, row-major, row 0 at the top.
#[derive(Debug, Clone, PartialEq)]
pub struct Canvas {
    height: usize,
    width: usize,
    antialias: bool,
    pixels: Vec<f32>,
}

impl Canvas {
    /// A black canvas.
    pub fn new(height: usize, width: usize, antialias: bool) -> Self {
        Self {
            height,
            width,
            antialias,
            pixels: vec![0.0; height * width],
        }
    }

    /// Rows.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Columns.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether shapes are anti-aliased.
    pub fn antialias(&self) -> bool {
        self.antialias
    }

    /// The intensities, row-major.
    pub fn pixels(&self) -> &[f32] {
        &self.pixels
    }

    /// Intensity at `(row, col)`.
    pub fn get(&self, row: usize, col: usize) -> f32 {
        self.pixels[row * self.width + col]
    }

    /// Sets every pixel to `value`.
    pub fn fill(&mut self, value: f32) {
        self.pixels.fill(value);
    }

    /// Replaces the whole image by `pixels` (row-major, `height * width` values).
    ///
    /// # Panics
    /// If the length differs from `height * width` (a caller's bug, not user input).
    pub fn copy_from(&mut self, pixels: &[f32]) {
        self.pixels.copy_from_slice(pixels);
    }

    /// Quantises to bytes: `floor(255 p + 1/2)` (rounding to nearest), with `p` clamped to
    /// `[0, 1]`.
    pub fn write_u8(&self, out: &mut [u8]) {
        // `+ 0.5` and a truncating cast instead of `round()`, which is a library call per
        // pixel on baseline x86-64 and was most of the time spent rendering.
        for (o, &p) in out.iter_mut().zip(&self.pixels) {
            *o = (p.clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
        }
    }

    fn blend(&mut self, row: usize, col: usize, coverage: f64, value: f32) {
        if coverage > 0.0 {
            let p = &mut self.pixels[row * self.width + col];
            *p += coverage.min(1.0) as f32 * (value - *p);
        }
    }

    /// Pixel index range `[floor(lo), ceil(hi))` clipped to `0..n`.
    fn span(lo: f64, hi: f64, n: usize) -> std::ops::Range<usize> {
        let start = lo.floor().max(0.0).min(n as f64) as usize;
        let end = hi.ceil().max(0.0).min(n as f64) as usize;
        start..end.max(start)
    }

    /// Fills the axis-aligned rectangle `[left, right] x [top, bottom]`.
    pub fn rect(&mut self, left: f64, top: f64, right: f64, bottom: f64, value: f32) {
        for i in Self::span(top, bottom, self.height) {
            let cover_v = overlap(top, bottom, i as f64);
            for j in Self::span(left, right, self.width) {
                let coverage = if self.antialias {
                    cover_v * overlap(left, right, j as f64)
                } else {
                    let (u, v) = (j as f64 + 0.5, i as f64 + 0.5);
                    f64::from(u8::from(
                        (left..=right).contains(&u) && (top..=bottom).contains(&v),
                    ))
                };
                self.blend(i, j, coverage, value);
            }
        }
    }

    /// Fills the capsule of radius `radius` around the segment from `a` to `b` (a thick
    /// line with round ends).
    pub fn capsule(&mut self, a: (f64, f64), b: (f64, f64), radius: f64, value: f32) {
        let reach = radius + 0.5;
        let rows = Self::span(a.1.min(b.1) - reach, a.1.max(b.1) + reach, self.height);
        let cols = Self::span(a.0.min(b.0) - reach, a.0.max(b.0) + reach, self.width);
        for i in rows {
            for j in cols.clone() {
                let d = segment_distance((j as f64 + 0.5, i as f64 + 0.5), a, b);
                let coverage = if self.antialias {
                    (radius + 0.5 - d).clamp(0.0, 1.0)
                } else {
                    f64::from(u8::from(d <= radius))
                };
                self.blend(i, j, coverage, value);
            }
        }
    }

    /// Fills the disc of radius `radius` around `centre`.
    pub fn disc(&mut self, centre: (f64, f64), radius: f64, value: f32) {
        self.capsule(centre, centre, radius, value);
    }

    /// Fills everything below the curve `v = curve(u)` (larger `v`, lower on screen),
    /// evaluating the curve at each column's centre.
    pub fn fill_below(&mut self, curve: impl Fn(f64) -> f64, value: f32) {
        for j in 0..self.width {
            let edge = curve(j as f64 + 0.5);
            for i in Self::span(edge - 1.0, self.height as f64, self.height) {
                let coverage = if self.antialias {
                    (i as f64 + 1.0 - edge).clamp(0.0, 1.0)
                } else {
                    f64::from(u8::from(i as f64 + 0.5 >= edge))
                };
                self.blend(i, j, coverage, value);
            }
        }
    }
}

/// Length of `[lo, hi]` inside the unit interval `[start, start + 1]`.
fn overlap(lo: f64, hi: f64, start: f64) -> f64 {
    (hi.min(start + 1.0) - lo.max(start)).max(0.0)
}

/// Distance from `p` to the segment `[a, b]`.
fn segment_distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let s = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (qx, qy) = (a.0 + s * dx - p.0, a.1 + s * dy - p.1);
    (qx * qx + qy * qy).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn antialiased_rect_paints_its_exact_area() {
        let mut c = Canvas::new(10, 10, true);
        c.rect(2.25, 3.5, 6.75, 5.0, 1.0);
        let total: f32 = c.pixels().iter().sum();
        assert!((total - 4.5 * 1.5).abs() < 1e-5, "{total}");
        assert_eq!(c.get(4, 4), 1.0);
        assert_eq!(c.get(3, 2), 0.375);
    }

    #[test]
    fn aliased_shapes_are_binary_and_antialiased_ones_ramp() {
        for aa in [false, true] {
            let mut c = Canvas::new(16, 16, aa);
            c.capsule((3.2, 4.1), (12.7, 11.3), 1.3, 1.0);
            let partial = c.pixels().iter().filter(|&&p| p > 0.0 && p < 1.0).count();
            assert_eq!(partial > 0, aa);
            assert!(c.pixels().iter().all(|&p| (0.0..=1.0).contains(&p)));
        }
    }

    #[test]
    fn disc_area_is_close_to_pi_r_squared() {
        let mut c = Canvas::new(32, 32, true);
        c.disc((15.3, 16.8), 6.0, 1.0);
        let area: f32 = c.pixels().iter().sum();
        assert!(
            (area as f64 - std::f64::consts::PI * 36.0).abs() < 1.0,
            "{area}"
        );
    }

    #[test]
    fn shapes_off_the_canvas_are_clipped() {
        let mut c = Canvas::new(8, 8, true);
        c.rect(-5.0, -5.0, 2.0, 2.0, 1.0);
        c.disc((100.0, -50.0), 3.0, 1.0);
        c.capsule((-10.0, 4.5), (20.0, 4.5), 0.5, 0.5);
        assert_eq!(c.get(0, 0), 1.0);
        assert_eq!(c.get(4, 7), 0.5);
    }

    #[test]
    fn fill_below_covers_the_ground_under_a_line() {
        let mut c = Canvas::new(10, 4, true);
        c.fill_below(|_| 6.25, 1.0);
        assert_eq!(c.get(5, 0), 0.0);
        assert_eq!(c.get(6, 1), 0.75);
        assert_eq!(c.get(9, 3), 1.0);
    }

    #[test]
    fn blending_is_the_over_rule_and_quantisation_rounds() {
        let mut c = Canvas::new(1, 2, true);
        c.fill(0.2);
        c.rect(0.0, 0.0, 0.5, 1.0, 1.0);
        assert!((c.get(0, 0) - 0.6).abs() < 1e-6);
        let mut bytes = [0u8; 2];
        c.write_u8(&mut bytes);
        assert_eq!(bytes, [153, 51]);
    }
}
