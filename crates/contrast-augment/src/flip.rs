//! Horizontal and vertical flips (mirror the columns or the rows).

use ndarray::{Array3, ArrayView3};

use crate::buffer::ImageBuf;
use crate::color::on_copy;

/// Which axis a [`Flip`] mirrors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flip {
    /// Mirror left-right: `x -> W - 1 - x`.
    Horizontal,
    /// Mirror top-bottom: `y -> H - 1 - y`.
    Vertical,
}

impl Flip {
    pub(crate) fn apply(self, img: &mut ImageBuf) {
        let (h, w) = (img.h, img.w);
        match self {
            Flip::Horizontal => img.data.chunks_exact_mut(w).for_each(<[f32]>::reverse),
            Flip::Vertical => {
                for plane in img.data.chunks_exact_mut(h * w) {
                    for y in 0..h / 2 {
                        let (top, bottom) = plane.split_at_mut((h - 1 - y) * w);
                        top[y * w..(y + 1) * w].swap_with_slice(&mut bottom[..w]);
                    }
                }
            }
        }
    }
}

/// Returns `image` flipped along `flip`'s axis.
pub fn flip(image: ArrayView3<f32>, flip: Flip) -> Array3<f32> {
    on_copy(image, |b| flip.apply(b))
}
