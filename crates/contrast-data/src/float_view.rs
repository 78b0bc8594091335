//! The float view of a [`Dataset`]: what the encoders consume.
//!
//! A stored byte `b` becomes `x = b / 255` in `[0, 1]`; one image is a CHW `Array3<f32>`,
//! a batch an NCHW `Array4<f32>` (the workspace convention). Batches are filled in parallel,
//! one image per rayon task, so the result does not depend on the thread count.

use ndarray::{Array3, Array4};
use rayon::prelude::*;

use crate::dataset::Dataset;
use crate::error::Result;

impl Dataset {
    /// Image `index` as CHW floats in `[0, 1]`.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`](crate::Error::IndexOutOfRange).
    pub fn image(&self, index: usize) -> Result<Array3<f32>> {
        let bytes = self.image_bytes(index)?;
        let (channels, height, width) = self.shape().dims();
        let values = bytes.iter().map(|&b| to_unit(b)).collect();
        Ok(Array3::from_shape_vec((channels, height, width), values)
            .expect("shape checked at construction"))
    }

    /// The images at `indices`, in that order, as an NCHW batch of floats in `[0, 1]`.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`](crate::Error::IndexOutOfRange).
    pub fn images(&self, indices: &[usize]) -> Result<Array4<f32>> {
        for &index in indices {
            self.check_index(index)?;
        }
        Ok(self.images_unchecked(indices))
    }

    /// Every image as one NCHW array (`len * C * H * W` floats: mind the memory).
    pub fn to_array(&self) -> Array4<f32> {
        let all: Vec<usize> = (0..self.len()).collect();
        self.images_unchecked(&all)
    }

    /// Builds the NCHW float batch; callers have checked the indices.
    pub(crate) fn images_unchecked(&self, indices: &[usize]) -> Array4<f32> {
        let (channels, height, width) = self.shape().dims();
        let per_image = self.shape().pixels();
        let mut out = Array4::<f32>::zeros((indices.len(), channels, height, width));
        out.as_slice_mut()
            .expect("fresh array is contiguous")
            .par_chunks_mut(per_image)
            .zip(indices.par_iter())
            .for_each(|(dst, &index)| {
                for (d, &b) in dst.iter_mut().zip(self.bytes_of(index)) {
                    *d = to_unit(b);
                }
            });
        out
    }
}

/// Byte to `[0, 1]`: division (not multiplication by 1/255) so 255 maps to exactly 1.0.
fn to_unit(byte: u8) -> f32 {
    f32::from(byte) / 255.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{ImageShape, synthetic};
    use crate::error::Error;

    #[test]
    fn floats_are_bytes_over_255_in_chw_order() {
        let d = synthetic(3, ImageShape::new(2, 2, 3), 2);
        let img = d.image(1).unwrap();
        assert_eq!(img.shape(), &[2, 2, 3]);
        // Byte 12 + (c = 1, y = 0, x = 2) -> 12 + 6 + 2 = 20 of the buffer: 37 * 20 mod 256.
        assert_eq!(img[[1, 0, 2]], 228.0 / 255.0);
        let batch = d.images(&[2, 0, 2]).unwrap();
        assert_eq!(batch.shape(), &[3, 2, 2, 3]);
        for (row, &i) in [2, 0, 2].iter().enumerate() {
            let want: Vec<f32> = d
                .image_bytes(i)
                .unwrap()
                .iter()
                .map(|&b| f32::from(b) / 255.0)
                .collect();
            assert_eq!(
                batch
                    .index_axis(ndarray::Axis(0), row)
                    .iter()
                    .copied()
                    .collect::<Vec<_>>(),
                want
            );
        }
        assert_eq!(d.to_array().index_axis(ndarray::Axis(0), 1), img);
        assert_eq!((to_unit(0), to_unit(255)), (0.0, 1.0));
    }

    #[test]
    fn out_of_range_indices_are_errors() {
        let d = synthetic(3, ImageShape::new(1, 2, 2), 2);
        assert!(matches!(
            d.image(3),
            Err(Error::IndexOutOfRange { index: 3, len: 3 })
        ));
        assert!(matches!(
            d.images(&[0, 9]),
            Err(Error::IndexOutOfRange { index: 9, .. })
        ));
    }
}
