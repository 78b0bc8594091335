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
//! The floor keeps pixels that (almost) never change from being blown up.
//!
//! With frame differences ([`PixelStats::with_differences`]) frame 0 is standardised as
//! above and every later frame `c` of the stack is replaced by its change since frame `c - 1`,
//! scaled by the root mean square of that change over consecutive training frames:
//!
//! ```text
//! x'_ci = (x_ci - x_(c-1)i) / max(rms_i, DIFFERENCE_FLOOR)     c >= 1
//! ```
//!
//! The stack holds the same information (the map is invertible), but the motion, which is
//! what the velocities are, no longer hides as a small difference of two large inputs: it is
//! an input of its own, of unit scale where things move. The statistics come from the
//! training episodes only and are a function of the data, so a resumed run recomputes the
//! same ones.

use contrast_env::TransitionSet;
use ndarray::{Array4, Axis};

use crate::error::{Error, Result};

/// Smallest standard deviation a pixel is divided by (`[0, 1]` units, ~13 grey levels).
pub const STD_FLOOR: f64 = 0.05;
/// Smallest root mean square change a pixel's difference is divided by (`[0, 1]` units,
/// ~2.5 grey levels): pixels the motion never reaches stay near 0.
pub const DIFFERENCE_FLOOR: f64 = 0.01;

/// Per-pixel scales of a set's frames (and, optionally, of their changes).
#[derive(Clone, Debug, PartialEq)]
pub struct PixelStats {
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    /// `1 / max(rms change, DIFFERENCE_FLOOR)` per pixel, with frame differences.
    inv_change: Option<Vec<f32>>,
}

impl PixelStats {
    /// Mean and standard deviation of every pixel over the frames of `set`, in `[0, 1]`
    /// units: every frame of a stack is standardised.
    ///
    /// # Errors
    /// A set without frames.
    pub fn of(set: &TransitionSet) -> Result<Self> {
        Self::measure(set, false)
    }

    /// [`PixelStats::of`], with frames 1.. of a stack read as their changes since the frame
    /// before, scaled by each pixel's root mean square change between consecutive frames of
    /// `set`'s episodes.
    ///
    /// # Errors
    /// A set without frames.
    pub fn with_differences(set: &TransitionSet) -> Result<Self> {
        Self::measure(set, true)
    }

    /// One pass over the frames: per-pixel sums, squares and (with `differences`) squared
    /// changes between consecutive frames of an episode.
    fn measure(set: &TransitionSet, differences: bool) -> Result<Self> {
        let pixels = set.height() * set.width();
        let (mut sum, mut squares) = (vec![0.0f64; pixels], vec![0.0f64; pixels]);
        let mut changes = vec![0.0f64; if differences { pixels } else { 0 }];
        let (mut frames, mut steps) = (0usize, 0usize);
        for episode in 0..set.episodes().len() {
            let all = set.episode_frames(episode)?;
            for (t, frame) in all.axis_iter(Axis(0)).enumerate() {
                for ((s, q), &b) in sum.iter_mut().zip(&mut squares).zip(frame.iter()) {
                    let v = f64::from(b) / 255.0;
                    *s += v;
                    *q += v * v;
                }
                frames += 1;
                if differences && t > 0 {
                    let before = all.index_axis(Axis(0), t - 1);
                    for ((c, &a), &b) in changes.iter_mut().zip(before.iter()).zip(frame.iter()) {
                        let d = (f64::from(b) - f64::from(a)) / 255.0;
                        *c += d * d;
                    }
                    steps += 1;
                }
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
        let inv_change = differences.then(|| {
            let n = steps.max(1) as f64;
            changes
                .iter()
                .map(|q| (1.0 / (q / n).sqrt().max(DIFFERENCE_FLOOR)) as f32)
                .collect()
        });
        Ok(Self {
            mean,
            inv_std,
            inv_change,
        })
    }

    /// Whether frames 1.. are read as differences.
    pub fn differences(&self) -> bool {
        self.inv_change.is_some()
    }

    /// Standardises `(n, frames, H, W)` stacks in `[0, 1]` in place.
    ///
    /// # Errors
    /// Frames of another size than the statistics'.
    pub fn apply(&self, stacks: &mut Array4<f32>) -> Result<()> {
        let (frames, h, w) = (stacks.shape()[1], stacks.shape()[2], stacks.shape()[3]);
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
        for stack in data.chunks_exact_mut(plane * frames.max(1)) {
            if let Some(inv_change) = &self.inv_change {
                // Last frame first, so that each difference reads an unchanged frame before it.
                for c in (1..frames).rev() {
                    let (earlier, later) = stack.split_at_mut(c * plane);
                    let before = &earlier[(c - 1) * plane..];
                    for ((x, b), s) in later[..plane].iter_mut().zip(before).zip(inv_change) {
                        *x = (*x - b) * s;
                    }
                }
            }
            let standardised = if self.inv_change.is_some() { 1 } else { frames };
            for channel in stack[..plane * standardised].chunks_exact_mut(plane) {
                for ((x, m), s) in channel.iter_mut().zip(&self.mean).zip(&self.inv_std) {
                    *x = (*x - m) * s;
                }
            }
        }
        Ok(())
    }
}
