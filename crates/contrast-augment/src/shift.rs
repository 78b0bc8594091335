//! Random shift of a frame stack (DrQ, Kostrikov et al. 2020; CURL's random crop, Laskin et al.
//! 2020): pad every side by `pad` pixels repeating the edge, then crop a window of the
//! original size at a uniformly random integer offset. Equivalently, with `dy, dx` drawn
//! uniformly from `-pad..=pad`,
//!
//! ```text
//! out[c, y, x] = in[c, clamp(y + dy, 0, H - 1), clamp(x + dx, 0, W - 1)]
//! ```
//!
//! Every channel moves by the same offset: the channels of a frame stack are consecutive
//! frames, and shifting them apart would invent motion. Any number of channels is accepted.
//! DrQ pads 4 pixels around 84 x 84 frames (a shift of up to about 5%).

use ndarray::{Array3, Array4, ArrayView3, ArrayView4, ArrayViewMut3, Axis};
use rand::Rng;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::stream::stream_rng;

/// Random integer shift by up to `pad` pixels in each direction, edges repeated.
///
/// ```
/// use contrast_augment::RandomShift;
/// let stack = ndarray::Array4::from_shape_fn((4, 2, 40, 64), |(n, c, y, x)| (n + c + x * y) as f32);
/// let shift = RandomShift::new(4);
/// let views = shift.batch(stack.view(), &[10, 11, 12, 13], 7, 0, 1)?;
/// assert_eq!(views.dim(), (4, 2, 40, 64));
/// // The same (seed, epoch, index, view) gives the same view, whatever the batch.
/// let alone = shift.batch(stack.slice(ndarray::s![2..3, .., .., ..]), &[12], 7, 0, 1)?;
/// assert_eq!(alone.index_axis(ndarray::Axis(0), 0), views.index_axis(ndarray::Axis(0), 2));
/// # Ok::<(), contrast_augment::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RandomShift {
    pad: usize,
}

impl RandomShift {
    /// Shifts of up to `pad` pixels (0 is the identity).
    pub fn new(pad: usize) -> Self {
        Self { pad }
    }

    /// The largest shift, pixels.
    pub fn pad(self) -> usize {
        self.pad
    }

    /// Draws an offset `(dy, dx)`, each uniform in `-pad..=pad`.
    pub fn sample(self, rng: &mut impl Rng) -> (isize, isize) {
        // rand has no isize ranges: draw 0..=2 pad and centre.
        let span = 2 * self.pad as u64;
        let mut offset = || rng.random_range(0..=span) as isize - self.pad as isize;
        (offset(), offset())
    }

    /// `image` (CHW, any channel count) shifted by a random offset.
    pub fn apply(self, image: ArrayView3<f32>, rng: &mut impl Rng) -> Array3<f32> {
        let (dy, dx) = self.sample(rng);
        shift(image, dy, dx)
    }

    /// View `view` of every image of an NCHW batch: image `i` draws from
    /// [`stream_rng`]`(seed, epoch, indices[i], view)`, so the result does not depend on the
    /// batch it is in or on the number of threads.
    ///
    /// # Errors
    /// [`Error::IndexCount`] when `indices` does not have one entry per image.
    pub fn batch(
        self,
        images: ArrayView4<f32>,
        indices: &[u64],
        seed: u64,
        epoch: u64,
        view: u64,
    ) -> Result<Array4<f32>> {
        if indices.len() != images.len_of(Axis(0)) {
            return Err(Error::IndexCount {
                images: images.len_of(Axis(0)),
                indices: indices.len(),
            });
        }
        let mut out = Array4::zeros(images.raw_dim());
        out.axis_iter_mut(Axis(0))
            .into_par_iter()
            .zip(images.axis_iter(Axis(0)))
            .zip(indices)
            .for_each(|((mut slot, image), &index)| {
                let (dy, dx) = self.sample(&mut stream_rng(seed, epoch, index, view));
                shift_into(image, dy, dx, &mut slot);
            });
        Ok(out)
    }
}

/// `image` shifted by `(dy, dx)`: `out[c, y, x] = in[c, clamp(y + dy), clamp(x + dx)]`.
pub fn shift(image: ArrayView3<f32>, dy: isize, dx: isize) -> Array3<f32> {
    let mut out = Array3::zeros(image.raw_dim());
    shift_into(image, dy, dx, &mut out.view_mut());
    out
}

fn shift_into(image: ArrayView3<f32>, dy: isize, dx: isize, out: &mut ArrayViewMut3<f32>) {
    let (_, h, w) = image.dim();
    if h == 0 || w == 0 {
        return;
    }
    let clamp =
        |v: usize, d: isize, len: usize| (v as isize + d).clamp(0, len as isize - 1) as usize;
    // Source column of every output column, computed once per image.
    let columns: Vec<usize> = (0..w).map(|x| clamp(x, dx, w)).collect();
    for (plane, mut target) in image.outer_iter().zip(out.outer_iter_mut()) {
        for (y, mut row) in target.outer_iter_mut().enumerate() {
            let source = plane.row(clamp(y, dy, h));
            for (o, &x) in row.iter_mut().zip(&columns) {
                *o = source[x];
            }
        }
    }
}
