//! A flat CHW image buffer that the pipeline reuses between ops and between samples,
//! so the hot loops work on contiguous slices and allocate nothing per pixel.

use ndarray::{Array3, ArrayView3};

/// Contiguous CHW pixels: pixel `(c, y, x)` is `data[(c * h + y) * w + x]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ImageBuf {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub data: Vec<f32>,
}

impl ImageBuf {
    /// Copies an ndarray image (any memory layout).
    pub fn from_view(view: ArrayView3<f32>) -> Self {
        let mut buf = Self::default();
        buf.load(view);
        buf
    }

    /// Replaces the contents with `view`, reusing the allocation.
    pub fn load(&mut self, view: ArrayView3<f32>) {
        let (c, h, w) = view.dim();
        self.c = c;
        self.h = h;
        self.w = w;
        self.data.clear();
        match view.as_slice() {
            Some(s) => self.data.extend_from_slice(s),
            None => self.data.extend(view.iter().copied()),
        }
    }

    /// Sets the shape and sizes `data` to match (contents unspecified), reusing the allocation.
    pub fn reshape(&mut self, c: usize, h: usize, w: usize) {
        self.c = c;
        self.h = h;
        self.w = w;
        self.data.resize(c * h * w, 0.0);
    }

    /// Pixels per channel.
    pub fn plane_len(&self) -> usize {
        self.h * self.w
    }

    /// Moves the pixels into an ndarray image.
    pub fn into_array(self) -> Array3<f32> {
        Array3::from_shape_vec((self.c, self.h, self.w), self.data)
            .expect("buffer length always equals c*h*w")
    }
}

/// Everything a pipeline reuses between ops and samples: a second image for ops that
/// cannot work in place, resampling taps and a line buffer for separable filters.
#[derive(Clone, Debug, Default)]
pub(crate) struct Workspace {
    pub spare: ImageBuf,
    pub taps: crate::resize::Taps,
    pub line: Vec<f32>,
    pub kernel: Vec<f32>,
}
