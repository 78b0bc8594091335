//! Several views per sample: symmetric (SimCLR), asymmetric (BYOL) and multi-crop (SwAV),
//! and the batch API that computes all views of a batch in parallel.
//!
//! View `v` of the sample with dataset index `i` is drawn by pipeline `v` from
//! [`stream_rng`]`(seed, epoch, i, v)`, so a batch is bit-identical whatever the number of
//! rayon threads and whatever batch the sample lands in.

use ndarray::{Array3, Array4, ArrayView3, ArrayView4, Axis};
use rayon::prelude::*;

use crate::buffer::{ImageBuf, Workspace};
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::stream::stream_rng;

/// A multi-view generator: view `v` comes from pipeline `v`.
///
/// ```
/// use contrast_augment::presets;
/// let views = presets::simclr_cifar()?;
/// let batch = ndarray::Array4::from_elem((4, 3, 32, 32), 0.5f32);
/// let out = views.batch(batch.view(), &[10, 11, 12, 13], 42, 0)?;
/// assert_eq!(out.len(), 2); // two views, each (4, 3, 32, 32)
/// assert_eq!(out[1].dim(), (4, 3, 32, 32));
/// # Ok::<(), contrast_augment::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Views {
    pipelines: Vec<Pipeline>,
}

impl Views {
    /// `n_views` views from the same pipeline (SimCLR, MoCo).
    pub fn symmetric(pipeline: Pipeline, n_views: usize) -> Result<Self> {
        Self::asymmetric(vec![pipeline; n_views])
    }

    /// One view per pipeline (BYOL's two different pipelines); all must accept the same
    /// channel count.
    pub fn asymmetric(pipelines: Vec<Pipeline>) -> Result<Self> {
        let first = pipelines.first().ok_or(Error::NoViews)?;
        for p in &pipelines {
            if p.channels() != first.channels() {
                return Err(Error::Channels {
                    op: "Views",
                    expected: first.channels(),
                    found: p.channels(),
                });
            }
        }
        Ok(Self { pipelines })
    }

    /// Multi-crop: `n_global` views from `global` followed by `n_local` views from `local`
    /// (typically 2 large crops and several small ones).
    pub fn multi_crop(
        global: Pipeline,
        n_global: usize,
        local: Pipeline,
        n_local: usize,
    ) -> Result<Self> {
        let mut pipelines = vec![global; n_global];
        pipelines.extend(std::iter::repeat_n(local, n_local));
        Self::asymmetric(pipelines)
    }

    /// Number of views per sample.
    pub fn len(&self) -> usize {
        self.pipelines.len()
    }

    /// Always false: a generator has at least one view.
    pub fn is_empty(&self) -> bool {
        self.pipelines.is_empty()
    }

    /// The pipeline of each view.
    pub fn pipelines(&self) -> &[Pipeline] {
        &self.pipelines
    }

    /// Channels of the images the views accept.
    pub fn channels(&self) -> usize {
        self.pipelines[0].channels()
    }

    /// All views of one sample with dataset index `index`.
    pub fn sample(
        &self,
        image: ArrayView3<f32>,
        seed: u64,
        epoch: u64,
        index: u64,
    ) -> Result<Vec<Array3<f32>>> {
        (0..self.len())
            .map(|v| self.pipelines[v].apply(image, &mut stream_rng(seed, epoch, index, v as u64)))
            .collect()
    }

    /// All views of an NCHW batch whose samples have dataset indices `indices`; returns
    /// one NCHW batch per view. Parallel over (sample, view) with rayon.
    pub fn batch(
        &self,
        images: ArrayView4<f32>,
        indices: &[u64],
        seed: u64,
        epoch: u64,
    ) -> Result<Vec<Array4<f32>>> {
        let images: Vec<ArrayView3<f32>> = images.axis_iter(Axis(0)).collect();
        self.batch_of(&images, indices, seed, epoch)
    }

    /// All views stacked view-major into one `(V n, C, H, W)` batch: row `v n + i` is view
    /// `v` of sample `i`, so with two views rows `i` and `i + n` are a positive pair (the
    /// SimCLR layout). Every view must have the same output shape.
    pub fn batch_stacked(
        &self,
        images: ArrayView4<f32>,
        indices: &[u64],
        seed: u64,
        epoch: u64,
    ) -> Result<Array4<f32>> {
        let views = self.batch(images, indices, seed, epoch)?;
        let parts: Vec<_> = views.iter().map(|v| v.view()).collect();
        ndarray::concatenate(Axis(0), &parts).map_err(|_| Error::Shape {
            what: "views",
            shape: views.iter().flat_map(|v| v.shape().to_vec()).collect(),
            why: "stacking needs every view to have the same shape",
        })
    }

    /// Like [`Views::batch`] for images given one by one (they may differ in size as long
    /// as each view's output size is the same for all of them, e.g. after a crop).
    pub fn batch_of(
        &self,
        images: &[ArrayView3<f32>],
        indices: &[u64],
        seed: u64,
        epoch: u64,
    ) -> Result<Vec<Array4<f32>>> {
        let mut outputs = Vec::new();
        self.fill(images, indices, seed, epoch, &mut outputs)?;
        Ok(outputs)
    }

    /// [`Views::batch`] writing into `outputs`, one NCHW array per view. Arrays that
    /// already have the right shape (and standard layout) are reused, so a training loop that
    /// keeps `outputs` between steps allocates nothing; others are replaced.
    pub fn batch_into(
        &self,
        images: ArrayView4<f32>,
        indices: &[u64],
        seed: u64,
        epoch: u64,
        outputs: &mut Vec<Array4<f32>>,
    ) -> Result<()> {
        let images: Vec<ArrayView3<f32>> = images.axis_iter(Axis(0)).collect();
        self.fill(&images, indices, seed, epoch, outputs)
    }

    /// Checks the batch, shapes `outputs`, then computes every (view, sample) in parallel.
    fn fill(
        &self,
        images: &[ArrayView3<f32>],
        indices: &[u64],
        seed: u64,
        epoch: u64,
        outputs: &mut Vec<Array4<f32>>,
    ) -> Result<()> {
        if images.len() != indices.len() {
            return Err(Error::IndexCount {
                images: images.len(),
                indices: indices.len(),
            });
        }
        let first = images.first().ok_or(Error::Shape {
            what: "batch",
            shape: vec![0],
            why: "empty batch",
        })?;
        let mut shapes = Vec::with_capacity(self.len());
        for pipe in &self.pipelines {
            let shape = pipe.output_shape(first.dim())?;
            for image in images {
                if pipe.output_shape(image.dim())? != shape {
                    return Err(Error::Shape {
                        what: "batch image",
                        shape: image.shape().to_vec(),
                        why: "views of one batch must share a size: crop or resize first",
                    });
                }
            }
            shapes.push((images.len(), shape.0, shape.1, shape.2));
        }
        // Every pipeline accepts the same channels, so one value check covers them all.
        for image in images {
            self.pipelines[0].check_input(image)?;
        }
        outputs.truncate(self.len());
        for (v, &shape) in shapes.iter().enumerate() {
            let reusable = outputs
                .get(v)
                .is_some_and(|o| o.dim() == shape && o.is_standard_layout());
            if !reusable {
                let fresh = Array4::<f32>::zeros(shape);
                match outputs.get_mut(v) {
                    Some(o) => *o = fresh,
                    None => outputs.push(fresh),
                }
            }
        }
        // One task per (view, sample), each writing its own slice of the output.
        let mut tasks: Vec<(usize, usize, &mut [f32])> =
            Vec::with_capacity(images.len() * self.len());
        for (v, out) in outputs.iter_mut().enumerate() {
            let per_image = out.len() / images.len();
            let slice = out
                .as_slice_mut()
                .expect("outputs were checked to be contiguous");
            tasks.extend(
                slice
                    .chunks_exact_mut(per_image)
                    .enumerate()
                    .map(|(i, s)| (v, i, s)),
            );
        }
        tasks.into_par_iter().for_each_init(
            || (ImageBuf::default(), Workspace::default()),
            |(img, ws), (v, i, out)| {
                img.load(images[i]);
                let mut rng = stream_rng(seed, epoch, indices[i], v as u64);
                self.pipelines[v].run(img, ws, &mut rng);
                out.copy_from_slice(&img.data);
            },
        );
        Ok(())
    }
}
