//! Per-pixel standardisation of frame stacks: what the encoder reads.
//!
//! A rendered frame is mostly constant background; one step of motion changes a few edge
//! pixels by a few grey levels (the cart moves about a tenth of a pixel per step). In `[0, 1]`
//! those changes are small beside the fixed image, so an encoder learns slowly to tell a
//! moment from the next. Standardising every pixel by its statistics over the training frames
//!
//! ```text
//! x'_ci = (x_ci - mean_i) / max(std_i, STD_FLOOR)     pixel i of frame c of the stack
//! ```
//!
//! (`mean_i`, `std_i` over every training frame, the same for each frame of a stack) turns
//! the pixels that move into the input's large values and leaves the background at 0.
//! The floor keeps pixels that (almost) never change from being blown up. The statistics
//! come from the training episodes only and are a function of the data, so a resumed run
//! recomputes the same ones.

use contrast_env::TransitionSet;
use ndarray::{Array4, Axis};

use crate::error::{Error, Result};

/// Smallest standard deviation a pixel is divided by (`[0, 1]` units, ~13 grey levels).
pub const STD_FLOOR: f64 = 0.05;

/// Per-pixel mean and reciprocal standard deviation of a set's frames.
#[derive(Clone, Debug, PartialEq)]
pub struct PixelStats {
    mean: Vec<f32>,
    inv_std: Vec<f32>,
}

impl PixelStats {
    /// The statistics of every frame of `set`, in `[0, 1]` units.
    pub fn of(set: &TransitionSet) -> Result<Self> {
        let pixels = set.height() * set.width();
        let (mut sum, mut squares) = (vec![0.0f64; pixels], vec![0.0f64; pixels]);
        let mut frames = 0usize;
        for episode in 0..set.episodes().len() {
            let all = set.episode_frames(episode)?;
            for frame in all.axis_iter(Axis(0)) {
                for ((s, q), &b) in sum.iter_mut().zip(&mut squares).zip(frame.iter()) {
                    let v = f64::from(b) / 255.0;
                    *s += v;
                    *q += v * v;
                }
                frames += 1;
            }
        }
        if frames == 0 {
            return Err(Error::Config("no frames to standardise by".into()));
        }
        let n = frames as f64;
        let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
        let inv_std = sum
            .iter()
            .zip(&squares)
            .map(|(s, q)| {
                let m = s / n;
                let std = (q / n - m * m).max(0.0).sqrt();
                (1.0 / std.max(STD_FLOOR)) as f32
            })
            .collect();
        Ok(Self { mean, inv_std })
    }

    /// Standardises `(n, frames, H, W)` stacks in place.
    ///
    /// # Errors
    /// Frames of another size than the statistics'.
    pub fn apply(&self, stacks: &mut Array4<f32>) -> Result<()> {
        let (h, w) = (stacks.shape()[2], stacks.shape()[3]);
        if h * w != self.mean.len() {
            return Err(Error::Config(format!(
                "frames of {h} x {w} pixels, statistics of {} pixels",
                self.mean.len()
            )));
        }
        let plane = h * w;
        let data = stacks
            .as_slice_mut()
            .ok_or_else(|| Error::Config("frame stacks must be contiguous".into()))?;
        for channel in data.chunks_exact_mut(plane) {
            for ((x, m), s) in channel.iter_mut().zip(&self.mean).zip(&self.inv_std) {
                *x = (*x - m) * s;
            }
        }
        Ok(())
    }
}
