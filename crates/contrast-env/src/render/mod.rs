//! The rasteriser: states become small grayscale frames.
//!
//! [`Canvas`] holds the image and the shapes (rectangle, capsule, disc, region under a
//! curve) with optional anti-aliasing; [`CartPoleView`] and [`MountainCarView`] map a
//! system's world to pixels and draw a state; [`Distractors`] paints an episode's noisy
//! background; [`Renderer`] puts them together for one [`System`] and frame size.

pub mod canvas;
pub mod cartpole;
pub mod distractors;
pub mod mountain_car;

pub use canvas::Canvas;
pub use cartpole::CartPoleView;
pub use distractors::Distractors;
pub use mountain_car::MountainCarView;

use crate::error::Result;
use crate::system::System;

/// Draws states of one system into frames of one size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Renderer {
    /// CartPole frames.
    CartPole(CartPoleView),
    /// MountainCar frames.
    MountainCar(MountainCarView),
}

impl Renderer {
    /// A renderer for `height x width` frames of `system`; fails when the image is too
    /// small to draw it.
    pub fn new(system: System, height: usize, width: usize) -> Result<Self> {
        Ok(match system {
            System::CartPole => Renderer::CartPole(CartPoleView::new(height, width)?),
            System::MountainCar => Renderer::MountainCar(MountainCarView::new(height, width)?),
        })
    }

    /// Draws the system in `state` over what the canvas holds.
    pub fn draw(&self, state: &[f64], canvas: &mut Canvas) {
        match self {
            Renderer::CartPole(view) => view.draw(state, canvas),
            Renderer::MountainCar(view) => view.draw(state, canvas),
        }
    }

    /// The frame of `state` at step `t`: the distractors' background (or black) with the
    /// system drawn over it, quantised to bytes into `out` (`height * width`).
    pub fn frame(
        &self,
        state: &[f64],
        t: usize,
        distractors: Option<&Distractors>,
        canvas: &mut Canvas,
        out: &mut [u8],
    ) {
        match distractors {
            Some(d) => d.draw(t, canvas),
            None => canvas.fill(0.0),
        }
        self.draw(state, canvas);
        canvas.write_u8(out);
    }
}
