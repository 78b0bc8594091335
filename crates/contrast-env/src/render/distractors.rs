//! [`Distractors`]: per-episode visual noise that is independent of the system's state.
//!
//! Each episode draws, from its own random stream,
//!
//! * a **textured background**: value noise, i.e. a coarse grid of intensities
//!   `~ U(0, 0.35)` with one node every 8 pixels, bilinearly interpolated, plus per-pixel
//!   grain `~ U(-0.05, 0.05)`, clamped to `[0, 1]`; fixed for the episode;
//! * a **moving disc** with radius `~ U(0.08, 0.16) H` px, intensity `~ U(0.5, 1.0)` (as
//!   bright as the system's parts), a start point uniform in the image and a velocity of
//!   `~ U(0.5, 2)` px per step in a uniform direction; it bounces off the image's edges, so
//!   its centre at step `t` is a triangle wave of `start + t velocity` (closed form, no
//!   dependence on earlier frames).
//!
//! The background and the disc are drawn first, the system over them; so the true states
//! are untouched and only the pixels get noisy.

use rand::{Rng, RngCore};

use crate::render::canvas::Canvas;

/// Spacing of the value-noise nodes, pixels.
const NOISE_CELL: usize = 8;

/// One episode's background texture and moving disc.
#[derive(Debug, Clone, PartialEq)]
pub struct Distractors {
    height: usize,
    width: usize,
    texture: Vec<f32>,
    start: (f64, f64),
    velocity: (f64, f64),
    radius: f64,
    value: f32,
}

impl Distractors {
    /// Draws a texture and a disc path for `height x width` frames.
    pub fn sample(height: usize, width: usize, rng: &mut dyn RngCore) -> Self {
        let (gh, gw) = (height / NOISE_CELL + 2, width / NOISE_CELL + 2);
        let nodes: Vec<f32> = (0..gh * gw).map(|_| rng.random_range(0.0..0.35)).collect();
        let mut texture = Vec::with_capacity(height * width);
        for i in 0..height {
            let fy = i as f32 / NOISE_CELL as f32;
            let (y0, ty) = (fy as usize, fy.fract());
            for j in 0..width {
                let fx = j as f32 / NOISE_CELL as f32;
                let (x0, tx) = (fx as usize, fx.fract());
                let at = |y: usize, x: usize| nodes[y * gw + x];
                let top = at(y0, x0) + tx * (at(y0, x0 + 1) - at(y0, x0));
                let bottom = at(y0 + 1, x0) + tx * (at(y0 + 1, x0 + 1) - at(y0 + 1, x0));
                let grain: f32 = rng.random_range(-0.05..0.05);
                texture.push((top + ty * (bottom - top) + grain).clamp(0.0, 1.0));
            }
        }
        let radius = rng.random_range(0.08..0.16) * height as f64;
        let value = rng.random_range(0.5..1.0);
        let start = (
            rng.random_range(0.0..width as f64),
            rng.random_range(0.0..height as f64),
        );
        let speed = rng.random_range(0.5..2.0);
        let angle = rng.random_range(0.0..std::f64::consts::TAU);
        Self {
            height,
            width,
            texture,
            start,
            velocity: (speed * angle.cos(), speed * angle.sin()),
            radius,
            value,
        }
    }

    /// The background texture, row-major.
    pub fn texture(&self) -> &[f32] {
        &self.texture
    }

    /// The disc's radius, pixels.
    pub fn radius(&self) -> f64 {
        self.radius
    }

    /// The disc's centre `(u, v)` at step `t`.
    pub fn disc_centre(&self, t: usize) -> (f64, f64) {
        (
            bounce(self.start.0 + t as f64 * self.velocity.0, self.width as f64),
            bounce(
                self.start.1 + t as f64 * self.velocity.1,
                self.height as f64,
            ),
        )
    }

    /// Paints the background and the disc at step `t` (the whole canvas is replaced).
    ///
    /// # Panics
    /// If the canvas is not `height x width` (a caller's bug).
    pub fn draw(&self, t: usize, canvas: &mut Canvas) {
        canvas.copy_from(&self.texture);
        canvas.disc(self.disc_centre(t), self.radius, self.value);
    }
}

/// Reflects a free coordinate into `[0, extent]` (an elastic bounce off both ends).
fn bounce(free: f64, extent: f64) -> f64 {
    let q = free.rem_euclid(2.0 * extent);
    if q > extent { 2.0 * extent - q } else { q }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn the_disc_moves_at_constant_speed_and_stays_inside() {
        let d = Distractors::sample(40, 64, &mut ChaCha8Rng::seed_from_u64(1));
        let speed = d.velocity.0.hypot(d.velocity.1);
        for t in 0..500 {
            let (u, v) = d.disc_centre(t);
            assert!((0.0..=64.0).contains(&u) && (0.0..=40.0).contains(&v));
            let (u1, v1) = d.disc_centre(t + 1);
            // Equal to the speed, except on a step that bounces (shorter).
            assert!((u1 - u).hypot(v1 - v) <= speed + 1e-9);
        }
        assert_eq!(bounce(70.0, 64.0), 58.0);
        assert_eq!(bounce(-3.0, 64.0), 3.0);
    }

    #[test]
    fn texture_is_in_range_and_differs_between_episodes() {
        let a = Distractors::sample(40, 64, &mut ChaCha8Rng::seed_from_u64(1));
        let b = Distractors::sample(40, 64, &mut ChaCha8Rng::seed_from_u64(2));
        assert!(a.texture().iter().all(|&p| (0.0..=1.0).contains(&p)));
        assert_ne!(a.texture(), b.texture());
        let mean = a.texture().iter().sum::<f32>() / a.texture().len() as f32;
        assert!(mean > 0.05 && mean < 0.3, "{mean}");
    }
}
