//! [`CartPoleView`]: draws a CartPole state.
//!
//! # World to pixels
//!
//! One scale for both axes, `s = W / 4.8` pixels per metre, so the track between the
//! termination bounds `x = -2.4 .. 2.4` spans the image's width exactly. A world point
//! `(x, y)` (metres; `y` up from the track) lands at
//!
//! ```text
//! u = W / 2 + s x          v = 0.8 H - s y
//! ```
//!
//! # What is drawn (intensities on a black background)
//!
//! * the **track**: a one-pixel line just below `v = 0.8 H`, across the image (0.5);
//! * the **cart**: a filled rectangle 0.4 m wide and 0.24 m high standing on the track,
//!   centred on `x` (1.0); gymnasium's proportions (50 x 30 px at 125 px/m);
//! * the **pole**: a capsule from the middle of the cart's top (the pivot) to
//!   `pivot + 1.0 m (sin theta, cos theta)`, i.e. the pole's full length `2 l` leaning
//!   toward `+x` for positive `theta`; radius `max(0.05 s, 0.75)` px (0.7), drawn last.
//!
//! The image must be at least [`CartPoleView::MIN_WIDTH`] wide (a cart two pixels wide) and
//! tall enough that an upright pole fits: `0.8 H >= 1.24 s + radius`.

use crate::error::{Error, Result};
use crate::render::canvas::Canvas;

/// The world-to-pixel mapping of CartPole frames of one size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CartPoleView {
    height: usize,
    width: usize,
    scale: f64,
}

impl CartPoleView {
    /// Metres of track the image spans.
    pub const WORLD_WIDTH: f64 = 4.8;
    /// The track's row, as a fraction of the height.
    pub const GROUND: f64 = 0.8;
    /// Cart width, m.
    pub const CART_WIDTH: f64 = 0.4;
    /// Cart height, m.
    pub const CART_HEIGHT: f64 = 0.24;
    /// Pole length (twice gymnasium's half length), m.
    pub const POLE_LENGTH: f64 = 1.0;
    /// Pole radius, m (at least [`CartPoleView::MIN_POLE_RADIUS_PX`] pixels).
    pub const POLE_RADIUS: f64 = 0.05;
    /// Smallest pole radius in pixels, so that thin images still show the pole.
    pub const MIN_POLE_RADIUS_PX: f64 = 0.75;
    /// Smallest image width.
    pub const MIN_WIDTH: usize = 24;
    /// Track intensity.
    pub const TRACK: f32 = 0.5;
    /// Cart intensity.
    pub const CART: f32 = 1.0;
    /// Pole intensity.
    pub const POLE: f32 = 0.7;

    /// The mapping for `height x width` frames; fails if the system does not fit.
    pub fn new(height: usize, width: usize) -> Result<Self> {
        let scale = width as f64 / Self::WORLD_WIDTH;
        let radius = (Self::POLE_RADIUS * scale).max(Self::MIN_POLE_RADIUS_PX);
        let reach = (Self::CART_HEIGHT + Self::POLE_LENGTH) * scale + radius;
        let min_height = (reach / Self::GROUND).ceil() as usize;
        if width < Self::MIN_WIDTH || height < min_height {
            return Err(Error::ImageTooSmall {
                system: "cartpole",
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

    /// Pixels per metre.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Pixel column `u` of track position `x`.
    pub fn column(&self, x: f64) -> f64 {
        self.width as f64 / 2.0 + self.scale * x
    }

    /// Pixel row `v` of height `y` above the track.
    pub fn row(&self, y: f64) -> f64 {
        Self::GROUND * self.height as f64 - self.scale * y
    }

    /// The pole's pivot (middle of the cart's top), `(u, v)`.
    pub fn pivot(&self, x: f64) -> (f64, f64) {
        (self.column(x), self.row(Self::CART_HEIGHT))
    }

    /// The pole's free end, `(u, v)`.
    pub fn pole_tip(&self, x: f64, theta: f64) -> (f64, f64) {
        let (u, v) = self.pivot(x);
        let len = Self::POLE_LENGTH * self.scale;
        (u + len * theta.sin(), v - len * theta.cos())
    }

    /// Draws `state = (x, x_dot, theta, theta_dot)` over what the canvas holds.
    pub fn draw(&self, state: &[f64], canvas: &mut Canvas) {
        let (x, theta) = (state[0], state[2]);
        let ground = self.row(0.0);
        canvas.rect(0.0, ground, self.width as f64, ground + 1.0, Self::TRACK);
        let half = Self::CART_WIDTH / 2.0 * self.scale;
        let (u, top) = self.pivot(x);
        canvas.rect(u - half, top, u + half, ground, Self::CART);
        let radius = (Self::POLE_RADIUS * self.scale).max(Self::MIN_POLE_RADIUS_PX);
        canvas.capsule((u, top), self.pole_tip(x, theta), radius, Self::POLE);
    }
}
