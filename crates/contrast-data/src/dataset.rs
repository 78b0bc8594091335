//! The one `Dataset` type every loader produces: labelled images stored compactly as bytes.
//!
//! Storage is one `u8` per pixel in CHW order, image after image (`n * C * H * W` bytes), so
//! Fashion-MNIST's 60,000 training images take 47 MB rather than 188 MB as `f32`. The float
//! view the rest of the workspace uses (CHW `Array3<f32>`, NCHW `Array4<f32>`, values in
//! `[0, 1]`) is made on demand, `x = byte / 255` ([`crate::float_view`]).
//!
//! The buffers sit behind `Arc`, so cloning a `Dataset` is cheap; the background batch
//! iterator relies on that to hand the data to its thread.

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result};

/// Which part of a dataset a [`Dataset`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training split (used for self-supervised pre-training and fitting probes).
    Train,
    /// The held-out test split (used only for evaluation).
    Test,
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Split::Train => "train",
            Split::Test => "test",
        })
    }
}

/// Shape of one image: channels, height, width (CHW).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ImageShape {
    /// Channels: 1 for gray, 3 for RGB.
    pub channels: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
}

impl ImageShape {
    /// A `channels x height x width` shape.
    pub fn new(channels: usize, height: usize, width: usize) -> Self {
        ImageShape {
            channels,
            height,
            width,
        }
    }

    /// `(channels, height, width)`.
    pub fn dims(&self) -> (usize, usize, usize) {
        (self.channels, self.height, self.width)
    }

    /// Values per image, `C * H * W`.
    pub fn pixels(&self) -> usize {
        self.channels * self.height * self.width
    }
}

impl fmt::Display for ImageShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}x{}", self.channels, self.height, self.width)
    }
}

/// Labelled images of one split, with the class names.
///
/// Invariants (checked by [`Dataset::new`]): at least one sample, at least one class,
/// every label `< num_classes`, and exactly `len * shape.pixels()` pixel bytes.
#[derive(Clone)]
pub struct Dataset {
    name: String,
    split: Split,
    shape: ImageShape,
    pixels: Arc<[u8]>,
    labels: Arc<[usize]>,
    class_names: Arc<[String]>,
}

impl Dataset {
    /// Builds a dataset from CHW pixel bytes (image after image) and labels.
    ///
    /// `name` names the source (a file, folder or dataset) in error messages.
    ///
    /// # Errors
    /// [`Error::Empty`] for no samples, no classes or a zero-sized shape;
    /// [`Error::PixelCount`] when the bytes do not fill `labels.len()` images;
    /// [`Error::LabelOutOfRange`] for a label `>= class_names.len()`.
    pub fn new(
        name: impl Into<String>,
        split: Split,
        shape: ImageShape,
        pixels: Vec<u8>,
        labels: Vec<usize>,
        class_names: Vec<String>,
    ) -> Result<Self> {
        let name = name.into();
        let empty = |problem: &str| Error::Empty {
            source_name: name.clone(),
            problem: problem.to_string(),
        };
        if labels.is_empty() {
            return Err(empty("no samples"));
        }
        if class_names.is_empty() {
            return Err(empty("no classes"));
        }
        if shape.pixels() == 0 {
            return Err(empty(&format!("image shape {shape} has no pixels")));
        }
        if Some(pixels.len()) != labels.len().checked_mul(shape.pixels()) {
            return Err(Error::PixelCount {
                source_name: name,
                pixels: pixels.len(),
                count: labels.len(),
                shape: shape.to_string(),
            });
        }
        let num_classes = class_names.len();
        if let Some((index, &label)) = labels.iter().enumerate().find(|(_, l)| **l >= num_classes) {
            return Err(Error::LabelOutOfRange {
                source_name: name,
                index,
                label,
                num_classes,
            });
        }
        Ok(Dataset {
            name,
            split,
            shape,
            pixels: pixels.into(),
            labels: labels.into(),
            class_names: class_names.into(),
        })
    }

    /// The source name given at construction (e.g. `mnist5k`, or a file path).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Which split this is.
    pub fn split(&self) -> Split {
        self.split
    }

    /// Shape of every image.
    pub fn shape(&self) -> ImageShape {
        self.shape
    }

    /// Number of samples (never 0).
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Always `false`: an empty dataset cannot be built. Present for API completeness.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of classes (`class_names().len()`).
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// Class names; label `k` means `class_names()[k]`.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// All labels, one per sample, each `< num_classes()`.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// All pixel bytes: `len() * shape().pixels()` values, CHW per image.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// Samples per class, indexed by label.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes()];
        for &label in self.labels.iter() {
            counts[label] += 1;
        }
        counts
    }

    /// The bytes of image `index` (CHW).
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`].
    pub fn image_bytes(&self, index: usize) -> Result<&[u8]> {
        self.check_index(index)?;
        Ok(self.bytes_of(index))
    }

    /// A new dataset holding the samples at `indices`, in that order (repeats allowed).
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`]; [`Error::Empty`] for no indices.
    pub fn subset(&self, indices: &[usize], split: Split) -> Result<Dataset> {
        let mut pixels = Vec::with_capacity(indices.len() * self.shape.pixels());
        let mut labels = Vec::with_capacity(indices.len());
        for &index in indices {
            self.check_index(index)?;
            pixels.extend_from_slice(self.bytes_of(index));
            labels.push(self.labels[index]);
        }
        Dataset::new(
            self.name.clone(),
            split,
            self.shape,
            pixels,
            labels,
            self.class_names.to_vec(),
        )
    }

    pub(crate) fn bytes_of(&self, index: usize) -> &[u8] {
        let per_image = self.shape.pixels();
        &self.pixels[index * per_image..(index + 1) * per_image]
    }

    pub(crate) fn check_index(&self, index: usize) -> Result<()> {
        if index < self.len() {
            Ok(())
        } else {
            Err(Error::IndexOutOfRange {
                index,
                len: self.len(),
            })
        }
    }
}

/// A summary: the pixels themselves would flood a log.
impl fmt::Debug for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dataset")
            .field("name", &self.name)
            .field("split", &self.split)
            .field("shape", &self.shape)
            .field("len", &self.len())
            .field("num_classes", &self.num_classes())
            .finish_non_exhaustive()
    }
}

/// A test dataset of `n` images: byte `j` of the whole buffer is `37 j mod 256`,
/// sample `i` has label `i mod classes`, class names `"0"`, `"1"`, ...
#[cfg(test)]
pub(crate) fn synthetic(n: usize, shape: ImageShape, classes: usize) -> Dataset {
    Dataset::new(
        "synthetic",
        Split::Train,
        shape,
        (0..n * shape.pixels())
            .map(|j| (j * 37 % 256) as u8)
            .collect(),
        (0..n).map(|i| i % classes).collect(),
        (0..classes).map(|c| c.to_string()).collect(),
    )
    .expect("valid synthetic dataset")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(k: usize) -> Vec<String> {
        (0..k).map(|c| c.to_string()).collect()
    }

    fn tiny() -> Dataset {
        // Three 1x2x2 images whose bytes are 0..12 in order.
        Dataset::new(
            "tiny",
            Split::Train,
            ImageShape::new(1, 2, 2),
            (0..12).collect(),
            vec![0, 1, 1],
            names(2),
        )
        .unwrap()
    }

    #[test]
    fn subset_keeps_order_and_labels() {
        let d = tiny();
        let s = d.subset(&[2, 2, 0], Split::Test).unwrap();
        assert_eq!(s.labels(), &[1, 1, 0]);
        assert_eq!(s.split(), Split::Test);
        assert_eq!(s.image_bytes(0).unwrap(), &[8, 9, 10, 11]);
        assert_eq!(s.class_counts(), vec![1, 2]);
        let debug = format!("{s:?}");
        assert!(
            debug.contains("len: 3") && !debug.contains("pixels"),
            "{debug}"
        );
    }

    #[test]
    fn construction_rejects_bad_input() {
        let shape = ImageShape::new(1, 2, 2);
        let make = |pixels: Vec<u8>, labels: Vec<usize>, classes: usize| {
            Dataset::new("bad", Split::Train, shape, pixels, labels, names(classes))
        };
        assert!(matches!(make(vec![], vec![], 2), Err(Error::Empty { .. })));
        assert!(matches!(
            make(vec![0; 4], vec![0], 0),
            Err(Error::Empty { .. })
        ));
        assert!(matches!(
            make(vec![0; 7], vec![0, 1], 2),
            Err(Error::PixelCount {
                pixels: 7,
                count: 2,
                ..
            })
        ));
        let err = make(vec![0; 8], vec![0, 2], 2).unwrap_err();
        assert!(matches!(
            err,
            Error::LabelOutOfRange {
                index: 1,
                label: 2,
                num_classes: 2,
                ..
            }
        ));
        assert!(err.to_string().starts_with("bad: sample 1 has label 2"));
        let zero = Dataset::new(
            "z",
            Split::Train,
            ImageShape::new(1, 0, 2),
            vec![],
            vec![0],
            names(1),
        );
        assert!(matches!(zero, Err(Error::Empty { .. })));
    }

    #[test]
    fn out_of_range_indices_are_errors() {
        let d = tiny();
        assert!(matches!(
            d.image_bytes(3),
            Err(Error::IndexOutOfRange { index: 3, len: 3 })
        ));
        assert!(matches!(
            d.subset(&[0, 9], Split::Test),
            Err(Error::IndexOutOfRange { index: 9, .. })
        ));
        assert!(matches!(
            d.subset(&[], Split::Train),
            Err(Error::Empty { .. })
        ));
    }
}
