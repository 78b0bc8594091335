//! [`MountainCarView`]: draws a MountainCar state.
//!
//! # World to pixels
//!
//! One scale for both axes, `s = W / 1.8` pixels per unit, so the track
//! `p = -1.2 .. 0.6` spans the image's width. A world point `(p, y)` (`y` the height,
//! between 0.1 at the valley floor and 1.0 on the right hill) lands at
//!
//! ```text
//! u = s (p + 1.2)          v = (H - 1) - s (y - 0.1)
//! ```
//!
//! so the valley floor sits one pixel above the bottom edge.
//!
//! # What is drawn (intensities on a black background)
//!
//! * the **hill**: everything below the curve `y = 0.45 sin(3p) + 0.55` (0.4);
//! * the **flag** at `p = 0.5`: a pole of 0.1 units standing on the curve (0.7);
//! * the **car**: a capsule of radius `r = max(0.03 s, 1)` px whose axis runs along the
//!   tangent of the curve at `p`, 0.1 units long, lifted by `r` along the normal so that it
//!   rests on the surface (1.0).
//!
//! The image must be at least [`MountainCarView::MIN_WIDTH`] wide and `s + 1` tall (the
//! right hill plus the flag).

use crate::error::{Error, Result};
use crate::mountain_car::MountainCar;
use crate::render::canvas::Canvas;

/// The world-to-pixel mapping of MountainCar frames of one size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MountainCarView {
    height: usize,
    width: usize,
    scale: f64,
}

impl MountainCarView {
    /// Lowest height of the curve (at `p = -pi / 6`).
    pub const FLOOR: f64 = 0.1;
    /// Length of the car's axis, world units.
    pub const CAR_LENGTH: f64 = 0.1;
    /// Car radius, world units (at least one pixel).
    pub const CAR_RADIUS: f64 = 0.03;
    /// Height of the flag's pole, world units.
    pub const FLAG_HEIGHT: f64 = 0.1;
    /// Smallest image width.
    pub const MIN_WIDTH: usize = 24;
    /// Hill intensity.
    pub const HILL: f32 = 0.4;
    /// Flag intensity.
    pub const FLAG: f32 = 0.7;
    /// Car intensity.
    pub const CAR: f32 = 1.0;

    /// The mapping for `height x width` frames; fails if the system does not fit.
    pub fn new(height: usize, width: usize) -> Result<Self> {
        let scale = width as f64 / (MountainCar::MAX_POSITION - MountainCar::MIN_POSITION);
        // Curve maximum 1.0, plus the flag (which is taller than the car), plus the floor margin.
        let min_height = ((1.0 - Self::FLOOR + Self::FLAG_HEIGHT) * scale + 1.0).ceil() as usize;
        if width < Self::MIN_WIDTH || height < min_height {
            return Err(Error::ImageTooSmall {
                system: "mountaincar",
                height,
                width,
                min_height,
                min_width: Self::MIN_WIDTH,
            });
        }
        Ok(Self {
            height,
            width,
            scale,
        })
    }

    /// Pixels per world unit.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Pixel column `u` of position `p`.
    pub fn column(&self, p: f64) -> f64 {
        self.scale * (p - MountainCar::MIN_POSITION)
    }

    /// Pixel row `v` of height `y`.
    pub fn row(&self, y: f64) -> f64 {
        (self.height as f64 - 1.0) - self.scale * (y - Self::FLOOR)
    }

    /// The point of the curve at position `p`, `(u, v)`.
    pub fn surface(&self, p: f64) -> (f64, f64) {
        (self.column(p), self.row(MountainCar::height(p)))
    }

    /// The car's centre, `(u, v)`: the surface point lifted by the car's radius along the
    /// normal.
    pub fn car_centre(&self, p: f64) -> (f64, f64) {
        let (u, v) = self.surface(p);
        let (_, (nu, nv)) = self.frame(p);
        let r = self.car_radius();
        (u + r * nu, v + r * nv)
    }

    fn car_radius(&self) -> f64 {
        (Self::CAR_RADIUS * self.scale).max(1.0)
    }

    /// Unit tangent (toward `+p`) and unit normal (pointing up, out of the hill) at `p`,
    /// in pixel coordinates.
    fn frame(&self, p: f64) -> ((f64, f64), (f64, f64)) {
        let slope = 1.35 * (3.0 * p).cos(); // dy/dp
        let norm = (1.0 + slope * slope).sqrt();
        let tangent = (1.0 / norm, -slope / norm);
        let normal = (tangent.1, -tangent.0);
        (tangent, normal)
    }

    /// Draws `state = (position, velocity)` over what the canvas holds.
    pub fn draw(&self, state: &[f64], canvas: &mut Canvas) {
        let p = state[0];
        let inverse = |u: f64| u / self.scale + MountainCar::MIN_POSITION;
        canvas.fill_below(|u| self.row(MountainCar::height(inverse(u))), Self::HILL);
        let flag = self.surface(MountainCar::GOAL_POSITION);
        let flag_top = (flag.0, flag.1 - Self::FLAG_HEIGHT * self.scale);
        canvas.capsule(flag, flag_top, 0.5, Self::FLAG);
        let ((tu, tv), _) = self.frame(p);
        let (cu, cv) = self.car_centre(p);
        let half = Self::CAR_LENGTH / 2.0 * self.scale;
        let a = (cu - half * tu, cv - half * tv);
        let b = (cu + half * tu, cv + half * tv);
        canvas.capsule(a, b, self.car_radius(), Self::CAR);
    }
}
